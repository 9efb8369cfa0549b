"""PyVista scene of a plant: parametric station models on a floor grid, buffers as racks with
stacked parts, conveyors as belts, AGVs, flow ribbons on the floor whose width follows the part
flow, labels, a colour legend and the line KPIs. Off-screen rendering needs no display (the VTK
wheel alone).

:func:`build_scene` makes the scene once for both uses: a static picture coloured by a KPI
(:func:`plot_plant`, :func:`render_png`, :func:`export_html`) and the replay
(:func:`twin.viewer.animate`), which only recolours actors and moves parts between frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twin.states import Code

from .layout import PlantLayout, flows, plant_layout, polyline_length, polyline_point
from .models import ROLE_STYLE, agv_vehicle, build_model, model_name, place, placed
from .timeline import state_shares

from twin.kpidefs import KPIS

__all__ = ["plot_plant", "render_png", "export_html", "build_scene", "Scene", "KPI_CHOICES", "STATE_COLOURS",
           "kpi_colour", "quiet_vtk", "fit_camera", "project"]

#: KPI -> (legend title, higher is better): the station ratios of the KPI registry (twin.kpidefs)
KPI_CHOICES = {k.name: (k.label, k.better == "higher") for (lv, _), k in KPIS.items()
               if lv == "stations" and k.display == "%" and k.better}

#: stacklight colours (RGB 0-255): green executing, blue setup, yellow idle (starved, blocked,
#: held), red failure, orange planned maintenance, grey break / off shift
STATE_COLOURS = {
    Code.PROCESSING: (46, 160, 67), Code.SETUP: (30, 100, 220), Code.STARVED: (250, 200, 30), Code.BLOCKED: (250, 200, 30),
    Code.HELD: (250, 200, 30), Code.FAILURE: (215, 35, 35), Code.PLANNED_MAINTENANCE: (245, 124, 0), Code.BREAK: (150, 150, 150),
    Code.OFF_SHIFT: (150, 150, 150),
}
STATE_LEGEND = [("executing", Code.PROCESSING), ("setup", Code.SETUP), ("starved / blocked", Code.STARVED),
                ("failure", Code.FAILURE), ("maintenance", Code.PLANNED_MAINTENANCE), ("break / off shift", Code.OFF_SHIFT)]

# ColorBrewer RdYlGn (11 classes), red (bad) to green (good)
_RDYLGN = np.array([(165, 0, 38), (215, 48, 39), (244, 109, 67), (253, 174, 97), (254, 224, 139), (255, 255, 191),
                    (217, 239, 139), (166, 217, 106), (102, 189, 99), (26, 152, 80), (0, 104, 55)], float)

FLOOR = "#eef1f4"
GRID = "#cfd6dd"
FLOW = "#3f51b5"
PART = "#b0bec5"
RACK = "#78909c"


def quiet_vtk() -> None:
    """Without a display VTK falls back from X to EGL by itself, with a warning on stderr per
    window: keep VTK's log to errors."""
    from vtkmodules.vtkCommonCore import vtkLogger

    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)


def _ramp(higher_is_better: bool, n: int = 256) -> np.ndarray:
    x = np.linspace(0, 1, n) * (len(_RDYLGN) - 1)
    i = np.minimum(x.astype(int), len(_RDYLGN) - 2)
    f = (x - i)[:, None]
    rgb = _RDYLGN[i] * (1 - f) + _RDYLGN[i + 1] * f
    return rgb if higher_is_better else rgb[::-1]


def kpi_colour(value: float, lo: float, hi: float, higher_is_better: bool = True) -> tuple[int, int, int]:
    """RGB (0-255) of a KPI value on the legend's scale (ColorBrewer RdYlGn; red is bad)."""
    ramp = _ramp(higher_is_better)
    if not np.isfinite(value):
        return (190, 190, 190)
    f = 0.5 if hi - lo < 1e-12 else (value - lo) / (hi - lo)
    k = int(round(float(np.clip(f, 0, 1)) * (len(ramp) - 1)))
    return tuple(int(round(c)) for c in ramp[k])


def _lut(higher_is_better: bool, lo: float, hi: float):
    import pyvista as pv

    ramp = _ramp(higher_is_better)
    values = np.column_stack([ramp, np.full(len(ramp), 255)]).astype(np.uint8)
    return pv.LookupTable(values=values, scalar_range=(lo, hi))


def _rgb(c) -> tuple[float, float, float]:
    return tuple(v / 255.0 for v in c)


def project(plotter, xyz) -> tuple[float, float]:
    """Display coordinates (pixels, origin bottom left) of a world point."""
    ren = plotter.renderer
    ren.SetWorldPoint(float(xyz[0]), float(xyz[1]), float(xyz[2]), 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    return x, y


def fit_camera(plotter, bounds, region=(0.02, 0.98, 0.03, 0.80), elevation: float = 48.0, azimuth: float = -12.0,
               view_angle: float = 24.0) -> None:
    """Look at ``bounds`` (xmin, xmax, ymin, ymax, zmin, zmax) from the front and above and
    zoom / pan until its projection fills ``region`` (fractions of the window: x0, x1, y0, y1)."""
    x0, x1, y0, y1, z0, z1 = bounds
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2])
    span = max(x1 - x0, y1 - y0, 8.0)
    el, az = math.radians(elevation), math.radians(azimuth)
    d = np.array([math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el)])
    cam = plotter.camera
    cam.view_angle = view_angle
    cam.focal_point = tuple(c)
    cam.position = tuple(c + d * span * 2.6)
    cam.up = (0.0, 0.0, 1.0)
    plotter.renderer.ResetCameraClippingRange()
    W, H = plotter.window_size
    rx0, rx1, ry0, ry1 = region[0] * W, region[1] * W, region[2] * H, region[3] * H
    corners = np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)])
    ren = plotter.renderer
    for _ in range(4):
        pts = np.array([project(plotter, q) for q in corners])
        w, h = np.ptp(pts[:, 0]), np.ptp(pts[:, 1])
        scale = min((rx1 - rx0) / max(w, 1.0), (ry1 - ry0) / max(h, 1.0))
        # pan: move the box centre onto the region centre at the focal depth
        bc = (pts[:, 0].min() + pts[:, 0].max()) / 2, (pts[:, 1].min() + pts[:, 1].max()) / 2
        ren.SetWorldPoint(*cam.focal_point, 1.0)
        ren.WorldToDisplay()
        fx, fy, fz = ren.GetDisplayPoint()
        ren.SetDisplayPoint(fx - ((rx0 + rx1) / 2 - bc[0]), fy - ((ry0 + ry1) / 2 - bc[1]), fz)
        ren.DisplayToWorld()
        wx, wy, wz, ww = ren.GetWorldPoint()
        target = np.array([wx, wy, wz]) / (ww or 1.0)
        delta = target - np.array(cam.focal_point)
        cam.focal_point = tuple(np.array(cam.focal_point) + delta)
        cam.position = tuple(np.array(cam.position) + delta)
        cam.zoom(scale * 0.98)
        ren.ResetCameraClippingRange()


@dataclass
class Scene:
    """A built plant scene and the handles a replay needs."""

    plotter: object
    layout: PlantLayout
    station_actors: dict = field(default_factory=dict)  # station -> body actor (the first unit's)
    unit_actors: dict = field(default_factory=dict)  # station -> [(resource name, body actor)] when units are drawn one by one
    lamp_actors: dict = field(default_factory=dict)  # station -> stacklight lamp actor
    probes: dict = field(default_factory=dict)  # station -> world point on the body's front face
    buffer_slots: dict = field(default_factory=dict)  # buffer -> list of part actors (rack order)
    conveyor_parts: dict = field(default_factory=dict)  # conveyor -> (path, cumulative length, part actors)
    agv_actors: dict = field(default_factory=dict)  # transport station -> list of (actor, body actor) per unit
    texts: dict = field(default_factory=dict)
    font_size: int = 13
    label_boxes: dict = field(default_factory=dict)  # label -> pixel box (x0, y0, x1, y1), origin bottom left
    obstacles: dict = field(default_factory=dict)  # station or buffer:NAME -> pixel box of what is drawn there
    kpi_range: tuple = (0.0, 1.0)
    kpi_values: dict = field(default_factory=dict)

    def pixel(self, station: str) -> tuple[int, int]:
        """Image (row-major, origin top left) coordinates (x, y) of a station's probe point."""
        x, y = project(self.plotter, self.probes[station])
        return int(round(x)), int(round(self.plotter.window_size[1] - 1 - y))


def _text(p, text, x, y, size=12, bold=False, color="black", box=True, align="left", valign="top", name=None):
    """A 2-D text at pixel (x, y) with a translucent white box behind it."""
    import vtk

    a = vtk.vtkTextActor()
    a.SetInput(text)
    tp = a.GetTextProperty()
    tp.SetFontSize(size)
    tp.SetBold(bold)
    tp.SetColor(*_rgb(_hex(color)))
    tp.SetFontFamilyToArial()
    tp.SetJustification({"left": 0, "center": 1, "right": 2}[align])
    tp.SetVerticalJustification({"bottom": 0, "center": 1, "top": 2}[valign])
    if box:
        tp.SetBackgroundColor(1, 1, 1)
        tp.SetBackgroundOpacity(0.85)
        tp.SetFrame(True)
        tp.SetFrameColor(0.75, 0.78, 0.8)
    tp.SetLineSpacing(1.15)
    a.SetPosition(x, y)
    p.add_actor(a, name=name, reset_camera=False)
    return a


def _hex(c):
    if isinstance(c, str):
        if c == "black":
            return (0, 0, 0)
        if c == "white":
            return (255, 255, 255)
        c = c.lstrip("#")
        return tuple(int(c[i:i + 2], 16) for i in (0, 2, 4))
    return c


def _ribbon(a, b, width, z=0.012, head=True):
    """A flat arrow on the floor from a to b: a strip ``width`` wide with an arrow head at its middle."""
    import pyvista as pv

    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    L = float(np.hypot(*d))
    if L < 1e-6:
        return None
    u = d / L
    n = np.array([-u[1], u[0]])
    w = width / 2
    pts = [a + n * w, b + n * w, b - n * w, a - n * w]
    faces = [4, 0, 1, 2, 3]
    if head and L > 2.5:
        m = a + d * 0.5
        hw, hl = max(w * 2.2, 0.35), max(w * 2.5, 0.6)
        k = len(pts)
        pts += [m - u * hl / 2 + n * hw, m + u * hl / 2, m - u * hl / 2 - n * hw]
        faces += [3, k, k + 1, k + 2]
    P = np.column_stack([np.array(pts), np.full(len(pts), z)])
    P[4:, 2] = z + 0.004
    return pv.PolyData(P, faces=np.array(faces))


def _rack_slots(bx, by, n_slots, rot=0.0):
    """Positions of stacked parts on a rack: 3 x 2 per layer, layers upwards."""
    out = []
    for k in range(n_slots):
        layer, r = divmod(k, 6)
        i, j = r % 3, r // 3
        out.append((-0.5 + 0.5 * i, -0.25 + 0.5 * j, 0.3 + 0.36 * layer))
    return place(np.array(out).reshape(-1, 3), bx, by, rot) if out else np.zeros((0, 3))


def build_scene(result, mode: str = "kpi", kpi: str = "utilization", window_size=(1600, 900), off_screen: bool = True,
                title: str | None = None, labels: bool | None = None, max_slots: int = 24, state_bars: bool = True) -> Scene:
    """Build the plant scene. ``mode='kpi'``: bodies coloured by ``kpi`` with a legend, the
    bottleneck ringed, state-share bars in front of each station and line KPIs in a panel.
    ``mode='state'``: neutral scene with stacklights, part pools and a clock for the replay."""
    import pyvista as pv

    quiet_vtk()
    if kpi not in KPI_CHOICES:
        raise ValueError(f"unknown kpi {kpi!r}; choose one of {', '.join(KPI_CHOICES)}")
    label, better = KPI_CHOICES[kpi]
    lay = plant_layout(result.scenario)
    names = [s for s in lay.order if s in lay.stations]
    n_st = len(names)
    labels = (n_st <= 60) if labels is None else labels
    small = n_st > 60
    p = pv.Plotter(off_screen=off_screen, window_size=list(window_size), lighting="three lights")
    p.set_background("white")
    sc = Scene(p, lay)
    W, H = window_size
    fs = max(8, int(round(min(W / 1600, H / 900) * 13)))  # label font size follows the window
    sc.font_size = fs

    # ---- floor with a 2 m grid -----------------------------------------------------------------
    x0, x1, y0, y1 = lay.bounds()
    pad = 5.0
    fx0, fx1, fy0, fy1 = math.floor((x0 - pad) / 2) * 2, math.ceil((x1 + pad) / 2) * 2, math.floor((y0 - pad - 2) / 2) * 2, math.ceil((y1 + pad) / 2) * 2
    floor = pv.Plane(center=((fx0 + fx1) / 2, (fy0 + fy1) / 2, -0.02), i_size=fx1 - fx0, j_size=fy1 - fy0,
                     i_resolution=max(1, int((fx1 - fx0) / 2)), j_resolution=max(1, int((fy1 - fy0) / 2)))
    p.add_mesh(floor, color=FLOOR, show_edges=not small, edge_color=GRID, line_width=1, lighting=False, name="floor")

    # ---- KPI values and colours ----------------------------------------------------------------
    st_k = result.kpis.get("stations", {})
    vals = {s: (np.nan if st_k.get(s, {}).get(kpi) is None else float(st_k[s][kpi])) for s in names}
    finite = np.array([v for v in vals.values() if np.isfinite(v)])
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    sc.kpi_range, sc.kpi_values = (lo, hi), vals
    clo, chi = (lo, hi) if hi - lo > 1e-9 else (lo - 0.05, hi + 0.05)
    bottleneck = result.kpis.get("line", {}).get("bottleneck") if mode == "kpi" else None

    # ---- flow ribbons on the floor ---------------------------------------------------------------
    fl = flows(result)
    fmax = max(fl.values()) if fl else 1
    ribbons = []
    for (a, b), n in fl.items():
        if a in lay.stations and b in lay.stations:
            pa, pb = lay.port(a, True), lay.port(b, False)
            r = _ribbon(pa, pb, 0.12 + 0.7 * n / fmax)
            if r is not None:
                ribbons.append(r)
    if ribbons:
        p.add_mesh(ribbons[0].merge(ribbons[1:]) if len(ribbons) > 1 else ribbons[0], color=FLOW, opacity=0.35,
                   lighting=False, name="flows")

    # ---- stations ------------------------------------------------------------------------------
    roles: dict[str, list] = {}
    label_pts, label_txt = [], []
    shares = state_shares(result) if (mode == "kpi" and state_bars and not small) else {}
    bars: dict[int, list] = {}
    world_boxes: dict[str, list[float]] = {}  # station or buffer -> floor box (x0, x1, y0, y1, z0, z1) of what is drawn
    unit_names: dict[str, list[str]] = {}
    for rname, st_name in result.resources:
        unit_names.setdefault(st_name, []).append(rname)
    for s in names:
        x, y, rot = lay.stations[s]
        if mode == "kpi":
            colour = kpi_colour(vals[s], clo, chi, better)
        else:
            colour = STATE_COLOURS[Code.OFF_SHIFT]
        units = unit_names.get(s, [s])
        if len(units) > 1 and lay.kinds[s] not in ("agv_fleet", "robot"):
            # parallel units drawn one by one: a grid of smaller models on the station's footprint
            mdl = None
            sc.unit_actors[s] = []
            for k, rname in enumerate(units):
                m, (ux, uy) = unit_model(model_name(s, lay.kinds[s]), k, len(units))
                q = place([(ux, uy, 0.0)], x, y, rot)[0]
                parts = placed(m, float(q[0]), float(q[1]), rot)
                body = parts.pop("body")
                a = p.add_mesh(body, color=_rgb(colour), ambient=0.35, diffuse=0.7, specular=0.05, name=f"station:{rname}")
                sc.unit_actors[s].append((rname, a))
                sc.probes[rname] = tuple(place([m.probe], float(q[0]), float(q[1]), rot)[0])
                _grow(world_boxes, s, body)
                for role, mesh in parts.items():
                    roles.setdefault(role, []).append(mesh)
                    _grow(world_boxes, s, mesh)
                if mdl is None:
                    mdl = m
                    sc.station_actors[s] = a
                    sc.probes[s] = tuple(place([m.probe], float(q[0]), float(q[1]), rot)[0])
            mdl = _grid_envelope(mdl, len(units))
            lx, ly, lz = place([mdl.light], x, y, rot)[0]
        else:
            mdl = build_model(model_name(s, lay.kinds[s]))
            parts = placed(mdl, x, y, rot)
            body = parts.pop("body")
            sc.station_actors[s] = p.add_mesh(body, color=_rgb(colour), ambient=0.35, diffuse=0.7, specular=0.05,
                                              name=f"station:{s}")
            _grow(world_boxes, s, body)
            for role, mesh in parts.items():
                roles.setdefault(role, []).append(mesh)
                _grow(world_boxes, s, mesh)
            sc.probes[s] = tuple(place([mdl.probe], x, y, rot)[0])
            lx, ly, lz = place([mdl.light], x, y, rot)[0]
        if mode == "state":  # stacklight: post and lamp
            roles.setdefault("post", []).append(pv.Cylinder(center=(lx, ly, lz + 0.35), direction=(0, 0, 1), radius=0.05, height=0.7))
            sc.lamp_actors[s] = p.add_mesh(pv.Cylinder(center=(lx, ly, lz + 0.85), direction=(0, 0, 1), radius=0.16, height=0.35,
                                                       resolution=20), color=_rgb(colour), lighting=False, name=f"lamp:{s}")
        top = mdl.top + (1.2 if mode == "state" else 0.0)
        if s == bottleneck:
            p.add_mesh(pv.Disc(center=(x, y, 0.03), inner=3.1, outer=3.5, c_res=72), color="#d50000", lighting=False,
                       name="bottleneck")
        if labels:
            label_pts.append((x, y, top + 0.5))
            if mode == "kpi":
                v = vals[s]
                vt = "n/a" if not np.isfinite(v) else f"{100 * v:.0f} %"
                extra = ""
                if lay.kinds[s] == "furnace":
                    from .timeline import FurnaceTimeline

                    ft = FurnaceTimeline(result, s)
                    if len(ft.size):
                        extra = f"\nmean batch {ft.size.mean():.1f}/{ft.capacity}"
                label_txt.append(f"{s}{'  (bottleneck)' if s == bottleneck else ''}\n{label} {vt}{extra}")
            else:
                label_txt.append(s)
        if shares:  # state-share bar on the floor in front of the station
            sh = shares.get(s)
            if sh is not None:
                fr = place([(0.0, mdl.probe[1] - 0.9, 0.0)], x, y, rot)[0]
                start = -2.0
                for code, group in ((Code.PROCESSING, [0]), (Code.SETUP, [1]), (Code.STARVED, [2, 3, 4]), (Code.FAILURE, [5]),
                                    (Code.PLANNED_MAINTENANCE, [6]), (Code.OFF_SHIFT, [7, 8])):
                    w = 4.0 * float(sh[group].sum())
                    if w > 0.01:
                        seg = pv.Box((start, start + w, -0.22, 0.22, 0.0, 0.06))
                        seg.points = place(seg.points, fr[0], fr[1], rot) + np.array([0, 0, 0.0])
                        bars.setdefault(int(code), []).append(seg)
                        _grow(world_boxes, s, seg)
                        start += w
    for code, segs in bars.items():
        p.add_mesh(segs[0].merge(segs[1:]) if len(segs) > 1 else segs[0], color=_rgb(STATE_COLOURS[Code(code)]),
                   lighting=False, name=f"shares:{code}")

    # ---- buffers and conveyors ------------------------------------------------------------------
    bk = result.kpis.get("buffers", {})
    buf_pts, buf_txt = [], []
    for name, (bx, by, _, _) in lay.buffers.items():
        kind = lay.buffer_kinds.get(name, "buffer")
        cap = lay.buffer_capacity.get(name, float("inf"))
        mean = float(bk.get(name, {}).get("mean_level", 0.0) or 0.0)
        if kind == "conveyor":
            path = lay.paths[name]
            cum = polyline_length(path)
            for i in range(len(path) - 1):
                a, b = path[i], path[i + 1]
                L = float(np.hypot(*(b - a)))
                if L < 1e-6:
                    continue
                belt = pv.Box((0, L, -0.4, 0.4, 0.6, 0.78))
                ang = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
                belt.points = place(belt.points, a[0], a[1], ang)
                roles.setdefault("belt", []).append(belt)
                for s_leg in np.arange(0.3, L, 1.5):
                    leg = pv.Box((s_leg - 0.04, s_leg + 0.04, -0.35, 0.35, 0, 0.6))
                    leg.points = place(leg.points, a[0], a[1], ang)
                    roles.setdefault("trim", []).append(leg)
            n_pool = int(min(cap, max_slots * 2))
            pool = []
            for k in range(n_pool):
                pool.append(p.add_mesh(pv.Box((-0.2, 0.2, -0.2, 0.2, 0.0, 0.28)), color=PART, name=f"cpart:{name}:{k}",
                                       specular=0.5))
                pool[-1].visibility = False
            sc.conveyor_parts[name] = (path, cum, pool)
            if mode == "kpi":  # mean level as parts accumulated at the end of the belt
                pitch = float(lay.buffer_specs[name].get("pitch", 0.5))
                for k, a in enumerate(pool[:int(round(mean))]):
                    q = polyline_point(path, [cum[-1] - 0.3 - k * max(pitch, 0.45)], cum)[0]
                    a.position = (q[0], q[1], 0.78)
                    a.visibility = True
            mid = polyline_point(path, [cum[-1] / 2], cum)[0]
            buf_pts.append((mid[0], mid[1], 1.3))
        else:
            roles.setdefault("rack", []).append(pv.Box((bx - 0.85, bx + 0.85, by - 0.55, by + 0.55, 0, 0.14)))
            n_slots = int(min(cap, max_slots)) if math.isfinite(cap) else max_slots
            world_boxes["buffer:" + name] = [bx - 0.85, bx + 0.85, by - 0.55, by + 0.55, 0.0,
                                             0.3 + 0.36 * math.ceil(max(n_slots, 1) / 6)]
            slots = _rack_slots(bx, by, n_slots)
            pool = []
            for k, q in enumerate(slots):
                a = p.add_mesh(pv.Cylinder(center=tuple(q), direction=(0, 0, 1), radius=0.19, height=0.32, resolution=16),
                               color=PART, specular=0.5, name=f"part:{name}:{k}")
                a.visibility = (mode == "kpi" and k < int(round(mean)))
                pool.append(a)
            sc.buffer_slots[name] = pool
            buf_pts.append((bx, by, 0.4 + 0.36 * math.ceil(max(n_slots, 1) / 6) + 0.3))
        if mode == "kpi":
            cap_t = "inf" if not math.isfinite(cap) else f"{cap:.0f}"
            mx = bk.get(name, {}).get("max_level")
            buf_txt.append(f"{name}  mean {mean:.1f} / {cap_t}" + (f"  max {mx}" if mx is not None else ""))
        else:
            buf_txt.append(name)

    # ---- transports (AGV fleets): aisles on the floor, vehicles parked at their home -------------
    for s in names:
        if lay.kinds[s] != "agv_fleet":
            continue
        net = (result.scenario.get("stations", {}).get(s, {}) or {}).get("network")
        if net:
            pos = {n: (v[0], v[1]) for n, v in (net.get("nodes") or {}).items()}
            pos.update({n: (v[0], v[1]) for n, v in lay.stations.items()})
            seg = [(pos[a], pos[b]) for a, b in net.get("edges", []) if a in pos and b in pos]
            if seg:
                pts = np.array([(x, y, 0.03) for ab in seg for (x, y) in ab], float)
                p.add_lines(pts, color="#f9a825", width=3, name=f"aisles:{s}")
        x, y, rot = lay.stations[s]
        units = [r for r, (_, st) in enumerate(result.resources) if st == s] or [None]
        sc.agv_actors[s] = []
        for k, _ in enumerate(units):
            v = agv_vehicle()
            body = v["body"][0].copy()
            trim = v["trim"][0].merge(v["trim"][1:])
            home = (x - 1.0 + 0.0 * k, y - 1.6 - 1.3 * k)
            ab = p.add_mesh(body, color=_rgb(STATE_COLOURS[Code.STARVED] if mode == "kpi" else STATE_COLOURS[Code.OFF_SHIFT]),
                            name=f"agv:{s}:{k}")
            at = p.add_mesh(trim, color="#263238", name=f"agvtrim:{s}:{k}")
            for a in (ab, at):
                a.position = (home[0], home[1], 0.0)
            sc.agv_actors[s].append((ab, at, home))

    for role, meshes in roles.items():
        style = {"belt": {"color": "#546e7a"}, "rack": {"color": RACK}}.get(role) or ROLE_STYLE.get(role, {"color": "grey"})
        merged = meshes[0].merge(meshes[1:]) if len(meshes) > 1 else meshes[0]
        p.add_mesh(merged, name=f"role:{role}", **style)

    # ---- camera: fit the plant into the picture below the panels -----------------------------------
    zmax = 5.0
    region = (0.02, 0.86, 0.03, 0.78) if mode == "kpi" else (0.02, 0.84, 0.03, 0.84)
    fit_camera(p, (x0 - 2.5, x1 + 2.5, y0 - 3.5, y1 + 2.0, 0.0, zmax), region=region)

    # ---- labels: placed in the picture where they cover no station, rack or other label ----------
    if labels and label_pts:
        names_l = [s_ for s_ in names][: len(label_pts)]
        items = [(f"label:{n}", txt, pt, fs, True, n) for n, txt, pt in zip(names_l, label_txt, label_pts)]
        if buf_pts and len(buf_pts) <= 40:
            items += [(f"buffer_label:{n}", txt, pt, max(7, fs - 3), False, "buffer:" + n)
                      for n, txt, pt in zip(lay.buffers, buf_txt, buf_pts)]
        sc.label_boxes, sc.obstacles = place_labels(p, items, world_boxes)

    # ---- legends and panels -------------------------------------------------------------------------
    name_t = title or getattr(result, "scenario_name", None) or result.scenario.get("name", "plant")
    if mode == "kpi":
        carrier = pv.PolyData(np.array([[x0, y0, -5.0], [x0, y0, -5.0]]))
        lt = f"{label} [%]"
        carrier.point_data[lt] = np.array([100 * clo, 100 * chi])
        p.add_mesh(carrier, scalars=lt, cmap=_lut(better, 100 * clo, 100 * chi), clim=(100 * clo, 100 * chi), opacity=0.0,
                   name="legend", show_scalar_bar=True,
                   scalar_bar_args={"title": lt, "vertical": True, "position_x": 0.905, "position_y": 0.2, "height": 0.55,
                                    "width": 0.045, "color": "black", "fmt": "%.0f", "n_labels": 6, "title_font_size": fs + 3,
                                    "label_font_size": fs + 1, "bold": False})
        line = result.kpis.get("line", {})
        f = lambda v, fmt="{:.1f}", k=1.0: "n/a" if v is None else fmt.format(v * k)
        lt_mean = line.get("lead_time_mean_s")
        _text(p, name_t, 14, H - 12, size=fs + 7, bold=True, box=False, name="title")
        kline = (f"throughput {f(line.get('throughput_per_hour'), '{:.2f}')} parts/h    OEE {f(line.get('oee'), '{:.1f} %', 100)}"
                 f"    availability {f(line.get('availability'), '{:.1f} %', 100)} (APT/PBT of the pacing step {line.get('pacing_station') or 'n/a'})"
                 f"    scrap {f(line.get('scrap_ratio'), '{:.2f} %', 100)}\n"
                 f"WIP {f(line.get('wip_mean'))} parts    lead time {f(lt_mean, '{:.0f} min', 1 / 60)}"
                 f"    energy/good part {f(line.get('energy_per_good_part_J'), '{:.2f} kWh', 1 / 3.6e6)}"
                 f"    bottleneck {line.get('bottleneck') or 'n/a'}")
        _text(p, kline, 14, H - 12 - int(2.1 * (fs + 7)), size=fs + 1, name="kpis")
        foot = (f"colour: {label} per station (legend)    red ring: bottleneck    floor ribbons: part flow, width by parts moved "
                f"(max {fmax})    bars: time in state    grid 2 m    {result.warmup / 3600:g}-{result.horizon / 3600:g} h")
        _text(p, foot, 14, 10, size=max(7, fs - 2), color="#455a64", box=False, valign="bottom", name="footer")
        if shares:
            _state_legend(p, W, H, fs, title="time in state", y_top=0.17)
    else:
        _text(p, name_t, 14, H - 12, size=fs + 5, bold=True, box=False, name="title")
        sc.texts["clock"] = _text(p, "", W - 14, H - 12, size=fs + 5, bold=True, align="right", name="clock")
        sc.texts["counter"] = _text(p, "", 14, H - 12 - int(2.0 * (fs + 5)), size=fs, name="counter")
        _state_legend(p, W, H, fs, title="stacklight", y_top=0.55)
    return sc


def _grow(boxes: dict, key: str, mesh) -> None:
    b = mesh.bounds
    cur = boxes.get(key)
    boxes[key] = list(b) if cur is None else [min(cur[0], b[0]), max(cur[1], b[1]), min(cur[2], b[2]), max(cur[3], b[3]),
                                             min(cur[4], b[4]), max(cur[5], b[5])]


def _overlap(a, b, pad: float = 0.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def place_labels(p, items, world_boxes: dict, pad: float = 2.0):
    """Place 2-D labels so that none covers a station, a rack or another label.

    ``items``: (actor name, text, 3-D anchor, font size, bold, key of its own object). Each label
    tries positions around its object's box in the picture (above, below, right, left, then
    further out), takes the first that is free and inside the window, and otherwise the one that
    covers least. Returns (label boxes, obstacle boxes) in pixels (origin bottom left)."""
    import vtk

    W, H = p.window_size
    obst = {}
    for key, b in world_boxes.items():
        corners = [(x, y, z) for x in b[:2] for y in b[2:4] for z in b[4:6]]
        pts = np.array([project(p, c) for c in corners])
        obst[key] = (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))
    placed_boxes: dict[str, tuple] = {}
    ren = p.renderer
    for name, text, anchor, size, bold, own in items:
        a = vtk.vtkTextActor()
        a.SetInput(text)
        tp = a.GetTextProperty()
        tp.SetFontSize(size)
        tp.SetBold(bold)
        tp.SetColor(0.13, 0.13, 0.13) if bold else tp.SetColor(0.27, 0.35, 0.39)
        tp.SetFontFamilyToArial()
        tp.SetJustificationToLeft()
        tp.SetVerticalJustificationToBottom()
        tp.SetBackgroundColor(1, 1, 1)
        tp.SetBackgroundOpacity(0.85 if bold else 0.7)
        tp.SetFrame(True)
        tp.SetFrameColor(0.75, 0.78, 0.8)
        bb = [0.0] * 4
        a.SetPosition(0, 0)
        a.GetBoundingBox(ren, bb)
        w, h = bb[1] - bb[0] + 4, bb[3] - bb[2] + 4
        ax, ay = project(p, anchor)
        ob = obst.get(own, (ax, ay, ax, ay))
        cx = (ob[0] + ob[2]) / 2
        cands = []
        for k in range(0, 8):
            d = pad + k * (h * 0.6)
            cands += [(cx - w / 2, ob[3] + d), (cx - w / 2, ob[1] - d - h), (ob[2] + d, (ob[1] + ob[3]) / 2 - h / 2),
                       (ob[0] - d - w, (ob[1] + ob[3]) / 2 - h / 2), (ob[2] + d, ob[3] + d), (ob[0] - d - w, ob[3] + d)]
        others = list(obst.values()) + list(placed_boxes.values())
        best, best_cost = None, math.inf
        for x0, y0 in cands:
            box = (x0, y0, x0 + w, y0 + h)
            inside = 0 <= box[0] and box[2] <= W and 0 <= box[1] and box[3] <= H
            cost = sum(_area(box, o) for o in others) + (0 if inside else 1e7)
            if cost == 0:
                best = box
                break
            if cost < best_cost:
                best, best_cost = box, cost
        a.SetPosition(best[0] + 2, best[1] + 2)
        p.add_actor(a, name=name, reset_camera=False)
        placed_boxes[name] = best
    return placed_boxes, obst


def _area(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def unit_grid(n: int) -> tuple[int, int, float]:
    """(columns along the flow, rows across it, scale) of ``n`` parallel units on one footprint."""
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    return cols, rows, max(0.34, 1.0 / max(cols, rows) * 1.05)


def unit_model(name: str, k: int, n: int):
    """The model of unit ``k`` of ``n`` parallel units, scaled down, and its offset (local x, y)
    on the station's footprint: units fill a grid, the first at the front left."""
    from .models import Model

    cols, rows, sc = unit_grid(n)
    base = build_model(name)
    m = Model(light=tuple(v * sc for v in base.light), probe=tuple(v * sc for v in base.probe))
    for role, meshes in base.parts.items():
        for mesh in meshes:
            mm = mesh.copy()
            mm.points = np.asarray(mm.points) * sc
            m.add(role, mm)
    c, r = k % cols, k // cols
    pitch_x, pitch_y = _pitch(base, sc)
    return m, ((c - (cols - 1) / 2) * pitch_x, (r - (rows - 1) / 2) * pitch_y)


def _pitch(model, sc: float) -> tuple[float, float]:
    """Spacing of scaled units: the model's footprint (all its meshes) plus a gap."""
    b = [mesh.bounds for ms in model.parts.values() for mesh in ms]
    wx = max(x[1] for x in b) - min(x[0] for x in b)
    wy = max(x[3] for x in b) - min(x[2] for x in b)
    return wx * sc + 0.3, wy * sc + 0.3


def _grid_envelope(first, n: int):
    """A stand-in model for labels and the stacklight of a grid of units: light above the grid's
    back right corner, top of the tallest unit."""
    from .models import Model

    cols, rows, sc = unit_grid(n)
    px, py = _pitch(first, 1.0)  # ``first`` is scaled already
    m = Model(light=((cols - 1) / 2 * (px - 0.3 + 0.3) + first.light[0], (rows - 1) / 2 * py + first.light[1], first.light[2]),
              probe=first.probe)
    m.parts = first.parts
    return m


def _state_legend(p, W, H, fs, title: str, y_top: float) -> None:
    """Colour patches with state names at the right edge."""
    x = W - 14
    y = y_top * H
    _text(p, title, x, y, size=fs, bold=True, box=False, align="right", name="state_legend_title")
    step = int(fs * 1.7)
    for i, (txt, code) in enumerate(STATE_LEGEND):
        yy = y - (i + 1) * step
        _text(p, txt, x - int(fs * 1.8), yy, size=fs - 1, box=False, align="right", name=f"state_legend:{i}")
        _patch(p, x - int(fs * 1.4), yy - int(fs * 1.45), int(fs * 1.3), int(fs * 0.95), STATE_COLOURS[code], name=f"state_patch:{i}")


def _patch(p, x0: float, y0: float, w: float, h: float, color, name: str) -> None:
    """A filled rectangle in display pixels (legend swatch): a 2-D actor, not a font glyph."""
    import pyvista as pv
    import vtk

    pts = np.array([[x0, y0, 0], [x0 + w, y0, 0], [x0 + w, y0 + h, 0], [x0, y0 + h, 0]], float)
    poly = pv.PolyData(pts, faces=[4, 0, 1, 2, 3])
    mapper = vtk.vtkPolyDataMapper2D()
    mapper.SetInputData(poly)
    actor = vtk.vtkActor2D()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*_rgb(color))
    p.add_actor(actor, name=name)


def plot_plant(result, kpi: str = "utilization", window_size=(1600, 900), off_screen: bool = True, title: str | None = None,
               **opts):
    """A PyVista plotter showing the plant coloured by ``kpi`` (see :data:`KPI_CHOICES`); call
    ``.show()`` in a notebook or window, ``.screenshot(path)`` off-screen."""
    sc = build_scene(result, mode="kpi", kpi=kpi, window_size=window_size, off_screen=off_screen, title=title, **opts)
    p = sc.plotter
    p._twin_layout = sc.layout
    p._twin_kpi_range = sc.kpi_range
    p._twin_scene = sc
    return p


def render_png(result, path, kpi: str = "utilization", window_size=(1600, 900), **opts) -> Path:
    """Render the plant off-screen to a PNG file; returns the path."""
    import pyvista as pv

    quiet_vtk()
    pv.OFF_SCREEN = True
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    p = plot_plant(result, kpi=kpi, window_size=window_size, off_screen=True, **opts)
    try:
        p.screenshot(str(path))
    finally:
        p.close()
    return path


def export_html(result, path, kpi: str = "utilization", window_size=(1280, 720)) -> Path:
    """A self-contained HTML scene (vtk.js through trame) that opens in a browser without Python."""
    try:
        import trame  # noqa: F401
        import trame_vtk  # noqa: F401
    except ImportError:
        raise ImportError("HTML export needs trame: pip install 'twin[html]' (trame, trame-vtk, trame-vuetify, trame-pyvista)") from None
    import pyvista as pv

    quiet_vtk()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    p = plot_plant(result, kpi=kpi, window_size=window_size, off_screen=True)
    sc = p._twin_scene
    try:
        # names as 3-D text standing above the stations (vtk.js shows geometry, not 2-D overlays)
        texts = []
        for s, (x, y, rot) in sc.layout.stations.items():
            t3 = pv.Text3D(s, depth=0.05, height=0.7)
            b = t3.bounds
            t3.points = np.asarray(t3.points) - np.array([(b[0] + b[1]) / 2, 0.0, 0.0])
            t3.rotate_x(70.0, inplace=True)
            t3.points = np.asarray(t3.points) + np.array([x, y + 1.6, 3.2])
            texts.append(t3)
        if texts:
            p.add_mesh(texts[0].merge(texts[1:]) if len(texts) > 1 else texts[0], color="#212121", name="names3d")
        p.export_html(str(path))
    finally:
        p.close()
    _html_overlay(path, result, kpi, sc)
    return path


def _html_overlay(path: Path, result, kpi: str, sc) -> None:
    """Add the picture's title, KPI header and legends to an exported vtk.js page as an HTML panel
    (the 2-D text of the PNG does not export)."""
    import html as _h

    label, better = KPI_CHOICES[kpi]
    line = result.kpis.get("line", {})
    lo, hi = sc.kpi_range
    f = lambda v, fmt="{:.1f}", k=1.0: "n/a" if v is None else fmt.format(v * k)
    kpis = (f"throughput {f(line.get('throughput_per_hour'), '{:.2f}')} parts/h &middot; OEE {f(line.get('oee'), '{:.1f} %', 100)}"
            f" &middot; availability {f(line.get('availability'), '{:.1f} %', 100)} (APT/PBT of the pacing step "
            f"{_h.escape(str(line.get('pacing_station') or 'n/a'))}) &middot; WIP {f(line.get('wip_mean'))} parts"
            f" &middot; lead time {f(line.get('lead_time_mean_s'), '{:.0f} min', 1 / 60)} &middot; bottleneck "
            f"{_h.escape(str(line.get('bottleneck') or 'n/a'))}")
    ramp = _ramp(better, 11)
    stops = ", ".join(f"rgb({int(r)},{int(g)},{int(b)})" for r, g, b in ramp)
    rows = "".join(
        f"<tr><td><span style='display:inline-block;width:12px;height:12px;background:rgb{kpi_colour(v, lo, hi, better)}'></span> "
        f"{_h.escape(s)}{' (bottleneck)' if s == line.get('bottleneck') else ''}</td><td style='text-align:right'>"
        f"{'n/a' if not np.isfinite(v) else f'{100 * v:.0f} %'}</td></tr>" for s, v in sc.kpi_values.items())
    states = "".join(f"<span style='display:inline-block;width:12px;height:12px;background:rgb{STATE_COLOURS[c]}'></span> "
                     f"{_h.escape(t)}&nbsp; " for t, c in STATE_LEGEND)
    panel = (
        "<div id='twin-overlay' style='position:fixed;top:8px;left:8px;z-index:10;background:rgba(255,255,255,0.9);"
        "font:13px Helvetica,Arial,sans-serif;padding:8px 10px;border:1px solid #ccc;max-width:46%'>"
        f"<div style='font-size:18px;font-weight:bold'>{_h.escape(str(result.scenario_name))}</div>"
        f"<div>{kpis}</div>"
        f"<div style='margin-top:6px'><b>colour: {_h.escape(label)} per station</b> "
        f"<span style='display:inline-block;width:160px;height:10px;background:linear-gradient(to right, {stops})'></span> "
        f"{100 * lo:.0f} % &ndash; {100 * hi:.0f} %</div>"
        f"<table style='margin-top:4px;font-size:12px'>{rows}</table>"
        f"<div style='margin-top:4px;font-size:12px'><b>time-in-state bars:</b> {states}</div>"
        "<div style='font-size:11px;color:#555'>red ring: bottleneck &middot; floor ribbons: part flow &middot; grid 2 m</div></div>")
    import json as _json

    # the vtk.js page rebuilds its body when it starts: add the panel after that, and again if replaced
    script = ("<script>(function(){var P=" + _json.dumps(panel).replace("</", "<\\/") + ";"
              "function add(){if(!document.getElementById('twin-overlay')){document.body.insertAdjacentHTML('beforeend',P);}}"
              "window.addEventListener('load',function(){add();var n=0;var h=setInterval(function(){add();if(++n>20)clearInterval(h);},250);});"
              "})();</script>")
    text = path.read_text(encoding="utf-8")
    j = text.rfind("</body>")
    text = text[:j] + script + text[j:] if j >= 0 else text + script
    path.write_text(text, encoding="utf-8")
