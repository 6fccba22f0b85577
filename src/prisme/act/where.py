"""``--where``: a small, safe expression language over the columns of ``customer_360``.

A target list is chosen with a condition an analyst writes on the command line, e.g.::

    rfm_segment in ('champions', 'loyal') and clv_12m >= 200 and not country = 'GB'
    churn_probability > 0.6 or (p_alive < 0.3 and orders >= 2)

The text is parsed here into an Ibis expression — never pasted into SQL — so it can name
only the columns the table declares, compare them with literals, and combine comparisons
with ``and`` / ``or`` / ``not`` and parentheses. Supported: ``= == != <> < <= > >=``,
``in (…)``, ``not in (…)``, ``between … and …``, ``is null``, ``is not null``,
``like 'pat%'``; literals are numbers, quoted text ('…' or "…", a quote doubled inside),
``true``, ``false``. A date or timestamp column compares with a quoted ISO date.
Anything else is an error that says at which column of the text and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir


class WhereError(ValueError):
    """A ``--where`` text that cannot be used; the message says where and what was expected."""


@dataclass(frozen=True)
class _Tok:
    kind: str  # name, number, string, op, lpar, rpar, comma, end
    text: str
    pos: int  # 1-based column in the text


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<op><=|>=|<>|!=|==|=|<|>)
  | (?P<lpar>\()
  | (?P<rpar>\))
  | (?P<comma>,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)

_KEYWORDS = {"and", "or", "not", "in", "is", "null", "between", "like", "true", "false"}


def _tokens(text: str) -> list[_Tok]:
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            what = "unclosed quote" if text[i] in "'\"" else f"unexpected character {text[i]!r}"
            raise WhereError(f"--where, column {i + 1}: {what} in {text!r}")
        kind = m.lastgroup
        if kind != "ws":
            out.append(_Tok(kind, m.group(), i + 1))
        i = m.end()
    out.append(_Tok("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str, table: ir.Table) -> None:
        self.text = text
        self.table = table
        self.toks = _tokens(text)
        self.i = 0

    # ------------------------------------------------------------------ helpers
    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def _is_kw(self, word: str) -> bool:
        return self.tok.kind == "name" and self.tok.text.lower() == word

    def _fail(self, expected: str) -> WhereError:
        found = self.tok.text or "the end of the text"
        return WhereError(f"--where, column {self.tok.pos}: expected {expected}, "
                          f"found {found!r} (in {self.text!r})")

    def _take_kw(self, word: str) -> None:
        if not self._is_kw(word):
            raise self._fail(f"'{word}'")
        self.i += 1

    # ------------------------------------------------------------------ grammar
    def parse(self) -> ir.BooleanValue:
        expr = self._or()
        if self.tok.kind != "end":
            raise self._fail("'and', 'or' or the end of the condition")
        return expr

    def _or(self) -> ir.BooleanValue:
        left = self._and()
        while self._is_kw("or"):
            self.i += 1
            left = left | self._and()
        return left

    def _and(self) -> ir.BooleanValue:
        left = self._not()
        while self._is_kw("and"):
            self.i += 1
            left = left & self._not()
        return left

    def _not(self) -> ir.BooleanValue:
        if self._is_kw("not"):
            self.i += 1
            return ~self._not()
        return self._comparison()

    def _comparison(self) -> ir.BooleanValue:
        if self.tok.kind == "lpar":
            self.i += 1
            inner = self._or()
            if self.tok.kind != "rpar":
                raise self._fail("')'")
            self.i += 1
            return inner
        col = self._column()
        if self.tok.kind == "op":
            op = self.tok.text
            self.i += 1
            right = self._literal_for(col)
            return {"=": col == right, "==": col == right, "!=": col != right,
                    "<>": col != right, "<": col < right, "<=": col <= right,
                    ">": col > right, ">=": col >= right}[op]
        if self._is_kw("is"):
            self.i += 1
            negate = self._is_kw("not")
            if negate:
                self.i += 1
            self._take_kw("null")
            return col.notnull() if negate else col.isnull()
        negate = self._is_kw("not")
        if negate:
            self.i += 1
        if self._is_kw("in"):
            self.i += 1
            values = self._list_for(col)
            return col.notin(values) if negate else col.isin(values)
        if self._is_kw("between"):
            self.i += 1
            low = self._literal_for(col)
            self._take_kw("and")
            high = self._literal_for(col)
            out = col.between(low, high)
            return ~out if negate else out
        if self._is_kw("like"):
            self.i += 1
            if self.tok.kind != "string" or not col.type().is_string():
                raise self._fail("a quoted pattern after 'like' on a text column")
            out = col.like(self._string())
            return ~out if negate else out
        raise self._fail("a comparison (=, !=, <, <=, >, >=, in, between, like, is null)")

    def _column(self) -> ir.Value:
        tok = self.tok
        if tok.kind != "name" or tok.text.lower() in _KEYWORDS:
            raise self._fail("a column of customer_360")
        if tok.text not in self.table.columns:
            close = [c for c in self.table.columns if c.lower() == tok.text.lower()]
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise WhereError(
                f"--where, column {tok.pos}: unknown column {tok.text!r}; {hint}customer_360 "
                f"has: {', '.join(self.table.columns)}"
            )
        self.i += 1
        return self.table[tok.text]

    def _string(self) -> str:
        raw = self.tok.text
        self.i += 1
        quote = raw[0]
        return raw[1:-1].replace(quote * 2, quote)

    def _literal_for(self, col: ir.Value):
        tok, dtype = self.tok, col.type()
        if tok.kind == "number":
            if not dtype.is_numeric():
                raise self._fail(f"a quoted value for the {dtype} column {col.get_name()!r}")
            self.i += 1
            return float(tok.text) if re.search(r"[.eE]", tok.text) else int(tok.text)
        if tok.kind == "string":
            value = self._string()
            if dtype.is_temporal():
                try:
                    return ibis.literal(value).cast(dtype)
                except Exception as exc:  # pragma: no cover - ibis refuses the cast
                    raise WhereError(f"--where, column {tok.pos}: {value!r} is not a date") \
                        from exc
            if not dtype.is_string():
                raise WhereError(f"--where, column {tok.pos}: {col.get_name()!r} is "
                                 f"{dtype}, not text: write the value without quotes")
            return value
        if self._is_kw("true") or self._is_kw("false"):
            if not dtype.is_boolean():
                raise self._fail(f"a value for the {dtype} column {col.get_name()!r}")
            value = self.tok.text.lower() == "true"
            self.i += 1
            return value
        raise self._fail("a number, a quoted text, true or false")

    def _list_for(self, col: ir.Value) -> list:
        if self.tok.kind != "lpar":
            raise self._fail("'(' and a list of values")
        self.i += 1
        values = [self._literal_for(col)]
        while self.tok.kind == "comma":
            self.i += 1
            values.append(self._literal_for(col))
        if self.tok.kind != "rpar":
            raise self._fail("',' or ')'")
        self.i += 1
        return values


def parse_where(text: str, table: ir.Table) -> ir.BooleanValue:
    """The condition ``text`` as an Ibis boolean over ``table`` (see the module docstring)."""
    if not text or not text.strip():
        raise WhereError("--where is empty: give a condition, e.g. \"clv_12m > 100\"")
    return _Parser(text, table).parse()
