"""HTTP API (FastAPI, versioned under /v1, OpenAPI at /docs).

* scenarios: validate (422 with field paths), store, list, get;
* runs: start asynchronously in a bounded process pool (429 when the queue is full), status
  with progress, cancel, KPIs, event logs as Parquet or paged JSON;
* lockstep sessions: create from a scenario, step by dt / until t / to the next event (the
  reply carries the new sim time and the tags that changed), read tags, write commands
  (through ``twin.commands``), close; idle sessions time out; a WebSocket per session streams
  the same step replies;
* ``GET /``: a monitoring page (plain HTML + JS, no build step) driven by the session WebSocket.

Writes need a bearer token when tokens are configured. Uploaded scenarios are data (JSON/YAML
parsed by pydantic), never code. Limits: scenario size, horizon, concurrent runs, sessions.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

import twin
from twin.commands import CommandError, apply_command
from twin.scenario import ScenarioError, parse_scenario
from twin.store import Store

STATIC = Path(__file__).parent / "static"


@dataclass
class Limits:
    max_scenario_bytes: int = 1_000_000
    max_horizon_s: float = 366 * 86400.0
    max_running: int = 2
    max_queued: int = 8
    max_sessions: int = 32
    session_idle_s: float = 900.0


class ScenarioBody(BaseModel):
    scenario: dict[str, Any] = Field(description="the scenario as JSON (same schema as the files)")
    name: str | None = None


class RunRequest(BaseModel):
    scenario: dict[str, Any] | None = None
    scenario_id: str | None = None
    seed: int | None = Field(default=None, ge=0)


class CompareRequest(BaseModel):
    baseline: dict[str, Any]
    candidate: dict[str, Any]
    replications: int = Field(default=10, ge=2, le=50)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    gates: list[str] = Field(default_factory=list, description="e.g. 'oee >= -0.5pt', 'throughput_per_hour >= -2%'")


class SessionRequest(BaseModel):
    scenario: dict[str, Any] | None = None
    scenario_id: str | None = None
    seed: int | None = Field(default=None, ge=0)


class StepRequest(BaseModel):
    dt: float | None = Field(default=None, ge=0, description="advance by this many seconds")
    until: float | None = Field(default=None, ge=0, description="advance to this sim time")
    event: bool = Field(default=False, description="advance to the next event time")


class CommandRequest(BaseModel):
    command: str
    target: str = ""
    value: Any = None
    source: str = "api"


@dataclass
class Session:
    id: str
    run: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)


def _scenario_error(exc: ScenarioError) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": exc.as_dicts()})


def create_app(db: str = "twin.db", tokens: list[str] | None = None, limits: Limits | None = None, workers: int | None = None) -> FastAPI:
    limits = limits or Limits()
    store = Store(db)
    interrupted = store.mark_interrupted()
    from .worker import init_worker

    pool = ProcessPoolExecutor(max_workers=workers or limits.max_running, initializer=init_worker, initargs=(os.getpid(),))
    sessions: dict[str, Session] = {}
    active: dict[str, Any] = {}
    app = FastAPI(title="twin", version=twin.__version__, description="Digital twin and automation testbed for metalworking lines")
    app.state.store = store
    app.state.sessions = sessions
    app.state.interrupted_at_start = interrupted

    def need_token(authorization: str | None = Header(default=None)):
        if not tokens:
            return
        if not authorization or not authorization.startswith("Bearer ") or authorization[7:] not in tokens:
            raise HTTPException(status_code=401, detail="missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})

    def parse(body: dict | None, scenario_id: str | None, seed: int | None = None):
        if body is None and scenario_id is None:
            raise HTTPException(422, detail=[{"path": "scenario", "message": "give a scenario or a scenario_id"}])
        if body is None:
            row = store.get_scenario(scenario_id)
            if row is None:
                raise HTTPException(404, detail=f"no scenario {scenario_id!r}")
            body = row["body"]
        if len(json.dumps(body)) > limits.max_scenario_bytes:
            raise HTTPException(413, detail=f"scenario larger than {limits.max_scenario_bytes} bytes")
        sc = parse_scenario(body, seed=seed)
        if sc.horizon > limits.max_horizon_s:
            raise HTTPException(422, detail=[{"path": "horizon", "message": f"above the server's limit of {limits.max_horizon_s:.0f} s"}])
        return sc

    @app.exception_handler(ScenarioError)
    async def _scen(request: Request, exc: ScenarioError):
        return _scenario_error(exc)

    # ---- pages -----------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/v1/health")
    def health():
        return {"status": "ok", "version": twin.__version__, "sessions": len(sessions), "runs_active": len(active)}

    # ---- scenarios -------------------------------------------------------------------------------
    @app.post("/v1/scenarios/validate")
    def validate(body: ScenarioBody):
        sc = parse(body.scenario, None)
        return {"valid": True, "name": sc.name, "stations": list(sc.stations), "buffers": list(sc.buffers), "resolved": sc.dump()}

    @app.post("/v1/scenarios", status_code=201, dependencies=[Depends(need_token)])
    def store_scenario(body: ScenarioBody):
        sc = parse(body.scenario, None)
        sid = store.put_scenario(body.name or sc.name, sc.dump())
        return {"id": sid, "name": body.name or sc.name}

    @app.get("/v1/scenarios")
    def list_scenarios(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000_000)):
        return store.list_scenarios(limit, offset)

    @app.get("/v1/scenarios/{sid}")
    def get_scenario(sid: str):
        row = store.get_scenario(sid)
        if row is None:
            raise HTTPException(404, detail=f"no scenario {sid!r}")
        return row

    # ---- runs ------------------------------------------------------------------------------------
    @app.post("/v1/runs", status_code=202, dependencies=[Depends(need_token)])
    async def start_run(req: RunRequest):
        sc = await asyncio.to_thread(parse, req.scenario, req.scenario_id, req.seed)
        if len(active) >= limits.max_running + limits.max_queued:
            raise HTTPException(429, detail="run queue full; retry later", headers={"Retry-After": "5"})
        body = sc.dump()
        rid = await asyncio.to_thread(store.create_run, body, sc.seed, 0, scenario_id=req.scenario_id)
        from .worker import execute_run

        fut = asyncio.get_running_loop().run_in_executor(pool, execute_run, store.url, str(store.data_dir), rid, body, sc.seed)
        active[rid] = fut
        fut.add_done_callback(lambda f, rid=rid: active.pop(rid, None))
        return {"id": rid, "status": "queued"}

    @app.get("/v1/runs")
    def list_runs(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=1_000_000_000), status: str | None = None):
        return store.list_runs(limit, offset, status=status)

    def _run_row(rid: str) -> dict:
        row = store.get_run(rid)
        if row is None:
            raise HTTPException(404, detail=f"no run {rid!r}")
        return row

    @app.get("/v1/runs/{rid}")
    def get_run(rid: str):
        row = _run_row(rid)
        row.pop("scenario_body", None)
        row.pop("kpis", None)
        return row

    @app.delete("/v1/runs/{rid}", dependencies=[Depends(need_token)])
    def cancel_run(rid: str):
        row = _run_row(rid)
        if row["status"] in ("done", "failed", "cancelled", "interrupted"):
            raise HTTPException(409, detail=f"run is {row['status']}")
        fut = active.get(rid)
        if row["status"] == "queued" and fut is not None and fut.cancel():
            store.fail_run(rid, "cancelled before start", status="cancelled")
        else:
            store.update_run(rid, status="cancelling")
        return {"id": rid, "status": store.get_run(rid)["status"]}

    @app.get("/v1/runs/{rid}/kpis")
    def run_kpis(rid: str):
        status, text = store.run_kpis_json(rid)
        if status is None:
            raise HTTPException(404, detail=f"no run {rid!r}")
        if status != "done":
            raise HTTPException(409, detail=f"run is {status}")
        return Response(content=text, media_type="application/json")

    @app.get("/v1/runs/{rid}/events")
    def run_events(rid: str, format: Literal["json", "parquet"] = "json", offset: int = Query(0, ge=0, le=1_000_000_000), limit: int = Query(1000, ge=1, le=100000)):
        row = _run_row(rid)
        if row["status"] != "done":
            raise HTTPException(409, detail=f"run is {row['status']}")
        path = Path(row["result_dir"]) / "events.parquet"
        if format == "parquet":
            return FileResponse(path, media_type="application/vnd.apache.parquet", filename=f"{rid}-events.parquet")
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        page = t.slice(offset, limit).to_pylist()
        return {"total": t.num_rows, "offset": offset, "limit": limit, "rows": page}

    @app.get("/v1/runs/{rid}/tables")
    def run_tables(rid: str):
        """The tables of a finished run: event logs plus what the process models recorded
        (``physics_<station>``, ``signals_<station>``, ``pools``, transports of AGV fleets)."""
        row = _run_row(rid)
        if row["status"] != "done":
            raise HTTPException(409, detail=f"run is {row['status']}")
        import pyarrow.parquet as pq

        out = {}
        for f in sorted(Path(row["result_dir"]).glob("*.parquet")):
            out[f.stem] = {"rows": pq.read_metadata(f).num_rows, "columns": pq.read_schema(f).names}
        return {"tables": out}

    @app.get("/v1/runs/{rid}/tables/{name}")
    def run_table(rid: str, name: str, format: Literal["json", "parquet"] = "json", offset: int = Query(0, ge=0, le=1_000_000_000),
                  limit: int = Query(1000, ge=1, le=100000)):
        row = _run_row(rid)
        if row["status"] != "done":
            raise HTTPException(409, detail=f"run is {row['status']}")
        files = {f.stem: f for f in Path(row["result_dir"]).glob("*.parquet")}
        if name not in files:
            raise HTTPException(404, detail=f"run {rid} has no table {name!r} (tables: {', '.join(sorted(files))})")
        if format == "parquet":
            return FileResponse(files[name], media_type="application/vnd.apache.parquet", filename=f"{rid}-{name}.parquet")
        import math

        import pyarrow.parquet as pq

        t = pq.read_table(files[name]).slice(offset, limit)
        rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in t.to_pylist()]
        return {"total": pq.read_metadata(files[name]).num_rows, "offset": offset, "limit": limit, "rows": rows}

    # ---- compare ----------------------------------------------------------------------------------
    @app.post("/v1/compare", dependencies=[Depends(need_token)])
    async def compare(req: CompareRequest):
        """Baseline vs candidate with common random numbers: per-KPI deltas with paired confidence
        intervals, the variance reduction from pairing, and a pass/fail verdict per gate."""
        from twin.experiments import parse_gate

        for i, g in enumerate(req.gates):
            try:
                parse_gate(g)
            except ValueError as e:
                raise HTTPException(422, detail=[{"path": f"gates[{i}]", "message": str(e)}])
        b = await asyncio.to_thread(parse, req.baseline, None)
        c = await asyncio.to_thread(parse, req.candidate, None)
        if len(active) >= limits.max_running + limits.max_queued:
            raise HTTPException(429, detail="workers busy; retry later", headers={"Retry-After": "5"})
        from .worker import execute_compare

        fut = asyncio.get_running_loop().run_in_executor(pool, execute_compare, b.dump(), c.dump(), req.replications,
                                                         req.confidence, list(req.gates))
        key = f"compare:{uuid.uuid4()}"
        active[key] = fut
        try:
            return await fut
        finally:
            active.pop(key, None)

    # ---- lockstep sessions ---------------------------------------------------------------------------
    def _session(sid: str) -> Session:
        s = sessions.get(sid)
        if s is None:
            raise HTTPException(404, detail=f"no session {sid!r} (closed or timed out)")
        s.last_used = time.monotonic()
        return s

    @app.post("/v1/sessions", status_code=201, dependencies=[Depends(need_token)])
    def create_session(req: SessionRequest):
        if len(sessions) >= limits.max_sessions:
            raise HTTPException(429, detail="too many sessions")
        sc = parse(req.scenario, req.scenario_id, req.seed)
        sid = str(uuid.uuid4())
        sessions[sid] = Session(sid, twin.Run(sc))
        run = sessions[sid].run
        return {"id": sid, "sim_time": run.now, "horizon": run.horizon, "tags": run.tags()}

    def do_step(s: Session, req: StepRequest) -> dict:
        with s.lock:
            run = s.run
            t0 = time.perf_counter()
            if req.event:
                changed = run.step_event()
            elif req.until is not None:
                before = run.observed_tags()
                run.run_until(req.until)
                changed = {k: v for k, v in run.observed_tags().items() if before.get(k) != v}
            else:
                changed = run.step(req.dt or 0.0)
            return {"sim_time": run.now, "finished": run.finished, "changed": changed, "wall_ms": (time.perf_counter() - t0) * 1e3}

    @app.post("/v1/sessions/demo", status_code=201, dependencies=[Depends(need_token)])
    def demo_session():
        """A session of the bundled example shaft line (used by the monitoring page)."""
        path = Path(twin.__file__).resolve().parent.parent / "examples" / "shaft_line.yaml"
        if not path.exists():
            raise HTTPException(404, detail="the example scenario is not installed")
        out = create_session(SessionRequest(scenario=twin.scenario.load_data(path)))
        run = sessions[out["id"]].run
        run.run_until(6 * 3600.0)  # the example starts Monday 00:00; show it from the first shift on
        out.update(sim_time=run.now, tags=run.tags())
        return out

    @app.post("/v1/sessions/{sid}/step", dependencies=[Depends(need_token)])
    def step(sid: str, req: StepRequest):
        return do_step(_session(sid), req)

    @app.get("/v1/sessions/{sid}/tags")
    def tags(sid: str, prefix: str | None = None):
        s = _session(sid)
        with s.lock:
            t = s.run.observed_tags()
        return {k: v for k, v in t.items() if prefix is None or k.startswith(prefix)}

    @app.post("/v1/sessions/{sid}/commands", dependencies=[Depends(need_token)])
    def command(sid: str, req: CommandRequest):
        s = _session(sid)
        with s.lock:
            try:
                return apply_command(s.run, req.model_dump())
            except CommandError as e:
                raise HTTPException(422, detail=[{"path": "command", "message": str(e)}])

    @app.get("/v1/sessions/{sid}/commands")
    def command_log(sid: str):
        s = _session(sid)
        keys = ("t", "source", "target", "command", "value", "accepted", "message")
        return [dict(zip(keys, r)) for r in s.run.command_log.rows]

    @app.get("/v1/sessions/{sid}/kpis")
    def session_kpis(sid: str):
        s = _session(sid)
        with s.lock:
            if s.run.now <= s.run.warmup:
                raise HTTPException(409, detail="still in warm-up")
            run = s.run
            from twin.result import Result

            return Result.from_run(run, until=run.now).kpis  # KPIs of the period simulated so far

    @app.delete("/v1/sessions/{sid}", dependencies=[Depends(need_token)])
    def close_session(sid: str):
        _session(sid)
        sessions.pop(sid, None)
        return {"id": sid, "closed": True}

    @app.websocket("/v1/runs/{rid}/ws")
    async def run_ws(ws: WebSocket, rid: str):
        """Progress of a run as it executes in a worker, then its KPIs: messages
        ``{status, progress}`` on every change and a final ``{status: done, kpis}``."""
        await ws.accept()
        last = None
        try:
            while True:
                row = await asyncio.to_thread(store.get_run, rid)
                if row is None:
                    await ws.send_json({"error": f"no run {rid!r}"})
                    break
                cur = (row["status"], row["progress"])
                if cur != last:
                    msg = {"status": row["status"], "progress": row["progress"]}
                    if row["status"] == "done":
                        msg["kpis"] = row["kpis"]
                    await ws.send_json(msg)
                    last = cur
                if row["status"] in ("done", "failed", "cancelled", "interrupted"):
                    break
                await asyncio.sleep(0.2)
            await ws.close()
        except WebSocketDisconnect:
            return

    @app.websocket("/v1/sessions/{sid}/ws")
    async def session_ws(ws: WebSocket, sid: str):
        """Send ``{"dt": 60}``, ``{"until": t}``, ``{"event": true}`` or ``{"command": ...}``;
        each message is answered with the step reply (sim time, changed tags) or the command
        result. ``{"realtime": scale, "dt": 1}`` streams steps paced at ``scale`` x wall clock
        and reports lag and jitter, until a ``{"stop": true}``."""
        if tokens:
            tok = ws.query_params.get("token")
            if tok not in tokens:
                await ws.close(code=4401)
                return
        s = sessions.get(sid)
        if s is None:
            await ws.close(code=4404)
            return
        await ws.accept()
        await ws.send_json({"sim_time": s.run.now, "changed": s.run.tags(), "initial": True})
        try:
            while True:
                msg = await ws.receive_json()
                s.last_used = time.monotonic()
                if "command" in msg:
                    try:
                        with s.lock:
                            reply = apply_command(s.run, {k: msg.get(k) for k in ("command", "target", "value")} | {"source": msg.get("source", "ws")})
                    except CommandError as e:
                        reply = {"accepted": False, "message": str(e)}
                    await ws.send_json(reply)
                elif "realtime" in msg:
                    await _realtime(ws, s, float(msg["realtime"]), float(msg.get("dt", 1.0)), int(msg.get("steps", 100)))
                else:
                    req = StepRequest(**{k: msg[k] for k in ("dt", "until", "event") if k in msg})
                    await ws.send_json(do_step(s, req))
        except WebSocketDisconnect:
            return

    async def _realtime(ws: WebSocket, s: Session, scale: float, dt: float, steps: int):
        if scale <= 0 or dt <= 0:
            await ws.send_json({"error": "realtime scale and dt must be > 0"})
            return
        period = dt / scale
        start = time.perf_counter()
        lags = []
        for k in range(1, steps + 1):
            target = start + k * period
            await asyncio.sleep(max(0.0, target - time.perf_counter()))
            lag = time.perf_counter() - target
            lags.append(lag)
            reply = do_step(s, StepRequest(dt=dt))
            reply["lag_ms"] = lag * 1e3
            await ws.send_json(reply)
            if reply["finished"]:
                break
        import statistics

        await ws.send_json({"realtime_done": True, "steps": len(lags), "lag_mean_ms": statistics.fmean(lags) * 1e3,
                            "jitter_ms": (statistics.pstdev(lags) * 1e3) if len(lags) > 1 else 0.0})

    async def reaper():
        while True:
            await asyncio.sleep(min(30.0, limits.session_idle_s / 2))
            now = time.monotonic()
            for sid, s in list(sessions.items()):
                if now - s.last_used > limits.session_idle_s:
                    sessions.pop(sid, None)

    @app.on_event("startup")
    async def _start():
        app.state.reaper = asyncio.create_task(reaper())

    @app.on_event("shutdown")
    async def _stop():
        """Stop the workers now (a simulation can run for minutes) and mark this server's unfinished
        runs ``interrupted``: results are written atomically, so a stopped run leaves nothing half-saved."""
        app.state.reaper.cancel()
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.join(timeout=2)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=2)
        for rid in list(active):
            row = store.get_run(rid)
            if row is not None and row["status"] in ("queued", "running", "cancelling"):
                store.fail_run(rid, "the server stopped before the run finished", status="interrupted")

    return app
