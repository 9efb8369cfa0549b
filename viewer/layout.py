"""Floor layout of a plant: station and buffer positions from the scenario, or an automatic
layout along the material flow when the scenario gives none."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PlantLayout", "plant_layout", "flows"]

SPACING = 8.0  # m between process steps in the automatic layout
LANE = 6.0  # m between parallel stations


@dataclass
class PlantLayout:
    stations: dict[str, tuple[float, float, float]]  # name -> (x, y, rotation deg)
    kinds: dict[str, str]
    capacity: dict[str, int]
    buffers: dict[str, tuple[float, float, list[str], list[str]]] = field(default_factory=dict)  # name -> (x, y, from, to)
    order: list[str] = field(default_factory=list)

    def bounds(self) -> tuple[float, float, float, float]:
        xy = np.array([(x, y) for x, y, _ in self.stations.values()] or [(0.0, 0.0)])
        return xy[:, 0].min(), xy[:, 0].max(), xy[:, 1].min(), xy[:, 1].max()


def _steps(sc: dict) -> list[list[list[str]]]:
    groups = sc.get("groups", {})
    out = []
    for prod in sc["products"].values():
        steps = []
        for st in prod["routing"]:
            s = st["station"]
            steps.append(list(s) if isinstance(s, list) else list(groups.get(s, [s])))
        out.append(steps)
    return out


def plant_layout(sc: dict) -> PlantLayout:
    """Positions for every station: the scenario's ``layout`` where given, else by flow order."""
    stations = sc["stations"]
    level: dict[str, int] = {}
    for steps in _steps(sc):
        for i, members in enumerate(steps):
            for m in members:
                level[m] = max(level.get(m, 0), i)
    for s in stations:
        level.setdefault(s, 0)
    by_level: dict[int, list[str]] = {}
    for s in stations:
        by_level.setdefault(level[s], []).append(s)
    pos = {}
    for lv, names in by_level.items():
        for j, s in enumerate(names):
            lay = stations[s].get("layout")
            if lay:
                pos[s] = (float(lay["x"]), float(lay["y"]), float(lay.get("rotation", 0.0)))
            else:
                pos[s] = (lv * SPACING, (j - (len(names) - 1) / 2) * LANE, 0.0)
    groups = sc.get("groups", {})
    expand = lambda names: [m for n in names for m in groups.get(n, [n])]
    bufs = {}
    for name, b in sc.get("buffers", {}).items():
        if "between" in b and b["between"] is not None:
            a, c = b["between"]
        else:
            a, c = b.get("from"), b.get("to")
        a = expand([a] if isinstance(a, str) else a)
        c = expand([c] if isinstance(c, str) else c)
        lay = b.get("layout")
        pa = [pos[x][:2] for x in a if x in pos]
        pc = [pos[x][:2] for x in c if x in pos]
        if lay:
            bx, by = float(lay["x"]), float(lay["y"])
        elif pa and pc:
            bx = (np.mean([p[0] for p in pa]) + np.mean([p[0] for p in pc])) / 2
            by = (np.mean([p[1] for p in pa]) + np.mean([p[1] for p in pc])) / 2
        else:
            continue
        bufs[name] = (bx, by, a, c)
    order = sorted(stations, key=lambda s: (level[s], pos[s][1]))
    return PlantLayout(pos, {s: v.get("kind", "machine") for s, v in stations.items()},
                       {s: int(v.get("capacity", 1) or 1) for s, v in stations.items()}, bufs, order)


def flows(result) -> dict[tuple[str, str], int]:
    """Parts moved between consecutive stations: (from station, to station) -> count."""
    ops = result.ops
    if len(ops["part"]) == 0:
        return {}
    names = list(dict.fromkeys(s for _, s in result.resources))
    st_of_res = np.array([names.index(s) for _, s in result.resources])
    order = np.lexsort((ops["t_end"], ops["part"]))
    part = ops["part"][order]
    st = st_of_res[ops["resource"][order]]
    keep = (part[1:] == part[:-1]) & (st[1:] != st[:-1])
    pairs = st[:-1][keep] * len(names) + st[1:][keep]
    codes, counts = np.unique(pairs, return_counts=True)
    return {(names[c // len(names)], names[c % len(names)]): int(n) for c, n in zip(codes, counts)}
