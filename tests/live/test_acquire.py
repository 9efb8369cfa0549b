"""Snapshots from plant servers (twin.live.acquire): an MTConnect /current document written by hand
after the standard, served over HTTP, and an OPC UA server with the OPC 40001 Machines layout."""

import asyncio
import datetime as dt
import http.server
import threading
from pathlib import Path

import pytest
import yaml

import twin
from twin.live.acquire import (AcquireError, Mapping, load_mapping, mtconnect_snapshot, opcua_snapshot, parse_mtconnect,
                               read_opcua)
from twin.live.snapshot import start_run

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def shaft():
    return twin.load(ROOT / "examples/shaft_line.yaml")


def test_mtconnect_current_maps_to_a_snapshot(shaft):
    doc = parse_mtconnect((DATA / "mtconnect_current.xml").read_bytes())
    assert set(doc["devices"]) == {"Saw-01", "Lathe-01", "GRIND", "Line"}
    snap = mtconnect_snapshot(doc, shaft, load_mapping(DATA / "mapping.yaml"))
    assert snap.time == dt.datetime(2026, 11, 30, 14, 35)  # 13:35 UTC in Berlin
    saw, l1 = snap.stations["SAW"], snap.stations["L1"]
    assert (saw.state, saw.part.product, saw.part.label, saw.elapsed) == ("processing", "shaft_B", "S-77102", 40.0)
    assert (saw.counts.good, saw.counts.bad) == (402, 3)
    assert (l1.state, l1.part.product, l1.elapsed) == ("down", "shaft_A", 900.0)  # the Fault's timestamp
    assert "GRIND" not in snap.stations  # READY: idle
    assert [(p.product, p.count) for p in snap.buffers["B_SAW"]] == [("shaft_A", 5)]
    run = start_run(shaft, snap, horizon=3600)
    tags = run.tags()
    assert tags["SAW.execution"] == "ACTIVE" and tags["L1.alarm"] == "FAULT" and tags["plant.wip"] == 5 + 7 + 2


def test_mtconnect_hostile_or_wrong_documents(shaft):
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><MTConnectStreams>&b;</MTConnectStreams>'
    with pytest.raises(AcquireError, match="valid MTConnect"):
        parse_mtconnect(bomb)
    with pytest.raises(AcquireError, match="MTConnectError"):
        parse_mtconnect(b'<MTConnectError xmlns="urn:mtconnect.org:MTConnectError:2.0"/>')
    with pytest.raises(AcquireError, match="creationTime"):
        parse_mtconnect(b"<MTConnectStreams><Header/></MTConnectStreams>")
    doc = parse_mtconnect((DATA / "mtconnect_current.xml").read_bytes())
    with pytest.raises(AcquireError, match="product"):  # an unmapped part kind is not a product of the scenario
        mtconnect_snapshot(doc, shaft, Mapping(stations={"SAW": "Saw-01"}))
    with pytest.raises(AcquireError, match="buffers.B_X"):
        mtconnect_snapshot(doc, shaft, Mapping(buffers={"B_X": {"item": "nope", "product": "shaft_A"}}))


def test_cli_snapshot_from_an_mtconnect_agent(tmp_path):
    body = (DATA / "mtconnect_current.xml").read_bytes()

    class Agent(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/current"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            if ok:
                self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Agent)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        from typer.testing import CliRunner

        from twin.cli import _register_extensions, app

        _register_extensions()
        out = tmp_path / "snap.yaml"
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        r = CliRunner().invoke(app, ["snapshot", str(ROOT / "examples/shaft_line.yaml"), "--mtconnect", url,
                                     "--mapping", str(DATA / "mapping.yaml"), "--out", str(out)])
        assert r.exit_code == 0, r.output
        snap = yaml.safe_load(out.read_text())
        assert snap["stations"]["L1"]["state"] == "down" and snap["time"] == "2026-11-30 14:35:00"
        r = CliRunner().invoke(app, ["forecast", str(ROOT / "examples/shaft_line.yaml"), "--source", url, "--mapping",
                                     str(DATA / "mapping.yaml"), "--until", "22:00", "--replications", "3"])
        assert r.exit_code == 0, r.output
        assert "forecast from 2026-11-30 14:35" in r.output.replace("\n", " ")
        r = CliRunner().invoke(app, ["snapshot", str(ROOT / "examples/shaft_line.yaml"), "--mtconnect", url + "/nothing"])
        assert r.exit_code == 2 and "404" in r.output
    finally:
        srv.shutdown()
        srv.server_close()


async def _machinery_server(states: dict):
    """A small OPC UA server with the OPC 40001-1 layout: Objects/Machines/<name>/
    MachineryBuildingBlocks/{MachineryItemState,MachineryOperationMode}/CurrentState, and an
    OPC 40501 Production/ActiveProgram/Name."""
    from asyncua import Server, ua

    srv = Server()
    await srv.init()
    srv.set_endpoint("opc.tcp://127.0.0.1:0/twin-test/")
    srv.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    ns = await srv.register_namespace("http://opcfoundation.org/UA/Machinery/")
    machines = await srv.nodes.objects.add_folder(ns, "Machines")
    now = dt.datetime.now(dt.timezone.utc)
    for name, (item, mode, ago, program, extra) in states.items():
        m = await machines.add_object(ns, name)
        bb = await m.add_object(ns, "MachineryBuildingBlocks")
        for obj, val in (("MachineryItemState", item), ("MachineryOperationMode", mode)):
            sm = await bb.add_object(ns, obj)
            cs = await sm.add_variable(ns, "CurrentState", ua.LocalizedText(val))
            await cs.write_value(ua.DataValue(ua.Variant(ua.LocalizedText(val)), SourceTimestamp=now - dt.timedelta(seconds=ago)))
        if program:
            prod = await m.add_object(ns, "Production")
            ap = await prod.add_object(ns, "ActiveProgram")
            await ap.add_variable(ns, "Name", program)
        for path, value in extra.items():
            folder = await m.add_object(ns, path.split("/")[0])
            await folder.add_variable(ns, path.split("/")[1], value)
    return srv


def test_opcua_machinery_server_maps_to_a_snapshot(shaft):
    states = {
        "Lathe-01": ("Executing", "Processing", 90, "O1002", {}),
        "MILL": ("OutOfService", "Maintenance", 600, None, {}),
        "GRIND": ("NotExecuting", "Processing", 30, None, {"Buffers/B_HT": 4}),
        "SAW": ("Executing", "Setup", 10, "O1001", {}),
    }
    mapping = Mapping(stations={"L1": "Lathe-01"}, programs={"O1001": "shaft_A", "O1002": "shaft_B"},
                      buffers={"B_HT": {"device": "GRIND", "item": "Buffers/B_HT", "product": "shaft_A"}})

    async def main():
        srv = await _machinery_server(states)
        async with srv:
            port = srv.bserver._server.sockets[0].getsockname()[1]
            return await read_opcua(f"opc.tcp://127.0.0.1:{port}/twin-test/", 10.0, {"GRIND|Buffers/B_HT": ("GRIND", "Buffers/B_HT")})

    data = asyncio.run(main())
    assert set(data["machines"]) == set(states)
    snap = opcua_snapshot(data, shaft, mapping)
    l1, mill = snap.stations["L1"], snap.stations["MILL"]
    assert l1.state == "processing" and l1.part.product == "shaft_B" and 85 <= l1.elapsed <= 120
    assert mill.state == "down" and 595 <= mill.elapsed <= 630
    assert snap.stations["SAW"].state == "setup"
    assert "GRIND" not in snap.stations and snap.buffers["B_HT"][0].count == 4
    run = start_run(shaft, snap, horizon=3600)  # (today's date: the calendar may hold the line off shift)
    assert [run.resources[r][0] for r in run.failure_log.resource] == ["MILL"]
    assert run.stations["L1"].units[0].part.product == run.product_index["shaft_B"]
    states["SAW"] = ("Executing", "Setup", 10, None, {})  # SAW cuts two products: which one must be said
    with pytest.raises(AcquireError, match="SAW: setup but no product"):
        opcua_snapshot(dict(data, machines={**data["machines"], "SAW": {**data["machines"]["SAW"], "program": None}}), shaft, mapping)
    with pytest.raises(AcquireError, match="cannot connect|Errno|refused|timed out"):
        asyncio.run(read_opcua("opc.tcp://127.0.0.1:9/none", 2.0))
