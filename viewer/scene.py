"""PyVista scene of a plant: parametric station models on a floor grid, buffers as racks with
stacked parts, flow lines whose width follows the part flow, labels, a KPI colour legend and the
line KPIs. Off-screen rendering needs no display (VTK wheel only)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .layout import flows, plant_layout

__all__ = ["plot_plant", "render_png", "KPI_CHOICES", "station_model"]

#: KPI -> (title, colormap, higher is better)
KPI_CHOICES = {
    "utilization": ("utilisation", "RdYlGn", True),
    "oee": ("OEE", "RdYlGn", True),
    "availability": ("availability", "RdYlGn", True),
    "blocked_share": ("blocked share", "RdYlGn_r", False),
    "starved_share": ("starved share", "RdYlGn_r", False),
    "down_share": ("down share", "RdYlGn_r", False),
}

_NAME_HINTS = [  # (substring of a station name, model) for generic `machine` stations
    ("LATHE", "lathe"), ("TURN", "lathe"), ("MILL", "mill"), ("SAW", "saw"), ("GRIND", "grinder"),
    ("HT", "furnace"), ("FURN", "furnace"), ("OVEN", "furnace"), ("CMM", "cmm"), ("INSP", "cmm"),
    ("PACK", "pack"), ("PRESS", "press"), ("WELD", "weld"), ("DEBURR", "deburr"), ("WASH", "wash"),
    ("DRILL", "mill"), ("ROBOT", "weld"),
]
_KIND_MODEL = {"cnc_lathe": "lathe", "cnc_mill": "mill", "drill": "mill", "furnace": "furnace", "press": "press",
               "weld_cell": "weld", "inspection": "cmm", "wash": "wash", "deburr": "deburr", "robot": "weld",
               "conveyor": "conveyor", "agv_fleet": "agv"}


def _model_name(name: str, kind: str) -> str:
    if kind in _KIND_MODEL:
        return _KIND_MODEL[kind]
    up = name.upper()
    if up.startswith("L") and up[1:].isdigit():
        return "lathe"
    for hint, model in _NAME_HINTS:
        if hint in up:
            return model
    return "machine"


def _cyl(center, direction, radius, height):
    import pyvista as pv

    return pv.Cylinder(center=center, direction=direction, radius=radius, height=height)


def station_model(model: str, x: float, y: float, rot: float = 0.0):
    """Meshes (body first) of a recognisable parametric model centred at (x, y) on the floor."""
    import pyvista as pv

    parts = []
    if model == "lathe":
        parts += [pv.Box((-2.2, 2.2, -1.0, 1.0, 0, 1.0)),                 # bed
                  pv.Box((-2.2, -1.3, -0.9, 0.9, 1.0, 2.0)),               # headstock
                  _cyl((0.2, 0, 1.45), (1, 0, 0), 0.35, 2.4),       # spindle / work
                  pv.Box((1.5, 2.1, -0.6, 0.6, 1.0, 1.7))]                 # tailstock
    elif model == "mill":
        parts += [pv.Box((-1.6, 1.6, -1.4, 1.4, 0, 1.0)),
                  pv.Box((-0.5, 0.5, 0.4, 1.4, 1.0, 3.0)),                 # column
                  pv.Box((-0.4, 0.4, -0.3, 0.6, 2.2, 2.8)),                # head
                  _cyl((0, 0.1, 1.9), (0, 0, 1), 0.12, 0.6)]        # spindle
    elif model == "saw":
        parts += [pv.Box((-1.8, 1.8, -0.7, 0.7, 0, 0.9)),
                  _cyl((0, 0, 1.4), (0, 1, 0), 0.7, 0.08),          # blade
                  pv.Box((-0.3, 0.3, -0.6, 0.6, 0.9, 2.2))]
    elif model == "grinder":
        parts += [pv.Box((-2.0, 2.0, -1.1, 1.1, 0, 1.0)),
                  _cyl((0, 0.6, 1.5), (0, 1, 0), 0.6, 0.3),         # wheel
                  pv.Box((-0.6, 0.6, 0.8, 1.1, 1.0, 2.4))]
    elif model == "furnace":
        parts += [pv.Box((-2.2, 2.2, -1.6, 1.6, 0, 2.6)),
                  _cyl((1.4, 1.0, 3.3), (0, 0, 1), 0.25, 1.4),      # stack
                  pv.Box((-1.0, 1.0, -1.7, -1.6, 0.3, 2.0))]               # door
    elif model == "cmm":
        parts += [pv.Box((-1.5, 1.5, -1.2, 1.2, 0, 0.8)),                  # granite table
                  pv.Box((-1.4, -1.2, -0.2, 0.2, 0.8, 2.4)), pv.Box((1.2, 1.4, -0.2, 0.2, 0.8, 2.4)),
                  pv.Box((-1.4, 1.4, -0.2, 0.2, 2.4, 2.7)),                # bridge
                  _cyl((0, 0, 1.8), (0, 0, 1), 0.08, 1.2)]          # probe
    elif model == "press":
        parts += [pv.Box((-1.4, 1.4, -1.2, 1.2, 0, 1.0)),
                  pv.Box((-1.4, -0.9, -0.6, 0.6, 1.0, 3.4)), pv.Box((0.9, 1.4, -0.6, 0.6, 1.0, 3.4)),
                  pv.Box((-1.4, 1.4, -0.8, 0.8, 3.4, 4.0)), pv.Box((-0.8, 0.8, -0.5, 0.5, 2.2, 2.8))]
    elif model == "weld":
        parts += [pv.Box((-1.6, 1.6, -1.6, 1.6, 0, 0.8)),                  # table
                  _cyl((-0.9, 0.9, 1.1), (0, 0, 1), 0.3, 0.6),      # robot base
                  _cyl((-0.6, 0.6, 1.8), (1, -1, 1.2), 0.12, 1.6),  # arm
                  pv.Sphere(0.2, (-0.1, 0.1, 2.3))]
    elif model == "pack":
        parts += [pv.Box((-1.2, 1.2, -1.0, 1.0, 0, 0.9))] + [pv.Box((-1.0 + 0.7 * i, -0.4 + 0.7 * i, -0.6, 0.0, 0.9, 1.4)) for i in range(3)]
    elif model == "wash" or model == "deburr":
        parts += [pv.Box((-1.4, 1.4, -1.0, 1.0, 0, 1.8)), pv.Box((-1.5, 1.5, -0.3, 0.3, 0.6, 0.9))]
    elif model == "conveyor":
        parts += [pv.Box((-3.0, 3.0, -0.4, 0.4, 0.6, 0.8))]
    elif model == "agv":
        parts += [pv.Box((-0.8, 0.8, -0.5, 0.5, 0.1, 0.5)), _cyl((0, 0, 0.6), (0, 0, 1), 0.2, 0.2)]
    else:
        parts += [pv.Box((-1.5, 1.5, -1.2, 1.2, 0, 1.8)), pv.Box((-0.4, 0.4, -1.3, -1.2, 1.0, 1.6))]
    out = []
    for m in parts:
        m = m.rotate_z(rot, inplace=False) if rot else m
        out.append(m.translate((x, y, 0.0), inplace=False))
    return out


def _kpi_values(result, kpi: str, names: list[str]) -> np.ndarray:
    st = result.kpis["stations"]
    return np.array([np.nan if st.get(n, {}).get(kpi) is None else float(st[n][kpi]) for n in names])


def plot_plant(result, kpi: str = "utilization", window_size=(1600, 900), off_screen: bool = True, title: str | None = None):
    """A PyVista plotter showing the plant coloured by ``kpi`` (see :data:`KPI_CHOICES`)."""
    import pyvista as pv

    if kpi not in KPI_CHOICES:
        raise ValueError(f"unknown kpi {kpi!r}; choose one of {', '.join(KPI_CHOICES)}")
    label, cmap, _ = KPI_CHOICES[kpi]
    lay = plant_layout(result.scenario)
    names = lay.order
    vals = _kpi_values(result, kpi, names)
    finite = vals[np.isfinite(vals)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.05, hi + 0.05
    p = pv.Plotter(off_screen=off_screen, window_size=list(window_size))
    p.set_background("white")
    x0, x1, y0, y1 = lay.bounds()
    pad = 8.0
    floor = pv.Plane(center=((x0 + x1) / 2, (y0 + y1) / 2, -0.02), i_size=x1 - x0 + 2 * pad, j_size=y1 - y0 + 2 * pad,
                     i_resolution=int((x1 - x0 + 2 * pad) / 2), j_resolution=int((y1 - y0 + 2 * pad) / 2))
    p.add_mesh(floor, color="#eceff1", show_edges=True, edge_color="#cfd8dc", line_width=1, lighting=False, name="floor")
    # flow lines, width by flow
    fl = flows(result)
    fmax = max(fl.values()) if fl else 1
    for (a, b), n in fl.items():
        if a in lay.stations and b in lay.stations:
            pa, pb = lay.stations[a], lay.stations[b]
            r = 0.06 + 0.34 * n / fmax
            line = pv.Line((pa[0], pa[1], 0.05), (pb[0], pb[1], 0.05)).tube(radius=r)
            p.add_mesh(line, color="#5c6bc0", opacity=0.55, name=f"flow:{a}:{b}")
    # buffers: rack + stacked parts up to the mean level
    bk = result.kpis.get("buffers", {})
    for name, (bx, by, _, _) in lay.buffers.items():
        p.add_mesh(pv.Box((bx - 0.6, bx + 0.6, by - 0.6, by + 0.6, 0, 0.15)), color="#90a4ae", name=f"rack:{name}")
        lvl = bk.get(name, {}).get("mean_level", 0.0)
        n = int(round(min(lvl, 12)))
        for k in range(n):
            p.add_mesh(_cyl((bx, by, 0.25 + 0.2 * k), (0, 0, 1), 0.35, 0.16), color="#8d6e63", name=f"part:{name}:{k}")
    # stations
    bottleneck = result.kpis["line"].get("bottleneck")
    labels_pts, labels_txt = [], []
    for s, v in zip(names, vals):
        x, y, rot = lay.stations[s]
        meshes = station_model(_model_name(s, lay.kinds[s]), x, y, rot)
        body = meshes[0].merge(meshes[1:]) if len(meshes) > 1 else meshes[0]
        body.cell_data[label] = np.full(body.n_cells, v if np.isfinite(v) else lo)
        p.add_mesh(body, scalars=label, cmap=cmap, clim=(lo, hi), show_scalar_bar=False, name=f"station:{s}",
                   nan_color="lightgrey", smooth_shading=False)
        if s == bottleneck:
            ring = pv.Disc(center=(x, y, 0.01), inner=3.0, outer=3.4, c_res=60)
            p.add_mesh(ring, color="#d50000", name="bottleneck")
        top = max(m.bounds[5] for m in meshes)
        labels_pts.append((x, y, top + 0.8))
        vtxt = "-" if not np.isfinite(v) else f"{v:.2f}"
        labels_txt.append(f"{s}{'  BOTTLENECK' if s == bottleneck else ''}\n{label} {vtxt}")
    p.add_point_labels(np.array(labels_pts), labels_txt, font_size=13, point_size=1, shape_opacity=0.75,
                       shape_color="white", text_color="black", always_visible=True, name="labels", show_points=False)
    # legend for the colour scale: an invisible carrier mesh holds the scalar bar with the data range
    carrier = pv.PolyData(np.array([[x0, y0, -1.0], [x0, y0, -1.0]]))
    carrier.point_data[label] = np.array([lo, hi])
    p.add_mesh(carrier, scalars=label, cmap=cmap, clim=(lo, hi), opacity=0.0, name="legend",
               scalar_bar_args={"title": label, "vertical": True, "position_x": 0.92, "position_y": 0.25,
                                "height": 0.5, "width": 0.05, "color": "black", "fmt": "%.2f", "n_labels": 5})
    line = result.kpis["line"]
    fmt = lambda v, f="{:.3f}": "-" if v is None else f.format(v)
    text = (f"{title or result.scenario_name}\n"
            f"throughput {fmt(line['throughput_per_hour'], '{:.2f}')} parts/h   OEE {fmt(line['oee'])}\n"
            f"WIP {fmt(line['wip_mean'], '{:.1f}')}   lead time {fmt(None if line['lead_time_mean_s'] is None else line['lead_time_mean_s'] / 60, '{:.0f}')} min\n"
            f"bottleneck {line.get('bottleneck') or '-'}   colour: {label}")
    p.add_text(text, position="upper_left", font_size=11, color="black", name="kpis")
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    span = max(x1 - x0, y1 - y0, 10.0)
    p.camera.focal_point = (cx, cy, 0.5)
    p.camera.position = (cx - 0.1 * span, cy - 0.9 * span, 0.8 * span)
    p.camera.up = (0, 0, 1)
    p.reset_camera(bounds=(x0 - 4, x1 + 4, y0 - 4, y1 + 4, 0, 4))
    p.camera.zoom(1.35)
    p._twin_layout = lay
    p._twin_kpi_range = (lo, hi)
    return p


def quiet_vtk() -> None:
    """Without a display VTK falls back from X to EGL by itself, with a warning on stderr per
    window: keep VTK's log to errors."""
    from vtkmodules.vtkCommonCore import vtkLogger

    vtkLogger.SetStderrVerbosity(vtkLogger.VERBOSITY_ERROR)


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
    quiet_vtk()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    p = plot_plant(result, kpi=kpi, window_size=window_size, off_screen=True)
    try:
        p.export_html(str(path))
    finally:
        p.close()
    return path
