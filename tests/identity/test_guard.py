"""The household guard's conflict test: its nested CASE form (the costly similarities only on
the rows whose cheap part holds) gives the same answer on every pair as the plain
conjunctions with NULL read as false — hostile values included (missing names, one-letter
names, swapped names, prefixes, twins, unparseable birth dates)."""

from __future__ import annotations

import itertools

import ibis
import pandas as pd

from prisme.identity.resolve import _Guard, _letters

# first_name (after nicknames), first_name_raw, last_name, gender, birth_date, ident_tax
PEOPLE = [
    ("jean", "jean", "martin", "M", "1970-03-01", None),
    ("jean", "jean pierre", "martin", "M", "1970-03-01", None),
    ("jeanne", "jeanne", "martin", "F", "1972-05-09", None),
    ("martin", "martin", "jean", "M", "1970-03-01", None),  # names swapped
    ("romain", "romain", "martin", "M", "1970-03-10", None),
    ("amelia", "amelia", "durand", "F", None, None),
    ("lmeai", "lmeai", "durand", "F", None, None),  # scrambled
    ("ryan", "ryan", "durand", "M", "2001-12-30", "X1"),
    ("ayn", "ayn", "durand", None, "2001-12-03", "X1"),  # same identifier
    ("elodie", "elodie", "petit", "F", "1985-07-14", None),
    ("daniel", "daniel", "petit", "M", "1985-07-14", None),  # same birth date, two people
    (None, None, "petit", None, "1985-07-14", None),
    (None, "e", "petit", "F", "1958-01-01", None),  # an initial only
    ("e", "e", None, None, None, None),
    ("", "", "", "", None, None),
    ("anne", "anne", "robert", "F", "1990-01-01", None),
    ("anne", "anne", "robert", "F", "1990-10-01", None),  # a typo in the month
    ("anne", "anne", "robert", "F", "1960-01-01", None),  # her mother
]


def _conjunctive(g: _Guard, t, idents):
    """The conflict as plain conjunctions, each NULL read as false (the reference)."""
    d = g.d

    def names_differ(x, y, lx, ly):
        common, nx, ny = g.common(lx, ly), lx.length(), ly.length()
        scrambled = ((common >= 0.8 * ibis.least(nx, ny))
                     & (common >= 0.6 * ibis.greatest(nx, ny))
                     & ((common == ibis.least(nx, ny)) | (d.swap_edit_distance(x, y) <= 2)))
        return ((x != y) & (d.jaro_winkler(x, y) < 0.8)
                & ~x.startswith(y) & ~y.startswith(x) & ~scrambled).fill_null(False)

    def same(x, y, lx, ly):
        return x.notnull() & y.notnull() & ~names_differ(x, y, lx, ly)

    a_first, b_first, a_last, b_last = (t.first_name_raw_a, t.first_name_raw_b, t.last_name_a,
                                        t.last_name_b)
    a_fl, b_fl, a_ll, b_ll = t.raw_letters_a, t.raw_letters_b, t.last_letters_a, \
        t.last_letters_b
    swapped = (a_first != b_first).fill_null(True) & (
        (same(a_first, b_last, a_fl, b_ll)
         & (a_last.isnull() | b_first.isnull() | same(a_last, b_first, a_ll, b_fl)))
        | (same(b_first, a_last, b_fl, a_ll)
           & (b_last.isnull() | a_first.isnull() | same(b_last, a_first, b_ll, a_fl))))
    same_identifier = ibis.literal(False)
    for c in idents:
        same_identifier = same_identifier | (t[f"{c}_a"] == t[f"{c}_b"]).fill_null(False)
    first_differ = (
        names_differ(t.first_name_a, t.first_name_b, t.first_letters_a, t.first_letters_b)
        & names_differ(t.first_name_raw_a, t.first_name_raw_b, t.raw_letters_a,
                       t.raw_letters_b)
        & (~(t.birth_date_a == t.birth_date_b).fill_null(False)
           | g.disjoint(t.raw_letters_a, t.raw_letters_b)))
    initials = ((t.first_initial_a != t.first_initial_b)
                & (t.first_name_a.isnull() | t.first_name_b.isnull()))
    genders = (t.gender_a != t.gender_b) & ~t.first_name_a.identical_to(t.first_name_b)
    births = (t.birth_date_a.notnull() & t.birth_date_b.notnull()
              & (d.swap_edit_distance(t.birth_date_a, t.birth_date_b) > 1)
              & ((t.birth_day_a - t.birth_day_b).abs() > 366))
    return ~same_identifier & ((~swapped & (first_differ | initials)).fill_null(False)
                               | genders.fill_null(False) | births.fill_null(False))


def test_nested_guard_answers_like_the_conjunctions(engine):
    recs = pd.DataFrame(PEOPLE, columns=["first_name", "first_name_raw", "last_name", "gender",
                                         "birth_date", "ident_tax"])
    recs["first_initial"] = recs.first_name_raw.str[:1]
    born = pd.to_datetime(recs.birth_date, errors="coerce")
    recs["birth_day"] = ((born - pd.Timestamp("1970-01-01")).dt.days).astype("Int64")
    recs["i"] = range(len(recs))
    pairs = pd.DataFrame(list(itertools.combinations(range(len(recs)), 2)),
                         columns=["left", "right"])
    r = engine.create_table("guard_recs", ibis.memtable(recs).cast(
        {"birth_day": "int64", "i": "int64", "ident_tax": "string", "gender": "string",
         "birth_date": "string", "first_name": "string", "first_name_raw": "string",
         "first_initial": "string", "last_name": "string"}), overwrite=True)
    p = engine.create_table("guard_pairs", ibis.memtable(pairs), overwrite=True)
    d = engine.dialect
    letters = r.mutate(first_letters=_letters(d, r.first_name),
                       raw_letters=_letters(d, r.first_name_raw),
                       last_letters=_letters(d, r.last_name))
    a, b = letters.rename("{name}_a"), letters.rename("{name}_b")
    t = p.join(a, p.left == a.i_a).join(b, p.right == b.i_b)
    g = _Guard(d)
    got = engine.to_pandas(t.select("left", "right", nested=g.conflict(t, ["ident_tax"]),
                                    plain=_conjunctive(g, t, ["ident_tax"])))
    assert len(got) == len(pairs)
    assert got.nested.notna().all()
    mismatch = got[got.nested != got.plain]
    assert mismatch.empty, mismatch
    # and the test has both answers among its pairs: it checks something
    assert got.nested.any() and (~got.nested).any()
