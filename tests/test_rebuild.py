"""``prisme build`` as a whole: a rerun on unchanged data changes nothing (issue #9 item 11)."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.test_publish import _project  # the small mapped project of the publish tests
from prisme import engine as engine_mod
from prisme.build import build
from prisme.config import load_settings
from prisme.ingest.load import ingest


@pytest.mark.slow
def test_ingest_and_build_again_on_unchanged_files_change_nothing(settings):
    _project(settings, customers=40)
    st = load_settings(settings.root)
    st.engine = settings.engine

    def state():
        with engine_mod.connect(st) as eng:
            audit = eng.to_pandas(eng.table("quality_audit").drop("audited_at"))
            c360 = eng.to_pandas(eng.table("customer_360"))
        key = ["source", "load_id", "check", "field"]
        return (audit.sort_values(key, ignore_index=True),
                c360.sort_values("party_id", ignore_index=True))

    ingest(st)
    build(st)
    audit_1, c360_1 = state()
    results = ingest(st)
    assert {r.status for r in results} == {"unchanged"}
    build(st)
    audit_2, c360_2 = state()
    assert len(audit_2) == len(audit_1)  # the unchanged loads are not audited again
    pd.testing.assert_frame_equal(audit_2, audit_1)
    pd.testing.assert_frame_equal(c360_2, c360_1)
