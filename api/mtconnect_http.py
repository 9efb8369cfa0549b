"""The MTConnect agent's REST interface (a small ASGI app on its own port).

Every query parameter is checked before any work: unknown or repeated parameters, non-integers,
values out of their bounds are refused with an ``MTConnectError`` naming the parameter. With
identities configured (``--tokens``/``--token``) a request needs ``Authorization: Bearer`` with
the read right (401 ``UNAUTHORIZED`` otherwise); see docs/security.md.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .mtconnect import (DEFAULT_HEARTBEAT_MS, MAX_ASSET_IDS, MAX_COUNT, MAX_HEARTBEAT_MS, MAX_INTERVAL_MS, MAX_QUERY,
                        MIN_HEARTBEAT_MS, Agent, MTError)

CTYPE = {"xml": "application/xml; charset=utf-8", "json": "application/json"}
_INT = re.compile(r"-?[0-9]{1,20}")
_SEGMENT = re.compile(r"[A-Za-z0-9_.;:-]{1,2048}")
ALLOWED = {
    "probe": {"format"},
    "current": {"format", "at", "path"},
    "sample": {"format", "from", "count", "to", "interval", "heartbeat", "path"},
    "assets": {"format", "type", "count", "device"},
    "asset": {"format"},
}
HEADERS = [("x-content-type-options", "nosniff"), ("cache-control", "no-store")]


def _fmt(request: Request, q: dict) -> str:
    f = q.get("format")
    if f is not None:
        f = f.lower()
        if f not in ("xml", "json"):
            raise MTError("INVALID_REQUEST", f"'format' must be xml or json, got {f[:20]!r}")
        return f
    accept = request.headers.get("accept", "")
    return "json" if "application/json" in accept and "xml" not in accept else "xml"


def _int(q: dict, name: str, lo: int, hi: int, default=None, nonzero: bool = False):
    v = q.get(name)
    if v is None:
        return default
    if not _INT.fullmatch(v):
        raise MTError("INVALID_REQUEST", f"'{name}' must be an integer, got {v[:20]!r}")
    n = int(v)
    if nonzero and n == 0:
        raise MTError("INVALID_REQUEST", f"'{name}' must not be 0")
    if not lo <= n <= hi:
        raise MTError("OUT_OF_RANGE", f"'{name}' must be between {lo} and {hi}, got {n}")
    return n


def _query(request: Request, request_kind: str) -> dict:
    raw = request.scope.get("query_string", b"")
    if len(raw) > MAX_QUERY:
        raise MTError("INVALID_REQUEST", f"the query is longer than {MAX_QUERY} bytes")
    q: dict[str, str] = {}
    for k, v in request.query_params.multi_items():
        if k not in ALLOWED[request_kind]:
            raise MTError("INVALID_REQUEST", f"unknown parameter {k[:40]!r} for {request_kind} "
                                             f"(allowed: {', '.join(sorted(ALLOWED[request_kind]))})")
        if k in q:
            raise MTError("INVALID_REQUEST", f"parameter {k!r} given twice")
        q[k] = v
    return q


def build_app(agent: Agent):
    """The ASGI app of ``agent``."""

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":  # pragma: no cover - lifespan is off
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        fmt = "xml"
        try:
            try:
                fmt = _fmt(request, {"format": request.query_params.get("format")} if "format" in request.query_params else {})
            except MTError:
                fmt = "xml"
            response = await handle(agent, request)
        except MTError as e:
            body = agent.error_doc(e, fmt)
            hdrs = dict(HEADERS)
            if e.code == "UNAUTHORIZED":
                hdrs["www-authenticate"] = 'Bearer realm="twin"'
            if e.status == 405:
                hdrs["allow"] = "GET, HEAD"
            response = Response(body, status_code=e.status, media_type=CTYPE[fmt], headers=hdrs)
        await response(scope, receive, send)

    return app


def _check_auth(agent: Agent, request: Request) -> None:
    ids = agent.svc.identities
    if not ids.enabled:
        return
    ident = ids.from_header(request.headers.get("authorization"))
    if ident is None or not ident.can("read"):
        raise MTError("UNAUTHORIZED", "this agent needs 'Authorization: Bearer TOKEN' of an identity with the read right")


async def handle(agent: Agent, request: Request) -> Response:
    if request.method not in ("GET", "HEAD"):
        raise MTError("UNSUPPORTED", f"method {request.method} is not supported (the agent is read-only: GET)", 405)
    _check_auth(agent, request)
    path = request.url.path
    parts = [p for p in path.split("/") if p]
    if len(path) > 2200 or any(not _SEGMENT.fullmatch(p) for p in parts):
        raise MTError("INVALID_URI", "the request path is not a valid MTConnect request", 400)
    device = None
    if not parts:
        kind = "probe"
    elif parts[0] in ("probe", "current", "sample", "assets") and len(parts) == 1:
        kind = parts[0]
    elif parts[0] == "asset" and len(parts) == 2 or parts[0] == "assets" and len(parts) == 2:
        kind = "asset"
    elif len(parts) == 1:
        kind, device = "probe", parts[0]
    elif len(parts) == 2 and parts[1] in ("probe", "current", "sample", "assets"):
        kind, device = parts[1], parts[0]
    else:
        raise MTError("UNSUPPORTED", f"unknown request {path[:80]!r} (probe, current, sample, assets, asset/ID)")
    if device is not None:
        agent._devices(device)  # NO_DEVICE before anything else
    q = _query(request, kind)
    fmt = _fmt(request, q)
    if kind == "probe":
        body = await asyncio.to_thread(agent.probe_doc, device, fmt)
    elif kind == "current":
        at = _int(q, "at", 0, 2**63)
        body = await asyncio.to_thread(agent.current_doc, device, q.get("path"), at, fmt)
    elif kind == "assets":
        count = _int(q, "count", 1, MAX_COUNT, default=100)
        dev = q.get("device") or device
        body = await asyncio.to_thread(agent.assets_doc, None, dev, q.get("type"), count, fmt)
    elif kind == "asset":
        ids = parts[1].split(";")
        if len(ids) > MAX_ASSET_IDS:
            raise MTError("INVALID_REQUEST", f"at most {MAX_ASSET_IDS} asset ids per request")
        body = await asyncio.to_thread(agent.assets_doc, ids, None, None, MAX_COUNT, fmt)
    else:
        return await sample(agent, request, device, q, fmt)
    return Response(body, media_type=CTYPE[fmt], headers=dict(HEADERS))


async def sample(agent: Agent, request: Request, device, q: dict, fmt: str) -> Response:
    limit = min(MAX_COUNT, agent.buffer.size)
    count = _int(q, "count", -limit, limit, default=100, nonzero=True)
    start = _int(q, "from", 0, 2**63)
    to = _int(q, "to", 0, 2**63)
    interval = _int(q, "interval", 0, MAX_INTERVAL_MS)
    heartbeat = _int(q, "heartbeat", MIN_HEARTBEAT_MS, MAX_HEARTBEAT_MS, default=DEFAULT_HEARTBEAT_MS)
    path = q.get("path")
    if interval is None:
        if "heartbeat" in q:
            raise MTError("INVALID_REQUEST", "'heartbeat' needs 'interval' (it sets the keep-alive of a stream)")
        body, _, _ = await asyncio.to_thread(agent.sample_doc, device, path, start, count, to, fmt)
        return Response(body, media_type=CTYPE[fmt], headers=dict(HEADERS))
    if count < 0 or to is not None:
        raise MTError("INVALID_REQUEST", "a stream ('interval') reads forwards: no negative 'count', no 'to'")
    # the first document is built before the stream starts, so bad requests get a plain error
    ev = agent.changed
    first, nxt, n = await asyncio.to_thread(agent.sample_doc, device, path, start, count, None, fmt)
    boundary = secrets.token_hex(16)
    return StreamingResponse(_stream(agent, request, device, path, count, interval, heartbeat, fmt, boundary, first, nxt, n, ev),
                             media_type=f"multipart/x-mixed-replace;boundary={boundary}", headers=dict(HEADERS))


def _part(body: bytes, fmt: str, boundary: str) -> bytes:
    return (f"--{boundary}\r\nContent-type: {CTYPE[fmt]}\r\nContent-length: {len(body)}\r\n\r\n").encode() + body + b"\r\n"


async def _stream(agent: Agent, request: Request, device, path, count, interval, heartbeat, fmt, boundary, body, nxt, n, ev):
    """One document per part: new observations as they arrive (at most one part per
    ``interval`` ms), an empty document after ``heartbeat`` ms of silence. A slow client
    holds back the next document (nothing queues); the stream ends when the client leaves,
    the agent stops, or the client falls behind the buffer (an OUT_OF_RANGE part)."""
    period = max(interval, 10) / 1000.0
    agent.streams += 1
    try:
        yield _part(body, fmt, boundary)
        last = time.monotonic()
        caught_up = n < count
        while not agent.stopping:
            if caught_up:
                wait = heartbeat / 1000.0 - (time.monotonic() - last)
                if wait > 0:
                    try:
                        await asyncio.wait_for(ev.wait(), wait)
                    except asyncio.TimeoutError:
                        pass
            await asyncio.sleep(period)
            if agent.stopping or await request.is_disconnected():
                return
            ev = agent.changed
            try:
                body, nxt2, n = await asyncio.to_thread(agent.sample_doc, device, path, nxt, count, None, fmt)
            except MTError as e:
                yield _part(agent.error_doc(e, fmt), fmt, boundary)
                return
            caught_up = n < count
            if n or time.monotonic() - last >= heartbeat / 1000.0:
                yield _part(body, fmt, boundary)
                last = time.monotonic()
            nxt = nxt2
    finally:
        agent.streams -= 1
