"""Facing, boring, grooving, threading and hole patterns on the machining stations: cycle times
from the kernels, wear from cutting time only, the bore deviation an inspection measures, and
scenario errors naming the field."""

import copy
import math

import numpy as np
import pytest

import twin
import twin.kernels as K

M = "P265GH"
LATHE_OPS = [
    {"type": "facing", "tool": "T1", "material": M, "vc": "220 m/min", "f": "0.2 mm", "ap": "1 mm", "diameter": "215 mm",
     "inner_diameter": "60 mm", "max_rpm": "800 rpm"},
    {"type": "turning", "tool": "T1", "material": M, "vc": "220 m/min", "f": "0.25 mm", "ap": "1.5 mm", "length": "22 mm",
     "diameter": "215 mm", "finishing": True},
    {"type": "boring", "tool": "B", "material": M, "vc": "180 m/min", "f": "0.12 mm", "ap": "0.5 mm", "length": "22 mm",
     "diameter": "62 mm"},
    {"type": "grooving", "tool": "G", "material": M, "vc": "120 m/min", "f": "0.06 mm", "width": "3 mm", "diameter": "215 mm",
     "groove_diameter": "205 mm"},
    {"type": "threading", "tool": "TH", "material": M, "vc": "100 m/min", "pitch": "1.5 mm", "length": "15 mm",
     "diameter": "62 mm", "passes": 6, "external": False},
]
LATHE = {"kind": "cnc_lathe", "load_unload": "20 s", "rapid": "3 s", "tool_index": "2 s", "rated_power": "30 kW",
         "tools": {"T1": {"tool_material": "coated_carbide", "nose_radius": "0.8 mm"},
                   "B": {"tool_material": "coated_carbide", "nose_radius": "0.4 mm", "overhang": "120 mm", "bar_diameter": "25 mm"},
                   "G": {"tool_material": "carbide"}, "TH": {"tool_material": "carbide"}}}
DRILL_OP = {"type": "drilling", "tool": "D", "material": M, "vc": "80 m/min", "f": "0.15 mm", "cutter_diameter": "18 mm",
            "depth": "22 mm", "pattern": {"holes": 8, "pitch_diameter": "170 mm"}}
DRILL = {"kind": "drill", "load_unload": "15 s", "rapid": "2 s", "rapid_traverse": "20 m/min", "tools": {"D": {"tool_material": "carbide"}}}


def line(horizon="8 h", lathe_ops=LATHE_OPS, drill_op=DRILL_OP, inspect=None, **stations):
    st = {"L": copy.deepcopy(LATHE), "DR": copy.deepcopy(DRILL), **stations}
    routing = [{"station": "L", "operations": copy.deepcopy(lathe_ops)}, {"station": "DR", "operations": [copy.deepcopy(drill_op)]}]
    if inspect:
        st["CMM"] = inspect
        routing.append({"station": "CMM"})
    return {"horizon": horizon, "seed": 4, "stations": st, "products": {"flange": {"routing": routing}}}


def lathe_times():
    m = K.get_material(M)
    t_face = K.facing_time(0.215, 0.060, 0.2e-3, 220 / 60, 800 / 60)
    t_turn = K.turning_time_vc(0.022, 0.215, 0.25e-3, 220 / 60)
    t_bore = K.turning_time_vc(0.022, 0.062, 0.12e-3, 180 / 60)
    t_groove = K.facing_time(0.215, 0.205, 0.06e-3, 120 / 60, 0.0)
    t_thread = K.threading_time(0.015, 1.5e-3, 6, 100 / 60, 0.062)
    return [t_face, t_turn, t_bore, t_groove, t_thread], m


def test_lathe_cycle_is_the_sum_of_the_kernel_times_of_each_operation():
    res = twin.simulate(line())
    phys = res.extra_tables["physics_L"].to_pandas()
    times, _ = lathe_times()
    # by hand: facing at constant vc down to Dc = vc / (pi 800 rpm) = 87.5 mm, then at 800 rpm (Kyocera)
    Dc = 220 / 60 / (math.pi * 800 / 60)
    assert 0.060 < Dc < 0.215
    assert times[0] == pytest.approx(math.pi * (0.215 ** 2 - Dc ** 2) / (4 * 0.2e-3 * 220 / 60)
                                     + (Dc - 0.060) / (2 * 0.2e-3 * 800 / 60), rel=1e-12)
    assert times[4] == pytest.approx(6 * 0.015 / (1.5e-3 * (100 / 60) / (math.pi * 0.062)), rel=1e-12)
    switches = 3  # T1 T1 B G TH
    expected = 20 + sum(3 + t for t in times) + 2 * switches
    assert phys["cut_s"].iloc[0] == pytest.approx(sum(times), rel=1e-12)
    assert phys["cycle_s"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert res.pri_table["L"][(0, 0)] == pytest.approx(expected, rel=1e-12)


def test_a_bolt_circle_is_one_line_whose_time_is_the_holes_plus_the_rapid_path():
    res = twin.simulate(line())
    t_hole = K.drilling_time(0.022, 0.018, 0.15e-3, 80 / 60, math.radians(118))
    chord = 0.170 * math.sin(math.pi / 8)
    expected = 15 + 2 + 8 * t_hole + 7 * chord / (20 / 60)
    phys = res.extra_tables["physics_DR"].to_pandas()
    assert phys["cycle_s"].iloc[0] == pytest.approx(expected, rel=1e-12)
    # the tool wears by the cutting of eight holes, not by the moves
    assert phys["cut_s"].iloc[0] == pytest.approx(8 * t_hole, rel=1e-12)
    run = twin.Run(line(horizon="2 h"))
    res = run.run()
    n, C = K.get_tool("carbide")
    life = K.taylor_life(80 / 60, n, C)
    started = res.extra_tables["physics_DR"].num_rows  # the wear of a part is booked when it starts
    assert started > 40 and run.stations["DR"].tool_changes == 0
    assert run.stations["DR"].tool_frac[0, 0] == pytest.approx(started * 8 * t_hole / life, rel=1e-9)


def test_the_rapid_traverse_sets_the_pattern_time_and_eight_lines_cost_more_rapids():
    slow = line()
    slow["stations"]["DR"]["rapid_traverse"] = "5 m/min"
    c_fast = twin.simulate(line()).extra_tables["physics_DR"].to_pandas()["cycle_s"].iloc[0]
    c_slow = twin.simulate(slow).extra_tables["physics_DR"].to_pandas()["cycle_s"].iloc[0]
    path = K.bolt_circle_path(0.170, 8)
    assert c_slow - c_fast == pytest.approx(path / (5 / 60) - path / (20 / 60), rel=1e-9)
    eight = line()
    single = {k: v for k, v in DRILL_OP.items() if k != "pattern"}
    eight["products"]["flange"]["routing"][1]["operations"] = [copy.deepcopy(single) for _ in range(8)]
    del eight["stations"]["DR"]["rapid_traverse"]  # no pattern here: the setting would be refused
    c_eight = twin.simulate(eight).extra_tables["physics_DR"].to_pandas()["cycle_s"].iloc[0]
    t_hole = K.drilling_time(0.022, 0.018, 0.15e-3, 80 / 60, math.radians(118))
    assert c_eight == pytest.approx(15 + 8 * (2 + t_hole), rel=1e-12)


def test_the_bore_deviation_is_bar_deflection_and_wear_and_an_inspection_measures_it():
    cmm = {"kind": "inspection", "measures": "L.bore", "tolerance": "25 um", "process_time": 40, "rework_oversize": False}
    res = twin.simulate(line(horizon="1 d", inspect=cmm))
    f = res.extra_tables["features"].to_pandas()
    got = f[(f["station"] == "L") & (f["feature"] == "bore")].sort_values("part")["value"].to_numpy()
    assert set(f[f["station"] == "L"]["feature"].astype(str)) == {"ra", "vb", "stable", "broken", "diameter", "bore"}
    # independently: radial force 0.3 Fc (Kienzle, turning chip) on a 25 mm steel bar at 120 mm
    m = K.get_material(M)
    fc = m.kc11 * 0.5e-3 / math.sin(math.radians(95)) * (0.12e-3 * math.sin(math.radians(95)))
    fc *= (0.12e-3 * math.sin(math.radians(95)) / 1e-3) ** (-m.mc)
    y = 0.3 * fc * 0.120 ** 3 / (3 * 210e9 * math.pi * 0.025 ** 4 / 64)
    n, C = K.get_tool("coated_carbide")
    life = K.taylor_life(3.0, n, C)
    t_bore = K.turning_time_vc(0.022, 0.062, 0.12e-3, 3.0)
    vb1 = K.flank_wear_vb(t_bore, life, 0.3e-3)
    assert got[0] == pytest.approx(-2 * y - 2 * vb1 * math.tan(math.radians(7)), rel=1e-9)
    assert y > 5e-6 and (np.diff(got[:50]) < 0).all()  # undersize from the start, growing with wear
    # the CMM's true value is the lathe's bore record; parts beyond 25 um undersize are scrapped
    cm = f[(f["station"] == "CMM") & (f["feature"] == "true")].set_index("part")["value"]
    lb = f[(f["station"] == "L") & (f["feature"] == "bore")].set_index("part")["value"]
    assert np.array_equal(cm.to_numpy(), lb.loc[cm.index].to_numpy())
    ops = res.operations.to_pandas()
    verdict = ops[ops["resource"] == "CMM"].set_index("part")["outcome"]
    assert ((verdict == "scrap") == (lb.loc[verdict.index].abs() > 25e-6)).all()
    assert (verdict == "scrap").any() and (verdict == "good").any()


def test_a_stiffer_bar_bores_closer_to_size():
    stiff = line()
    stiff["stations"]["L"]["tools"]["B"]["bar_modulus"] = "600 GPa"  # carbide shank
    dev = {}
    for name, d in (("steel", line()), ("carbide", stiff)):
        f = twin.simulate(d).extra_tables["features"].to_pandas()
        dev[name] = f[f["feature"] == "bore"]["value"].iloc[0]
    assert dev["steel"] < dev["carbide"] < 0
    # same wear, deflection ~ 1/E: the difference is twice the steel bar's deflection x (1 - 210/600)
    m = K.get_material(M)
    y_steel = K.boring_bar_deflection(0.3 * K.turning_force(0.12e-3, 0.5e-3, math.radians(95), m.kc11, m.mc), 0.12, 0.025, 210e9)
    assert dev["carbide"] - dev["steel"] == pytest.approx(2 * y_steel * (1 - 210 / 600), rel=1e-9)


def test_grooving_and_threading_leave_no_surface_to_finish():
    ops = [LATHE_OPS[3], LATHE_OPS[4]]
    d = line(lathe_ops=ops)
    d["stations"]["L"]["tools"] = {"G": {"tool_material": "carbide"}, "TH": {"tool_material": "carbide"}}
    res = twin.simulate(d)
    f = res.extra_tables["features"].to_pandas()
    assert set(f[f["station"] == "L"]["feature"].astype(str)) == {"stable", "broken"}
    bad = line(lathe_ops=ops, inspect={"kind": "inspection", "measures": "L.ra", "tolerance": "3 um", "process_time": 30})
    bad["stations"]["L"]["tools"] = d["stations"]["L"]["tools"]
    with pytest.raises(twin.ScenarioError, match="records broken, stable, not 'ra'"):
        twin.parse_scenario(bad)


def _err(d):
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    return {p: m for p, m in e.value.errors}


def test_operations_a_station_cannot_run_are_refused_with_their_path():
    d = line(drill_op={**LATHE_OPS[0], "tool": "D"})
    errs = _err(d)
    assert "facing needs a cnc_lathe" in errs["products.flange.routing[1].operations[0].type"]


@pytest.mark.parametrize("where,value,path,text", [
    (("stations", "DR", "rapid_traverse"), None, "stations.DR.rapid_traverse", "no drilling cut here has a hole pattern"),
    (("stations", "L", "tools", "T1", "overhang"), "100 mm", "stations.L.tools.T1", "needs both overhang and bar_diameter"),
    (("stations", "L", "tools", "T1", "bar_modulus"), "600 GPa", "stations.L.tools.T1", "only used with a boring bar"),
    (("pattern", "spacing"), "40 mm", "products.flange.routing[1].operations[0].pattern", "one of them"),
    (("pattern", "holes"), 1, "products.flange.routing[1].operations[0].pattern.holes", "greater than or equal to 2"),
    (("threading", "passes"), 1, "products.flange.routing[0].operations[4].passes", "greater than or equal to 2"),
    (("facing", "inner_diameter"), "300 mm", "products.flange.routing[0].operations[0]", "smaller than diameter"),
    (("facing", "max_rpm"), "3000 furlongs", "products.flange.routing[0].operations[0].max_rpm", "is not a frequency"),
])
def test_bad_settings_name_their_field(where, value, path, text):
    d = line()
    if where[0] == "stations":
        node = d
        for k in where[:-1]:
            node = node[k]
        if value is None:  # rapid_traverse without a pattern
            d["products"]["flange"]["routing"][1]["operations"][0].pop("pattern")
        else:
            node[where[-1]] = value
    elif where[0] == "pattern":
        d["products"]["flange"]["routing"][1]["operations"][0]["pattern"][where[1]] = value
    else:
        idx = {"facing": 0, "threading": 4}[where[0]]
        d["products"]["flange"]["routing"][0]["operations"][idx][where[1]] = value
    errs = _err(d)
    assert path in errs, errs
    assert text in errs[path]


def test_an_unused_boring_bar_is_refused():
    d = line()
    d["stations"]["L"]["tools"]["T1"].update({"overhang": "100 mm", "bar_diameter": "20 mm"})
    assert "makes no boring cut" in _err(d)["stations.L.tools.T1.overhang"]


def test_spindle_speeds_read_rpm():
    sc = twin.parse_scenario(line())
    assert sc.products["flange"].routing[0].operations[0].max_rpm == pytest.approx(800 / 60)
