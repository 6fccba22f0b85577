"""UpliftModel: who changes their behaviour *because* they were contacted.

From a randomised campaign (treated and control customers, a 0/1 response), estimate for each
customer τ(x) = P(response | x, treated) − P(response | x, not treated): positive for the
persuadables, about zero for the sure things and the lost causes, negative for the sleeping
dogs. Targeting the highest τ, not the highest response probability, is what makes the next
campaign pay (Radcliffe & Surry 2011).

Learners (``learner=``):

* ``"two_model"`` — T-learner: one classifier per group, τ = μ₁(x) − μ₀(x)
  (Hansotia & Rukstales 2002).
* ``"x_learner"`` — Künzel, Sekhon, Bickel & Yu (2019), PNAS 116(10), eq. 5–7: μ₀, μ₁ as above;
  imputed effects D¹ = Y¹ − μ₀(X¹) on the treated, D⁰ = μ₁(X⁰) − Y⁰ on the controls; two
  regressions τ₁, τ₀ on them; τ = e·τ₀ + (1 − e)·τ₁ with e the share treated.
* ``"class_transformation"`` — the transformed outcome Y* = Y·(T − e)/(e(1 − e)), whose
  expectation given x is τ(x) (Athey & Imbens 2015; Jaskowski & Jaroszewicz 2012 for e = ½),
  regressed directly.
* ``"ensemble"`` — the mean of the three estimates above (each learner's errors are partly
  its own, so the average ranks customers more steadily).

Base learners are scikit-learn's histogram gradient boosting, regularised (shallow trees, large
leaves, early stopping on a held-out tenth): the effect is a small difference of two noisy
probabilities and over-fitting either one is the usual failure.

The default learner, the X-learner, was chosen by measurement (``bench/campaigns.py``,
``bench/RESULTS.md``): out-of-sample Qini, mean of 3 splits, on Hillstrom visits and
conversions and on the demo's e-mail and post campaigns — X-learner 0.004, 0.017, 0.029,
0.017 (mean 0.017); two-model 0.010, −0.014, 0.016, 0.010 (0.006); class transformation
0.012, −0.024, 0.025, 0.016 (0.007); ensemble 0.009, −0.012, 0.027, 0.014 (0.010). It is the
only learner above random targeting on all four, and the only one that helps on Hillstrom's
rare conversions.

Raw customer tables are accepted like :class:`ChurnModel`'s: numbers written as text (decimal
commas too), blanks, categories as strings; an ``id_column`` (default: ``party_id`` when
present) is left out of the features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

LEARNERS = ("two_model", "x_learner", "class_transformation", "ensemble")
#: text columns with more distinct values than this are identifiers or free text: left out
MAX_LEVELS = 30


def _to_number(s: pd.Series) -> pd.Series | None:
    """A text column that holds numbers ("12", "3,5", " 7 ") as floats; None if it does not."""
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    txt = s.astype("string").str.strip().str.replace("\u00a0", "", regex=False)
    txt = txt.mask(txt == "")
    filled = txt.dropna()
    if filled.empty:
        return pd.Series(np.nan, index=s.index)
    num = pd.to_numeric(txt.str.replace(",", ".", regex=False), errors="coerce")
    return num if num.notna().sum() >= 0.95 * len(filled) else None


class _Features:
    """Learned once on the training table: which columns are numbers, which categories."""

    def __init__(self, X: pd.DataFrame, id_column: str | None):
        self.id_column = id_column
        self.numeric, self.categories, self.dropped = [], {}, []
        for c in X.columns:
            if c == id_column:
                continue
            num = _to_number(X[c])
            if num is not None:
                if num.nunique(dropna=True) <= 1:
                    self.dropped.append((c, "constant"))
                else:
                    self.numeric.append(c)
                continue
            levels = X[c].astype("string").str.strip().replace("", pd.NA).dropna()
            counts = levels.value_counts()
            if len(counts) <= 1:
                self.dropped.append((c, "constant"))
            elif len(counts) > MAX_LEVELS:
                self.dropped.append((c, f"{len(counts)} distinct texts (an identifier?)"))
            else:
                self.categories[c] = list(counts.index)
        if not self.numeric and not self.categories:
            why = "; ".join(f"{c}: {r}" for c, r in self.dropped) or "no column"
            raise ValueError(f"UpliftModel: no usable feature ({why}); every feature is "
                             "constant or an identifier, so nobody can be told apart")

    @property
    def names(self) -> list[str]:
        return self.numeric + [f"{c}={v}" for c, vs in self.categories.items() for v in vs]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in [*self.numeric, *self.categories] if c not in X.columns]
        if missing:
            raise ValueError(f"UpliftModel: the table lacks the column(s) {', '.join(missing)} "
                             "it was fitted with")
        cols = [(_to_number(X[c]) if _to_number(X[c]) is not None
                 else pd.Series(np.nan, index=X.index)).to_numpy(float) for c in self.numeric]
        for c, vs in self.categories.items():
            v = X[c].astype("string").str.strip()
            cols.extend((v == lv).fillna(False).to_numpy(float) for lv in vs)
        return np.column_stack(cols) if cols else np.empty((len(X), 0))


def _as_frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    a = np.asarray(X)
    if a.ndim != 2:
        raise ValueError("UpliftModel: X must be a table (2-D), one row per customer")
    return pd.DataFrame(a, columns=[f"x{i}" for i in range(a.shape[1])])


def _binary(v, name: str, n: int) -> np.ndarray:
    s = pd.Series(np.asarray(v, dtype=object).ravel())
    if len(s) != n:
        raise ValueError(f"UpliftModel: {name} has {len(s)} values for {n} rows of X")
    txt = s.astype("string").str.strip().str.lower()
    mapped = txt.map({"1": 1.0, "0": 0.0, "true": 1.0, "false": 0.0, "1.0": 1.0, "0.0": 0.0,
                      "yes": 1.0, "no": 0.0, "treatment": 1.0, "control": 0.0})
    if mapped.isna().any():
        bad = s[mapped.isna()].iloc[0]
        raise ValueError(f"UpliftModel: {name} must be 0/1 (or true/false, treatment/control); "
                         f"row {int(mapped.isna().to_numpy().argmax())} has {bad!r}")
    return mapped.to_numpy(float)


class UpliftModel(BaseEstimator):
    """Effect of a treatment on each customer's response probability (see module doc).

    Parameters: ``learner`` (one of ``LEARNERS``), ``max_iter``, ``learning_rate``,
    ``min_samples_leaf``, ``max_leaf_nodes`` (the gradient-boosting base learners),
    ``id_column`` (left out of the features; default ``party_id`` when present),
    ``random_state``, ``n_threads`` (OpenMP threads of the base learners: 1 by default, as
    threads competing for a busy machine's cores made fits many times slower).

    Learned: ``treated_share_``, ``response_rate_`` (treated, control), ``ate_`` (treated −
    control response rate), ``feature_names_``, ``dropped_features_`` (name, why).
    """

    def __init__(self, learner: str = "x_learner", *, max_iter: int = 200,
                 learning_rate: float = 0.05, min_samples_leaf: int = 100,
                 max_leaf_nodes: int = 8, id_column: str | None = None,
                 random_state: int | None = 0, n_threads: int = 1):
        self.learner = learner
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.min_samples_leaf = min_samples_leaf
        self.max_leaf_nodes = max_leaf_nodes
        self.id_column = id_column
        self.random_state = random_state
        self.n_threads = n_threads

    def _base(self, kind: str):
        kw = dict(max_iter=self.max_iter, learning_rate=self.learning_rate,
                  min_samples_leaf=self.min_samples_leaf, max_leaf_nodes=self.max_leaf_nodes,
                  early_stopping=True, validation_fraction=0.1, n_iter_no_change=10,
                  random_state=self.random_state)
        return (HistGradientBoostingClassifier(**kw) if kind == "clf"
                else HistGradientBoostingRegressor(**kw))

    def fit(self, X, y, treatment) -> UpliftModel:
        """Fit on a randomised campaign: ``X`` a customer table, ``y`` the 0/1 response,
        ``treatment`` 1 for contacted, 0 for the control group. Returns self."""
        if self.learner not in LEARNERS:
            raise ValueError(f"UpliftModel: learner {self.learner!r} is not one of "
                             f"{', '.join(LEARNERS)}")
        df = _as_frame(X)
        yv = _binary(y, "y", len(df))
        tv = _binary(treatment, "treatment", len(df))
        for name, v in (("treatment", tv), ("y", yv)):
            if len(np.unique(v)) < 2:
                what = ("every row is treated or every row is control: without a control group "
                        "the effect cannot be measured") if name == "treatment" else (
                        f"y has one class only (all {int(v[0])}): nothing to learn the response "
                        "from")
                raise ValueError(f"UpliftModel: {what}")
        for g, label in ((1, "treated"), (0, "control")):
            if len(np.unique(yv[tv == g])) < 2:
                raise ValueError(f"UpliftModel: the {label} group's responses are all "
                                 f"{int(yv[tv == g][0])}: its response probability cannot be "
                                 "modelled")
        id_col = self.id_column or ("party_id" if "party_id" in df.columns else None)
        self.features_ = _Features(df, id_col)
        Z = self.features_.transform(df)
        self.feature_names_ = self.features_.names
        self.dropped_features_ = list(self.features_.dropped)
        e = float(tv.mean())
        self.treated_share_ = e
        self.response_rate_ = {"treated": float(yv[tv == 1].mean()),
                               "control": float(yv[tv == 0].mean())}
        self.ate_ = self.response_rate_["treated"] - self.response_rate_["control"]
        with threadpool_limits(self.n_threads):
            self._fit_learners(Z, yv, tv, e)
        return self

    def _fit_learners(self, Z: np.ndarray, yv: np.ndarray, tv: np.ndarray, e: float) -> None:
        t1, t0 = tv == 1, tv == 0
        every = self.learner == "ensemble"
        if every or self.learner in ("two_model", "x_learner"):
            self.mu1_ = clone(self._base("clf")).fit(Z[t1], yv[t1])
            self.mu0_ = clone(self._base("clf")).fit(Z[t0], yv[t0])
        if every or self.learner == "x_learner":
            d1 = yv[t1] - self.mu0_.predict_proba(Z[t1])[:, 1]
            d0 = self.mu1_.predict_proba(Z[t0])[:, 1] - yv[t0]
            self.tau1_ = clone(self._base("reg")).fit(Z[t1], d1)
            self.tau0_ = clone(self._base("reg")).fit(Z[t0], d0)
        if every or self.learner == "class_transformation":
            ystar = yv * (tv - e) / (e * (1 - e))
            self.tau_ = clone(self._base("reg")).fit(Z, ystar)

    def predict(self, X) -> np.ndarray:
        """Estimated effect of the treatment on each row's response probability (−1…1)."""
        if not hasattr(self, "features_"):
            raise NotFittedError("this UpliftModel is not fitted yet; call fit(X, y, treatment)")
        Z = self.features_.transform(_as_frame(X))
        with threadpool_limits(self.n_threads):
            return np.clip(self._tau(Z), -1.0, 1.0)

    def _tau(self, Z: np.ndarray, learner: str | None = None) -> np.ndarray:
        learner = learner or self.learner
        if learner == "ensemble":
            return np.mean([self._tau(Z, k) for k in LEARNERS[:3]], axis=0)
        if learner == "two_model":
            tau = self.mu1_.predict_proba(Z)[:, 1] - self.mu0_.predict_proba(Z)[:, 1]
        elif learner == "x_learner":
            e = self.treated_share_
            tau = e * self.tau0_.predict(Z) + (1 - e) * self.tau1_.predict(Z)
        else:
            tau = self.tau_.predict(Z)
        return tau

    def predict_response(self, X) -> pd.DataFrame:
        """P(response) if treated and if not (two-model and X-learner only)."""
        if not hasattr(self, "mu1_"):
            raise NotFittedError("predict_response needs a fitted two_model or x_learner")
        Z = self.features_.transform(_as_frame(X))
        return pd.DataFrame({"if_treated": self.mu1_.predict_proba(Z)[:, 1],
                             "if_not_treated": self.mu0_.predict_proba(Z)[:, 1]})
