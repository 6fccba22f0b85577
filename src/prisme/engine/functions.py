"""Portable "try" functions: parse or give NULL, whatever the backend calls them.

Ibis compiles most expressions to every backend; parsing text that may be malformed is the
exception (DuckDB says ``try_strptime``, Spark ``try_to_timestamp`` with another format syntax).
Warehouse code calls these helpers with the engine it holds and never names a dialect itself.
"""


import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


def try_timestamp(engine, value: ir.StringValue, fmt: str) -> ir.TimestampValue:
    """Parse text to a timestamp with a strftime-style ``fmt``; NULL when it does not parse
    (the engine's dialect names the function and translates the format)."""
    return engine.dialect.try_timestamp(value, fmt)


def try_number(value: ir.StringValue, *, decimal: str = ".", thousands: str | None = None,
               to: dt.DataType = dt.float64) -> ir.NumericValue:
    """Text to a number, NULL when it is not one. Handles decimal commas and thousand marks."""
    v = value.strip()
    if thousands:
        v = v.replace(thousands, "")
    v = v.replace("\u00a0", "").replace("\u202f", "")
    if decimal != ".":
        v = v.replace(decimal, ".")
    return v.try_cast(to)


@ibis.udf.scalar.builtin(name="strip_accents")
def fold_accents(s: str) -> str:
    """Text without accents ('Besançon' → 'Besancon'); DuckDB's ``strip_accents``.

    (A backend without it needs a translation of this name in its own engine module.)"""


_MIN_BY: dict = {}


def min_by(value: ir.Value, rank: ir.IntegerValue, where: ir.BooleanValue | None = None
           ) -> ir.Value:
    """Aggregate: ``value`` of the row of smallest ``rank`` (among the rows where ``where``).

    Ibis compiles ``argmin`` on DuckDB to ``first(value ORDER BY rank)``, an ordered aggregate
    that builds a sort key per row; the builtin ``min_by`` (DuckDB, Spark, Trino) keeps an
    integer. With ranks unique inside a group both give the same row."""
    dtype = value.type()
    if dtype not in _MIN_BY:
        def _min_by(arg, key):
            """The builtin aggregate ``min_by(arg, key)``."""
        _MIN_BY[dtype] = ibis.udf.agg.builtin(_min_by, name="min_by",
                                              signature=((dtype, dt.int64), dtype))
    return _MIN_BY[dtype](value, rank.cast("int64"), where=where)
