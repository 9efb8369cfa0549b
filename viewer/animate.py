"""Replay of a run: stations in stacklight colours over time, buffer fill as stacked parts, parts
riding conveyors, AGVs driving between stations, a clock and a part counter.

The scene is built once (:func:`twin.viewer.scene.build_scene` in ``state`` mode); a frame only
recolours actors and moves parts. Every lookup goes through a time index
(:mod:`twin.viewer.timeline`: ``np.searchsorted`` on each resource's or buffer's rows), so the
cost of a frame does not grow with the length of the event log.

Stacklight convention: green executing, blue setup, yellow idle (starved, blocked, held), red
failure, orange planned maintenance, grey break or off shift.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from twin.states import Code

from .layout import polyline_point
from .scene import STATE_COLOURS, _rgb, build_scene, quiet_vtk
from .timeline import BufferIndex, FleetTrips, StateIndex, frame_times, worst_code

__all__ = ["STATE_COLOURS", "StateIndex", "animate", "frame_times", "Replay", "parse_speed"]


def parse_speed(text) -> float:
    """``'600x'``, ``'600'`` or ``600`` -> 600.0 (simulated seconds per replay second)."""
    try:
        v = float(str(text).strip().rstrip("xX").strip())
    except ValueError:
        raise ValueError(f"speed must look like '600x', got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"speed must be > 0, got {text!r}")
    return v


def _clock(t: float) -> str:
    d, r = divmod(max(t, 0.0), 86400)
    h, r = divmod(r, 3600)
    m, sec = divmod(r, 60)
    return f"day {int(d) + 1}  {int(h):02d}:{int(m):02d}:{int(sec):02d}"


class Replay:
    """A replay scene that can be set to any time ``t`` (``update(t)``), then rendered."""

    def __init__(self, result, window_size=(1280, 720), title: str | None = None, off_screen: bool = True):
        self.result = result
        self.scene = build_scene(result, mode="state", window_size=window_size, off_screen=off_screen, title=title)
        self.plotter = self.scene.plotter
        lay = self.scene.layout
        self.idx = StateIndex(result)
        self.rids: dict[str, list[int]] = {}
        for rid, (_, st) in enumerate(result.resources):
            self.rids.setdefault(st, []).append(rid)
        bid = {b: i for i, b in enumerate(result.buffer_names)}
        self.buffers = {name: (BufferIndex.for_result(result, bid[name]), slots)
                        for name, slots in self.scene.buffer_slots.items() if name in bid}
        self.conveyors = {}
        for name, (path, cum, pool) in self.scene.conveyor_parts.items():
            if name in bid:
                spec = lay.buffer_specs.get(name, {})
                speed = float(spec.get("speed", 0.5) or 0.5)
                pitch = float(spec.get("pitch", 0.5) or 0.5)
                self.conveyors[name] = (BufferIndex.for_result(result, bid[name]), path, cum, pool, speed, pitch)
        self.trips = None
        self.fleets = {}
        if self.scene.agv_actors:
            xy = {st: (x, y) for st, (x, y, _) in lay.stations.items()}
            self.fleets = {s: FleetTrips(result, s, xy) for s in self.scene.agv_actors}
        pe = result.part_events
        from twin.states import PartEvent

        self.t_out = np.sort(np.asarray(pe["t"], float)[np.asarray(pe["event"]) == PartEvent.COMPLETE])
        self.title = title or result.scenario_name
        self._last: dict[str, int] = {}

    def codes_at(self, t: float) -> dict[str, int]:
        return {s: worst_code(self.idx.codes_at(self.rids.get(s, []), t)) if s in self.rids else int(Code.OFF_SHIFT)
                for s in self.scene.station_actors}

    def update(self, t: float, speed: float | None = None) -> dict[str, int]:
        """Set every actor to its state at sim time ``t``; returns the station codes shown."""
        sc = self.scene
        codes = self.codes_at(t)
        for s, c in codes.items():
            if self._last.get(s) != c:
                rgb = _rgb(STATE_COLOURS[Code(c)])
                sc.station_actors[s].prop.color = rgb
                if s in sc.lamp_actors:
                    sc.lamp_actors[s].prop.color = rgb
                self._last[s] = c
        for name, (bi, slots) in self.buffers.items():
            n = len(bi.contents(t))
            for k, a in enumerate(slots):
                vis = k < n
                if a.visibility != vis:
                    a.visibility = vis
        for name, (bi, path, cum, pool, v, pitch) in self.conveyors.items():
            inside = bi.contents(t)  # put times, first out first
            L = cum[-1]
            gap = max(pitch, 0.45)
            # travelled distance, and the queue at the end: the k-th part from the front stops k pitches back
            s = np.minimum((t - inside) * v, L - 0.3 - gap * np.arange(len(inside)))
            s = np.maximum.accumulate(s[::-1])[::-1] if len(s) else s  # no overtaking
            pts = polyline_point(path, s, cum) if len(s) else np.zeros((0, 2))
            for k, a in enumerate(pool):
                if k < len(pts):
                    a.position = (pts[k][0], pts[k][1], 0.78)
                    if not a.visibility:
                        a.visibility = True
                elif a.visibility:
                    a.visibility = False
        if self.fleets:
            for s, units in sc.agv_actors.items():
                ft = self.fleets[s]
                for k, (ab, at, home) in enumerate(units):
                    rids = self.rids.get(s, [])
                    if k >= len(rids):
                        continue
                    rid = rids[k]
                    q, heading, loaded = ft.at(k, t)
                    for a_ in (ab, at):
                        a_.position = (float(q[0]), float(q[1]), 0.0)
                        a_.orientation = (0.0, 0.0, heading)
                    c = Code.PROCESSING if loaded else self.idx.code_at(rid, t)
                    ab.prop.color = _rgb(STATE_COLOURS[Code(c)])
        n_out = int(np.searchsorted(self.t_out, t, side="right"))
        sc.texts["clock"].SetInput(_clock(t) + (f"   x{speed:g}" if speed else ""))
        wip = sum(len(bi.contents(t)) for bi, _ in self.buffers.values())
        sc.texts["counter"].SetInput(f"parts completed {n_out}    parts in buffers {wip}")
        return codes

    def frame(self) -> np.ndarray:
        self.plotter.render()
        return self.plotter.screenshot(return_img=True)

    def close(self) -> None:
        self.plotter.close()


def animate(result, path, speed: float | str = 600.0, fps: float = 10.0, t0: float | None = None, t1: float | None = None,
            window_size=(1280, 720), title: str | None = None, max_parts: int | None = None) -> dict:
    """Write a replay of ``result`` to ``path``: MP4 (H.264 through imageio-ffmpeg) or GIF, by
    the suffix. One frame every ``speed / fps`` simulated seconds from ``t0`` (default: end
    of warm-up) to ``t1`` (default: horizon), played at ``fps``.

    Returns ``frames``, ``duration_s`` (replay length), ``times`` (sim time of each frame),
    ``codes`` (station -> state code shown in each frame) and ``pixels`` (image position of
    each station's probe point, for checks)."""
    import imageio.v2 as imageio

    quiet_vtk()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"replay file must end in .mp4 or .gif, got {path.name!r}")
    speed = parse_speed(speed)
    t0 = float(result.warmup) if t0 is None else float(t0)
    t1 = float(result.horizon) if t1 is None else float(t1)
    if t0 < 0 or t1 > result.horizon + 1e-9:
        raise ValueError(f"replay window {t0:g}-{t1:g} s lies outside the run (0-{result.horizon:g} s)")
    times = frame_times(t0, t1, speed, fps)
    w, h = window_size
    if suffix == ".mp4":  # H.264 wants even sizes; macro blocks of 16 avoid rescaling
        w, h = w - w % 16 or 16, h - h % 16 or 16
    rp = Replay(result, window_size=(w, h), title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        writer = imageio.get_writer(str(path), mode="I", duration=1000.0 / fps, loop=0)
    else:
        writer = imageio.get_writer(str(path), fps=fps, codec="libx264", quality=7, macro_block_size=16,
                                    ffmpeg_params=["-pix_fmt", "yuv420p"])
    shown = []
    try:
        for t in times:
            shown.append(rp.update(float(t), speed))
            writer.append_data(rp.frame())
    finally:
        writer.close()
        pixels = {s: rp.scene.pixel(s) for s in rp.scene.probes}
        rp.close()
    return {"frames": len(times), "duration_s": len(times) / fps, "times": times, "codes": shown, "pixels": pixels,
            "size": (w, h)}
