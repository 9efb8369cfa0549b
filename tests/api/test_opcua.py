"""A real asyncua client reads and writes the twin's tags and steps it over OPC UA."""

import asyncio

import httpx
import pytest

MACHINERY = "http://opcfoundation.org/UA/Machinery/"


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
                l1 = await c.nodes.objects.get_child([f"{await c.get_namespace_index(MACHINERY)}:Machines", f"{idx}:L1"])
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
                l1 = await c.nodes.objects.get_child([f"{await c.get_namespace_index(MACHINERY)}:Machines", f"{idx}:L1"])
                return {k: await (await l1.get_child(f"{idx}:{k}")).read_value() for k in ("VibrationRMS", "ToolWear", "ToolVB")}

        got = asyncio.run(go())
        tags = httpx.get(srv.url + f"/v1/sessions/{sid}/tags", params={"prefix": "L1."}).json()
        assert got["VibrationRMS"] == pytest.approx(tags["L1.vibration_rms"])
        assert got["ToolWear"] == pytest.approx(tags["L1.tool_wear_max"]) and 0.0 < got["ToolWear"] < 1.0
        assert got["ToolVB"] == pytest.approx(tags["L1.tool_vb_mm"])


# ---- security and argument checks (issue 13, items 1 and 10) -------------------------------------------
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

IDS = ["plc=plc-secret-1", "hmi=hmi-secret-1"]


@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    """A server with identities (plc writes; viewer only reads) and OPC UA on the shaft line."""
    from twin.api.app import create_app
    from twin.api.auth import Identities, _digest, Identity
    from twin.api.opcua import attach_opcua

    from conftest_helpers import LiveServer, free_port  # noqa

    tmp = tmp_path_factory.mktemp("ua")
    ids = Identities([Identity("plc", frozenset({"read", "write"}), _digest("plc-secret-1")),
                      Identity("viewer", frozenset({"read"}), _digest("viewer-secret-1"))])
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/twin/"
    app = create_app(db=str(tmp / "ua.db"), identities=ids)
    attach_opcua(app, endpoint, "examples/shaft_line.yaml")
    with LiveServer(app) as srv:
        yield {"endpoint": endpoint, "app": app, "url": srv.url, "dir": Path(app.state.store.data_dir) / "opcua", "tmp": tmp}


async def _client_cert(folder: Path):
    from asyncua.crypto.cert_gen import setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    folder.mkdir(parents=True, exist_ok=True)
    key, cert = folder / "client-key.pem", folder / "client-cert.der"
    await setup_self_signed_certificate(key, cert, "urn:twin:test-client", "localhost", [ExtendedKeyUsageOID.CLIENT_AUTH], {"organizationName": "test"})
    return cert, key


async def _connect(s, mode="SignAndEncrypt", user=None, password=None, folder=None):
    from asyncua import Client

    c = Client(s["endpoint"], timeout=30)
    c.application_uri = "urn:twin:test-client"
    cert, key = await _client_cert(folder or s["tmp"] / "client")
    await c.set_security_string(f"Basic256Sha256,{mode},{cert},{key}")
    if user is not None:
        c.set_user(user)
        c.set_password(password)
    await c.connect()
    return c


def test_opcua_with_identities_refuses_anonymous_and_wrong_passwords(secure):
    from asyncua import Client, ua

    async def go():
        async with Client(secure["endpoint"], timeout=30):
            pass
    with pytest.raises(Exception):  # no NoSecurity endpoint, no anonymous login
        asyncio.run(go())

    async def endpoints():
        c = Client(secure["endpoint"], timeout=30)
        return await c.connect_and_get_server_endpoints()

    eps = asyncio.run(endpoints())
    got = {(e.SecurityPolicyUri.rsplit("#", 1)[-1], e.SecurityMode.name) for e in eps}
    assert got == {("Basic256Sha256", "Sign"), ("Basic256Sha256", "SignAndEncrypt")}
    assert all({t.TokenType for t in e.UserIdentityTokens} == {ua.UserTokenType.UserName} for e in eps)

    for user, password in ((None, None), ("plc", "wrong"), ("viewer", "plc-secret-1"), ("nobody", "plc-secret-1")):
        with pytest.raises(Exception):
            async def login():
                c = await _connect(secure, user=user, password=password)
                await c.disconnect()
            asyncio.run(login())


def test_opcua_users_act_as_their_identity(secure):
    from asyncua import ua

    sid = secure["app"].state.opcua_session

    async def go(mode, user, password):
        c = await _connect(secure, mode, user, password)
        try:
            idx = await c.get_namespace_index("urn:twin")
            plant = await c.nodes.objects.get_child(f"{idx}:Plant")
            t0 = await (await plant.get_child(f"{idx}:SimTime")).read_value()
            fo = await c.nodes.objects.get_child([f"{await c.get_namespace_index(MACHINERY)}:Machines", f"{idx}:L1", f"{idx}:FeedOverride"])
            if user == "viewer":
                with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                    await plant.call_method(f"{idx}:Step", ua.Variant(60.0, ua.VariantType.Double))
                with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                    await fo.write_value(ua.DataValue(ua.Variant(1.1, ua.VariantType.Double)))
                return t0, await (await plant.get_child(f"{idx}:SimTime")).read_value()
            t1 = await plant.call_method(f"{idx}:Step", ua.Variant(600.0, ua.VariantType.Double))
            await fo.write_value(ua.DataValue(ua.Variant(1.1, ua.VariantType.Double)))
            return t0, t1
        finally:
            await c.disconnect()

    t0, t1 = asyncio.run(go("SignAndEncrypt", "plc", "plc-secret-1"))
    assert t1 == t0 + 600.0
    t0, t1 = asyncio.run(go("Sign", "plc", "plc-secret-1"))
    assert t1 == t0 + 600.0
    t0, t1 = asyncio.run(go("SignAndEncrypt", "viewer", "viewer-secret-1"))
    assert t1 == t0  # reads fine, changes nothing
    log = httpx.get(secure["url"] + f"/v1/sessions/{sid}/commands", headers={"Authorization": "Bearer plc-secret-1"}).json()
    assert [(r["source"], r["command"], r["accepted"]) for r in log] == [("plc", "feed_override", True)] * 2


def test_server_certificate_is_kept_next_to_the_database_and_client_certificates_can_be_pinned(secure):
    from cryptography import x509

    d = secure["dir"]
    cert = x509.load_der_x509_certificate((d / "server-cert.der").read_bytes())
    uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == ["urn:twin:server"] and oct((d / "server-key.pem").stat().st_mode & 0o777) == "0o600"
    from twin.api.opcua import ensure_certificate

    before = (d / "server-cert.der").read_bytes()
    assert ensure_certificate(d, ["localhost"])[1].read_bytes() == before  # reused, not regenerated

    # a certificate in trusted/ pins the clients: another client is refused and its certificate
    # lands in rejected/, from where an administrator moves it to trusted/
    other = secure["tmp"] / "other"
    asyncio.run(_client_cert(other))
    shutil.copy(other / "client-cert.der", d / "trusted" / "other.der")
    try:
        async def login(folder):
            c = await _connect(secure, user="plc", password="plc-secret-1", folder=folder)
            await c.disconnect()

        with pytest.raises(Exception):
            asyncio.run(login(secure["tmp"] / "client"))
        rejected = list((d / "rejected").glob("*.der"))
        assert len(rejected) == 1
        asyncio.run(login(other))  # the pinned one gets in
        shutil.move(str(rejected[0]), d / "trusted" / "client.der")
        asyncio.run(login(secure["tmp"] / "client"))  # and the moved one now too
    finally:
        for f in (d / "trusted").iterdir():
            f.unlink()


def test_step_arguments_and_writes_are_checked_and_reset_starts_over(tmp_path):
    from asyncua import Client, ua

    from conftest_helpers import LiveServer  # noqa

    from twin.scenario import load_data

    short = tmp_path / "short.json"
    short.write_text(json.dumps(dict(load_data("examples/shaft_line.yaml"), horizon="10 h"), default=str))
    app, endpoint, sid = _server(tmp_path, str(short))
    with LiveServer(app):
        async def go():
            async with Client(endpoint, timeout=30) as c:
                idx = await c.get_namespace_index("urn:twin")
                plant = await c.nodes.objects.get_child(f"{idx}:Plant")
                step = await plant.get_child(f"{idx}:Step")
                args = await (await step.get_child("0:InputArguments")).read_value()
                assert [a.Name for a in args] == ["dt"]
                await plant.call_method(f"{idx}:Step", ua.Variant(3600.0, ua.VariantType.Double))
                for bad, err in ((-100.0, ua.uaerrors.BadOutOfRange), (math.nan, ua.uaerrors.BadInvalidArgument),
                                 (math.inf, ua.uaerrors.BadInvalidArgument)):
                    with pytest.raises(err):
                        await plant.call_method(f"{idx}:Step", ua.Variant(bad, ua.VariantType.Double))
                for bad in (ua.Variant("60", ua.VariantType.String), ua.Variant(True, ua.VariantType.Boolean)):
                    with pytest.raises(ua.uaerrors.BadInvalidArgument):
                        await plant.call_method(f"{idx}:Step", bad)
                # nothing of that moved the clock or ended the shared session
                assert await (await plant.get_child(f"{idx}:SimTime")).read_value() == 3600.0
                assert await (await plant.get_child(f"{idx}:Finished")).read_value() is False
                fo = await c.nodes.objects.get_child([f"{await c.get_namespace_index(MACHINERY)}:Machines", f"{idx}:L1", f"{idx}:FeedOverride"])
                for bad, err in ((80.0, ua.uaerrors.BadOutOfRange), (math.nan, ua.uaerrors.BadOutOfRange),
                                 ("1.2", ua.uaerrors.BadTypeMismatch)):
                    vt = ua.VariantType.String if isinstance(bad, str) else ua.VariantType.Double
                    with pytest.raises(err):
                        await fo.write_value(ua.DataValue(ua.Variant(bad, vt)))
                assert await fo.read_value() == 1.0
                # a step to the horizon ends the run; Reset starts it over (same scenario, same seed)
                horizon = await (await plant.get_child(f"{idx}:Horizon")).read_value()
                assert await plant.call_method(f"{idx}:Step", ua.Variant(1e300, ua.VariantType.Double)) == horizon
                assert await (await plant.get_child(f"{idx}:Finished")).read_value() is True
                assert await plant.call_method(f"{idx}:Reset") == 0.0
                assert await (await plant.get_child(f"{idx}:Finished")).read_value() is False
                return await plant.call_method(f"{idx}:Step", ua.Variant(3600.0, ua.VariantType.Double))

        assert asyncio.run(go()) == 3600.0
    log = app.state.sessions[sid].run.command_log.rows
    assert log == []  # refused writes never reached the run (and Reset started a fresh log)


NODE_MODULES = os.environ.get("TWIN_NODE_MODULES")


@pytest.mark.skipif(not (shutil.which("node") and NODE_MODULES and Path(NODE_MODULES, "node-opcua-client").is_dir()),
                    reason="node-opcua-client not installed: npm install --prefix DIR node-opcua-client@2 and set TWIN_NODE_MODULES=DIR/node_modules")
def test_node_opcua_client_logs_in_with_encryption(secure):
    script = Path(__file__).parent / "node" / "opcua_client.js"

    def run(*args):
        out = subprocess.run(["node", str(script), secure["endpoint"], *args], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "NODE_PATH": NODE_MODULES, "HOME": str(Path(NODE_MODULES).parent)})  # its PKI, made once
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]  # node-opcua logs on stdout too
        assert lines, out.stdout + out.stderr
        return json.loads(lines[-1])

    ok = run("SignAndEncrypt", "plc", "plc-secret-1", "60,-100")
    assert ok["steps"][0] == {"status": "Good", "sim_time": ok["sim_time_before"] + 60}
    assert ok["steps"][1]["status"] == "BadOutOfRange"
    assert "session_error" in run("Sign", "-", "-", "60")  # anonymous
