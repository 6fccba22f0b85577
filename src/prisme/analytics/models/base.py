"""Shared machinery of the customer-base probability models: fit, uncertainty, persistence.

Every model is fitted by maximum likelihood on the log of its parameters (so they stay
positive) with scipy, on the *unique* customer histories weighted by how many customers share
them. Models with an analytic Hessian (BG/NBD, Gamma-Gamma) are fitted by trust-region Newton
(``trust-exact``: a handful of likelihood passes, from a fit on a subset of the rows when there
are many); the others by L-BFGS-B then a few Newton steps on a numerical Hessian, so the optimum
is exact to the printed digits of the papers. Standard errors come from the Hessian of the
negative log-likelihood at the optimum (analytic or numerical, in log-parameter space, mapped to
the natural scale by the delta method, which is exact at a maximum). ``sample_params`` draws
parameter sets from that asymptotic normal so a CLV can carry an interval.

A fit never returns a silent wrong answer: an optimiser that stops away from a maximum, or a
parameter that runs off to zero or infinity, raises :class:`ConvergenceError` with the reason;
an optimum whose curvature cannot be inverted warns with :class:`ConvergenceWarning` and leaves
the standard errors as NaN.
"""

from __future__ import annotations

import abc
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize

#: a log-parameter beyond this bound means the parameter ran off to 0 or infinity
_LOG_BOUND = 18.0


class ConvergenceError(RuntimeError):
    """The likelihood maximisation did not reach a proper maximum (the message says why)."""


class ConvergenceWarning(UserWarning):
    """The fit reached a maximum but its uncertainty (Hessian) is not usable."""


@dataclass
class FitData:
    """Arrays a model's likelihood is evaluated on: unique rows and their customer counts."""

    columns: dict[str, np.ndarray]
    weights: np.ndarray
    extra: dict = field(default_factory=dict)

    @property
    def n_customers(self) -> float:
        return float(self.weights.sum())


# ----------------------------------------------------------------------------- validation
def _numeric_column(df: pd.DataFrame, col: str, model: str) -> np.ndarray:
    if col not in df.columns:
        raise ValueError(
            f"{model}: column {col!r} is missing; expected columns "
            f"frequency, recency, T (got {list(df.columns)})"
        )
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values)
    if bad.any():
        first = df.index[np.flatnonzero(bad)[0]]
        raise ValueError(
            f"{model}: column {col!r} has {int(bad.sum())} missing or non-numeric value(s) "
            f"(first at row {first!r}); fill or drop them before fitting"
        )
    if np.isinf(values).any():
        raise ValueError(f"{model}: column {col!r} has {int(np.isinf(values).sum())} infinite values")
    return values


def _rows_where(df: pd.DataFrame, mask: np.ndarray) -> str:
    idx = list(df.index[np.flatnonzero(mask)[:3]])
    return f"{int(mask.sum())} row(s), e.g. index {idx}"


def rfm_arrays(df: pd.DataFrame, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``frequency, recency, T`` arrays of a customer summary table.

    ``frequency`` is the number of repeat purchases, ``recency`` the time from the first to the
    last purchase and ``T`` the time from the first purchase to the end of observation, all in
    the same time unit; errors name the column and how many rows break the rule.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{model}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ValueError(f"{model}: the customer table is empty")
    x = _numeric_column(df, "frequency", model)
    t_x = _numeric_column(df, "recency", model)
    T = _numeric_column(df, "T", model)
    for name, values in (("frequency", x), ("recency", t_x), ("T", T)):
        if (values < 0).any():
            raise ValueError(f"{model}: column {name!r} is negative in {_rows_where(df, values < 0)}")
    if (x != np.round(x)).any():
        raise ValueError(
            f"{model}: 'frequency' must count repeat purchases (whole numbers); "
            f"{_rows_where(df, x != np.round(x))} are fractional"
        )
    if (T <= 0).any():
        raise ValueError(
            f"{model}: 'T' (time since first purchase) must be > 0; {_rows_where(df, T <= 0)}"
        )
    late = t_x > T * (1 + 1e-9) + 1e-12
    if late.any():
        raise ValueError(
            f"{model}: 'recency' exceeds 'T' (last purchase after the end of observation) in "
            f"{_rows_where(df, late)}"
        )
    stray = (x == 0) & (t_x > 0)
    if stray.any():
        raise ValueError(
            f"{model}: 'recency' must be 0 when 'frequency' is 0 (no repeat purchase); "
            f"{_rows_where(df, stray)} break this"
        )
    return x, np.minimum(t_x, T), T


def row_weights(df: pd.DataFrame, weights: str | None, model: str) -> np.ndarray:
    """Customer counts per row: the ``weights`` column when present, else one per row."""
    if weights is None or weights not in df.columns:
        return np.ones(len(df))
    w = _numeric_column(df, weights, model)
    if (w < 0).any():
        raise ValueError(f"{model}: column {weights!r} is negative in {_rows_where(df, w < 0)}")
    return w


def _factorize_indexed(*arrays: np.ndarray):
    """Unique rows of the given columns (in order of first appearance), each row's code, and
    per column its distinct values with the column code of each unique row (None when the
    combined key would overflow). Each column is hashed on its own (as the int64 bit pattern of
    its float values, -0.0 folded into 0.0: several times faster to hash than floats such as
    days / 7), the codes are combined in one int64 key, and the unique keys are decoded back
    into column codes (no sort). The columns must be free of NaN (the models validate them)."""
    arrays = tuple(np.asarray(a, dtype=float) + 0.0 for a in arrays)
    codes, uniques = zip(*(pd.factorize(a.view(np.int64), sort=False) for a in arrays),
                         strict=True)
    uniques = tuple(np.asarray(u, dtype=np.int64).view(np.float64) for u in uniques)
    sizes = [max(len(u), 1) for u in uniques]
    if float(np.prod(np.array(sizes, dtype=float))) >= 2**62:  # pragma: no cover - ~4e18 combos
        frame = pd.DataFrame({i: a for i, a in enumerate(arrays)})
        row_codes = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
        row_codes, _ = pd.factorize(row_codes, sort=False)
        first = np.unique(row_codes, return_index=True)[1]
        return [np.asarray(a)[first].astype(float) for a in arrays], row_codes, None
    key, span = np.zeros(len(arrays[0]), dtype=np.int64), 1
    for c, size in zip(codes, sizes, strict=True):
        key += c.astype(np.int64) * span
        span *= size
    row_codes, unique_keys = pd.factorize(key, sort=False)
    index, rest = [], np.asarray(unique_keys, dtype=np.int64)
    for u, size in zip(uniques, sizes, strict=True):
        index.append((np.asarray(u, dtype=float), rest % size))
        rest = rest // size
    return [u[c] for u, c in index], row_codes, index


def factorize_rows(*arrays: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the given columns (in order of first appearance) and each row's code."""
    uniq, row_codes, _ = _factorize_indexed(*arrays)
    return uniq, row_codes


def group_unique(columns: dict[str, np.ndarray], weights: np.ndarray) -> FitData:
    """Collapse identical rows into one with the summed weight (a million customers cost what
    their distinct histories cost). Keeps each column's (distinct values, row index) for
    :func:`index_columns` when no row was dropped."""
    uniq, codes, index = _factorize_indexed(*columns.values())
    summed = np.bincount(codes, weights=weights, minlength=len(uniq[0]))
    keep = summed > 0
    if keep.all():
        cols = dict(zip(columns, uniq, strict=True))
        extra = {} if index is None else {"_index": dict(zip(columns, index, strict=True))}
        return FitData(columns=cols, weights=summed, extra=extra)
    cols = {name: u[keep] for name, u in zip(columns, uniq, strict=True)}
    return FitData(columns=cols, weights=summed[keep])



def unique_histories(df: pd.DataFrame, weights: str | None, model: str) -> FitData:
    """A (frequency, recency, T) table → its unique histories with customer counts, the rows
    the BG/NBD and Pareto/NBD likelihoods are summed over."""
    x, t_x, T = rfm_arrays(df, model)
    return group_unique({"x": x, "t_x": t_x, "T": T}, row_weights(df, weights, model))

def index_columns(data: FitData, names) -> None:
    """Store (distinct values, row index) of each named column in ``data.extra``, so functions
    of one column are evaluated once per distinct value."""
    known = data.extra.get("_index", {})
    for name in names:
        if name in known:
            data.extra[name] = known[name]
        else:
            (uniq,), codes = factorize_rows(data.columns[name])
            data.extra[name] = (uniq, codes)


# ----------------------------------------------------------------------------- numerics
def wdot(a, b) -> float:
    """Sum of a * b for 1-D arrays. Not np.dot: multi-threaded BLAS spins badly when the cores
    are busy (measured 600x slower on a loaded 2-core machine); einsum stays in numpy."""
    return float(np.einsum("i,i->", np.asarray(a, dtype=float), np.asarray(b, dtype=float)))


def log1pexp(d: np.ndarray) -> np.ndarray:
    """log(1 + e^d) without underflow: terms below e^-60 (< 1e-26) are held at e^-60, because
    numbers that underflow to subnormals cost this CPU ~200x per operation."""
    return np.maximum(d, 0.0) + np.log1p(np.exp(-np.minimum(np.abs(d), 60.0)))


def log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 - e^d) for d <= 0, with e^d held at >= e^-60 for the same reason."""
    return np.log(-np.expm1(np.clip(d, -60.0, -1e-300)))


def _num_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.empty_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _hessian(f, grad, x: np.ndarray) -> np.ndarray:
    """Symmetric numerical Hessian: differences of the gradient when one is given, else of f."""
    k = len(x)
    H = np.empty((k, k))
    if grad is not None:
        h = 1e-5
        for i in range(k):
            e = np.zeros(k)
            e[i] = h
            H[:, i] = (grad(x + e) - grad(x - e)) / (2 * h)
    else:
        h = 1e-3
        f0 = f(x)
        for i in range(k):
            for j in range(i, k):
                ei = np.zeros(k)
                ej = np.zeros(k)
                ei[i] = h
                ej[j] = h
                if i == j:
                    H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h**2
                else:
                    H[i, j] = (
                        f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
                    ) / (4 * h * h)
                    H[j, i] = H[i, j]
    return (H + H.T) / 2


# ----------------------------------------------------------------------------- base model
def check_fit_table(x: np.ndarray, w: np.ndarray, model: str, n_params: int) -> None:
    """Refuse data a purchase-and-dropout model cannot learn from, saying why."""
    n = float(w.sum())
    if n <= n_params:
        raise ValueError(
            f"{model}: {n:g} customer(s) cannot identify {n_params} population parameters; "
            "fit on the whole customer base (hundreds of customers or more)"
        )
    if not np.any((x > 0) & (w > 0)):
        raise ValueError(
            f"{model}: no repeat buyer (frequency is 0 in all {n:g} customers): purchase rate "
            "and dropout cannot be told apart; check the time window or the frequency column"
        )


class ProbabilityModel(abc.ABC):
    """Base of BetaGeo, ParetoNBD, GammaGamma, BetaGeoBetaBinom and ShiftedBetaGeo.

    Subclasses define ``param_names``, ``_prepare(df) -> FitData``, ``_start(data)`` (natural
    parameters) and ``_loglik_rows(params, data)`` (log-likelihood per unique row); they may
    define ``_loglik_grad(params, data)`` returning the weighted total log-likelihood and its
    gradient in the natural parameters, and ``_loglik_hess(params, data)`` adding the Hessian.
    """

    param_names: tuple[str, ...] = ()

    def __init__(self, penalizer_coef: float = 0.0):
        self.penalizer_coef = float(penalizer_coef)

    # -- each model supplies these (a subclass lacking one cannot be instantiated)
    @abc.abstractmethod
    def _prepare(self, df) -> FitData:
        """The model's input table → unique rows with counts (:class:`FitData`)."""

    @abc.abstractmethod
    def _start(self, data: FitData) -> np.ndarray:
        """Starting values of the natural parameters for the optimiser."""

    @abc.abstractmethod
    def _loglik_rows(self, params: np.ndarray, data: FitData) -> np.ndarray:
        """Log-likelihood of each unique row at ``params`` (the paper's equation)."""

    _loglik_grad = None
    #: False when the gradient is partly numerical: standard errors then come from differences
    #: of the likelihood itself, which are more accurate than differences of that gradient
    _hessian_from_gradient = True

    # -- likelihood on the log scale
    def _total_loglik(self, params: np.ndarray, data: FitData) -> float:
        with np.errstate(all="ignore"):
            ll = wdot(data.weights, self._loglik_rows(params, data))
        return ll if np.isfinite(ll) else -np.inf

    def _objective(self, data: FitData):
        """Mean negative log-likelihood (+ L2 penalty) in log-parameters, with its gradient."""
        n = data.n_customers
        pen = self.penalizer_coef

        def f(theta):
            p = np.exp(theta)
            ll = self._total_loglik(p, data)
            if not np.isfinite(ll):
                return 1e100
            return -ll / n + pen * float(np.sum(p**2))

        def fg_numeric(theta):
            """Value and forward-difference gradient (half the cost of central differences;
            the Newton polish that follows uses central ones)."""
            f0 = f(theta)
            grad = np.empty_like(theta)
            for i in range(len(theta)):
                step = np.zeros_like(theta)
                step[i] = 1e-7
                grad[i] = (f(theta + step) - f0) / 1e-7
            return f0, grad

        if self._loglik_grad is None:
            return f, (lambda theta: _num_grad(f, theta)), fg_numeric

        def fg(theta):
            p = np.exp(theta)
            with np.errstate(all="ignore"):
                ll, gr = self._loglik_grad(p, data)
            if not np.isfinite(ll) or not np.all(np.isfinite(gr)):
                return 1e100, np.zeros_like(theta)
            value = -ll / n + pen * float(np.sum(p**2))
            return value, (-gr / n + 2 * pen * p) * p

        return f, (lambda theta: fg(theta)[1]), fg

    #: models with an analytic Hessian define ``_loglik_hess(params, data)`` returning the
    #: weighted log-likelihood, its gradient and its Hessian in the natural parameters
    _loglik_hess = None

    def _objective_hess(self, data: FitData):
        """Mean negative log-likelihood (+ L2 penalty) in log-parameters with its gradient and
        Hessian (chain rule through p = e^theta), remembering the last point evaluated."""
        n, pen = data.n_customers, self.penalizer_coef
        last: dict = {}

        def fgh(theta):
            key = theta.tobytes()
            if last.get("key") != key:
                p = np.exp(theta)
                with np.errstate(all="ignore"):
                    ll, gr, hs = self._loglik_hess(p, data)
                if not (np.isfinite(ll) and np.all(np.isfinite(gr)) and np.all(np.isfinite(hs))):
                    k = len(theta)
                    out = (1e100, np.zeros(k), np.eye(k))
                else:
                    grad = (-gr / n + 2 * pen * p) * p
                    hess = (-hs / n + 2 * pen * np.eye(len(p))) * np.outer(p, p) + np.diag(grad)
                    out = (-ll / n + pen * float(np.sum(p**2)), grad, (hess + hess.T) / 2)
                last.update(key=key, out=out)
            return last["out"]

        return fgh

    def _fit_exact(self, data: FitData) -> bool:
        """Trust-region Newton with the analytic Hessian (a handful of likelihood passes, and
        the standard errors come from the same exact Hessian). False when it does not reach a
        maximum, so the general path takes over."""
        theta0, _ = self._warm_start(data)
        fgh = self._objective_hess(data)
        res = minimize(lambda t: fgh(t)[0], theta0, jac=lambda t: fgh(t)[1],
                       hess=lambda t: fgh(t)[2], method="trust-exact",
                       options={"maxiter": 200, "gtol": 1e-11})
        theta = res.x
        value, grad, hess = fgh(theta)
        # trust-exact stops when the mean log-likelihood no longer changes in its last digits;
        # plain Newton steps finish the quadratic convergence on the gradient
        for _ in range(3):
            if np.max(np.abs(grad)) < 1e-11 or np.any(np.linalg.eigvalsh(hess) <= 0):
                break
            cand = theta - np.linalg.solve(hess, grad)
            v2, g2, h2 = fgh(cand)
            if not (v2 <= value + 1e-12 and np.max(np.abs(g2)) < np.max(np.abs(grad))):
                break
            theta, value, grad, hess = cand, v2, g2, h2
        if not np.isfinite(value) or value >= 1e99 or np.max(np.abs(grad)) >= 1e-9:
            return False
        self._check_converged(theta, lambda t: value, lambda t: grad, self.param_names)
        self._set_fit(theta, data, self.param_names, hess)
        return True

    def _fit_frame(self, df: pd.DataFrame, weights: str | None) -> ProbabilityModel:
        """The fit shared by the purchase-and-dropout models: unique rows, a check that they
        can identify the parameters, then maximum likelihood."""
        data = self._prepare(df, weights)
        check_fit_table(data.columns["x"], data.weights, type(self).__name__,
                        len(self.param_names))
        return self._fit_data(data)

    def _fit_data(self, data: FitData) -> ProbabilityModel:
        if self._loglik_hess is not None and self._fit_exact(data):
            return self
        names = self.param_names
        f, g, fg = self._objective(data)
        theta0, warm = self._warm_start(data)
        analytic = g if self._loglik_grad is not None else None
        if warm:  # close to the optimum already: Newton steps on the full data suffice
            theta, H = self._newton_polish(f, analytic, g, theta0)
            if np.max(np.abs(g(theta))) < 1e-9:
                self._check_converged(theta, f, g, names)
                self._set_fit(theta, data, names, H)
                return self
        best = None
        for method in ("L-BFGS-B", "Nelder-Mead"):
            start = theta0 if best is None else best.x
            opts = {"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10} if method == "L-BFGS-B" else {
                "maxiter": 2000, "xatol": 1e-10, "fatol": 1e-14}
            if method == "L-BFGS-B":
                res = minimize(fg, start, jac=True, method=method, options=opts)
            else:
                res = minimize(f, start, method=method, options=opts)
            if best is None or res.fun < best.fun:
                best = res
            if np.max(np.abs(g(best.x))) < 1e-7:
                break
            if np.any(np.abs(best.x) > _LOG_BOUND) or np.max(np.abs(g(best.x))) < 1e-4:
                # near a maximum the Newton polish below finishes the job; a parameter that
                # ran off has no interior maximum for Nelder-Mead to find (and far out the
                # likelihood can be slow to evaluate): the check below says so
                break
        theta, H = self._newton_polish(f, analytic, g, best.x)
        self._check_converged(theta, f, g, names)
        self._set_fit(theta, data, names, H)
        return self

    #: above this many distinct rows, start from the fit on a random subset of them
    _warm_rows = 40_000

    def _warm_start(self, data: FitData) -> tuple[np.ndarray, bool]:
        """Log start values: the model's own guess, refined on a random subset of the distinct
        rows when there are many (the full-data optimiser then needs only a few steps)."""
        theta0 = np.log(self._start(data))
        n_rows = len(data.weights)
        if self._loglik_grad is None or n_rows <= self._warm_rows or data.extra.get("subset"):
            return theta0, False
        pick = np.sort(np.random.default_rng(0).choice(n_rows, self._warm_rows, replace=False))
        sub = self._subset(data, pick)
        if sub is None:
            return theta0, False
        f, _, fg = self._objective(sub)
        if self._loglik_hess is not None:
            fgh = self._objective_hess(sub)
            res = minimize(lambda t: fgh(t)[0], theta0, jac=lambda t: fgh(t)[1],
                           hess=lambda t: fgh(t)[2], method="trust-exact",
                           options={"maxiter": 200, "gtol": 1e-8})
        else:
            res = minimize(fg, theta0, jac=True, method="L-BFGS-B",
                           options={"maxiter": 500, "ftol": 1e-12, "gtol": 1e-8})
        if np.all(np.isfinite(res.x)) and res.fun < f(theta0) and np.all(np.abs(res.x) < 9):
            return res.x, True
        return theta0, False

    def _subset(self, data: FitData, pick: np.ndarray) -> FitData | None:
        """The chosen distinct rows as fit data (None when a model does not support it)."""
        return None

    @staticmethod
    def _newton_polish(f, analytic_g, g, theta: np.ndarray):
        """Damped Newton steps on one numerical Hessian (refreshed when a step fails): the
        optimum to ~1e-10 whatever the optimiser's own tolerance. Returns the optimum and the
        Hessian when the last step was negligible (so it is the Hessian at the optimum)."""
        H, fresh, h_at = None, False, theta
        for _ in range(12):
            grad = g(theta)
            if np.max(np.abs(grad)) < 1e-10:
                break
            if H is None:
                H, fresh, h_at = _hessian(f, analytic_g, theta), True, theta
                if not np.all(np.isfinite(H)) or np.any(np.linalg.eigvalsh(H) <= 0):
                    return theta, None
            step = np.linalg.solve(H, grad)
            f0 = f(theta)
            for damp in (1.0, 0.5, 0.25, 0.1):
                cand = theta - damp * step
                if f(cand) <= f0 + 1e-15:
                    theta, fresh = cand, False
                    break
            else:
                if fresh:
                    break
                H = None
        # the Hessian serves the standard errors only if taken (almost) at the optimum
        return theta, (H if H is not None and np.max(np.abs(theta - h_at)) < 1e-6 else None)

    def _check_converged(self, theta, f, g, names) -> None:
        off = np.abs(theta) > _LOG_BOUND
        if off.any() or not np.isfinite(f(theta)) or f(theta) >= 1e99:
            bad = [f"{n}={np.exp(t):.3g}" for n, t, o in zip(names, theta, off, strict=True) if o]
            raise ConvergenceError(
                f"{type(self).__name__}: the likelihood has no interior maximum: "
                f"{', '.join(bad) or 'likelihood not finite'} ran off towards 0 or infinity. "
                "The data do not identify the model (e.g. no sign of customers dropping out, "
                "or too few customers); try penalizer_coef > 0 or more data."
            )
        grad = np.max(np.abs(g(theta)))
        if not np.isfinite(grad) or grad > 1e-4:
            raise ConvergenceError(
                f"{type(self).__name__}: the optimiser stopped with gradient {grad:.2g} on the "
                "mean log-likelihood (not a maximum); the data may be degenerate or badly scaled"
            )

    def _set_fit(self, theta: np.ndarray, data: FitData, names, H=None) -> None:
        n = data.n_customers
        if H is None or not self._hessian_from_gradient:
            f, g, _ = self._objective(data)
            use_g = self._loglik_grad is not None and self._hessian_from_gradient
            H = _hessian(f, g if use_g else None, theta)
        H = H * n
        self.params_ = {k: float(v) for k, v in zip(names, np.exp(theta), strict=True)}
        self.log_likelihood_ = self._total_loglik(np.exp(theta), data)
        self.n_customers_ = n
        self.n_unique_rows_ = len(data.weights)
        cov = np.full((len(names), len(names)), np.nan)
        try:
            if np.all(np.linalg.eigvalsh(H) > 0):
                cov = np.linalg.inv(H)
            else:
                raise np.linalg.LinAlgError("not positive definite")
        except np.linalg.LinAlgError:
            far = np.abs(theta) > 9.0  # beyond ~8100 or below ~1e-4 with a flat likelihood
            if far.any():
                bad = [f"{k}={np.exp(t):.3g}" for k, t, o in zip(names, theta, far, strict=True)
                       if o]
                raise ConvergenceError(
                    f"{type(self).__name__}: the likelihood is flat while {', '.join(bad)} ran "
                    "off towards 0 or infinity: the data do not identify the model (e.g. no sign "
                    "of customers dropping out); try penalizer_coef > 0 or more data"
                ) from None
            warnings.warn(
                f"{type(self).__name__}: the Hessian at the optimum is not positive definite, "
                "so the parameters are weakly identified; standard errors are NaN",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.log_covariance_ = cov
        p = np.exp(theta)
        self.covariance_ = cov * np.outer(p, p)
        se = np.sqrt(np.diag(self.covariance_))
        self.standard_errors_ = {k: float(v) for k, v in zip(names, se, strict=True)}

    # -- results
    def score_log_likelihood(self, data) -> float:
        """Total log-likelihood of ``data`` (same input as ``fit``) under the current parameters,
        e.g. to compare a fit with published values."""
        self._check_fitted()
        return self._total_loglik(np.array(self._p()), self._prepare(data))

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet: call fit(df) first")

    def _p(self) -> tuple[float, ...]:
        self._check_fitted()
        return tuple(self.params_[k] for k in self.param_names)

    def summary(self) -> pd.DataFrame:
        """param, estimate, se, lower95, upper95 (interval on the log scale, so it stays > 0)."""
        self._check_fitted()
        est = np.array(self._p())
        se_log = np.sqrt(np.diag(self.log_covariance_))
        return pd.DataFrame({
            "param": list(self.param_names),
            "estimate": est,
            "se": [self.standard_errors_[k] for k in self.param_names],
            "lower95": est * np.exp(-1.959964 * se_log),
            "upper95": est * np.exp(1.959964 * se_log),
        })

    def sample_params(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """``n`` parameter draws from the asymptotic normal of the log-parameters (covariance =
        inverse Hessian), one column per parameter: propagate them to get intervals."""
        self._check_fitted()
        if not np.all(np.isfinite(self.log_covariance_)):
            raise ValueError(f"{type(self).__name__}: no usable covariance to sample from")
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(np.log(self._p()), self.log_covariance_, size=n)
        return pd.DataFrame(np.exp(draws), columns=list(self.param_names))

    def with_params(self, **params: float) -> ProbabilityModel:
        """A copy of this model carrying other parameter values (e.g. one ``sample_params``
        draw), for predictions."""
        missing = set(self.param_names) - set(params)
        if missing:
            raise ValueError(f"{type(self).__name__}.with_params: missing {sorted(missing)}")
        clone = type(self)(penalizer_coef=self.penalizer_coef)
        clone.params_ = {k: float(params[k]) for k in self.param_names}
        return clone

    def save(self, path: str | Path) -> None:
        """Write the fitted model as JSON (parameters, log-likelihood, covariance)."""
        self._check_fitted()
        payload = {
            "model": type(self).__name__,
            "penalizer_coef": self.penalizer_coef,
            "params": self.params_,
            "log_likelihood": getattr(self, "log_likelihood_", None),
            "n_customers": getattr(self, "n_customers_", None),
            "log_covariance": np.asarray(
                getattr(self, "log_covariance_", np.full((len(self.param_names),) * 2, np.nan))
            ).tolist(),
        }
        Path(path).write_text(json.dumps(payload, indent=2, allow_nan=True))

    @classmethod
    def load(cls, path: str | Path) -> ProbabilityModel:
        """Read a model written by :meth:`save`."""
        payload = json.loads(Path(path).read_text())
        if payload.get("model") != cls.__name__:
            raise ValueError(f"{path}: holds a {payload.get('model')!r} model, not {cls.__name__}")
        model = cls(penalizer_coef=payload.get("penalizer_coef", 0.0))
        model.params_ = {k: float(payload["params"][k]) for k in cls.param_names}
        model.log_likelihood_ = payload.get("log_likelihood")
        model.n_customers_ = payload.get("n_customers")
        cov = np.array(payload["log_covariance"], dtype=float)
        model.log_covariance_ = cov
        p = np.array(model._p())
        model.covariance_ = cov * np.outer(p, p)
        model.standard_errors_ = {
            k: float(v) for k, v in zip(cls.param_names, np.sqrt(np.diag(model.covariance_)),
                                        strict=True)
        }
        return model

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}(penalizer_coef={self.penalizer_coef})"
        inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({inner})"
