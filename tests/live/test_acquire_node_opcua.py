"""Acquisition from an OPC UA server this project did not write: node-opcua serving the official
OPC 40001 Machinery NodeSet2 (node-opcua-nodesets), with machines whose state machines a plant
would show. ``twin snapshot --opcua`` must map them by name to the scenario's stations, with the
elapsed time from the state's SourceTimestamp against the server's clock."""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

import twin
from twin.live.acquire import Mapping, acquire

NODE_MODULES = os.environ.get("TWIN_NODE_MODULES")
SERVER = Path(__file__).parent / "node" / "machinery_server.js"
SC = {"name": "x", "horizon": 1000,
      "stations": {"L": {"process_time": 100}, "M": {"process_time": 80, "failures": [{"tbf": 1000, "ttr": 100}]}},
      "buffers": {"LM": {"capacity": 3, "between": ["L", "M"]}}, "products": {"p": {"routing": [{"station": "L"}, {"station": "M"}]}}}


def _ready() -> bool:
    return bool(NODE_MODULES and shutil.which("node") and (Path(NODE_MODULES) / "node-opcua").is_dir()
                and (Path(NODE_MODULES) / "node-opcua-nodesets").is_dir())


@pytest.mark.skipif(not _ready(), reason="node-opcua not installed: set TWIN_NODE_MODULES (.ci/services.sh does)")
def test_snapshot_from_a_node_opcua_machinery_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen(["node", str(SERVER), str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, env=dict(os.environ, NODE_PATH=NODE_MODULES))
    try:
        for line in p.stdout:
            if line.startswith("READY"):
                break
        else:
            pytest.fail("the node-opcua server did not start")
        sc = twin.parse_scenario(SC)
        mapping = Mapping(stations={"L": "Lathe-01", "M": "Mill-02"}, timezone="UTC")
        snap = acquire(f"opc.tcp://127.0.0.1:{port}", sc, mapping)
        L, M = snap.stations["L"], snap.stations["M"]
        assert L.state == "processing" and L.part.product == "p"  # Executing + Processing, the line's only product
        assert M.state == "down"  # OutOfService (a failure unless the mapping says maintenance)
        # set 120 s and 300 s before the server started; read within a minute of that
        assert 120 <= L.elapsed < 180 and 300 <= M.elapsed < 360, (L.elapsed, M.elapsed)
        snap = acquire(f"opc.tcp://127.0.0.1:{port}", sc, Mapping(stations={"L": "Lathe-01", "M": "Mill-02"}, timezone="UTC",
                                                                   maintenance=True))
        assert snap.stations["M"].state == "maintenance"
        from twin.live.snapshot import start_run

        run = start_run(sc, snap, seed=1)
        assert run.wip == 1  # the part on the lathe (M is in maintenance without a part)
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
