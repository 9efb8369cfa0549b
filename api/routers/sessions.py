"""Lockstep sessions: create (from a scenario, a stored scenario or the bundled example), step,
read tags, write commands (source = the caller's identity), KPIs so far, close; a WebSocket
per session streams the same step replies and realtime runs."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from pathlib import Path as FsPath

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

import twin
from twin.commands import CommandError

from .. import eager
from ..auth import Identity
from ..commands import command_error_detail
from ..deps import parse_scenario_at_edge, reader, service, unless_disconnected, writer
from ..errors import ErrorBody, StrictJSONRoute, field_error
from ..models import (Closed, CommandLogRow, CommandReply, CommandRequest, RealtimeRequest, RestoreRequest, SessionCreated,
                      SessionInfo, SessionRequest, StepReply, StepRequest, StopRequest)
from ..service import Service, SessionLimit
from ..sessions import Cancel, Session, StepError
from ..ws import Channel

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], route_class=StrictJSONRoute)
SessionId = Path(min_length=1, max_length=64)
E404 = {404: {"model": ErrorBody, "description": "No such session (closed or timed out)"}}
E429 = {429: {"model": ErrorBody, "description": "Too many sessions"}}
EXAMPLE = FsPath(twin.__file__).resolve().parent.parent / "examples" / "shaft_line.yaml"


def _session(svc: Service, sid: str) -> Session:
    s = svc.sessions.get(sid)
    if s is None or s.closed:
        raise HTTPException(404, detail=f"no session {sid!r} (closed or timed out)")
    s.touch()
    return s


def _client(ident: Identity) -> str:
    return f"http:{ident.name}"


def _reserve(svc: Service) -> None:
    """One of the session places, or 429."""
    try:
        svc.reserve_session()
    except SessionLimit:
        raise HTTPException(429, detail=f"too many sessions (limit {svc.limits.max_sessions}); close one or retry later",
                            headers={"Retry-After": "30"})


async def _create(svc: Service, sc, ident: Identity, kind: str, warm_until: float = 0.0) -> Session:
    _reserve(svc)
    try:
        def build():
            run = twin.Run(sc)
            if warm_until:
                run.run_until(warm_until)
            return run

        run = await asyncio.get_running_loop().run_in_executor(svc.step_pool, build)
    except BaseException:
        svc.unreserve_session()
        raise
    return svc.add_session(run, owner=ident.name, kind=kind, scenario=sc, seed=sc.seed)


async def _created(svc: Service, s: Session, ident: Identity) -> dict:
    tags = await s.snapshot(svc.step_pool, _client(ident))
    return {"id": s.id, "sim_time": s.run.now, "horizon": s.run.horizon, "tags": tags}


@router.post("", status_code=201, response_model=SessionCreated, responses={**E429, 404: {"model": ErrorBody, "description": "No stored scenario with that id"}})
async def create_session(req: SessionRequest, svc: Service = Depends(service), ident: Identity = Depends(writer)):
    """A lockstep session of a scenario (inline or stored); idle sessions close after
    ``session_idle_s``."""
    sc = await parse_scenario_at_edge(svc, req.scenario, req.scenario_id, req.seed)
    s = await _create(svc, sc, ident, "api")
    return await _created(svc, s, ident)


@router.get("", response_model=list[SessionInfo])
def list_sessions(svc: Service = Depends(service), _=Depends(reader)):
    return [s.info() for s in list(svc.sessions.values()) if not s.closed]


@router.post("/demo", status_code=201, response_model=SessionCreated, responses=E429)
async def demo_session(svc: Service = Depends(service), ident: Identity = Depends(writer)):
    """The caller's session of the bundled example shaft line, shown from its first shift on
    (used by the monitoring page). One per identity: every page load reuses it, so reloading
    the page can never exhaust the session limit."""
    async with svc.demo_lock:
        s = svc.sessions.get(svc.demo.get(ident.name, ""))
        if s is None or s.closed or s.run.finished:
            if s is not None:
                svc.close_session(s.id)
            if not EXAMPLE.exists():
                raise HTTPException(404, detail="the example scenario is not installed")
            sc = await asyncio.to_thread(twin.load, EXAMPLE)
            s = await _create(svc, sc, ident, "demo", warm_until=6 * 3600.0)  # the example starts Monday 00:00
            svc.demo[ident.name] = s.id
        s.touch()
    return await _created(svc, s, ident)


@router.get("/{sid}", response_model=SessionInfo, responses=E404)
def get_session(sid: str = SessionId, svc: Service = Depends(service), _=Depends(reader)):
    return _session(svc, sid).info()


@router.post("/{sid}/step", response_model=StepReply, response_model_exclude_none=True,
             responses={**E404, 409: {"model": ErrorBody, "description": "The session was closed while the step ran (e.g. by the stall watchdog), or it runs by itself (twin serve --realtime)"}})
async def step(req: StepRequest, request: Request, sid: str = SessionId, svc: Service = Depends(service),
               ident: Identity = Depends(writer)):
    """Advance by ``dt``, to ``until`` (not in the past; capped at the horizon) or to the next
    event; the reply lists the tags that changed since this identity's previous reply. A step
    runs off the event loop in chunks and stops if the client goes away."""
    s = _session(svc, sid)
    cancel = Cancel()
    try:
        # a step that fits the inline budget is done here, without a task to watch the client
        done, out = eager.start(s.step(svc.step_pool, dt=req.dt, until=req.until, event=bool(req.event),
                                       client=_client(ident), cancel=cancel))
        if done:
            return out
        return await unless_disconnected(request, out, on_leave=cancel.set)
    except StepError as e:  # "session": closed while the step ran (DELETE, idle reaper, stall watchdog); "paced": --realtime
        if e.path in ("session", "paced"):
            raise HTTPException(409, detail=str(e))
        raise field_error(e.path, str(e))


@router.get("/{sid}/tags", responses=E404)
async def tags(sid: str = SessionId, prefix: str | None = Query(None, max_length=200), svc: Service = Depends(service),
               _=Depends(reader)) -> dict[str, object]:
    """The tag table as automation observes it (optionally only names starting with ``prefix``)."""
    t = await _session(svc, sid).tags(svc.step_pool)
    return {k: v for k, v in t.items() if prefix is None or k.startswith(prefix)}


@router.post("/{sid}/commands", response_model=CommandReply,
             responses={**E404, 409: {"model": ErrorBody, "description": "The session was closed meanwhile"}})
async def command(req: CommandRequest, sid: str = SessionId, svc: Service = Depends(service), ident: Identity = Depends(writer)):
    """Apply a command through ``twin.commands``; its source (the one-writer key) is the
    caller's identity."""
    s = _session(svc, sid)
    try:
        return await s.apply(svc.step_pool, {"command": req.command, "target": req.target, "value": req.value, "source": ident.name})
    except CommandError as e:
        raise HTTPException(422, detail=command_error_detail(e))
    except StepError as e:
        raise HTTPException(409, detail=str(e))


_LOG_KEYS = ("t", "source", "target", "command", "value", "accepted", "message")


@router.get("/{sid}/commands", response_model=list[CommandLogRow], responses=E404)
async def command_log(sid: str = SessionId, svc: Service = Depends(service), _=Depends(reader)):
    rows = await _session(svc, sid).read(svc.step_pool, lambda run: list(run.command_log.rows))
    return [dict(zip(_LOG_KEYS, r)) for r in rows]


@router.get("/{sid}/kpis", responses={**E404, 409: {"model": ErrorBody, "description": "Still in warm-up"},
                                      200: {"content": {"application/json": {"schema": {"type": "object"}}}, "description": "KPIs so far"}})
async def session_kpis(sid: str = SessionId, svc: Service = Depends(service), _=Depends(reader)):
    """KPIs of the period simulated so far."""
    from twin.result import Result

    def kpis(run):
        if run.now <= run.warmup:
            return None
        return Result.from_run(run, until=run.now).kpis

    out = await _session(svc, sid).read(svc.step_pool, kpis)
    if out is None:
        raise HTTPException(409, detail="still in warm-up")
    return out


@router.get("/{sid}/checkpoint", responses={**E404, 409: {"model": ErrorBody, "description": "A command value cannot be written (not JSON)"},
                                            200: {"content": {"application/json": {"schema": {"type": "object"}}},
                                                  "description": "the checkpoint document (format twin-checkpoint, docs/live.md)"}})
async def session_checkpoint(sid: str = SessionId, svc: Service = Depends(service), _=Depends(reader)):
    """The session's exact state now, as a checkpoint (scenario, seed, the commands it received,
    a digest of the state): ``POST /v1/sessions/restore`` or ``twin run --resume`` continue it
    bit-identically."""
    from fastapi.responses import Response

    from twin.live.checkpoint import CheckpointError, checkpoint

    s = _session(svc, sid)
    async with s.busy:
        try:
            data = await s.read(svc.step_pool, checkpoint)
        except CheckpointError as e:
            raise HTTPException(409, detail=str(e))
    return Response(data, media_type="application/json")


@router.post("/restore", status_code=201, response_model=SessionCreated,
             responses={**E429, 413: {"model": ErrorBody, "description": "The checkpoint's scenario is above the size limit"}})
async def restore_session(req: RestoreRequest, svc: Service = Depends(service), ident: Identity = Depends(writer)):
    """A lockstep session continuing a checkpoint: its scenario replayed with the checkpoint's
    commands to the checkpoint's time and checked against its digest (422 at ``checkpoint.digest``
    when the replay differs). Costs the simulation time up to the checkpoint, in a step thread."""
    from twin.live.checkpoint import CheckpointError, load_doc, restore

    try:
        doc = load_doc(req.checkpoint)
    except CheckpointError as e:
        raise _checkpoint_error(e)
    sc = await parse_scenario_at_edge(svc, doc["scenario"], prefix="checkpoint.scenario.")
    horizon = req.horizon if req.horizon is not None else float(doc.get("horizon") or sc.horizon)
    if horizon > svc.limits.max_horizon_s:
        raise field_error("horizon", f"{horizon:g} s is above the server's limit of {svc.limits.max_horizon_s:.0f} s")
    _reserve(svc)
    try:
        run = await asyncio.get_running_loop().run_in_executor(svc.step_pool, lambda: restore(doc, horizon=req.horizon))
    except CheckpointError as e:
        svc.unreserve_session()
        raise _checkpoint_error(e)
    except BaseException:
        svc.unreserve_session()
        raise
    s = svc.add_session(run, owner=ident.name, kind="api", scenario=run.scenario, seed=run.seed)
    return await _created(svc, s, ident)


def _checkpoint_error(e: Exception) -> HTTPException:
    msg = str(e)
    field, _, rest = msg.partition(": ")
    if rest and field.replace("_", "").replace("[", "").replace("]", "").isalnum():
        return HTTPException(422, detail=[{"path": f"checkpoint.{field}", "message": rest}])
    return HTTPException(422, detail=[{"path": "checkpoint", "message": msg}])


@router.delete("/{sid}", response_model=Closed, responses={**E404, 409: {"model": ErrorBody, "description": "The OPC UA session cannot be closed"}})
def close_session(sid: str = SessionId, svc: Service = Depends(service), _=Depends(writer)):
    s = _session(svc, sid)
    if s.kind in ("opcua", "served"):
        raise HTTPException(409, detail=f"the {'OPC UA' if s.kind == 'opcua' else 'served'} session lives as long as the server")
    svc.close_session(sid)
    return {"id": sid, "closed": True}


# ---- WebSocket ---------------------------------------------------------------------------------
def _parse_ws(msg) -> tuple[str, object] | tuple[None, list[dict]]:
    """(kind, model) or (None, errors) for a session WebSocket message."""
    if not isinstance(msg, dict):
        return None, [{"path": "", "message": "a message is a JSON object"}]
    if "command" in msg:
        kind, model = "command", CommandRequest
    elif "realtime" in msg:
        kind, model = "realtime", RealtimeRequest
    elif "stop" in msg:
        kind, model = "stop", StopRequest
    else:
        kind, model = "step", StepRequest
    try:
        return kind, model.model_validate(msg)
    except ValidationError as e:
        errs = []
        for x in e.errors(include_url=False):
            m = x["msg"][len("Value error, "):] if x["msg"].startswith("Value error, ") else x["msg"]
            errs.append({"path": ".".join(str(p) for p in x["loc"]), "message": "unknown field" if x["type"] == "extra_forbidden" else m})
        return None, errs


@router.websocket("/{sid}/ws")
async def session_ws(ws: WebSocket, sid: str):
    """Send ``{"dt": 60}``, ``{"until": t}``, ``{"event": true}`` or ``{"command", "target",
    "value"}``; each is answered with the step reply (sim time, tags changed since this
    connection's previous reply) or the command result. ``{"realtime": scale, "dt": 1, "steps":
    100}`` streams steps paced at ``scale`` x wall clock and reports lag and jitter, until
    ``{"stop": true}``, which also interrupts a long step. A malformed message is answered with
    ``{"error", "detail"}`` and the socket stays open. Authenticate with an ``Authorization``
    header or a first message ``{"token": SECRET}``."""
    svc: Service = ws.app.state.service
    ch = Channel(ws, svc)
    ident = await ch.open("write")
    if ident is None:
        return
    s = svc.sessions.get(sid)
    if s is None or s.closed:
        await ch.close(4404, f"no session {sid!r} (closed or timed out)")
        return
    client = f"ws:{uuid.uuid4()}"
    stop = Cancel()
    busy = False
    ended = False  # the socket is done (closed, or the session went away)
    queue: asyncio.Queue = asyncio.Queue()  # (kind, message) to do, ("rest", awaitable) to finish; None: the reader ended
    limit = svc.limits.max_ws_pending

    async def respond(kind, req) -> None:
        """Do one message and send its answer (``busy`` meanwhile)."""
        nonlocal busy, ended
        try:
            reply = await _handle(svc, s, ident, client, kind, req, stop, ch)
        except StepError as e:
            if e.path == "paced":  # the plant runs by itself (--realtime): refused, the socket stays open
                reply = {"error": str(e)}
            elif e.path == "session":
                ended = True
                await ch.send({"error": str(e)})
                await ch.close(4404, "session closed")
                return
            else:
                reply = {"error": "invalid message", "detail": [{"path": e.path, "message": str(e)}]}
        finally:
            busy = False
        if reply is not None and not await ch.send(reply):
            ended = True

    async def reader_loop():
        nonlocal busy
        try:
            while not ended:
                msg, err = await ch.receive()
                if err is not None:
                    await ch.send({"error": err})
                    continue
                kind, parsed = _parse_ws(msg)
                if kind is None:
                    await ch.send({"error": "invalid message", "detail": parsed})
                elif kind == "stop":
                    if busy:
                        stop.set()
                    else:
                        await ch.send({"stopped": False, "message": "nothing to stop"})
                elif not busy and queue.empty():
                    # nothing in progress: start it here; a step within the inline budget is answered
                    # without waking the worker loop, anything that waits is finished there
                    busy = True
                    stop.clear()
                    done, rest = eager.start(respond(kind, parsed))
                    if not done:
                        queue.put_nowait(("rest", rest))
                elif queue.qsize() >= limit:
                    await ch.send({"error": f"more than {limit} messages waiting; this one was dropped"})
                else:
                    queue.put_nowait((kind, parsed))
        finally:
            queue.put_nowait(None)

    try:
        tags = await s.snapshot(svc.step_pool, client)
        if not await ch.send({"sim_time": s.run.now, "finished": s.run.finished, "changed": tags, "initial": True}):
            return
        reading = asyncio.create_task(reader_loop())
        try:
            while not ended:
                item = await queue.get()
                if item is None:
                    break
                kind, req = item
                if kind == "rest":
                    await req
                else:
                    busy = True
                    stop.clear()
                    await respond(kind, req)
            if reading.done() and not reading.cancelled() and reading.exception() is not None:
                raise reading.exception()  # the peer left (WebSocketDisconnect), or a failure to report
        finally:
            reading.cancel()
            stop.set()
            while not queue.empty():  # a started message nobody will finish: let it clean up (locks)
                item = queue.get_nowait()
                if item is not None and item[0] == "rest":
                    item[1].close()
    except WebSocketDisconnect:
        pass
    finally:
        s.forget(client)
        ch.done()


async def _handle(svc: Service, s: Session, ident: Identity, client: str, kind: str, req, stop: Cancel, ch: Channel):
    if kind == "command":
        try:
            return await s.apply(svc.step_pool, {"command": req.command, "target": req.target, "value": req.value, "source": ident.name})
        except CommandError as e:
            return {"accepted": False, "message": str(e), "detail": command_error_detail(e)}
    if kind == "step":
        return await s.step(svc.step_pool, dt=req.dt, until=req.until, event=bool(req.event), client=client, cancel=stop)
    return await _realtime(svc, s, client, req, stop, ch)


async def _realtime(svc: Service, s: Session, client: str, req: RealtimeRequest, stop: Cancel, ch: Channel):
    steps = min(req.steps, svc.limits.max_realtime_steps)
    period = req.dt / req.realtime
    start = time.perf_counter()
    lags: list[float] = []
    stopped = False
    for k in range(1, steps + 1):
        target = start + k * period
        wait = target - time.perf_counter()
        if wait > 0 and await stop.wait(wait):
            stopped = True
            break
        if stop.is_set():
            stopped = True
            break
        lag = time.perf_counter() - target
        lags.append(lag)
        reply = await s.step(svc.step_pool, dt=req.dt, client=client, cancel=stop)
        reply["lag_ms"] = lag * 1e3
        if not await ch.send(reply):
            return None
        if reply.get("interrupted"):
            stopped = True
            break
        if reply["finished"]:
            break
    return {"realtime_done": True, "stopped": stopped, "steps": len(lags),
            "lag_mean_ms": statistics.fmean(lags) * 1e3 if lags else 0.0,
            "jitter_ms": (statistics.pstdev(lags) * 1e3) if len(lags) > 1 else 0.0}
