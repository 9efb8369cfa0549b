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
        self._rid = {name: rid for rid, (name, _) in enumerate(result.resources)}
        # batch furnaces show their fill and phase under their body
        from .timeline import FurnaceTimeline

        self.furnaces = {s: FurnaceTimeline(result, s) for s, k in lay.kinds.items()
                         if k == "furnace" and s in self.scene.station_actors}
        self._furnace_text = {}
        for s in self.furnaces:
            ob = self.scene.obstacles.get(s)
            if ob is None:
                continue
            import vtk

            a = vtk.vtkTextActor()
            tp = a.GetTextProperty()
            tp.SetFontSize(max(9, int(self.scene.font_size) - 1))
            tp.SetBold(True)
            tp.SetColor(0.1, 0.1, 0.1)
            tp.SetJustificationToCentered()
            tp.SetVerticalJustificationToTop()
            tp.SetBackgroundColor(1.0, 0.95, 0.85)
            tp.SetBackgroundOpacity(0.9)
            tp.SetFrame(True)
            tp.SetFrameColor(0.9, 0.55, 0.1)
            a.SetPosition((ob[0] + ob[2]) / 2, ob[1] - 4)
            self.plotter.add_actor(a, name=f"furnace:{s}", reset_camera=False)
            self._furnace_text[s] = a
        self._unit_actor = {r: a for units in self.scene.unit_actors.values() for r, a in units}

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
                if s not in sc.unit_actors:
                    sc.station_actors[s].prop.color = rgb
                if s in sc.lamp_actors:
                    sc.lamp_actors[s].prop.color = rgb
                self._last[s] = c
        for rname, c in self.unit_codes_at(t).items():  # parallel units, each in its own state
            if self._last.get(rname) != c:
                self._unit_actor[rname].prop.color = _rgb(STATE_COLOURS[Code(c)])
                self._last[rname] = c
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
        clock, counter = self.texts_at(t, speed)
        sc.texts["clock"].SetInput(clock)
        sc.texts["counter"].SetInput(counter)
        for s_, a in self._furnace_text.items():
            a.SetInput(self.furnace_text(s_, t))
        return codes

    def furnace_text(self, station: str, t: float) -> str:
        n, cap, phase = self.furnaces[station].at(t)
        return f"{phase}  {n}/{cap}"

    def texts_at(self, t: float, speed: float | None = None) -> tuple[str, str]:
        """The clock and the part counter at ``t``."""
        n_out = int(np.searchsorted(self.t_out, t, side="right"))
        wip = sum(len(bi.contents(t)) for bi, _ in self.buffers.values())
        return _clock(t) + (f"   x{speed:g}" if speed else ""), f"parts completed {n_out}    parts in buffers {wip}"

    def unit_codes_at(self, t: float) -> dict[str, int]:
        """State codes of the units drawn one by one (resource names ``STATION#k``)."""
        return {r: self.idx.code_at(self._rid[r], t) for r in self._unit_actor}

    @property
    def composable(self) -> bool:
        """True when frames can be composed from fixed images (:class:`Compositor`): nothing moves."""
        return not self.conveyors and not self.fleets

    def frame(self) -> np.ndarray:
        self.plotter.render()
        return self.plotter.screenshot(return_img=True)

    def close(self) -> None:
        self.plotter.close()


_ID_STEP = 4  # ID colours are multiples of 4 in 0..252: robust to rounding in the colour pipeline


def _id_colour(i: int) -> tuple[float, float]:
    """(red, green) in 0..1 that encode body id ``i`` (1..3968)."""
    return _ID_STEP * (i % 63) / 255.0, _ID_STEP * (i // 63) / 255.0


def _decode(r: np.ndarray, g: np.ndarray) -> np.ndarray:
    return np.rint(r / _ID_STEP).astype(np.int64) + 63 * np.rint(g / _ID_STEP).astype(np.int64)


class Compositor:
    """Frames of a :class:`Replay` for its fixed camera, composed in numpy instead of rendered.

    A replay frame differs from the next only in the colours of station bodies and stacklights,
    the parts shown on buffer racks and the clock. Rendering every frame in software OpenGL takes
    0.1-0.4 s at 1280 x 720; here the scene is rendered a few times once:

    * an ID pass: every body and lamp in a flat colour that encodes its index, every part slot in
      a flat colour that encodes its buffer, everything else black (no lights, no anti-aliasing),
      so each pixel knows what it shows;
    * the bodies lit in white (W) and in black (K): with Phong lighting a pixel of a body of colour
      c is ``K + (W - K) * c`` (ambient and diffuse scale with c, specular does not; translucent
      guards in front blend linearly too), so recolouring is exact, not a tint;
    * the racks at every fill level n (every buffer's first n slots shown), kept only on the
      pixels of the parts.

    A frame is then the level images per buffer, the bodies recoloured by their state, and the
    clock and counter drawn with PIL: a few milliseconds. Scenes with parts moving on conveyors or
    AGVs driving cannot be composed from fixed images; :func:`animate` renders those frames.
    """

    def __init__(self, rp: "Replay"):
        sc = rp.scene
        p = rp.plotter
        self.rp = rp
        # (key, actor); ids 1..n: a station's body, or each unit's when they are drawn one by one
        self.bodies = [(k, a) for k, a in sc.station_actors.items() if k not in sc.unit_actors]
        self.bodies += [(r, a) for units in sc.unit_actors.values() for r, a in units]
        self.lamps = list(sc.lamp_actors.items())  # ids n+1..
        n_b = len(self.bodies)
        self.body_id = {k: i + 1 for i, (k, _) in enumerate(self.bodies)}
        self.lamp_id = {k: n_b + i + 1 for i, (k, _) in enumerate(self.lamps)}
        self.n_ids = n_b + len(self.lamps)
        self.buffers = [name for name in rp.buffers]
        texts = [sc.texts[k] for k in ("clock", "counter") if k in sc.texts] + list(rp._furnace_text.values())
        for t in texts:
            t.SetVisibility(False)
        actors = dict(p.renderer.actors)
        three_d = {n: a for n, a in actors.items() if hasattr(a, "prop") and hasattr(a.prop, "color")}
        others_2d = [a for n, a in actors.items() if n not in three_d]
        saved = {n: (tuple(a.prop.color), a.prop.opacity, a.prop.lighting, a.visibility, a.prop.ambient, a.prop.diffuse,
                     a.prop.specular) for n, a in three_d.items()}
        slot_actor = {id(a): (bi, k) for bi, name in enumerate(self.buffers) for k, a in enumerate(rp.buffers[name][1])}
        body_actor = {id(a): self.body_id[k] for k, a in self.bodies}
        lamp_actor = {id(a): self.lamp_id[k] for k, a in self.lamps}
        bg = p.background_color
        try:
            # ---- ID pass -----------------------------------------------------------------------
            p.set_background("black")
            vis2d = [a.GetVisibility() for a in others_2d]
            for a in others_2d:
                a.SetVisibility(False)
            for n, a in three_d.items():
                # flat colour exactly as given: no lights, ambient 1 (VTK scales by ambient + diffuse otherwise)
                a.prop.lighting = False
                a.prop.ambient, a.prop.diffuse, a.prop.specular = 1.0, 0.0, 0.0
                key = id(a)
                if key in body_actor or key in lamp_actor:
                    r, g = _id_colour(body_actor.get(key) or lamp_actor[key])
                    a.prop.color = (r, g, 0.0)
                    a.prop.opacity = 1.0
                    a.visibility = True
                elif key in slot_actor:
                    a.prop.color = (0.0, 0.0, _ID_STEP * (slot_actor[key][0] + 1) / 255.0)
                    a.prop.opacity = 1.0
                    a.visibility = True
                else:
                    a.prop.color = (0.0, 0.0, 0.0)
                    if saved[n][1] < 1.0:  # translucent guards: the body behind them counts
                        a.visibility = False
            ids = self._shot()
            for a, v in zip(others_2d, vis2d):
                a.SetVisibility(v)
            p.set_background(bg)
            for n, a in three_d.items():
                c, o, li, v, am, di, sp = saved[n]
                a.prop.color, a.prop.opacity, a.prop.lighting, a.visibility = c, o, li, v
                a.prop.ambient, a.prop.diffuse, a.prop.specular = am, di, sp
            body = _decode(ids[..., 0].astype(np.int64), ids[..., 1].astype(np.int64))
            body[(ids[..., 2] > 0)] = 0
            self.body_idx = np.flatnonzero(body.ravel() > 0)
            self.body_of = body.ravel()[self.body_idx]
            part = np.rint(ids[..., 2] / _ID_STEP).astype(np.int64).ravel()
            self.part_idx = {name: np.flatnonzero(part == bi + 1) for bi, name in enumerate(self.buffers)}
            # ---- bodies white and black (racks empty) ----------------------------------------------
            slots_all = [a for name in self.buffers for a in rp.buffers[name][1]]
            for a in slots_all:
                a.visibility = False
            dyn = [a for _, a in self.bodies] + [a for _, a in self.lamps]
            for a in dyn:
                a.prop.color = (1.0, 1.0, 1.0)
            W = self._shot().reshape(-1, 3)[self.body_idx].astype(np.float32)
            for a in dyn:
                a.prop.color = (0.0, 0.0, 0.0)
            K = self._shot().reshape(-1, 3)[self.body_idx].astype(np.float32)
            self.K, self.WK = K, (W - K) / 255.0
            # ---- racks at every fill level -------------------------------------------------------------
            grey = _rgb(STATE_COLOURS[Code.OFF_SHIFT])
            for a in dyn:
                a.prop.color = grey
            n_max = max((len(rp.buffers[b][1]) for b in self.buffers), default=0)
            union = np.unique(np.concatenate([v for v in self.part_idx.values()] or [np.zeros(0, np.int64)]))
            self.union = union
            pos = {name: np.searchsorted(union, idx) for name, idx in self.part_idx.items()}
            self.pos = pos
            self.levels = []
            base = None
            for lvl in range(n_max + 1):
                for name in self.buffers:
                    for k, a in enumerate(rp.buffers[name][1]):
                        a.visibility = k < lvl
                img = self._shot().reshape(-1, 3)
                if lvl == 0:
                    base = img.copy()
                self.levels.append(img[union].copy())
            self.base = base
            for a in slots_all:
                a.visibility = False
        finally:
            for t in texts:
                t.SetVisibility(True)
            rp._last.clear()
        self.shape = (int(p.window_size[1]), int(p.window_size[0]), 3)
        self._font = _font(max(10, int(round(min(p.window_size[0] / 1600, p.window_size[1] / 900) * 13)) + 5))
        self._font_small = _font(max(9, int(round(min(p.window_size[0] / 1600, p.window_size[1] / 900) * 13))))

    def _shot(self) -> np.ndarray:
        p = self.rp.plotter
        p.render()
        return np.asarray(p.screenshot(return_img=True))[..., :3]

    def frame(self, t: float, speed: float | None = None) -> tuple[np.ndarray, dict]:
        """The image at sim time ``t`` and the station codes shown."""
        rp = self.rp
        img = self.base.reshape(self.shape).copy()
        flat = img.reshape(-1, 3)
        for name in self.buffers:
            bi, slots = rp.buffers[name]
            n = min(len(bi.contents(t)), len(slots))
            if n:
                flat[self.union[self.pos[name]]] = self.levels[n][self.pos[name]]
        codes = rp.codes_at(t)
        units = rp.unit_codes_at(t)
        col = np.zeros((self.n_ids + 1, 3), np.float32)
        for key, i in self.body_id.items():
            c = units.get(key, codes.get(key))
            col[i] = STATE_COLOURS[Code(c if c is not None else int(Code.OFF_SHIFT))]
        for key, i in self.lamp_id.items():
            c = units.get(key, codes.get(key))
            col[i] = STATE_COLOURS[Code(c if c is not None else int(Code.OFF_SHIFT))]
        flat[self.body_idx] = np.clip(self.K + self.WK * col[self.body_of], 0, 255).astype(np.uint8)
        clock, counter = rp.texts_at(t, speed)
        from PIL import Image, ImageDraw

        im = Image.fromarray(img)
        d = ImageDraw.Draw(im)
        W = self.shape[1]
        _boxed(d, (W - 14, 10), clock, self._font, anchor="ra")
        y = 12 + int(2.0 * self._font.size)
        _boxed(d, (14, y), counter, self._font_small, anchor="la")
        H = self.shape[0]
        for s_, a in rp._furnace_text.items():  # fill bar and phase under the furnace
            n, cap, phase = rp.furnaces[s_].at(t)
            x, yb = a.GetPosition()
            box = d.textbbox((x, H - yb + 2), rp.furnace_text(s_, t), font=self._font_small, anchor="ma")
            bw = max(box[2] - box[0], 60)
            x0, y0 = x - bw / 2 - 4, box[1] - 3
            d.rectangle((x0, y0, x0 + bw + 8, box[3] + 12), fill=(255, 242, 217), outline=(230, 140, 25))
            d.text((x, H - yb + 2), rp.furnace_text(s_, t), font=self._font_small, anchor="ma", fill=(25, 25, 25))
            d.rectangle((x0 + 4, box[3] + 4, x0 + 4 + bw * min(n / max(cap, 1), 1.0), box[3] + 9), fill=(230, 110, 20))
        return np.asarray(im), codes


def _font(size: int):
    from PIL import ImageFont

    try:
        import matplotlib

        path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Bold.ttf"
        return ImageFont.truetype(str(path), size)
    except Exception:  # matplotlib without its fonts: PIL's own
        return ImageFont.load_default(size=size)


def _boxed(d, xy, text: str, font, anchor: str) -> None:
    box = d.textbbox(xy, text, font=font, anchor=anchor)
    d.rectangle((box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3), fill=(255, 255, 255), outline=(191, 199, 204))
    d.text(xy, text, font=font, anchor=anchor, fill=(0, 0, 0))


def animate(result, path, speed: float | str = 600.0, fps: float = 10.0, t0: float | None = None, t1: float | None = None,
            window_size=(1280, 720), title: str | None = None, max_parts: int | None = None, progress=None,
            compose: bool | None = None) -> dict:
    """Write a replay of ``result`` to ``path``: MP4 (H.264 through imageio-ffmpeg) or GIF, by
    the suffix. One frame every ``speed / fps`` simulated seconds from ``t0`` (default: end
    of warm-up) to ``t1`` (default: horizon), played at ``fps``.

    Frames are composed from a few renders of the fixed scene (:class:`Compositor`) unless parts
    move on conveyors or AGVs (then each frame is rendered; ``compose`` forces either way).
    ``progress(done, total)`` is called after each frame.

    Returns ``frames``, ``duration_s`` (replay length), ``times`` (sim time of each frame),
    ``codes`` (station -> state code shown in each frame), ``pixels`` (image position of
    each station's probe point, for checks) and ``composed``."""
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
    if progress is not None:
        progress(0, len(times))
    rp = Replay(result, window_size=(w, h), title=title)
    rp.plotter.ren_win.SetMultiSamples(0)  # software OpenGL: 8x multisampling costs 3x per frame
    comp = None
    if compose is None:
        compose = rp.composable
    if compose:
        if not rp.composable:
            raise ValueError("this plant has moving parts (conveyors, AGVs): its frames cannot be composed")
        comp = Compositor(rp)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        writer = imageio.get_writer(str(path), mode="I", duration=1000.0 / fps, loop=0)
    else:
        writer = imageio.get_writer(str(path), fps=fps, codec="libx264", quality=7, macro_block_size=16,
                                    pixelformat="yuv420p", ffmpeg_log_level="error", output_params=["-preset", "veryfast"])
    shown = []
    try:
        for i, t in enumerate(times):
            if comp is not None:
                img, codes = comp.frame(float(t), speed)
                shown.append(codes)
                writer.append_data(img)
            else:
                shown.append(rp.update(float(t), speed))
                writer.append_data(rp.frame())
            if progress is not None:
                progress(i + 1, len(times))
    finally:
        writer.close()
        pixels = {s: rp.scene.pixel(s) for s in rp.scene.probes}
        rp.close()
    return {"frames": len(times), "duration_s": len(times) / fps, "times": times, "codes": shown, "pixels": pixels,
            "size": (w, h), "composed": comp is not None}
