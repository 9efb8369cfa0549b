"""``twin serve``: the HTTP API (and optionally the OPC UA endpoint, the MTConnect agent, a realtime pace)."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="bind address"),
        port: int = typer.Option(8000, help="HTTP port"),
        db: str = typer.Option("twin.db", help="SQLite file or postgresql:// URL (runs, scenarios, KPIs)"),
        tokens: Optional[str] = typer.Option(None, help="identities file (TOML, YAML or JSON): NAME -> {secret, rights} with rights read and/or write"),
        token: List[str] = typer.Option([], help="an identity NAME=SECRET with read and write rights; repeatable "
                                                 "(a bare SECRET is the identity 'token')"),
        workers: int = typer.Option(2, help="simulation worker processes"),
        max_queue: int = typer.Option(8, help="runs waiting beyond the workers before 429"),
        max_sessions: int = typer.Option(32, help="lockstep sessions at once (429 beyond)"),
        max_horizon: float = typer.Option(366 * 86400.0, help="longest scenario horizon accepted, in seconds"),
        max_body: int = typer.Option(4_000_000, help="largest request body in bytes (413 beyond)"),
        lease: float = typer.Option(30.0, help="run lease in seconds: a run whose server stopped renewing it for this long is ended by any server on the database"),
        opcua: Optional[str] = typer.Option(None, help="also serve a lockstep session over OPC UA, e.g. opc.tcp://127.0.0.1:4840/twin/"),
        opcua_scenario: Optional[str] = typer.Option(None, help="scenario file of the served plant (the session OPC UA serves, MTConnect "
                                                                "reports and --realtime paces; default: the example shaft line)"),
        mtconnect: Optional[int] = typer.Option(None, help="also serve an MTConnect 2.0 agent for the served plant on this port "
                                                           "(same host; see docs/api.md)"),
        mtconnect_buffer: int = typer.Option(131072, help="observations the MTConnect agent keeps (its bufferSize), 1 .. 1048576"),
        realtime: Optional[float] = typer.Option(None, help="run the served plant by itself at SCALE simulated seconds per wall "
                                                            "second (60: a simulated minute per second); Step on it is then refused"),
    ):
        """Start the HTTP API (OpenAPI at /docs, monitoring page at /). With --tokens or --token,
        every request under /v1 except /v1/health needs a bearer token, and OPC UA needs a user
        name and password over Basic256Sha256 (see docs/security.md)."""
        import uvicorn

        from .app import Limits, create_app
        from .auth import IdentityError

        for name, v in (("--workers", workers), ("--max-sessions", max_sessions), ("--max-body", max_body)):
            if v < 1:
                raise typer.BadParameter("must be >= 1", param_hint=name)
        if max_queue < 0:
            raise typer.BadParameter("must be >= 0", param_hint="--max-queue")
        if not 0 < max_horizon < float("inf"):
            raise typer.BadParameter("must be a positive number of seconds", param_hint="--max-horizon")
        if not 0 < lease < float("inf"):
            raise typer.BadParameter("must be a positive number of seconds", param_hint="--lease")
        if mtconnect is not None and not 1 <= mtconnect <= 65535:
            raise typer.BadParameter("must be a TCP port, 1 .. 65535", param_hint="--mtconnect")
        if mtconnect is not None and mtconnect == port:
            raise typer.BadParameter(f"must differ from --port ({port}): the agent has its own port", param_hint="--mtconnect")
        if not 1 <= mtconnect_buffer <= 1 << 20:
            raise typer.BadParameter("must be 1 .. 1048576 observations", param_hint="--mtconnect-buffer")
        if mtconnect_buffer != 131072 and mtconnect is None:
            raise typer.BadParameter("needs --mtconnect PORT", param_hint="--mtconnect-buffer")
        if realtime is not None:
            from .realtime import check_scale

            try:
                check_scale(realtime)
            except ValueError as e:
                raise typer.BadParameter(str(e), param_hint="--realtime")
        if opcua_scenario is not None and not (opcua or mtconnect is not None or realtime is not None):
            raise typer.BadParameter("serves nothing without --opcua, --mtconnect or --realtime", param_hint="--opcua-scenario")
        limits = Limits(max_running=workers, max_queued=max_queue, max_sessions=max_sessions, max_horizon_s=max_horizon,
                        max_body_bytes=max_body, max_scenario_bytes=min(1_000_000, max_body))
        try:
            application = create_app(db=db, tokens=list(token) or None, tokens_file=tokens, limits=limits, workers=workers, lease_s=lease)
        except IdentityError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2)
        if opcua:
            from .opcua import attach_opcua

            attach_opcua(application, opcua, opcua_scenario)
        if mtconnect is not None or realtime is not None:
            from twin.scenario import ScenarioError

            from .realtime import served_session

            try:
                served = served_session(application, opcua_scenario)
            except (ScenarioError, OSError) as e:
                typer.echo(f"error: --opcua-scenario: {e}", err=True)
                raise typer.Exit(2)
        if mtconnect is not None:
            from .mtconnect import attach_mtconnect

            try:
                attach_mtconnect(application, host, mtconnect, served, buffer_size=mtconnect_buffer)
            except OSError as e:
                typer.echo(f"error: --mtconnect: cannot listen on {host}:{mtconnect}: {e.strerror or e}", err=True)
                raise typer.Exit(2)
        if realtime is not None:
            from .realtime import attach_realtime

            attach_realtime(application, realtime, served)
        uvicorn.run(application, host=host, port=port, log_level="warning", ws_max_size=1 << 20)
