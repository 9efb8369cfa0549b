"""The HTTP API through a real uvicorn on loopback with httpx (and a WebSocket client)."""

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

import twin
from twin.api.app import Limits

LINE = {
    "name": "api line", "horizon": 20000, "seed": 5,
    "stations": {"A": {"process_time": {"dist": "exponential", "mean": 10}, "failures": [{"basis": "calendar", "availability": 0.95, "mttr": 100}]},
                 "B": {"process_time": {"dist": "exponential", "mean": 11}}},
    "buffers": {"AB": {"capacity": 3, "between": ["A", "B"]}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


def wait_done(c, rid, timeout=60):
    t = time.time()
    while time.time() - t < timeout:
        r = c.get(f"/v1/runs/{rid}").json()
        if r["status"] in ("done", "failed", "cancelled", "interrupted"):
            return r
        time.sleep(0.1)
    raise AssertionError("run did not finish")


def test_validate_store_and_422_field_paths(live):
    with live() as srv, httpx.Client(base_url=srv.url) as c:
        bad = dict(LINE, horizon="2 kg", stations={"A": {"process_time": 1, "capcity": 3}, "B": {"process_time": 1}})
        r = c.post("/v1/scenarios/validate", json={"scenario": bad})
        assert r.status_code == 422
        paths = {e["path"] for e in r.json()["detail"]}
        assert {"horizon", "stations.A.capcity"} <= paths
        assert c.post("/v1/scenarios/validate", json={"scenario": LINE}).json()["valid"]
        sid = c.post("/v1/scenarios", json={"scenario": LINE}).json()["id"]
        assert any(s["id"] == sid for s in c.get("/v1/scenarios").json())
        assert c.get(f"/v1/scenarios/{sid}").json()["body"]["horizon"] == 20000
        assert c.get("/v1/scenarios/nope").status_code == 404


def test_run_lifecycle_kpis_and_event_logs(live):
    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        rid = c.post("/v1/runs", json={"scenario": LINE, "seed": 3}).json()["id"]
        row = wait_done(c, rid)
        assert row["status"] == "done" and row["progress"] == 1.0
        k = c.get(f"/v1/runs/{rid}/kpis").json()
        local = twin.simulate(twin.parse_scenario(LINE), seed=3).kpis
        assert k["line"]["parts_completed"] == local["line"]["parts_completed"]
        assert k["stations"]["A"]["oee"] == pytest.approx(local["stations"]["A"]["oee"], rel=1e-12)
        page = c.get(f"/v1/runs/{rid}/events", params={"offset": 10, "limit": 5}).json()
        assert len(page["rows"]) == 5 and page["total"] > 100 and {"t", "resource", "item_state"} <= set(page["rows"][0])
        pq_bytes = c.get(f"/v1/runs/{rid}/events", params={"format": "parquet"}).content
        assert pq.read_table(io.BytesIO(pq_bytes)).num_rows == page["total"]
        assert c.delete(f"/v1/runs/{rid}").status_code == 409


def _drive_session(c, commands_at):
    sid = c.post("/v1/sessions", json={"scenario": LINE, "seed": 9}).json()["id"]
    for k in range(20):
        for cmd in commands_at.get(k, []):
            r = c.post(f"/v1/sessions/{sid}/commands", json=cmd)
            assert r.status_code == 200, r.text
        rep = c.post(f"/v1/sessions/{sid}/step", json={"dt": 500}).json()
        assert rep["sim_time"] == pytest.approx(500 * (k + 1))
    kp = c.get(f"/v1/sessions/{sid}/kpis").json()
    log = c.get(f"/v1/sessions/{sid}/commands").json()
    c.delete(f"/v1/sessions/{sid}")
    return kp, log


def test_lockstep_is_deterministic_and_commands_act(live):
    cmds = {3: [{"command": "hold", "target": "A"}], 6: [{"command": "start", "target": "A"}],
            8: [{"command": "buffer_limit", "target": "AB", "value": 1}]}
    plc, intruder = {"Authorization": "Bearer plc-secret"}, {"Authorization": "Bearer intruder-secret"}
    with live(tokens=["plc=plc-secret", "intruder=intruder-secret"]) as srv, httpx.Client(base_url=srv.url, timeout=30, headers=plc) as c:
        k1, log1 = _drive_session(c, cmds)
        k2, log2 = _drive_session(c, cmds)
        k0, _ = _drive_session(c, {})
        assert k1 == k2 and log1 == log2  # same commands, same seed: same result
        assert k1["line"]["parts_completed"] < k0["line"]["parts_completed"]  # holding A for 1500 s costs output
        assert [r["t"] for r in log1] == [1500.0, 3000.0, 4000.0]
        assert {r["source"] for r in log1} == {"plc"}  # the authenticated identity, not a declared string
        sid = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]
        c.post(f"/v1/sessions/{sid}/commands", json={"command": "hold", "target": "A"})
        r = c.post(f"/v1/sessions/{sid}/commands", json={"command": "start", "target": "A"}, headers=intruder)
        assert r.status_code == 422 and "one writer" in r.text
        r = c.post(f"/v1/sessions/{sid}/commands", json={"command": "feed_override", "target": "A", "value": 7})
        assert r.status_code == 422
        ev = c.post(f"/v1/sessions/{sid}/step", json={"event": True}).json()
        assert ev["sim_time"] > 0
        tags = c.get(f"/v1/sessions/{sid}/tags", params={"prefix": "A."}).json()
        assert tags["A.reason"] == "held" and tags["A.execution"] == "FEED_HOLD"


def test_websocket_steps_and_realtime_reports_lag(live):
    import websockets

    with live() as srv, httpx.Client(base_url=srv.url) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]

        async def go():
            async with websockets.connect(srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws") as ws:
                first = json.loads(await ws.recv())
                assert first["initial"] and "A.execution" in first["changed"]
                await ws.send(json.dumps({"dt": 100}))
                rep = json.loads(await ws.recv())
                assert rep["sim_time"] == 100 and "plant.sim_time" in rep["changed"]
                await ws.send(json.dumps({"command": "hold", "target": "B"}))
                assert json.loads(await ws.recv())["accepted"]
                await ws.send(json.dumps({"realtime": 1000, "dt": 10, "steps": 20}))
                msgs = [json.loads(await ws.recv()) for _ in range(21)]
                done = msgs[-1]
                assert done["realtime_done"] and done["steps"] == 20
                assert done["lag_mean_ms"] < 50 and done["jitter_ms"] >= 0
                assert msgs[-2]["sim_time"] == pytest.approx(100 + 200)

        asyncio.run(go())


def test_tokens_required_for_writes(live):
    with live(tokens=["s3cret"]) as srv, httpx.Client(base_url=srv.url) as c:
        assert c.post("/v1/sessions", json={"scenario": LINE}).status_code == 401
        assert c.post("/v1/runs", json={"scenario": LINE}, headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = c.post("/v1/sessions", json={"scenario": LINE}, headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 201
        assert c.get("/v1/health").status_code == 200  # reads stay open


def test_full_queue_answers_429(live):
    big = dict(LINE, horizon=3_000_000)
    with live(limits=Limits(max_running=1, max_queued=1), workers=1) as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        codes = [c.post("/v1/runs", json={"scenario": big, "seed": s}).status_code for s in range(4)]
        assert codes[:2] == [202, 202] and 429 in codes[2:]
        for r in c.get("/v1/runs").json():
            if r["status"] in ("queued", "running"):
                c.delete(f"/v1/runs/{r['id']}")


def test_limits_reject_oversized_horizon(live):
    with live(limits=Limits(max_horizon_s=1000)) as srv, httpx.Client(base_url=srv.url) as c:
        r = c.post("/v1/sessions", json={"scenario": LINE})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "horizon"


def test_restart_after_kill_keeps_finished_runs(tmp_path):
    import socket

    def free_port():
        with socket.socket() as so:
            so.bind(("127.0.0.1", 0))
            return so.getsockname()[1]

    db = tmp_path / "srv.db"
    port = free_port()
    cmd = [sys.executable, "-m", "twin.cli", "serve", "--port", str(port), "--db", str(db), "--workers", "1"]
    url = f"http://127.0.0.1:{port}"

    def up(proc):
        for _ in range(300):
            try:
                return httpx.get(url + "/v1/health", timeout=1).json()
            except httpx.HTTPError:
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read())
                time.sleep(0.05)
        raise AssertionError("server did not start")

    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        up(p)
        with httpx.Client(base_url=url, timeout=30) as c:
            done = c.post("/v1/runs", json={"scenario": LINE}).json()["id"]
            wait_done(c, done)
            long = c.post("/v1/runs", json={"scenario": dict(LINE, horizon=30_000_000)}).json()["id"]
            for _ in range(100):
                if c.get(f"/v1/runs/{long}").json()["status"] == "running":
                    break
                time.sleep(0.05)
            kpis = c.get(f"/v1/runs/{done}/kpis").json()
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        up(p)
        with httpx.Client(base_url=url, timeout=30) as c:
            assert c.get(f"/v1/runs/{done}/kpis").json() == kpis
            assert c.get(f"/v1/runs/{long}").json()["status"] == "interrupted"
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(timeout=10)


def _children(pid: int) -> set[int]:
    kids = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids |= {int(k) for k in (task / "children").read_text().split()}
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker processes from /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopped_server_leaves_no_workers(tmp_path, sig):
    """SIGTERM: the server stops its workers and marks its running run interrupted at once.
    SIGKILL: the orphaned workers notice the server is gone and exit by themselves."""
    import socket

    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]
    db = tmp_path / "srv.db"
    url = f"http://127.0.0.1:{port}"
    p = subprocess.Popen([sys.executable, "-m", "twin.cli", "serve", "--port", str(port), "--db", str(db), "--workers", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    workers: set[int] = set()
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                assert p.poll() is None, p.stderr.read()
                time.sleep(0.05)
        with httpx.Client(base_url=url, timeout=30) as c:
            long = c.post("/v1/runs", json={"scenario": dict(LINE, horizon=30_000_000)}).json()["id"]
            for _ in range(200):
                if c.get(f"/v1/runs/{long}").json()["status"] == "running":
                    break
                time.sleep(0.05)
        workers = _children(p.pid)
        assert workers
        p.send_signal(sig)  # the server alone, not its process group
        p.wait(timeout=20)
        if sig == signal.SIGKILL:  # the orphans notice on their own, within half a second
            for _ in range(100):
                if not any(_alive(w) for w in workers):
                    break
                time.sleep(0.1)
        assert not any(_alive(w) for w in workers)  # after SIGTERM: stopped before the server exits
        if sig == signal.SIGTERM:
            from twin.store import Store

            row = Store(db).get_run(long)
            assert row["status"] == "interrupted" and "server stopped" in row["error"]
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def test_compare_endpoint_gives_paired_verdict(live):
    cand = dict(LINE, buffers={"AB": {"capacity": 10, "between": ["A", "B"]}})
    with live() as srv, httpx.Client(base_url=srv.url, timeout=120) as c:
        r = c.post("/v1/compare", json={"baseline": LINE, "candidate": cand, "replications": 5,
                                         "gates": ["throughput_per_hour >= 0", "wip_mean <= 0"]})
        assert r.status_code == 200, r.text
        rep = r.json()
        thr = rep["kpis"]["line.throughput_per_hour"]
        assert thr["delta"] > 0 and thr["half_width"] < thr["half_width_independent"]
        gates = {g["gate"]: g["pass"] for g in rep["gates"]}
        assert gates["throughput_per_hour >= 0"] and not gates["wip_mean <= 0"]
        assert rep["pass"] is False
        bad = c.post("/v1/compare", json={"baseline": LINE, "candidate": cand, "gates": ["oee is fine"]})
        assert bad.status_code == 422 and bad.json()["detail"][0]["path"] == "gates[0]"


def test_run_websocket_streams_progress_then_kpis(live):
    import websockets

    with live() as srv, httpx.Client(base_url=srv.url) as c:
        rid = c.post("/v1/runs", json={"scenario": dict(LINE, horizon=400000)}).json()["id"]

        async def go():
            msgs = []
            async with websockets.connect(srv.url.replace("http", "ws") + f"/v1/runs/{rid}/ws") as ws:
                async for m in ws:
                    msgs.append(json.loads(m))
            return msgs

        msgs = asyncio.run(go())
        assert msgs[-1]["status"] == "done" and msgs[-1]["kpis"]["line"]["parts_completed"] > 0
        prog = [m["progress"] for m in msgs]
        assert prog == sorted(prog)


def test_run_tables_serve_physics_pools_and_transports(live):
    """A run with AGVs and a crew: its transport record and pool log are served as tables, equal
    to a local run's (NaN/inf in JSON as null)."""
    sc = {"name": "tables", "horizon": 7200, "seed": 2, "crews": {"fitters": {"size": 1}},
          "stations": {"A": {"process_time": 60, "layout": {"x": 0, "y": 0},
                             "failures": [{"basis": "calendar", "availability": 0.9, "mttr": 300, "crew": "fitters"}]},
                       "B": {"process_time": 50, "layout": {"x": 8, "y": 6}},
                       "AGV": {"kind": "agv_fleet", "vehicles": 1, "speed": 1.0}},
          "buffers": {"T": {"kind": "agv", "fleet": "AGV", "between": ["A", "B"], "capacity": 2}},
          "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}
    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        rid = c.post("/v1/runs", json={"scenario": sc}).json()["id"]
        assert wait_done(c, rid)["status"] == "done"
        tables = c.get(f"/v1/runs/{rid}/tables").json()["tables"]
        assert {"events", "pools", "physics_AGV"} <= set(tables)
        local = twin.simulate(twin.parse_scenario(sc)).extra_tables["physics_AGV"].to_pandas()
        page = c.get(f"/v1/runs/{rid}/tables/physics_AGV", params={"limit": 100000}).json()
        assert page["total"] == len(local) and all(r["loaded_m"] == pytest.approx(10.0) for r in page["rows"])
        pools = c.get(f"/v1/runs/{rid}/tables/pools", params={"format": "parquet"}).content
        assert pq.read_table(io.BytesIO(pools)).num_rows == tables["pools"]["rows"]
        missing = c.get(f"/v1/runs/{rid}/tables/..%2Fmeta")
        assert missing.status_code == 404
        assert c.get(f"/v1/runs/{rid}/kpis").json()["pools"]["fitters"]["requests"] > 0


def test_runs_and_compare_choose_the_engine(live):
    """``engine`` on POST /v1/runs and /v1/compare: the compiled engine gives the SimPy engine's
    KPIs (same logs by construction), ``auto`` says why it fell back, ``compiled`` on a scenario
    outside its subset is a 422 naming the field, a session refuses the field (lockstep is SimPy)."""
    with live() as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        a = c.post("/v1/runs", json={"scenario": LINE, "seed": 3, "engine": "compiled"})
        assert a.status_code == 202 and a.json()["engine"] == "compiled", a.text
        row = wait_done(c, a.json()["id"])
        assert row["status"] == "done", row
        k = c.get(f"/v1/runs/{a.json()['id']}/kpis").json()
        local = twin.simulate(twin.parse_scenario(LINE), seed=3).kpis  # SimPy engine
        assert k["line"]["parts_completed"] == local["line"]["parts_completed"]
        assert k["stations"]["A"]["oee"] == pytest.approx(local["stations"]["A"]["oee"], rel=1e-12)
        pooled = dict(LINE, stations={**LINE["stations"], "B": {"process_time": 11, "maintenance": [
            {"name": "pm", "every": "2 h", "basis": "operating", "duration": "10 min"}]}})  # no maintenance plans in compiled
        r = c.post("/v1/runs", json={"scenario": pooled, "engine": "compiled"})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "engine", r.text
        r = c.post("/v1/runs", json={"scenario": pooled, "engine": "auto"})
        assert r.status_code == 202 and r.json()["engine"] == "simpy" and r.json()["engine_reasons"], r.text
        assert c.post("/v1/runs", json={"scenario": LINE, "engine": "numba"}).status_code == 422
        assert c.post("/v1/sessions", json={"scenario": LINE, "engine": "compiled"}).status_code == 422
        cmp = c.post("/v1/compare", json={"baseline": LINE, "candidate": dict(LINE, buffers={"AB": {"capacity": 6, "between": ["A", "B"]}}),
                                          "replications": 2, "engine": "compiled"})
        assert cmp.status_code == 200, cmp.text
        r = c.post("/v1/compare", json={"baseline": LINE, "candidate": pooled, "replications": 2, "engine": "compiled"})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "engine", r.text
        wait_done(c, c.get("/v1/runs").json()[0]["id"])
