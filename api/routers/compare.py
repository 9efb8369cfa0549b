"""Paired comparison of two scenarios on common random numbers (``twin.experiments.compare``),
replication by replication in the worker processes; the work stops when the client leaves."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ..deps import engine_for, parse_scenario_at_edge, service, unless_disconnected, writer
from ..errors import ErrorBody, StrictJSONRoute
from ..models import CompareRequest
from ..service import Service

router = APIRouter(prefix="/v1/compare", tags=["compare"], route_class=StrictJSONRoute)


class Cancelled(Exception):
    pass


class PoolExecutor:
    """A ``twin.experiments`` executor that runs one replication at a time in the server's worker
    processes (a comparison holds one place in the run queue, like a run) and stops at the next
    chunk of the running replication once :meth:`cancel` is called."""

    def __init__(self, svc: Service, cancel_dir: Path):
        self.svc = svc
        self.flag = threading.Event()
        cancel_dir.mkdir(parents=True, exist_ok=True)
        self.cancel_path = cancel_dir / f"{uuid.uuid4()}.cancel"

    def cancel(self) -> None:
        self.flag.set()
        try:
            self.cancel_path.touch()
        except OSError:
            pass

    def cleanup(self) -> None:
        self.cancel_path.unlink(missing_ok=True)

    def map(self, jobs: list[dict], progress=None):
        from twin.experiments import Outcome

        from ..worker import execute_replication

        out = []
        for j in jobs:
            if self.flag.is_set():
                raise Cancelled()
            fut = self.svc.pool.submit(execute_replication, j["body"], j["seed"], j["replication"], str(self.cancel_path), 50,
                                       self.svc.limits.step_stall_s, j.get("engine", "simpy"))
            while True:
                try:
                    r = fut.result(timeout=0.2)
                    break
                except TimeoutError:
                    if self.flag.is_set():
                        fut.cancel()
            if r.get("cancelled") or self.flag.is_set():
                raise Cancelled()
            out.append(Outcome(j["index"], j["seed"], j["replication"], r.get("kpis"), r.get("error"), r.get("elapsed_s", 0.0),
                               False, j.get("point") or {}))
            if progress:
                progress(len(out), len(jobs))
        return out


@router.post("", responses={429: {"model": ErrorBody, "description": "Workers busy; retry later",
                                  "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}}},
                            413: {"model": ErrorBody, "description": "A scenario above the size limit"},
                            200: {"content": {"application/json": {"schema": {"type": "object"}}},
                                  "description": "Per-KPI paired deltas with confidence intervals, gate verdicts"}})
async def compare(req: CompareRequest, request: Request, svc: Service = Depends(service), _=Depends(writer)):
    """Baseline vs candidate with common random numbers: per-KPI deltas with paired confidence
    intervals, the variance reduction from pairing, and a pass/fail verdict per gate. Holds one
    place in the run queue; if the client disconnects, the replications stop."""
    from twin.experiments import compare as paired, parse_gate

    gates = []
    for i, g in enumerate(req.gates):
        try:
            gates.append(parse_gate(g))
        except ValueError as e:
            raise HTTPException(422, detail=[{"path": f"gates[{i}]", "message": str(e)}])
    if not svc.runs_gate.try_acquire():
        raise HTTPException(429, detail="workers busy; retry later", headers={"Retry-After": "5"})
    released = False

    def release(_=None):
        nonlocal released
        if not released:
            released = True
            svc.runs_gate.release()

    try:
        b = await parse_scenario_at_edge(svc, req.baseline, prefix="baseline.")
        c = await parse_scenario_at_edge(svc, req.candidate, prefix="candidate.")
        if req.engine == "compiled":
            await run_in_threadpool(engine_for, b, "compiled", "engine")
            await run_in_threadpool(engine_for, c, "compiled", "engine")
        ex = PoolExecutor(svc, svc.store.data_dir / ".cancel")
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(None, lambda: paired(b, c, n=req.replications, conf=req.confidence, gates=gates, executor=ex, engine=req.engine))
    except BaseException:
        release()
        raise

    def finished(_):
        ex.cleanup()
        release()

    fut.add_done_callback(finished)  # the place is free once the last replication has stopped
    try:
        return await unless_disconnected(request, asyncio.shield(fut), on_leave=ex.cancel)
    except Cancelled:
        raise HTTPException(499, detail="client closed the request")
    finally:
        if not fut.done():
            ex.cancel()
