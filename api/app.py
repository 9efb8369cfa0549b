"""HTTP API (FastAPI, versioned under /v1, OpenAPI at /openapi.json and /docs).

* scenarios: validate (422 with field paths), store, list, get;
* runs: start asynchronously in a bounded process pool (atomic admission, 429 when the queue is
  full), status with progress, cancel, KPIs, event logs as Parquet or paged JSON;
* lockstep sessions: create from a scenario, step by dt / until t / to the next event (the
  reply carries the new sim time and the tags that changed since the client's last reply),
  read tags, write commands (through ``twin.commands``, source = the caller's identity), close;
  idle sessions time out; a WebSocket per session streams the same step replies;
* ``GET /``: a monitoring page (plain HTML + a script file, no build step) driven by the
  session WebSocket.

Layout: :func:`create_app` builds a :class:`~twin.api.service.Service` (store, limits,
identities, worker processes, step threads, sessions) and includes one router per resource
(``twin.api.routers``). See ``docs/security.md`` for what is protected and how.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

import twin
from twin.memory import limit_malloc_arenas

from . import errors
from .auth import Identities
from .middleware import Authenticate, BodyLimit, SecurityHeaders
from .service import Limits, Service
from .sessions import Session

__all__ = ["create_app", "Limits", "Session"]


def create_app(db: str = "twin.db", tokens: list[str] | None = None, limits: Limits | None = None, workers: int | None = None,
               *, tokens_file: str | Path | None = None, identities: Identities | None = None, lease_s: float = 30.0) -> FastAPI:
    """The FastAPI application. ``tokens``: ``NAME=SECRET`` (or bare ``SECRET``) identities with
    read and write rights; ``tokens_file``: identities with rights (see :mod:`twin.api.auth`);
    none of them: an open server (everybody is ``anonymous``)."""
    from twin.registry import registry
    from twin.scenario import scenario_model
    from twin.store import Store, new_owner

    from . import schema
    from .routers import compare, forecast, pages, runs, scenarios, sessions

    limits = limits or Limits()
    limit_malloc_arenas()  # before the server's threads and workers exist
    identities = identities or Identities.load(tokens, tokens_file)
    # every kind is registered and the scenario model and schema are built before the first
    # request: requests parsed in parallel threads never see a half-loaded registry
    registry.ensure_loaded()
    scenario_model()
    schema.warm()
    store = Store(db, owner=new_owner(), lease_s=lease_s)
    recovered = store.recover()
    svc = Service(store, limits, identities, workers=workers, lease_s=lease_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await svc.start()
        try:
            yield
        finally:
            await svc.stop()

    app = FastAPI(title="twin", version=twin.__version__, lifespan=lifespan, default_response_class=errors.SafeJSONResponse,
                  description="Digital twin and automation testbed for metalworking lines. Errors answer "
                              "`{\"detail\": ...}`; a 422 lists `{path, message}` per wrong field.")
    errors.install(app)
    routers = (pages.router, scenarios.router, runs.router, sessions.router, compare.router, forecast.router)
    from .routers import line as line_view  # GET /v1/sessions/{id}/line: what the monitoring page draws
    routers += (line_view.router,)
    for r in routers:
        app.include_router(r)
    app.state.api_routes = [route for r in routers for route in r.routes]  # flat, whatever FastAPI nests
    app.add_middleware(Authenticate, identities=identities)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(SecurityHeaders)

    def openapi():
        if app.openapi_schema is None:
            app.openapi_schema = schema.build_openapi(app, secured=identities.enabled)
        return app.openapi_schema

    app.openapi = openapi
    app.state.service = svc
    app.state.store = store
    app.state.sessions = svc.sessions
    app.state.identities = identities
    app.state.interrupted_at_start = recovered
    return app
