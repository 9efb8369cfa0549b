"""Specs mirror runtimes: every field of every registered station and buffer kind either changes
what the simulation does, or is rejected at load with an error naming it.

The field list is generated: the test walks the JSON Schema of every kind in the registry
(nested models, list items and map values included), so a field added to a kind is tested the
moment it exists. Each field needs a *probe*: a value to set (and, where the field only acts in
some context, that context: a second product for changeovers, failures for ``power.down``...).
Simple numeric, boolean and choice fields are probed automatically from their schema (the
default moved within its bounds, the other boolean, another choice); the rest are listed in
``PROBES`` below. A field without a probe fails the test with a message saying so.

"Changes what the simulation does" means the run's signature differs from the same scenario
without the setting: the state log, operations, parts, levels, failures and every extra table
(physics, features, pools, transports), the KPIs, the tags at the end, and, for presentation
fields (``layout``), the plant picture's station and buffer positions.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pytest

import twin
from twin.registry import registry

# ---- the field list, from the schema -----------------------------------------------------------------


def _fields(model) -> list[tuple[str, dict]]:
    """(dotted path, schema) of every field: ``failures.[].basis``, ``tools.*.vb_max``."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    out: list[tuple[str, dict]] = []

    def deref(s):
        return defs[s["$ref"].split("/")[-1]] if "$ref" in s else s

    def objects(s):
        s = deref(s)
        if "anyOf" in s:
            for a in s["anyOf"]:
                yield from objects(a)
        elif s.get("type") == "object" and "properties" in s and "dist" not in s.get("properties", {}):
            yield "", s
        elif s.get("type") == "object" and isinstance(s.get("additionalProperties"), dict):
            for sub, o in objects(s["additionalProperties"]):
                yield "*." + sub, o
        elif s.get("type") == "array" and isinstance(s.get("items"), dict):
            for sub, o in objects(s["items"]):
                yield "[]." + sub, o

    def walk(s, prefix):
        for sub, obj in objects(s):
            for k, v in obj["properties"].items():
                path = prefix + sub + k
                out.append((path, v))
                walk(v, path + ".")

    walk(schema, "")
    return [(p, s) for p, s in out if p != "kind"]


def _all_fields():
    out = []
    for k in registry.kinds():
        if k.category not in ("station", "buffer"):
            continue
        for path, schema in _fields(k.spec):
            out.append((k.name, k.category, path, schema))
    return out


# ---- a small plant around the station (or buffer) under test: X ---------------------------------------
SHIFTS = {"start": "mon 06:00", "shifts": [{"name": "early", "start": "06:00", "end": "14:00"},
                                           {"name": "late", "start": "14:00", "end": "22:00"}],
          "breaks": [{"start": "10:00", "duration": "30 min"}]}
TOOLS = {"R": {"tool_material": "coated_carbide"}, "F": {"tool_material": "cermet"}}
TURN = [{"type": "turning", "tool": "R", "material": "C45", "vc": "200 m/min", "f": "0.3 mm", "ap": "2 mm",
         "length": "150 mm", "diameter": "50 mm"},
        {"type": "turning", "tool": "F", "material": "C45", "vc": "250 m/min", "f": "0.1 mm", "ap": "0.3 mm",
         "length": "150 mm", "diameter": "46 mm", "finishing": True}]
MILL = [{"type": "milling", "tool": "R", "material": "C45", "vc": "150 m/min", "fz": "0.1 mm", "ap": "3 mm", "ae": "10 mm",
         "cutter_diameter": "20 mm", "teeth": 4, "length": "120 mm"},
        {"type": "drilling", "tool": "F", "material": "C45", "vc": "60 m/min", "f": "0.15 mm", "cutter_diameter": "8 mm",
         "depth": "25 mm"}]
DRILL = [{"type": "drilling", "tool": "R", "material": "C45", "vc": "60 m/min", "f": "0.15 mm", "cutter_diameter": "8 mm",
          "depth": "25 mm"},
         {"type": "drilling", "tool": "F", "material": "C45", "vc": "40 m/min", "f": "0.1 mm", "cutter_diameter": "12 mm",
          "depth": "20 mm"}]
STROKES = [{"type": "blanking", "material": "DC04", "thickness": "2 mm", "perimeter": "400 mm"}]
SEAMS = [{"type": "weld", "process": "MAG", "voltage": 24, "current": 220, "travel_speed": "6 mm/s", "length": "200 mm",
          "thickness": "8 mm"}]
OPS = {"cnc_lathe": TURN, "cnc_mill": MILL, "drill": DRILL, "press": STROKES, "weld_cell": SEAMS}


def base(kind: str, category: str) -> dict:
    """An 8-hour, two-shift plant: A -> X -> B for stations, A -> [X] -> B for buffers, two products."""
    sc: dict[str, Any] = {"horizon": "1 d", "seed": 5, "calendar": copy.deepcopy(SHIFTS),
                          "stations": {"A": {"process_time": {"dist": "exponential", "mean": 60}},
                                       "B": {"process_time": {"dist": "exponential", "mean": 50}}},
                          "products": {"a": {"mix": 2, "routing": [{"station": "A"}, {"station": "X"}, {"station": "B"}]},
                                       "b": {"mix": 1, "routing": [{"station": "A"}, {"station": "X"}, {"station": "B"}]}}}
    if category == "buffer":
        for p in sc["products"].values():
            p["routing"] = [{"station": "A"}, {"station": "B"}]
        sc["buffers"] = {"X": {"kind": kind, "between": ["A", "B"], "capacity": 3}}
        if kind == "conveyor":
            sc["buffers"]["X"] = {"kind": kind, "between": ["A", "B"], "length": "6 m", "speed": "0.2 m/s"}
        if kind == "agv":
            sc["stations"]["A"]["layout"] = {"x": 0, "y": 0}
            sc["stations"]["B"]["layout"] = {"x": 20, "y": 0}
            sc["stations"]["V"] = {"kind": "agv_fleet", "speed": "1 m/s", "load_time": 10, "unload_time": 10}
            sc["buffers"]["X"]["fleet"] = "V"
        return sc
    x: dict[str, Any] = {"kind": kind}
    if kind in OPS:
        if kind in ("cnc_lathe", "cnc_mill", "drill"):
            x["tools"] = copy.deepcopy(TOOLS)
        if kind == "press":
            x["force_capacity"] = "1000 kN"
        for p in sc["products"].values():
            p["routing"][1]["operations"] = copy.deepcopy(OPS[kind])
    elif kind == "furnace":
        x.update({"set_temperature": "860 degC", "radius": "15 mm", "batch_size": 6, "soak": "20 min", "max_wait": "1 h"})
    elif kind == "robot":
        x.update({"load_time": 8, "unload_time": 8})
        sc["stations"]["A"]["loader"] = "X"
        sc["stations"]["B"]["loader"] = "X"
        for p in sc["products"].values():
            p["routing"] = [{"station": "A"}, {"station": "B"}]
    elif kind == "agv_fleet":
        x.update({"speed": "1 m/s"})
        sc["stations"]["A"]["layout"] = {"x": 0, "y": 0}
        sc["stations"]["B"]["layout"] = {"x": 25, "y": 0}
        sc["buffers"] = {"T": {"kind": "agv", "fleet": "X", "between": ["A", "B"], "capacity": 3}}
        for p in sc["products"].values():
            p["routing"] = [{"station": "A"}, {"station": "B"}]
    elif kind == "inspection":
        x.update({"process_time": 40, "tolerance": "10 um", "feature_sd": "8 um"})
    else:
        x["process_time"] = {"dist": "exponential", "mean": 55}
    sc["stations"]["X"] = x
    return sc


# ---- probes: (context, set) -------------------------------------------------------------------------
Fn = Callable[[dict], None]


def _x(sc):
    return sc["buffers"]["X"] if "X" in sc.get("buffers", {}) else sc["stations"]["X"]


def setv(path: str, value) -> Fn:
    """Set ``path`` of X (``a.b`` for nested models, ``failures.[].name`` for the first list item,
    ``tools.*.vb_max`` for every map value)."""

    def fn(sc):
        nodes = [_x(sc)]
        parts = path.split(".")
        for p in parts[:-1]:
            nxt = []
            for n in nodes:
                if p == "[]":
                    nxt.append(n[0])
                elif p == "*":
                    nxt.extend(n.values())
                else:
                    n.setdefault(p, {})
                    nxt.append(n[p])
            nodes = nxt
        for n in nodes:
            n[parts[-1]] = copy.deepcopy(value)

    return fn


def both(*fns: Fn) -> Fn:
    def fn(sc):
        for f in fns:
            f(sc)
    return fn


def scenario(key, value) -> Fn:
    def fn(sc):
        sc[key] = copy.deepcopy(value)
    return fn


def nothing(sc):
    pass


FAIL = {"basis": "operating", "tbf": {"dist": "exponential", "mean": "2 h"}, "ttr": {"dist": "exponential", "mean": "20 min"}}
FAIL_A = {"basis": "calendar", "availability": 0.9, "mttr": "15 min"}
with_failure = setv("failures", [FAIL])
with_avail = setv("failures", [FAIL_A])
crews = scenario("crews", {"fitters": {"size": 1}})
operators = scenario("operators", {"ops": {"size": 1, "skills": ["run"]}})
pm_every = setv("maintenance", [{"every": "2 h", "duration": "15 min"}])
pm_cycles = setv("maintenance", [{"cycles": 20, "duration": "15 min"}])
pm_when = setv("maintenance", [{"when": "part_count_all >= 10", "duration": "15 min"}])
_orders_due = scenario("release", {"kind": "orders", "orders": [
    {"product": "a", "quantity": 40, "release": 0, "due": "6 h"}, {"product": "b", "quantity": 40, "release": 60, "due": "3 h"}]})


def orders_due(sc):
    _orders_due(sc)
    for p in sc["products"].values():
        p.pop("mix", None)  # orders set the quantities
changeover = setv("setup", {"default": "5 min"})


def _robot(sc):
    sc["stations"]["R"] = {"kind": "robot", "load_time": 5, "unload_time": 5}


def _other_calendar(sc):
    sc["calendars"] = {"three": {"shifts": [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00"},
                                            {"start": "22:00", "end": "06:00"}]}}
    sc["stations"]["A"]["calendar"] = "three"


def _layouts(sc):
    for s in sc["stations"].values():
        s.setdefault("layout", {"x": 0, "y": 0})


def _fast_feed(sc):
    """A feeds X quickly: X is busy, its queue grows (dispatch rules, breaks mid-cycle)."""
    sc["stations"]["A"]["process_time"] = 5


def _robot_for_b(sc):
    _robot(sc)
    sc["stations"]["B"]["loader"] = "R"


# path -> (context, set[, expected error path prefix for settings that only validate])
COMMON = {
    "layout": (nothing, setv("layout", {"x": 7, "y": 3})),
    "layout.x": (setv("layout", {"x": 1, "y": 1}), setv("layout.x", 9)),
    "layout.y": (setv("layout", {"x": 1, "y": 1}), setv("layout.y", 9)),
    "layout.rotation": (setv("layout", {"x": 1, "y": 1}), setv("layout.rotation", 90)),
    "power": (nothing, setv("power", {"processing": "5 kW"})),
    "power.setup": (lambda sc: changeover(sc) if _x(sc)["kind"] not in ("furnace", "robot", "agv_fleet") else None,
                    setv("power.setup", "3 kW")),
    "power.down": (with_failure, setv("power.down", "3 kW")),
    "failures": (nothing, setv("failures", [FAIL])),
    "failures.[].name": (with_failure, setv("failures.[].name", "spindle")),
    "failures.[].basis": (with_failure, setv("failures.[].basis", "calendar")),
    "failures.[].tbf": (with_failure, setv("failures.[].tbf", {"dist": "constant", "value": "90 min"})),
    "failures.[].ttr": (with_failure, setv("failures.[].ttr", {"dist": "constant", "value": "1 h"})),
    "failures.[].availability": (with_avail, setv("failures.[].availability", 0.7)),
    "failures.[].mttr": (with_avail, setv("failures.[].mttr", "40 min")),
    "failures.[].crew": (both(with_failure, crews), setv("failures.[].crew", "fitters")),
    "calendar": (_other_calendar, setv("calendar", "three")),
}
MACHINE = {
    "capacity": (nothing, setv("capacity", 2)),
    "process_time": (nothing, setv("process_time", 30)),
    "ideal_cycle_time": (nothing, setv("ideal_cycle_time", 47)),
    "setup": (nothing, setv("setup", {"default": "5 min"})),
    "setup.default": (nothing, setv("setup.default", "5 min")),
    "setup.initial": (nothing, setv("setup.initial", "10 min")),
    "setup.changes": (nothing, setv("setup.changes", {"a": {"b": "8 min"}})),
    "scrap": (nothing, setv("scrap", 0.1)),
    "rework": (nothing, setv("rework", 0.1)),
    "dispatch": (both(orders_due, _fast_feed), setv("dispatch", "edd")),
    "operator": (operators, setv("operator", {"skill": "run"})),
    "operator.skill": (operators, setv("operator", {"skill": "run"})),
    "operator.pool": (operators, setv("operator", {"pool": "ops"})),
    "operator.during": (both(operators, changeover, setv("operator", {"skill": "run"})), setv("operator.during", "setup")),
    "operator.load_time": (operators, setv("operator", {"skill": "run", "during": "load", "load_time": 20})),
    "loader": (_robot_for_b, setv("loader", "R")),
    "maintenance": (nothing, setv("maintenance", [{"every": "2 h", "duration": "15 min"}])),
    "maintenance.[].name": (pm_when, setv("maintenance.[].name", "check")),
    "maintenance.[].every": (pm_every, setv("maintenance.[].every", "3 h")),
    "maintenance.[].basis": (pm_every, setv("maintenance.[].basis", "calendar")),
    "maintenance.[].cycles": (pm_cycles, setv("maintenance.[].cycles", 7)),
    "maintenance.[].when": (pm_when, setv("maintenance.[].when", "part_count_all >= 25")),
    "maintenance.[].scan": (pm_when, setv("maintenance.[].scan", "173 s")),  # (not a divisor of the default)
    "maintenance.[].duration": (pm_every, setv("maintenance.[].duration", "40 min")),
    "maintenance.[].crew": (both(pm_every, crews), setv("maintenance.[].crew", "fitters")),
    "shift_end": (_fast_feed, setv("shift_end", "finish")),
}
def _boring(sc):
    """A lathe or machining centre also bores with tool F (a boring bar takes overhang and bar_diameter)."""
    if _x(sc)["kind"] in ("cnc_lathe", "cnc_mill"):
        for p in sc["products"].values():
            p["routing"][1]["operations"].append({"type": "boring", "tool": "F", "material": "C45", "vc": "200 m/min",
                                                  "f": "0.1 mm", "ap": "0.5 mm", "length": "40 mm", "diameter": "30 mm"})


def _bar(sc):
    """Tool F is a boring bar where the kind bores (a drill's tools are no boring bars: the setting is refused)."""
    if _x(sc)["kind"] in ("cnc_lathe", "cnc_mill"):
        _boring(sc)
        _x(sc)["tools"]["F"].update({"overhang": "100 mm", "bar_diameter": "16 mm"})


def _pattern(sc):
    """The drilling cuts are bolt circles (rapid_traverse moves the drill between the holes)."""
    for p in sc["products"].values():
        for op in p["routing"][1]["operations"]:
            if op["type"] == "drilling":
                op["pattern"] = {"holes": 6, "pitch_diameter": "120 mm"}


PHYSICS = {
    "tools": (nothing, setv("tools", {"R": {"tool_material": "HSS"}, "F": {"tool_material": "cermet"}})),
    "tools.*.tool_material": (nothing, setv("tools.*.tool_material", "carbide")),
    "tools.*.taylor_n": (nothing, setv("tools.*.taylor_n", 0.3)),
    "tools.*.taylor_C": (nothing, setv("tools.*.taylor_C", 300)),
    "tools.*.max_parts": (both(setv("tools.*.policy", "count"), setv("tools.*.max_parts", 5)), setv("tools.*.max_parts", 3)),
    "tools.*.policy": (nothing, both(setv("tools.*.policy", "count"), setv("tools.*.max_parts", 3))),
    "tools.*.breakage_rate": (nothing, setv("tools.*.breakage_rate", 2e-3)),
    "breakage_repair": (setv("tools.*.breakage_rate", 2e-3), setv("breakage_repair", "1 h")),
    "tool_replace": (setv("tools.*.taylor_C", 150), setv("tool_replace", "10 min")),
    "dynamics": (nothing, setv("dynamics", {"k": 1e6, "zeta": 0.02, "fn": 300})),
    # stable near the limit (k per kind), so that the stiffness and the damping decide
    "dynamics.k": (lambda sc: _near_limit(sc), setv("dynamics.k", 1e6)),
    "dynamics.zeta": (lambda sc: _near_limit(sc), setv("dynamics.zeta", 0.005)),
    # the natural frequency sets the chatter tone of the recorded vibration
    "dynamics.fn": (lambda sc: (setv("dynamics", {"k": 1e6, "zeta": 0.02, "fn": 300})(sc),
                                sc.update(recording={"stations": ["X"], "start": 0, "stop": "1 h", "window": "2 s"})),
                    setv("dynamics.fn", 800)),
    "dynamics.chatter_scrap": (setv("dynamics", {"k": 1e6, "zeta": 0.02, "fn": 300}), setv("dynamics.chatter_scrap", 0.9)),
    "quality": (nothing, setv("quality", {"ra_max": "0.1 um"})),
    "quality.ra_max": (nothing, setv("quality.ra_max", "0.1 um")),
    # a finished diameter exists only where a turning cut finishes (refused elsewhere)
    "quality.diameter_tol": (lambda sc: _x(sc)["kind"] == "cnc_lathe" and setv("quality", {"thermal_dT": 10})(sc),
                             setv("quality.diameter_tol", "5 um")),
    "quality.thermal_dT": (lambda sc: _x(sc)["kind"] == "cnc_lathe" and setv("quality", {"diameter_tol": "5 um"})(sc),
                           setv("quality.thermal_dT", 20)),
    "quality.ra_wear_factor": (setv("quality", {"ra_max": "0.8 um"}), setv("quality.ra_wear_factor", 5)),
    "rated_power": (nothing, setv("rated_power", "50 kW")),
    # physics steps time themselves: a station process_time with no step to use it is refused
    "process_time": (nothing, setv("process_time", 30)),
    # a boring bar bends under the cutting force: the bore deviation changes (a drill bores nothing: refused)
    "tools.*.overhang": (_boring, both(setv("tools.F.overhang", "100 mm"), setv("tools.F.bar_diameter", "16 mm"))),
    "tools.*.bar_diameter": (_boring, both(setv("tools.F.overhang", "100 mm"), setv("tools.F.bar_diameter", "16 mm"))),
    "tools.*.bar_modulus": (_bar, setv("tools.F.bar_modulus", "600 GPa")),
    "tools.*.radial_force_ratio": (_bar, setv("tools.F.radial_force_ratio", 0.5)),
    # the moves between the holes of a pattern (a lathe here drills nothing: refused)
    "rapid_traverse": (lambda sc: _x(sc)["kind"] != "cnc_lathe" and _pattern(sc), setv("rapid_traverse", "5 m/min")),
}
def _near_limit(sc):
    k = {"cnc_lathe": 1e8, "cnc_mill": 3e8, "drill": 1e9}[_x(sc)["kind"]]
    _x(sc)["dynamics"] = {"k": k, "zeta": 0.02, "fn": 300}


BURRS = setv("burr_growth", "1 um")
PRESS = {
    # settings that only bound what is feasible act by refusing the infeasible: the stroke's path is named
    "force_capacity": (nothing, setv("force_capacity", "100 kN"), "products.a.routing[1].operations[0]"),
    "load_margin": (nothing, setv("load_margin", 0.01), "products.a.routing[1].operations[0]"),
    "burr_scrap": (BURRS, setv("burr_scrap", "0.05 mm")),
    "burr_max": (BURRS, setv("burr_max", "0.05 mm")),
    "die_change": (BURRS, setv("die_change", "5 min")),
}
WELD = {
    "t85_window": (nothing, setv("t85_window", [20, 30])),
}
INSPECTION = {
    "feature_sd": (nothing, setv("feature_sd", "2 um")),
    "uncertainty": (nothing, setv("uncertainty", "3 um")),
    "tolerance": (nothing, setv("tolerance", "5 um")),
}
def _furnace_parts(sc):
    """The steps on the furnace give their parts (material, geometry): the load has a mass and a surface."""
    x = _x(sc)
    x.pop("radius", None)
    for k, p in sc["products"].items():
        p["routing"][1]["operations"] = [{"type": "heat_treatment", "material": "C45",
                                          "geometry": {"shape": "cylinder", "diameter": "30 mm", "length": "100 mm"}}]


def _furnace_recipes(sc):
    """Two recipes: product a is hardened hot, b tempered cool; they never share a load."""
    _furnace_parts(sc)
    x = _x(sc)
    x.pop("set_temperature", None)
    x.pop("soak", None)
    x["recipes"] = {"hot": {"set_temperature": "880 degC", "soak": "20 min"}, "cool": {"set_temperature": "600 degC", "soak": "40 min"}}
    sc["products"]["a"]["routing"][1]["operations"][0]["recipe"] = "hot"
    sc["products"]["b"]["routing"][1]["operations"][0]["recipe"] = "cool"


FURNACE = {
    # loads limited by mass (0.55 kg parts: 3 per 1.7 kg load instead of 6 by count)
    "max_load": (_furnace_parts, setv("max_load", "1.7 kg")),
    "exposure": (_furnace_parts, setv("exposure", 0.4)),
    "recipes": (_furnace_parts, lambda sc: (_furnace_recipes(sc))),
    "recipes.*.set_temperature": (_furnace_recipes, setv("recipes.*.set_temperature", "950 degC")),
    "recipes.*.soak": (_furnace_recipes, setv("recipes.*.soak", "1 h")),
    "recipes.*.parameter_window": (_furnace_recipes, setv("recipes.*.parameter_window", [100, 200])),
    "set_temperature": (nothing, setv("set_temperature", "900 degC")),
    "radius": (nothing, setv("radius", "25 mm")),
    "max_wait": (setv("batch_size", 40), setv("max_wait", "30 min")),
    "material": (nothing, setv("material", "C45")),
    "parameter_window": (nothing, setv("parameter_window", [100, 200])),
    "failure_scraps_batch": (setv("failures", [{"basis": "calendar", "tbf": {"dist": "constant", "value": "3 h"},
                                                "ttr": {"dist": "constant", "value": "10 min"}}]),
                             setv("failure_scraps_batch", False)),
    "failures": (nothing, setv("failures", [FAIL])),
}
ROBOT = {
    "speed": (both(_layouts, setv("layout", {"x": 10, "y": 10})), setv("speed", "0.5 m/s")),
    "layout": (nothing, setv("layout", {"x": 7, "y": 3})),
}


def _agv_net(sc):
    _x(sc)["network"] = {"nodes": {"P": [10, -5]}, "edges": [["A", "P"], ["P", "B"]]}


AGV_FLEET = {
    "home": (_agv_net, setv("home", "P")),
    "network": (nothing, _agv_net),
    "network.nodes": (_agv_net, setv("network.nodes", {"P": [10, -20]})),
    "network.edges": (both(_agv_net, lambda sc: _x(sc)["network"]["edges"].append(["A", "B"])),
                      setv("network.edges", [["A", "P"], ["P", "B"]])),
    "battery": (nothing, setv("battery", {"capacity": "10 min", "charge_time": "30 min", "charger": "A"})),
    "battery.capacity": (setv("battery", {"capacity": "10 min", "charge_time": "30 min", "charger": "A"}), setv("battery.capacity", "20 min")),
    "battery.charge_time": (setv("battery", {"capacity": "10 min", "charge_time": "30 min", "charger": "A"}), setv("battery.charge_time", "5 min")),
    "battery.threshold": (setv("battery", {"capacity": "10 min", "charge_time": "30 min", "charger": "A"}), setv("battery.threshold", 0.6)),
    "battery.charger": (both(_agv_net, setv("battery", {"capacity": "10 min", "charge_time": "30 min", "charger": "A"})),
                        setv("battery.charger", "P")),
    "speed": (nothing, setv("speed", "0.3 m/s")),
}
BUFFER = {
    "capacity": (nothing, setv("capacity", 1)),
    "speed": (nothing, setv("speed", "0.5 m/s")),
    "between": (lambda sc: _x(sc).update({"between": ["A", "B"]}), setv("between", ["A", "sink"])),
    # a pair of ends that no routing joins: the error names the buffer's ends (from or to)
    "from": (lambda sc: (_x(sc).pop("between"), _x(sc).update({"from": "A", "to": "B"})), setv("from", "source"), "buffers.X."),
    "to": (lambda sc: (_x(sc).pop("between"), _x(sc).update({"from": "A", "to": "B"})), setv("to", "sink"), "buffers.X."),
    "layout": (nothing, setv("layout", {"x": 3, "y": 3})),
    "layout.x": (setv("layout", {"x": 1, "y": 1}), setv("layout.x", 5)),
    "layout.y": (setv("layout", {"x": 1, "y": 1}), setv("layout.y", 5)),
    "length": (nothing, setv("length", "12 m")),
    "fleet": (nothing, setv("fleet", "NOPE")),
    "drop": (nothing, setv("drop", "A")),
}


def _inspect_measures(kind):
    def ctx(sc):
        sc["stations"]["L"] = {"kind": "cnc_lathe", "tools": copy.deepcopy(TOOLS), "quality": {"thermal_dT": 10}}
        for p in sc["products"].values():
            p["routing"].insert(0, {"station": "L", "operations": copy.deepcopy(TURN)})
        _x(sc).pop("feature_sd")
        _x(sc)["uncertainty"] = "1 um"

    return ctx, both(setv("measures", "L.diameter"))


def probe_for(kind: str, category: str, path: str, schema: dict):
    from twin.processes.machine import MachineSpec

    tables = []
    if category == "buffer":
        tables.append(BUFFER)
    else:
        spec = registry.get(kind).spec
        if kind in ("cnc_lathe", "cnc_mill", "drill"):
            tables.append(PHYSICS)
        tables.append({"press": PRESS, "weld_cell": WELD, "furnace": FURNACE, "robot": ROBOT, "agv_fleet": AGV_FLEET,
                       "inspection": INSPECTION}.get(kind, {}))
        if kind == "inspection" and path == "measures":
            return _inspect_measures(kind)
        if issubclass(spec, MachineSpec):
            tables.append(MACHINE)
        tables.append(COMMON)
    for t in tables:
        if path in t:
            return t[path]
    auto = _auto(schema)
    if auto is not None:
        return nothing, setv(path, auto)
    return None


def _auto(schema: dict):
    """A value differing from the default within the schema's bounds, for numbers, booleans and choices."""
    if "default" not in schema:
        return None
    d = schema["default"]
    if isinstance(d, bool):
        return not d
    if "enum" in schema:
        others = [v for v in schema["enum"] if v != d]
        return others[0] if others else None
    s = schema
    if "anyOf" in s:
        nums = [a for a in s["anyOf"] if a.get("type") in ("number", "integer")]
        if not nums:
            return None
        s = {**nums[0], "default": d}
    if s.get("type") not in ("number", "integer") or not isinstance(d, (int, float)):
        return None
    hi = s.get("maximum", s.get("exclusiveMaximum"))
    v = d * 2 if d else 1
    if hi is not None and v >= hi:
        v = (d + hi) / 2
    return int(math.ceil(v)) if s.get("type") == "integer" else v


# ---- the signature of a run ---------------------------------------------------------------------------
def signature(body: dict) -> str:
    from twin.viewer.layout import plant_layout

    run = twin.Run(body)
    tags = []
    for t in np.arange(3600.0, run.horizon, 7200.0):  # the tags automation reads, every two hours
        run.run_until(float(t))
        tags.append(run.tags())
    res = run.run()
    h = hashlib.sha256(res.event_log_hash().encode())
    h.update(json.dumps(tags, sort_keys=True, default=str).encode())
    h.update(json.dumps(res.kpis, sort_keys=True, default=str).encode())
    for name, t in sorted(res.extra_tables.items()):
        h.update(name.encode())
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        h.update(sink.getvalue().to_pybytes())
    lay = plant_layout(res.scenario)
    h.update(json.dumps(sorted((k, list(map(float, v))) for k, v in lay.stations.items())).encode())
    h.update(json.dumps(sorted((k, v) for k, v in lay.buffers.items()), default=str).encode())
    return h.hexdigest()


FIELDS = _all_fields()


def test_every_registered_kind_has_fields_under_test():
    kinds = {k for k, *_ in FIELDS}
    assert kinds == {k.name for k in registry.kinds() if k.category in ("station", "buffer")}
    assert len(FIELDS) > 300


@pytest.mark.parametrize("kind,category,path,schema", FIELDS, ids=[f"{k}:{p}" for k, _, p, _ in FIELDS])
def test_setting_the_field_changes_the_simulation_or_is_rejected(kind, category, path, schema):
    probe = probe_for(kind, category, path, schema)
    assert probe is not None, (f"no probe for {kind}.{path}: add one to tests/trust/test_every_field_counts.py "
                               f"(a value, and the context in which the field acts)")
    context, setter, *expected = probe
    b = base(kind, category)
    context(b)
    p = copy.deepcopy(b)
    setter(p)
    assert p != b, f"the probe for {kind}.{path} does not change the scenario"
    twin.parse_scenario(copy.deepcopy(b))  # the context itself must be valid
    try:
        twin.parse_scenario(copy.deepcopy(p))
    except twin.ScenarioError as e:
        where = expected[0] if expected else f"{'buffers' if category == 'buffer' else 'stations'}.X." + path.split(".")[0]
        named = [q for q, _ in e.errors if q.startswith(where)]
        assert named, f"{kind}.{path} was rejected, but no error names it: {e.errors}"
        return
    assert signature(p) != signature(b), f"{kind}.{path}: accepted, and the simulation is the same with and without it"


# ---- the fields of the typed operations of routing steps -------------------------------------------
#: one operation of each registered type, on the kind that does it; the station under test is X
#: and its step runs after A
OP_SAMPLES = {
    "turning": ("cnc_lathe", {k: v for k, v in TURN[1].items() if k != "finishing"}),
    "milling": ("cnc_mill", MILL[0]),
    "drilling": ("drill", DRILL[0]),
    "facing": ("cnc_lathe", {"type": "facing", "tool": "F", "material": "C45", "vc": "200 m/min", "f": "0.2 mm", "ap": "1 mm",
                             "diameter": "120 mm", "inner_diameter": "40 mm"}),
    "boring": ("cnc_lathe", {"type": "boring", "tool": "F", "material": "C45", "vc": "180 m/min", "f": "0.15 mm",
                             "ap": "0.5 mm", "length": "40 mm", "diameter": "60 mm"}),
    "grooving": ("cnc_lathe", {"type": "grooving", "tool": "F", "material": "C45", "vc": "120 m/min", "f": "0.05 mm",
                               "width": "3 mm", "diameter": "50 mm", "groove_diameter": "44 mm"}),
    "threading": ("cnc_lathe", {"type": "threading", "tool": "F", "material": "C45", "vc": "100 m/min", "pitch": "2 mm",
                                "length": "30 mm", "diameter": "48 mm"}),
    "blanking": ("press", STROKES[0]),
    "punching": ("press", {**STROKES[0], "type": "punching"}),
    "weld": ("weld_cell", SEAMS[0]),
    "heat_treatment": ("furnace", {"type": "heat_treatment", "recipe": "normal", "material": "C45",
                                   "geometry": {"shape": "ring", "outer_diameter": "120 mm", "inner_diameter": "60 mm",
                                                "thickness": "20 mm"}}),
}


def _op_base(op_type: str) -> dict:
    kind, op = OP_SAMPLES[op_type]
    sc = base(kind, "station")
    x = sc["stations"]["X"]
    if kind == "furnace":
        x.pop("set_temperature")
        x.pop("radius")
        x.pop("soak")
        x["recipes"] = {"normal": {"set_temperature": "860 degC", "soak": "20 min"}}
    op = copy.deepcopy(op)
    if kind in ("cnc_lathe", "cnc_mill", "drill"):
        x["tools"] = {"F": {"tool_material": "cermet"}}
        op["tool"] = "F"
    for p in sc["products"].values():
        p["routing"][1]["operations"] = [copy.deepcopy(op)]
    return sc


_SECOND_CUT = {"cnc_lathe": TURN[0], "cnc_mill": MILL[0], "drill": DRILL[0]}


def _finishing_context(op_type):
    """A second cut (tool R) after the one under test: unmarked, it would finish the part."""
    def fn(sc):
        kind = OP_SAMPLES[op_type][0]
        sc["stations"]["X"]["tools"]["R"] = {"tool_material": "coated_carbide", "nose_radius": "1.6 mm"}
        for p in sc["products"].values():
            p["routing"][1]["operations"].append({**copy.deepcopy(_SECOND_CUT[kind]), "tool": "R"})
    return fn


def _op_fields():
    out = []
    for name, model in registry.operations().items():
        if name not in OP_SAMPLES:
            out.append((name, None, None))  # fails below: add a sample
            continue
        for path, schema in _fields(model):
            if path != "type":
                out.append((name, path, schema))
    return out


def _op_set(path: str, value) -> Fn:
    def fn(sc):
        for p in sc["products"].values():
            node = p["routing"][1]["operations"][0]
            *head, last = path.split(".")
            for k in head:
                node = node.setdefault(k, {})
            node[last] = copy.deepcopy(value)
    return fn


def _scaled(value):
    """A given quantity moved by a quarter (text with a unit keeps its unit)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value * 1.25 if isinstance(value, float) else value + 1
    if isinstance(value, str):
        num, _, unit = value.partition(" ")
        try:
            return f"{float(num) * 1.25:g} {unit}".strip()
        except ValueError:
            return None
    return None


def _two_recipes(sc):
    sc["stations"]["X"]["recipes"]["hard"] = {"set_temperature": "900 degC", "soak": "40 min"}
    sc["products"]["b"]["routing"][1]["operations"][0]["recipe"] = "hard"


def _swap_recipes(sc):
    for p, r in (("a", "hard"), ("b", "normal")):
        sc["products"][p]["routing"][1]["operations"][0]["recipe"] = r


_SHAPES = {"cylinder": {"shape": "cylinder", "diameter": "60 mm", "length": "200 mm"},
           "ring": {"shape": "ring", "outer_diameter": "120 mm", "inner_diameter": "60 mm", "thickness": "20 mm"},
           "plate": {"shape": "plate", "length": "300 mm", "width": "200 mm", "thickness": "15 mm"}}


def _geometry_probe(field):
    """Context: a part of a shape that has ``field``; probe: ``field`` a quarter larger."""
    shape = next(k for k, g in _SHAPES.items() if field in g) if field != "shape" else "ring"
    g = _SHAPES[shape]
    if field == "shape":
        return _op_set("geometry", g), _op_set("geometry", _SHAPES["plate"])
    return _op_set("geometry", g), _op_set(f"geometry.{field}", _scaled(g[field]))


OP_PROBES = {
    ("heat_treatment", "recipe"): (_two_recipes, _swap_recipes),
    **{("heat_treatment", f"geometry.{f}"): _geometry_probe(f)
       for f in ("shape", "diameter", "length", "outer_diameter", "inner_diameter", "width", "thickness")},
    ("heat_treatment", "material"): _op_set("material", "42CrMo4"),
    ("heat_treatment", "geometry"): _op_set("geometry", {"shape": "cylinder", "diameter": "60 mm", "length": "200 mm"}),
    ("drilling", "pattern"): _op_set("pattern", {"holes": 8, "pitch_diameter": "120 mm"}),
    ("turning", "material"): _op_set("material", "42CrMo4"),
    ("weld", "process"): _op_set("process", "TIG"),  # (MAG and MMA share EN 1011-1's factor 0.8)
    ("drilling", "pattern.holes"): (_op_set("pattern", {"holes": 8, "pitch_diameter": "120 mm"}), _op_set("pattern.holes", 6)),
    ("drilling", "pattern.pitch_diameter"): (_op_set("pattern", {"holes": 8, "pitch_diameter": "120 mm"}),
                                             _op_set("pattern.pitch_diameter", "200 mm")),
    ("drilling", "pattern.spacing"): (_op_set("pattern", {"holes": 8, "spacing": "30 mm"}), _op_set("pattern.spacing", "60 mm")),
    ("facing", "max_rpm"): _op_set("max_rpm", "800 rpm"),  # the 40 mm inner diameter wants ~1600 rpm at 200 m/min
    ("grooving", "max_rpm"): _op_set("max_rpm", "800 rpm"),
    ("blanking", "material"): _op_set("material", "S355"),
    ("punching", "material"): _op_set("material", "S355"),
}


OP_FIELDS = _op_fields()


@pytest.mark.parametrize("op_type,path,schema", OP_FIELDS, ids=[f"{t}:{p}" for t, p, _ in OP_FIELDS])
def test_every_operation_field_changes_the_simulation_or_is_rejected(op_type, path, schema):
    assert path is not None, f"no sample operation of type {op_type!r}: add one to OP_SAMPLES"
    b = _op_base(op_type)
    if path == "finishing":
        _finishing_context(op_type)(b)
    twin.parse_scenario(copy.deepcopy(b))
    setter = OP_PROBES.get((op_type, path))
    if isinstance(setter, tuple):  # (context, set)
        setter[0](b)
        twin.parse_scenario(copy.deepcopy(b))
        setter = setter[1]
    if setter is None:
        op = OP_SAMPLES[op_type][1]
        head = path.split(".")[0]
        if head == "material":
            v = "42CrMo4"
        elif head in op and "." not in path:
            v = _scaled(op[head])
        else:
            v = _auto(schema)
        if path == "finishing":
            v = True
        elif path == "tool":
            v = "Q"  # a tool the magazine does not hold: refused, naming the cut's tool
        elif isinstance(op.get(head), bool):
            v = not op[head]
        assert v is not None, f"no probe for the {path!r} of {op_type} operations: add one to OP_PROBES"
        setter = _op_set(path, v)
    p = copy.deepcopy(b)
    setter(p)
    assert p != b
    try:
        twin.parse_scenario(copy.deepcopy(p))
    except twin.ScenarioError as e:
        assert any(".operations[0]" in q for q, _ in e.errors), f"{op_type}.{path} was rejected, but not naming it: {e.errors}"
        return
    assert signature(p) != signature(b), f"{op_type}.{path}: accepted, and the simulation is the same with and without it"
