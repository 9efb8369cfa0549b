"""API speed on loopback: lockstep round trips over HTTP and WebSocket, OPC UA tag reads, and
KPI-read latency under 50 concurrent clients.

Run: ``python -m pytest benchmarks/test_bench_api.py --benchmark-enable -s``
Targets: HTTP step median < 2 ms, WebSocket step median < 0.5 ms.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))
from conftest_helpers import LiveServer, free_port  # noqa: E402

from twin.api.app import create_app  # noqa: E402

LINE = {"name": "bench", "horizon": 1e7, "seed": 1,
        "stations": {f"S{i}": {"process_time": {"dist": "exponential", "mean": 1.0}} for i in range(5)},
        "products": {"p": {"routing": [{"station": f"S{i}"} for i in range(5)]}}}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def test_lockstep_round_trips(benchmark):
    app = create_app(db=str(Path(tempfile.mkdtemp()) / "b.db"))
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE}).json()["id"]
        http = []
        for _ in range(500):
            t = time.perf_counter()
            c.post(f"/v1/sessions/{sid}/step", json={"dt": 1.0})
            http.append((time.perf_counter() - t) * 1e3)

        async def ws_loop():
            import websockets

            lat = []
            async with websockets.connect(srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws") as ws:
                await ws.recv()
                for _ in range(1000):
                    t = time.perf_counter()
                    await ws.send('{"dt": 1.0}')
                    await ws.recv()
                    lat.append((time.perf_counter() - t) * 1e3)
            return lat

        ws = asyncio.run(ws_loop())

        rid = c.post("/v1/runs", json={"scenario": dict(LINE, horizon=3600)}).json()["id"]
        while c.get(f"/v1/runs/{rid}").json()["status"] != "done":
            time.sleep(0.05)

        async def kpi_load():
            lat = []
            async with httpx.AsyncClient(base_url=srv.url, limits=httpx.Limits(max_connections=50)) as ac:
                async def client():
                    for _ in range(10):
                        t = time.perf_counter()
                        r = await ac.get(f"/v1/runs/{rid}/kpis")
                        assert r.status_code == 200
                        lat.append((time.perf_counter() - t) * 1e3)
                await asyncio.gather(*[client() for _ in range(50)])
            return lat

        kpi = asyncio.run(kpi_load())
    benchmark.pedantic(lambda: None, rounds=1)
    info = {"http_step_median_ms": statistics.median(http), "http_step_p99_ms": pct(http, 0.99),
            "http_round_trips_per_s": 1e3 / statistics.mean(http), "ws_step_median_ms": statistics.median(ws),
            "ws_round_trips_per_s": 1e3 / statistics.mean(ws), "kpi_read_50_clients_median_ms": statistics.median(kpi),
            "kpi_read_50_clients_p99_ms": pct(kpi, 0.99)}
    benchmark.extra_info.update(info)
    print("\napi:", {k: round(v, 3) for k, v in info.items()})


def test_opcua_reads(benchmark):
    from asyncua import Client

    from twin.api.opcua import attach_opcua

    port = free_port()
    endpoint = f"opc.tcp://127.0.0.1:{port}/twin/"
    app = create_app(db=str(Path(tempfile.mkdtemp()) / "u.db"))
    attach_opcua(app, endpoint, str(Path(__file__).resolve().parents[1] / "examples" / "shaft_line.yaml"))
    with LiveServer(app):
        async def go():
            async with Client(endpoint) as c:
                idx = await c.get_namespace_index("urn:twin")
                node = await c.nodes.objects.get_child([f"{idx}:Machines", f"{idx}:L1", f"{idx}:PartsCompleted"])
                nodes = [await c.nodes.objects.get_child([f"{idx}:Machines", f"{idx}:{s}", f"{idx}:Execution"])
                         for s in ("SAW", "L1", "L2", "MILL", "DEBURR", "HT", "GRIND", "CMM", "PACK")]
                t = time.perf_counter()
                for _ in range(300):
                    await node.read_value()
                single = 300 / (time.perf_counter() - t)
                t = time.perf_counter()
                for _ in range(100):
                    await c.read_values(nodes)
                batched = 100 * len(nodes) / (time.perf_counter() - t)
                return single, batched

        single, batched = asyncio.run(go())
    benchmark.pedantic(lambda: None, rounds=1)
    benchmark.extra_info.update({"reads_per_s": single, "batched_tag_reads_per_s": batched})
    print(f"\nopcua: {single:.0f} single reads/s, {batched:.0f} tags/s in batched reads")
