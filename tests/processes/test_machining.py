"""Machining stations against the kernels: cycle time, tool changes vs Taylor life, cutting
speed effects, chatter scrap, and scenario errors."""

import copy
import math

import numpy as np
import pytest

import twin
import twin.kernels as K

BASE = {
    "name": "lathe", "horizon": 8 * 3600, "seed": 1,
    "stations": {"L1": {
        "kind": "cnc_lathe",
        "tools": {"T1": {"tool_material": "coated_carbide", "nose_radius": "0.8 mm"},
                  "T2": {"tool_material": "coated_carbide", "nose_radius": "0.4 mm"}},
        "load_unload": "20 s", "rapid": "4 s", "tool_index": "2 s", "tool_replace": "90 s",
        "power": {"processing": "3 kW", "idle": "1.5 kW"},
    }},
    "products": {"shaft": {"routing": [{"station": "L1", "operations": [
        {"type": "turning", "tool": "T1", "material": "C45", "vc": "250 m/min", "f": "0.3 mm", "ap": "2 mm", "length": "150 mm", "diameter": "50 mm"},
        {"type": "turning", "tool": "T2", "material": "C45", "vc": "300 m/min", "f": "0.1 mm", "ap": "0.5 mm", "length": "150 mm", "diameter": "46 mm", "finishing": True},
    ]}]}},
}


def _with(**cut_updates):
    d = copy.deepcopy(BASE)
    for k, v in cut_updates.items():
        d["products"]["shaft"]["routing"][0]["operations"][0][k] = v
    return d


def _cut_times(d):
    ops = d["products"]["shaft"]["routing"][0]["operations"]
    sc = twin.parse_scenario(d)
    cuts = sc.products["shaft"].routing[0].operations
    out = []
    for c in cuts:  # typed at load, in SI units
        out.append(K.turning_time_vc(c.length, c.diameter, c.f, c.vc))
    return out


def test_cycle_time_is_kernel_cutting_time_plus_overheads():
    res = twin.simulate(twin.parse_scenario(BASE))
    phys = res.extra_tables["physics_L1"].to_pandas()
    t1, t2 = _cut_times(BASE)
    expected = 20 + (4 + t1) + (4 + t2) + 2  # load/unload, rapid + cut per operation, one tool index
    first = phys.iloc[0]
    assert first["cut_s"] == pytest.approx(t1 + t2, rel=1e-12)
    assert first["cycle_s"] == pytest.approx(expected, rel=1e-12)
    # the station's operations take exactly that long (state log and ops log agree)
    ops = res.operations.to_pandas()
    assert (ops["t_end"] - ops["t_start"]).iloc[0] == pytest.approx(expected, rel=1e-12)
    # PRI is the nominal cycle: effectiveness stays at or below 1 (tool replacements are losses)
    assert res.kpis["stations"]["L1"]["effectiveness"] <= 1.0 + 1e-9


def test_tool_changes_match_cutting_time_over_taylor_life():
    d = copy.deepcopy(BASE)
    d["horizon"] = 5 * 24 * 3600
    res = twin.simulate(twin.parse_scenario(d))
    run_parts = res.kpis["stations"]["L1"]["PQ"]
    t1, t2 = _cut_times(d)
    n, C = K.get_tool("coated_carbide")
    T1 = K.taylor_life(250 / 60, n, C)
    T2 = K.taylor_life(300 / 60, n, C)
    expected = run_parts * t1 / T1 + run_parts * t2 / T2
    changes = int(res.extra_tables["physics_L1"].to_pandas()["tool_changes"].sum())
    assert expected > 20
    assert changes == pytest.approx(expected, rel=0.05)


def test_higher_cutting_speed_shorter_cycle_more_tool_changes_and_power():
    runs = {}
    for v in (200, 300):
        d = _with(vc=f"{v} m/min")
        d["horizon"] = 4 * 24 * 3600
        runs[v] = (d, twin.simulate(twin.parse_scenario(d)))
    (ds, slow), (df, fast) = runs[200], runs[300]
    ps, pf = (r.extra_tables["physics_L1"].to_pandas() for r in (slow, fast))
    ts, tf = _cut_times(ds), _cut_times(df)
    assert pf["cut_s"].iloc[0] == pytest.approx(sum(tf)) and ps["cut_s"].iloc[0] == pytest.approx(sum(ts))
    assert tf[0] == pytest.approx(ts[0] * 200 / 300)  # cutting time ~ 1/vc
    assert fast.kpis["line"]["parts_completed"] > slow.kpis["line"]["parts_completed"]
    # tool changes per part follow the life fractions sum(t_i / T_i) (T1 wears (3/2)^3 faster per part)
    n, C = K.get_tool("coated_carbide")
    per_part = lambda p: p["tool_changes"].sum() / len(p)
    expect = lambda t, v1: t[0] / K.taylor_life(v1 / 60, n, C) + t[1] / K.taylor_life(300 / 60, n, C)
    assert per_part(ps) == pytest.approx(expect(ts, 200), rel=0.1)
    assert per_part(pf) == pytest.approx(expect(tf, 300), rel=0.1)
    assert per_part(pf) / per_part(ps) == pytest.approx(expect(tf, 300) / expect(ts, 200), rel=0.1)
    assert expect(tf, 300) / expect(ts, 200) > 1.15
    # Kienzle: cutting energy per part does not depend on vc (Fc pi D L / f); power rises with vc
    assert pf["energy_J"].iloc[0] == pytest.approx(ps["energy_J"].iloc[0], rel=1e-9)
    e_rate = lambda r: r.kpis["stations"]["L1"]["energy_J"] / r.horizon
    assert e_rate(fast) > e_rate(slow)


def test_unstable_depth_raises_scrap():
    d = copy.deepcopy(BASE)
    d["stations"]["L1"]["dynamics"] = {"k": 2e8, "zeta": 0.03, "fn": 800, "chatter_scrap": 0.5}
    stable = twin.simulate(twin.parse_scenario(d))
    k, zeta, fn = 2e8, 0.03, 800
    ks = K.kienzle_specific_force(0.3e-3 * math.sin(math.radians(95)), 1.5e9, 0.22)
    blim = K.b_lim_min(k, zeta, ks)
    assert 2e-3 < blim  # the programmed 2 mm is stable on this machine
    d2 = copy.deepcopy(d)
    d2["stations"]["L1"]["dynamics"]["k"] = 2e7  # a ten times softer set-up: 2 mm chatters
    assert 2e-3 > K.b_lim_min(2e7, zeta, ks)
    chatter = twin.simulate(twin.parse_scenario(d2))
    s0 = stable.kpis["stations"]["L1"]["scrap_ratio"]
    s1 = chatter.kpis["stations"]["L1"]["scrap_ratio"]
    assert s0 == 0.0 and s1 == pytest.approx(0.5, abs=0.1)
    assert not chatter.extra_tables["physics_L1"].to_pandas()["stable"].any()


def test_worn_tool_roughens_the_surface_until_replaced():
    d = copy.deepcopy(BASE)
    d["horizon"] = 2 * 24 * 3600
    p = twin.simulate(twin.parse_scenario(d)).extra_tables["physics_L1"].to_pandas()
    assert p["ra_m"].max() > 1.5 * p["ra_m"].min()
    r0 = K.ra_theoretical(0.1e-3, 0.4e-3, K.RA_CONST_TEXTBOOK)
    assert p["ra_m"].min() >= r0


def test_scenario_errors_name_the_cut():
    d = copy.deepcopy(BASE)
    ops = d["products"]["shaft"]["routing"][0]["operations"]
    ops[0]["tool"] = "T9"
    ops[1]["material"] = "Unobtainium"
    f = ops[1].pop("f")
    ops[1]["fz"] = "0.1 mm"  # a milling field on a turning cut
    d["stations"]["L1"]["rated_power"] = 1000.0
    with pytest.raises(twin.ScenarioError) as e:  # the operations are typed at load: their schema first
        twin.parse_scenario(d)
    assert dict(e.value.errors) == {"products.shaft.routing[0].operations[1].f": "Field required",
                                    "products.shaft.routing[0].operations[1].fz":
                                        "unknown field (check the spelling; `twin schema` lists the fields)"}
    ops[1]["f"] = f
    del ops[1]["fz"]
    with pytest.raises(twin.ScenarioError) as e:  # then what they name
        twin.parse_scenario(d)
    errs = dict(e.value.errors)
    assert "T9" in errs["products.shaft.routing[0].operations[0].tool"]
    assert "Unobtainium" in errs["products.shaft.routing[0].operations[1].material"]
    assert any("kW" in m and "rated" in m for m in errs.values())
