"""A real asyncua client reads and writes the twin's tags and steps it over OPC UA."""

import asyncio

import httpx
import pytest


def _server(tmp_path, scenario):
    """(app, OPC UA endpoint, session id) of an HTTP app with an OPC UA server on ``scenario``."""
    from twin.api.app import create_app
    from twin.api.opcua import attach_opcua

    from conftest_helpers import free_port  # noqa

    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/twin/"
    app = create_app(db=str(tmp_path / "ua.db"))
    attach_opcua(app, endpoint, scenario)
    return app, endpoint, app.state.opcua_session


def test_opcua_client_reads_writes_and_steps(live, tmp_path):
    from asyncua import Client, ua

    from conftest_helpers import LiveServer  # noqa

    app, endpoint, sid = _server(tmp_path, "examples/shaft_line.yaml")

    with LiveServer(app) as srv:
        async def go():
            async with Client(endpoint) as c:
                idx = await c.get_namespace_index("urn:twin")
                plant = await c.nodes.objects.get_child(f"{idx}:Plant")
                t = await (await plant.get_child(f"{idx}:SimTime")).read_value()
                assert t == 0.0
                t = await plant.call_method(f"{idx}:Step", ua.Variant(8 * 3600.0, ua.VariantType.Double))
                assert t == 8 * 3600.0
                l1 = await c.nodes.objects.get_child([f"{idx}:Machines", f"{idx}:L1"])
                done = await (await l1.get_child(f"{idx}:PartsCompleted")).read_value()
                assert done > 0
                assert await (await l1.get_child(f"{idx}:Execution")).read_value() in ("ACTIVE", "WAIT", "INTERRUPTED")
                fo = await l1.get_child(f"{idx}:FeedOverride")
                await fo.write_value(ua.DataValue(ua.Variant(1.2, ua.VariantType.Double)))
                await asyncio.sleep(0.2)
                await plant.call_method(f"{idx}:Step", ua.Variant(600.0, ua.VariantType.Double))
                with pytest.raises(ua.uaerrors.BadOutOfRange):  # out of range: refused, and the value stays
                    await fo.write_value(ua.DataValue(ua.Variant(9.0, ua.VariantType.Double)))
                assert await fo.read_value() == pytest.approx(1.2)
                b = await c.nodes.objects.get_child([f"{idx}:Buffers", f"{idx}:B_SAW"])
                assert await (await b.get_child(f"{idx}:Capacity")).read_value() == 8

        asyncio.run(go())
        log = httpx.get(srv.url + f"/v1/sessions/{sid}/commands").json()
        assert log[0]["source"] == "anonymous" and log[0]["command"] == "feed_override" and log[0]["accepted"]
        assert log[0]["t"] == 8 * 3600.0
        assert len(log) == 1  # the out-of-range write never reached the run
        assert httpx.get(srv.url + f"/v1/sessions/{sid}/tags", params={"prefix": "L1.feed"}).json()["L1.feed_override"] == pytest.approx(1.2)


def test_opcua_condition_monitoring_channels(live, tmp_path):
    """A machining station publishes its vibration RMS, tool wear and VB over OPC UA; the values
    equal the session's tags read over HTTP at the same simulated time."""
    from asyncua import Client, ua

    from conftest_helpers import LiveServer  # noqa

    app, endpoint, sid = _server(tmp_path, "examples/shaft_line_physics.yaml")
    with LiveServer(app) as srv:
        async def go():
            # the first step compiles the machining kernels in a fresh clone (seconds): a patient client
            async with Client(endpoint, timeout=120) as c:
                idx = await c.get_namespace_index("urn:twin")
                plant = await c.nodes.objects.get_child(f"{idx}:Plant")
                await plant.call_method(f"{idx}:Step", ua.Variant(9 * 3600.0 + 17.0, ua.VariantType.Double))  # 3 h into the early shift
                l1 = await c.nodes.objects.get_child([f"{idx}:Machines", f"{idx}:L1"])
                return {k: await (await l1.get_child(f"{idx}:{k}")).read_value() for k in ("VibrationRMS", "ToolWear", "ToolVB")}

        got = asyncio.run(go())
        tags = httpx.get(srv.url + f"/v1/sessions/{sid}/tags", params={"prefix": "L1."}).json()
        assert got["VibrationRMS"] == pytest.approx(tags["L1.vibration_rms"])
        assert got["ToolWear"] == pytest.approx(tags["L1.tool_wear_max"]) and 0.0 < got["ToolWear"] < 1.0
        assert got["ToolVB"] == pytest.approx(tags["L1.tool_vb_mm"])
