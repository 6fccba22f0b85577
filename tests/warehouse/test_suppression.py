import ibis
import pandas as pd

from prisme.warehouse import suppression

ROWS = pd.DataFrame({
    "source": ["crm", "crm", "shop", None, "shop"],
    "source_customer_id": ["C1", "C2", "C1", "C1", "S9"],
    "email": ["a@b.fr", "x@y.fr", None, None, "A@B.FR"],
    "phone": [None, "+33612345678", None, None, None],
    "reject_reason": [None, None, None, None, "bad date"],
    "raw_record": [None, None, None, None, '{"mail": "A@B.FR"}'],
})


def _held(engine, rows=ROWS):
    """The rows after the hold-back, in the order of ``rows`` (an engine returns rows in any
    order: Spark does)."""
    rows = rows.assign(row=range(len(rows)))
    t = engine.create_table("rows", ibis.memtable(rows), overwrite=True)
    out = suppression.hold_back(engine, t, "reject_reason", ["raw_record"])
    return engine.to_pandas(out).sort_values("row", ignore_index=True).drop(columns="row")


def test_nothing_happens_before_anybody_is_erased(engine):
    out = _held(engine)
    assert out.reject_reason.isna().sum() == 4
    assert not engine.has_table("suppression_list")


def test_rows_with_an_erased_identifier_are_held_back_without_their_data(engine):
    n = suppression.add(engine, {"email": {"a@b.fr"}, "phone": {"+33612345678"},
                                 "source_id": {suppression.source_key("crm", "C1")},
                                 "customer_id": {"C1"}})
    assert n == 4
    assert suppression.add(engine, {"email": {"a@b.fr"}}) == 0  # already listed
    out = _held(engine)
    held = out.reject_reason == suppression.REASON
    # crm:C1 (key), crm:C2 (phone), None:C1 (bare id, unknown source); not shop:C1;
    # shop:S9 has an upper-case e-mail (a load normalises it before this check)
    assert held.tolist() == [True, True, False, True, False]
    assert out.raw_record[held].isna().all()
    # the list holds digests, never the values
    listed = engine.to_pandas(engine.table("suppression_list"))
    assert not listed.digest.str.contains("@").any()
    salt = suppression.salt(engine)
    assert suppression.digest(salt, "email", "a@b.fr") in set(listed.digest)
