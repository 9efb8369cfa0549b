"""The monitoring page (a static shell: its script and style are files, so the page can send a
strict Content-Security-Policy) and the health check. Both stay open when identities are
configured: they carry no plant data."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse

import twin

from ..deps import service
from ..errors import StrictJSONRoute
from ..models import Health
from ..service import Service

STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = {"monitor.js": "text/javascript; charset=utf-8", "monitor.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}

router = APIRouter(route_class=StrictJSONRoute)


@router.get("/", include_in_schema=False)
def index():
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str):
    if name not in ASSETS:
        raise HTTPException(404, detail="no such file")
    return FileResponse(STATIC / name, media_type=ASSETS[name])


@router.get("/v1/health", response_model=Health, tags=["health"])
async def health(svc: Service = Depends(service)):
    """Liveness; open even when identities are configured (it says nothing about the plant)."""
    return {"status": "ok", "version": twin.__version__, "sessions": len(svc.sessions),
            "runs_active": svc.runs_gate.in_use, "auth": svc.identities.enabled}
