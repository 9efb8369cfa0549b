"""Bounded load test of ``twin serve`` on loopback (issue 13, "done when").

Starts ``twin serve`` with identities on a fresh database, then runs N concurrent clients for a
while, a mix of what the server sees in a lab:

* runners: start short runs (POST /v1/runs), follow them to the end, cancel some;
* steppers: create a lockstep session, step it over HTTP, write commands, close it;
* streamers: step a session over its WebSocket, including a realtime stream they stop;
* page loaders: load the monitoring page (/, its script and style, the demo session, its KPIs);
* readers: health, run and session lists with a read-only identity.

It records every request's outcome (an answer, or an error/timeout: "unanswered"), the server's
memory (RSS of the server and its workers) over time, and at the end stops the server (SIGTERM,
or SIGKILL of the server process alone) and checks the database: every run must be in a
terminal state, also after ``kill -9`` (the workers end their server's runs when it dies).

    python benchmarks/loadtest.py --clients 50 --duration 180 --stop kill
    python benchmarks/loadtest.py --clients 50 --duration 180 --stop term

Exit status 0 if every admitted request was answered, no 5xx, no run was left active, and the
server process's memory stayed flat (RSS up by at most 10 % over the second half of the load).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

LINE = {"name": "load line", "horizon": 20000, "seed": 5,
        "stations": {"A": {"process_time": {"dist": "exponential", "mean": 10}, "failures": [{"basis": "calendar", "availability": 0.95, "mttr": 100}]},
                     "B": {"process_time": {"dist": "exponential", "mean": 11}}},
        "buffers": {"AB": {"capacity": 3, "between": ["A", "B"]}},
        "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}
WRITER, READER = "load-writer-secret-0123456789", "load-reader-secret-0123456789"
ACTIVE = ("queued", "running", "cancelling")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stats:
    def __init__(self):
        self.codes: Counter = Counter()
        self.unanswered: Counter = Counter()
        self.health_ms: list[float] = []
        self.rss: list[tuple[float, float]] = []
        self.rss_server: list[tuple[float, float]] = []
        self.ws_messages = 0

    def code(self, what: str, status: int) -> None:
        self.codes[(what, status)] += 1

    def lost(self, what: str, exc: Exception) -> None:
        self.unanswered[(what, type(exc).__name__)] += 1


def rss_mb(pid: int, children: bool = True) -> float:
    """RSS of the server (and its children) [MB] from /proc."""
    total = 0
    pids = [pid]
    if not children:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return 0.0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(k) for k in (task / "children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def call(st: Stats, what: str, coro):
    try:
        r = await coro
    except Exception as e:  # timeouts, resets: the server did not answer
        st.lost(what, e)
        return None
    st.code(what, r.status_code)
    return r


async def runner(c: httpx.AsyncClient, st: Stats, end: float, rng: random.Random):
    while time.monotonic() < end:
        r = await call(st, "POST /runs", c.post("/v1/runs", json={"scenario": dict(LINE, horizon=rng.choice([5000, 20000, 200000])),
                                                                  "seed": rng.randrange(1000)}))
        if r is None or r.status_code != 202:
            await asyncio.sleep(0.5 + rng.random())
            continue
        rid = r.json()["id"]
        cancel = rng.random() < 0.3
        while time.monotonic() < end + 30:
            g = await call(st, "GET /runs/{id}", c.get(f"/v1/runs/{rid}"))
            if g is not None and g.status_code == 200 and g.json()["status"] not in ACTIVE:
                if g.json()["status"] == "done":
                    await call(st, "GET kpis", c.get(f"/v1/runs/{rid}/kpis"))
                break
            if cancel:
                await call(st, "POST cancel", c.post(f"/v1/runs/{rid}/cancel"))
                cancel = False
            await asyncio.sleep(0.3)


async def stepper(c: httpx.AsyncClient, st: Stats, end: float, rng: random.Random):
    while time.monotonic() < end:
        r = await call(st, "POST /sessions", c.post("/v1/sessions", json={"scenario": LINE}))
        if r is None or r.status_code != 201:
            await asyncio.sleep(1 + rng.random())
            continue
        sid = r.json()["id"]
        for k in range(rng.randint(10, 40)):
            if time.monotonic() > end:
                break
            await call(st, "POST step", c.post(f"/v1/sessions/{sid}/step", json={"dt": rng.choice([10, 60, 600])}))
            if k % 7 == 3:
                await call(st, "POST command", c.post(f"/v1/sessions/{sid}/commands",
                                                      json={"command": rng.choice(["hold", "start"]), "target": "A"}))
            if k % 11 == 5:
                await call(st, "GET tags", c.get(f"/v1/sessions/{sid}/tags", params={"prefix": "A."}))
        await call(st, "DELETE session", c.delete(f"/v1/sessions/{sid}"))


async def streamer(c: httpx.AsyncClient, st: Stats, end: float, rng: random.Random, ws_url: str):
    import websockets

    while time.monotonic() < end:
        r = await call(st, "POST /sessions", c.post("/v1/sessions", json={"scenario": LINE}))
        if r is None or r.status_code != 201:
            await asyncio.sleep(1 + rng.random())
            continue
        sid = r.json()["id"]
        try:
            async with websockets.connect(f"{ws_url}/v1/sessions/{sid}/ws", additional_headers={"Authorization": f"Bearer {WRITER}"}) as ws:
                await asyncio.wait_for(ws.recv(), 30)
                for _ in range(rng.randint(5, 30)):
                    await ws.send(json.dumps({"dt": 30}))
                    await asyncio.wait_for(ws.recv(), 30)
                    st.ws_messages += 1
                await ws.send(json.dumps({"realtime": 600, "dt": 60, "steps": 1000}))
                await asyncio.sleep(rng.random())
                await ws.send(json.dumps({"stop": True}))
                while not json.loads(await asyncio.wait_for(ws.recv(), 30)).get("realtime_done"):
                    st.ws_messages += 1
                st.code("WS session", 200)
        except Exception as e:
            st.lost("WS session", e)
        await call(st, "DELETE session", c.delete(f"/v1/sessions/{sid}"))


async def page_loader(c: httpx.AsyncClient, st: Stats, end: float, rng: random.Random):
    while time.monotonic() < end:
        for path in ("/", "/static/monitor.js", "/static/monitor.css"):
            await call(st, "GET page", c.get(path))
        r = await call(st, "POST demo", c.post("/v1/sessions/demo"))
        if r is not None and r.status_code == 201:
            await call(st, "GET kpis(session)", c.get(f"/v1/sessions/{r.json()['id']}/kpis"))
        await asyncio.sleep(0.5 + rng.random())


async def reader(c: httpx.AsyncClient, st: Stats, end: float, rng: random.Random):
    while time.monotonic() < end:
        t = time.perf_counter()
        r = await call(st, "GET health", c.get("/v1/health"))
        if r is not None:
            st.health_ms.append((time.perf_counter() - t) * 1e3)
        await call(st, "GET /runs", c.get("/v1/runs", params={"limit": 20}))
        await call(st, "GET /sessions", c.get("/v1/sessions"))
        await asyncio.sleep(0.2 + 0.3 * rng.random())


async def load(url: str, pid: int, clients: int, duration: float, st: Stats, seed: int = 1):
    rng = random.Random(seed)
    end = time.monotonic() + duration
    roles = [runner, stepper, streamer, page_loader, reader]
    # idle connections are dropped before uvicorn's 5 s keep-alive ends them: otherwise a request
    # can race the server's close (a client-side race, not an unanswered request)
    limits = httpx.Limits(max_connections=clients * 2, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers={"Authorization": f"Bearer {WRITER}"}) as w, \
            httpx.AsyncClient(base_url=url, timeout=60, limits=limits, headers={"Authorization": f"Bearer {READER}"}) as ro:
        async def sample():
            t0 = time.monotonic()
            while time.monotonic() < end:
                st.rss.append((time.monotonic() - t0, rss_mb(pid)))
                st.rss_server.append((time.monotonic() - t0, rss_mb(pid, children=False)))
                await asyncio.sleep(2.0)

        tasks = [asyncio.create_task(sample())]
        for i in range(clients):
            role = roles[i % len(roles)]
            r = random.Random(rng.random())
            if role is reader:
                tasks.append(asyncio.create_task(reader(ro, st, end, r)))
            elif role is streamer:
                tasks.append(asyncio.create_task(streamer(w, st, end, r, url.replace("http", "ws"))))
            else:
                tasks.append(asyncio.create_task(role(w, st, end, r)))
        await asyncio.gather(*tasks)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=180.0, help="seconds of load")
    ap.add_argument("--stop", choices=["kill", "term"], default="kill", help="how the server is stopped at the end")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", default=None, help="database (default: a fresh SQLite file); a postgresql:// URL works")
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="twin-load-"))
    db = a.db or str(tmp / "load.db")
    tokens = tmp / "tokens.json"
    tokens.write_text(json.dumps({"loader": {"secret": WRITER}, "viewer": {"secret": READER, "rights": ["read"]}}))
    tokens.chmod(0o600)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "twin.cli", "serve", "--port", str(port), "--db", db, "--tokens", str(tokens),
           "--workers", str(a.workers), "--max-sessions", "64"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "w"), start_new_session=True)
    try:
        for _ in range(600):
            try:
                httpx.get(url + "/v1/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        st = Stats()
        idle = []  # the same health call with no load: what the machine gives right now
        with httpx.Client(base_url=url, timeout=30) as c:
            for _ in range(40):
                t = time.perf_counter()
                c.get("/v1/health")
                idle.append((time.perf_counter() - t) * 1e3)
                time.sleep(0.05)
        t0 = time.perf_counter()
        asyncio.run(load(url, p.pid, a.clients, a.duration, st))
        wall = time.perf_counter() - t0
        # stop with work in flight: long runs running and queued when the server goes down
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {WRITER}"}) as c:
            for k in range(a.workers + 2):
                st.code("POST /runs (in flight)", c.post("/v1/runs", json={"scenario": dict(LINE, horizon=30_000_000), "seed": k}).status_code)
            time.sleep(1.0)
        from twin.store import Store

        store = Store(db, data_dir=tmp / "check-data")
        active_before_stop = sum(1 for r in store.list_runs(limit=100000) if r["status"] in ACTIVE)
        if a.stop == "kill":
            p.send_signal(signal.SIGKILL)  # the server process alone: its workers must notice
        else:
            p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
        for _ in range(50):  # the workers end the killed server's runs within half a second
            rows = store.list_runs(limit=100000)
            if not any(r["status"] in ACTIVE for r in rows):
                break
            time.sleep(0.1)
        by_status = Counter(r["status"] for r in rows)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        try:
            os.killpg(p.pid, signal.SIGKILL)  # leftovers of the group, if any
        except ProcessLookupError:
            pass
    answered = sum(st.codes.values())
    lost = sum(st.unanswered.values())
    five = sum(n for (w, code), n in st.codes.items() if code >= 500)
    rss = st.rss
    quarter = [m for t, m in rss if t >= rss[-1][0] * 0.25] if rss else []
    slope = 0.0
    if len(quarter) > 2:
        ts = [t for t, m in rss if t >= rss[-1][0] * 0.25]
        mt, mm = statistics.fmean(ts), statistics.fmean(quarter)
        slope = sum((t - mt) * (m - mm) for t, m in zip(ts, quarter)) / sum((t - mt) ** 2 for t in ts) * 60
    print(f"load: {a.clients} clients, {wall:.0f} s, {answered} requests answered ({answered / wall:.0f}/s), "
          f"{lost} unanswered, {five} 5xx, {st.ws_messages} WebSocket step replies")
    print("answers:", ", ".join(f"{w} {c}: {n}" for (w, c), n in sorted(st.codes.items())))
    if st.unanswered:
        print("unanswered:", dict(st.unanswered))
    if st.health_ms:
        hs = sorted(st.health_ms)
        print(f"health latency idle (before the load): median {statistics.median(idle):.1f} ms, max {max(idle):.1f} ms; "
              f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"health latency under load: median {statistics.median(hs):.1f} ms, p99 {hs[int(0.99 * (len(hs) - 1))]:.1f} ms, max {hs[-1]:.1f} ms")
    if rss:
        print(f"memory (server + workers RSS): start {rss[0][1]:.0f} MB, after 25% {quarter[0]:.0f} MB, end {rss[-1][1]:.0f} MB, "
              f"max {max(m for _, m in rss):.0f} MB; slope over the last 75%: {slope:+.1f} MB/min")
    if st.rss_server:
        marks = [st.rss_server[int(i * (len(st.rss_server) - 1) / 6)] for i in range(7)]
        print("server process RSS over time:", ", ".join(f"{t:.0f} s {m:.0f} MB" for t, m in marks))
    print(f"runs active just before stop: {active_before_stop}; after {a.stop}: {dict(by_status)}")
    grew = False
    if len(st.rss_server) > 4:  # memory flat: the server process over the second half of the load
        half = [m for t, m in st.rss_server if t >= st.rss_server[-1][0] / 2]
        growth = (half[-1] - half[0]) / half[0]
        grew = growth > 0.10
        print(f"server RSS over the second half: {half[0]:.0f} -> {half[-1]:.0f} MB ({growth:+.1%}; more than +10 % fails)")
    bad = lost or five or any(s in ACTIVE for s in by_status) or grew
    print("RESULT:", "FAIL" if bad else "PASS")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
