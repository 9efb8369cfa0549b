"""FastAPI dependencies shared by the routers: the service, the caller's identity and rights,
scenario parsing at the edge, and work that stops when its client leaves."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from .auth import ANONYMOUS, Identity
from .errors import field_error
from .service import Service

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


# the dependencies are coroutines: FastAPI would run plain functions in its thread pool, a thread
# hop (and a wait for the GIL) per dependency per request

async def service(request: Request) -> Service:
    return request.app.state.service


def identity(request: Request) -> Identity:
    """Who the caller is (set by the authentication middleware; refused if it is missing while
    identities are configured, whatever the route)."""
    ident = request.scope.get("twin.identity")
    if ident is None:
        if request.app.state.service.identities.enabled:
            raise HTTPException(401, detail="missing or unknown bearer token", headers=UNAUTHORIZED)
        return ANONYMOUS
    return ident


async def reader(request: Request) -> Identity:
    """Dependency of every read under /v1 (except health): an identity with the read right."""
    ident = identity(request)
    if not ident.can("read"):
        raise HTTPException(403, detail=f"identity {ident.name!r} has no read right")
    return ident


async def writer(request: Request) -> Identity:
    """Dependency of every write: an identity with the write right."""
    ident = identity(request)
    if not ident.can("write"):
        raise HTTPException(403, detail=f"identity {ident.name!r} has no write right (rights: {', '.join(sorted(ident.rights))})")
    return ident


def _parse(svc: Service, body: dict | None, scenario_id: str | None, seed: int | None, prefix: str = ""):
    from twin.scenario import ScenarioError, parse_scenario

    from .schema import schema_errors

    if body is None and scenario_id is None:
        raise field_error(prefix + "scenario", "give a scenario or a scenario_id")
    if body is not None and scenario_id is not None:
        raise field_error(prefix + "scenario_id", "give a scenario or a scenario_id, not both")
    if body is None:
        row = svc.store.get_scenario(scenario_id)
        if row is None:
            raise HTTPException(404, detail=f"no scenario {scenario_id!r}")
        body = row["body"]
    size = len(json.dumps(body))
    if size > svc.limits.max_scenario_bytes:
        raise HTTPException(413, detail=f"scenario of {size} bytes is larger than the server's limit of {svc.limits.max_scenario_bytes} bytes")
    try:
        sc = parse_scenario(body, seed=seed)
    except ScenarioError as e:
        raise HTTPException(422, detail=[{"path": prefix + p if p else prefix.rstrip(".") or p, "message": m} for p, m in e.errors])
    errs = schema_errors(body)
    if errs:  # accepted by the model but not by the published schema (e.g. "yes" for a boolean)
        raise HTTPException(422, detail=[{"path": prefix + p if p else prefix.rstrip("."), "message": m} for p, m in errs])
    if not (sc.horizon <= svc.limits.max_horizon_s):
        raise field_error(prefix + "horizon", f"{sc.horizon:g} s is above the server's limit of {svc.limits.max_horizon_s:.0f} s")
    if not 0 <= int(sc.seed) < 2**63:
        raise field_error(prefix + "seed", "must be >= 0 and < 2**63")
    return sc


async def parse_scenario_at_edge(svc: Service, body: dict | None, scenario_id: str | None = None, seed: int | None = None,
                                 prefix: str = ""):
    """Validate a scenario off the event loop: 404 for an unknown stored id, 413 above the size
    limit, 422 with field paths for anything wrong (model, schema, server limits)."""
    return await run_in_threadpool(_parse, svc, body, scenario_id, seed, prefix)


async def unless_disconnected(request: Request, work: Awaitable, on_leave=None, poll_s: float = 0.25) -> Any:
    """Await ``work``; if the client disconnects first, call ``on_leave()`` (to stop the work),
    cancel it and answer 499 (nobody reads the answer)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll_s)
            if done:
                return task.result()
            if await request.is_disconnected():
                if on_leave is not None:
                    on_leave()
                task.cancel()
                raise HTTPException(499, detail="client closed the request")
    finally:
        if not task.done():
            task.cancel()


def engine_for(sc, engine: str, path: str = "engine") -> tuple[str, list[str]]:
    """The engine that plays ``sc`` for a request's ``engine`` (simpy, compiled, auto) and, for
    auto, why not the compiled one; 422 at ``path`` naming every reason when ``compiled`` was
    asked for and the scenario does not fit."""
    from twin.compiled import EngineError, choose

    try:
        return choose(sc, engine)
    except EngineError as e:
        raise HTTPException(422, detail=[{"path": path, "message": f"the compiled engine cannot play this scenario: {r}"}
                                         for r in e.reasons] or [{"path": path, "message": str(e)}])
