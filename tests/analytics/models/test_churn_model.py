"""ChurnModel: raw input, calibration, reasons, and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from prisme.models import ChurnModel

CATEGORICAL = ["Month", "OperatingSystems", "Browser", "Region", "TrafficType", "VisitorType",
               "Weekend"]


def expected_calibration_error(p, y, bins: int = 10) -> float:
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[idx == b].mean() - y[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


@pytest.fixture(scope="module")
def shoppers(shared_data):
    """Online Shoppers Purchasing Intention (UCI, Sakar et al. 2019) as delivered: every column
    read as text, plus the mess of real exports — blanks in a numeric column, a decimal comma,
    an id column the model must ignore."""
    df = pd.read_csv(shared_data / "online_shoppers_intention" / "online_shoppers_intention.csv",
                     dtype=str, keep_default_na=False)
    rng = np.random.default_rng(0)
    df.insert(0, "session_id", [f"S{i:06d}" for i in range(len(df))])
    blanks = rng.random(len(df)) < 0.03
    df.loc[blanks, "ProductRelated_Duration"] = " "
    df["BounceRates"] = df["BounceRates"].str.replace(".", ",", regex=False)
    y = df.pop("Revenue")
    return train_test_split(df, y, test_size=0.3, random_state=1, stratify=y)


def careful_logistic_auc(Xtr, ytr, Xte, yte) -> float:
    """One-hot categoricals, log1p + standardised numerics, regularisation by CV."""
    def numeric(frame):
        f = frame.apply(lambda s: pd.to_numeric(s.str.replace(",", ".").str.strip()
                                                .replace("", np.nan), errors="coerce"))
        return np.log1p(f.fillna(f.median()).clip(lower=0))

    numerics = [c for c in Xtr.columns if c not in CATEGORICAL and c != "session_id"]
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ("num", make_pipeline(FunctionTransformer(numeric), StandardScaler()), numerics),
    ])
    lr = make_pipeline(pre, LogisticRegressionCV(Cs=10, max_iter=2000, scoring="roc_auc"))
    lr.fit(Xtr, ytr == "TRUE")
    return roc_auc_score(yte == "TRUE", lr.predict_proba(Xte)[:, 1])


def test_reaches_a_careful_logistic_regression_and_is_calibrated(shoppers):
    Xtr, Xte, ytr, yte = shoppers
    model = ChurnModel().fit(Xtr, ytr)
    assert model.ignored_ == ["session_id"]
    assert model.kinds_["BounceRates"] == "number" and model.kinds_["Month"] == "category"
    assert model.positive_label_ == "true"
    p = model.predict_proba(Xte)[:, 1]
    y = (yte == "TRUE").to_numpy(dtype=int)
    auc = roc_auc_score(y, p)
    assert auc >= careful_logistic_auc(Xtr, ytr, Xte, yte)
    assert auc > 0.9
    assert expected_calibration_error(p, y) < 0.04
    reasons = model.explain(Xte.head(20))
    assert set(reasons.columns) == {"row", "rank", "feature", "value", "contribution", "reason"}
    assert (reasons.contribution > 0).all() and reasons.reason.str.len().gt(3).all()
    assert reasons.groupby("row")["rank"].max().le(3).all()


def test_the_same_model_on_one_thread_or_several(shoppers):
    """Training runs on the engine's threads (column-wise histograms, deterministic): the
    trees, the calibration and so the probabilities are the same to the last bit."""
    Xtr, Xte, ytr, _ = shoppers
    one = ChurnModel(n_jobs=1).fit(Xtr, ytr).predict_proba(Xte)
    several = ChurnModel(n_jobs=3).fit(Xtr, ytr).predict_proba(Xte)
    np.testing.assert_array_equal(several, one)


def _toy(n=400, seed=1):
    rng = np.random.default_rng(seed)
    months = rng.integers(1, 12, n)
    gap = rng.exponential(40, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(months - 6) / 1.5))).astype(int)
    return pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(n)],
        "months_since_last_purchase": months.astype(str),
        "usual_gap_days": gap.round(1),
        "segment": rng.choice(["gold", "silver", " "], n),
    }), y


def test_explain_uses_the_callers_templates():
    X, y = _toy()
    months = {"months_since_last_purchase": lambda row: (
        f"no purchase for {int(row.months_since_last_purchase)} months, usually every "
        f"{row.usual_gap_days / 7:.0f} weeks")}
    model = ChurnModel(n_estimators=60, describe=months).fit(X, y)
    risky = X[X.months_since_last_purchase.astype(int) >= 10].head(5)
    top = model.explain(risky, top=1)
    assert top.feature.eq("months_since_last_purchase").all()
    assert top.reason.str.match(r"no purchase for 1[01] months, usually every \d+ weeks").all()


def test_scikit_learn_shape():
    X, y = _toy()
    model = ChurnModel(n_estimators=40)
    with pytest.raises(NotFittedError, match="not fitted"):
        model.predict_proba(X)
    assert model.get_params()["n_estimators"] == 40
    assert model.fit(X, y) is model
    assert model.ignored_ == ["customer_id"]
    p = model.predict_proba(X)
    assert p.shape == (len(X), 2) and np.allclose(p.sum(axis=1), 1)
    assert ((p >= 0) & (p <= 1)).all()
    # a value never seen at fit is treated as missing, not an error
    other = X.head(3).assign(segment="platinum")
    assert model.predict_proba(other).shape == (3, 2)


@pytest.mark.parametrize(("change", "message"), [
    (lambda X, y: (X, np.zeros(len(y))), "one class only"),
    (lambda X, y: (X, np.arange(len(y)) % 3), "must be binary"),
    (lambda X, y: (X, pd.Series(y).astype(object).where(np.arange(len(y)) != 5, " ")),
     "label is blank in 1 row"),
    (lambda X, y: (X.assign(country="FR"), y), "column 'country' has the same value"),
    (lambda X, y: (X.assign(notes=" "), y), "column 'notes' is blank in every row"),
    (lambda X, y: (X.head(50), y[:50]), "50 rows are too few"),
    (lambda X, y: (X, y[:-1]), "X has 400 rows but the label has 399"),
])
def test_bad_input_gets_a_clear_message(change, message):
    X, y = _toy()
    X2, y2 = change(X, y)
    with pytest.raises(ValueError, match=message):
        ChurnModel(n_estimators=20).fit(X2, y2)


def test_text_labels_and_numbers_stored_as_text():
    X, y = _toy()
    labels = np.where(y == 1, "Churned", "Active")
    model = ChurnModel(n_estimators=30).fit(X, labels)
    assert model.positive_label_ == "churned"
    assert model.kinds_["months_since_last_purchase"] == "number"
    bad = X.head(2).assign(months_since_last_purchase=["3", "soon"])
    with pytest.raises(ValueError, match="held numbers at fit but row 1 has 'soon'"):
        model.predict_proba(bad)
