"""ISO 22400-2 arithmetic on hand-computed logs, PBT = 0, and a shift pattern end to end."""

import numpy as np
import pytest

import twin
from twin.kpi import compute_kpis
from twin.result import Result, _KpiView
from twin.states import Code


def hand_result(rows, ops, horizon=100.0, warmup=0.0, pri=20.0, off=0.0, brk=0.0):
    """A Result built directly from a one-machine state log and operation list."""
    t, code, part = zip(*rows)
    n_parts = max([o[0] for o in ops] + [0]) + 1
    pe = {"t": np.zeros(n_parts), "part": np.arange(n_parts), "event": np.zeros(n_parts, np.int8),
          "product": np.zeros(n_parts, np.int32), "due": np.full(n_parts, np.inf)}
    return Result(
        scenario={}, scenario_name="hand", seed=0, replication=0, horizon=horizon, warmup=warmup, version="t",
        resources=[("M", "M")], buffer_names=[], products=["p"], pri={"M": {"0:0": pri}}, line_pri=[pri],
        power={"M": [1000.0, 500.0, 100.0, 100.0, 100.0, 0.0, 0.0, 100.0, 0.0]}, extra_energy={"M": 0.0},
        calendar_off=off, calendar_breaks=brk,
        state={"t": np.array(t, float), "resource": np.zeros(len(t), np.int32), "code": np.array(code, np.int8), "part": np.array(part, np.int64)},
        ops={"part": np.array([o[0] for o in ops], np.int64), "resource": np.zeros(len(ops), np.int32), "step": np.zeros(len(ops), np.int32),
             "t_start": np.array([o[1] for o in ops], float), "t_end": np.array([o[2] for o in ops], float), "outcome": np.array([o[3] for o in ops], np.int8)},
        levels={"t": np.zeros(0), "buffer": np.zeros(0, np.int32), "level": np.zeros(0, np.int32)},
        failures={"t": np.array([60.0]) if any(r[1] == Code.FAILURE for r in rows) else np.zeros(0), "resource": np.zeros(1 if any(r[1] == Code.FAILURE for r in rows) else 0, np.int32),
                  "profile": np.zeros(1 if any(r[1] == Code.FAILURE for r in rows) else 0, np.int32), "ttr": np.full(1 if any(r[1] == Code.FAILURE for r in rows) else 0, 10.0)},
        part_events=pe, commands=[], extra_tables={},
    )


def test_iso22400_hand_computed():
    rows = [(0, Code.PROCESSING, 0), (30, Code.SETUP, 1), (40, Code.PROCESSING, 1), (60, Code.FAILURE, 1),
            (70, Code.STARVED, -1), (80, Code.BREAK, -1), (90, Code.PROCESSING, 2)]
    ops = [(0, 0, 30, 0), (1, 40, 58, 1), (2, 90, 99, 0)]  # good, scrap, good
    k = hand_result(rows, ops).kpis["stations"]["M"]
    # time elements by hand: APT 30+20+10, AUST 10, ADET 10, ADOT 10 (starved), PDOT 10 (break)
    assert (k["POT"], k["PDOT"], k["PBT"], k["APT"], k["AUST"], k["ADET"], k["ADOT"]) == (100, 10, 90, 60, 10, 10, 10)
    assert k["availability"] == pytest.approx(60 / 90)
    assert k["effectiveness"] == pytest.approx(20 * 3 / 60)
    assert k["quality_ratio"] == pytest.approx(2 / 3)
    assert k["oee"] == pytest.approx(60 / 90 * 1.0 * 2 / 3)
    assert k["technical_efficiency"] == pytest.approx(60 / 70)
    assert k["setup_rate"] == pytest.approx(10 / 70)
    assert k["scrap_ratio"] == pytest.approx(1 / 3)
    assert k["mtbf_s"] == pytest.approx((90 - 10) / 1) and k["mttr_s"] == pytest.approx(10)
    assert k["utilization"] == pytest.approx(70 / 90)
    assert k["starved_share"] == pytest.approx(10 / 90) and k["down_share"] == pytest.approx(10 / 90)
    # energy: 60 s at 1 kW + 10 s setup at 0.5 kW + 10 s starved at 0.1 kW + 10 s break (idle) at 0.1 kW
    assert k["energy_J"] == pytest.approx(60 * 1000 + 10 * 500 + 10 * 100 + 10 * 100)


def test_warmup_clips_time_elements():
    rows = [(0, Code.PROCESSING, 0), (30, Code.SETUP, 1), (40, Code.PROCESSING, 1), (60, Code.FAILURE, 1),
            (70, Code.STARVED, -1), (80, Code.BREAK, -1), (90, Code.PROCESSING, 2)]
    ops = [(0, 0, 30, 0), (1, 40, 58, 1), (2, 90, 99, 0)]
    k = hand_result(rows, ops, warmup=35.0).kpis["stations"]["M"]
    assert (k["POT"], k["APT"], k["AUST"], k["PQ"]) == (65, 30, 5, 2)


def test_pbt_zero_reports_availability_one_and_says_so():
    rows = [(0, Code.OFF_SHIFT, -1)]
    k = hand_result(rows, [], off=100.0).kpis["stations"]["M"]
    assert k["PBT"] == 0 and k["availability"] == 1.0
    assert any("PBT=0" in f for f in k["flags"])
    assert k["effectiveness"] is None and k["oee"] is None


def test_shift_pattern_planned_time_end_to_end():
    sc = twin.parse_scenario({
        "horizon": "1 week",
        "calendar": {"start": "mon 00:00",
                     "shifts": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "14:00"}],
                     "breaks": [{"start": "10:00", "duration": "30 min"}, {"start": "20:00", "duration": "1 h"}],
                     "maintenance": [{"stations": ["M"], "at": "2 d 7 h", "duration": "2 h"}]},
        "stations": {"M": {"process_time": "60 s", "power": {"processing": "2 kW", "idle": "0.5 kW", "off": "0.1 kW", "down": "0.2 kW"}}},
        "products": {"p": {"routing": [{"station": "M"}]}},
    })
    res = twin.simulate(sc)
    k = res.kpis["stations"]["M"]
    pot = 5 * 8 * 3600.0
    pdot = 5 * 1800.0 + 2 * 3600.0  # the 20:00 break lies outside the shift and does not count
    assert k["POT"] == pytest.approx(pot)
    assert k["PDOT"] == pytest.approx(pdot)
    assert k["APMT"] == pytest.approx(2 * 3600.0)
    assert k["PBT"] == pytest.approx(pot - pdot)
    assert k["APT"] == pytest.approx(pot - pdot)  # saturated, never fails: processes all planned busy time
    assert k["availability"] == pytest.approx(1.0)
    assert k["effectiveness"] == pytest.approx(1.0, rel=1e-3)
    assert res.kpis["line"]["parts_completed"] == pytest.approx((pot - pdot) / 60, abs=1)
    off = 7 * 86400 - pot
    e = (pot - pdot) * 2000 + 5 * 1800 * 500 + 2 * 3600 * 200 + off * 100
    assert k["energy_J"] == pytest.approx(e, rel=1e-6)


def test_failure_bases():
    def scen(basis, tbf):
        return twin.parse_scenario({
            "horizon": 50000, "seed": 3,
            "release": {"kind": "arrivals", "interarrival": {"dist": "exponential", "mean": 10}},
            "stations": {"M": {"process_time": {"dist": "exponential", "mean": 4},
                               "failures": [{"basis": basis, "tbf": tbf, "ttr": {"dist": "constant", "value": 7}}]}},
            "products": {"p": {"routing": [{"station": "M"}]}},
        })

    # processing basis: failures happen only while processing
    r = twin.simulate(scen("processing", {"dist": "exponential", "mean": 200}))
    st = r.state
    for tf in r.failures["t"]:
        i = np.searchsorted(st["t"], tf, side="left") - 1
        assert st["code"][i] == Code.PROCESSING
    # utilisation ~ 0.4, so processing-time failures are ~0.4x as frequent as calendar ones
    n_proc = len(r.failures["t"])
    n_cal = len(twin.simulate(scen("calendar", {"dist": "exponential", "mean": 200})).failures["t"])
    assert 0.3 < n_proc / n_cal < 0.55
    # cycles basis: exactly every 25 parts
    r = twin.simulate(scen("cycles", {"dist": "constant", "value": 25}))
    ops_end = r.ops["t_end"]
    counts = np.searchsorted(ops_end, r.failures["t"], side="right")
    assert np.all(counts == 25 * np.arange(1, len(counts) + 1))
    # MTTR from the KPIs equals the constant repair time
    assert r.kpis["stations"]["M"]["mttr_s"] == pytest.approx(7.0, rel=0.02)


def test_availability_mttr_shorthand():
    sc = twin.parse_scenario({
        "horizon": 400000, "seed": 1,
        "stations": {"M": {"process_time": 1, "failures": [{"basis": "operating", "availability": 0.9, "mttr": 100}]}},
        "products": {"p": {"routing": [{"station": "M"}]}},
    })
    k = twin.simulate(sc).kpis["stations"]["M"]
    assert k["technical_efficiency"] == pytest.approx(0.9, abs=0.02)
    assert k["mttr_s"] == pytest.approx(100, rel=0.15)


def test_setup_matrix_applies_on_product_change():
    sc = twin.parse_scenario({
        "horizon": 10000, "seed": 2,
        "release": {"kind": "orders", "orders": [{"product": "a", "quantity": 5}, {"product": "b", "quantity": 5, "release": 1},
                                                  {"product": "a", "quantity": 5, "release": 2}]},
        "stations": {"M": {"process_time": 10, "setup": {"initial": 3, "default": 50, "changes": {"a": {"b": 20}}}}},
        "products": {"a": {"routing": [{"station": "M"}]}, "b": {"routing": [{"station": "M"}]}},
    })
    k = twin.simulate(sc).kpis["stations"]["M"]
    assert k["AUST"] == pytest.approx(3 + 20 + 50)
    assert k["APT"] == pytest.approx(150)
