"""Shared people and handling resources: repair crews, operator pools and robot loaders.

A *pool* has ``size`` identical members. Stations ask a pool for one member and are called
back when they get it (FIFO among waiting requests; nothing polls). A pool of operators may
carry ``skills`` (a station asks for a skill, and any pool that has it may serve, in the order
the scenario lists them) and ``shifts`` (names of ``calendar.shifts``): outside its shifts a
pool serves nobody; a member busy at the end of a shift finishes the task in hand
(non-preemptive), as on a real shop floor.

.. code-block:: yaml

    crews:
      fitters: {size: 2}                          # repairs of failures whose profile names it
    operators:
      turners: {size: 2, skills: [turning, milling], shifts: [early, late]}

Every grant, release, queue change and shift change is logged as ``(t, pool, busy, queued, on)``
(``on``: members available, all of them on shift, none off shift, fewer while some are stopped);
the KPIs (``kpis["pools"]``) are time-weighted over the KPI window: utilisation = busy
member-time / available member-time, on-shift share = available member-time / (members x
window), mean queue length, requests, mean and max wait [s].
"""

from __future__ import annotations

from array import array
from collections import deque
from typing import Callable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PoolSpec", "OperatorPoolSpec", "Pool", "MultiPool", "crew_job", "build_pools", "pool_kpis", "pool_table", "new_pool_log"]


class PoolSpec(BaseModel):
    """A repair crew (or any pool of identical members)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    size: int = Field(default=1, ge=1, description="members")
    shifts: list[str] | None = Field(default=None, description="calendar shift names when the pool works; default: always")


class OperatorPoolSpec(PoolSpec):
    """Operators with skills (a station's ``operator.skill`` picks the pools that can serve it)."""

    skills: list[str] = Field(default_factory=list, description="what these operators can run; empty: anything")


class Pool:
    """Runtime pool: ``request(cb)`` calls ``cb(pool)`` when a member is free (maybe at once)."""

    def __init__(self, run, name: str, kind: str, size: int, skills: list[str] | None = None):
        self.run = run
        self.clock = run.clock
        self.name = name
        self.kind = kind
        self.size = size
        self.skills = set(skills or ())
        self.busy = 0
        self.available = size  # members that can serve now (all on shift; fewer while some are stopped)
        self.queue: deque = deque()  # (callback, t_request)
        self.pid = len(run.pool_names)
        run.pool_names.append((name, kind, size))
        self._log = run.pool_log
        self._record()

    def _record(self, wait: float = float("nan")) -> None:
        lg = self._log
        lg["t"].append(self.clock.now)
        lg["pool"].append(self.pid)
        lg["busy"].append(self.busy)
        lg["queued"].append(len(self.queue))
        lg["on"].append(self.available)
        lg["wait"].append(wait)

    def can_serve(self, skill: str | None) -> bool:
        return skill is None or not self.skills or skill in self.skills

    @property
    def on(self) -> bool:
        return self.available > 0

    def free(self) -> bool:
        return self.busy < self.available

    def request(self, cb: Callable[["Pool"], None]) -> "Pool":
        """Queue for a member (or get one now); returns the pool the request waits in."""
        if self.free() and not self.queue:
            self.busy += 1
            self._record(0.0)
            cb(self)
        else:
            self.queue.append((cb, self.clock.now))
            self._record()
        return self

    def cancel(self, cb) -> bool:
        for item in self.queue:
            if item[0] == cb:
                self.queue.remove(item)
                self._record()
                return True
        return False

    def release(self) -> None:
        self.busy -= 1
        self._record()
        self._serve()

    def _serve(self) -> None:
        while self.queue and self.free():
            cb, t0 = self.queue.popleft()
            self.busy += 1
            self._record(self.clock.now - t0)
            cb(self)

    def set_on(self, on: bool) -> None:
        """Shift start (``on``) or end; both are logged, whether or not anyone waits."""
        self.set_available(self.size if on else 0)

    def set_available(self, n: int) -> None:
        """How many members can serve (a robot arm under repair cannot); logged."""
        self.available = n
        self._record()
        self._serve()


class MultiPool:
    """Several pools that can serve one skill, asked in the scenario's order: the first free
    one serves; else the request joins the candidate with the shortest queue per member (the
    first listed on ties) and waits there."""

    def __init__(self, pools: list[Pool]):
        self.pools = pools

    def request(self, cb: Callable[[Pool], None]) -> Pool:
        for p in self.pools:
            if p.free() and not p.queue:
                p.request(cb)
                return p
        p = min(self.pools, key=lambda q: len(q.queue) / q.size)
        p.request(cb)
        return p


def crew_job(run, crew: str | None, duration: float, done: Callable[[], None]) -> None:
    """A repair or maintenance job: wait for a member of ``crew`` (none: start now), work
    ``duration`` [s], release the member, then call ``done()``."""

    def work(pool=None):
        def end(ev):
            if pool is not None:
                pool.release()
            done()

        run.at(run.clock.now + duration, end)

    if crew is None:
        work()
    else:
        run.pools[crew].request(work)


def build_pools(run) -> dict[str, Pool]:
    """Pools of the scenario's ``crews`` and ``operators``, with their shifts scheduled."""
    from .calendar import Calendar, merge

    sc = run.scenario
    pools: dict[str, Pool] = {}
    for kind, specs in (("crew", sc.crews), ("operators", sc.operators)):
        for name, spec in specs.items():
            p = Pool(run, name, kind, spec.size, spec.skills if isinstance(spec, OperatorPoolSpec) else None)
            pools[name] = p
            if spec.shifts:
                cal = sc.calendar
                shifts = [s for s in cal.shifts if s.name in spec.shifts]
                sub = Calendar.model_validate({**cal.model_dump(), "shifts": [s.model_dump() for s in shifts]})
                on = merge(sub.on_shift(run.horizon), 0.0, run.horizon)
                p.available = p.size if (on and on[0][0] <= 0.0) else 0
                p._record()
                for a, b in on:
                    if a > 0.0:
                        run.at(a, lambda ev, p=p: p.set_on(True))
                    if b < run.horizon:
                        run.at(b, lambda ev, p=p: p.set_on(False))
    return pools


def new_pool_log() -> dict:
    return {"t": array("d"), "pool": array("i"), "busy": array("i"), "queued": array("i"), "on": array("i"), "wait": array("d")}


def pool_table(run):
    """The pool log as an Arrow table (``pools`` in a result); names, kinds and sizes ride in
    the schema metadata. ``wait`` is the waiting time of a grant [s] (NaN on other records)."""
    import json

    import pyarrow as pa

    if not run.pool_names:
        return None
    lg = run.pool_log
    meta = {"names": [n for n, _, _ in run.pool_names], "kinds": [k for _, k, _ in run.pool_names],
            "sizes": [s for _, _, s in run.pool_names]}
    t = pa.table({"t": np.frombuffer(lg["t"], dtype=np.float64), "pool": np.frombuffer(lg["pool"], dtype=np.int32),
                  "busy": np.frombuffer(lg["busy"], dtype=np.int32), "queued": np.frombuffer(lg["queued"], dtype=np.int32),
                  "on": np.frombuffer(lg["on"], dtype=np.int32), "wait": np.frombuffer(lg["wait"], dtype=np.float64)})
    return t.replace_schema_metadata({"twin.pools": json.dumps(meta)})


def _step_mean(t, v, t0, t1) -> float:
    """Time-weighted mean over [t0, t1] of a step signal v(t) that holds from t[i] to t[i+1]."""
    if t1 <= t0 or not len(t):
        return 0.0
    ends = np.append(t[1:], t1)
    a = np.clip(t, t0, t1)
    b = np.clip(ends, t0, t1)
    return float(np.dot(v, b - a) / (t1 - t0))


def pool_kpis(table, t0: float, t1: float) -> dict:
    """Per pool: utilisation (busy / (size x on-time)), mean busy, mean queue, on-shift fraction,
    requests and waits [s] (waits of grants inside the window)."""
    import json

    meta = json.loads(table.schema.metadata[b"twin.pools"])
    cols = {c: table.column(c).to_numpy() for c in table.column_names}
    out = {}
    for i, name in enumerate(meta["names"]):
        m = cols["pool"] == i
        t, busy, queued, on = cols["t"][m], cols["busy"][m].astype(float), cols["queued"][m].astype(float), cols["on"][m].astype(float)
        wait = cols["wait"][m]
        w = wait[~np.isnan(wait) & (t >= t0) & (t < t1)]
        # several records at one instant: zero-length steps weigh nothing, the last one holds
        mean_busy = _step_mean(t, busy, t0, t1)
        size = meta["sizes"][i]
        on_frac = _step_mean(t, on, t0, t1) / size  # `on` logs the members available
        out[name] = {
            "kind": meta["kinds"][i], "size": size,
            "utilisation": mean_busy / (size * on_frac) if on_frac > 0 else 0.0,
            "mean_busy": mean_busy, "mean_queue": _step_mean(t, queued, t0, t1), "on_shift": on_frac,
            "requests": int(len(w)), "mean_wait_s": float(w.mean()) if len(w) else 0.0,
            "max_wait_s": float(w.max()) if len(w) else 0.0,
        }
    return out
