"""Issue 16's round trip through the twin's own servers as the stand-in plant: a served run is
read with ``twin.live.acquire`` over OPC UA (OPC 40001 Machinery) and over MTConnect (/current),
the snapshots equal what the twin knows of itself (``snapshot_of``: states, elapsed times to the
microsecond, buffer contents), and a run started from them has the plant's WIP and states."""

import json
import socket
import time

import httpx
import pytest

import twin
from conftest_helpers import LiveServer
from twin.live.acquire import Mapping, acquire
from twin.live.snapshot import snapshot_of, start_run

LINE = {"name": "rt line", "horizon": 7 * 86400, "seed": 5,
        "calendar": {"start": "2026-11-30 06:00", "shifts": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "22:00"}]},
        "stations": {"A": {"process_time": {"dist": "exponential", "mean": 50},
                           "failures": [{"basis": "calendar", "availability": 0.9, "mttr": 600}]},
                     "B": {"process_time": {"dist": "lognormal", "mean": 55, "sd": 10},
                           "failures": [{"basis": "operating", "tbf": 3000, "ttr": 400}]},
                     "C": {"process_time": {"dist": "uniform", "low": 40, "high": 60}}},
        "buffers": {"AB": {"capacity": 6, "between": ["A", "B"]}, "BC": {"capacity": 6, "between": ["B", "C"]}},
        "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}, {"station": "C"}]}}}
OPC_MAP = Mapping(timezone="UTC", buffers={b: {"item": f"Buffers/{b}/Level", "product": "p"} for b in ("AB", "BC")})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _times_to_check() -> list[float]:
    """Sim times where the line shows what a snapshot must carry: a station down, and one with
    every station processing and a buffer full (found on an independent run of the same seed)."""
    run = twin.Run(twin.parse_scenario(LINE))
    down = full = None
    t = 3 * 3600.0
    while (down is None or full is None) and t < 14 * 3600:
        t += 97.0
        run.run_until(t)
        tags = run.tags()
        if down is None and any(tags[f"{s}.item_state"] == "OutOfService" for s in "AB"):
            down = t
        if full is None and all(tags[f"{s}.item_state"] == "Executing" for s in "ABC") and tags["AB.level"] == 6:
            full = t
    assert down and full
    return sorted([down, full])


def _states(snap) -> dict:
    return {name: (st.state, None if st.elapsed is None else round(st.elapsed, 5)) for name, st in (snap.stations or {}).items()
            if st.state != "idle"}


def _levels(snap) -> dict:
    return {b: sum(r.count for r in rows) for b, rows in (snap.buffers or {}).items() if sum(r.count for r in rows)}


def test_snapshots_through_opcua_and_mtconnect_reproduce_the_plant(tmp_path):
    from twin.api.app import create_app
    from twin.api.mtconnect import attach_mtconnect
    from twin.api.opcua import attach_opcua
    from twin.api.realtime import served_session

    path = tmp_path / "line.json"
    path.write_text(json.dumps(LINE))
    app = create_app(db=str(tmp_path / "rt.db"), workers=1)
    port = _free_port()
    attach_opcua(app, f"opc.tcp://127.0.0.1:{port}/twin/", str(path))
    s = served_session(app)
    agent = attach_mtconnect(app, "127.0.0.1", 0, s)
    sc = twin.parse_scenario(LINE)
    seen = set()
    with LiveServer(app) as srv:
        for t in _times_to_check():
            r = httpx.post(f"{srv.url}/v1/sessions/{s.id}/step", json={"until": t}, timeout=60)
            assert r.status_code == 200, r.text
            truth = snapshot_of(s.run)  # what the twin knows of itself (the session is not stepped again)
            deadline = time.monotonic() + 20
            while True:  # the servers follow the session within a fraction of a second
                opc = acquire(f"opc.tcp://127.0.0.1:{port}/twin/", sc, OPC_MAP)
                mtc = acquire(f"http://127.0.0.1:{agent.port}", sc, Mapping(timezone="UTC"))
                if opc.time == mtc.time == truth.time or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert opc.time == mtc.time == truth.time  # the servers' clocks are the plant's (sim) clock
            want = _states(truth)
            assert _states(opc) == want, (t, _states(opc), want)
            assert _states(mtc) == want, (t, _states(mtc), want)
            assert _levels(opc) == _levels(truth)  # OPC UA: the buffers through the mapping's browse paths
            # started from the OPC UA snapshot: the plant's WIP, and its stations in the same states
            started = start_run(sc, opc, seed=1)
            assert started.wip == s.run.wip
            for name in sc.stations:
                assert started.stations[name].tags()["item_state"] == s.run.stations[name].tags()["item_state"], (t, name)
            # MTConnect has no buffer element: the same states, WIP in the machines only
            started = start_run(sc, mtc, seed=1)
            assert started.wip == s.run.wip - sum(_levels(truth).values())
            seen.update(st for st, _ in want.values())
        assert {"down", "processing"} <= seen  # a failure and processing were carried through both servers
