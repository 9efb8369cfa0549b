"""The served plant, and a plant that runs by itself (``twin serve --realtime SCALE``).

The *served session* is the one lockstep session a server exposes to shop-floor protocols:
OPC UA serves it, the MTConnect agent reports it, ``--realtime`` paces it. It is created once
per app (:func:`served_session`), never times out and cannot be deleted over HTTP; it is also
listed under ``/v1/sessions`` (kind ``opcua`` when OPC UA serves it, else ``served``), so HTTP
and WebSocket clients can read its tags and send it commands.

:class:`Pacer` advances it continuously: every ``tick_s`` wall seconds to ``SCALE`` x the wall
time since the pacer started (or since the last Reset), through :meth:`Session.step`, i.e. on the
event loop for at most ``sessions.INLINE_S`` (1 ms), beyond it in the server's step threads, in
chunks. When the simulation cannot keep
up, it runs as fast as it can and ``lag_s`` tells by how much it is behind. At the horizon the
plant stops (sim time stays at the horizon, ``finished`` true) until a Reset starts it over.
While a pace is set, Step requests on the served session (HTTP, WebSocket, OPC UA ``Step``)
are refused with a message saying the plant runs by itself; commands and Reset work.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from typing import Awaitable, Callable

log = logging.getLogger("twin.api.realtime")

MAX_SCALE = 1e6
TICK_S = 0.1
MAX_SLICE_S = 0.25


def check_scale(scale: float) -> float:
    """``scale`` if it is a usable pace (finite, > 0, <= :data:`MAX_SCALE`); ValueError otherwise."""
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and 0 < scale <= MAX_SCALE):
        raise ValueError(f"must be a number of simulated seconds per wall second, > 0 and <= {MAX_SCALE:g}")
    return float(scale)


def served_session(app, scenario_path: str | None = None, seed: int | None = None):
    """The app's served session: the OPC UA session if OPC UA is attached, else one made here
    from ``scenario_path`` (default: the example shaft line)."""
    svc = app.state.service
    sid = getattr(app.state, "opcua_session", None) or getattr(app.state, "served_session", None)
    if sid is not None and sid in svc.sessions:
        return svc.sessions[sid]
    import twin
    from twin.scenario import load

    path = Path(scenario_path) if scenario_path else Path(twin.__file__).resolve().parent.parent / "examples" / "shaft_line.yaml"
    sc = load(path, seed=seed)
    session = svc.add_session(twin.Run(sc), owner="served", kind="served", scenario=sc, seed=sc.seed, reserved=False)
    session.last_used = float("inf")  # never idle
    app.state.served_session = session.id
    return session


class Pacer:
    """Runs ``session`` at ``scale`` simulated seconds per wall second (see the module doc)."""

    def __init__(self, svc, session, scale: float, tick_s: float = TICK_S):
        self.svc = svc
        self.session = session
        self.scale = check_scale(scale)
        self.tick_s = tick_s
        self.listeners: list[Callable[[], Awaitable[None]]] = []
        self.lag_s = 0.0
        self.ticks = 0
        self._task: asyncio.Task | None = None
        self._stop = False

    async def _loop(self) -> None:
        from .sessions import Cancel, StepError

        s = self.session
        run = None
        t0 = sim0 = 0.0
        while not self._stop:
            if s.run is not run:  # started, or Reset: anchor the pace anew
                run = s.run
                t0, sim0 = time.monotonic(), float(run.now)
            target = min(sim0 + self.scale * (time.monotonic() - t0), run.horizon)
            if not run.finished and not s.closed and target > run.now:
                # a plant behind its pace catches up in slices of MAX_SLICE_S wall seconds, so
                # commands and reads (which wait for the step) get their turn in between
                cancel = Cancel()
                timer = asyncio.get_running_loop().call_later(MAX_SLICE_S, cancel.set)
                try:
                    await s.step(self.svc.step_pool, until=target, client="realtime", cancel=cancel, pacer=True)
                except StepError as e:  # closed by the stall watchdog: wait for a Reset
                    log.warning("realtime: %s", e)
                finally:
                    timer.cancel()
                self.ticks += 1
            ideal = min(sim0 + self.scale * (time.monotonic() - t0), s.run.horizon)
            self.lag_s = max(0.0, ideal - s.run.now) / self.scale if s.run is run else 0.0
            for listener in list(self.listeners):
                try:
                    await listener()
                except Exception:
                    log.exception("realtime listener failed")
            await asyncio.sleep(self.tick_s)

    async def start(self) -> None:
        self._stop = False
        self.session.paced = self.scale
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        self._stop = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        self.session.paced = None


def attach_realtime(app, scale: float, session=None) -> Pacer:
    """Run the served session (or ``session``) by itself at ``scale`` x real time, started and
    stopped with the app; the MTConnect agent and the OPC UA server (if attached before) observe
    every tick."""
    svc = app.state.service
    session = session or served_session(app)
    pacer = Pacer(svc, session, scale)
    session.paced = pacer.scale
    app.state.realtime = pacer
    agent = getattr(app.state, "mtconnect", None)
    if agent is not None and agent.session is session:
        pacer.listeners.append(agent.update)
    ua = getattr(app.state, "opcua", None)
    if ua is not None and ua.session is session:
        pacer.listeners.append(ua.refresh)  # OPC UA values follow the running plant
    svc.on_start.append(pacer.start)
    svc.on_stop.insert(0, pacer.stop)
    return pacer
