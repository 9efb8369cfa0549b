"""Forecast from a plant snapshot (``twin.live.forecast``): expected output by a time with a
prediction interval, due-date risk per open order, the expected bottleneck."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from ..deps import parse_scenario_at_edge, service, unless_disconnected, writer
from ..errors import ErrorBody, StrictJSONRoute, field_error
from ..models import ForecastRequest
from ..service import Service

router = APIRouter(prefix="/v1/forecast", tags=["forecast"], route_class=StrictJSONRoute)


@router.post("", responses={429: {"model": ErrorBody, "description": "Workers busy; retry later",
                                  "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}}},
                            404: {"model": ErrorBody, "description": "No stored scenario with that id"},
                            413: {"model": ErrorBody, "description": "A scenario above the size limit"},
                            200: {"content": {"application/json": {"schema": {"type": "object"}}},
                                  "description": "output mean and prediction interval, quantiles, bottleneck, order risks"}})
async def forecast(req: ForecastRequest, request: Request, svc: Service = Depends(service), _=Depends(writer)):
    """Forecast the plant from ``snapshot`` to ``until`` over ``replications`` runs (the
    distribution-free interval of order statistics; ``coverage`` is its guaranteed level). Holds
    one place in the run queue and runs in a worker process; a snapshot the scenario cannot use
    is a 422 naming the field (``snapshot.stations.L1.state``)."""
    from .. import worker

    sc = await parse_scenario_at_edge(svc, req.scenario, req.scenario_id, req.seed)
    await run_in_threadpool(_check, svc, req)
    if not svc.runs_gate.try_acquire():
        raise HTTPException(429, detail="workers busy; retry later", headers={"Retry-After": "5"})
    try:
        fut = asyncio.get_running_loop().run_in_executor(
            svc.pool, worker.execute_forecast, sc.dump(), req.snapshot, req.until, req.replications, req.level, sc.seed)
    except BaseException:
        svc.runs_gate.release()
        raise
    fut.add_done_callback(lambda _: svc.runs_gate.release())
    out = await unless_disconnected(request, asyncio.shield(fut), on_leave=fut.cancel)
    if "errors" in out:
        raise HTTPException(422, detail=[{"path": p, "message": m} for p, m in out["errors"]])
    return out["forecast"]


def _check(svc: Service, req: ForecastRequest) -> None:
    """The snapshot's own fields and ``until`` before a worker is taken: the forecast reaches at
    most the server's longest horizon (its cost is ``replications`` runs of that length)."""
    from twin.live.forecast import parse_until
    from twin.live.snapshot import SnapshotError, parse_snapshot

    try:
        snap = parse_snapshot(req.snapshot)
    except SnapshotError as e:
        raise HTTPException(422, detail=[{"path": "snapshot." + p if p else "snapshot", "message": m} for p, m in e.errors])
    try:
        T = parse_until(req.until, snap.time)
    except ValueError as e:
        raise field_error("until", str(e))
    if T > svc.limits.max_horizon_s:
        raise field_error("until", f"{T:g} s ahead is above the server's limit of {svc.limits.max_horizon_s:.0f} s")
