"""The demo company's known purchase process is recovered through the whole chain.

``prisme.demo`` draws every person's purchases from a BG/NBD-like process (λ ~ Gamma(r, alpha)
per week, dropout p ~ Beta(a, b), plus seasonality by thinning) and writes the parameters to
``truth/purchase_process.json``. After generate → ingest → identity → marts, a BG/NBD fitted on
``customer_360`` (frequency, recency, T per party) must find those parameters within simulation
noise: each estimate within 3 standard errors (from the Hessian) of the truth.
"""

from __future__ import annotations

import json

import pytest

from prisme import engine as engine_mod
from prisme.config import load_settings
from prisme.models import BetaGeo

CUSTOMERS = 3_000
SEED = 42


@pytest.mark.slow
def test_demo_purchase_process_is_recovered(tmp_path):
    from prisme.demo.run import run_demo

    run = run_demo(tmp_path / "demo", customers=CUSTOMERS, seed=SEED)
    marts = run.build.steps["marts"]
    truth = json.loads((tmp_path / "demo" / "truth" / "purchase_process.json").read_text())
    assert truth["time_unit"] == "week"
    with engine_mod.connect(load_settings(tmp_path / "demo"), read_only=True) as eng:
        c360 = eng.to_pandas(eng.table("customer_360"))
    assert c360.party_id.is_unique
    buyers = c360[c360.frequency.notna() & (c360["T"] > 0)]
    assert len(buyers) >= 0.95 * CUSTOMERS
    fit = BetaGeo().fit(buyers[["frequency", "recency", "T"]])
    for name in ("r", "alpha", "a", "b"):
        z = (fit.params_[name] - truth[name]) / fit.standard_errors_[name]
        assert abs(z) <= 3, f"{name}: {fit.params_[name]:.3f} vs truth {truth[name]} (z={z:.2f})"
    # the marts' own fit ("auto": the identified model with the lowest BIC) is that model
    # fitted on the same rows
    from prisme import models

    assert marts.purchase_model in ("paretonbd", "bgnbd", "repeat_rate")
    own = {"bgnbd": models.BetaGeo, "paretonbd": models.ParetoNBD,
           "repeat_rate": models.RepeatRate}[marts.purchase_model]()
    own.fit(buyers[["frequency", "recency", "T"]])
    for name, value in own.params_.items():
        assert marts.purchase_params[name] == pytest.approx(value, rel=1e-3), name
    assert c360.p_alive.dropna().between(0, 1).all()
