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

__all__ = ["StateIndex", "BufferIndex", "TripIndex", "frame_times", "state_shares", "worst_code", "RANK"]

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


class TripIndex:
    """Where the units of a transport station (AGVs) are: each operation of a part on such a
    unit is a trip from the station of the part's previous operation to that of its next one."""

    def __init__(self, result, transport_stations: set[str]):
        ops = result.ops
        res_station = [s for _, s in result.resources]
        names = list(dict.fromkeys(res_station))
        sid = np.array([names.index(s) for s in res_station], dtype=np.int64)
        self.names = names
        n = len(ops["part"])
        order = np.lexsort((np.asarray(ops["t_start"]), np.asarray(ops["part"])))
        part = np.asarray(ops["part"])[order]
        st = sid[np.asarray(ops["resource"])[order]] if n else np.zeros(0, np.int64)
        prev = np.full(n, -1)
        nxt = np.full(n, -1)
        same = part[1:] == part[:-1]
        prev[1:][same] = st[:-1][same]
        nxt[:-1][same] = st[1:][same]
        res = np.asarray(ops["resource"])[order]
        self.rids = {rid for rid, s in enumerate(res_station) if s in transport_stations}
        keep = np.isin(res, list(self.rids)) if n else np.zeros(0, bool)
        res, ts, te = res[keep], np.asarray(ops["t_start"], float)[order][keep], np.asarray(ops["t_end"], float)[order][keep]
        prev, nxt = prev[keep], nxt[keep]
        o = np.lexsort((ts, res))
        self.res, self.ts, self.te, self.src, self.dst = res[o], ts[o], te[o], prev[o], nxt[o]
        self.bounds = {r: (int(np.searchsorted(self.res, r)), int(np.searchsorted(self.res, r, side="right"))) for r in self.rids}

    def trip_at(self, rid: int, t: float):
        """``(from station, to station, fraction done)`` of the trip under way at ``t``, or
        ``(None, last destination, 1.0)`` when idle (``None`` before its first trip)."""
        a, b = self.bounds.get(rid, (0, 0))
        i = int(np.searchsorted(self.ts[a:b], t, side="right")) - 1
        if i < 0:
            return None, None, 1.0
        j = a + i
        name = lambda k: self.names[k] if k >= 0 else None
        if t < self.te[j]:
            dur = max(self.te[j] - self.ts[j], 1e-9)
            return name(self.src[j]), name(self.dst[j]), float((t - self.ts[j]) / dur)
        return None, name(self.dst[j]), 1.0


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
