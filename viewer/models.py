"""Parametric 3-D models of the station kinds, built from PyVista primitives.

A model is drawn in local coordinates (floor at z = 0, material flows along +x, the operator
side faces -y) and then turned and moved to its layout position. Its meshes carry a role:

* ``body``  the machine's main casting, coloured by the KPI or the replay state;
* ``trim``  dark details (chucks, heads, doors, frames);
* ``metal`` bright workpieces, spindles, tools;
* ``glass`` translucent guards and fences;
* ``wood`` / ``carton`` pallets and boxes.

Every model keeps a clear front face on its body around local (0, -0.9..-1.2, 0.2..0.8), so the
colour that matters is visible from the default camera (front, above) and can be probed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Model", "MODELS", "model_name", "build_model", "place", "ROLE_STYLE", "agv_vehicle"]

#: role -> add_mesh keyword arguments
ROLE_STYLE = {
    "trim": {"color": "#455a64", "smooth_shading": False},
    "metal": {"color": "#cfd8dc", "specular": 0.6, "specular_power": 20},
    "glass": {"color": "#90caf9", "opacity": 0.28},
    "wood": {"color": "#a1887f"},
    "carton": {"color": "#d7b377"},
    "post": {"color": "#37474f"},
}

#: kind (scenario ``kind:``) -> model name
KIND_MODEL = {
    "cnc_lathe": "lathe", "cnc_mill": "mill", "drill": "drill", "furnace": "furnace", "press": "press",
    "weld_cell": "weld", "inspection": "cmm", "wash": "wash", "deburr": "deburr", "robot": "robot",
    "conveyor": "conveyor", "agv_fleet": "agv", "buffer": "rack", "saw": "saw", "grinder": "grinder",
    "pack": "pack", "machine": "machine",
}

#: substring of a generic station's name -> model (first match wins)
NAME_HINTS = [
    ("LATHE", "lathe"), ("TURN", "lathe"), ("MILL", "mill"), ("VMC", "mill"), ("HMC", "mill"), ("SAW", "saw"),
    ("CUT", "saw"), ("GRIND", "grinder"), ("FURN", "furnace"), ("OVEN", "furnace"), ("HARDEN", "furnace"),
    ("TEMPER", "furnace"), ("CMM", "cmm"), ("INSP", "cmm"), ("MEAS", "cmm"), ("QC", "cmm"), ("PACK", "pack"),
    ("PRESS", "press"), ("STAMP", "press"), ("FORG", "press"), ("WELD", "weld"), ("DEBURR", "deburr"), ("DEB", "deburr"),
    ("WASH", "wash"), ("CLEAN", "wash"), ("DRILL", "drill"), ("ROBOT", "robot"), ("CONV", "conveyor"), ("AGV", "agv"),
]

MODELS = ("machine", "lathe", "mill", "drill", "saw", "grinder", "furnace", "cmm", "press", "weld", "robot", "wash",
          "deburr", "pack", "conveyor", "agv")


def model_name(name: str, kind: str) -> str:
    """The model for a station: by its kind, and for generic ``machine`` stations by its name
    (``L1``/``LATHE2`` -> lathe, ``MILL`` -> machining centre, ``HT``/``FURNACE`` -> furnace, ...)."""
    if kind in KIND_MODEL and kind != "machine":
        return KIND_MODEL[kind]
    up = name.upper()
    head = up.split("#")[0].rstrip("0123456789_- ")
    short = {"L": "lathe", "M": "mill", "HT": "furnace", "GR": "grinder"}
    if head in short:
        return short[head]
    for hint, model in NAME_HINTS:
        if hint in up:
            return model
    return "machine"


@dataclass
class Model:
    parts: dict[str, list] = field(default_factory=dict)
    light: tuple[float, float, float] = (1.0, 1.0, 2.0)  # stacklight foot (local)
    probe: tuple[float, float, float] = (0.0, -1.0, 0.5)  # a point on the body's front face (local)

    def add(self, role: str, *meshes) -> None:
        self.parts.setdefault(role, []).extend(meshes)

    @property
    def top(self) -> float:
        return max(m.bounds[5] for ms in self.parts.values() for m in ms)


def _box(x0, x1, y0, y1, z0, z1):
    import pyvista as pv

    return pv.Box((x0, x1, y0, y1, z0, z1))


def _cyl(center, direction, radius, height, res=24):
    import pyvista as pv

    return pv.Cylinder(center=center, direction=direction, radius=radius, height=height, resolution=res)


def _rod(a, b, radius, res=16):
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    return _cyl(tuple((a + b) / 2), tuple(d), radius, float(np.linalg.norm(d)), res)


def build_model(model: str) -> Model:
    """The parts of a model in local coordinates."""
    import pyvista as pv

    m = Model()
    if model == "lathe":  # flat-bed CNC lathe: bed, headstock with chuck, bar, carriage with turret, tailstock
        m.add("body", _box(-2.2, 2.2, -1.0, 1.0, 0, 1.0), _box(-2.2, -1.2, -0.9, 0.9, 1.0, 2.1),
              _box(1.4, 2.1, -0.5, 0.5, 1.0, 1.75), _box(-0.4, 0.6, -1.0, 0.4, 1.0, 1.25))
        m.add("trim", _cyl((-1.05, 0, 1.5), (1, 0, 0), 0.42, 0.3), _box(-0.15, 0.35, -0.85, -0.35, 1.25, 1.75),
              _box(1.95, 2.2, -1.3, -1.0, 1.2, 1.9), _box(-2.2, 2.1, 0.9, 1.0, 1.0, 2.3))
        m.add("metal", _cyl((0.25, 0, 1.5), (1, 0, 0), 0.17, 2.3), _cyl((1.25, 0, 1.5), (1, 0, 0), 0.09, 0.35))
        m.add("glass", _box(-1.15, 1.35, 0.95, 1.0, 1.0, 2.3))
        m.light, m.probe = (-1.4, 0.7, 2.1), (0.0, -1.0, 0.5)
    elif model == "mill":  # vertical machining centre: base, table with part, column, head, spindle, tool magazine
        m.add("body", _box(-1.6, 1.6, -1.3, 1.3, 0, 0.95), _box(-0.65, 0.65, 0.3, 1.3, 0.95, 3.3),
              _box(-0.5, 0.5, -0.45, 0.75, 2.2, 2.95))
        m.add("trim", _box(-1.3, 1.3, -0.95, 0.25, 0.95, 1.1), _cyl((1.05, 0.8, 2.45), (1, 0, 0), 0.65, 0.18, 32),
              _box(-1.6, -1.3, -1.45, -1.3, 1.0, 1.9))
        m.add("metal", _cyl((0, 0.0, 2.0), (0, 0, 1), 0.14, 0.4), _cyl((0, 0.0, 1.62), (0, 0, 1), 0.05, 0.36),
              _box(-0.35, 0.35, -0.55, 0.05, 1.1, 1.35))
        m.light, m.probe = (-0.45, 1.1, 3.3), (0.0, -1.3, 0.5)
    elif model == "drill":  # pillar drill: base, column, head, spindle, table
        m.add("body", _box(-1.0, 1.0, -1.0, 1.0, 0, 0.8), _cyl((0, 0.55, 1.9), (0, 0, 1), 0.16, 2.2),
              _box(-0.45, 0.45, -0.35, 0.85, 2.4, 3.1))
        m.add("trim", _box(-0.6, 0.6, -0.75, 0.35, 1.25, 1.35), _cyl((0.55, 0.1, 2.75), (1, 0, 0), 0.25, 0.15))
        m.add("metal", _cyl((0, -0.05, 2.2), (0, 0, 1), 0.06, 0.5), _box(-0.2, 0.2, -0.4, 0.0, 1.35, 1.5))
        m.light, m.probe = (-0.3, 0.7, 3.1), (0.0, -1.0, 0.4)
    elif model == "saw":  # band saw: base, frame with two wheels, bar stock on a roller table
        m.add("body", _box(-1.6, 1.6, -0.9, 0.9, 0, 0.9), _box(-1.0, 1.0, -0.2, 0.2, 0.9, 2.3))
        m.add("trim", _cyl((-0.65, -0.25, 1.6), (0, 1, 0), 0.45, 0.12, 32), _cyl((0.65, -0.25, 1.6), (0, 1, 0), 0.45, 0.12, 32),
              _box(-2.6, -1.6, -0.3, 0.3, 0, 0.95))
        m.add("metal", _cyl((-1.0, -0.45, 1.05), (1, 0, 0), 0.12, 3.2), _box(-0.03, 0.03, -0.5, 0.2, 0.95, 2.2))
        m.light, m.probe = (1.3, 0.6, 0.9), (0.0, -0.9, 0.45)
    elif model == "grinder":  # cylindrical grinder: bed, wheel head with wheel and guard, part between centres
        m.add("body", _box(-2.0, 2.0, -1.1, 1.1, 0, 1.0), _box(-0.8, 0.8, 0.3, 1.1, 1.0, 2.3))
        m.add("trim", _box(-1.9, -1.3, -0.5, 0.1, 1.0, 1.7), _box(1.3, 1.9, -0.5, 0.1, 1.0, 1.6),
              _cyl((0, 0.05, 1.5), (0, 1, 0), 0.72, 0.5, 40))
        m.add("metal", _cyl((0, -0.28, 1.5), (0, 1, 0), 0.62, 0.18, 40), _cyl((0, -0.7, 1.35), (1, 0, 0), 0.11, 2.6))
        m.light, m.probe = (-0.6, 1.0, 2.3), (0.0, -1.1, 0.5)
    elif model == "furnace":  # chamber furnace: insulated chamber, door, charge table, stack, cabinet
        m.add("body", _box(-2.2, 2.2, -1.5, 1.6, 0, 2.6))
        m.add("trim", _box(0.35, 1.85, -1.62, -1.5, 1.0, 2.3), _cyl((1.5, 1.0, 3.3), (0, 0, 1), 0.22, 1.4),
              _box(-2.2, -1.6, -1.9, -1.5, 0.9, 1.0), _box(2.2, 2.7, -1.0, 0.4, 0, 1.9))
        m.add("metal", _box(0.6, 1.6, -1.64, -1.62, 1.5, 1.7))
        m.light, m.probe = (-1.9, 1.3, 2.6), (-0.8, -1.5, 0.6)
    elif model == "cmm":  # bridge CMM: granite table, portal, probe, part
        m.add("body", _box(-1.5, 1.5, -1.2, 1.2, 0, 0.85))
        m.add("metal", _box(-1.45, -1.2, -0.25, 0.25, 0.85, 2.5), _box(1.2, 1.45, -0.25, 0.25, 0.85, 2.5),
              _box(-1.45, 1.45, -0.25, 0.25, 2.5, 2.8), _box(-0.2, 0.2, -0.2, 0.2, 1.6, 2.5))
        m.add("trim", _cyl((0, 0, 1.45), (0, 0, 1), 0.05, 0.3), _box(-0.5, 0.5, -0.6, 0.2, 0.85, 1.0))
        m.add("glass", pv.Sphere(radius=0.07, center=(0, 0, 1.28)))
        m.light, m.probe = (1.3, 1.0, 0.85), (0.0, -1.2, 0.45)
    elif model == "press":  # straight-side press: bed, uprights, crown with flywheel, slide, bolster
        m.add("body", _box(-1.4, 1.4, -1.1, 1.1, 0, 1.0), _box(-1.4, -0.9, -0.7, 0.7, 1.0, 3.4),
              _box(0.9, 1.4, -0.7, 0.7, 1.0, 3.4), _box(-1.55, 1.55, -0.9, 0.9, 3.4, 4.2))
        m.add("trim", _box(-0.85, 0.85, -0.55, 0.55, 2.2, 2.85), _cyl((0, 0.95, 3.8), (0, 1, 0), 0.55, 0.25, 32))
        m.add("metal", _box(-0.9, 0.9, -0.6, 0.6, 1.0, 1.15), _box(-0.5, 0.5, -0.35, 0.35, 1.15, 1.25))
        m.light, m.probe = (1.3, 0.7, 4.2), (0.0, -1.1, 0.5)
    elif model == "weld":  # weld cell: table with fixture, six-axis robot with torch, fence behind
        m.add("body", _box(-1.6, 1.6, -1.2, 1.2, 0, 0.8))
        m.add("trim", _cyl((-0.95, 0.7, 0.95), (0, 0, 1), 0.32, 0.3), _rod((-0.95, 0.7, 1.1), (-0.65, 0.4, 2.3), 0.13),
              _rod((-0.65, 0.4, 2.3), (0.15, -0.05, 2.0), 0.1), _rod((0.15, -0.05, 2.0), (0.2, -0.1, 1.25), 0.05),
              pv.Sphere(0.16, (-0.65, 0.4, 2.3)))
        m.add("metal", _box(-0.5, 0.9, -0.6, 0.2, 0.8, 1.0), _box(0.1, 0.3, -0.6, 0.2, 1.0, 1.3))
        m.add("glass", _box(-2.0, 2.0, 1.5, 1.55, 0, 2.2), _box(-2.0, -1.95, -1.2, 1.5, 0, 2.2), _box(1.95, 2.0, -1.2, 1.5, 0, 2.2))
        m.light, m.probe = (1.7, 1.3, 2.2), (0.0, -1.2, 0.4)
    elif model == "robot":  # robot on a pedestal with a gripper
        m.add("body", _box(-0.9, 0.9, -1.0, 0.9, 0, 0.8), _cyl((0, 0.2, 0.95), (0, 0, 1), 0.35, 0.3))
        m.add("trim", _rod((0, 0.2, 1.1), (0.3, 0.0, 2.3), 0.14), _rod((0.3, 0.0, 2.3), (1.1, -0.2, 2.0), 0.1),
              pv.Sphere(0.17, (0.3, 0.0, 2.3)))
        m.add("metal", _box(1.0, 1.3, -0.35, -0.05, 1.7, 2.0))
        m.light, m.probe = (-0.7, 0.7, 0.8), (0.0, -1.0, 0.4)
    elif model == "wash":  # tunnel washer: cabinet, belt through it, exhaust
        m.add("body", _box(-1.8, 1.8, -1.1, 1.1, 0, 1.9))
        m.add("trim", _box(-2.5, 2.5, -0.45, 0.45, 0.75, 0.9), _box(-1.82, -1.8, -0.4, 0.4, 0.9, 1.4),
              _box(1.8, 1.82, -0.4, 0.4, 0.9, 1.4), _cyl((1.1, 0.6, 2.4), (0, 0, 1), 0.2, 1.0))
        m.add("glass", _box(-1.0, 0.4, -1.12, -1.1, 1.0, 1.6))
        m.light, m.probe = (-1.5, 0.8, 1.9), (0.0, -1.1, 0.5)
    elif model == "deburr":  # brush deburring cabinet with window and dust extractor
        m.add("body", _box(-1.4, 1.4, -1.0, 1.0, 0, 1.8))
        m.add("trim", _cyl((1.85, 0.4, 1.1), (0, 0, 1), 0.35, 2.2), _box(-1.0, 1.0, -0.2, 0.2, 1.8, 2.1))
        m.add("glass", _box(-0.9, 0.7, -1.02, -1.0, 1.0, 1.55))
        m.light, m.probe = (-1.2, 0.8, 1.8), (0.0, -1.0, 0.45)
    elif model == "pack":  # packing table with a pallet of cartons
        m.add("body", _box(-1.3, 1.3, -1.0, 1.0, 0, 0.9))
        m.add("wood", _box(-1.1, 1.1, -0.8, 0.8, 0.9, 1.02))
        m.add("carton", *[_box(-1.0 + 0.7 * i, -0.4 + 0.7 * i, -0.7 + 0.75 * j, -0.05 + 0.75 * j, 1.02, 1.45) for i in range(3) for j in range(2)])
        m.light, m.probe = (1.2, 0.9, 0.9), (0.0, -1.0, 0.45)
    elif model == "conveyor":  # belt conveyor section on legs
        m.add("body", _box(-2.5, 2.5, -0.5, 0.5, 0.55, 0.85))
        m.add("trim", *[_box(x - 0.05, x + 0.05, y - 0.05, y + 0.05, 0, 0.55) for x in (-2.2, 0, 2.2) for y in (-0.4, 0.4)])
        m.add("metal", *[_cyl((x, 0, 0.87), (0, 1, 0), 0.04, 0.95, 12) for x in np.linspace(-2.3, 2.3, 9)])
        m.light, m.probe = (2.3, 0.4, 0.85), (0.0, -0.5, 0.7)
    elif model == "agv":  # AGV home: charging dock with floor marking
        m.add("body", _box(-0.9, 0.9, -0.9, 0.9, 0, 1.4))
        m.add("trim", _box(-1.0, 1.0, -2.2, -0.9, 0, 0.02), _box(-0.5, 0.5, -1.0, -0.9, 0.2, 0.5))
        m.light, m.probe = (0.7, 0.7, 1.4), (0.0, -0.9, 0.8)
    else:  # generic machine: cabinet with window and control panel
        m.add("body", _box(-1.5, 1.5, -1.2, 1.2, 0, 1.9))
        m.add("trim", _box(1.0, 1.45, -1.35, -1.2, 0.95, 1.7))
        m.add("glass", _box(-1.0, 0.7, -1.22, -1.2, 1.0, 1.6))
        m.light, m.probe = (-1.3, 1.0, 1.9), (0.0, -1.2, 0.45)
    return m


def agv_vehicle():
    """Meshes of one AGV (local, heading +x): chassis (body) and lidar/lift (trim)."""
    return {"body": [_box(-0.8, 0.8, -0.5, 0.5, 0.08, 0.45)],
            "trim": [_cyl((0.55, 0, 0.55), (0, 0, 1), 0.12, 0.2, 16), _box(-0.6, 0.3, -0.4, 0.4, 0.45, 0.52)]}


def place(points, x: float, y: float, rot: float) -> np.ndarray:
    """Local points (n, 3) turned by ``rot`` degrees about z and moved to (x, y)."""
    p = np.atleast_2d(np.asarray(points, float))
    a = math.radians(rot)
    c, s = math.cos(a), math.sin(a)
    out = p.copy()
    out[:, 0] = x + c * p[:, 0] - s * p[:, 1]
    out[:, 1] = y + s * p[:, 0] + c * p[:, 1]
    return out


def placed(model: Model, x: float, y: float, rot: float) -> dict[str, object]:
    """One merged mesh per role, at the station's floor position."""
    out = {}
    for role, meshes in model.parts.items():
        merged = meshes[0].merge(meshes[1:]) if len(meshes) > 1 else meshes[0].copy()
        merged = merged.extract_surface() if not hasattr(merged, "faces") else merged
        merged.points = place(merged.points, x, y, rot)
        out[role] = merged
    return out
