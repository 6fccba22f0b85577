"""The string similarities identity compares records with give the same values on every engine.

Splink's comparison levels cut them at thresholds (Jaro-Winkler >= 0.9, Damerau-Levenshtein
<= 1 …): a value that differs between engines, even in its last bit, can put a pair in another
level and change the model identity learns. DuckDB's values are the reference.
"""

from __future__ import annotations

import itertools

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
import pytest

from prisme import engine as engine_mod
from prisme.config import Settings

pytestmark = pytest.mark.spark

WORDS = [
    # names of the demo company, after normalisation, and their typos
    "adele", "elodie", "agnes", "anne", "barbara", "barker", "baron", "brun", "bruno",
    "bennett", "benoit", "berger", "bernard", "berbard", "bernard collin", "bernardcollin",
    "laurent blanchard", "martha", "marhta", "dixon", "dicksonx", "jean-pierre", "jean pierre",
    "dupont", "dupond", "dupnot", "databend", "database", "lawrence", "laurence",
    # accents and other bytes (DuckDB compares UTF-8 bytes), empty and one-letter strings
    "é", "e", "éa", "ea", "çàé", "cae", "strasse", "straße", "", "a", "ab", "ba", "ca", "abc",
    # e-mails, birth dates, phones, addresses
    "jean.dupont@mail.fr", "jean.dupnot@mail.fr", "jdupont@mail.fr", "x@gmail.com",
    "y@gmail.com", "1980-05-12", "1980-12-05", "1908-05-12", "1980-05-21", "0612345678",
    "0612345687", "0621345678", "12 rue des lilas", "12 rue des lillas", "21 rue des lilas",
    "3 avenue victor hugo", "3 av victor hugo",
]


def _values(backend: str, tmp_path, pairs: pd.DataFrame, *, after_splink: bool) -> pd.DataFrame:
    s = Settings()
    s.engine.backend = backend
    s.engine.shuffle_partitions = 2
    s.engine.memory_limit = "2GB"
    s.root = tmp_path / backend
    s.root.mkdir()
    with engine_mod.connect(s) as eng:
        if after_splink:  # Splink's Spark API registers the jar's functions in the session
            eng.splink_api()
        d = eng.dialect
        t = ibis.memtable(pairs)
        expr = t.select(
            "i", "a", "b",
            jw=d.jaro_winkler(t.a, t.b), j=d.call("jaro", t.a, t.b, returns=dt.float64),
            lev=d.levenshtein(t.a, t.b), dl=d.call("damerau_levenshtein", t.a, t.b, returns=dt.int64),
        )
        return eng.to_pandas(expr).sort_values("i").reset_index(drop=True)


@pytest.mark.parametrize("after_splink", [False, True])
def test_similarities_are_duckdbs_on_spark(tmp_path, spark_session, after_splink):
    pairs = pd.DataFrame(list(itertools.product(WORDS, WORDS)), columns=["a", "b"])
    pairs = pd.concat([pairs, pd.DataFrame({"a": ["x", None], "b": [None, None]})])
    pairs["i"] = range(len(pairs))
    duck = _values("duckdb", tmp_path, pairs, after_splink=after_splink)
    spark = _values("spark", tmp_path, pairs, after_splink=after_splink)
    assert len(duck) == len(spark) == len(pairs)
    for col in ("jw", "j", "lev", "dl"):
        d, s = duck[col].astype("float64"), spark[col].astype("float64")
        assert (d.isna() == s.isna()).all(), (
            col, pd.concat([duck[["a", "b"]], d, s], axis=1)[d.isna() != s.isna()].head())
        differ = duck[d.notna() & (d != s)]
        assert differ.empty, (
            f"{col} differs on {len(differ)} pairs, e.g.\n"
            + pd.concat([differ[["a", "b"]], d[differ.index].rename("duckdb"),
                         s[differ.index].rename("spark")], axis=1).head(8).to_string())
