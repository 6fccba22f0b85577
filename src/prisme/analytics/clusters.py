"""Behavioural clusters: groups of customers who behave alike, described in words.

Input: the per-party feature table (``customer_summary`` plus the RFM recency in days), one row
per party, fetched from the engine. The clustering itself runs in scikit-learn on those rows.

Method:

1. Features: recency (days since last purchase), orders, revenue, margin, tenure, return rate,
   web sessions, calls, channel shares and category shares — whichever are present and vary.
   Counts and money are log-transformed (``sign(x)·log(1+|x|)``) so a few big customers do not
   make the clusters; shares stay in [0, 1]. Missing values take the median. Everything is
   standardised (mean 0, standard deviation 1).
2. k: for k = 2 … ``max_k`` the model is fitted (on a fixed random sample of at most
   ``fit_sample`` parties; every party is then assigned) and scored; **k-means** keeps the k with the
   highest mean silhouette (Rousseeuw 1987) computed on a fixed random sample of at most
   ``sample_size`` parties; a **Gaussian mixture** keeps the k with the lowest BIC (Schwarz 1978).
   Seeds are fixed, so the same data give the same clusters.
3. Clusters are numbered by size (0 = largest) and described by their most distinctive features:
   the z-score of the cluster mean against the whole base (in standard deviations of the
   standardised feature); the three largest |z| ≥ 0.25 become words such as
   "frequent buyers, high margin, few returns".
4. A word must also be true of the cluster's customers, not only of their mean against the
   base (:func:`cluster_facts`, :func:`word_holds`): a cluster where at least half bought
   once is named "one-time buyers" first (and is never "frequent buyers", "long-standing" or
   "recent customers": with one purchase, tenure is recency); "long-standing customers" are
   repeat buyers whose first and last purchases are, for the median customer, at least
   :data:`LONG_STANDING_DAYS` apart; "recent customers" made their first purchase at most
   :data:`NEW_DAYS` ago; "bought recently" means a median recency of at most
   :data:`RECENT_DAYS`, "long since last purchase" at least :data:`LAPSED_DAYS`. On a base of
   one-time buyers whose first purchase is old, the old ones are "one-time buyers, long since
   last purchase", not "long-standing customers".
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

#: base features used when present (channel_share_* and category_share_* are added)
BASE_FEATURES = (
    "recency_days",
    "orders",
    "revenue",
    "margin",
    "tenure_days",
    "return_rate",
    "web_sessions",
    "calls",
)
#: features on a log scale (counts and money)
LOG_FEATURES = {"recency_days", "orders", "revenue", "margin", "tenure_days", "web_sessions",
                "calls"}
#: (high, low) words for each feature
PHRASES = {
    "recency_days": ("long since last purchase", "bought recently"),
    "orders": ("frequent buyers", "rare buyers"),
    "revenue": ("high spend", "low spend"),
    "margin": ("high margin", "low margin"),
    "tenure_days": ("long-standing customers", "recent customers"),
    "return_rate": ("many returns", "few returns"),
    "web_sessions": ("active on the web", "rarely on the web"),
    "calls": ("call often", "seldom call"),
}
#: a cluster mean this many standard deviations from the base is worth a word
MIN_Z = 0.25
#: what the customers of a cluster must do for a word to describe them (see the module notes):
#: a cluster is "one-time buyers" when at least this share bought once
ONE_TIME_SHARE = 0.5
#: median days since the last purchase: at most RECENT_DAYS is "bought recently", at least
#: LAPSED_DAYS "long since last purchase"
RECENT_DAYS, LAPSED_DAYS = 90, 180
#: "recent customers": first purchase at most NEW_DAYS ago (median); "long-standing
#: customers": repeat buyers whose first and last purchases are LONG_STANDING_DAYS apart
NEW_DAYS, LONG_STANDING_DAYS = 365, 365


def cluster_facts(df: pd.DataFrame) -> dict[str, float]:
    """What the customers of one cluster actually do: the share who bought once and the
    median orders, recency, tenure and span between first and last purchase (days), from
    the columns present (``orders``, ``recency_days``, ``tenure_days``)."""
    facts: dict[str, float] = {}

    def col(name):
        return pd.to_numeric(df[name], errors="coerce") if name in df.columns else None

    orders, recency, tenure = col("orders"), col("recency_days"), col("tenure_days")
    if orders is not None and orders.notna().any():
        facts["one_time_share"] = float((orders.dropna() <= 1).mean())
        facts["orders"] = float(orders.median())
    if recency is not None and recency.notna().any():
        facts["recency_days"] = float(recency.median())
    if tenure is not None and tenure.notna().any():
        facts["tenure_days"] = float(tenure.median())
        if recency is not None:
            span = (tenure - recency).dropna()
            if len(span):
                facts["span_days"] = float(span.median())
    return facts


def one_time(facts: dict[str, float] | None) -> bool:
    """Whether at least :data:`ONE_TIME_SHARE` of the cluster bought once."""
    return bool(facts) and facts.get("one_time_share", 0.0) >= ONE_TIME_SHARE


def word_holds(feature: str, high: bool, facts: dict[str, float] | None) -> bool:
    """Whether the word for ``feature`` (high or low against the base) is true of the
    cluster's customers (``facts`` of :func:`cluster_facts`; None: no check)."""
    if not facts:
        return True
    if feature in ("orders", "tenure_days") and one_time(facts):
        return False  # said by "one-time buyers"; one purchase: tenure is recency
    if feature == "orders" and high:
        return facts.get("orders", 0.0) >= 2
    if feature == "tenure_days":
        if high:
            span = facts.get("span_days", facts.get("tenure_days"))
            return span is not None and span >= LONG_STANDING_DAYS
        return facts.get("tenure_days", np.inf) <= NEW_DAYS
    if feature == "recency_days":
        if high:
            return facts.get("recency_days", 0.0) >= LAPSED_DAYS
        return facts.get("recency_days", np.inf) <= RECENT_DAYS
    return True


def _phrase(feature: str, high: bool) -> str:
    if feature in PHRASES:
        return PHRASES[feature][0 if high else 1]
    for prefix, hi, lo in (
        ("channel_share_", "{} buyers", "rarely buy {}"),
        ("category_share_", "buy {}", "little {}"),
    ):
        if feature.startswith(prefix):
            name = feature[len(prefix):].replace("_", " ")
            return (hi if high else lo).format(name)
    return f"{'high' if high else 'low'} {feature.replace('_', ' ')}"


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


class BehaviourClusters:
    """k-means (or Gaussian mixture) on standardised behaviour, k chosen by silhouette (or BIC).

    ``fit(features)`` learns ``features_``, ``k_``, ``scores_`` (criterion per k),
    ``labels_`` (cluster per input row), ``profiles_`` (size, share, label and mean of each
    feature per cluster) and ``zscores_``; ``predict(features)`` assigns new rows.
    """

    def __init__(
        self,
        max_k: int = 8,
        min_k: int = 2,
        method: str = "kmeans",
        seed: int = 7,
        sample_size: int = 3_000,
        fit_sample: int = 20_000,
        features: list[str] | None = None,
        n_threads: int = 1,
    ):
        self.max_k = max_k
        self.min_k = min_k
        self.method = method
        self.seed = seed
        self.sample_size = sample_size
        self.fit_sample = fit_sample
        self.features = features
        #: BLAS/OpenMP threads; k-means on a busy 2-core machine ran 100x slower with spinning
        #: OpenMP workers than with one thread, and the fit sample is small anyway
        self.n_threads = n_threads

    @classmethod
    def from_settings(cls, analytics, **overrides) -> BehaviourClusters:
        kw = dict(max_k=analytics.clusters_max_k, seed=analytics.seed)
        kw.update(overrides)
        return cls(**kw)

    # ----------------------------------------------------------------- features
    def _select(self, df: pd.DataFrame) -> list[str]:
        if self.features is not None:
            missing = [f for f in self.features if f not in df.columns]
            if missing:
                raise ValueError(f"feature column(s) {missing} are not in the table")
            return list(self.features)
        cols = [c for c in BASE_FEATURES if c in df.columns]
        cols += sorted(c for c in df.columns if c.startswith(("channel_share_", "category_share_")))
        keep = []
        for c in cols:
            v = pd.to_numeric(df[c], errors="coerce")
            if v.notna().any() and v.nunique(dropna=True) > 1:
                keep.append(c)
        if not keep:
            raise ValueError("no behavioural feature varies between customers: nothing to cluster")
        return keep

    def _matrix(self, df: pd.DataFrame, fit: bool) -> np.ndarray:
        X = np.column_stack(
            [pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) for c in self.features_]
        )
        for j, c in enumerate(self.features_):
            if c in LOG_FEATURES:
                X[:, j] = _signed_log(X[:, j])
        if fit:
            self.medians_ = np.nanmedian(X, axis=0)
            self.medians_ = np.where(np.isnan(self.medians_), 0.0, self.medians_)
        X = np.where(np.isnan(X), self.medians_, X)
        if fit:
            self.means_ = X.mean(axis=0)
            sd = X.std(axis=0)
            self.scales_ = np.where(sd > 0, sd, 1.0)
        return (X - self.means_) / self.scales_

    # --------------------------------------------------------------------- fit
    def _model(self, k: int):
        if self.method == "kmeans":
            from sklearn.cluster import KMeans

            return KMeans(n_clusters=k, n_init=4, random_state=self.seed)
        if self.method == "gmm":
            from sklearn.mixture import GaussianMixture

            return GaussianMixture(n_components=k, covariance_type="full", random_state=self.seed,
                                   n_init=2)
        raise ValueError(f"method must be 'kmeans' or 'gmm', not {self.method!r}")

    def _score(self, model, X: np.ndarray, rng) -> float:
        if self.method == "gmm":
            return float(model.bic(X))
        from sklearn.metrics import silhouette_score

        labels = model.predict(X)
        if len(np.unique(labels)) < 2:
            return -1.0
        return float(
            silhouette_score(X, labels, sample_size=min(self.sample_size, len(X)),
                             random_state=self.seed)
        )

    def fit(self, df: pd.DataFrame) -> BehaviourClusters:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.n_threads):
            return self._fit(df)

    def _fit(self, df: pd.DataFrame) -> BehaviourClusters:
        if len(df) < self.min_k + 1:
            raise ValueError(f"{len(df)} customers are too few to form {self.min_k}+ clusters")
        self.features_ = self._select(df)
        X = self._matrix(df, fit=True)
        rng = np.random.default_rng(self.seed)
        Xfit = X
        if len(X) > self.fit_sample:
            Xfit = X[np.sort(rng.choice(len(X), self.fit_sample, replace=False))]
        distinct = len(np.unique(Xfit.round(9), axis=0))
        ks = [k for k in range(self.min_k, self.max_k + 1) if k < min(len(Xfit), distinct + 1)]
        if not ks:
            raise ValueError("the customers have too few distinct behaviours to form clusters")
        rows, models = [], {}
        for k in ks:
            m = self._model(k).fit(Xfit)
            models[k] = m
            rows.append({"k": k, self.criterion: self._score(m, Xfit, rng)})
        self.scores_ = pd.DataFrame(rows)
        best = (self.scores_[self.criterion].idxmax() if self.method == "kmeans"
                else self.scores_[self.criterion].idxmin())
        self.k_ = int(self.scores_.loc[best, "k"])
        self.model_ = models[self.k_]
        raw = self.model_.predict(X)
        sizes = pd.Series(raw).value_counts()
        order = sorted(sizes.index, key=lambda c: (-sizes[c], c))
        self.relabel_ = {int(old): new for new, old in enumerate(order)}
        self.labels_ = np.array([self.relabel_[int(c)] for c in raw])
        self._profile(df, X)
        return self

    @property
    def criterion(self) -> str:
        return "silhouette" if self.method == "kmeans" else "bic"

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        X = self._matrix(df, fit=False)
        return np.array([self.relabel_.get(int(c), -1) for c in self.model_.predict(X)])

    # ----------------------------------------------------------------- profiles
    def _profile(self, df: pd.DataFrame, X: np.ndarray) -> None:
        labels = self.labels_
        z = pd.DataFrame(X, columns=self.features_).groupby(labels).mean()
        raw = df[self.features_].apply(pd.to_numeric, errors="coerce").groupby(labels).mean()
        sizes = pd.Series(labels).value_counts().sort_index()
        self.facts_ = {int(c): cluster_facts(df[labels == c]) for c in z.index}
        words = {c: self.describe_cluster(z.loc[c], facts=self.facts_[int(c)])
                 for c in z.index}
        seen: dict[str, int] = {}
        for c in sorted(words):
            seen[words[c]] = seen.get(words[c], 0) + 1
            if seen[words[c]] > 1:
                words[c] = f"{words[c]} ({seen[words[c]]})"
        prof = pd.DataFrame(
            {
                "cluster": z.index.astype(int),
                "label": [words[c] for c in z.index],
                "customers": sizes.reindex(z.index).to_numpy(),
                "share": (sizes.reindex(z.index) / len(labels)).to_numpy(),
            }
        )
        self.profiles_ = pd.concat([prof, raw.reset_index(drop=True)], axis=1)
        self.zscores_ = z.rename_axis("cluster").reset_index()

    @staticmethod
    def describe_cluster(z: pd.Series, top: int = 3, facts: dict[str, float] | None = None) -> str:
        """Words for one cluster from the z-scores of its feature means; with ``facts``
        (:func:`cluster_facts`), only the words true of its customers, "one-time buyers"
        first when at least half of them bought once."""
        strong = z[z.abs() >= MIN_Z]
        strong = strong[[word_holds(f, bool(v > 0), facts) for f, v in strong.items()]]
        lead = []
        if one_time(facts):
            lead = ["one-time buyers" if facts["one_time_share"] >= 1 else
                    "mostly one-time buyers"]
        if strong.empty:
            return lead[0] if lead else "average customers"
        picked = strong.reindex(strong.abs().sort_values(ascending=False).index)[:top]
        return ", ".join(lead + [_phrase(f, bool(v > 0)) for f, v in picked.items()])

    def labels_text(self) -> dict[int, str]:
        return dict(zip(self.profiles_.cluster, self.profiles_.label, strict=True))

    def describe(self) -> str:
        """The clusters in a few lines a manager reads."""
        lines = [
            f"{self.k_} clusters ({self.method}, k chosen by "
            f"{'highest silhouette' if self.method == 'kmeans' else 'lowest BIC'} "
            f"over k = {self.scores_.k.min()}…{self.scores_.k.max()}):"
        ]
        for row in self.profiles_.itertuples():
            lines.append(f"  {row.cluster}: {row.label} — {row.customers:,} ({row.share:.0%})")
        return "\n".join(lines)

    # ------------------------------------------------------------------ persist
    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(pickle.dumps(self))

    @classmethod
    def load(cls, path: str | Path) -> BehaviourClusters:
        obj = pickle.loads(Path(path).read_bytes())
        if not isinstance(obj, cls):
            raise ValueError(f"{path} does not hold a {cls.__name__}")
        return obj
