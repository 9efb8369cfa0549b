"""Scenarios: validate (422 with field paths), store, list, get."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from starlette.concurrency import run_in_threadpool

from ..deps import parse_scenario_at_edge, reader, service, writer
from ..errors import ErrorBody, StrictJSONRoute
from ..models import ScenarioBody, ScenarioFull, ScenarioRow, StoredScenario, Validated
from ..service import Service

router = APIRouter(prefix="/v1/scenarios", tags=["scenarios"], route_class=StrictJSONRoute)
E404 = {404: {"model": ErrorBody, "description": "No such scenario"}}
E413 = {413: {"model": ErrorBody, "description": "Scenario above the server's size limit"}}
ScenarioId = Path(min_length=1, max_length=64)


@router.post("/validate", response_model=Validated, responses=E413)
async def validate(body: ScenarioBody, svc: Service = Depends(service), _=Depends(reader)):
    """Check a scenario without storing it: the resolved scenario (SI numbers), or a 422 naming
    every field that is wrong."""
    sc = await parse_scenario_at_edge(svc, body.scenario)
    return {"valid": True, "name": sc.name, "stations": list(sc.stations), "buffers": list(sc.buffers), "resolved": sc.dump()}


@router.post("", status_code=201, response_model=StoredScenario, responses=E413)
async def store_scenario(body: ScenarioBody, svc: Service = Depends(service), _=Depends(writer)):
    sc = await parse_scenario_at_edge(svc, body.scenario)
    name = body.name or sc.name
    sid = await run_in_threadpool(svc.store.put_scenario, name[:200], sc.dump())
    return {"id": sid, "name": name[:200]}


@router.get("", response_model=list[ScenarioRow])
def list_scenarios(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000_000),
                   svc: Service = Depends(service), _=Depends(reader)):
    return svc.store.list_scenarios(limit, offset)


@router.get("/{sid}", response_model=ScenarioFull, responses=E404)
def get_scenario(sid: str = ScenarioId, svc: Service = Depends(service), _=Depends(reader)):
    row = svc.store.get_scenario(sid)
    if row is None:
        raise HTTPException(404, detail=f"no scenario {sid!r}")
    return row
