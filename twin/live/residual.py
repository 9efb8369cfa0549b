"""Remaining life: draw what is left of a duration that has already run ``elapsed`` seconds.

A part observed ``elapsed`` seconds into a process step, a repair that began ``elapsed`` ago:
the time left is not a fresh draw of the duration's distribution but ``X - e`` given ``X > e``
(the residual life). With ``S`` the survival function of ``X``, the residual ``R = X - e`` has

    P(R > r) = S(e + r) / S(e),        E[R] = (1 / S(e)) * integral_e^inf S(x) dx

and is drawn exactly by inversion on the truncated law: ``v ~ U(0, 1)``, ``X = S^-1(v S(e))``.
:func:`frozen` maps every family of :mod:`twin.distributions` onto its ``scipy.stats`` law (the
twin's normal is truncated at 0, as its sampler is); Weibull, exponential, uniform, constant and
the empirical laws are inverted in closed form.

>>> import numpy as np
>>> from twin.distributions import Exponential
>>> rng = np.random.default_rng(1)
>>> r = [residual(Exponential(dist="exponential", mean=10.0), 25.0, rng) for _ in range(20000)]
>>> round(float(np.mean(r)), 0)   # memoryless: the residual of an exponential is the same exponential
10.0
"""

from __future__ import annotations

import functools
import math

import numpy as np

from twin.distributions import (Constant, Empirical, Erlang, Exponential, Gamma, Lognormal, Normal, Triangular, Uniform,
                                Weibull)

__all__ = ["frozen", "residual", "mean_residual", "survival"]


def frozen(d):
    """The ``scipy.stats`` frozen law of a twin distribution (None for constant and empirical)."""
    if isinstance(d, (Constant, Empirical)):
        return None
    return _frozen(d)


@functools.lru_cache(maxsize=512)
def _frozen(d):
    from scipy import stats

    if isinstance(d, Uniform):
        return stats.uniform(loc=d.low, scale=d.high - d.low) if d.high > d.low else None
    if isinstance(d, Triangular):
        return stats.triang(c=(d.mode - d.low) / (d.high - d.low), loc=d.low, scale=d.high - d.low)
    if isinstance(d, Exponential):
        return stats.expon(scale=d.mean_)
    if isinstance(d, Normal):
        if d.sd == 0:
            return None
        return stats.truncnorm(a=-d.mean_ / d.sd, b=math.inf, loc=d.mean_, scale=d.sd)
    if isinstance(d, Lognormal):
        mu, s = d.log_params()
        return stats.lognorm(s=s, scale=math.exp(mu))
    if isinstance(d, Gamma):
        return stats.gamma(a=d.shape, scale=d.theta())
    if isinstance(d, Erlang):
        return stats.gamma(a=d.k, scale=d.mean_ / d.k)
    if isinstance(d, Weibull):
        return stats.weibull_min(c=d.shape, scale=d.scale, loc=d.location)
    return None


def _empirical_points(d: Empirical):
    v = np.sort(np.asarray(d.values, dtype=float))
    return v, np.linspace(0.0, 1.0, len(v))


def survival(d, x):
    """P(X > x) for a twin distribution ``d`` (``x`` a number or an array)."""
    xa = np.asarray(x, dtype=float)
    if isinstance(d, Constant) or (isinstance(d, Normal) and d.sd == 0) or (isinstance(d, Uniform) and d.high == d.low):
        c = d.value if isinstance(d, Constant) else (d.mean_ if isinstance(d, Normal) else d.low)
        out = (xa < c).astype(float)
    elif isinstance(d, Empirical):
        if d.interpolate:
            xs, ps = _empirical_points(d)
            out = 1.0 - np.interp(xa, xs, ps)
        else:
            p = np.asarray(d.probabilities or [1.0 / len(d.values)] * len(d.values), dtype=float)
            v = np.asarray(d.values, dtype=float)
            out = (p[None, :] * (v[None, :] > xa.reshape(-1, 1))).sum(axis=1).reshape(xa.shape)
    else:
        out = frozen(d).sf(xa)
    return float(out) if np.ndim(out) == 0 else out


def residual(d, elapsed: float, rng: np.random.Generator) -> float:
    """One draw of the remaining time ``X - elapsed`` given ``X > elapsed`` [s] (>= 0).

    When the observation lies beyond the law's support (``S(elapsed) = 0``: a constant 5 min
    step observed at 6 min), the step is due now and 0 is returned."""
    e = max(0.0, float(elapsed))
    if isinstance(d, Constant):
        return max(0.0, d.value - e)
    if isinstance(d, Exponential):  # memoryless
        return float(rng.exponential(d.mean_))
    if isinstance(d, Weibull):  # S(x) = exp(-((x - loc) / scale)^k): invert in closed form
        z = max(0.0, (e - d.location) / d.scale)
        x = d.location + d.scale * (z ** d.shape - math.log(1.0 - rng.random())) ** (1.0 / d.shape)
        return max(0.0, x - e)
    if isinstance(d, Uniform):
        lo = max(d.low, e)
        return max(0.0, float(rng.uniform(lo, d.high)) - e) if d.high > lo else 0.0
    if isinstance(d, Empirical):
        if d.interpolate:
            xs, ps = _empirical_points(d)
            fe = float(np.interp(e, xs, ps))
            if fe >= 1.0:
                return 0.0
            u = fe + (1.0 - fe) * rng.random()
            return max(0.0, float(np.interp(u, ps, xs)) - e)
        vals = np.asarray(d.values, dtype=float)
        p = np.asarray(d.probabilities or [1.0 / len(vals)] * len(vals), dtype=float)
        keep = vals > e
        if not keep.any() or p[keep].sum() <= 0:
            return 0.0
        return float(rng.choice(vals[keep], p=p[keep] / p[keep].sum())) - e
    if isinstance(d, Normal):  # truncated at max(0, e): invert the standard normal tail
        if d.sd == 0:
            return max(0.0, d.mean_ - e)
        from scipy.special import ndtr, ndtri

        a = (max(0.0, e) - d.mean_) / d.sd
        tail = float(ndtr(-a))
        if tail <= 0.0:
            return 0.0
        x = d.mean_ - d.sd * float(ndtri((1.0 - rng.random()) * tail))
        return max(0.0, x - e)
    law = frozen(d)
    s = float(law.sf(e))
    if s <= 0.0:
        return 0.0
    v = (1.0 - rng.random()) * s  # in (0, S(e)]
    x = float(law.isf(v))
    if not math.isfinite(x):
        return 0.0
    return max(0.0, x - e)


def mean_residual(d, elapsed: float) -> float:
    """E[X - e | X > e] by numerical integration of the survival function (for tests and
    reports; independent of :func:`residual`)."""
    from scipy import integrate

    e = max(0.0, float(elapsed))
    s = survival(d, e)
    if s <= 0:
        return 0.0
    hi = math.inf
    if isinstance(d, (Uniform, Triangular)):
        hi = d.high
    elif isinstance(d, Empirical):
        hi = max(d.values)
    elif isinstance(d, Constant):
        hi = d.value
    if hi <= e:
        return 0.0
    pts = sorted(set(float(v) for v in d.values if e < v < hi)) if isinstance(d, Empirical) else None
    import warnings

    law = frozen(d)
    sf = law.sf if law is not None else (lambda x: survival(d, x))
    with warnings.catch_warnings():  # far tails: quad reports roundoff on a tail that adds ~nothing
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(sf, e, hi, limit=400, points=pts if pts and math.isfinite(hi) else None)
    return val / s
