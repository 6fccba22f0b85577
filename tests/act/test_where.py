import pytest
from act_tables import customers, write_c360

from prisme.act.where import WhereError, parse_where


@pytest.fixture
def c360(engine):
    df = customers(60)
    write_c360(engine, df)
    return engine, df


def _ids(engine, text):
    t = engine.table("customer_360")
    return set(engine.to_pandas(t.filter(parse_where(text, t)).select("party_id")).party_id)


def test_conditions_select_what_pandas_selects(c360):
    engine, df = c360
    cases = {
        "clv_12m >= 200": df.clv_12m >= 200,
        "rfm_segment in ('loyal', 'lost') and not orders < 3":
            df.rfm_segment.isin(["loyal", "lost"]) & ~(df.orders < 3),
        "email is null or (consent_email = true and clv_12m between 50 and 150)":
            df.email.isna() | ((df.consent_email == True) & df.clv_12m.between(50, 150)),  # noqa: E712
        "rfm_segment not in (\"champions\") and email like 'c1%'":
            ~df.rfm_segment.isin(["champions"]) & df.email.fillna("").str.startswith("c1"),
        "as_of = '2026-11-30' and orders <> 0": df.orders != 0,
    }
    for text, mask in cases.items():
        assert _ids(engine, text) == set(df.party_id[mask.fillna(False).astype(bool)]), text


@pytest.mark.parametrize("text, says", [
    ("clv_12m > 1; drop table customer_360", "column 12: unexpected character ';'"),
    ("contry = 'FR'", "unknown column 'contry'"),
    ("Clv_12m > 3", "did you mean 'clv_12m'"),
    ("clv_12m > 'a'", "not text"),
    ("last_name = 3", "a quoted value"),
    ("clv_12m >", "expected a number"),
    ("(clv_12m > 3", "expected ')'"),
    ("clv_12m > 3 clv_12m", "expected 'and', 'or'"),
    ("last_name = 'O''Neil", "unclosed quote"),
    ("", "--where is empty"),
    ("1 = 1", "a column of customer_360"),
])
def test_bad_conditions_say_where_and_what(c360, text, says):
    engine, _ = c360
    with pytest.raises(WhereError, match=None) as info:
        parse_where(text, engine.table("customer_360"))
    assert says in str(info.value)


def test_quotes_inside_text_are_values_not_sql(c360):
    engine, _ = c360
    assert _ids(engine, "last_name = 'x'' or ''1''=''1'") == set()
