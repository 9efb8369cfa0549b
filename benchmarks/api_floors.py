"""The floors of the lockstep latency benchmark: trivial endpoints of each protocol, mounted on
the twin's own app and OPC UA server so they are served exactly the same way.

(No ``from __future__ import annotations`` here: FastAPI reads these handlers' annotations.)
"""

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import BaseModel


class _Body(BaseModel):
    dt: float | None = None


def add_floors(app) -> None:
    """Trivial endpoints on the same app, served by the same uvicorn: an HTTP POST that parses
    the same body and returns at once (``async def``, and a ``def`` one that FastAPI runs in its
    thread pool as it runs the step), a WebSocket echo, and an OPC UA method that does nothing
    on the same OPC UA server (added once the server has started)."""
    @app.post("/bench/noop")
    async def noop(req: _Body):
        return {"sim_time": 0.0, "dt": req.dt}

    @app.post("/bench/noop_sync")
    def noop_sync(req: _Body):
        return {"sim_time": 0.0, "dt": req.dt}

    @app.websocket("/bench/echo")
    async def echo(ws: WebSocket):
        await ws.accept()
        try:
            while True:
                await ws.send_text(await ws.receive_text())
        except WebSocketDisconnect:
            return

    async def _ua_noop():
        from asyncua import ua

        s = app.state.opcua.server
        idx = await s.get_namespace_index("urn:twin")
        plant = await s.nodes.objects.get_child(f"{idx}:Plant")

        async def nothing(parent, dt):
            return [ua.Variant(0.0, ua.VariantType.Double)]

        await plant.add_method(idx, "Noop", nothing, [ua.VariantType.Double], [ua.VariantType.Double])

    # a service start hook after attach_opcua's, so the OPC UA server is running (FastAPI ignores
    # on_event("startup") handlers when the app has a lifespan, as create_app's does)
    app.state.service.on_start.append(_ua_noop)
