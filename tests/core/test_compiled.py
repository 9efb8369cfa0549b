"""The compiled engine against the SimPy engine: the same logs byte for byte.

Both engines draw the same random streams in the same blocks (twin.compiled), so a scenario gives
the same state, operations, part, level and failure logs on either: with constant times (where
every tie between events at one time must be broken as the SimPy engine breaks it) and with random
ones (hypothesis generates lines with every distribution, failures on the four bases, setups,
scrap, rework, groups, calendars and every release kind). KPIs are then equal because they are
computed by the same code from the same logs; the exact queueing and Markov-chain tests run on
both engines (``engine`` fixture in test_queueing.py and test_invariants.py).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twin
from twin.compiled import EngineError, reasons

LOGS = ("state", "ops", "levels", "failures", "part_events")


def same_logs(sc, seed=1, replication=0):
    """Run both engines; assert every log column equal (dtype, length, values); return both."""
    a = twin.simulate(copy.deepcopy(sc), seed=seed, replication=replication, engine="simpy")
    b = twin.simulate(copy.deepcopy(sc), seed=seed, replication=replication, engine="compiled")
    assert (a.engine, b.engine) == ("simpy", "compiled")
    for log in LOGS:
        A, B = getattr(a, log), getattr(b, log)
        assert sorted(A) == sorted(B), log
        for k in A:
            assert A[k].dtype == B[k].dtype, (log, k)
            assert len(A[k]) == len(B[k]), (log, k, len(A[k]), len(B[k]))
            bad = np.nonzero(A[k] != B[k])[0]
            assert len(bad) == 0, (log, k, "first difference at row", int(bad[0]) if len(bad) else None)
    assert a.event_log_hash() == b.event_log_hash()
    assert a.kpis == b.kpis
    return a, b


def line(names, caps, pt=1.0, **station):
    return {
        "horizon": 4000, "seed": 3,
        "stations": {n: {"process_time": pt, **station} for n in names},
        "buffers": {f"B{i}": {"capacity": c, "between": [names[i], names[i + 1]]} for i, c in enumerate(caps)},
        "products": {"p": {"routing": [{"station": n} for n in names]}},
    }


def fail(basis, tbf, ttr, name="f"):
    return {"name": name, "basis": basis, "tbf": {"dist": "constant", "value": tbf}, "ttr": {"dist": "constant", "value": ttr}}


# ---- deterministic scenarios: every tie at one time broken as the SimPy engine does -------------------
def _deterministic():
    out = {}
    out["blocking, buffers 0/1/2, unequal times"] = line(["A", "B", "C", "D"], [0, 1, 2], pt=1.0) | {
        "stations": {"A": {"process_time": 1.0}, "B": {"process_time": 2.0}, "C": {"process_time": 1.5},
                     "D": {"process_time": 3.0}}}
    d = line(["A", "B", "C"], [1, 0], pt=2.0)
    d["stations"]["A"]["failures"] = [fail("calendar", 50, 7)]
    d["stations"]["B"]["failures"] = [fail("operating", 40, 5), fail("processing", 33, 4, "p2")]
    d["stations"]["C"]["failures"] = [fail("cycles", 9, 3)]
    out["failures on the four bases"] = d
    d = line(["A", "B"], [3], pt=1.0)
    d["stations"]["B"] = {"process_time": 2.0, "capacity": 3, "failures": [fail("calendar", 30, 10)]}
    out["parallel units"] = d
    out["group with a buffer per member"] = {
        "horizon": 3000, "seed": 1, "groups": {"G": ["L1", "L2", "L3"]},
        "stations": {"SAW": {"process_time": 1.0}, "L1": {"process_time": 3.0}, "L2": {"process_time": 2.0},
                     "L3": {"process_time": 4.0, "failures": [fail("calendar", 100, 20)]}, "END": {"process_time": 0.5}},
        "buffers": {"Q1": {"capacity": 1, "between": ["SAW", "L1"]}, "Q2": {"capacity": 2, "between": ["SAW", "L2"]},
                    "Q3": {"capacity": 1, "between": ["SAW", "L3"]}, "OUT": {"capacity": 2, "between": ["G", "END"]}},
        "products": {"p": {"routing": [{"station": "SAW"}, {"station": "G"}, {"station": "END"}]}},
    }
    out["product mix, setups, scrap and rework"] = {
        "horizon": 5000, "seed": 4,
        "stations": {"A": {"process_time": 2.0, "setup": {"default": 5.0, "initial": 3.0, "changes": {"x": {"y": 7.0}}},
                           "scrap": 0.05, "rework": 0.1},
                     "B": {"process_time": 1.0, "rework": 0.2, "capacity": 2}},
        "buffers": {"Q": {"capacity": 2, "between": ["A", "B"]}},
        "products": {"x": {"mix": 2, "routing": [{"station": "A"}, {"station": "B", "process_time": 1.5}]},
                     "y": {"mix": 1, "routing": [{"station": "A", "process_time": 3.0}, {"station": "B"}]}},
    }
    out["shifts, breaks, holidays, shutdowns, maintenance windows"] = {
        "horizon": 21 * 86400, "seed": 2,
        "calendar": {"start": "2026-12-21 00:00",
                     "shifts": [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00"}],
                     "breaks": [{"start": "09:00", "duration": 900}, {"start": "18:00", "duration": 1800}],
                     "holidays": ["2026-12-25"], "shutdowns": [{"from": "2026-12-31", "to": "2027-01-01"}],
                     "maintenance": [{"stations": ["B"], "at": 100000, "duration": 7200, "every": 300000}]},
        "stations": {"A": {"process_time": 700.0, "failures": [fail("operating", 20000, 3000)]},
                     "B": {"process_time": 650.0, "failures": [fail("calendar", 50000, 4000)]}},
        "buffers": {"Q": {"capacity": 3, "between": ["A", "B"]}},
        "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
    }
    out["per-station calendar, shift_end finish"] = {
        "horizon": 7 * 86400, "seed": 2,
        "calendar": {"shifts": [{"start": "06:00", "end": "22:00"}], "breaks": [{"start": "12:00", "duration": 1800}]},
        "calendars": {"three": {"shifts": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00",
                                            "end": "24:00"}]}},
        "stations": {"A": {"process_time": 1000.0, "shift_end": "finish"},
                     "OVEN": {"process_time": 2500.0, "calendar": "three", "capacity": 2},
                     "C": {"process_time": 900.0, "shift_end": "finish", "failures": [fail("processing", 9000, 500)]}},
        "buffers": {"Q1": {"capacity": 2, "between": ["A", "OVEN"]}, "Q2": {"capacity": 4, "between": ["OVEN", "C"]}},
        "products": {"p": {"routing": [{"station": "A"}, {"station": "OVEN"}, {"station": "C"}]}},
    }
    out["arrivals with a limit"] = {
        "horizon": 3000, "seed": 1,
        "release": {"kind": "arrivals", "interarrival": 1.5, "limit": 900},
        "stations": {"A": {"process_time": 1.0, "failures": [fail("calendar", 200, 30)]}, "B": {"process_time": 1.4}},
        "buffers": {"IN": {"capacity": 4, "between": ["source", "A"]}, "Q": {"capacity": 1, "between": ["A", "B"]}},
        "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
    }
    out["orders with due dates"] = {
        "horizon": 20000, "seed": 5,
        "release": {"kind": "orders", "orders": [
            {"product": "a", "quantity": 300, "release": 0, "due": 5000},
            {"product": "b", "quantity": 200, "release": 1000, "due": 9000}]},
        "stations": {"M1": {"process_time": 10.0, "scrap": 0.05, "rework": 0.1, "setup": {"default": 30}},
                     "M2": {"process_time": 12.0, "capacity": 2}},
        "buffers": {"B": {"capacity": 3, "between": ["M1", "M2"]}},
        "products": {"a": {"routing": [{"station": "M1"}, {"station": "M2"}]},
                     "b": {"routing": [{"station": "M1"}, {"station": "M2"}]}},
    }
    return out


DETERMINISTIC = _deterministic()


@pytest.mark.parametrize("name", list(DETERMINISTIC))
def test_constant_times_give_the_same_event_log(name):
    a, _ = same_logs(DETERMINISTIC[name])
    # a real run: parts flowed and (where configured) the feature under test happened
    assert a.kpis["line"]["parts_completed"] > 10
    st = a.state["code"]
    if "failures" in name or "units" in name:
        assert len(a.failures["t"]) > 0
    if "shifts" in name:
        assert {7, 8, 6} <= set(np.unique(st).tolist())  # break, off shift, planned maintenance
    if "blocking" in name:
        assert 3 in set(st.tolist())  # blocked


def test_the_example_line_gives_the_same_event_log():
    sc = twin.parse_scenario(twin.load("examples/shaft_line.yaml"), horizon=4 * 86400.0)
    assert reasons(sc) == []
    a, b = same_logs(sc, seed=7)
    assert len(a.state["t"]) > 1000


# ---- random scenarios ----------------------------------------------------------------------------------
def dist(draw, mean):
    kind = draw(st.sampled_from(["constant", "exponential", "uniform", "triangular", "normal", "lognormal", "gamma",
                                 "erlang", "weibull", "empirical", "empirical_interp"]))
    if kind == "constant":
        return {"dist": "constant", "value": mean}
    if kind == "exponential":
        return {"dist": "exponential", "mean": mean}
    if kind == "uniform":
        return {"dist": "uniform", "low": 0.5 * mean, "high": 1.5 * mean}
    if kind == "triangular":
        return {"dist": "triangular", "low": 0.5 * mean, "mode": mean, "high": 2 * mean}
    if kind == "normal":
        return {"dist": "normal", "mean": mean, "sd": 0.8 * mean}  # truncated at 0 by rejection
    if kind == "lognormal":
        return {"dist": "lognormal", "mean": mean, "sd": 0.5 * mean}
    if kind == "gamma":
        return {"dist": "gamma", "shape": 2.0, "mean": mean}
    if kind == "erlang":
        return {"dist": "erlang", "k": 3, "mean": mean}
    if kind == "weibull":
        return {"dist": "weibull", "shape": 1.5, "scale": mean}
    if kind == "empirical":
        return {"dist": "empirical", "values": [0.5 * mean, mean, 2 * mean], "probabilities": [0.3, 0.5, 0.2]}
    return {"dist": "empirical", "values": [0.5 * mean, mean, 1.7 * mean], "interpolate": True}


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 4))
    names = [f"S{i}" for i in range(n)]
    two = draw(st.booleans())
    products = ["a", "b"] if two else ["a"]
    stations = {}
    for s in names:
        spec = {"process_time": dist(draw, draw(st.sampled_from([1.0, 2.0, 3.0]))),
                "capacity": draw(st.integers(1, 2))}
        if draw(st.booleans()):
            spec["scrap"] = draw(st.sampled_from([0.0, 0.05]))
            spec["rework"] = draw(st.sampled_from([0.0, 0.1]))
        if two and draw(st.booleans()):
            spec["setup"] = {"default": draw(st.sampled_from([2.0, 5.0])), "initial": draw(st.sampled_from([0.0, 1.0]))}
        nf = draw(st.integers(0, 2))
        spec["failures"] = [{"name": f"f{j}", "basis": draw(st.sampled_from(["calendar", "operating", "processing", "cycles"])),
                             "tbf": dist(draw, draw(st.sampled_from([20.0, 60.0]))),
                             "ttr": dist(draw, draw(st.sampled_from([2.0, 8.0])))} for j in range(nf)]
        if draw(st.booleans()):
            spec["shift_end"] = "finish"
        stations[s] = spec
    caps = [draw(st.sampled_from([0, 1, 2, 5, None])) for _ in range(n - 1)]
    sc = {
        "horizon": draw(st.sampled_from([300.0, 700.0])), "seed": draw(st.integers(0, 1000)),
        "stations": stations,
        "buffers": {f"B{i}": {"capacity": c, "between": [names[i], names[i + 1]]} for i, c in enumerate(caps)},
        "products": {p: {"mix": draw(st.sampled_from([1.0, 3.0])), "routing": [{"station": s} for s in names]}
                     for p in products},
        "calendar": {"shifts": [{"days": ["mon"], "start": "00:00", "end": "00:04"}, {"days": ["mon"], "start": "00:05", "end": "24:00"}],
                     "breaks": [{"start": "00:07", "duration": 60}]},
    }
    if not any(s.get("shift_end") for s in stations.values()) and draw(st.booleans()):
        del sc["calendar"]
    rel = draw(st.sampled_from(["saturated", "arrivals", "orders"]))
    if rel == "arrivals":
        sc["release"] = {"kind": "arrivals", "interarrival": dist(draw, 1.5)}
    elif rel == "orders":
        sc["release"] = {"kind": "orders", "orders": [{"product": p, "quantity": draw(st.integers(1, 60)),
                                                      "release": draw(st.sampled_from([0.0, 50.0]))} for p in products]}
    return sc


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_scenarios_give_the_same_event_log(sc):
    try:
        parsed = twin.parse_scenario(copy.deepcopy(sc))
    except twin.ScenarioError:
        return  # (a combination the format refuses, e.g. shift_end without a calendar)
    assert reasons(parsed) == []
    same_logs(parsed)


# ---- engine choice -------------------------------------------------------------------------------------
def test_auto_says_why_and_compiled_refuses():
    sc = twin.load("examples/flex_cell.yaml")
    why = reasons(sc)
    assert "station MC1 is a cnc_mill (physics)" in why and "station LOAD needs operators" in why
    assert "recording" in why and "buffer TO_MC1 is an agv" in why
    d = copy.deepcopy(DETERMINISTIC["product mix, setups, scrap and rework"])
    d["stations"]["A"]["dispatch"] = "spt"
    with pytest.raises(EngineError, match="station A dispatches by spt"):
        twin.simulate(d, engine="compiled")
    res = twin.simulate(d, engine="auto")
    assert res.engine == "simpy" and res.engine_reasons == ["station A dispatches by spt (only fifo)"]
    fit = twin.simulate(DETERMINISTIC["parallel units"], engine="auto")
    assert fit.engine == "compiled" and fit.engine_reasons == ()
    with pytest.raises(ValueError, match="engine must be one of"):
        twin.simulate(DETERMINISTIC["parallel units"], engine="fast")


@pytest.mark.parametrize("field,value,reason", [
    ("dispatch", "spt", "dispatches by spt"),
    ("maintenance", [{"every": 100, "duration": 5}], "maintenance plans"),
    ("release", {"kind": "lots", "lots": [{"product": "x", "size": 5}, {"product": "y", "size": 3, "release": 60}]},
     "release by lots"),
])
def test_each_unsupported_setting_is_named(field, value, reason):
    d = copy.deepcopy(DETERMINISTIC["product mix, setups, scrap and rework"])
    if field == "release":
        d["release"] = value
        for p in d["products"].values():
            p.pop("mix", None)
    else:
        d["stations"]["A"][field] = value
    sc = twin.parse_scenario(d)
    assert any(reason in r for r in reasons(sc))
    res = twin.simulate(sc, engine="auto")  # falls back: the setting is honoured by the SimPy engine
    assert res.engine == "simpy" and any(reason in r for r in res.engine_reasons)


def test_first_station_with_rework_takes_new_parts(engine):
    """A first station with rework has two inputs (its rework queue and the saturated source); it
    used to wait forever because the source's head never counted as the earliest part."""
    sc = {"horizon": 1000, "seed": 1,
          "stations": {"A": {"process_time": 2.0, "rework": 0.2}, "B": {"process_time": 1.0}},
          "buffers": {"Q": {"capacity": 2, "between": ["A", "B"]}},
          "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}
    k = twin.simulate(sc, engine=engine).kpis
    assert k["stations"]["A"]["RQ"] > 0
    # A is the bottleneck: 500 operations, of which about 20 % are repeated (rework, taken first)
    assert 380 <= k["line"]["parts_completed"] <= 420


@pytest.mark.parametrize("name", ["failures on the four bases", "shifts, breaks, holidays, shutdowns, maintenance windows",
                                  "group with a buffer per member"])
def test_compiled_results_take_a_one_pass_kpi_path_with_the_same_numbers(name):
    """Results of the compiled engine compute state durations and active periods in one numba pass
    (kernels/engine_kpi.py) instead of the sort: every KPI bit-identical, with and without warm-up."""
    from twin.kpi import compute_kpis
    from twin.result import _KpiView

    for warmup in (0.0, 0.3):
        d = copy.deepcopy(DETERMINISTIC[name])
        d["warmup"] = warmup * d["horizon"]
        res = twin.simulate(d, engine="compiled")
        fast = compute_kpis(_KpiView(res))
        res.engine = "simpy"  # the numpy path
        assert compute_kpis(_KpiView(res)) == fast
        assert fast["stations"][next(iter(fast["stations"]))]["mean_active_period_s"] > 0


def test_a_zero_time_loop_stops_with_an_error_instead_of_eating_memory(monkeypatch):
    """A station with process_time 0 fed without limit never lets the clock move: the loop must
    stop and say so (before the guard it ran, doubling its tables, until the OOM killer came)."""
    from twin.compiled import SimulationStalled, _Compiled

    monkeypatch.setattr(_Compiled, "STALL_EVENTS", 200_000)
    zero = {"name": "zero", "horizon": 100, "stations": {"A": {"process_time": 0}},
            "products": {"p": {"routing": [{"station": "A"}]}}}
    with pytest.raises(SimulationStalled, match="no progress.*sim time 0 s"):
        twin.simulate(zero, engine="compiled")
    ok = dict(zero, stations={"A": {"process_time": 0.5}})  # the same plant with time in it runs
    assert twin.simulate(ok, engine="compiled").kpis["line"]["parts_completed"] == 199
