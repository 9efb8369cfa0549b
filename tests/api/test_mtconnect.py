"""The MTConnect 2.0 agent: documents that follow the standard, buffer and sequence semantics,
no observation lost by a client that resumes from nextSequence, errors, streams, a client this
project did not write (pymtconnect)."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import mtconnect_check as chk  # noqa: E402
from mtc_fixtures import FAILING_LINE, get, physics_line, scenario_file, served, sim_seconds, wait_sim  # noqa: E402

# the state map of docs/api.md, written out here independently of the agent's code:
# twin state code -> (Availability, Execution, ControllerMode, SYSTEM condition level)
STATE_MAP = {
    "PROCESSING": ("AVAILABLE", "ACTIVE", "AUTOMATIC", "Normal"),
    "SETUP": ("AVAILABLE", "ACTIVE", "AUTOMATIC", "Normal"),
    "STARVED": ("AVAILABLE", "READY", "AUTOMATIC", "Normal"),
    "BLOCKED": ("AVAILABLE", "WAIT", "AUTOMATIC", "Normal"),
    "HELD": ("AVAILABLE", "FEED_HOLD", "AUTOMATIC", "Normal"),
    "FAILURE": ("AVAILABLE", "INTERRUPTED", "MANUAL", "Fault"),
    "PLANNED_MAINTENANCE": ("AVAILABLE", "STOPPED", "MANUAL", "Normal"),
    "BREAK": ("UNAVAILABLE", "STOPPED", "AUTOMATIC", "Normal"),
    "OFF_SHIFT": ("UNAVAILABLE", "STOPPED", "AUTOMATIC", "Normal"),
}


@pytest.fixture(scope="module")
def physics(tmp_path_factory):
    """One live physics line for the tests that only read (a server start costs seconds)."""
    tmp_path = tmp_path_factory.mktemp("physics")
    with served(tmp_path, physics_line(tmp_path), scale=1800.0) as p:
        wait_sim(p.session, 3600.0)
        yield p


def test_every_document_follows_the_mtconnect_2_schema(physics):
    p = physics
    items = chk.check_devices(get(p.url + "/probe").content)
    devices = {d["device"] for d in items.values()}
    assert devices == set(p.session.run.stations)
    by_dev = {}
    for i, d in items.items():
        by_dev.setdefault(d["device"], {}).setdefault(d["type"], []).append(d)
    for name, types in by_dev.items():
        for t in ("AVAILABILITY", "EXECUTION", "CONTROLLER_MODE", "PART_COUNT", "PROGRAM", "SYSTEM"):
            assert t in types, f"{name} lacks {t}"
        assert {d.get("subType") for d in types["PART_COUNT"]} == {"ALL", "GOOD", "BAD"}
        machining = name in ("L1", "L2", "MILL")
        assert ("ROTARY_VELOCITY" in types) == machining and ("LOAD" in types) == machining
        if machining:
            assert types["ROTARY_VELOCITY"][0]["units"] == "REVOLUTION/MINUTE" and types["LOAD"][0]["units"] == "PERCENT"
            assert types["PATH_FEEDRATE_OVERRIDE"][0]["units"] == "PERCENT"
    # current: every data item exactly once
    h, obs = chk.check_streams(get(p.url + "/current").content, items)
    assert sorted(o["item"] for o in obs) == sorted(items)
    assert h["nextSequence"] == h["lastSequence"] + 1
    # sample from the start of the buffer
    h2, obs2 = chk.check_streams(get(p.url + "/sample", params={"count": 1000}).content, items)
    assert [o["seq"] for o in sorted(obs2, key=lambda o: o["seq"])] == list(range(h2["firstSequence"], h2["firstSequence"] + len(obs2)))
    # the plant works: lathes turned, counted parts, spun their spindles
    latest = {o["item"]: o for o in obs}
    assert int(latest["L1_pc_all"]["value"]) > 0
    assert latest["L1_program"]["value"] == "shaft"  # the product on the lathe: its NC program
    assert any(float(o["value"]) > 0 for o in obs2 if o["item"] == "L1_speed") or float(latest["L1_speed"]["value"]) >= 0
    # timestamps are simulated time on the scenario's calendar (Monday 06:00 = sim time 0)
    assert p.agent.epoch.isoformat().startswith("2024-01-01T06:00")
    for o in obs:
        assert 0.0 <= sim_seconds(p.agent, o["timestamp"]) <= p.session.run.now + 1e-6
    # cutting tools with tool life from the wear model
    tools = chk.check_assets(get(p.url + "/assets").content)
    ns = chk.NS["Assets"]
    ids = {a.get("assetId") for a in tools}
    assert ids == {f"{s}.{t}" for s in ("L1", "L2") for t in ("ROUGH", "FINISH")} | {"MILL.KEY", "MILL.DRILL"}
    used = 0
    for a in tools:
        life = a.find(f"{{{ns}}}CuttingToolLifeCycle/{{{ns}}}ToolLife")
        assert life.get("type") == "WEAR" and float(life.get("limit")) == pytest.approx(0.3)
        assert 0.0 <= float(life.text) <= 0.3 * 1.5
        used += float(life.text) > 0
    assert used >= 2  # an hour of production wears the tools
    one = chk.check_assets(get(p.url + "/asset/L1.ROUGH").content)
    assert [a.get("assetId") for a in one] == ["L1.ROUGH"]


def test_per_device_forms_and_formats(physics):
    p = physics
    items = chk.check_devices(get(p.url + "/L1/probe").content)
    assert {d["device"] for d in items.values()} == {"L1"}
    assert chk.check_devices(get(p.url + "/L1").content) == items
    uuid = p.agent.devices[1].uuid
    assert chk.check_devices(get(p.url + f"/{uuid}/probe").content) == items
    all_items = chk.check_devices(get(p.url + "/probe").content)
    _, obs = chk.check_streams(get(p.url + "/L1/current").content, all_items)
    assert {o["device"] for o in obs} == {"L1"} and len(obs) == len(items)
    _, obs = chk.check_streams(get(p.url + "/L1/sample", params={"count": 50}).content, all_items)
    assert obs and {o["device"] for o in obs} == {"L1"}
    # JSON (cppagent's version 2) carries the same observations as XML, at a frozen sequence
    h, _ = chk.check_streams(get(p.url + "/current").content, all_items)
    at = h["lastSequence"]
    _, xml_obs = chk.check_streams(get(p.url + "/current", params={"at": at}).content, all_items)
    for kw in ({"params": {"at": at, "format": "json"}}, {"params": {"at": at}, "headers": {"Accept": "application/json"}}):
        r = get(p.url + "/current", **kw)
        assert r.headers["content-type"] == "application/json"
        doc = r.json()["MTConnectStreams"]
        assert doc["jsonVersion"] == 2 and doc["Header"]["nextSequence"] == at + 1
        js = {}
        for ds in doc["Streams"]["DeviceStream"]:
            for cs in ds.get("ComponentStream", []):
                for g in ("Samples", "Events", "Condition"):
                    for el, lst in cs.get(g, {}).items():
                        for o in lst:
                            js[o["sequence"]] = (el, o["dataItemId"], o.get("value"))
        assert js == {o["seq"]: (o["tag"], o["item"], o["value"]) for o in xml_obs}
    assert get(p.url + "/probe", params={"format": "json"}).json()["MTConnectDevices"]["Devices"]["Device"][0]["name"] == "SAW"
    # asset selections
    ids = lambda r: sorted(a.get("assetId") for a in chk.check_assets(r.content))  # noqa: E731
    assert ids(get(p.url + "/L1/assets")) == ["L1.FINISH", "L1.ROUGH"]
    assert ids(get(p.url + "/assets", params={"device": "MILL"})) == ["MILL.DRILL", "MILL.KEY"]
    assert ids(get(p.url + "/assets", params={"type": "Fixture"})) == []
    assert len(ids(get(p.url + "/assets", params={"count": 1}))) == 1
    assert ids(get(p.url + "/asset/L2.ROUGH;MILL.KEY")) == ["L2.ROUGH", "MILL.KEY"]
    assert get(p.url + "/SAW/assets").status_code == 200 and ids(get(p.url + "/SAW/assets")) == []
    js = get(p.url + "/asset/L1.ROUGH", params={"format": "json"}).json()["MTConnectAssets"]
    tool = js["Assets"]["CuttingTool"][0]
    assert tool["assetId"] == "L1.ROUGH" and tool["CuttingToolLifeCycle"]["ToolLife"][0]["type"] == "WEAR"


def test_path_filter_selects_data_items(physics):
    p = physics
    items = chk.check_devices(get(p.url + "/probe").content)
    cases = {
        '//DataItem[@type="EXECUTION"]': {i for i, d in items.items() if d["type"] == "EXECUTION"},
        "//Device[@name='L1']//Rotary": {"L1_rmode", "L1_speed", "L1_load"},
        "//Path//DataItem[@category='EVENT'][@subType='GOOD']": {i for i, d in items.items() if d.get("subType") == "GOOD"},
        '/MTConnectDevices/Devices/Device[@name="SAW"]': {i for i, d in items.items() if d["device"] == "SAW"},
        "//Controller/DataItems/DataItem": {i for i, d in items.items() if d["component"] == "Controller"},
    }
    for path, want in cases.items():
        _, obs = chk.check_streams(get(p.url + "/current", params={"path": path}).content, items)
        assert {o["item"] for o in obs} == want, path
        _, obs = chk.check_streams(get(p.url + "/sample", params={"path": path, "count": 200}).content, items)
        assert {o["item"] for o in obs} <= want, path
    _, obs = chk.check_streams(get(p.url + "/L2/current", params={"path": '//DataItem[@type="EXECUTION"]'}).content, items)
    assert [o["item"] for o in obs] == ["L2_exec"]


def _error(r: httpx.Response, status: int, code: str, word: str) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    errs = chk.check_error(r.content)
    assert errs[0][0] == code, errs
    assert word in errs[0][1], errs


def test_errors_name_the_parameter(tmp_path):
    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE), buffer=100) as p:
        u = p.url
        h, _ = chk.check_streams(get(u + "/current").content, chk.check_devices(get(u + "/probe").content))
        first, nxt = h["firstSequence"], h["nextSequence"]
        _error(get(u + "/NOPE/current"), 404, "NO_DEVICE", "NOPE")
        _error(get(u + "/NOPE"), 404, "NO_DEVICE", "NOPE")
        _error(get(u + "/sample", params={"from": nxt + 1}), 400, "OUT_OF_RANGE", "from")
        _error(get(u + "/sample", params={"from": -1}), 400, "OUT_OF_RANGE", "from")
        _error(get(u + "/sample", params={"from": "abc"}), 400, "INVALID_REQUEST", "from")
        _error(get(u + "/sample", params={"from": "9" * 40}), 400, "INVALID_REQUEST", "from")
        _error(get(u + "/sample", params={"count": 0}), 400, "INVALID_REQUEST", "count")
        _error(get(u + "/sample", params={"count": 101}), 400, "OUT_OF_RANGE", "count")  # the buffer holds 100
        _error(get(u + "/sample", params={"interval": -5}), 400, "OUT_OF_RANGE", "interval")
        _error(get(u + "/sample", params={"interval": 10**9}), 400, "OUT_OF_RANGE", "interval")
        _error(get(u + "/sample", params={"interval": 100, "heartbeat": 1}), 400, "OUT_OF_RANGE", "heartbeat")
        _error(get(u + "/sample", params={"heartbeat": 100}), 400, "INVALID_REQUEST", "heartbeat")
        _error(get(u + "/sample", params={"to": nxt + 5}), 400, "OUT_OF_RANGE", "to")
        _error(get(u + "/current", params={"at": nxt + 10}), 400, "OUT_OF_RANGE", "at")
        _error(get(u + "/current", params={"frm": 1}), 400, "INVALID_REQUEST", "frm")
        _error(get(u + "/current?at=1&at=2"), 400, "INVALID_REQUEST", "at")
        _error(get(u + "/current", params={"format": "yaml"}), 400, "INVALID_REQUEST", "format")
        for bad in ("//DataItem[contains(@id,'A')]", "//*[//*[//*]]", "DataItem", "//DataItem[1]", "//a | //b",
                    "//DataItem[@type=\"X\"]/..", "/" * 600):
            _error(get(u + "/current", params={"path": bad}), 400, "INVALID_XPATH", "path")
        _error(get(u + "/asset/NOPE"), 404, "ASSET_NOT_FOUND", "NOPE")
        _error(get(u + "/asset/" + ";".join(["x"] * 65)), 400, "INVALID_REQUEST", "64")
        _error(get(u + "/current", params={"path": "//" + "a" * 3000}), 400, "INVALID_REQUEST", "query")
        _error(get(u + "/sample", params={"count": 5, "interval": 100, "to": 3}), 400, "INVALID_REQUEST", "'to'")
        _error(get(u + "/sample", params={"count": -5, "interval": 100}), 400, "INVALID_REQUEST", "'count'")
        _error(httpx.post(u + "/current"), 405, "UNSUPPORTED", "POST")
        _error(get(u + "/A/current/extra"), 404, "UNSUPPORTED", "unknown request")
        _error(get(u + "/A/<script>"), 400, "INVALID_URI", "path")
        r = get(u + "/sample", params={"from": nxt + 1, "format": "json"})
        assert r.status_code == 400 and r.json()["MTConnectError"]["Errors"]["Error"][0]["errorCode"] == "OUT_OF_RANGE"
        assert first >= 1


def test_buffer_sequence_semantics():
    from twin.api.mtconnect import Buffer, MTError

    b = Buffer(5)
    for k in range(8):  # items x, y alternate; 8 observations, the first 3 leave the ring
        b.add("xy"[k % 2], float(k), str(k))
    assert b.state() == (4, 8, 9)
    obs, (first, last, nxt) = b.sample(None, 4, 2, None)
    assert [o[0] for o in obs] == [4, 5] and nxt == 6 and (first, last) == (4, 8)
    obs, (_, _, nxt) = b.sample(None, 9, 10, None)
    assert obs == [] and nxt == 9
    obs, (_, _, nxt) = b.sample({"y"}, 4, 2, None)
    assert [o[0] for o in obs] == [4, 6] and nxt == 7  # resume after the last one returned
    obs, (_, _, nxt) = b.sample(None, None, -2, None)
    assert [o[0] for o in obs] == [7, 8] and nxt == 9
    obs, (_, _, nxt) = b.sample(None, 6, 10, 8)
    assert [o[0] for o in obs] == [6, 7] and nxt == 8
    with pytest.raises(MTError) as e:
        b.sample(None, 3, 1, None)
    assert e.value.code == "OUT_OF_RANGE"
    # current at a sequence: the evicted observations still count (checkpoint)
    obs, (_, _, nxt) = b.current(None, 4)
    assert {o[1]: o[3] for o in obs} == {"x": "2", "y": "3"} and nxt == 5
    obs, _ = b.current(None, 3)
    assert {o[1]: o[3] for o in obs} == {"x": "2", "y": "1"}
    obs, _ = b.current(None, None)
    assert {o[1]: o[3] for o in obs} == {"x": "6", "y": "7"}
    with pytest.raises(MTError):
        b.current(None, 2)
    with pytest.raises(MTError):
        b.current(None, 9)
    with pytest.raises(ValueError):
        Buffer(0)


def test_a_client_resuming_from_next_sequence_loses_no_observation(tmp_path):
    """A realtime run; a client polls /sample from each reply's nextSequence. What it collects
    is every observation the agent made (sequence numbers without gaps), each response is
    valid, the last values agree with /current, and the Execution and SYSTEM condition
    histories of each station equal those of the session's own state log, state by state."""
    from twin.states import Code

    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE), scale=6000.0, buffer=50000) as p:
        items = chk.check_devices(get(p.url + "/probe").content)
        nxt, got, t0 = None, [], time.monotonic()
        # until 10,000 simulated seconds have passed (the seed's first failures lie well before)
        while p.session.run.now < 10000.0 or time.monotonic() - t0 < 1.0:
            assert time.monotonic() - t0 < 60, "the paced plant does not advance"
            params = {"count": 300} if nxt is None else {"from": nxt, "count": 300}
            h, obs = chk.check_streams(get(p.url + "/sample", params=params).content, items)
            got += sorted(obs, key=lambda o: o["seq"])
            nxt = h["nextSequence"]
            time.sleep(0.02)
        seqs = [o["seq"] for o in got]
        assert seqs == list(range(1, len(got) + 1)), "sequence numbers with gaps or repeats"
        assert nxt == len(got) + 1
        # the last value of each item is what /current said at that sequence
        _, cur = chk.check_streams(get(p.url + "/current", params={"at": nxt - 1}).content, items)
        last = {}
        for o in got:
            last[o["item"]] = o
        assert {o["item"]: (o["seq"], o["value"]) for o in cur} == {k: (o["seq"], o["value"]) for k, o in last.items()}
        # change-only: an item never repeats its value
        prev = {}
        for o in got:
            assert prev.get(o["item"]) != (o["tag"], o["value"]), o
            prev[o["item"]] = (o["tag"], o["value"])
        # against the session's state log
        t_max = max(sim_seconds(p.agent, o["timestamp"]) for o in got)
        run = p.session.run
        with p.session.lock:
            log = run.state_log.numpy()
            rid = {name: k for k, (name, _st) in enumerate(run.resources)}
        n_faults = 0
        for station in ("A", "B"):
            rows = [(float(t), Code(int(c)).name) for t, r, c in zip(log["t"], log["resource"], log["code"]) if r == rid[station]]
            for col, item, tag in ((1, f"{station}_exec", "Execution"), (3, f"{station}_system", None)):
                want = []
                for t, name in rows:
                    v = STATE_MAP[name][col]
                    if t < t_max - 1e-6 and (not want or want[-1][1] != v):
                        want.append((t, v))
                have = [(sim_seconds(p.agent, o["timestamp"]), o["value"] if tag else o["tag"]) for o in got if o["item"] == item]
                have = [x for x in have if x[0] < t_max - 1e-6]
                assert [v for _, v in have] == [v for _, v in want], f"{item}: {have[:8]} vs {want[:8]}"
                assert all(math.isclose(a[0], b[0], abs_tol=2e-6) for a, b in zip(have, want))
                if col == 3:
                    n_faults += sum(v == "Fault" for _, v in have)
        assert n_faults >= 1, "the failing machine never failed: the test saw too little"
        assert len(got) > 100


def _parts(stream, boundary: str, n: int, timeout: float, on_part=None) -> list[bytes]:
    """The first ``n`` parts of a multipart stream (``on_part()`` called after each, while the
    stream is still open)."""
    buf, out, end = b"", [], time.monotonic() + timeout
    sep = f"--{boundary}\r\n".encode()
    for chunk in stream.iter_bytes():
        buf += chunk
        while True:
            i = buf.find(sep)
            if i < 0:
                break
            head_end = buf.find(b"\r\n\r\n", i)
            if head_end < 0:
                break
            headers = buf[i + len(sep):head_end].decode().split("\r\n")
            length = int(next(h.split(":", 1)[1] for h in headers if h.lower().startswith("content-length")))
            if len(buf) < head_end + 4 + length:
                break
            out.append(buf[head_end + 4:head_end + 4 + length])
            buf = buf[head_end + 4 + length:]
            if on_part is not None:
                on_part()
        if len(out) >= n or time.monotonic() > end:
            break
    return out


def test_interval_streams_continue_from_part_to_part(tmp_path):
    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE), scale=2000.0) as p:
        items = chk.check_devices(get(p.url + "/probe").content)
        with httpx.Client(timeout=10.0) as c, c.stream("GET", p.url + "/sample", params={"interval": 50, "count": 50, "heartbeat": 500}) as r:
            assert r.status_code == 200
            ctype = r.headers["content-type"]
            assert ctype.startswith("multipart/x-mixed-replace")
            boundary = ctype.split("boundary=")[1]
            open_streams = []
            parts = _parts(r, boundary, 8, 10.0, on_part=lambda: open_streams.append(p.agent.streams))
        assert set(open_streams) == {1}
        assert len(parts) >= 8
        expect = None
        for body in parts:
            h, obs = chk.check_streams(body, items)
            seqs = sorted(o["seq"] for o in obs)
            if expect is not None and seqs:
                assert seqs[0] == expect, "a stream part skipped or repeated observations"
            if seqs:
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
                assert h["nextSequence"] == seqs[-1] + 1
            expect = h["nextSequence"]
        assert get(p.url + "/probe").status_code == 200  # the agent serves on after the client left
        end = time.monotonic() + 10
        while p.agent.streams:  # and the stream ended with the client
            assert time.monotonic() < end, "a stream outlived its client"
            time.sleep(0.05)


def test_heartbeat_when_nothing_changes(tmp_path):
    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE)) as p:  # lockstep: nobody steps, nothing changes
        h, _ = chk.check_streams(get(p.url + "/current").content, chk.check_devices(get(p.url + "/probe").content))
        t0 = time.monotonic()
        with httpx.Client(timeout=10.0) as c, c.stream("GET", p.url + "/sample",
                                                          params={"interval": 10, "heartbeat": 200, "from": h["nextSequence"]}) as r:
            parts = _parts(r, r.headers["content-type"].split("boundary=")[1], 4, 8.0)
        took = time.monotonic() - t0
        assert len(parts) == 4
        for body in parts:
            hh = chk.check_header(chk.parse(body, "Streams"), "Streams")
            assert hh["nextSequence"] == h["nextSequence"]
            assert chk.parse(body, "Streams")[1].findall(f"{{{chk.NS['Streams']}}}DeviceStream/*") == []
        assert took > 0.5  # heartbeats, not a busy loop (3 waits of 200 ms at least)


def test_lockstep_steps_and_commands_reach_the_agent(tmp_path):
    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE)) as p:
        sid = p.session.id
        r = httpx.post(p.srv.url + f"/v1/sessions/{sid}/commands", json={"command": "hold", "target": "B"}, timeout=10)
        assert r.status_code == 200, r.text
        end = time.monotonic() + 5
        while time.monotonic() < end:
            cur = get(p.url + "/B/current", params={"path": '//DataItem[@type="EXECUTION"]'}).content
            if b">FEED_HOLD<" in cur:
                break
            time.sleep(0.1)
        assert b">FEED_HOLD<" in cur
        r = httpx.post(p.srv.url + f"/v1/sessions/{sid}/step", json={"dt": 500}, timeout=30)
        assert r.status_code == 200, r.text
        end = time.monotonic() + 5
        while time.monotonic() < end:
            items = chk.check_devices(get(p.url + "/probe").content)
            _, obs = chk.check_streams(get(p.url + "/A/current").content, items)
            if int({o["item"]: o["value"] for o in obs}["A_pc_all"]) > 0:
                break
            time.sleep(0.1)
        assert int({o["item"]: o["value"] for o in obs}["A_pc_all"]) > 0


def test_tokens_protect_the_agent(tmp_path):
    with served(tmp_path, scenario_file(tmp_path, FAILING_LINE), tokens=["ops=s3cret"]) as p:
        r = get(p.url + "/probe")
        _error(r, 401, "UNAUTHORIZED", "Bearer")
        assert r.headers["www-authenticate"].startswith("Bearer")
        _error(get(p.url + "/probe", headers={"Authorization": "Bearer wrong"}), 401, "UNAUTHORIZED", "Bearer")
        chk.check_devices(get(p.url + "/probe", headers={"Authorization": "Bearer s3cret"}).content)


def test_a_standard_client_reads_the_agent(physics):
    """pymtconnect (generated from the MTConnect SysML model; not written here) reads the agent."""
    from pymtconnect import mtconnect_client as mc

    p = physics
    header, devices = mc.probe(p.url)
    assert sorted(d.name for d in devices) == sorted(p.session.run.stations)
    assert header.instance_id == p.agent.instance_id
    hdr, events, conditions = mc.current(p.url)
    execs = {e.data_item_id: e.result for e in events if e.type == "Execution"}
    assert set(execs) == {f"{s}_exec" for s in p.session.run.stations}
    assert set(execs.values()) <= {"READY", "ACTIVE", "INTERRUPTED", "FEED_HOLD", "STOPPED", "WAIT"}
    assert {c.data_item_id for c in conditions} == {f"{s}_system" for s in p.session.run.stations}
    h2, ev2, _ = mc.sample(p.url, from_seq=hdr.next_sequence - 20, count=20)
    assert h2.next_sequence >= hdr.next_sequence
    docs = []
    for doc in mc.stream_sample(p.url, interval=100, from_seq=hdr.next_sequence, count=50, timeout=10):
        docs.append(doc)
        if len(docs) >= 3:
            break
    assert len(docs) == 3 and all(d[0].instance_id == p.agent.instance_id for d in docs)
    assert docs[-1][0].next_sequence >= docs[0][0].next_sequence


def test_a_reset_starts_a_new_instance(tmp_path):
    """OPC UA Reset starts the served plant over: the agent starts a new instanceId with an empty
    buffer (sequence numbers from 1), as an agent restart would."""
    import asyncio

    from asyncua import Client, ua

    from conftest_helpers import LiveServer, free_port
    from twin.api.app import create_app
    from twin.api.mtconnect import attach_mtconnect
    from twin.api.opcua import attach_opcua

    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/twin/"
    app = create_app(db=str(tmp_path / "r.db"), workers=1)
    attach_opcua(app, endpoint, str(scenario_file(tmp_path, FAILING_LINE)))
    agent = attach_mtconnect(app, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{agent.port}"
    with LiveServer(app):
        items = chk.check_devices(get(url + "/probe").content)

        async def call(name, *args):
            async with Client(endpoint) as c:
                idx = await c.get_namespace_index("urn:twin")
                plant = await c.nodes.objects.get_child(f"{idx}:Plant")
                return await plant.call_method(f"{idx}:{name}", *args)

        asyncio.run(call("Step", ua.Variant(5000.0, ua.VariantType.Double)))
        end = time.monotonic() + 5
        while True:
            h1, obs1 = chk.check_streams(get(url + "/current").content, items)
            if any(o["item"] == "A_pc_all" and o["value"] != "0" for o in obs1):
                break
            assert time.monotonic() < end
            time.sleep(0.1)
        asyncio.run(call("Reset"))
        end = time.monotonic() + 5
        while True:
            h2, obs2 = chk.check_streams(get(url + "/current").content, items)
            if h2["instanceId"] != h1["instanceId"]:
                break
            assert time.monotonic() < end
            time.sleep(0.1)
        assert h2["instanceId"] == h1["instanceId"] + 1 and h2["firstSequence"] == 1
        assert {o["item"]: o["value"] for o in obs2}["A_pc_all"] == "0"
        assert h2["lastSequence"] < h1["lastSequence"]
