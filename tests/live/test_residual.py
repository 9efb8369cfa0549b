"""Residual life of every distribution family (twin.live.residual) against theory: the sample
mean of the remaining time matches E[X - e | X > e] computed by integrating the survival function,
and the samples follow P(R > r) = S(e + r) / S(e) (Kolmogorov-Smirnov)."""

import math

import numpy as np
import pytest
from scipy import stats

from twin.distributions import Distribution
from twin.live.residual import mean_residual, residual, survival
from pydantic import TypeAdapter

D = TypeAdapter(Distribution)

CASES = [  # (distribution, elapsed)
    ({"dist": "uniform", "low": 60, "high": 90}, 40),
    ({"dist": "uniform", "low": 60, "high": 90}, 75),
    ({"dist": "triangular", "low": 270, "mode": 300, "high": 360}, 290),
    ({"dist": "exponential", "mean": 40}, 100),
    ({"dist": "normal", "mean": 174, "sd": 10}, 170),
    ({"dist": "normal", "mean": 20, "sd": 15}, 5),  # truncated at 0
    ({"dist": "lognormal", "mean": 5400, "sd": 2400}, 3600),
    ({"dist": "gamma", "shape": 2, "mean": 72000}, 50000),
    ({"dist": "erlang", "k": 3, "mean": 600}, 400),
    ({"dist": "weibull", "shape": 1.5, "scale": 216000}, 100000),
    ({"dist": "weibull", "shape": 2.5, "scale": 100, "location": 30}, 20),
    ({"dist": "empirical", "values": [90, 100, 110, 140], "probabilities": [0.3, 0.4, 0.2, 0.1]}, 95),
    ({"dist": "empirical", "values": [10, 20, 40, 80], "interpolate": True}, 30),
]


@pytest.mark.parametrize("spec,e", CASES, ids=[f"{c['dist']}@{e}" for c, e in CASES])
def test_residual_matches_theory(spec, e):
    d = D.validate_python(spec)
    rng = np.random.default_rng(7)
    n = 3000
    r = np.array([residual(d, e, rng) for _ in range(n)])
    assert (r >= 0).all()
    m = mean_residual(d, e)
    se = r.std(ddof=1) / math.sqrt(n)
    assert abs(r.mean() - m) < 4 * se + 1e-9 * m, (r.mean(), m, se)
    s_e = survival(d, e)
    if spec["dist"] != "empirical" or spec.get("interpolate"):
        cdf = lambda x: 1.0 - survival(d, e + np.asarray(x)) / s_e
        assert stats.kstest(r, cdf).pvalue > 1e-3
    else:  # discrete: the conditional probabilities of the values above e
        vals, p = np.array(spec["values"], float), np.array(spec["probabilities"])
        keep = vals > e
        exp = p[keep] / p[keep].sum()
        got = np.array([np.mean(np.isclose(r, v - e)) for v in vals[keep]])
        assert np.abs(got - exp).max() < 0.03


def test_residual_is_not_a_fresh_draw():
    """A worn Weibull (shape 3) part-way through its life has a much shorter remaining time than
    a new one; the exponential's does not change (memoryless)."""
    d = D.validate_python({"dist": "weibull", "shape": 3, "scale": 100})
    rng = np.random.default_rng(1)
    fresh = d.mean()
    worn = np.mean([residual(d, 80, rng) for _ in range(3000)])
    assert worn < 0.5 * fresh
    assert math.isclose(mean_residual(d, 80), worn, rel_tol=0.05)


def test_beyond_the_support_is_due_now():
    rng = np.random.default_rng(0)
    assert residual(D.validate_python(300), 400, rng) == 0.0
    assert residual(D.validate_python(300), 100, rng) == 200.0
    assert residual(D.validate_python({"dist": "uniform", "low": 1, "high": 2}), 5, rng) == 0.0
