"""Time indexes of a result's logs for replay: what every resource, buffer, conveyor and AGV
does at a time ``t``.

Each index sorts its log once (O(n log n)) and answers a query by ``np.searchsorted`` on the
rows of one resource or buffer (O(log n)), so the cost of a replay frame does not grow with the
length of the run.
"""

from __future__ import annotations

import math

import numpy as np

from twin.states import N_CODES, Code

__all__ = ["StateIndex", "BufferIndex", "FleetTrips", "frame_times", "state_shares", "worst_code", "RANK"]

#: a station with parallel units shows its most telling unit: failure > maintenance > setup >
#: processing > blocked > starved > held > break > off shift
RANK = [Code.FAILURE, Code.PLANNED_MAINTENANCE, Code.SETUP, Code.PROCESSING, Code.BLOCKED, Code.STARVED, Code.HELD,
        Code.BREAK, Code.OFF_SHIFT]
_RANK_OF = np.empty(N_CODES, dtype=np.int8)
for _i, _c in enumerate(RANK):
    _RANK_OF[int(_c)] = _i
_RANK = np.array([int(c) for c in RANK], dtype=np.int8)


def worst_code(codes) -> int:
    """The code a multi-unit station shows (see :data:`RANK`)."""
    codes = np.asarray(codes, dtype=np.int64)
    return int(_RANK[_RANK_OF[codes].min()]) if len(codes) else int(Code.OFF_SHIFT)


def frame_times(t0: float, t1: float, speed: float, fps: float) -> np.ndarray:
    """Sim times of the frames: the replay lasts ``(t1 - t0) / speed`` seconds at ``fps``
    frames per second, one frame every ``speed / fps`` simulated seconds starting at ``t0``."""
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
        raise ValueError(f"need --from < --to, got {t0:g} s and {t1:g} s")
    if speed <= 0 or fps <= 0:
        raise ValueError("speed and fps must be > 0")
    n = max(1, int(math.ceil((t1 - t0) / speed * fps - 1e-9)))
    return t0 + np.arange(n) * (speed / fps)


class StateIndex:
    """Per-resource time index of the state log and of the buffer levels."""

    def __init__(self, result):
        st = result.state
        order = np.argsort(st["resource"], kind="stable")  # the log is time-ordered: stable keeps it so per resource
        res = np.asarray(st["resource"])[order]
        self.t = np.asarray(st["t"], dtype=float)[order]
        self.code = np.asarray(st["code"], dtype=np.int64)[order]
        n = len(result.resources)
        self.bounds = np.searchsorted(res, np.arange(n + 1))
        lv = result.levels
        o2 = np.argsort(lv["buffer"], kind="stable")
        self.lt, self.ll = np.asarray(lv["t"], float)[o2], np.asarray(lv["level"])[o2]
        self.lb = np.searchsorted(np.asarray(lv["buffer"])[o2], np.arange(len(result.buffer_names) + 1))

    def code_at(self, rid: int, t: float) -> int:
        a, b = self.bounds[rid], self.bounds[rid + 1]
        i = np.searchsorted(self.t[a:b], t, side="right") - 1
        return int(self.code[a + i]) if i >= 0 else int(Code.STARVED)

    def codes_at(self, rids, t: float) -> list[int]:
        return [self.code_at(r, t) for r in rids]

    def level_at(self, bid: int, t: float) -> int:
        a, b = self.lb[bid], self.lb[bid + 1]
        i = np.searchsorted(self.lt[a:b], t, side="right") - 1
        return int(self.ll[a + i]) if i >= 0 else 0


class BufferIndex:
    """FIFO contents of one buffer over time, from its level log alone: the k-th rise of the
    level is the k-th part put in, the k-th fall the k-th part taken out."""

    def __init__(self, t: np.ndarray, level: np.ndarray):
        t = np.asarray(t, float)
        d = np.diff(np.asarray(level, np.int64), prepend=0)
        self.put = np.repeat(t, np.clip(d, 0, None))
        self.got = np.repeat(t, np.clip(-d, 0, None))

    def contents(self, t: float) -> np.ndarray:
        """Put times of the parts inside at ``t``, oldest (first out) first."""
        n_in = np.searchsorted(self.put, t, side="right")
        n_out = np.searchsorted(self.got, t, side="right")
        return self.put[min(n_out, n_in):n_in]

    @classmethod
    def for_result(cls, result, bid: int) -> "BufferIndex":
        m = np.asarray(result.levels["buffer"]) == bid
        return cls(np.asarray(result.levels["t"])[m], np.asarray(result.levels["level"])[m])


class FleetTrips:
    """Where each vehicle of an ``agv_fleet`` is, from its transport record
    (``physics_<fleet>``): the empty leg ends at the pickup time, then loading, the loaded leg,
    unloading; between jobs a vehicle stands at its last drop point. Legs follow the shortest
    path on the fleet's aisle network (straight lines without a network)."""

    def __init__(self, result, fleet: str, stations_xy: dict[str, tuple[float, float]]):
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import dijkstra

        spec = result.scenario["stations"][fleet]
        self.speed = float(spec["speed"])
        self.load = float(spec.get("load_time", 10.0))
        self.unload = float(spec.get("unload_time", 10.0))
        net = spec.get("network") or {}
        self.xy = dict(stations_xy)
        self.xy.update({n: (float(v[0]), float(v[1])) for n, v in (net.get("nodes") or {}).items()})
        self.names = list(self.xy)
        idx = {n: i for i, n in enumerate(self.names)}
        self.home = spec.get("home") or (self.names[0] if self.names else None)
        self.pred = None
        if net.get("edges"):
            rows, cols, w = [], [], []
            for a, b in net["edges"]:
                if a in idx and b in idx:
                    d = math.dist(self.xy[a], self.xy[b])
                    rows += [idx[a], idx[b]]
                    cols += [idx[b], idx[a]]
                    w += [d, d]
            g = csr_matrix((w, (rows, cols)), shape=(len(idx), len(idx)))
            _, self.pred = dijkstra(g, directed=True, return_predecessors=True)
        self.idx = idx
        t = result.extra_tables.get(f"physics_{fleet}")
        self.legs: dict[int, list] = {}
        if t is None:
            return
        d = {c: t.column(c).to_pylist() for c in t.column_names}
        order = sorted(range(len(d["part"])), key=lambda i: (d["vehicle"][i], d["t_pickup"][i]))
        last: dict[int, str] = {}
        jobs = d.get("job") or ["move"] * len(d["part"])
        for i in order:
            k = d["vehicle"][i]
            a0 = last.get(k, self.home)
            tp, td = d["t_pickup"][i], d["t_drop"][i]
            t_dep = tp - d["empty_m"][i] / self.speed
            if jobs[i] == "charge":  # drive to the charger, stay there
                self.legs.setdefault(k, []).append((t_dep, tp, a0, d["to"][i], tp, tp, d["to"][i], tp))
            else:
                self.legs.setdefault(k, []).append((t_dep, tp, a0, d["from"][i], tp + self.load, td - self.unload, d["to"][i], td))
            last[k] = d["to"][i]
        self.starts = {k: np.array([leg[0] for leg in v]) for k, v in self.legs.items()}

    def _path(self, a: str, b: str) -> np.ndarray:
        if a not in self.idx or b not in self.idx:
            return np.array([self.xy.get(a, (0.0, 0.0)), self.xy.get(b, (0.0, 0.0))], float)
        if self.pred is None:
            return np.array([self.xy[a], self.xy[b]], float)
        i, j = self.idx[a], self.idx[b]
        seq = [j]
        while seq[-1] != i and self.pred[i, seq[-1]] >= 0:
            seq.append(self.pred[i, seq[-1]])
        return np.array([self.xy[self.names[n]] for n in reversed(seq)], float)

    def _along(self, a, b, f):
        from .layout import polyline_length, polyline_point

        path = self._path(a, b)
        cum = polyline_length(path)
        q = polyline_point(path, np.array([f * cum[-1]]), cum)[0]
        s = min(cum[-1], f * cum[-1] + 0.5)
        q2 = polyline_point(path, np.array([s]), cum)[0]
        heading = math.degrees(math.atan2(q2[1] - q[1], q2[0] - q[0])) if cum[-1] > 0 else 0.0
        return q, heading

    def at(self, k: int, t: float):
        """(xy, heading [deg], loaded) of vehicle ``k`` at time ``t``."""
        legs = self.legs.get(k)
        if not legs:
            return np.array(self.xy.get(self.home, (0.0, 0.0)), float), 0.0, False
        i = int(np.searchsorted(self.starts[k], t, side="right")) - 1
        if i < 0:
            return np.array(self.xy.get(self.home, (0.0, 0.0)), float), 0.0, False
        t_dep, tp, a0, pick, t_go, t_arr, drop, td = legs[i]
        if t < tp:
            q, h = self._along(a0, pick, (t - t_dep) / max(tp - t_dep, 1e-9))
            return q, h, False
        if t < t_go:
            return np.array(self.xy.get(pick, (0.0, 0.0)), float), 0.0, True
        if t < t_arr:
            q, h = self._along(pick, drop, (t - t_go) / max(t_arr - t_go, 1e-9))
            return q, h, True
        return np.array(self.xy.get(drop, (0.0, 0.0)), float), 0.0, t < td


def state_shares(result, t0: float | None = None, t1: float | None = None) -> dict[str, np.ndarray]:
    """Share of time in each state code per station over [t0, t1] (default: warm-up to
    horizon), averaged over the station's units: station -> array of ``N_CODES`` shares."""
    t0 = result.warmup if t0 is None else t0
    t1 = result.horizon if t1 is None else t1
    st = result.state
    t, res, code = np.asarray(st["t"], float), np.asarray(st["resource"]), np.asarray(st["code"], np.int64)
    n_res = len(result.resources)
    order = np.argsort(res, kind="stable")
    t, res, code = t[order], res[order], code[order]
    nxt = np.empty_like(t)
    nxt[:-1] = t[1:]
    if len(t):
        nxt[-1] = t1
    last = np.r_[res[1:] != res[:-1], True] if len(t) else np.zeros(0, bool)
    nxt[last] = t1
    dur = np.clip(np.minimum(nxt, t1) - np.maximum(t, t0), 0, None)
    per_res = np.zeros((n_res, N_CODES))
    np.add.at(per_res, (res, code), dur)
    out: dict[str, np.ndarray] = {}
    count: dict[str, int] = {}
    for rid, (_, s) in enumerate(result.resources):
        out[s] = out.get(s, 0) + per_res[rid]
        count[s] = count.get(s, 0) + 1
    span = max(t1 - t0, 1e-12)
    return {s: v / (count[s] * span) for s, v in out.items()}


class FurnaceTimeline:
    """Fill and phase of a batch furnace at any time, from the logs (nothing extra is recorded).

    Batches are the furnace's operations that share a start and an end; a batch's heating time is
    computed as the furnace computes it (the conduction kernel on the resolved scenario), then
    the soak and the quench follow, counted in processing time (a failure stops the clock). While
    a batch forms, the fill counts the parts of the next batch that have finished their previous
    step; after a batch the furnace unloads (blocked while the next station is full).
    """

    PHASES = ("loading", "heating", "soak", "quench", "unloading", "failure", "stopped")

    def __init__(self, result, station: str):
        import twin.kernels as K

        spec = result.scenario["stations"][station]
        self.capacity = int(spec.get("batch_size", 10))
        self.soak = float(spec.get("soak", 1800.0))
        self.quench = float(spec.get("quench", 300.0))
        self.heating = math.nan
        if "radius" in spec and "set_temperature" in spec:  # one part geometry and set point: the runtime's heating time
            m = K.get_material(spec.get("material", "42CrMo4"))
            st = float(spec["set_temperature"])
            self.heating = float(K.time_to_core_temperature(K.heat.CYLINDER, float(spec["radius"]), m.k, m.rho, m.cp,
                                                             float(spec.get("h", 150.0)), float(spec.get("ambient", 293.15)), st,
                                                             st - float(spec.get("core_margin", 10.0)), 31))
        # a furnace that records its loads (recipes, part geometry) gives heating and soak per load
        phys = (getattr(result, "extra_tables", None) or {}).get(f"physics_{station}")
        self._loads = None
        if phys is not None and {"t_start", "heating_s", "soak_s"} <= set(phys.column_names):
            self._loads = (np.asarray(phys.column("t_start").to_numpy(), float), np.asarray(phys.column("heating_s").to_numpy(), float),
                           np.asarray(phys.column("soak_s").to_numpy(), float))
        self.rid = next(i for i, (_, s) in enumerate(result.resources) if s == station)
        ops = result.ops
        mine = np.asarray(ops["resource"]) == self.rid
        ts, te = np.asarray(ops["t_start"])[mine], np.asarray(ops["t_end"])[mine]
        parts, steps = np.asarray(ops["part"])[mine], np.asarray(ops["step"])[mine]
        keys = np.unique(np.column_stack([ts, te]), axis=0) if len(ts) else np.zeros((0, 2))
        self.t_start, self.t_end = keys[:, 0], keys[:, 1]
        self.size = np.array([int(((ts == a) & (te == b)).sum()) for a, b in keys], dtype=int)
        # previous-step end of every part of every batch (when it became ready for the furnace)
        allp, alls, allte = np.asarray(ops["part"]), np.asarray(ops["step"]), np.asarray(ops["t_end"])
        prev_end: dict[int, float] = {}
        for p_, s_ in zip(parts, steps):
            m_ = (allp == p_) & (alls == s_ - 1)
            prev_end[int(p_)] = float(allte[m_].max()) if m_.any() else 0.0
        self.ready = [np.sort([prev_end[int(p_)] for p_, a_, b_ in zip(parts, ts, te) if a_ == a and b_ == b])
                      for a, b in keys]
        s = result.state
        sm = np.asarray(s["resource"]) == self.rid
        self.st_t = np.asarray(s["t"], float)[sm]
        self.st_c = np.asarray(s["code"], int)[sm]
        dt = np.diff(np.append(self.st_t, np.inf))
        busy = np.where(self.st_c == int(Code.PROCESSING), np.minimum(dt, 1e18), 0.0)
        self.cum_busy = np.concatenate([[0.0], np.cumsum(busy)[:-1]])  # processing time before each row

    def _times(self, k: int) -> tuple[float, float]:
        """(heating, soak) [s] of batch ``k``: from the furnace's load record when it keeps one."""
        if self._loads is not None and len(self._loads[0]):
            ts, heat, soak = self._loads
            j = int(np.argmin(np.abs(ts - self.t_start[k])))
            if abs(ts[j] - self.t_start[k]) < 1e-6:
                return float(heat[j]), float(soak[j])
        return self.heating, self.soak

    def _busy_until(self, t: float) -> float:
        i = int(np.searchsorted(self.st_t, t, side="right")) - 1
        if i < 0:
            return 0.0
        extra = (t - self.st_t[i]) if self.st_c[i] == int(Code.PROCESSING) else 0.0
        return float(self.cum_busy[i] + extra)

    def at(self, t: float) -> tuple[int, int, str]:
        """(parts in the furnace, batch size, phase) at sim time ``t``."""
        i = int(np.searchsorted(self.st_t, t, side="right")) - 1
        code = int(self.st_c[i]) if i >= 0 else int(Code.STARVED)
        k = int(np.searchsorted(self.t_start, t, side="right")) - 1  # the last batch started by t
        if k >= 0 and t < self.t_end[k]:
            if code == int(Code.FAILURE):
                return int(self.size[k]), self.capacity, "failure"
            if code in (int(Code.BREAK), int(Code.OFF_SHIFT), int(Code.HELD), int(Code.PLANNED_MAINTENANCE)):
                return int(self.size[k]), self.capacity, "stopped"
            el = self._busy_until(t) - self._busy_until(self.t_start[k])
            heat, soak = self._times(k)
            if not math.isfinite(heat):
                return int(self.size[k]), self.capacity, "processing"
            phase = "heating" if el < heat else ("soak" if el < heat + soak else "quench")
            return int(self.size[k]), self.capacity, phase
        if code == int(Code.BLOCKED):
            return int(self.size[k]) if k >= 0 else 0, self.capacity, "unloading"
        nxt = k + 1
        if nxt < len(self.t_start):
            n = int(np.searchsorted(self.ready[nxt], t, side="right"))
            return min(n, int(self.size[nxt])), self.capacity, "loading"
        return 0, self.capacity, "loading"
