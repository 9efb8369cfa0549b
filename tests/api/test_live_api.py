"""The live twin over HTTP (issue 16): a lockstep session's checkpoint restored as a new session
continues bit-identically; a forecast from a plant snapshot."""

import json

import httpx
import pytest

import twin
from conftest_helpers import LINE
from twin.live.checkpoint import restore


def test_session_checkpoint_restores_bit_identically(live):
    with live(tokens=["plc=plc-secret"]) as srv, httpx.Client(base_url=srv.url, timeout=60,
                                                            headers={"Authorization": "Bearer plc-secret"}) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE, "seed": 9}).json()["id"]
        c.post(f"/v1/sessions/{sid}/step", json={"dt": 1500})
        assert c.post(f"/v1/sessions/{sid}/commands", json={"command": "hold", "target": "A"}).status_code == 200
        c.post(f"/v1/sessions/{sid}/step", json={"dt": 700})
        assert c.post(f"/v1/sessions/{sid}/commands", json={"command": "start", "target": "A"}).status_code == 200
        c.post(f"/v1/sessions/{sid}/step", json={"dt": 300})
        r = c.get(f"/v1/sessions/{sid}/checkpoint")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        ck = r.json()
        assert ck["format"] == "twin-checkpoint" and ck["t"] == 2500.0 and len(ck["journal"]) == 2
        # the Python API continues the HTTP checkpoint to the horizon exactly as the session does
        local = restore(ck)
        local.run_until(20000)
        new = c.post("/v1/sessions/restore", json={"checkpoint": ck})
        assert new.status_code == 201, new.text
        nid = new.json()["id"]
        assert new.json()["sim_time"] == 2500.0
        for s in (sid, nid):
            c.post(f"/v1/sessions/{s}/step", json={"until": 20000})
        k_old, k_new = c.get(f"/v1/sessions/{sid}/kpis").json(), c.get(f"/v1/sessions/{nid}/kpis").json()
        assert k_old == k_new
        assert k_new["line"]["parts_completed"] == local.sink.completed
        # the commands are part of the state: the restored session has the same command log
        assert c.get(f"/v1/sessions/{sid}/commands").json() == c.get(f"/v1/sessions/{nid}/commands").json()
        # a checkpoint that does not replay to its digest, or is not one, is refused naming the field
        bad = dict(ck, digest="0" * 64)
        r = c.post("/v1/sessions/restore", json={"checkpoint": bad})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "checkpoint.digest", r.text
        r = c.post("/v1/sessions/restore", json={"checkpoint": dict(ck, format="x")})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "checkpoint.format", r.text
        r = c.post("/v1/sessions/restore", json={"checkpoint": dict(ck, scenario=dict(LINE, horizon="2 kg"))})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "checkpoint.scenario.horizon", r.text
        r = c.post("/v1/sessions/restore", json={"checkpoint": ck, "horizon": 100})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "checkpoint.horizon", r.text
        # a later horizon continues past the old one
        r = c.post("/v1/sessions/restore", json={"checkpoint": ck, "horizon": 30000})
        assert r.status_code == 201 and r.json()["horizon"] == 30000
        assert httpx.get(f"{srv.url}/v1/sessions/{sid}/checkpoint").status_code == 401  # reads need a token


def test_forecast_endpoint(live):
    sc = twin.parse_scenario(LINE)
    plant = twin.Run(sc, seed=77)
    plant.run_until(5000)
    from twin.live.snapshot import snapshot_of

    snap = json.loads(json.dumps(snapshot_of(plant).dump(), default=str))
    with live() as srv, httpx.Client(base_url=srv.url, timeout=120) as c:
        r = c.post("/v1/forecast", json={"scenario": LINE, "snapshot": snap, "until": "+2 h", "replications": 19})
        assert r.status_code == 200, r.text
        f = r.json()
        from twin.live.forecast import forecast

        local = forecast(sc, snap, "+2 h", replications=19)
        assert f["outputs"] == local.outputs  # the same runs as the Python API
        assert f["coverage"] == pytest.approx(0.9) and f["output_interval"][0] <= f["output_mean"] <= f["output_interval"][1]
        # 2 h of a line at ~1 part / 11.5 s: about 600 parts
        assert 450 < f["output_mean"] < 700
        bad = json.loads(json.dumps(snap))
        bad["stations"] = {"NOPE": {"state": "idle"}}
        r = c.post("/v1/forecast", json={"scenario": LINE, "snapshot": bad, "until": "+2 h"})
        assert r.status_code == 422 and r.json()["detail"][0]["path"].startswith("snapshot.stations"), r.text
        r = c.post("/v1/forecast", json={"scenario": LINE, "snapshot": snap, "until": "yesterday"})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "until", r.text
        r = c.post("/v1/forecast", json={"scenario": LINE, "snapshot": snap, "until": "+2 h", "replications": 10_000})
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "replications", r.text
