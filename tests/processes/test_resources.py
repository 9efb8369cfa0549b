"""Shared resources against queueing theory and geometry: repair crews (machine-repair model),
preventive and condition-based maintenance, operator pools with skills and shifts, a robot
loader and an AGV fleet on a path network."""

import copy
import math

import numpy as np
import pytest

import twin
from twin.states import Code

from .test_machining import BASE as LATHE


def _rejects(d, path: str) -> str:
    """The scenario is rejected at load with an error naming ``path``; returns the message."""
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    assert path in str(e.value)
    return str(e.value)


def _code_time(res, station, code) -> float:
    """Seconds spent in ``code`` by all resources of ``station`` (from the state log)."""
    st = res.state
    rids = [i for i, (_, s) in enumerate(res.resources) if s == station]
    total = 0.0
    for r in rids:
        m = st["resource"] == r
        t = np.append(st["t"][m], res.horizon)
        c = st["code"][m]
        total += float(np.sum(np.diff(t)[c == code]))
    return total


def test_repair_crew_matches_the_machine_repair_model():
    """Two machines failing on calendar time (rate lam), one repair crew (rate mu): the finite
    source M/M/1//2 queue. With rho = lam/mu = 0.5: p0 = 1 / (1 + 2 rho + 2 rho^2) = 0.4, crew
    utilisation 1 - p0 = 0.6, failure rate lam (2 p0 + p1) = 1.2 lam, queue Lq = p2 = 0.2, wait
    Wq = Lq / (1.2 lam) = 600 s with 1/lam = 1 h."""
    fail = {"basis": "calendar", "tbf": {"dist": "exponential", "mean": "1 h"}, "ttr": {"dist": "exponential", "mean": "30 min"},
            "crew": "fitters"}
    sc = {"name": "mrm", "horizon": "20000 h", "seed": 4, "crews": {"fitters": {"size": 1}},
          "stations": {"A": {"process_time": "1 h", "failures": [fail]}, "B": {"process_time": "1 h", "failures": [fail]}},
          "products": {"a": {"routing": [{"station": "A"}]}, "b": {"routing": [{"station": "B"}]}}}
    k = twin.simulate(sc).kpis
    crew = k["pools"]["fitters"]
    rho = 0.5
    p0 = 1 / (1 + 2 * rho + 2 * rho ** 2)
    assert crew["utilisation"] == pytest.approx(1 - p0, abs=0.015)
    assert crew["mean_queue"] == pytest.approx(2 * rho ** 2 * p0, abs=0.015)
    assert crew["mean_wait_s"] == pytest.approx(600.0, rel=0.08)
    assert crew["requests"] / 20000 == pytest.approx(1.2, rel=0.03)
    # each machine is down while waiting and while being repaired: p(down) = (p1/2 + p2) = 0.4
    for s in ("A", "B"):
        assert 1 - k["stations"][s]["availability"] == pytest.approx((2 * rho * p0) / 2 + 2 * rho ** 2 * p0, abs=0.015)


def test_crew_without_waiting_when_big_enough():
    fail = {"basis": "calendar", "tbf": {"dist": "exponential", "mean": "1 h"}, "ttr": {"dist": "constant", "value": "30 min"},
            "crew": "fitters"}
    sc = {"name": "big crew", "horizon": "2000 h", "crews": {"fitters": {"size": 2}},
          "stations": {"A": {"process_time": "1 h", "failures": [fail]}, "B": {"process_time": "1 h", "failures": [fail]}},
          "products": {"a": {"routing": [{"station": "A"}]}, "b": {"routing": [{"station": "B"}]}}}
    k = twin.simulate(sc).kpis
    assert k["pools"]["fitters"]["max_wait_s"] == 0.0
    assert k["stations"]["A"]["mttr_s"] == pytest.approx(1800.0, rel=0.002)  # the last repair may be cut by the horizon


def _pm_line(**pm):
    return {"name": "pm", "horizon": "500 h", "seed": 2, "crews": {"fitters": {"size": 1}},
            "stations": {"M": {"process_time": "60 s",
                               "failures": [{"basis": "cycles", "tbf": {"dist": "constant", "value": 150},
                                             "ttr": {"dist": "constant", "value": "2 h"}}],
                               "maintenance": [pm] if pm else []}},
            "products": {"p": {"routing": [{"station": "M"}]}}}


def test_preventive_maintenance_on_usage_renews_the_failure_clock():
    """A failure every 150 parts; maintenance every 100 parts restores the machine, so it never
    fails, and spends 1 h in maintenance per 100 parts (100 min of work)."""
    no_pm = twin.simulate(_pm_line())
    assert len(no_pm.failures["t"]) > 100
    res = twin.simulate(_pm_line(cycles=100, duration="1 h", crew="fitters"))
    assert len(res.failures["t"]) == 0
    frac = _code_time(res, "M", Code.PLANNED_MAINTENANCE) / res.horizon
    assert frac == pytest.approx(60 / (100 + 60), abs=0.005)
    assert res.kpis["pools"]["fitters"]["requests"] == pytest.approx(res.kpis["stations"]["M"]["PQ"] / 100, abs=1)


def test_preventive_maintenance_on_operating_time_waits_for_the_cycle_end():
    res = twin.simulate(_pm_line(every="90 min", duration="30 min"))
    assert len(res.failures["t"]) == 0  # 90 min of operation = 90 parts < 150
    ops = res.ops
    # no part is interrupted: every operation takes exactly its 60 s
    assert np.allclose(ops["t_end"] - ops["t_start"], 60.0)
    frac = _code_time(res, "M", Code.PLANNED_MAINTENANCE) / res.horizon
    assert frac == pytest.approx(30 / 120, abs=0.005)


def test_condition_based_maintenance_on_tool_wear_tag():
    """Maintenance when the worst tool has used half its Taylor life: tools are replaced at
    about half life, so twice as many tool sets are used as with the wear policy alone."""
    base = twin.simulate(copy.deepcopy(LATHE))
    d = copy.deepcopy(LATHE)
    d["stations"]["L1"]["maintenance"] = [{"when": "tool_wear_max >= 0.5", "duration": "5 min", "scan": "10 s"}]
    res = twin.simulate(d)
    st = res.kpis["stations"]["L1"]
    n_maint = round(_code_time(res, "L1", Code.PLANNED_MAINTENANCE) / 300)
    assert n_maint >= 3
    phys = res.extra_tables["physics_L1"].to_pandas()
    # tool wear of the finishing cut never passes ~0.5 of the VB criterion's life (one part's worth of slack)
    base_phys = base.extra_tables["physics_L1"].to_pandas()
    assert phys["vb_finish_m"].max() < 0.8 * base_phys["vb_finish_m"].max()
    assert st["PQ"] < base.kpis["stations"]["L1"]["PQ"]  # maintenance costs output


def test_operator_pool_limits_two_machines_to_one_operator():
    sc = {"name": "ops", "horizon": "40 h", "operators": {"turners": {"size": 1, "skills": ["turning"]}},
          "stations": {"L1": {"process_time": "60 s", "operator": {"skill": "turning"}},
                       "L2": {"process_time": "60 s", "operator": {"skill": "turning"}}},
          "groups": {"L": ["L1", "L2"]},
          "products": {"p": {"routing": [{"station": "L"}]}}}
    k = twin.simulate(sc).kpis
    assert k["line"]["throughput_per_hour"] == pytest.approx(60.0, rel=0.01)
    assert k["pools"]["turners"]["utilisation"] == pytest.approx(1.0, abs=0.01)
    sc["stations"]["L1"]["operator"] = sc["stations"]["L2"]["operator"] = {"skill": "turning", "during": "load", "load_time": "10 s"}
    k = twin.simulate(sc).kpis
    assert k["line"]["throughput_per_hour"] == pytest.approx(120.0, rel=0.01)
    assert k["pools"]["turners"]["utilisation"] == pytest.approx(2 * 10 / 60, abs=0.01)


def test_operators_work_their_shifts_only():
    """The plant runs around the clock, the operators only on the early shift (6-14, Mon-Sun):
    a station that needs an operator for the whole cycle produces for 8 h a day."""
    sc = {"name": "shifts", "horizon": "7 d",
          "calendar": {"shifts": [{"name": "early", "start": "06:00", "end": "14:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
                                  {"name": "rest", "start": "14:00", "end": "06:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}]},
          "operators": {"day_crew": {"size": 1, "skills": ["milling"], "shifts": ["early"]}},
          "stations": {"M": {"process_time": "60 s", "operator": {"skill": "milling"}}},
          "products": {"p": {"routing": [{"station": "M"}]}}}
    res = twin.simulate(sc)
    k = res.kpis
    assert k["pools"]["day_crew"]["on_shift"] == pytest.approx(8 / 24, abs=0.01)
    assert k["stations"]["M"]["PQ"] == pytest.approx(7 * 8 * 60, abs=2)


def test_missing_skill_is_a_scenario_error():
    sc = {"name": "bad", "horizon": "1 h", "operators": {"welders": {"size": 1, "skills": ["welding"]}},
          "stations": {"M": {"process_time": "60 s", "operator": {"skill": "milling"}}},
          "products": {"p": {"routing": [{"station": "M"}]}}}
    _rejects(sc, "stations.M.operator.skill")


def test_robot_loader_cycle_and_travel():
    """One machine, a robot 5 m away (3-4-5 triangle) at 1 m/s: the first cycle is travel 5 s +
    load 5 s + 100 s + unload 5 s; the robot then stays at the machine: 110 s per cycle."""
    sc = {"name": "robot", "horizon": "10 h",
          "stations": {"M": {"process_time": "100 s", "loader": "R", "layout": {"x": 3, "y": 4}},
                       "R": {"kind": "robot", "load_time": "5 s", "unload_time": "5 s", "speed": "1 m/s", "layout": {"x": 0, "y": 0}}},
          "products": {"p": {"routing": [{"station": "M"}]}}}
    res = twin.simulate(sc)
    ops = res.ops
    d = ops["t_end"] - ops["t_start"]
    assert d[0] == pytest.approx(115.0)  # travel + load + process + unload
    assert ops["t_start"][0] == 0.0
    assert np.allclose(d[1:], 110.0)
    assert res.kpis["pools"]["R"]["utilisation"] == pytest.approx(10 / 110, abs=0.005)


def test_robot_shared_by_two_machines_waits_for_each_other():
    sc = {"name": "robot2", "horizon": "20 h",
          "stations": {"M1": {"process_time": "10 s", "loader": "R"}, "M2": {"process_time": "10 s", "loader": "R"},
                       "R": {"kind": "robot", "load_time": "10 s", "unload_time": "10 s"}},
          "groups": {"M": ["M1", "M2"]},
          "products": {"p": {"routing": [{"station": "M"}]}}}
    k = twin.simulate(sc).kpis
    # the robot is the bottleneck: 20 s of handling per part -> 180 parts/h
    assert k["line"]["throughput_per_hour"] == pytest.approx(180.0, rel=0.01)
    assert k["pools"]["R"]["utilisation"] == pytest.approx(1.0, abs=0.01)


def _agv(**fleet):
    f = {"kind": "agv_fleet", "vehicles": 2, "speed": "1 m/s", "load_time": "5 s", "unload_time": "5 s", "home": "W",
         "network": {"nodes": {"W": [0, 10]}, "edges": [["A", "W"], ["W", "B"]]}}
    f.update(fleet)
    return {"name": "agv", "horizon": "8 h",
            "stations": {"A": {"process_time": "120 s", "layout": {"x": 0, "y": 0}},
                         "B": {"process_time": "100 s", "layout": {"x": 10, "y": 10}}, "AGV": f},
            "buffers": {"T": {"kind": "agv", "fleet": "AGV", "between": ["A", "B"], "capacity": 3}},
            "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}


def test_agv_travel_follows_the_shortest_path_on_the_network():
    """A -> W -> B is 10 + 10 m (the straight line, 14.1 m, is not an aisle): every transport
    takes 5 + 20 + 5 s from pickup to drop; the first vehicle drives 10 m empty from W to A."""
    res = twin.simulate(_agv())
    tr = res.extra_tables["physics_AGV"].to_pandas()
    assert len(tr) > 200
    assert np.allclose(tr["t_drop"] - tr["t_pickup"], 30.0)
    assert tr["loaded_m"].eq(20.0).all()
    assert tr["empty_m"].iloc[0] == pytest.approx(10.0)
    assert tr["t_pickup"].iloc[0] - tr["t_request"].iloc[0] == pytest.approx(10.0)
    # without a network the vehicles drive straight
    res2 = twin.simulate(_agv(network=None, home="A"))
    tr2 = res2.extra_tables["physics_AGV"].to_pandas()
    assert np.allclose(tr2["loaded_m"], math.hypot(10, 10))


def test_agv_nearest_idle_vehicle_is_dispatched():
    """Vehicle 1 waits at A, vehicle 2 far away: jobs at A go to the vehicle standing there."""
    d = _agv(vehicles=2, home="A")
    d["stations"]["AGV"]["network"]["nodes"]["FAR"] = [0, 100]
    d["stations"]["AGV"]["network"]["edges"].append(["W", "FAR"])
    res = twin.simulate(d)
    tr = res.extra_tables["physics_AGV"].to_pandas()
    assert tr["empty_m"].iloc[0] == 0.0


def test_agv_battery_charging():
    res = twin.simulate(_agv(battery={"capacity": "10 min", "charge_time": "30 min", "threshold": 0.3, "charger": "W"}))
    tr = res.extra_tables["physics_AGV"].to_pandas()
    charging = _code_time(res, "AGV", Code.PLANNED_MAINTENANCE)
    assert charging > 0
    charges = tr[tr["job"] == "charge"]
    assert len(charges) > 0
    assert (charges["to"] == "W").all() and (charges["part"] == -1).all()
    # every 7 min of driving (10 min down to 30 %) costs up to 30 min x 0.7 of charging
    driving = (tr["empty_m"].sum() + tr["loaded_m"].sum()) / 1.0
    assert charging == pytest.approx(driving / 420 * 0.7 * 1800, rel=0.35)


def test_agv_scenario_errors_name_the_field():
    d = _agv()
    d["stations"]["AGV"]["network"]["edges"].append(["W", "NOWHERE"])
    _rejects(d, "stations.AGV.network.edges[2]")
    d = _agv()
    d["buffers"]["T"]["fleet"] = "A"
    _rejects(d, "buffers.T.fleet")


def test_condition_based_maintenance_on_vibration_rms():
    """A policy reading the vibration RMS channel (which grows with flank wear): maintenance
    when it passes 2.1 m/s^2 = a0 (1 + 2 VB/VBcrit) sqrt(0.68) at VB/VBcrit ~ 0.8, so finished
    parts are never cut with a tool past ~0.8 of the criterion (plus one part of slack)."""
    d = copy.deepcopy(LATHE)
    d["stations"]["L1"]["maintenance"] = [{"when": "vibration_rms >= 2.1", "duration": "5 min", "scan": "5 s"}]
    res = twin.simulate(d)
    assert _code_time(res, "L1", Code.PLANNED_MAINTENANCE) >= 300
    vb = res.extra_tables["physics_L1"].to_pandas()["vb_finish_m"]
    rms = np.sqrt((1 + 2 * vb / 0.3e-3) ** 2 * (1 + 1 / 4 + 1 / 9) / 2 + 0.04)
    assert rms.max() < 2.1 * 1.08


def test_flex_cell_pools_are_consistent():
    """The flexible-cell example: nobody works more than the on-shift time, operators leave
    machines stopped by the shift end, and every transport starts where its part was made."""
    from pathlib import Path

    sc = twin.load(Path(__file__).resolve().parents[2] / "examples" / "flex_cell.yaml")
    res = twin.simulate(sc, horizon=4 * 86400.0)
    for name, p in res.kpis["pools"].items():
        assert 0.0 <= p["utilisation"] <= 1.0 + 1e-9, name
        assert p["mean_busy"] <= p["size"] * p["on_shift"] + 1e-9, name
    tr = res.extra_tables["physics_AGV"].to_pandas()
    tr = tr[tr["job"] == "move"]
    assert set(tr["from"]) <= {"LOAD", "MC1", "MC2", "MC3"} and set(tr["to"]) == {"MC1", "MC2", "MC3", "CMM"}
    assert (tr["t_drop"] - tr["t_pickup"] >= 40.0 - 1e-9).all()  # load + unload at least


def test_agv_drop_point_must_exist():
    d = _agv()
    d["buffers"]["T"]["drop"] = "DOCK"
    _rejects(d, "buffers.T.drop")


def test_condition_plan_names_a_tag_of_the_station():
    d = _pm_line(when="vibration_rms >= 2", duration="10 min")  # a generic machine has no vibration channel
    assert "vibration_rms" in _rejects(d, "stations.M.maintenance[0].when")
