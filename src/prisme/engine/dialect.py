"""Every SQL difference between the backends, in one object per backend (Splink's pattern).

Ibis compiles most expressions to every backend. What it does not carry portably — a function
one engine calls ``jaro_winkler_similarity`` and another ``jaro_winkler``, a "try" parser whose
name and format syntax differ, something one engine cannot do at all — is declared here, once:
business code asks the :class:`Dialect` of the engine it holds (``engine.dialect``) for an Ibis
expression and never names a backend function itself.

A function a backend lacks is ``None`` in its table; asking for it raises
:class:`EngineCannot`, a clear error naming the backend and the function, instead of a SQL
error deep inside a query.
"""

from __future__ import annotations

import functools

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from prisme.engine.base import EngineError


class EngineCannot(EngineError):
    """This backend cannot do what was asked (the message names the backend and the thing)."""


#: the portable names of the functions whose spelling differs between backends, and what each
#: one computes (the docs of :meth:`Dialect.function`)
FUNCTIONS: dict[str, str] = {
    "jaro_winkler": "Jaro-Winkler similarity of two strings, 0..1",
    "jaro": "Jaro similarity of two strings, 0..1",
    "levenshtein": "Levenshtein edit distance of two strings",
    "damerau_levenshtein": "Damerau-Levenshtein distance (transpositions count one edit)",
    "try_strptime": "text to timestamp with a format, NULL when it does not parse",
    "strip_accents": "text without its accents",
    "min_by": "aggregate: the value of the row of smallest key",
    "array_intersect": "the distinct elements two arrays share",
    "array_distinct": "an array without its duplicates",
    "split": "text split on a separator, as an array",
    "bit_count": "the bits set in an integer",
    "to_json": "a value (a struct, a list) as JSON text",
}


class Dialect:
    """What one backend calls things, and what it cannot do.

    ``functions`` maps each portable name of :data:`FUNCTIONS` to the backend's own name,
    ``None`` when the backend lacks it. ``splink_dialect`` is the name Splink gives the
    backend (``Linker`` settings, its level library renders comparisons with it)."""

    name: str = "abstract"
    splink_dialect: str | None = None
    #: the sqlglot dialect of the backend (SQL text carried by Ibis/sqlglot)
    sqlglot_dialect: str | None = None
    functions: dict[str, str | None] = {}
    #: strftime directives → the backend's own date-format syntax (None: strftime itself)
    date_format_tokens: dict[str, str] | None = None

    # ------------------------------------------------------------------------ names
    def function(self, what: str) -> str:
        """The backend's name of the portable function ``what``; :class:`EngineCannot` when
        the backend has none."""
        if what not in FUNCTIONS:
            raise KeyError(f"{what!r} is not a portable function ({', '.join(FUNCTIONS)})")
        name = self.functions.get(what)
        if name is None:
            self.cannot(f"{what} ({FUNCTIONS[what]})")
        return name

    def supports(self, what: str) -> bool:
        return self.functions.get(what) is not None

    def cannot(self, what: str):
        """Raise the error that says this backend cannot do ``what``."""
        raise EngineCannot(f"the {self.name} engine cannot do this: {what}")

    # ------------------------------------------------------------------ expressions
    def call(self, what: str, *args: ir.Value, returns: dt.DataType) -> ir.Value:
        """``what(*args)`` with the backend's name for ``what`` (a builtin function)."""
        name = self.function(what)
        signature = (tuple(a.type() for a in args), returns)
        return _builtin(name, signature)(*args)

    def jaro_winkler(self, a: ir.StringValue, b: ir.StringValue) -> ir.FloatingValue:
        return self.call("jaro_winkler", a, b, returns=dt.float64)

    def levenshtein(self, a: ir.StringValue, b: ir.StringValue) -> ir.IntegerValue:
        return self.call("levenshtein", a, b, returns=dt.int64)

    def swap_edit_distance(self, a: ir.StringValue, b: ir.StringValue) -> ir.IntegerValue:
        """Edits from ``a`` to ``b``, a swap of two neighbouring characters counting as one
        (the Damerau–Levenshtein distance, under each backend's own function name)."""
        return self.call("damerau_levenshtein", a, b, returns=dt.int64)

    def split(self, value: ir.StringValue, separator: str) -> ir.ArrayValue:
        """Text split on ``separator`` (``''``: into its characters)."""
        return self.call("split", value, ibis.literal(separator), returns=dt.Array(dt.string))

    def array_distinct(self, value: ir.ArrayValue) -> ir.ArrayValue:
        return self.call("array_distinct", value, returns=value.type())

    def array_intersect(self, a: ir.ArrayValue, b: ir.ArrayValue) -> ir.ArrayValue:
        """The distinct elements ``a`` and ``b`` share (Ibis' own ``intersect`` compiles to a
        lambda on DuckDB, several times slower and refused by DuckDB 2's binder)."""
        return self.call("array_intersect", a, b, returns=a.type())

    def try_timestamp(self, value: ir.StringValue, fmt: str) -> ir.TimestampValue:
        """Parse text with a strftime-style ``fmt``; NULL when it does not parse."""
        return self.call("try_strptime", value, ibis.literal(self.date_format(fmt)),
                         returns=dt.timestamp)

    def date_format(self, fmt: str) -> str:
        """A strftime format in the backend's own syntax."""
        if self.date_format_tokens is None:
            return fmt
        out, i = [], 0
        while i < len(fmt):
            token = fmt[i:i + 2]
            if fmt[i] == "%" and token in self.date_format_tokens:
                out.append(self.date_format_tokens[token])
                i += 2
            elif fmt[i] == "%":
                self.cannot(f"the date format directive {token!r} (in {fmt!r})")
            elif fmt[i].isalpha():  # a literal letter must be quoted in Java patterns
                out.append(f"'{fmt[i]}'")
                i += 1
            else:
                out.append(fmt[i])
                i += 1
        return "".join(out)

    def strip_accents(self, value: ir.StringValue) -> ir.StringValue:
        return self.call("strip_accents", value, returns=dt.string)

    def to_json(self, value: ir.Value) -> ir.StringValue:
        """``value`` (a struct, a list of structs…) as JSON text, NULL fields as null. Give
        it no timestamps: each engine writes them its own way (cast them to text first)."""
        return self.call("to_json", value, returns=dt.json).cast(dt.string)


def _one(a):
    """A builtin function of the backend, of one argument."""


def _two(a, b):
    """A builtin function of the backend, of two arguments."""


def _three(a, b, c):
    """A builtin function of the backend, of three arguments."""


_ARITY = {1: _one, 2: _two, 3: _three}


@functools.cache
def _builtin(name: str, signature: tuple) -> object:
    return ibis.udf.scalar.builtin(_ARITY[len(signature[0])], name=name, signature=signature)


class DuckDBDialect(Dialect):
    name = "duckdb"
    splink_dialect = "duckdb"
    sqlglot_dialect = "duckdb"
    functions = {
        "jaro_winkler": "jaro_winkler_similarity",
        "jaro": "jaro_similarity",
        "levenshtein": "levenshtein",
        "damerau_levenshtein": "damerau_levenshtein",
        "try_strptime": "try_strptime",
        "strip_accents": "strip_accents",
        "min_by": "min_by",
        "array_intersect": "list_intersect",
        "array_distinct": "list_distinct",
        "split": "string_split",
        "bit_count": "bit_count",
        "to_json": "to_json",
    }


class SparkDialect(Dialect):
    """Spark SQL (4.x). The similarity functions give DuckDB's values (tested on both):
    ``jaro_winkler``, ``jaro_sim`` and ``damerau_levenshtein`` are Prisme's pandas UDFs,
    registered over the functions of the same names of the jar inside the splink wheel
    (whose values differ); ``levenshtein`` is Spark's own on the UTF-8 bytes — all in each
    engine's session (see spark_backend). Dates are parsed with Java ``DateTimeFormatter``
    patterns."""

    name = "spark"
    splink_dialect = "spark"
    sqlglot_dialect = "spark"
    functions = {
        "jaro_winkler": "jaro_winkler",
        "jaro": "jaro_sim",
        "levenshtein": "byte_levenshtein",
        "damerau_levenshtein": "damerau_levenshtein",
        "try_strptime": "try_to_timestamp",
        # a temporary SQL function of every Spark engine's session (a translate over the
        # precomposed Latin letters: see spark_backend)
        "strip_accents": "strip_accents",
        "min_by": "min_by",
        "array_intersect": "array_intersect",
        "array_distinct": "array_distinct",
        "split": "split",
        "bit_count": "bit_count",
        "to_json": "to_json",
    }
    date_format_tokens = {
        "%Y": "yyyy", "%y": "yy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm",
        "%S": "ss", "%f": "SSSSSS", "%b": "MMM", "%B": "MMMM", "%p": "a", "%I": "hh",
        "%j": "DDD", "%z": "Z", "%%": "%",
    }


DIALECTS: dict[str, Dialect] = {"duckdb": DuckDBDialect(), "spark": SparkDialect()}


def dialect_for(backend: str) -> Dialect:
    """The dialect of a backend by name (``duckdb``, ``spark``)."""
    try:
        return DIALECTS[backend]
    except KeyError:
        raise EngineError(f"no SQL dialect is known for the engine {backend!r}") from None
