"""Inspection with measurement uncertainty: false accept and reject rates against the normal theory."""

import math

import pytest
from scipy import stats

import twin


def scen(unc, sd=10e-6, tol=20e-6, rework=False, every=1):
    return twin.parse_scenario({
        "horizon": 200000, "seed": 4,
        "stations": {"M": {"process_time": 1}, "CMM": {"kind": "inspection", "process_time": 2, "tolerance": tol, "uncertainty": unc,
                                                       "feature_sd": sd, "rework_oversize": rework, "sample_every": every}},
        "products": {"p": {"routing": [{"station": "M"}, {"station": "CMM"}]}},
    })


def test_scrap_rate_and_false_decisions_follow_the_measurement_model():
    run = twin.Run(scen(5e-6))
    res = run.run()
    k = res.kpis["stations"]["CMM"]
    n = k["PQ"]
    sd_meas = math.hypot(10e-6, 5e-6)
    expect = 2 * stats.norm.sf(20e-6 / sd_meas)  # measured |x| > tol
    assert k["scrap_ratio"] == pytest.approx(expect, abs=4 * math.sqrt(expect / n))
    cmm = run.stations["CMM"]
    assert cmm.false_accepts > 0 and cmm.false_rejects > 0
    perfect = twin.Run(scen(0.0))
    perfect.run()
    assert perfect.stations["CMM"].false_accepts == 0 and perfect.stations["CMM"].false_rejects == 0


def test_oversize_goes_to_rework_and_sampling_skips_parts():
    res = twin.simulate(scen(0.0, rework=True))
    k = res.kpis["stations"]["CMM"]
    assert k["rework_ratio"] == pytest.approx(stats.norm.sf(2.0), abs=0.005)
    assert k["scrap_ratio"] == pytest.approx(stats.norm.sf(2.0), abs=0.005)
    sampled = twin.simulate(scen(0.0, every=4)).kpis["stations"]["CMM"]
    assert sampled["scrap_ratio"] == pytest.approx(2 * stats.norm.sf(2.0) / 4, abs=0.005)


def test_wash_and_deburr_kinds_run():
    sc = twin.parse_scenario({"horizon": 1000, "stations": {"W": {"kind": "wash", "process_time": 5}, "D": {"kind": "deburr", "process_time": 4}},
                              "products": {"p": {"routing": [{"station": "D"}, {"station": "W"}]}}})
    assert twin.simulate(sc).kpis["line"]["parts_completed"] > 150
