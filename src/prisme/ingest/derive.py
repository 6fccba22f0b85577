"""Derived columns declared in ``prisme.toml`` (``[sources.X.derive]``), compiled to Ibis.

A derived column is declared, not coded::

    [sources.shop_orders.derive]
    revenue = "quantity * unit_price"
    is_return = "order_id startswith 'C' or quantity < 0"

The expression language is a small, safe subset of Python parsed with :mod:`ast` (never
``eval``): column names, numbers, strings, ``True/False/None``, ``+ - * /``, comparisons
(``== != < <= > >= in``, ``is None``), ``and / or / not``, ``a if cond else b`` and a few
functions — ``startswith``, ``endswith``, ``contains`` (also written infix:
``order_id startswith 'C'`` or as a method: ``order_id.startswith('C')``), ``lower``, ``upper``,
``strip``, ``length``, ``coalesce``, ``abs``, ``round``, ``isnull``, ``notnull``.
Anything else is refused with a message naming the source, the column and what is allowed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


class DeriveError(ValueError):
    """A derive expression that cannot be used; the message says where and why."""


_INFIX = re.compile(
    r"""([A-Za-z_][\w.]*)\s+(startswith|endswith|contains)\s+('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
)

_FUNCTIONS = {
    "startswith": 2,
    "endswith": 2,
    "contains": 2,
    "lower": 1,
    "upper": 1,
    "strip": 1,
    "length": 1,
    "abs": 1,
    "isnull": 1,
    "notnull": 1,
    "round": (1, 2),
    "coalesce": None,  # any number >= 1
}


def _rewrite_infix(text: str) -> str:
    """``x startswith 'C'`` → ``startswith(x, 'C')`` (the form the settings docs use)."""
    return _INFIX.sub(lambda m: f"{m.group(2)}({m.group(1)}, {m.group(3)})", text)


def parse(text: str, *, where: str = "derive") -> ast.expr:
    """Parse and check an expression; raises :class:`DeriveError` on anything not allowed."""
    try:
        tree = ast.parse(_rewrite_infix(text.strip()), mode="eval")
    except SyntaxError as exc:
        raise DeriveError(f"{where}: {text!r} is not a valid expression ({exc.msg})") from None
    for node in ast.walk(tree):
        _check_node(node, text, where)
    return tree.body


_ALLOWED_NODES = (
    ast.Expression, ast.Name, ast.Load, ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp,
    ast.Compare, ast.Call, ast.IfExp, ast.Attribute, ast.List, ast.Tuple,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)


def _check_node(node: ast.AST, text: str, where: str) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise DeriveError(
            f"{where}: {text!r} uses {type(node).__name__}, which derive expressions do not "
            "allow (names, numbers, strings, + - * /, comparisons, and/or/not, "
            f"if/else and the functions {', '.join(sorted(_FUNCTIONS))})"
        )
    if isinstance(node, ast.Call):
        name = _call_name(node)
        if name not in _FUNCTIONS:
            raise DeriveError(
                f"{where}: {text!r} calls {name!r}; allowed functions: "
                f"{', '.join(sorted(_FUNCTIONS))}"
            )
        if node.keywords:
            raise DeriveError(f"{where}: {text!r}: functions take no keyword arguments")
    if isinstance(node, ast.Attribute) and node.attr not in _FUNCTIONS:
        raise DeriveError(f"{where}: {text!r}: '.{node.attr}' is not allowed")
    if isinstance(node, ast.Constant) and not isinstance(
        node.value, (int, float, str, bool, type(None))
    ):
        raise DeriveError(f"{where}: {text!r}: constant {node.value!r} is not allowed")


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return "?"


def names_used(text: str) -> set[str]:
    """The column names an expression reads."""
    tree = parse(text)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCTIONS}


def numeric_names(text: str) -> set[str]:
    """Names used as numbers (operands of + - * / or compared with a number)."""
    tree = parse(text)
    out: set[str] = set()

    def operand_names(n: ast.AST) -> None:
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.UnaryOp):
            operand_names(n.operand)

    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            operand_names(node.left)
            operand_names(node.right)
        elif isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            if any(isinstance(p, ast.Constant) and isinstance(p.value, (int, float))
                   and not isinstance(p.value, bool) for p in parts):
                for p in parts:
                    operand_names(p)
        elif isinstance(node, ast.Call) and _call_name(node) in ("abs", "round"):
            for a in node.args[:1]:
                operand_names(a)
    return out


Resolver = Callable[[str], ir.Value]


def compile_expr(text: str, resolve: Resolver, *, where: str = "derive") -> ir.Value:
    """Compile ``text`` to an Ibis value; ``resolve(name)`` gives the column for a name."""
    return _Compiler(resolve, text, where).visit(parse(text, where=where))


class _Compiler:
    def __init__(self, resolve: Resolver, text: str, where: str) -> None:
        self.resolve, self.text, self.where = resolve, text, where

    def fail(self, msg: str) -> DeriveError:
        return DeriveError(f"{self.where}: {self.text!r}: {msg}")

    def visit(self, node: ast.expr) -> ir.Value:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise self.fail(f"{type(node).__name__} is not allowed")
        return method(node)

    def _Name(self, node: ast.Name) -> ir.Value:
        try:
            return self.resolve(node.id)
        except KeyError as exc:
            msg = str(exc.args[0]) if exc.args else f"unknown column {node.id!r}"
            raise self.fail(msg) from None

    def _Constant(self, node: ast.Constant) -> ir.Value:
        if node.value is None:
            return ibis.null()
        return ibis.literal(node.value)

    def _BinOp(self, node: ast.BinOp) -> ir.Value:
        left, right = _align_numbers(self.visit(node.left), self.visit(node.right))
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            if left.type().is_decimal() and right.type().is_decimal():
                # exact, and wide enough not to overflow; the product's scale is the sum of
                # the scales (SQL), said to Ibis too, which would assume the larger one
                scale = min(38, (left.type().scale or 0) + (right.type().scale or 0))
                left = left.cast(dt.Decimal(38, left.type().scale))
                right = right.cast(dt.Decimal(38, right.type().scale))
                return (left * right).cast(dt.Decimal(38, scale))
            return left * right
        if isinstance(node.op, ast.Div):
            return left.cast(dt.float64) / right.cast(dt.float64)
        raise self.fail(f"operator {type(node.op).__name__} is not allowed")

    def _UnaryOp(self, node: ast.UnaryOp) -> ir.Value:
        v = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return v
        return ~v  # Not

    def _BoolOp(self, node: ast.BoolOp) -> ir.Value:
        values = [self.visit(v) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out

    def _Compare(self, node: ast.Compare) -> ir.Value:
        result = None
        left = self.visit(node.left)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                if not isinstance(comp, (ast.List, ast.Tuple)):
                    raise self.fail("'in' needs a list of values, e.g. channel in ['web', 'app']")
                values = [self.visit(e) for e in comp.elts]
                part = left.isin(values) if isinstance(op, ast.In) else left.notin(values)
                right = left
            elif isinstance(op, (ast.Is, ast.IsNot)):
                if not (isinstance(comp, ast.Constant) and comp.value is None):
                    raise self.fail("'is' is only allowed as 'is None' / 'is not None'")
                part = left.isnull() if isinstance(op, ast.Is) else left.notnull()
                right = left
            else:
                right = self.visit(comp)
                part = _compare(op, *_align_numbers(left, right))
            result = part if result is None else (result & part)
            left = right
        return result

    def _IfExp(self, node: ast.IfExp) -> ir.Value:
        then, other = _align_numbers(self.visit(node.body), self.visit(node.orelse))
        return ibis.ifelse(self.visit(node.test), then, other)

    def _Call(self, node: ast.Call) -> ir.Value:
        name = _call_name(node)
        args = [self.visit(a) for a in node.args]
        if isinstance(node.func, ast.Attribute):
            args = [self.visit(node.func.value), *args]
        arity = _FUNCTIONS[name]
        ok = (
            len(args) >= 1 if arity is None
            else len(args) in arity if isinstance(arity, tuple) else len(args) == arity
        )
        if not ok:
            raise self.fail(f"{name}() takes {arity} argument(s), got {len(args)}")
        return _apply(name, args)


def _compare(op: ast.cmpop, a: ir.Value, b: ir.Value) -> ir.BooleanValue:
    if isinstance(op, ast.Eq):
        return a == b
    if isinstance(op, ast.NotEq):
        return a != b
    if isinstance(op, ast.Lt):
        return a < b
    if isinstance(op, ast.LtE):
        return a <= b
    if isinstance(op, ast.Gt):
        return a > b
    return a >= b


def _apply(name: str, args: list[ir.Value]) -> ir.Value:
    a = args[0]
    if name in ("startswith", "endswith", "contains"):
        pattern = args[1]
        return {"startswith": a.startswith, "endswith": a.endswith,
                "contains": a.contains}[name](pattern)
    if name == "lower":
        return a.lower()
    if name == "upper":
        return a.upper()
    if name == "strip":
        return a.strip()
    if name == "length":
        return a.length()
    if name == "abs":
        return a.abs()
    if name == "isnull":
        return a.isnull()
    if name == "notnull":
        return a.notnull()
    if name == "round":
        digits = args[1].op().value if len(args) > 1 else 0
        return a.round(int(digits))
    # coalesce
    first, *rest = args
    aligned = [first]
    for r in rest:
        aligned[0], r2 = _align_numbers(aligned[0], r)
        aligned.append(r2)
    return ibis.coalesce(*aligned)


def _align_numbers(a: ir.Value, b: ir.Value) -> tuple[ir.Value, ir.Value]:
    """Money stays exact: a decimal combined with a float or integer makes both decimals."""
    ta, tb = a.type(), b.type()
    if ta.is_decimal() and (tb.is_floating() or tb.is_integer()):
        return a, b.cast(ta)
    if tb.is_decimal() and (ta.is_floating() or ta.is_integer()):
        return a.cast(tb), b
    return a, b
