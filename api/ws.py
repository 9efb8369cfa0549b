"""WebSocket plumbing: authentication, strict message parsing, safe sends, reasons on close.

A WebSocket authenticates with an ``Authorization: Bearer`` header (programs) or, because
browsers cannot set headers on a WebSocket, with a first message ``{"token": SECRET}`` sent
within ``ws_auth_timeout_s``. Tokens are never taken from the URL (URLs end up in logs and
browser history). Close codes: 4400 malformed frames, 4401 unauthenticated, 4403 missing right,
4404 unknown resource, 1000 normal end.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from .auth import ANONYMOUS, Identity
from .errors import dumps, loads_strict


class Channel:
    def __init__(self, ws: WebSocket, svc):
        self.ws = ws
        self.svc = svc
        self.identity: Identity | None = None
        self._send_lock = asyncio.Lock()
        self.closed = False

    async def open(self, right: str) -> Identity | None:
        """Accept and authenticate; None (socket closed with a reason) if that fails."""
        await self.ws.accept()
        ids = self.svc.identities
        if not ids.enabled:
            self.identity = ANONYMOUS
            return self.identity
        header = self.ws.headers.get("authorization")
        if header is not None:
            ident = ids.from_header(header)
        else:
            try:
                text = await asyncio.wait_for(self.ws.receive_text(), self.svc.limits.ws_auth_timeout_s)
                msg = loads_strict(text)
            except asyncio.TimeoutError:
                await self.close(4401, 'authenticate first: send {"token": SECRET} or an Authorization header')
                return None
            except (WebSocketDisconnect, RuntimeError):
                self.closed = True
                return None
            except (ValueError, KeyError):
                msg = None
            secret = msg.get("token") if isinstance(msg, dict) and set(msg) == {"token"} else None
            ident = ids.authenticate(secret) if isinstance(secret, str) else None
        if ident is None:
            await self.close(4401, "missing or unknown token")
            return None
        if not ident.can(right):
            await self.close(4403, f"identity {ident.name!r} has no {right} right")
            return None
        self.identity = ident
        return ident

    async def send(self, msg: Any) -> bool:
        """Send a JSON message (non-finite numbers as null); False once the peer is gone."""
        if self.closed:
            return False
        try:
            async with self._send_lock:
                await self.ws.send_text(dumps(msg))
            return True
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed = True
            return False

    async def receive(self) -> tuple[Any, str | None]:
        """Next message as (parsed JSON, None) or (None, error text); raises WebSocketDisconnect."""
        msg = await self.ws.receive()
        if msg["type"] == "websocket.disconnect":
            self.closed = True
            raise WebSocketDisconnect(msg.get("code", 1000))
        text = msg.get("text")
        if text is None:
            return None, "send JSON text frames, not binary"
        if len(text) > 65536:
            return None, "message longer than 64 KiB"
        try:
            return loads_strict(text), None
        except json.JSONDecodeError as e:
            return None, f"invalid JSON: {e.msg} (character {e.pos})"
        except ValueError as e:
            return None, f"invalid JSON: {e}"

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.ws.application_state != WebSocketState.DISCONNECTED:
                await self.ws.close(code=code, reason=reason[:120])
        except (RuntimeError, OSError, WebSocketDisconnect):
            pass

    def done(self) -> None:
        self.closed = True
