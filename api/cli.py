"""``twin serve``: the HTTP API (and optionally the OPC UA endpoint)."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="bind address"),
        port: int = typer.Option(8000, help="HTTP port"),
        db: str = typer.Option("twin.db", help="SQLite file or postgresql:// URL (runs, scenarios, KPIs)"),
        token: List[str] = typer.Option([], help="API token required (as Bearer) for every write; repeatable"),
        workers: int = typer.Option(2, help="simulation worker processes"),
        max_queue: int = typer.Option(8, help="runs waiting beyond the workers before 429"),
        opcua: Optional[str] = typer.Option(None, help="also serve a lockstep session over OPC UA, e.g. opc.tcp://127.0.0.1:4840"),
        opcua_scenario: Optional[str] = typer.Option(None, help="scenario file for the OPC UA session (default: the example shaft line)"),
    ):
        """Start the HTTP API (OpenAPI at /docs, monitoring page at /)."""
        import uvicorn

        from .app import Limits, create_app

        application = create_app(db=db, tokens=list(token) or None, limits=Limits(max_running=workers, max_queued=max_queue), workers=workers)
        if opcua:
            from .opcua import attach_opcua

            attach_opcua(application, opcua, opcua_scenario)
        uvicorn.run(application, host=host, port=port, log_level="warning")
