"""The purchase / drop-out process behind the demo's transactions (the BG/NBD story).

Fader, Hardie & Lee (2005), "Counting your customers the easy way", §2:

* while active, a customer buys as a Poisson process of rate λ (per week);
  λ ~ Gamma(r, α) across customers (shape r, rate α, so E[λ] = r/α);
* after each *repeat* purchase, the customer drops out with probability p;
  p ~ Beta(a, b) across customers (E[p] = a/(a+b)).

Each person makes a first purchase at their acquisition time t0 (uniform over the history),
then repeat purchases until drop-out or "today". Seasonality (a yearly wave peaking before
Christmas and a weekly profile) is applied by *thinning*: candidates are drawn at rate
λ·m_max and kept with probability m(t)/m_max, where m averages 1 over a year, so the long-run
rate is still λ.

Satisfaction drives churn through a Gaussian copula: each person has a latent satisfaction
z ~ N(0, 1) (the surveys measure it) and p = F⁻¹_Beta(a,b)(Φ(−ρ·z + √(1−ρ²)·ε)). The marginal of
p is exactly Beta(a, b), so the BG/NBD parameters stay recoverable, and a low z raises p.
Paying late is the second, weaker driver: each person has a latent payment lateness
w ~ N(0, 1), independent of z (it sets how late they pay their invoices, see
:func:`prisme.demo.sales.payment_days`), and the copula becomes
p = F⁻¹(Φ(−ρ·z + κ·w + √(1−ρ²−κ²)·ε)) — the marginal of p is still Beta(a, b); a high w
(a late payer) raises p, as a low z does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

WEEKDAY_PROFILE = np.array([0.85, 0.9, 0.95, 1.0, 1.15, 1.35, 0.8])  # Monday … Sunday
YEARLY_AMPLITUDE = 0.3
YEARLY_PEAK_DOY = 344  # 10 December


@dataclass(frozen=True)
class ProcessParams:
    r: float = 0.75
    alpha: float = 6.0  # weeks: E[λ] = r/α = 0.125 purchases a week
    a: float = 0.8
    b: float = 3.2
    satisfaction_rho: float = 0.5
    #: weight κ of the payment lateness w in the drop-out copula (late payers leave sooner)
    lateness_kappa: float = 0.3
    history_days: int = 3 * 365

    def to_dict(self) -> dict:
        return asdict(self)


def weekday_weights() -> np.ndarray:
    return WEEKDAY_PROFILE / WEEKDAY_PROFILE.mean()


def seasonality(day_number: np.ndarray) -> np.ndarray:
    """m(t): the intensity multiplier on a day counted from 1970-01-01 (averages 1)."""
    d = np.floor(day_number).astype(np.int64)
    dates = d.astype("datetime64[D]")
    doy = (dates - dates.astype("datetime64[Y]")).astype(np.int64)
    yearly = 1 + YEARLY_AMPLITUDE * np.cos(2 * np.pi * (doy - YEARLY_PEAK_DOY) / 365.25)
    dow = (d + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return yearly * weekday_weights()[dow]


def seasonality_max() -> float:
    return (1 + YEARLY_AMPLITUDE) * weekday_weights().max()


@dataclass
class Purchases:
    """Per person: parameters and fate; per purchase: person and time (days since epoch)."""

    lam: np.ndarray  #: per week
    p: np.ndarray
    z: np.ndarray  #: latent satisfaction
    lateness: np.ndarray  #: latent payment lateness w (N(0, 1); high = pays late)
    t0: np.ndarray  #: acquisition (first purchase) time, days since 1970-01-01
    alive: np.ndarray
    dropout_at: np.ndarray  #: time of the purchase after which the person left (NaN if alive)
    n_repeat: np.ndarray
    buyer: np.ndarray  #: person index of each purchase (first purchases included)
    at: np.ndarray  #: time of each purchase, days since 1970-01-01, sorted within a person
    is_first: np.ndarray


def simulate(rng: np.random.Generator, n: int, params: ProcessParams, start_day: float,
             end_day: float) -> Purchases:
    """Draw λ, p, t0 and every purchase time of ``n`` persons over [start_day, end_day)."""
    lam = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    z = rng.standard_normal(n)
    rho, kappa = params.satisfaction_rho, params.lateness_kappa
    # w from a child stream: the main stream (and every draw after this one) is unchanged.
    # Drawn negated: the copula once had −κ·w (late payers stayed longer); with +κ·w and −w
    # every person keeps the drop-out probability p, and so the purchases, of that version
    w = -rng.spawn(1)[0].standard_normal(n)
    u = stats.norm.cdf(-rho * z + kappa * w
                       + np.sqrt(1 - rho**2 - kappa**2) * rng.standard_normal(n))
    p = stats.beta.ppf(u, params.a, params.b)
    p = np.clip(p, 1e-9, 1 - 1e-9)
    t0 = start_day + rng.uniform(0, end_day - start_day - 1, size=n)
    t0 = np.floor(t0) + _time_of_day(rng, n)

    m_max = seasonality_max()
    horizon = end_day - t0
    k = rng.poisson(lam / 7.0 * m_max * horizon)
    who = np.repeat(np.arange(n), k)
    at = t0[who] + rng.uniform(0, 1, size=len(who)) * horizon[who]
    keep = rng.uniform(0, m_max, size=len(who)) < seasonality(at)
    who, at = who[keep], at[keep]
    order = np.lexsort((at, who))
    who, at = who[order], at[order]
    counts = np.bincount(who, minlength=n)
    first_pos = np.cumsum(counts) - counts
    rank = np.arange(len(who)) - first_pos[who]
    n_drop = rng.geometric(p)  # repeat purchases until (and including) the one before leaving
    kept = rank < n_drop[who]
    who, at = who[kept], at[kept]
    n_repeat = np.minimum(counts, n_drop)
    alive = counts < n_drop
    last = np.full(n, np.nan)
    last[who] = at  # sorted: the last write is each person's last repeat purchase
    dropout_at = np.where(alive, np.nan, last)

    buyer = np.concatenate([np.arange(n), who])
    times = np.concatenate([t0, at])
    first = np.concatenate([np.ones(n, bool), np.zeros(len(who), bool)])
    order = np.lexsort((times, buyer))
    return Purchases(lam, p, z, w, t0, alive, dropout_at, n_repeat, buyer[order], times[order],
                     first[order])


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fractions of a day between 09:00 and 20:00, to the minute."""
    return np.round(rng.uniform(9 / 24, 20 / 24, size=n) * 1440) / 1440


def alive_at(purchases: Purchases, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether each person had been acquired and not yet dropped out at ``day``."""
    d = purchases.dropout_at[person]
    return (purchases.t0[person] <= day) & (np.isnan(d) | (d > day))
