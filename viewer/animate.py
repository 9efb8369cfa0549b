"""Replay of a run: stations in stacklight colours over time, buffer fill as stacked parts, a
clock. Each frame looks the state up by time (``np.searchsorted`` on each resource's rows), so
the cost of a frame does not grow with the length of the event log.

Stacklight convention: green executing, blue setup, yellow idle (starved, blocked, held), red
failure, orange planned maintenance, grey off shift or break.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from twin.states import Code

from .layout import plant_layout
from .scene import _model_name, quiet_vtk, station_model

__all__ = ["STATE_COLOURS", "StateIndex", "animate", "frame_times"]

STATE_COLOURS = {
    Code.PROCESSING: (46, 125, 50), Code.SETUP: (21, 101, 192), Code.STARVED: (249, 168, 37), Code.BLOCKED: (249, 168, 37),
    Code.HELD: (249, 168, 37), Code.FAILURE: (198, 40, 40), Code.PLANNED_MAINTENANCE: (239, 108, 0), Code.BREAK: (158, 158, 158),
    Code.OFF_SHIFT: (158, 158, 158),
}


class StateIndex:
    """Per-resource and per-buffer time index of a result's logs."""

    def __init__(self, result):
        st = result.state
        order = np.argsort(st["resource"], kind="stable")
        res = st["resource"][order]
        self.t = st["t"][order]
        self.code = st["code"][order]
        n = len(result.resources)
        self.bounds = np.searchsorted(res, np.arange(n + 1))
        lv = result.levels
        o2 = np.argsort(lv["buffer"], kind="stable")
        self.lt, self.ll = lv["t"][o2], lv["level"][o2]
        self.lb = np.searchsorted(lv["buffer"][o2], np.arange(len(result.buffer_names) + 1))

    def code_at(self, rid: int, t: float) -> int:
        a, b = self.bounds[rid], self.bounds[rid + 1]
        i = np.searchsorted(self.t[a:b], t, side="right") - 1
        return int(self.code[a + i]) if i >= 0 else int(Code.STARVED)

    def level_at(self, bid: int, t: float) -> int:
        a, b = self.lb[bid], self.lb[bid + 1]
        i = np.searchsorted(self.lt[a:b], t, side="right") - 1
        return int(self.ll[a + i]) if i >= 0 else 0


def frame_times(t0: float, t1: float, speed: float, fps: float) -> np.ndarray:
    """Sim times of the frames: the replay lasts (t1 - t0) / speed seconds at ``fps``."""
    if t1 <= t0 or speed <= 0 or fps <= 0:
        raise ValueError("need t1 > t0, speed > 0 and fps > 0")
    n = max(1, int(math.ceil((t1 - t0) / speed * fps)))
    return t0 + np.arange(n) * speed / fps


def _clock(t: float) -> str:
    d, r = divmod(t, 86400)
    h, r = divmod(r, 3600)
    m, sec = divmod(r, 60)
    return f"day {int(d)}  {int(h):02d}:{int(m):02d}:{int(sec):02d}"


def animate(result, path, speed: float = 600.0, fps: float = 10.0, t0: float | None = None, t1: float | None = None,
            window_size=(1280, 720), max_parts: int = 10) -> dict:
    """Write a replay as MP4 (imageio-ffmpeg) or GIF, by the file suffix. Returns frame count,
    duration [s] and the plotter's station positions (for tests)."""
    import imageio.v2 as imageio
    import pyvista as pv

    quiet_vtk()
    path = Path(path)
    t0 = result.warmup if t0 is None else t0
    t1 = result.horizon if t1 is None else t1
    times = frame_times(t0, t1, speed, fps)
    idx = StateIndex(result)
    lay = plant_layout(result.scenario)
    p = pv.Plotter(off_screen=True, window_size=list(window_size))
    p.set_background("white")
    x0, x1, y0, y1 = lay.bounds()
    pad = 8.0
    p.add_mesh(pv.Plane(center=((x0 + x1) / 2, (y0 + y1) / 2, -0.02), i_size=x1 - x0 + 2 * pad, j_size=y1 - y0 + 2 * pad,
                        i_resolution=int((x1 - x0 + 2 * pad) / 2), j_resolution=int((y1 - y0 + 2 * pad) / 2)),
               color="#eceff1", show_edges=True, edge_color="#cfd8dc", lighting=False)
    rids: dict[str, list[int]] = {}
    for rid, (_, st) in enumerate(result.resources):
        rids.setdefault(st, []).append(rid)
    actors = {}
    for s, (x, y, rot) in lay.stations.items():
        meshes = station_model(_model_name(s, lay.kinds[s]), x, y, rot)
        body = meshes[0].merge(meshes[1:]) if len(meshes) > 1 else meshes[0]
        actors[s] = p.add_mesh(body, color="grey", lighting=False)
        p.add_point_labels(np.array([[x, y, max(m.bounds[5] for m in meshes) + 0.8]]), [s], font_size=12, point_size=1,
                           shape_opacity=0.7, text_color="black", shape_color="white", always_visible=True, show_points=False)
    bufs = {}
    for name, (bx, by, _, _) in lay.buffers.items():
        if name in result.buffer_names:
            p.add_mesh(pv.Box((bx - 0.6, bx + 0.6, by - 0.6, by + 0.6, 0, 0.15)), color="#90a4ae")
            stack = [p.add_mesh(pv.Cylinder(center=(bx, by, 0.25 + 0.2 * k), direction=(0, 0, 1), radius=0.35, height=0.16),
                                color="#8d6e63") for k in range(max_parts)]
            bufs[name] = (result.buffer_names.index(name), stack)
    clock = p.add_text("", position="upper_left", font_size=14, color="black")
    span = max(x1 - x0, y1 - y0, 10.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    p.camera.focal_point = (cx, cy, 0.5)
    p.camera.position = (cx - 0.1 * span, cy - 0.9 * span, 0.8 * span)
    p.camera.up = (0, 0, 1)
    p.reset_camera(bounds=(x0 - 4, x1 + 4, y0 - 4, y1 + 4, 0, 4))
    p.camera.zoom(1.35)
    writer = imageio.get_writer(str(path), fps=fps, **({"loop": 0} if path.suffix.lower() == ".gif" else {"macro_block_size": 8}))
    shown = []
    try:
        for t in times:
            frame_codes = {}
            for s, actor in actors.items():
                codes = [idx.code_at(r, t) for r in rids.get(s, [])]
                # a station with parallel units shows its worst unit: failure > maintenance > processing > setup > idle > off
                rank = [Code.FAILURE, Code.PLANNED_MAINTENANCE, Code.PROCESSING, Code.SETUP, Code.STARVED, Code.BLOCKED, Code.HELD, Code.BREAK, Code.OFF_SHIFT]
                c = min(codes, key=lambda c: rank.index(Code(c))) if codes else int(Code.OFF_SHIFT)
                frame_codes[s] = c
                actor.prop.color = tuple(v / 255 for v in STATE_COLOURS[Code(c)])
            for name, (bid, stack) in bufs.items():
                n = idx.level_at(bid, t)
                for k, a in enumerate(stack):
                    a.visibility = k < n
            clock.set_text("upper_left", f"{result.scenario_name}   {_clock(t)}   x{speed:g}")
            p.render()
            writer.append_data(p.screenshot(return_img=True))
            shown.append(frame_codes)
    finally:
        writer.close()
        positions = {}
        ren = p.renderer
        for s, (x, y, _) in lay.stations.items():
            ren.SetWorldPoint(x, y - 0.9, 0.4, 1.0)
            ren.WorldToDisplay()
            dx, dy, _ = ren.GetDisplayPoint()
            positions[s] = (int(round(dx)), int(round(window_size[1] - 1 - dy)))
        p.close()
    return {"frames": len(times), "duration_s": len(times) / fps, "times": times, "codes": shown, "pixels": positions}
