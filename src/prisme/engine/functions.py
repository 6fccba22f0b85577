"""Portable "try" functions: parse or give NULL, whatever the backend calls them.

Ibis compiles most expressions to every backend; parsing text that may be malformed is the
exception (DuckDB says ``try_strptime``, Spark ``try_to_timestamp`` with another format syntax).
Warehouse code calls these helpers with the engine it holds and never names a dialect itself.
"""


import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


@ibis.udf.scalar.builtin(name="try_strptime")
def _duckdb_try_strptime(s: str, fmt: str) -> dt.timestamp:
    """DuckDB: parse ``s`` with a strftime format, NULL when it does not match."""


@ibis.udf.scalar.builtin(name="try_to_timestamp")
def _spark_try_to_timestamp(s: str, fmt: str) -> dt.timestamp:
    """Spark: parse ``s`` with a Java date-time pattern, NULL when it does not match."""


#: strftime directive → Java pattern letters (one letter: 1 or 2 digits, as strptime reads)
_JAVA = {"Y": "yyyy", "y": "yy", "m": "M", "d": "d", "H": "H", "M": "m", "S": "s",
         "f": "SSSSSS", "b": "MMM", "B": "MMMM", "I": "h", "p": "a", "z": "Z", "j": "D"}


def java_pattern(fmt: str) -> str:
    """A strftime format as a Java ``DateTimeFormatter`` pattern (letters quoted)."""
    out, i, numeric = [], 0, {"m", "d", "H", "M", "S", "I"}
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            d = fmt[i + 1]
            if d == "%":
                out.append("%")
            elif d not in _JAVA:
                raise ValueError(f"the date format {fmt!r} uses %{d}, which Prisme cannot "
                                 "translate for this engine")
            else:
                # two digits when another number follows at once (%Y%m%d): no separator
                glued = fmt[i + 2:i + 3] == "%" and fmt[i + 3:i + 4] in _JAVA
                out.append(_JAVA[d] * (2 if d in numeric and glued else 1))
            i += 2
            continue
        out.append(f"'{c}'" if c.isalpha() else ("''" if c == "'" else c))
        i += 1
    return "".join(out)


def try_timestamp(engine, value: ir.StringValue, fmt: str) -> ir.TimestampValue:
    """Parse text to a timestamp with a strftime-style ``fmt``; NULL when it does not parse."""
    if engine.name == "duckdb":
        return _duckdb_try_strptime(value, fmt)
    if engine.name == "spark":
        return _spark_try_to_timestamp(value, java_pattern(fmt))
    from prisme.engine.base import EngineError

    raise EngineError(f"parsing dates is not available on the {engine.name} backend yet")


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
def strip_accents(s: str) -> str:
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
