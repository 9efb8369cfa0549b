"""Run execution in worker processes: progress and results go through the store, so the
server's event loop never waits on a simulation and a killed server loses nothing finished."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback


def init_worker(parent_pid: int, every_s: float = 0.5) -> None:
    """Pool initializer: the worker exits when the server process is gone, even if the server
    was killed outright (SIGKILL, OOM) and could not stop its workers. Without it, idle workers
    wait forever on their task queue, whose write end the sibling workers also hold.

    It also undoes the signal handlers the worker inherits from the server (uvicorn's SIGTERM
    handler only sets a flag, so a worker would ignore ``terminate()``), and leaves Ctrl-C,
    which a terminal sends to the whole process group, to the server."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch():
        while True:
            time.sleep(every_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="twin-watch-server", daemon=True).start()


def execute_run(db: str, data_dir: str, run_id: str, body: dict, seed: int, chunks: int = 50) -> str:
    from twin.engine import Run
    from twin.scenario import parse_scenario
    from twin.store import Store

    store = Store(db, data_dir=data_dir)
    try:
        row = store.get_run(run_id)
        if row is None or row["status"] == "cancelled":
            return "cancelled"
        store.start_run(run_id)
        run = Run(parse_scenario(body), seed=seed)
        last = time.monotonic()
        for k in range(1, chunks + 1):
            run.run_until(run.horizon * k / chunks)
            if time.monotonic() - last > 0.2 or k == chunks:
                last = time.monotonic()
                if store.get_run(run_id)["status"] == "cancelling":
                    store.fail_run(run_id, "cancelled by request", status="cancelled")
                    return "cancelled"
                store.update_run(run_id, progress=k / chunks)
        store.finish_run(run_id, run.result())
        return "done"
    except Exception as exc:  # recorded, never lost
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        return "failed"


def execute_compare(base: dict, cand: dict, replications: int, confidence: float, gates: list[str]) -> dict:
    """Paired comparison on common random numbers (twin.experiments.compare), in a worker."""
    from twin.experiments import compare, parse_gate
    from twin.scenario import parse_scenario

    b = parse_scenario(base)
    c = parse_scenario(cand, seed=b.seed)
    return compare(b, c, n=replications, conf=confidence, gates=[parse_gate(g) for g in gates])
