"""``twin serve --realtime SCALE``: the served plant runs by itself at SCALE x real time (in
the step threads), Step on it is refused, commands work, it stops at its horizon, MTConnect
and OPC UA follow it, and the server stays responsive."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import mtconnect_check as chk  # noqa: E402
from conftest_helpers import free_port  # noqa: E402
from mtc_fixtures import FAILING_LINE, get, scenario_file, served, wait_sim  # noqa: E402


def _sim(srv_url: str, sid: str) -> tuple[float, float, bool]:
    t0 = time.monotonic()
    info = httpx.get(f"{srv_url}/v1/sessions/{sid}", timeout=10).json()
    return time.monotonic() - t0, info["sim_time"], info["finished"]


def test_sim_time_follows_the_pace_and_the_server_stays_responsive(tmp_path):
    scale = 600.0
    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE), scale=scale) as p:
        wait_sim(p.session, 1.0)
        seq0 = chk.check_header(chk.parse(get(p.url + "/current").content, "Streams"), "Streams")["nextSequence"]
        points, slowest = [], 0.0
        w0 = time.monotonic()
        while time.monotonic() - w0 < 2.5:
            took, t, _ = _sim(p.srv.url, p.session.id)
            points.append((time.monotonic(), t))
            t1 = time.monotonic()
            assert httpx.get(p.srv.url + "/v1/health", timeout=10).status_code == 200
            slowest = max(slowest, took, time.monotonic() - t1)
            time.sleep(0.1)
        sims = [t for _, t in points]
        assert all(b >= a for a, b in zip(sims, sims[1:])), "sim time went backwards"
        rate = (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])
        assert 0.3 * scale < rate < 2.0 * scale, f"{rate:.0f} sim s per wall s at a pace of {scale:g}"
        assert slowest < 2.0  # generous: the event loop is never held by the simulation
        seq1 = chk.check_header(chk.parse(get(p.url + "/current").content, "Streams"), "Streams")["nextSequence"]
        assert seq1 > seq0 + 10, "MTConnect observations do not change"
        assert p.pacer.ticks > 5


def test_step_is_refused_while_paced_commands_work(tmp_path):
    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE), scale=50.0) as p:
        sid = p.session.id
        r = httpx.post(p.srv.url + f"/v1/sessions/{sid}/step", json={"dt": 60}, timeout=10)
        assert r.status_code == 409 and "runs by itself" in r.json()["detail"], r.text
        r = httpx.post(p.srv.url + f"/v1/sessions/{sid}/commands", json={"command": "hold", "target": "A"}, timeout=10)
        assert r.status_code == 200 and r.json()["accepted"], r.text
        end = time.monotonic() + 5
        while b">FEED_HOLD<" not in get(p.url + "/A/current").content:
            assert time.monotonic() < end, "hold never reached MTConnect"
            time.sleep(0.1)
        assert httpx.delete(p.srv.url + f"/v1/sessions/{sid}", timeout=10).status_code == 409  # the served session stays

        async def ws():
            import json

            import websockets

            async with websockets.connect(p.srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws") as w:
                assert json.loads(await w.recv()).get("initial")
                await w.send(json.dumps({"dt": 60}))
                refused = json.loads(await w.recv())
                await w.send(json.dumps({"command": "start", "target": "A"}))  # the socket stays open
                return refused, json.loads(await w.recv())

        refused, started = asyncio.run(ws())
        assert "runs by itself" in refused["error"]
        assert started.get("accepted") is True, started


def test_the_plant_stops_at_its_horizon(tmp_path):
    sc = dict(FAILING_LINE, horizon=3000)
    with served(tmp_path, scenario_file(tmp_path, sc), scale=20000.0) as p:
        end = time.monotonic() + 20
        while not p.session.run.finished:
            assert time.monotonic() < end
            time.sleep(0.05)
        _, t, finished = _sim(p.srv.url, p.session.id)
        assert finished and t == 3000.0
        ticks = p.pacer.ticks
        time.sleep(0.5)
        assert p.pacer.ticks == ticks and p.session.run.now == 3000.0  # nothing more to do


def test_opcua_values_follow_the_running_plant(tmp_path):
    from asyncua import Client, ua

    from twin.api.app import create_app
    from twin.api.opcua import attach_opcua
    from twin.api.realtime import attach_realtime, served_session

    from conftest_helpers import LiveServer

    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/twin/"
    app = create_app(db=str(tmp_path / "ua.db"), workers=1)
    attach_opcua(app, endpoint, str(scenario_file(tmp_path, FAILING_LINE)))
    s = served_session(app)
    assert s.id == app.state.opcua_session  # one served plant for every protocol
    attach_realtime(app, 1000.0)
    with LiveServer(app):
        async def go():
            async with Client(endpoint) as c:
                idx = await c.get_namespace_index("urn:twin")
                node = await c.nodes.objects.get_child([f"{idx}:Plant", f"{idx}:SimTime"])
                a = await node.read_value()
                await asyncio.sleep(1.0)
                b = await node.read_value()
                plant = await c.nodes.objects.get_child(f"{idx}:Plant")
                with pytest.raises(ua.uaerrors.BadInvalidState):  # the plant runs by itself: no Step
                    await plant.call_method(f"{idx}:Step", ua.Variant(60.0, ua.VariantType.Double))
                return a, b

        a, b = asyncio.run(go())
    assert b > a + 100.0, (a, b)


def _serve_app() -> typer.Typer:
    from twin.api import cli as api_cli

    app = typer.Typer()
    api_cli.register(app)

    @app.command()
    def other():  # a second command keeps "serve" a subcommand
        pass

    return app


@pytest.mark.parametrize("args, name", [
    (["--mtconnect", "0"], "--mtconnect"),
    (["--mtconnect", "70000"], "--mtconnect"),
    (["--mtconnect", "8000"], "--mtconnect"),  # the HTTP port
    (["--realtime", "0"], "--realtime"),
    (["--realtime", "-5"], "--realtime"),
    (["--realtime", "nan"], "--realtime"),
    (["--realtime", "inf"], "--realtime"),
    (["--realtime", "1e9"], "--realtime"),
    (["--mtconnect", "5000", "--mtconnect-buffer", "0"], "--mtconnect-buffer"),
    (["--mtconnect-buffer", "64"], "--mtconnect-buffer"),
    (["--opcua-scenario", "examples/shaft_line.yaml"], "--opcua-scenario"),
])
def test_serve_options_are_validated(tmp_path, args, name):
    r = CliRunner().invoke(_serve_app(), ["serve", "--db", str(tmp_path / "x.db"), *args])
    assert r.exit_code == 2, r.output
    assert name in r.output


def test_serve_reports_a_taken_mtconnect_port(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = CliRunner().invoke(_serve_app(), ["serve", "--db", str(tmp_path / "x.db"), "--workers", "1", "--mtconnect", str(port)])
    assert r.exit_code == 2, r.output
    assert "--mtconnect" in r.output and str(port) in r.output


def test_twin_serve_mtconnect_realtime_end_to_end(tmp_path):
    """The command line: ``twin serve --mtconnect PORT --realtime 600`` serves a live plant."""
    import os
    import signal
    import subprocess

    port, mport = free_port(), free_port()
    sc = scenario_file(tmp_path, FAILING_LINE)
    cmd = [sys.executable, "-m", "twin.cli", "serve", "--port", str(port), "--db", str(tmp_path / "cli.db"), "--workers", "1",
           "--mtconnect", str(mport), "--realtime", "600", "--opcua-scenario", str(sc)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{mport}"
        for _ in range(400):
            try:
                r = httpx.get(url + "/probe", timeout=1)
                break
            except httpx.HTTPError:
                if p.poll() is not None:
                    raise AssertionError(p.stderr.read())
                time.sleep(0.05)
        items = chk.check_devices(r.content)
        assert {d["device"] for d in items.values()} == {"A", "B"}
        h0, obs0 = chk.check_streams(httpx.get(url + "/current", timeout=10).content, items)
        time.sleep(1.5)
        h1, obs1 = chk.check_streams(httpx.get(url + "/current", timeout=10).content, items)
        assert h1["nextSequence"] > h0["nextSequence"]
        sessions = httpx.get(f"http://127.0.0.1:{port}/v1/sessions", timeout=10).json()
        assert [s["kind"] for s in sessions] == ["served"] and sessions[0]["sim_time"] > 300
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.mark.browser
def test_the_monitoring_page_watches_the_live_plant(tmp_path):
    """With --realtime the page shows the plant that runs by itself (reading its tags) rather
    than stepping a demo session of its own."""
    import shutil

    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    from test_monitor_page import dom, minutes, status

    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE), scale=600.0) as p:
        wait_sim(p.session, 600.0)
        info = httpx.get(p.srv.url + f"/v1/sessions/{p.session.id}", timeout=10).json()
        assert info["paced"] == 600.0
        html = dom(tmp_path, p.srv.url + "/", 6000)
        if not status(html).startswith("live: session"):
            html = dom(tmp_path, p.srv.url + "/", 15000)  # a loaded machine: one more, longer look
        assert status(html) == f"live: session {p.session.id} runs by itself at 600x"
        assert minutes(html) >= 10  # it shows the running plant's time
        assert 'id="st-A"' in html and 'id="st-B"' in html
        assert [s["kind"] for s in httpx.get(p.srv.url + "/v1/sessions", timeout=10).json()] == ["served"]  # no demo session made
