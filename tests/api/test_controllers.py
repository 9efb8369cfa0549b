"""The example controllers run against a real server and report their effect."""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_conwip_http_controller(live, capsys):
    sys.path.insert(0, str(ROOT / "examples" / "controllers"))
    import conwip_http

    with live() as srv:
        deltas = conwip_http.main(["--url", srv.url, "--limit", "20", "--horizon", "2 d"])
    assert deltas["wip_mean"] < 0  # the release control lowers WIP
    assert "delta" in capsys.readouterr().out


def test_opcua_controller(tmp_path):
    import asyncio

    from conftest_helpers import LiveServer, free_port

    from twin.api.app import create_app
    from twin.api.opcua import attach_opcua

    sys.path.insert(0, str(ROOT / "examples" / "controllers"))
    import feed_opcua

    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/twin/"
    app = create_app(db=str(tmp_path / "c.db"))
    attach_opcua(app, endpoint, str(ROOT / "examples" / "shaft_line.yaml"))
    with LiveServer(app):
        out = feed_opcua.main(["--opcua", endpoint, "--hours", "12"])
    assert out["parts_completed"] > 0
    log = app.state.sessions[app.state.opcua_session].run.command_log.rows
    assert all(r[1] == "anonymous" for r in log)  # an open server: everybody is anonymous
