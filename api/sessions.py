"""Lockstep sessions: a :class:`twin.Run` shared by HTTP, WebSocket and OPC UA clients.

A step first runs on the event loop, event by event, for at most :data:`INLINE_S` of wall time
(plus the one event in progress when the budget ends): a controller's one-minute step of a line
is done there without a hand-off to a thread and back, which would cost more than the step
itself. Only the run lock's *try*-acquire is used there (never a wait): when a step thread holds
the run, the step goes to the threads at once. A step that does not fit the budget hands the
held run lock to the server's step threads, which finish the event instant the budget ended in
and run the rest in chunks of about :data:`CHUNK_S` wall seconds (the simulated span of a chunk
adapts to the plant), so one session's long step (``{"until": "300 d"}``) neither freezes the
server nor starves other sessions, and it can be cancelled between chunks (``{"stop": true}``,
the client leaving, the session closing); a loop of zero-duration events ends the inline part
at the budget and meets the stall watchdog in a thread. Neither the inline part nor chunking
changes results: the events are processed in the same order by the same code (``Clock.step``
is the engine loop's body), and ``Run.run_until(a); run_until(b)`` processes exactly the events
of ``run_until(b)``. The tags of the reply are read on the loop too when the run lock is free
(one pass over the tag table, no simulation).

Per session, ``busy`` (an asyncio lock) orders whole operations (a step, a command, a reset)
and ``lock`` (a thread lock) guards the run inside the step threads; reads of tags take only
``lock``, so they see the run between two chunks, never in the middle of one.

Step replies report the tags that changed since the last reply *this client* got (per client
snapshot), so a change a command made between two steps (``hold SAW``) is reported too.
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

CHUNK_S = 0.05
#: wall-time budget [s] of a step's simulation on the event loop (checked after every event)
INLINE_S = 0.001
MAX_SNAPSHOTS = 64
_DONE, _HELD, _TAKEN = 0, 1, 2  # outcomes of the inline part of a step


class Cancel:
    """A cancel flag seen by the event loop (``wait``) and by step threads (``is_set``)."""

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._event = asyncio.Event()

    def set(self) -> None:
        self._flag.set()
        self._event.set()

    def clear(self) -> None:
        self._flag.clear()
        self._event.clear()

    def is_set(self) -> bool:
        return self._flag.is_set()

    async def wait(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False


class Stalled(BaseException):
    """Raised into a step thread whose chunk made no progress for ``step_stall_s`` (a loop of
    zero-duration events, say): the thread is freed and the session closed."""


class StepError(ValueError):
    """A step request that does not fit the session now (field, message)."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


@dataclass
class Session:
    id: str
    run: Any
    owner: str = "anonymous"
    kind: str = "api"  # api | demo | opcua
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    created_at: float = field(default_factory=time.time)
    closed: bool = False
    seed: int | None = None
    scenario: Any = None
    _busy: asyncio.Lock | None = field(default=None, repr=False)
    broken: str | None = None  # why the session was closed by the stall watchdog
    paced: float | None = None  # runs by itself at this many sim seconds per wall second (api.realtime)
    _span: float = 60.0  # simulated seconds per sub-step, adapted to keep a chunk near CHUNK_S
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _running: tuple | None = field(default=None, repr=False)  # (thread id, start) of the chunk in progress
    _snapshots: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _cancels: set = field(default_factory=set, repr=False)

    @property
    def busy(self) -> asyncio.Lock:
        if self._busy is None:
            self._busy = asyncio.Lock()
        return self._busy

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def info(self) -> dict:
        run = self.run
        return {"id": self.id, "kind": self.kind, "owner": self.owner, "scenario": run.scenario.name,
                "sim_time": run.now, "horizon": run.horizon, "finished": run.finished, "created_at": self.created_at,
                "paced": self.paced}

    # ---- snapshots ------------------------------------------------------------------------------
    def remember(self, client: str, tags: dict) -> None:
        snaps = self._snapshots
        snaps[client] = tags
        snaps.move_to_end(client)
        while len(snaps) > MAX_SNAPSHOTS:
            snaps.popitem(last=False)

    def forget(self, client: str) -> None:
        self._snapshots.pop(client, None)

    def delta(self, client: str, tags: dict) -> dict:
        """Tags that differ from what ``client`` was last sent (all of them for a new client)."""
        before = self._snapshots.get(client)
        self.remember(client, tags)
        if before is None:
            return dict(tags)
        get = before.get
        out = {k: v for k, v in tags.items() if get(k, _MISSING) != v}
        for k in [k for k, v in out.items() if isinstance(v, float) and v != v]:  # NaN != NaN: NaN before and now is no change
            if _both_nan(get(k), out[k]):
                del out[k]
        return out

    # ---- work in the step threads ------------------------------------------------------------------
    def _watched(self, fn, *args):
        """Run simulation work with the stall watchdog looking (see :meth:`interrupt_if_stalled`)."""
        with self._guard:
            self._running = (threading.get_ident(), time.perf_counter())
        try:
            return fn(*args)
        finally:
            with self._guard:
                self._running = None

    def interrupt_if_stalled(self, limit_s: float) -> bool:
        """Called by the service's watchdog: if a chunk has run for more than ``limit_s`` (it
        cannot return: the simulation loops at one instant), raise :class:`Stalled` in its
        thread. The run is then left mid-event, so the session is closed."""
        with self._guard:
            r = self._running
            if r is None or time.perf_counter() - r[1] <= limit_s or self.broken:
                return False
            self.broken = (f"the simulation made no progress for {limit_s:g} s of wall time at sim time "
                           f"{self.run.now:g} s (zero-duration events in a loop?); the session was closed")
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(r[0]), ctypes.py_object(Stalled))
            return True

    def _advance(self, target: float, cancel: Cancel | None, held: bool = False) -> None:
        """Advance towards ``target`` for about CHUNK_S wall seconds (one chunk). ``held``: the
        run lock was taken over from the inline part of the step (see :meth:`_inline`), which may
        have stopped between two events of one instant: the first sub-step runs whatever the
        cancel flag says, so the run lock is never released in the middle of an instant."""
        if not held:
            self.lock.acquire()
        try:
            run = self.run
            end = time.perf_counter() + CHUNK_S
            first = held
            while run.now < target and not run.finished:
                if cancel is not None and cancel.is_set() and not first:
                    return
                first = False
                t0 = time.perf_counter()
                run.run_until(min(target, run.now + self._span))
                took = time.perf_counter() - t0
                if took < CHUNK_S / 8:
                    self._span = min(self._span * 2.0, 1e12)
                elif took > CHUNK_S:
                    self._span = max(self._span / 2.0, 1e-3)
                if time.perf_counter() >= end:
                    return
        finally:
            self.lock.release()

    def _inline(self, target: float) -> int:
        """The inline part of a step, on the event loop: process events before ``target`` one by
        one while the wall time spent stays under :data:`INLINE_S`. ``_DONE``: at ``target`` (run
        lock released); ``_HELD``: the budget ran out, the run lock is still held and must be
        handed to a step thread (:meth:`_advance` with ``held``); ``_TAKEN``: a step thread holds
        the run lock (nothing done, nothing waited for)."""
        if not self.lock.acquire(blocking=False):
            return _TAKEN
        try:
            done = self.run.run_until(target, deadline=time.perf_counter() + INLINE_S)
        except BaseException:
            self.lock.release()
            raise
        if not done:
            return _HELD
        self.lock.release()
        return _DONE

    def _tags_now(self) -> dict | None:
        """The observed tags read on the event loop if the run lock is free now, else None."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            return self.run.observed_tags()
        finally:
            self.lock.release()

    def _event(self) -> None:
        with self.lock:
            self.run.step_event()

    def _tags(self) -> dict:
        with self.lock:
            return self.run.observed_tags()

    async def call(self, pool: Executor, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    # ---- operations (on the event loop; the work runs in ``pool``) ---------------------------------
    async def step(self, pool: Executor, *, dt: float | None = None, until: float | None = None, event: bool = False,
                   client: str | None = "anonymous", cancel: Cancel | None = None, pacer: bool = False) -> dict:
        """One step; returns ``{sim_time, finished, changed, wall_ms}`` (+ ``interrupted``).
        A session that runs by itself (``paced``) takes steps only from its pacer. ``client``
        None: the caller does not use ``changed`` (OPC UA refreshes its address space from its
        own snapshot), so it is empty and the tags are read only if the reading has an effect
        (signal non-idealities: noise draws and delay histories, journalled for replay)."""
        self.touch()
        cancel = cancel or Cancel()
        self._cancels.add(cancel)
        try:
            return await self._step(pool, dt, until, event, client, cancel, pacer)
        finally:
            self._cancels.discard(cancel)

    async def _step(self, pool, dt, until, event, client, cancel: Cancel, pacer: bool = False) -> dict:
        async with self.busy:
            if self.closed:
                raise StepError("session", "the session was closed")
            if self.paced and not pacer:
                raise StepError("paced", f"the plant runs by itself at {self.paced:g} x real time (twin serve --realtime): "
                                           "Step is refused; read its tags, send commands, or Reset it")
            run = self.run
            t0 = time.perf_counter()
            if event:
                await self._sim(pool, self._event)
                stopped = False
            else:
                if until is not None:
                    if not math.isfinite(until):
                        raise StepError("until", "must be a finite number of seconds")
                    if until < run.now:
                        raise StepError("until", f"{until:g} s is in the past (the session is at {run.now:g} s)")
                    target = until
                else:
                    target = run.now + (dt or 0.0)
                target = min(target, run.horizon)
                stopped = False
                state = self._inline(target) if run.now < target and not run.finished else _DONE
                if state == _HELD:
                    await self._handoff(pool, target, cancel)
                while run.now < target and not run.finished:
                    if self.closed or cancel.is_set():
                        stopped = True
                        break
                    await self._sim(pool, self._advance, target, cancel)
            if client is None and not run.scenario.signals:
                changed = {}  # nobody takes the tags, and reading them has no effect (no signal noise or delay)
            else:
                tags = self._tags_now()
                if tags is None:
                    tags = await self.call(pool, self._tags)
                changed = {} if client is None else self.delta(client, tags)
            self.touch()
            reply = {"sim_time": run.now, "finished": run.finished, "changed": changed,
                     "wall_ms": (time.perf_counter() - t0) * 1e3}
            if stopped:
                reply["interrupted"] = True
            return reply

    async def _handoff(self, pool: Executor, target: float, cancel: Cancel) -> None:
        """Give the run lock held by the inline part to a step thread, which runs the first chunk
        and releases it. The job runs even if this step is cancelled meanwhile (the lock is never
        left held); a job the pool drops unstarted (server stopping) releases it here."""
        try:
            fut = pool.submit(self._watched, self._advance, target, cancel, True)
        except BaseException:
            self.lock.release()
            raise
        fut.add_done_callback(lambda f: self.lock.release() if f.cancelled() else None)
        job = asyncio.wrap_future(fut)
        job.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even if nobody awaits it any more
        try:
            await asyncio.shield(job)
        except Stalled:
            self.close()
            raise StepError("session", self.broken or "the session was closed") from None

    async def _sim(self, pool: Executor, fn, *args):
        try:
            return await self.call(pool, self._watched, fn, *args)
        except Stalled:
            self.close()
            raise StepError("session", self.broken or "the session was closed") from None

    async def tags(self, pool: Executor) -> dict:
        self.touch()
        return await self.call(pool, self._tags)

    async def snapshot(self, pool: Executor, client: str) -> dict:
        """All tags now, remembered as what ``client`` was sent."""
        tags = await self.tags(pool)
        self.remember(client, tags)
        return tags

    async def apply(self, pool: Executor, cmd: dict) -> dict:
        """A command through ``twin.commands`` (``cmd`` carries the identity as ``source``)."""
        from twin.commands import apply_command

        self.touch()

        def work():
            with self.lock:
                return apply_command(self.run, cmd)

        async with self.busy:
            if self.closed:
                raise StepError("session", "the session was closed")
            return await self.call(pool, work)

    def read_now(self, fn):
        """``fn(run)`` on the event loop if the run lock is free now, else None (then use
        :meth:`read`). Only for reads that cost about as much as a step's tag table."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            self.touch()
            return fn(self.run)
        finally:
            self.lock.release()

    async def read(self, pool: Executor, fn):
        """``fn(run)`` under the run lock in a step thread (KPIs, command log)."""
        self.touch()

        def work():
            with self.lock:
                return fn(self.run)

        return await self.call(pool, work)

    async def reset(self, pool: Executor) -> None:
        """Start the session over: a fresh run of the same scenario and seed."""
        import twin

        async with self.busy:
            fresh = await self.call(pool, lambda: twin.Run(self.scenario, seed=self.seed))
            with self.lock:
                self.run = fresh
                self._snapshots.clear()
                self._span = 60.0
                self.closed = False  # a session the stall watchdog closed is usable again
                self.broken = None

    def close(self) -> None:
        self.closed = True
        for c in list(self._cancels):
            c.set()


_MISSING = object()


def _both_nan(a, b) -> bool:
    return isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)


def new_session_id() -> str:
    return str(uuid.uuid4())
