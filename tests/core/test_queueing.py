"""Both engines against queueing theory: M/M/1, a Jackson tandem, and serial lines with finite
buffers (with and without failures) whose exact throughput comes from a CTMC built here."""

import numpy as np
import pytest

import twin
from ctmc import line_throughput

REPS = 12


def _reps(sc, key, engine, reps=REPS):
    out = []
    for r in range(reps):
        k = twin.simulate(sc, replication=r, engine=engine).kpis
        out.append(k["line"][key])
    return np.array(out)


def mm1(lam, mu, horizon=20000.0, warmup=2000.0):
    return {
        "horizon": horizon, "warmup": warmup, "seed": 11,
        "release": {"kind": "arrivals", "interarrival": {"dist": "exponential", "mean": 1.0 / lam}},
        "stations": {"M": {"process_time": {"dist": "exponential", "mean": 1.0 / mu}}},
        "products": {"p": {"routing": [{"station": "M"}]}},
    }


def test_mm1_number_and_time_in_system(ci, engine):
    lam, mu = 0.7, 1.0
    sc = twin.parse_scenario(mm1(lam, mu))
    L_true = (lam / mu) / (1 - lam / mu)
    W_true = 1.0 / (mu - lam)
    res = [twin.simulate(sc, replication=r, engine=engine).kpis["line"] for r in range(REPS)]
    L, hL = ci([k["wip_mean"] for k in res], 0.99)
    W, hW = ci([k["lead_time_mean_s"] for k in res], 0.99)
    assert abs(L - L_true) <= hL, (L, hL, L_true)
    assert abs(W - W_true) <= hW, (W, hW, W_true)
    # the interval is informative, not vacuous
    assert hL < 0.1 * L_true and hW < 0.1 * W_true


def test_jackson_tandem(ci, engine):
    lam, mu1, mu2 = 0.5, 1.0, 0.8
    d = mm1(lam, mu1)
    d["stations"]["M2"] = {"process_time": {"dist": "exponential", "mean": 1.0 / mu2}}
    d["products"]["p"]["routing"].append({"station": "M2"})
    sc = twin.parse_scenario(d)
    r1, r2 = lam / mu1, lam / mu2
    L_true = r1 / (1 - r1) + r2 / (1 - r2)
    W_true = 1 / (mu1 - lam) + 1 / (mu2 - lam)
    res = [twin.simulate(sc, replication=r, engine=engine).kpis["line"] for r in range(REPS)]
    L, hL = ci([k["wip_mean"] for k in res], 0.99)
    W, hW = ci([k["lead_time_mean_s"] for k in res], 0.99)
    assert abs(L - L_true) <= hL, (L, hL, L_true)
    assert abs(W - W_true) <= hW, (W, hW, W_true)


def test_ctmc_builder_reproduces_textbook_values():
    # two identical machines, no buffer: 2/3 mu; buffer K: mu (K+2)/(K+3) (Buzacott & Shanthikumar)
    assert line_throughput([1.0, 1.0], [0]) == pytest.approx(2 / 3, rel=1e-9)
    assert line_throughput([1.0, 1.0], [3]) == pytest.approx(5 / 6, rel=1e-9)
    # one unreliable machine: mu * r / (r + p)
    assert line_throughput([2.0], [], [0.01], [0.1]) == pytest.approx(2.0 * 0.1 / 0.11, rel=1e-9)


def test_two_unreliable_machines_finite_buffer(line, ci, engine):
    mu, caps, fail, rep = [1.0, 1.1], [3], [0.01, 0.02], [0.1, 0.15]
    exact = line_throughput(mu, caps, fail, rep)
    sc = twin.parse_scenario(line(mu, caps, 40000.0, 2000.0, fail, rep))
    thr = _reps(sc, "throughput_per_hour", engine) / 3600.0
    m, h = ci(thr, 0.99)
    assert abs(m - exact) <= h, (m, h, exact)
    # failures matter: the reliable line is clearly faster than this one
    assert line_throughput(mu, caps) > exact + 5 * h


def test_three_reliable_machines_finite_buffers(line, ci, engine):
    mu, caps = [1.0, 0.9, 1.2], [2, 1]
    exact = line_throughput(mu, caps)
    sc = twin.parse_scenario(line(mu, caps, 20000.0, 1000.0))
    thr = _reps(sc, "throughput_per_hour", engine) / 3600.0
    m, h = ci(thr, 0.99)
    assert abs(m - exact) <= h, (m, h, exact)
    assert h < 0.01 * exact


def test_zero_capacity_buffer_is_direct_handover(line, ci, engine):
    exact = line_throughput([1.0, 1.0], [0])
    sc = twin.parse_scenario(line([1.0, 1.0], [0], 20000.0, 1000.0))
    thr = _reps(sc, "throughput_per_hour", engine) / 3600.0
    m, h = ci(thr, 0.99)
    assert abs(m - exact) <= h, (m, h, exact)
