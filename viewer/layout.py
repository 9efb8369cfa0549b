"""Floor layout of a plant: station, buffer and transport positions from the scenario, or an
automatic layout along the material flow when the scenario gives none.

Everything here works on the resolved scenario as a plain dict (``result.scenario``), so the
viewer never needs the process kinds that produced a result.

Coordinates are floor metres, x to the right, y away from the viewer; ``rotation`` [deg] turns a
station about the vertical axis (0: material flows along +x through it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PlantLayout", "plant_layout", "flows", "polyline_point", "polyline_length"]

SPACING = 9.0  # m between process steps in the automatic layout
LANE = 7.0  # m between parallel stations
WRAP = 12  # process steps per row before the automatic layout turns back (serpentine)
HALF_LENGTH = 2.2  # m from a station's centre to its in/out port along its flow axis
TRANSPORT_KINDS = ("agv_fleet",)  # station kinds that carry parts between stations instead of working on them


@dataclass
class PlantLayout:
    stations: dict[str, tuple[float, float, float]]  # name -> (x, y, rotation deg)
    kinds: dict[str, str]
    capacity: dict[str, int]
    buffers: dict[str, tuple[float, float, list[str], list[str]]] = field(default_factory=dict)  # name -> (x, y, from, to)
    order: list[str] = field(default_factory=list)
    buffer_kinds: dict[str, str] = field(default_factory=dict)
    buffer_capacity: dict[str, float] = field(default_factory=dict)
    paths: dict[str, np.ndarray] = field(default_factory=dict)  # conveyor name -> (n, 2) polyline, upstream to downstream
    buffer_specs: dict[str, dict] = field(default_factory=dict)

    def bounds(self) -> tuple[float, float, float, float]:
        pts = [(x, y) for x, y, _ in self.stations.values()] + [(b[0], b[1]) for b in self.buffers.values()]
        for p in self.paths.values():
            pts += [tuple(q) for q in p]
        xy = np.array(pts or [(0.0, 0.0)], dtype=float)
        return float(xy[:, 0].min()), float(xy[:, 0].max()), float(xy[:, 1].min()), float(xy[:, 1].max())

    def port(self, station: str, out: bool) -> tuple[float, float]:
        """Floor point where parts leave (``out``) or enter a station."""
        x, y, rot = self.stations[station]
        if self.kinds.get(station) in TRANSPORT_KINDS:
            return x, y
        d = HALF_LENGTH if out else -HALF_LENGTH
        a = math.radians(rot)
        return x + d * math.cos(a), y + d * math.sin(a)


def _steps(sc: dict) -> list[list[list[str]]]:
    groups = sc.get("groups", {}) or {}
    out = []
    for prod in sc["products"].values():
        steps = []
        for st in prod["routing"]:
            s = st["station"]
            steps.append(list(s) if isinstance(s, list) else list(groups.get(s, [s])))
        out.append(steps)
    return out


def _ends(b: dict) -> tuple:
    if b.get("between") is not None:
        return tuple(b["between"])
    return b.get("from", b.get("from_")), b.get("to")


def plant_layout(sc: dict) -> PlantLayout:
    """Positions for every station: the scenario's ``layout`` where given, else by flow order.

    The automatic layout puts one column per routing step (parallel stations side by side,
    ``LANE`` apart) and turns back every ``WRAP`` steps so that long lines stay compact.
    Transport stations (``agv_fleet``) get their own lane below the line.
    """
    stations = sc["stations"]
    kinds = {s: v.get("kind", "machine") for s, v in stations.items()}
    level: dict[str, int] = {}
    for steps in _steps(sc):
        i = 0
        for members in steps:
            if all(kinds.get(m) in TRANSPORT_KINDS for m in members):
                continue  # a transport step does not take a column of its own
            for m in members:
                level[m] = max(level.get(m, 0), i)
            i += 1
    n_levels = max(level.values(), default=0) + 1
    for s in stations:
        level.setdefault(s, n_levels if kinds[s] not in TRANSPORT_KINDS else 0)
    by_level: dict[int, list[str]] = {}
    for s in stations:
        if kinds[s] not in TRANSPORT_KINDS:
            by_level.setdefault(level[s], []).append(s)
    widest = max((len(v) for v in by_level.values()), default=1)
    row_pitch = widest * LANE + LANE
    pos: dict[str, tuple[float, float, float]] = {}
    for lv, names in by_level.items():
        row, col = divmod(lv, WRAP)
        if row % 2:
            col = WRAP - 1 - col
        for j, s in enumerate(names):
            pos[s] = (col * SPACING, -row * row_pitch + (j - (len(names) - 1) / 2) * LANE, 180.0 if row % 2 else 0.0)
    transports = [s for s in stations if kinds[s] in TRANSPORT_KINDS]
    if pos:
        xs = [p[0] for p in pos.values()]
        ymin = min(p[1] for p in pos.values())
    else:
        xs, ymin = [0.0], 0.0
    for j, s in enumerate(transports):
        pos[s] = (min(xs) + j * 4.0, ymin - LANE, 0.0)
    for s, v in stations.items():  # the scenario's own coordinates win
        lay = v.get("layout")
        if lay:
            pos[s] = (float(lay["x"]), float(lay["y"]), float(lay.get("rotation", 0.0) or 0.0))
    for s, v in stations.items():  # an AGV fleet without a layout parks at its home node
        if kinds.get(s) == "agv_fleet" and not v.get("layout"):
            nodes = {n: (float(q[0]), float(q[1])) for n, q in ((v.get("network") or {}).get("nodes") or {}).items()}
            home = v.get("home")
            if home in nodes:
                pos[s] = (*nodes[home], 0.0)
            elif home in pos and home != s:
                pos[s] = (pos[home][0], pos[home][1] - 3.0, 0.0)
    groups = sc.get("groups", {}) or {}
    expand = lambda names: [m for n in names for m in groups.get(n, [n])]
    lay_obj = PlantLayout(pos, kinds, {s: int(v.get("capacity", 1) or 1) for s, v in stations.items()})
    for name, b in (sc.get("buffers") or {}).items():
        a, c = _ends(b)
        a = expand([a] if isinstance(a, str) else list(a or []))
        c = expand([c] if isinstance(c, str) else list(c or []))
        pa = [lay_obj.port(x, True) for x in a if x in pos]
        pc = [lay_obj.port(x, False) for x in c if x in pos]
        lay = b.get("layout")
        kind = b.get("kind", "buffer")
        if lay:
            bx, by = float(lay["x"]), float(lay["y"])
        elif pa and pc:
            bx = (np.mean([p[0] for p in pa]) + np.mean([p[0] for p in pc])) / 2
            by = (np.mean([p[1] for p in pa]) + np.mean([p[1] for p in pc])) / 2
        elif pa or pc:
            q = (pa or pc)[0]
            bx, by = q[0] + (2.5 if pa else -2.5), q[1]
        else:
            continue
        lay_obj.buffers[name] = (float(bx), float(by), a, c)
        lay_obj.buffer_kinds[name] = kind
        lay_obj.buffer_specs[name] = b
        cap = b.get("capacity")
        if kind == "conveyor":
            length = b.get("length")
            if length is None and pa and pc:
                length = math.dist(pos[a[0]][:2], pos[c[0]][:2])
            cap = max(1, int((length or 5.0) // float(b.get("pitch", 0.5))))
        lay_obj.buffer_capacity[name] = float("inf") if cap is None else float(cap)
        if kind == "conveyor":
            given = (lay or {}).get("path")
            if given:
                path = np.asarray(given, dtype=float)[:, :2]
            elif pa and pc:
                path = _route(pa[0], pc[0], (bx, by) if lay else None)
            else:
                path = np.array([[bx - 2.5, by], [bx + 2.5, by]])
            lay_obj.paths[name] = path
    lay_obj.order = sorted(stations, key=lambda s: (level[s], pos[s][1]))
    return lay_obj


def _route(a, b, via=None) -> np.ndarray:
    """A conveyor route from port ``a`` to port ``b``: straight when aligned, else orthogonal
    (along x, across, along x) like belts are laid; through ``via`` when given."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if via is not None:
        return np.array([a, via, b])
    if abs(a[1] - b[1]) < 0.05 or abs(a[0] - b[0]) < 0.05:
        return np.array([a, b])
    xm = (a[0] + b[0]) / 2
    return np.array([a, [xm, a[1]], [xm, b[1]], b])


def polyline_length(path: np.ndarray) -> np.ndarray:
    """Cumulative length along a polyline, starting at 0."""
    seg = np.sqrt((np.diff(path, axis=0) ** 2).sum(axis=1))
    return np.concatenate([[0.0], np.cumsum(seg)])


def polyline_point(path: np.ndarray, s: np.ndarray, cum: np.ndarray | None = None) -> np.ndarray:
    """Points at arc lengths ``s`` along ``path`` (clamped to its ends); shape (len(s), 2)."""
    cum = polyline_length(path) if cum is None else cum
    s = np.clip(np.asarray(s, float), 0.0, cum[-1])
    return np.column_stack([np.interp(s, cum, path[:, 0]), np.interp(s, cum, path[:, 1])])


def flows(result) -> dict[tuple[str, str], int]:
    """Parts moved between consecutive stations: (from station, to station) -> count."""
    ops = result.ops
    if len(ops["part"]) == 0:
        return {}
    names = list(dict.fromkeys(s for _, s in result.resources))
    index = {s: i for i, s in enumerate(names)}
    st_of_res = np.array([index[s] for _, s in result.resources])
    kinds = {s: v.get("kind", "machine") for s, v in result.scenario["stations"].items()}
    moving = np.array([kinds.get(s) in TRANSPORT_KINDS for s in names])
    order = np.lexsort((ops["t_start"], ops["part"]))
    order = order[~moving[st_of_res[ops["resource"][order]]]]  # A -> AGV -> B counts as A -> B
    part = ops["part"][order]
    st = st_of_res[ops["resource"][order]]
    keep = (part[1:] == part[:-1]) & (st[1:] != st[:-1])
    pairs = st[:-1][keep] * len(names) + st[1:][keep]
    codes, counts = np.unique(pairs, return_counts=True)
    return {(names[c // len(names)], names[c % len(names)]): int(n) for c, n in zip(codes, counts)}
