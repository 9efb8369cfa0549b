"""Reliability of the server (issue 13, items 5-9 and 11): atomic admission, a loop that never
blocks, run states that survive races and kill -9, no 500s on hostile input, step deltas,
WebSocket behaviour, cancelled comparisons, bodies refused before they are read."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

import twin
from twin.api.app import Limits

from conftest_helpers import LINE, LiveServer, bearer, free_port

TERMINAL = {"done", "failed", "cancelled", "interrupted"}


def wait_status(c, rid, want, timeout=60):
    t = time.time()
    while time.time() - t < timeout:
        s = c.get(f"/v1/runs/{rid}").json()["status"]
        if s in want:
            return s
        time.sleep(0.05)
    raise AssertionError(f"run {rid} never reached {want} (is {s})")


class Serve:
    """``twin serve`` in its own process group on a free port."""

    def __init__(self, db, *args):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cmd = [sys.executable, "-m", "twin.cli", "serve", "--port", str(self.port), "--db", str(db), *args]
        self.p = None

    def __enter__(self):
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        for _ in range(400):
            try:
                httpx.get(self.url + "/v1/health", timeout=1)
                return self
            except httpx.HTTPError:
                if self.p.poll() is not None:
                    raise AssertionError(self.p.stderr.read())
                time.sleep(0.05)
        raise AssertionError("server did not start")

    def kill_group(self):
        os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait()

    def __exit__(self, *exc):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_group()


# ---- 5: admission and start-up ---------------------------------------------------------------
def test_concurrent_run_requests_are_admitted_atomically(live):
    """50 POST /v1/runs at once with room for 2 running + 3 queued: exactly 5 are accepted (all
    50 used to be: the check and the reservation were apart, with awaits between them)."""
    long = dict(LINE, horizon=30_000_000)
    with live(limits=Limits(max_running=2, max_queued=3), workers=2) as srv:
        async def burst():
            async with httpx.AsyncClient(base_url=srv.url, timeout=60) as c:
                return await asyncio.gather(*[c.post("/v1/runs", json={"scenario": long, "seed": s}) for s in range(50)])

        replies = asyncio.run(burst())
        codes = [r.status_code for r in replies]
        assert codes.count(202) == 5 and codes.count(429) == 45, codes
        assert all(r.headers["retry-after"] for r in replies if r.status_code == 429)
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for r in replies:
                if r.status_code == 202:
                    c.post(f"/v1/runs/{r.json()['id']}/cancel")


def test_fresh_server_answers_a_burst_without_errors(tmp_path):
    """The first requests of a fresh process used to parse scenarios in parallel threads while the
    kind registry was still loading ('Cannot take a Union of no types': 49 of 50 answered 500)."""
    with Serve(tmp_path / "fresh.db") as srv:
        async def burst():
            async with httpx.AsyncClient(base_url=srv.url, timeout=60) as c:
                return await asyncio.gather(*[c.post("/v1/scenarios/validate", json={"scenario": LINE}) for _ in range(30)])

        assert [r.status_code for r in asyncio.run(burst())] == [200] * 30


def test_registry_loads_atomically_for_threads():
    code = """
import threading, twin.scenario as s
SC = {"name": "x", "horizon": 100, "stations": {"A": {"process_time": 1}}, "products": {"p": {"routing": [{"station": "A"}]}}}
errs, bar = [], threading.Barrier(16)
def go():
    bar.wait()
    try:
        s.parse_scenario(SC)
    except Exception as e:
        errs.append(repr(e))
ts = [threading.Thread(target=go) for _ in range(16)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(errs), errs[:1])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("0 "), out.stdout + out.stderr


# ---- 6: the loop never blocks ----------------------------------------------------------------------
def test_long_websocket_step_runs_off_the_loop_and_stop_interrupts_it(live):
    import websockets

    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        sid = c.post("/v1/sessions", json={"scenario": dict(LINE, horizon=30_000_000)}).json()["id"]

        async def go():
            async with websockets.connect(srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws") as ws, \
                    httpx.AsyncClient(base_url=srv.url, timeout=120) as ac:
                await ws.recv()
                await ws.send(json.dumps({"until": 30_000_000}))  # ~15 s of simulation
                await asyncio.sleep(0.3)
                health = asyncio.create_task(ac.get("/v1/health"))
                reply = asyncio.create_task(ws.recv())
                done, _ = await asyncio.wait({health, reply}, return_when=asyncio.FIRST_COMPLETED)
                assert health in done and reply not in done  # the server answered while the step ran
                await ws.send(json.dumps({"stop": True}))
                rep = json.loads(await asyncio.wait_for(reply, 30))
                assert rep["interrupted"] and 0 < rep["sim_time"] < 30_000_000 and not rep["finished"]
                # the session goes on from where the step stopped
                await ws.send(json.dumps({"dt": 10}))
                assert json.loads(await ws.recv())["sim_time"] == pytest.approx(rep["sim_time"] + 10)

        asyncio.run(go())


def test_realtime_stream_stops_on_stop(live):
    import websockets

    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]

        async def go():
            async with websockets.connect(srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws") as ws:
                await ws.recv()
                await ws.send(json.dumps({"realtime": 1, "dt": 1, "steps": 600}))  # ten minutes of wall clock
                first = json.loads(await ws.recv())
                assert "lag_ms" in first
                await ws.send(json.dumps({"stop": True}))
                while True:
                    m = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if m.get("realtime_done"):
                        return m

        done = asyncio.run(go())
        assert done["stopped"] and done["steps"] < 10


def test_chunked_steps_give_the_same_run():
    """A step runs in chunks off the loop; the result is the run a single run_until gives."""
    from concurrent.futures import ThreadPoolExecutor

    from twin.api.sessions import Session

    sc = twin.parse_scenario(dict(LINE, horizon=200_000))
    s = Session("x", twin.Run(sc))
    with ThreadPoolExecutor(2) as pool:
        async def go():
            await s.step(pool, until=123_456.0)
            await s.step(pool, dt=50_000.0)
        asyncio.run(go())
    ref = twin.Run(sc)
    ref.run_until(173_456.0)
    assert s.run.now == ref.now == 173_456.0
    assert s.run.result().event_log_hash() == ref.result().event_log_hash()


# a plant that loops at one instant: a machine of zero process time fed by a saturated release
ZENO = {"name": "zeno", "horizon": 1000, "stations": {"A": {"process_time": 0}}, "products": {"p": {"routing": [{"station": "A"}]}}}


def test_session_stuck_in_a_zero_time_loop_frees_its_thread(live):
    """A step whose simulation cannot advance (events at one instant forever) used to pin a step
    thread for good: with one step thread, every session of the server hung after it."""
    with live(limits=Limits(step_threads=1, step_stall_s=1.0)) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/v1/sessions", json={"scenario": ZENO})
        if r.status_code == 422:  # the core refuses such plants at load: the loop cannot start
            assert r.json()["detail"][0]["path"].startswith("stations.A")
            return
        stuck = r.json()["id"]
        other = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]
        r = c.post(f"/v1/sessions/{stuck}/step", json={"dt": 10})
        assert r.status_code == 409 and "no progress" in r.json()["detail"]
        assert c.get(f"/v1/sessions/{stuck}").status_code == 404  # closed
        assert c.post(f"/v1/sessions/{other}/step", json={"dt": 100}).json()["sim_time"] == 100  # the thread is free


def test_run_in_a_zero_time_loop_can_be_cancelled(live):
    """Cancelling used to wait for the end of the current chunk, which never came."""
    with live(workers=1, limits=Limits(max_running=1, max_queued=1)) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/v1/runs", json={"scenario": ZENO})
        if r.status_code == 422:
            assert r.json()["detail"][0]["path"].startswith("stations.A")
            return
        rid = r.json()["id"]
        wait_status(c, rid, {"running"})
        assert c.post(f"/v1/runs/{rid}/cancel").json()["status"] == "cancelling"
        assert wait_status(c, rid, TERMINAL, timeout=30) == "cancelled"
        ok = c.post("/v1/runs", json={"scenario": LINE}).json()["id"]  # the worker is free again
        assert wait_status(c, ok, TERMINAL, timeout=60) == "done"


def test_run_in_a_zero_time_loop_fails_when_nobody_cancels_it(live):
    with live(workers=1, limits=Limits(max_running=1, max_queued=1, step_stall_s=1.0)) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/v1/runs", json={"scenario": ZENO})
        if r.status_code == 422:
            return
        rid = r.json()["id"]
        assert wait_status(c, rid, TERMINAL, timeout=30) == "failed"
        assert "no progress" in c.get(f"/v1/runs/{rid}").json()["error"]


# ---- 7: run states --------------------------------------------------------------------------------
def test_second_server_on_the_same_database_leaves_live_runs_alone(live, tmp_path):
    from twin.api.app import create_app

    db = str(tmp_path / "shared.db")
    with live(db=db, workers=1) as a, httpx.Client(base_url=a.url, timeout=30) as c:
        rid = c.post("/v1/runs", json={"scenario": dict(LINE, horizon=30_000_000)}).json()["id"]
        wait_status(c, rid, {"running"})
        with LiveServer(create_app(db=db, workers=1)) as b:
            assert httpx.get(f"{b.url}/v1/runs/{rid}").json()["status"] == "running"
            time.sleep(0.5)
            assert c.get(f"/v1/runs/{rid}").json()["status"] == "running"
        assert c.post(f"/v1/runs/{rid}/cancel").json()["status"] == "cancelling"
        assert wait_status(c, rid, TERMINAL) == "cancelled"


def test_run_left_cancelling_by_a_killed_server_ends_cancelled(tmp_path):
    """A server (and its workers) killed outright while a run is cancelling leaves the row
    ``cancelling`` with a dead owner; the next server ends it ``cancelled`` (it used to stay
    cancelling forever: start-up only looked at queued and running runs)."""
    from twin.api.app import create_app
    from twin.store import Store

    p = subprocess.Popen(["true"])
    p.wait()
    db = str(tmp_path / "k.db")
    gone = Store(db, owner=f"{socket.gethostname()}:{p.pid}:killed")
    rid = gone.create_run(twin.parse_scenario(LINE).dump(), seed=1)
    gone.start_run(rid)
    assert gone.request_cancel(rid) == "cancelling"
    with LiveServer(create_app(db=db)) as srv:
        row = httpx.get(f"{srv.url}/v1/runs/{rid}").json()
    assert row["status"] == "cancelled" and "server stopped" in row["error"]


def test_kill_9_of_the_server_alone_leaves_no_run_active(tmp_path):
    """SIGKILL to the server process: its workers notice within half a second and end the
    server's runs in the store before they exit, so no restart is needed to see the truth."""
    from twin.store import Store

    db = tmp_path / "k9.db"
    with Serve(db, "--workers", "1") as srv:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            running = c.post("/v1/runs", json={"scenario": dict(LINE, horizon=30_000_000)}).json()["id"]
            queued = c.post("/v1/runs", json={"scenario": dict(LINE, horizon=30_000_000, seed=2)}).json()["id"]
            wait_status(c, running, {"running"})
        srv.p.send_signal(signal.SIGKILL)
        srv.p.wait()
        store = Store(db)
        for _ in range(100):
            if {store.status(running), store.status(queued)} <= TERMINAL:
                break
            time.sleep(0.1)
        assert store.status(running) == "interrupted" and store.status(queued) == "interrupted"


# ---- 8: hostile input gets a 422 naming the field, never a 500 --------------------------------------
def test_hostile_inputs_get_422_naming_the_field(live):
    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        def post(path, text):
            return c.post(path, content=text, headers={"Content-Type": "application/json"})

        r = c.post("/v1/runs", json={"scenario": LINE, "seed": 2**70})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "seed"
        r = c.post("/v1/runs", json={"scenario": dict(LINE, seed=2**70)})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "seed"
        for body in ('{"scenario": %s, "seed": NaN}', '{"scenario": %s, "seed": -Infinity}'):
            r = post("/v1/runs", body % json.dumps(LINE))
            assert r.status_code == 422 and "not valid JSON" in r.text
        bad = json.dumps(dict(LINE, horizon="HORIZON")).replace('"HORIZON"', "NaN")
        assert post("/v1/scenarios/validate", '{"scenario": %s}' % bad).status_code == 422
        assert c.post("/v1/scenarios/validate", content=b'{"scenario": "\xff"}', headers={"Content-Type": "application/json"}).status_code == 422
        deep = post("/v1/scenarios/validate", '{"scenario": ' + "[" * 100_000 + "]" * 100_000 + "}")
        assert deep.status_code == 422 and "nested more deeply" in deep.text
        sid = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]
        c.post(f"/v1/sessions/{sid}/step", json={"dt": 1000})
        cmd = f"/v1/sessions/{sid}/commands"
        for value, path in [({"duration": 60, "crew": [1]}, "value"), ("nan", "value"), ("inf", "value"), (1e308, "value"),
                            (float("1e9"), "value"), ({"duration": "NaN s"}, "value")]:
            r = c.post(cmd, json={"command": "request_maintenance", "target": "A", "value": value})
            assert r.status_code == 422 and r.json()["detail"][0]["path"].startswith(path), (value, r.text)
        r = c.post(cmd, json={"command": "route", "target": "B", "value": 0})  # part 0 is long finished
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "value"
        r = c.post(f"/v1/sessions/{sid}/step", json={"until": 10})
        assert r.status_code == 422 and r.json()["detail"] == [{"path": "until", "message": "10 s is in the past (the session is at 1000 s)"}]
        for body in ({}, {"dt": 1, "until": 5}, {"event": False}, {"dt": "nan"}, {"dt": -1}, {"dt": None}):
            assert c.post(f"/v1/sessions/{sid}/step", json=body).status_code == 422, body
        # schema-invalid but model-coercible values are refused at the edge too (no silent coercion)
        emp = dict(LINE, stations={"A": {"process_time": {"dist": "empirical", "values": [1, 2], "interpolate": "yes"}}, "B": {"process_time": 1}})
        twin.parse_scenario(emp)  # the model alone would take "yes" for true
        r = c.post("/v1/scenarios/validate", json={"scenario": emp})
        assert r.status_code == 422 and r.json()["detail"][0]["path"].startswith("stations.A")
        assert c.get("/v1/health").status_code == 200


def test_route_to_a_station_without_choice_is_refused(live):
    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]
        c.post(f"/v1/sessions/{sid}/step", json={"dt": 30})
        parts = [r for r in c.get(f"/v1/sessions/{sid}/tags").json().items() if r[0] == "plant.parts_released"]
        assert parts[0][1] >= 1
        r = c.post(f"/v1/sessions/{sid}/commands", json={"command": "route", "target": "B", "value": parts[0][1] - 1})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "target" and "no choice" in r.text


# ---- 9: deltas include what commands changed ---------------------------------------------------------
def test_step_reply_reports_changes_made_by_commands(live):
    import websockets

    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]
        c.post(f"/v1/sessions/{sid}/step", json={"dt": 100})
        assert c.post(f"/v1/sessions/{sid}/commands", json={"command": "hold", "target": "A"}).json()["accepted"]
        rep = c.post(f"/v1/sessions/{sid}/step", json={"dt": 1}).json()
        assert rep["changed"]["A.execution"] == "FEED_HOLD" and rep["changed"]["A.reason"] == "held"
        assert "A.execution" not in c.post(f"/v1/sessions/{sid}/step", json={"dt": 1}).json()["changed"]

        async def go():  # a second client over the WebSocket: deltas against what *it* was sent
            async with websockets.connect(srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws") as ws:
                assert json.loads(await ws.recv())["changed"]["A.execution"] == "FEED_HOLD"
                await ws.send(json.dumps({"command": "start", "target": "A"}))
                assert json.loads(await ws.recv())["accepted"]
                await ws.send(json.dumps({"dt": 1}))
                assert json.loads(await ws.recv())["changed"]["A.execution"] != "FEED_HOLD"

        asyncio.run(go())
        # the HTTP client had not seen the start: its next reply says so
        assert c.post(f"/v1/sessions/{sid}/step", json={"dt": 1}).json()["changed"]["A.reason"] != "held"


# ---- 11: WebSocket messages, page sessions, compare, bodies ----------------------------------------------
def test_malformed_websocket_messages_are_answered_and_the_socket_stays_open(live):
    import websockets

    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]

        async def go():
            async with websockets.connect(srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws") as ws:
                await ws.recv()
                for bad in ("not json", "[1, 2]", '{"dt": NaN}', '{"dt": -5}', '{"until": 1, "dt": 1}', '{"realtime": 0}',
                            '{"command": "hold", "target": "A", "source": "x"}', '{"bogus": 1}'):
                    await ws.send(bad)
                    m = json.loads(await ws.recv())
                    assert m.get("error"), bad
                await ws.send(b"\x00\x01")
                assert "binary" in json.loads(await ws.recv())["error"]
                await ws.send(json.dumps({"command": "feed_override", "target": "A", "value": 80}))
                m = json.loads(await ws.recv())
                assert m["accepted"] is False and m["detail"][0]["path"] == "value"
                await ws.send(json.dumps({"stop": True}))
                assert json.loads(await ws.recv())["stopped"] is False
                await ws.send(json.dumps({"dt": 5}))
                assert json.loads(await ws.recv())["sim_time"] == 5

        asyncio.run(go())


def test_demo_session_is_reused_per_identity(live):
    with live(limits=Limits(max_sessions=2), tokens=["a=a-secret-1", "b=b-secret-1"]) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        ids = {c.post("/v1/sessions/demo", headers=bearer("a-secret-1")).json()["id"] for _ in range(20)}
        assert len(ids) == 1
        other = c.post("/v1/sessions/demo", headers=bearer("b-secret-1"))
        assert other.status_code == 201 and other.json()["id"] not in ids
        assert c.get("/v1/health").json()["sessions"] == 2
        assert c.post("/v1/sessions", json={"scenario": LINE}, headers=bearer("a-secret-1")).status_code == 429


def test_compare_stops_when_its_client_leaves(live):
    """A comparison holds one worker; a client that hangs up used to leave it busy to the end."""
    long = dict(LINE, horizon=20_000_000)
    with live(limits=Limits(max_running=1, max_queued=0), workers=1) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port))
        body = json.dumps({"baseline": long, "candidate": long, "replications": 50}).encode()
        s.sendall(b"POST /v1/compare HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for _ in range(100):
                if c.get("/v1/health").json()["runs_active"] == 1:
                    break
                time.sleep(0.05)
            assert c.post("/v1/runs", json={"scenario": LINE}).status_code == 429  # the worker is taken
            time.sleep(0.5)
            s.close()  # the client leaves
            for _ in range(200):
                if c.get("/v1/health").json()["runs_active"] == 0:
                    break
                time.sleep(0.05)
            rid = c.post("/v1/runs", json={"scenario": LINE}).json()["id"]
            assert wait_status(c, rid, TERMINAL, timeout=30) == "done"


def _raw(port, head: bytes, chunks=(), wait=10.0) -> bytes:
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    try:
        s.sendall(head)
        for ch in chunks:
            try:
                s.sendall(ch)
            except OSError:  # the server answered and closed: fine
                break
        out = b""
        while b"\r\n\r\n" not in out:
            data = s.recv(65536)
            if not data:
                break
            out += data
        return out
    finally:
        s.close()


def test_oversized_bodies_get_413_before_they_are_read(live):
    with live() as srv:
        # a 60 MB body announced: the answer comes before the body is sent
        head = b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000000\r\n\r\n"
        assert _raw(srv.port, head + b"{").split(b"\r\n")[0].endswith(b"413 Request Entity Too Large") or \
            b" 413 " in _raw(srv.port, head + b"{").split(b"\r\n")[0]
        # no length announced (chunked): refused once the bytes pass the limit, not at the end
        head = b"POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
        reply = _raw(srv.port, head, [chunk] * 6)  # 6 MB of a never-ending body
        assert b" 413 " in reply.split(b"\r\n")[0]
        assert httpx.get(srv.url + "/v1/health").status_code == 200


# ---- 12: the document describes the server ---------------------------------------------------------
def test_openapi_describes_errors_statuses_and_the_scenario(live):
    with live(tokens=["x=x-secret-1"]) as srv:
        doc = httpx.get(srv.url + "/openapi.json").json()
    comps = doc["components"]["schemas"]
    assert comps["ValidationErrorBody"]["properties"]["detail"]["items"]["$ref"].endswith("/ErrorItem")
    assert set(comps["ErrorItem"]["required"]) == {"path", "message"}
    assert {"stations", "products", "horizon"} <= set(comps["Scenario"]["properties"]) and "Scenario.MachineSpec" in comps
    run = doc["paths"]["/v1/runs"]["post"]
    assert "Scenario" in json.dumps(run["requestBody"]) or "RunRequest" in json.dumps(run["requestBody"])
    assert "#/components/schemas/Scenario" in json.dumps(comps["RunRequest"])
    assert {"202", "401", "403", "404", "413", "422", "429"} <= set(run["responses"])
    assert run["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationErrorBody")
    assert doc["paths"]["/v1/sessions/{sid}/step"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in doc["paths"]["/v1/health"]["get"]
    # the example scenario of the document is one the server accepts
    from twin.api.schema import EXAMPLE, schema_errors

    assert schema_errors(EXAMPLE) == [] and twin.parse_scenario(EXAMPLE).horizon == 3600
