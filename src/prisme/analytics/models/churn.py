"""ChurnModel: a calibrated gradient-boosting churn score with reasons an advisor can read.

* **Scores** — gradient-boosted trees (LightGBM; Ke et al. 2017, *LightGBM: a highly efficient
  gradient boosting decision tree*, NeurIPS) on a raw customer table.
* **Calibration** — the probabilities are re-mapped so that "30 %" means 3 customers in 10
  leave: the trees are refitted on ``cv`` stratified folds, each scoring its held-out fold, and
  an isotonic regression (Zadrozny & Elkan 2002, KDD) — or Platt's sigmoid (Platt 1999) — is
  fitted on those out-of-fold scores against the label; it is then applied to the scores of the
  model fitted on every row (scikit-learn's ``CalibratedClassifierCV(ensemble=False)``).
* **Reasons** — ``explain(X)`` takes LightGBM's ``pred_contrib=True`` (TreeSHAP, Lundberg et al.
  2020, *From local explanations to global understanding with explainable AI for trees*, Nature
  MI: per row, each feature's additive contribution to the log-odds) and turns the features
  pushing the risk up most into sentences: a ``describe`` template per feature when the caller
  gives one ("no purchase for 7 months, usually every 6 weeks"), else a plain sentence from the
  column name, the customer's value and the usual value.

Raw input is handled here: text columns of numbers (``"3,5"``, ``" "`` for blank) become
numbers, other text becomes categories (values unseen at fit are treated as missing), dates
become days, identifier columns (named ``id``/``…_id`` or holding one distinct value per row)
are ignored. Bad input raises ``ValueError`` naming the column and what was expected.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

#: label values read as "left" (case-insensitive); the other value is "stayed"
POSITIVE = {"1", "1.0", "true", "yes", "y", "churn", "churned", "left", "lost", "t"}
NEGATIVE = {"0", "0.0", "false", "no", "n", "stayed", "active", "retained", "f"}
_BLANK = re.compile(r"^\s*$")
_ID_NAME = re.compile(r"(^|_)(id|key|uuid)$|^(customer|client|party|record)(_?(id|no|number))?$",
                      re.IGNORECASE)


def _text(s: pd.Series) -> pd.Series:
    """Object/string column → stripped text with blanks as missing."""
    t = s.astype("string").str.strip()
    return t.mask(t.fillna("").str.match(_BLANK), pd.NA)


def _as_number(t: pd.Series) -> pd.Series | None:
    """Text of numbers (``"1 234,5"``, ``"3.2"``) → floats; None when it is not numeric."""
    present = t.dropna()
    if present.empty:
        return None
    v = t.str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    num = pd.to_numeric(v, errors="coerce")
    if num.notna().sum() < 0.98 * len(present):
        comma = pd.to_numeric(v.str.replace(".", "", regex=False).str.replace(",", ".",
                                                                              regex=False),
                              errors="coerce")
        if comma.notna().sum() < 0.98 * len(present):
            return None
        num = comma
    return num.astype("float64")


class _Row(dict):
    """One customer's values for a reason's template: ``row.x``, ``row["x"]`` and
    ``row.get("x")`` all read them (a ``dict``, far cheaper than a pandas row at a million)."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _humanise(name: str) -> str:
    s = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name)).replace("_", " ")
    return re.sub(r"\s+", " ", s).strip().lower()


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        if not np.isfinite(v):
            return "unknown"
        return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.3g}"
    return str(v)


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Calibrated LightGBM churn score with per-row reasons (see the module notes).

    Parameters: ``n_estimators``, ``learning_rate``, ``num_leaves``, ``min_child_samples``
    (LightGBM's), ``calibration`` (``"isotonic"`` or ``"sigmoid"``), ``cv`` (folds for the
    calibration), ``id_columns`` (columns to ignore besides the ones recognised as ids),
    ``describe`` (feature → ``f(row) -> str | None`` turning a reason into a sentence; ``row``
    is the customer's raw row), ``min_rows`` (fewer rows is an error), ``random_state``,
    ``n_jobs`` (threads for predictions and reasons; ``None``: every core — training stays on
    one thread so that a seed gives the same trees; TreeSHAP reasons cost ~50 predictions each).

    Learned: ``features_`` (used columns), ``ignored_`` (id columns left out), ``kinds_``
    (``number``/``category`` per feature), ``classes_``, ``booster_``, ``calibrator_``,
    ``oof_proba_`` (the calibrated out-of-fold probability of each training row).
    """

    def __init__(self, n_estimators: int = 100, learning_rate: float = 0.1,
                 num_leaves: int = 15, min_child_samples: int = 30,
                 calibration: str = "isotonic", cv: int = 5, id_columns=None,
                 describe: dict[str, Callable] | None = None, min_rows: int = 100,
                 random_state: int = 0, n_jobs: int | None = None):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.calibration = calibration
        self.cv = cv
        self.id_columns = id_columns
        self.describe = describe
        self.min_rows = min_rows
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ input
    def _label(self, y) -> np.ndarray:
        y = pd.Series(np.asarray(y, dtype=object)).reset_index(drop=True)
        blank = y.isna() | y.astype(str).str.match(_BLANK)
        if blank.any():
            rows = list(np.flatnonzero(blank.to_numpy())[:3])
            raise ValueError(f"ChurnModel: the label is blank in {int(blank.sum())} row(s) "
                             f"(e.g. rows {rows}); every row needs 'left' (1) or 'stayed' (0)")
        text = y.astype(str).str.strip().str.lower()
        values = sorted(text.unique())
        if len(values) > 2:
            shown = ", ".join(repr(v) for v in values[:6])
            raise ValueError(f"ChurnModel: the label must be binary (left / stayed); it has "
                             f"{len(values)} values: {shown}{'…' if len(values) > 6 else ''}")
        if len(values) == 1:
            raise ValueError(f"ChurnModel: the label has one class only ({values[0]!r} in every "
                             "row): nobody left, or nobody stayed — a churn model needs both")
        pos = [v for v in values if v in POSITIVE]
        neg = [v for v in values if v in NEGATIVE]
        positive = pos[0] if len(pos) == 1 else (
            [v for v in values if v not in neg][0] if len(neg) == 1 else values[1])
        self.classes_ = np.array([0, 1])
        self.positive_label_ = positive
        return (text == positive).to_numpy(dtype=int)

    def _frame(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            if hasattr(X, "to_pandas"):
                X = X.to_pandas()
            else:
                X = pd.DataFrame(X)
        return X.reset_index(drop=True)

    def _learn_columns(self, X: pd.DataFrame) -> None:
        given = set(self.id_columns or [])
        missing = given - set(X.columns)
        if missing:
            raise ValueError(f"ChurnModel: id_columns {sorted(missing)} are not in the table")
        ignored, kinds, categories, medians = [], {}, {}, {}
        for col in X.columns:
            s = X[col]
            if col in given:
                ignored.append(col)
                continue
            values = self._column(s, None, None)
            if values.notna().sum() == 0:
                raise ValueError(f"ChurnModel: column {col!r} is blank in every row; drop it "
                                 "or fill it")
            if values.nunique(dropna=True) == 1 and values.notna().all():
                raise ValueError(f"ChurnModel: column {col!r} has the same value "
                                 f"({_fmt(values.iloc[0])}) in every row, so it cannot "
                                 "explain anything; drop it")
            is_number = pd.api.types.is_numeric_dtype(values)
            integer_like = is_number and bool(
                np.all(np.mod(values.dropna().to_numpy(dtype=float), 1) == 0))
            unique_per_row = values.notna().all() and values.nunique() == len(values)
            if _ID_NAME.search(str(col)) and (unique_per_row or not is_number) or (
                    unique_per_row and (not is_number or integer_like) and len(values) > 20):
                ignored.append(col)
                continue
            if is_number:
                kinds[col] = "number"
                medians[col] = float(values.median())
            else:
                kinds[col] = "category"
                counts = values.value_counts()
                categories[col] = list(counts.index.astype(str))
                medians[col] = str(counts.index[0])
        if not kinds:
            raise ValueError("ChurnModel: no feature left once the id columns "
                             f"{ignored} are set aside")
        self.ignored_ = ignored
        self.features_ = list(kinds)
        self.kinds_ = kinds
        self.categories_ = categories
        self.usual_ = medians

    @staticmethod
    def _column(s: pd.Series, kind: str | None, categories) -> pd.Series:
        if pd.api.types.is_bool_dtype(s):
            s = s.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(s):
            s = (s - pd.Timestamp("1970-01-01")).dt.days.astype("float64")
        if pd.api.types.is_numeric_dtype(s):
            out = s.astype("float64")
            return out if kind != "category" else out.astype("string")
        t = _text(s)
        if kind is None or kind == "number":
            num = _as_number(t)
            if num is not None:
                return num
            if kind == "number":
                bad = t.notna() & pd.to_numeric(t, errors="coerce").isna()
                first = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
                raise ValueError(f"ChurnModel: column {s.name!r} held numbers at fit but row "
                                 f"{first} has {t.iloc[first]!r}; expected a number or a blank")
        return t

    def _matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise ValueError(f"ChurnModel: the table lacks the columns {missing} it was "
                             "fitted with")
        out = {}
        for col in self.features_:
            kind = self.kinds_[col]
            values = self._column(X[col], kind, self.categories_.get(col))
            if kind == "category":
                text = values.astype("string").astype(object)
                known = text.isin(self.categories_[col])  # unseen at fit: missing
                values = pd.Categorical(text.where(known, None),
                                        categories=self.categories_[col])
            out[col] = values
        return pd.DataFrame(out)

    # -------------------------------------------------------------------- fit
    def _booster_params(self) -> dict:
        return {
            "objective": "binary", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "min_data_in_leaf": self.min_child_samples,
            "feature_fraction": 0.9, "bagging_fraction": 0.9, "bagging_freq": 1,
            "lambda_l2": 1.0, "verbose": -1, "seed": self.random_state,
            # column-wise histograms: the same trees on any number of threads
            "num_threads": self._threads(), "deterministic": True, "force_col_wise": True,
            "cat_smooth": 10.0, "min_data_per_group": 20,
        }

    def _train(self, M: pd.DataFrame, y: np.ndarray):
        import lightgbm as lgb

        data = lgb.Dataset(M, label=y, categorical_feature=[
            c for c in M.columns if self.kinds_[c] == "category"] or "auto",
            free_raw_data=False)
        return lgb.train(self._booster_params(), data, num_boost_round=self.n_estimators)

    def fit(self, X, y) -> ChurnModel:
        """Fit on a raw customer table ``X`` and a binary label ``y`` (1/0, True/False,
        yes/no, "churned"/"active"…). Returns self."""
        if self.calibration not in ("isotonic", "sigmoid"):
            raise ValueError(f"ChurnModel: calibration must be 'isotonic' or 'sigmoid', not "
                             f"{self.calibration!r}")
        X = self._frame(X)
        if len(X) != len(y):
            raise ValueError(f"ChurnModel: X has {len(X)} rows but the label has {len(y)}")
        target = self._label(y)
        if len(X) < self.min_rows:
            raise ValueError(f"ChurnModel: {len(X)} rows are too few to fit and calibrate a "
                             f"churn model; at least {self.min_rows} are needed")
        minority = int(min(target.sum(), len(target) - target.sum()))
        if minority < 2 * self.cv:
            raise ValueError(f"ChurnModel: only {minority} row(s) of the rarer class; at least "
                             f"{2 * self.cv} are needed to calibrate on {self.cv} folds")
        self._learn_columns(X)
        M = self._matrix(X)
        raw = np.zeros(len(M))
        folds = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        for train, held in folds.split(M, target):
            booster = self._train(M.iloc[train], target[train])
            raw[held] = booster.predict(M.iloc[held], raw_score=True)
        self.calibrator_ = self._calibrator(raw, target)
        self.booster_ = self._train(M, target)
        self.oof_proba_ = self._calibrate(raw)
        self.base_rate_ = float(target.mean())
        return self

    def _calibrator(self, raw: np.ndarray, y: np.ndarray):
        if self.calibration == "isotonic":
            return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
        return LogisticRegression(C=1e6).fit(raw.reshape(-1, 1), y)

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        if self.calibration == "isotonic":
            return np.clip(self.calibrator_.predict(raw), 0.0, 1.0)
        return self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]

    def _threads(self) -> int:
        return int(self.n_jobs) if self.n_jobs else (os.cpu_count() or 1)

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError("ChurnModel is not fitted yet: call fit(X, y) first")

    # ---------------------------------------------------------------- predict
    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities, columns (stays, leaves) as scikit-learn's."""
        self._check_fitted()
        M = self._matrix(self._frame(X))
        p = self._calibrate(self.booster_.predict(M, raw_score=True, num_threads=self._threads()))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X) -> pd.DataFrame:
        """Each feature's contribution to each row's log-odds of leaving (TreeSHAP)."""
        self._check_fitted()
        M = self._matrix(self._frame(X))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = self.booster_.predict(M, pred_contrib=True, num_threads=self._threads())
        return pd.DataFrame(np.asarray(c)[:, :-1], columns=self.features_)

    def explain(self, X, top: int = 3, context: pd.DataFrame | None = None,
                min_contribution: float = 0.0,
                keep: Callable[[pd.DataFrame], np.ndarray] | None = None) -> pd.DataFrame:
        """The ``top`` features pushing each row's risk up, as sentences.

        One row per (row, rank): ``row`` (position in X), ``rank``, ``feature``, ``value``,
        ``contribution`` (log-odds), ``reason``. A row with nothing pushing its risk up gets
        no reason. ``context`` (same rows as X) holds extra columns the ``describe``
        templates may read (the month of a survey…), not features. Contributions below
        ``min_contribution`` (log-odds) are not reasons. ``keep`` (the candidate frame, without
        ``reason`` → a boolean mask) chooses which candidates get a sentence, so a caller that
        keeps three reasons of thirty pays for three sentences, not thirty (the ranking is
        vectorised; only the sentences are written one by one).
        """
        X = self._frame(X)
        values = self.contributions(X).to_numpy()
        top = min(int(top), values.shape[1])
        order = np.argsort(-values, axis=1, kind="stable")[:, :top]
        ranked = np.take_along_axis(values, order, axis=1)
        # sorted descending: a row's reasons stop at the first feature not pushing the risk up
        pushing = np.logical_and.accumulate(ranked > max(min_contribution, 0.0), axis=1)
        row, rank = np.nonzero(pushing)
        feature_at = order[row, rank]
        value = np.empty(len(row), dtype=object)
        for j in np.unique(feature_at):
            sel = feature_at == j
            value[sel] = X[self.features_[j]].to_numpy(dtype=object)[row[sel]]
        out = pd.DataFrame({"row": row, "rank": rank + 1,
                            "feature": np.asarray(self.features_, dtype=object)[feature_at],
                            "value": value, "contribution": ranked[row, rank].astype(float)})
        if keep is not None:
            out = out[np.asarray(keep(out), dtype=bool)].reset_index(drop=True)
        rows = X if context is None else pd.concat(
            [X, self._frame(context).drop(columns=list(X.columns), errors="ignore")], axis=1)
        wanted = pd.unique(out.row.to_numpy())
        records = dict(zip(wanted, map(_Row, rows.iloc[wanted].to_dict("records")),
                           strict=True))
        out["reason"] = [self.sentence(f, records[i])
                         for f, i in zip(out.feature, out.row, strict=True)]
        return out[["row", "rank", "feature", "value", "contribution", "reason"]]

    def sentence(self, feature: str, row: pd.Series) -> str:
        """One reason in words: the caller's template, or a plain sentence."""
        template = (self.describe or {}).get(feature)
        if template is not None:
            text = template(row)
            if text:
                return text
        name = _humanise(feature)
        value = self._column(pd.Series([row[feature]], name=feature), self.kinds_[feature],
                             None).iloc[0]
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return f"{name}: not known"
        usual = self.usual_[feature]
        if self.kinds_[feature] == "number":
            side = "higher" if float(value) > usual else "lower" if float(value) < usual else ""
            tail = f" ({side} than the usual {_fmt(usual)})" if side else ""
            return f"{name} {_fmt(float(value))}{tail}"
        return f"{name} is {value}"
