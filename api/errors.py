"""One error shape for every refusal, strict JSON in, valid JSON out.

* 422 (and every other error) answers ``{"detail": ...}``: for validation a list of
  ``{"path", "message"}`` naming the field (dotted path inside the body, ``query.NAME`` /
  ``path.NAME`` for parameters), otherwise a sentence.
* Request bodies are parsed as strict JSON: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON
  (Python's parser accepts them) and give a 422, never a 500 further down.
* Responses never carry ``NaN``/``inf`` (invalid JSON): they become ``null``.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

log = logging.getLogger("twin.api")


class ErrorItem(BaseModel):
    path: str
    message: str


class ValidationErrorBody(BaseModel):
    """422: what is wrong, field by field."""

    detail: list[ErrorItem]


class ErrorBody(BaseModel):
    """Any other refusal (401, 403, 404, 409, 413, 429, 503)."""

    detail: str


def _finite(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))  # (json.dumps with options builds one per call)


def dumps(content: Any) -> str:
    """JSON text with non-finite floats as null."""
    try:
        return _ENCODER.encode(content)
    except ValueError:
        return _ENCODER.encode(_finite(content))


class SafeJSONResponse(JSONResponse):
    """JSONResponse that writes NaN and infinities as null instead of failing with a 500."""

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def _reject_constant(name: str):
    raise ValueError(name)


_STRICT = json.JSONDecoder(parse_constant=_reject_constant)  # (one decoder: json.loads with a hook builds one per call)


def loads_strict(text: str | bytes) -> Any:
    """``json.loads`` without the non-standard constants: raises ``json.JSONDecodeError``."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise json.JSONDecodeError("the body is not UTF-8", "", e.start) from None
    try:
        if text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _STRICT.decode(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:  # (arrays or objects nested thousands deep)
        raise json.JSONDecodeError("nested more deeply than the parser allows", text, 0) from None
    except ValueError as e:  # our constant hook: say where
        const = str(e)
        pos = text.find(const)
        raise json.JSONDecodeError(f"{const} is not valid JSON (use a number or null)", text, max(pos, 0)) from None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """Route whose request body is parsed by :func:`loads_strict`."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def strict(request: Request):
            return await handler(StrictJSONRequest(request.scope, request.receive, request._send))

        return strict


def field_error(path: str, message: str, status: int = 422) -> HTTPException:
    return HTTPException(status, detail=[{"path": path, "message": message}])


def _loc_path(loc: tuple) -> str:
    parts = list(loc)
    head = parts.pop(0) if parts else ""
    out = "" if head == "body" else str(head)
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def validation_items(exc: RequestValidationError) -> list[dict]:
    items = []
    for e in exc.errors():
        msg = e.get("msg", "invalid")
        if e.get("type") == "json_invalid":
            err = (e.get("ctx") or {}).get("error")
            msg = f"invalid JSON at character {e['loc'][-1]}: {err}" if err else "invalid JSON"
            items.append({"path": "", "message": msg})
            continue
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if e.get("type") == "extra_forbidden":
            msg = "unknown field"
        items.append({"path": _loc_path(tuple(e.get("loc", ()))), "message": msg})
    return items


async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return SafeJSONResponse(status_code=422, content={"detail": validation_items(exc)})


def allowed_methods(app, scope) -> list[str]:
    """The documented methods of the path in ``scope`` (for the ``Allow`` header of a 405):
    one route per method, so Starlette's own header names only the first route's."""
    from starlette.routing import Match

    static: set[str] = set()
    templated: set[str] = set()
    for route in app.state.api_routes:
        if getattr(route, "include_in_schema", False) and getattr(route, "methods", None):
            # path_params={}: Starlette leaves those of the route that raised the 405 in the scope
            match, child = route.matches(dict(scope, method=next(iter(route.methods)), path_params={}))
            if match != Match.NONE:
                (templated if child.get("path_params") else static).update(route.methods)
    # a literal path (/v1/sessions/demo) is its own resource, not an id of /v1/sessions/{sid}
    return sorted((static or templated) - {"HEAD"})


async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app, request.scope))
    return SafeJSONResponse(status_code=exc.status_code, content={"detail": exc.detail}, headers=headers or None)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return SafeJSONResponse(status_code=500, content={"detail": "internal error (logged by the server)"})


def install(app) -> None:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
