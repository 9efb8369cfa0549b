"""The server's shared state, reached by the routers through ``request.app.state.service``:
the store, the limits, the identities, the simulation worker processes, the step threads, the
admission gate for runs and the lockstep sessions."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from .auth import Identities
from .sessions import Session, new_session_id

log = logging.getLogger("twin.api")


@dataclass
class Limits:
    max_scenario_bytes: int = 1_000_000
    max_body_bytes: int = 4_000_000  # a compare request carries two scenarios
    max_horizon_s: float = 366 * 86400.0
    max_running: int = 2
    max_queued: int = 8
    max_sessions: int = 32
    session_idle_s: float = 900.0
    step_threads: int = 2  # more only adds GIL contention with the event loop on a small machine
    max_ws_pending: int = 16
    max_realtime_steps: int = 1_000_000
    ws_auth_timeout_s: float = 10.0
    step_stall_s: float = 60.0  # sim time still for this long: the session is closed, the run or replication fails


class Gate:
    """Atomic admission: at most ``capacity`` holders; ``try_acquire`` never waits."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._n = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self._n >= self.capacity:
                return False
            self._n += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._n = max(0, self._n - 1)

    @property
    def in_use(self) -> int:
        return self._n


class SessionLimit(Exception):
    pass


class Service:
    def __init__(self, store, limits: Limits, identities: Identities, workers: int | None = None, lease_s: float = 30.0):
        self.store = store
        self.limits = limits
        self.identities = identities
        self.lease_s = lease_s
        self.workers = workers or limits.max_running
        self.runs_gate = Gate(limits.max_running + limits.max_queued)
        self.sessions: dict[str, Session] = {}
        self.demo: dict[str, str] = {}  # identity -> its demo session id
        self.demo_lock = asyncio.Lock()
        self._session_lock = threading.Lock()
        self._reserved = 0
        self.active_runs: dict[str, Any] = {}
        self.step_pool = ThreadPoolExecutor(max_workers=limits.step_threads, thread_name_prefix="twin-step")
        self.pool: ProcessPoolExecutor | None = None
        self.tasks: list[asyncio.Task] = []
        self.stopping = False
        self.on_start: list[Callable[[], Awaitable[None]]] = []
        self.on_stop: list[Callable[[], Awaitable[None]]] = []

    # ---- worker processes ---------------------------------------------------------------------------
    def start_pool(self) -> None:
        from .worker import init_worker, warm

        if self.pool is not None:
            return
        self.pool = ProcessPoolExecutor(max_workers=self.workers, initializer=init_worker,
                                        initargs=(os.getpid(), self.store.url, str(self.store.data_dir), self.store.owner))
        # fork the workers now, while the server has few threads (a fork copies only the calling thread)
        for f in [self.pool.submit(warm) for _ in range(self.workers)]:
            f.result(timeout=60)

    def stop_pool(self) -> None:
        pool, self.pool = self.pool, None
        if pool is None:
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(timeout=2)
            if p.is_alive():
                p.kill()
                p.join(timeout=2)

    # ---- sessions ----------------------------------------------------------------------------------
    def reserve_session(self) -> None:
        """Take one of ``max_sessions`` places (atomic), or raise :class:`SessionLimit`."""
        with self._session_lock:
            if len(self.sessions) + self._reserved >= self.limits.max_sessions:
                raise SessionLimit()
            self._reserved += 1

    def add_session(self, run, owner: str, kind: str, scenario=None, seed=None, reserved: bool = True) -> Session:
        s = Session(new_session_id(), run, owner=owner, kind=kind, scenario=scenario, seed=seed)
        with self._session_lock:
            if reserved:
                self._reserved -= 1
            self.sessions[s.id] = s
        return s

    def unreserve_session(self) -> None:
        with self._session_lock:
            self._reserved -= 1

    def close_session(self, sid: str) -> Session | None:
        with self._session_lock:
            s = self.sessions.pop(sid, None)
            for k, v in list(self.demo.items()):
                if v == sid:
                    del self.demo[k]
        if s is not None:
            s.close()
        return s

    # ---- background work ---------------------------------------------------------------------------
    async def reaper(self) -> None:
        while True:
            await asyncio.sleep(min(30.0, self.limits.session_idle_s / 2))
            now = time.monotonic()
            for sid, s in list(self.sessions.items()):
                if s.kind not in ("opcua", "served") and now - s.last_used > self.limits.session_idle_s and not s.busy.locked():
                    self.close_session(sid)

    async def watchdog(self) -> None:
        """Free step threads stuck in a simulation that makes no progress (and close the session)."""
        while True:
            await asyncio.sleep(min(1.0, self.limits.step_stall_s / 4))
            for sid, s in list(self.sessions.items()):
                if s.interrupt_if_stalled(self.limits.step_stall_s):
                    log.error("session %s: %s", sid, s.broken)
                    if s.kind in ("opcua", "served"):
                        s.close()  # stays listed: a Reset (OPC UA) starts it over
                    else:
                        self.close_session(sid)

    async def leases(self) -> None:
        """Renew this server's run leases and end runs whose server is gone."""
        while True:
            try:
                await asyncio.to_thread(self.store.renew_leases)
                n = await asyncio.to_thread(self.store.recover)
                if n:
                    log.warning("recovered %d run(s) left by a server that stopped", n)
            except Exception:  # a database hiccup: try again next round
                log.exception("lease renewal failed")
            await asyncio.sleep(self.lease_s / 3)

    async def start(self) -> None:
        self.stopping = False
        if getattr(self.step_pool, "_shutdown", False):  # started again after a stop (test clients do that)
            self.step_pool = ThreadPoolExecutor(max_workers=self.limits.step_threads, thread_name_prefix="twin-step")
        await asyncio.to_thread(self.start_pool)
        self.tasks = [asyncio.create_task(self.reaper()), asyncio.create_task(self.leases()), asyncio.create_task(self.watchdog())]
        for hook in self.on_start:
            await hook()

    async def stop(self) -> None:
        """Stop the workers now (a simulation can run for minutes) and end this server's
        unfinished runs (``interrupted``; ``cancelled`` if asked to stop): results are written
        atomically, so a stopped run leaves nothing half-saved."""
        self.stopping = True
        for hook in self.on_stop:
            try:
                await hook()
            except Exception:
                log.exception("shutdown hook failed")
        for t in self.tasks:
            t.cancel()
        for s in list(self.sessions.values()):
            s.close()  # in-flight steps stop at their next chunk; the objects stay readable
        await asyncio.to_thread(self.stop_pool)
        await asyncio.to_thread(self.store.release_owned)
        self.step_pool.shutdown(wait=False, cancel_futures=True)
