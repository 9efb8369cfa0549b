"""Run execution in worker processes: progress and results go through the store, so the
server's event loop never waits on a simulation and a killed server loses nothing finished.

Every status change a worker makes is a compare-and-set on the store's run state machine: a run
cancelled before it started is not started, a run another server recovered as interrupted is
not later flipped to done, and a cancel request is confirmed (``cancelled``) between chunks.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager

_stores: dict = {}
_job = {"watched": False, "active": False}


class _Interrupted(BaseException):
    """Raised in the worker's main thread (by SIGUSR1) when its job must stop at once."""


def _on_interrupt(signum, frame):
    if _job["active"]:
        raise _Interrupted()


@contextmanager
def _watch(should_stop, clock=None, stall_s: float = 60.0, every_s: float = 0.3):
    """While the block runs, a thread asks ``should_stop()`` every ``every_s`` and, if so,
    interrupts the main thread wherever it is: a cancel takes effect within a fraction of a
    second even when a single chunk of the simulation would never end. It also interrupts a
    simulation whose ``clock()`` (sim time) has not moved for ``stall_s`` of wall time (a loop
    of zero-duration events), setting ``_job["stalled"]``. Only in worker processes (where the
    SIGUSR1 handler is installed)."""
    _job["stalled"] = None
    if not _job["watched"]:
        yield
        return
    main = threading.main_thread().ident
    done = threading.Event()

    def loop():
        seen, since = None, time.monotonic()
        while not done.wait(every_s):
            try:
                if clock is not None:
                    now = clock()
                    if now != seen:
                        seen, since = now, time.monotonic()
                    elif time.monotonic() - since > stall_s:
                        _job["stalled"] = (f"the simulation made no progress for {stall_s:g} s of wall time at sim time "
                                           f"{now:g} s (zero-duration events in a loop?)")
                        signal.pthread_kill(main, signal.SIGUSR1)
                        return
                if should_stop():
                    signal.pthread_kill(main, signal.SIGUSR1)
                    return
            except Exception:  # the store is busy: ask again
                pass

    t = threading.Thread(target=loop, name="twin-watch-job", daemon=True)
    _job["active"] = True
    t.start()
    try:
        yield
    finally:
        _job["active"] = False
        done.set()
        t.join()


def _store(db: str, data_dir: str, owner: str | None):
    from twin.store import Store

    key = (db, data_dir, owner)
    if key not in _stores:
        _stores[key] = Store(db, data_dir=data_dir, owner=owner)
    return _stores[key]


def init_worker(parent_pid: int, db: str | None = None, data_dir: str | None = None, owner: str | None = None,
                every_s: float = 0.5) -> None:
    """Pool initializer: the worker exits when the server process is gone, even if the server
    was killed outright (SIGKILL, OOM) and could not stop its workers. Without it, idle workers
    wait forever on their task queue, whose write end the sibling workers also hold. Before it
    exits it ends the server's unfinished runs in the store (``interrupted``, or ``cancelled``
    for runs asked to stop), so a ``kill -9`` leaves no run looking alive.

    It also undoes the signal handlers the worker inherits from the server (uvicorn's SIGTERM
    handler only sets a flag, so a worker would ignore ``terminate()``), leaves Ctrl-C, which a
    terminal sends to the whole process group, to the server, and lowers its own priority
    (nice 10) so that runs never slow down the server's answers."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # batch simulations yield the CPU to the server's event loop (health, steps, pages)
        os.nice(10)
    except OSError:
        pass
    signal.signal(signal.SIGUSR1, _on_interrupt)
    _job["watched"] = True

    def watch():
        while True:
            time.sleep(every_s)
            if os.getppid() != parent_pid:
                if db is not None and owner is not None:
                    try:
                        _store(db, data_dir, owner).release_owned(owner, "the server was killed before the run finished")
                    except Exception:  # the store may be gone too; the next server recovers the runs
                        pass
                os._exit(1)

    threading.Thread(target=watch, name="twin-watch-server", daemon=True).start()


def warm() -> int:
    """A no-op task: submitting one per worker at start-up forks the workers early."""
    return os.getpid()


class _Compiled:
    """The compiled engine behind the SimPy engine's chunked interface (``now``, ``horizon``,
    ``run_until``, ``result``), so the worker plays both the same way. Its loop is numba code a
    signal cannot interrupt mid-chunk; it stops itself on a zero-time loop (``SimulationStalled``)."""

    def __init__(self, sc, seed: int, replication: int = 0):
        from twin.compiled import _Compiled as Loop
        from twin.engine import Run

        self.run = Run(sc, seed=seed, replication=replication, start=False)
        self.loop = Loop(self.run)
        self.horizon = self.run.horizon
        self.now = 0.0

    def run_until(self, t: float) -> None:
        self.loop.play(t)
        self.now = float(t)

    def result(self):
        return self.loop.finish()


def _player(body: dict, seed: int, engine: str, replication: int = 0):
    """A Run (SimPy engine) or its compiled stand-in for ``engine`` (simpy, compiled or auto)."""
    from twin.compiled import choose
    from twin.engine import Run
    from twin.scenario import parse_scenario

    sc = parse_scenario(body)
    which, why = choose(sc, engine)
    if which == "compiled":
        return _Compiled(sc, seed, replication)
    return Run(sc, seed=seed, replication=replication)


def execute_run(db: str, data_dir: str, run_id: str, body: dict, seed: int, owner: str | None = None, chunks: int = 50,
                stall_s: float = 60.0, engine: str = "simpy") -> str:

    store = _store(db, data_dir, owner)

    def stopped() -> str:
        if _job["stalled"]:
            store.fail_run(run_id, _job["stalled"])
            return "failed"
        status = store.status(run_id)
        if status == "cancelling":
            store.transition(run_id, "cancelled", ("cancelling",), error="cancelled by request")
            return "cancelled"
        return status or "missing"  # ended by someone else (recovered as interrupted)

    try:
        if not store.start_run(run_id):  # cancelled (or recovered) while it waited in the queue
            return store.status(run_id) or "missing"
        run = _player(body, seed, engine)
        last = time.monotonic()
        result = None
        with _watch(lambda: store.status(run_id) != "running", lambda: run.now, stall_s):
            try:
                for k in range(1, chunks + 1):
                    run.run_until(run.horizon * k / chunks)
                    if time.monotonic() - last > 0.2 or k == chunks:
                        last = time.monotonic()
                        if store.status(run_id) != "running":
                            break
                        store.set_progress(run_id, k / chunks)
                else:
                    result = run.result()
            except _Interrupted:
                pass
        if result is None:
            return stopped()
        return "done" if store.finish_run(run_id, result) is not None else (store.status(run_id) or "missing")
    except Exception as exc:  # recorded, never lost
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        return "failed"


def execute_replication(body: dict, seed: int, replication: int, cancel_path: str, chunks: int = 50, stall_s: float = 60.0,
                        engine: str = "simpy") -> dict:
    """One replication of a comparison: ``{"kpis"}`` or ``{"error"}``; stops between chunks
    (``{"cancelled": True}``) once ``cancel_path`` exists (the client went away)."""
    t = time.perf_counter()
    try:
        run = _player(body, seed, engine, replication)
        with _watch(lambda: os.path.exists(cancel_path), lambda: run.now, stall_s):
            try:
                for k in range(1, chunks + 1):
                    if os.path.exists(cancel_path):
                        return {"cancelled": True}
                    run.run_until(run.horizon * k / chunks)
                kpis = run.result().kpis
            except _Interrupted:
                if _job["stalled"]:
                    return {"error": _job["stalled"], "elapsed_s": time.perf_counter() - t}
                return {"cancelled": True}
        return {"kpis": kpis, "elapsed_s": time.perf_counter() - t}
    except Exception as exc:  # a failed replication is data, as in twin.experiments.run_one
        return {"error": f"{type(exc).__name__}: {exc}", "elapsed_s": time.perf_counter() - t}


def execute_forecast(body: dict, snapshot: dict, until: str, replications: int, level: float, seed: int | None) -> dict:
    """A forecast (``twin.live.forecast``) in a worker process: ``{"forecast"}``, or
    ``{"errors": [(path, message)]}`` for a snapshot or ``until`` the scenario cannot use."""
    from twin.live.forecast import forecast
    from twin.live.snapshot import SnapshotError
    from twin.scenario import parse_scenario

    try:
        return {"forecast": forecast(parse_scenario(body), snapshot, until, replications=replications, level=level,
                                     seed=seed).to_dict()}
    except SnapshotError as e:
        return {"errors": [("snapshot." + p if p else "snapshot", m) for p, m in e.errors]}
    except ValueError as e:  # parse_until
        return {"errors": [("until", str(e))]}
