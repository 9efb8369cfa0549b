"""ASGI middleware: security headers, the request body limit, authentication.

* Every response carries ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``
  and ``X-Frame-Options: DENY``; everything but the interactive API docs (``/docs``,
  ``/redoc``, which load Swagger UI / ReDoc) gets a strict ``Content-Security-Policy``: scripts,
  styles and connections only from the server itself, no inline script or style, no framing.
* A body above the limit is refused with 413 before it is read: at once when ``Content-Length``
  says so, otherwise as soon as the streamed bytes pass the limit.
* Under ``/v1/`` (except ``/v1/health``) an HTTP request needs a known bearer token when
  identities are configured (401 otherwise, before the body is read); the identity is put into
  the request scope for the rights checks of the routes.
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.datastructures import Headers

from .auth import Identities
from .errors import dumps

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
_DOC_PAGES = ("/docs", "/redoc")


async def _json(send, status: int, detail, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = not scope["path"].startswith(_DOC_PAGES)

        async def with_headers(msg):
            if msg["type"] == "http.response.start":
                names = {k.lower() for k, _ in msg.get("headers", [])}
                extra = [h for h in _COMMON if h[0] not in names]
                if csp and b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", CSP.encode()))
                msg = dict(msg, headers=[*msg.get("headers", []), *extra])
            await send(msg)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return await _json(send, 400, "invalid Content-Length", [(b"connection", b"close")])
            if int(length) > self.max_bytes:
                return await _json(send, 413, f"request body of {int(length)} bytes is above the limit of {self.max_bytes} bytes",
                                   [(b"connection", b"close")])
        seen = 0
        limit = self.max_bytes

        async def counted():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, detail=f"request body above the limit of {limit} bytes", headers={"Connection": "close"})
            return msg

        await self.app(scope, counted, send)


class Authenticate:
    def __init__(self, app, identities: Identities):
        self.app = app
        self.ids = identities

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and self.ids.enabled:
            path = scope["path"]
            if path.startswith("/v1/") and path != "/v1/health":
                ident = self.ids.from_header(Headers(scope=scope).get("authorization"))
                if ident is None:
                    return await _json(send, 401, "missing or unknown bearer token (Authorization: Bearer SECRET)",
                                       [(b"www-authenticate", b'Bearer realm="twin"')])
                scope["twin.identity"] = ident
        await self.app(scope, receive, send)
