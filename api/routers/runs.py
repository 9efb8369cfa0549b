"""Runs: start in the worker processes (atomic admission: 429 beyond ``workers + max_queue``),
status and progress, cancel (compare-and-set), KPIs, event logs and tables, a progress stream."""

from __future__ import annotations

import asyncio
import logging
import math
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path as FsPath
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, WebSocket
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from twin.store import STATUSES, TERMINAL

from ..deps import engine_for, parse_scenario_at_edge, reader, service, writer
from ..errors import ErrorBody, StrictJSONRoute
from ..models import CancelReply, Page, RunAccepted, RunRequest, RunRow, Tables
from ..service import Service
from ..ws import Channel

log = logging.getLogger("twin.api")
router = APIRouter(prefix="/v1/runs", tags=["runs"], route_class=StrictJSONRoute)
RunId = Path(min_length=1, max_length=64)
HIDDEN = ("owner", "lease_expires", "result_dir", "scenario_body", "kpis")
E404 = {"model": ErrorBody, "description": "No such run"}
E409 = {"model": ErrorBody, "description": "The run is not done (or, for cancel, already ended)"}
E429 = {"model": ErrorBody, "description": "Run queue full; retry later",
        "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}}}
PARQUET = "application/vnd.apache.parquet"


def _public(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in HIDDEN}


def _submit(svc: Service, rid: str, body: dict, seed: int, engine: str = "simpy"):
    from .. import worker

    loop = asyncio.get_running_loop()
    args = (worker.execute_run, svc.store.url, str(svc.store.data_dir), rid, body, seed, svc.store.owner, 50, svc.limits.step_stall_s,
            engine)
    try:
        return loop.run_in_executor(svc.pool, *args)
    except (BrokenProcessPool, RuntimeError):  # a worker died (OOM, kill): start a fresh pool once
        svc.stop_pool()
        svc.start_pool()
        return loop.run_in_executor(svc.pool, *args)


def _finished(svc: Service, rid: str, fut) -> None:
    svc.active_runs.pop(rid, None)
    svc.runs_gate.release()
    if fut.cancelled() or svc.stopping:  # a stopping server ends its runs as interrupted itself
        return
    exc = fut.exception()
    if exc is not None:  # the worker process died under the run: say so, never leave it running
        log.error("worker for run %s died: %r", rid, exc)
        asyncio.get_running_loop().run_in_executor(None, svc.store.fail_run, rid,
                                                   f"the worker process died ({type(exc).__name__}: {exc})")


@router.post("", status_code=202, response_model=RunAccepted,
             responses={404: {"model": ErrorBody, "description": "No stored scenario with that id"}, 429: E429})
async def start_run(req: RunRequest, svc: Service = Depends(service), _=Depends(writer)):
    """Start a run of a scenario (inline or stored) in a worker process; poll its status or
    follow ``WS /v1/runs/{id}/ws``."""
    if not svc.runs_gate.try_acquire():
        raise HTTPException(429, detail="run queue full; retry later", headers={"Retry-After": "5"})
    try:
        sc = await parse_scenario_at_edge(svc, req.scenario, req.scenario_id, req.seed)
        which, why = await run_in_threadpool(engine_for, sc, req.engine)
        body = sc.dump()
        rid = await run_in_threadpool(svc.store.create_run, body, sc.seed, 0, scenario_id=req.scenario_id)
        fut = _submit(svc, rid, body, sc.seed, which)
    except BaseException:
        svc.runs_gate.release()
        raise
    svc.active_runs[rid] = fut
    fut.add_done_callback(lambda f, rid=rid: _finished(svc, rid, f))
    return {"id": rid, "status": "queued", "engine": which, "engine_reasons": why}


@router.get("", response_model=list[RunRow])
def list_runs(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000_000),
              status: Literal[STATUSES] | None = None,  # type: ignore[valid-type]
              svc: Service = Depends(service), _=Depends(reader)):
    return [_public(r) for r in svc.store.list_runs(limit, offset, status=status)]


def _row(svc: Service, rid: str) -> dict:
    row = svc.store.get_run(rid)
    if row is None:
        raise HTTPException(404, detail=f"no run {rid!r}")
    return row


def _done_row(svc: Service, rid: str) -> dict:
    row = _row(svc, rid)
    if row["status"] != "done":
        raise HTTPException(409, detail=f"run is {row['status']}")
    return row


@router.get("/{rid}", response_model=RunRow, responses={404: E404})
def get_run(rid: str = RunId, svc: Service = Depends(service), _=Depends(reader)):
    return _public(_row(svc, rid))


async def _cancel(svc: Service, rid: str) -> dict:
    status = await run_in_threadpool(svc.store.request_cancel, rid)
    if status is None:
        raise HTTPException(404, detail=f"no run {rid!r}")
    if status in TERMINAL and status != "cancelled":
        raise HTTPException(409, detail=f"run is {status}")
    fut = svc.active_runs.get(rid)
    if status == "cancelled" and fut is not None:
        fut.cancel()  # still waiting for a worker: free its place in the queue now
    return {"id": rid, "status": status}


@router.post("/{rid}/cancel", status_code=202, response_model=CancelReply, responses={404: E404, 409: E409})
async def cancel_run(rid: str = RunId, svc: Service = Depends(service), _=Depends(writer)):
    """Ask a run to stop: a queued run is ``cancelled`` at once, a running one becomes
    ``cancelling`` until its worker confirms (``cancelled``; ``done`` if it finished first)."""
    return await _cancel(svc, rid)


@router.delete("/{rid}", status_code=202, response_model=CancelReply, include_in_schema=False)
async def cancel_run_alias(rid: str = RunId, svc: Service = Depends(service), _=Depends(writer)):
    """Deprecated alias of ``POST /v1/runs/{id}/cancel`` (the run is kept, so it is no DELETE)."""
    return await _cancel(svc, rid)


@router.get("/{rid}/kpis", responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}, "description": "The KPIs"},
                                      404: E404, 409: E409})
def run_kpis(rid: str = RunId, svc: Service = Depends(service), _=Depends(reader)):
    status, text = svc.store.run_kpis_json(rid)
    if status is None:
        raise HTTPException(404, detail=f"no run {rid!r}")
    if status != "done":
        raise HTTPException(409, detail=f"run is {status}")
    return Response(content=text, media_type="application/json")


TABLE_RESPONSES = {200: {"content": {PARQUET: {"schema": {"type": "string", "format": "binary"}}},
                         "description": "A page of rows (JSON) or the whole table (Parquet)"},
                   404: E404, 409: E409}


def _page(path: FsPath, offset: int, limit: int) -> dict:
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path)
    t = pq.read_table(path).slice(offset, limit)
    rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in t.to_pylist()]
    return {"total": meta.num_rows, "offset": offset, "limit": limit, "rows": rows}


@router.get("/{rid}/events", response_model=Page, responses=TABLE_RESPONSES)
def run_events(rid: str = RunId, format: Literal["json", "parquet"] = "json", offset: int = Query(0, ge=0, le=1_000_000_000),
               limit: int = Query(1000, ge=1, le=100000), svc: Service = Depends(service), _=Depends(reader)):
    """The state log of a finished run, paged as JSON or whole as Parquet."""
    path = FsPath(_done_row(svc, rid)["result_dir"]) / "events.parquet"
    if format == "parquet":
        return FileResponse(path, media_type=PARQUET, filename=f"{rid}-events.parquet")
    return _page(path, offset, limit)


@router.get("/{rid}/tables", response_model=Tables, responses={404: E404, 409: E409})
def run_tables(rid: str = RunId, svc: Service = Depends(service), _=Depends(reader)):
    """The tables of a finished run: event logs plus what the process models recorded
    (``physics_<station>``, ``signals_<station>``, ``pools``, transports of AGV fleets)."""
    import pyarrow.parquet as pq

    out = {}
    for f in sorted(FsPath(_done_row(svc, rid)["result_dir"]).glob("*.parquet")):
        out[f.stem] = {"rows": pq.read_metadata(f).num_rows, "columns": pq.read_schema(f).names}
    return {"tables": out}


@router.get("/{rid}/tables/{name}", response_model=Page, responses=TABLE_RESPONSES)
def run_table(rid: str = RunId, name: str = Path(min_length=1, max_length=200), format: Literal["json", "parquet"] = "json",
              offset: int = Query(0, ge=0, le=1_000_000_000), limit: int = Query(1000, ge=1, le=100000),
              svc: Service = Depends(service), _=Depends(reader)):
    files = {f.stem: f for f in FsPath(_done_row(svc, rid)["result_dir"]).glob("*.parquet")}
    if name not in files:
        raise HTTPException(404, detail=f"run {rid} has no table {name!r} (tables: {', '.join(sorted(files))})")
    if format == "parquet":
        return FileResponse(files[name], media_type=PARQUET, filename=f"{rid}-{name}.parquet")
    return _page(files[name], offset, limit)


@router.websocket("/{rid}/ws")
async def run_ws(ws: WebSocket, rid: str):
    """Progress of a run as it executes in a worker, then its KPIs: messages
    ``{status, progress}`` on every change and a final ``{status: done, kpis}``. Authenticate
    with an ``Authorization`` header or a first message ``{"token": SECRET}``."""
    svc: Service = ws.app.state.service
    ch = Channel(ws, svc)
    if await ch.open("read") is None:
        return
    last = None
    try:
        while True:
            row = await asyncio.to_thread(svc.store.get_run, rid)
            if row is None:
                await ch.close(4404, f"no run {rid!r}")
                return
            cur = (row["status"], row["progress"])
            if cur != last:
                msg = {"status": row["status"], "progress": row["progress"]}
                if row["status"] == "done":
                    msg["kpis"] = row["kpis"]
                if row["status"] in TERMINAL and row.get("error"):
                    msg["error"] = row["error"].splitlines()[0][:500]
                if not await ch.send(msg):
                    return
                last = cur
            if row["status"] in TERMINAL:
                break
            await asyncio.sleep(0.2)
        await ch.close(1000, "run ended")
    finally:
        ch.done()
