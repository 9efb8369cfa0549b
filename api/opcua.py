"""OPC UA endpoint (asyncua) for a lockstep session, speaking OPC 40001-1 Machinery and OPC 40501-1
Machine Tools (the models: :mod:`twin.api.opcua_machinery`; docs/api.md has the browse tree).

Address space: ``Objects/Plant`` (namespace ``urn:twin``) with ``SimTime``, ``Horizon``,
``Finished``, ``PartsCompleted``, ``WIP`` and the methods ``Step(dt) -> SimTime`` (an external
controller advances time deterministically) and ``Reset() -> SimTime`` (start over: same
scenario, same seed); Machinery's ``Objects/Machines`` with one machine per station (machining
stations are ``MachineToolType``), each also carrying the twin's own signals in ``urn:twin``
(``ItemState``, ``Execution``, ``Stacklight``, ``FeedOverride`` factor, part counts, power,
spindle and condition channels); ``Objects/Buffers`` with ``Level`` and ``Capacity``. NodeIds
are strings derived from names (``s=Machines.L1.Monitoring.Channel.FeedOverride``). Values
refresh after every step (only those that changed are written) and carry the simulated time of
their last change as ``SourceTimestamp``.

Security. With identities configured the server offers only Basic256Sha256 ``Sign`` and
``SignAndEncrypt`` endpoints and only user-name logins: anonymous sessions are refused, the user
name is the identity's name and the password its secret. The server generates its own
certificate (RSA 2048, self-signed, SAN = application URI and host names) and keeps it next to
its database (``<data dir>/opcua/``); client certificates are accepted unless
``opcua/trusted/`` holds certificates, in which case only those (or ones they signed) are; a
refused client certificate is saved in ``opcua/rejected/`` so an administrator can move it to
``trusted/``. Without identities the endpoint is open (NoSecurity, anonymous), as on a laptop.

Checks. ``Step`` needs the write right and a finite ``dt >= 0`` (Double): a NaN or infinite
``dt`` or another type answers ``BadInvalidArgument``, a negative one ``BadOutOfRange``, with
the argument's status and a diagnostic naming ``dt``. A write of a ``FeedOverride`` (the factor, or
40501's in percent) goes through the command layer as the logged-in identity (one writer per
target): a value outside 0.1 .. 2.0 (10 .. 200 %) or not finite answers ``BadOutOfRange``, another type ``BadTypeMismatch``, a refusal of the
command layer ``BadInvalidArgument``, a user without the write right ``BadUserAccessDenied``;
the value only changes when the write is accepted.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import hashlib
import ipaddress
import logging
import math
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

log = logging.getLogger("twin.api.opcua")

STACKLIGHT = {"ACTIVE": "green", "WAIT": "yellow", "FEED_HOLD": "yellow", "INTERRUPTED": "red", "STOPPED": "grey"}
MACHINE_VARS = [("ItemState", "item_state", ""), ("OperationMode", "operation_mode", ""), ("Execution", "execution", ""),
                ("PartsCompleted", "part_count_all", 0), ("PartsGood", "part_count_good", 0), ("PartsBad", "part_count_bad", 0),
                ("Power", "power_W", 0.0), ("SpindleSpeed", "spindle_speed_rpm", 0.0), ("SpindleLoad", "spindle_load_pct", 0.0)]
# condition-monitoring channels, only on stations that publish them (machining stations)
CONDITION_VARS = [("VibrationRMS", "vibration_rms", 0.0), ("ToolWear", "tool_wear_max", 0.0), ("ToolVB", "tool_vb_mm", 0.0)]
APP_URI = "urn:twin:server"

_UNSET = object()
_USER: contextvars.ContextVar = contextvars.ContextVar("twin_opcua_user", default=None)


# ---- certificates --------------------------------------------------------------------------------
def ensure_certificate(folder: Path, hosts: list[str], days: int = 3650) -> tuple[Path, Path]:
    """The server's key and self-signed certificate in ``folder`` (made once, then reused)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / "server-key.pem", folder / "server-cert.der"
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "twin OPC UA server"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "twin")])
    alt: list = [x509.UniformResourceIdentifier(APP_URI)]
    for h in dict.fromkeys(hosts):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True, data_encipherment=True,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    tmp = key_path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.replace(tmp, key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    return key_path, cert_path


class ClientCertificates:
    """Client certificate policy: any, unless ``trusted/`` holds certificates; refused ones are
    saved to ``rejected/`` (named by SHA-1 thumbprint) for an administrator to move."""

    def __init__(self, folder: Path):
        self.trusted = folder / "trusted"
        self.rejected = folder / "rejected"
        self.trusted.mkdir(parents=True, exist_ok=True)
        self.rejected.mkdir(parents=True, exist_ok=True)

    async def __call__(self, cert, app_description) -> None:
        from asyncua import ua
        from asyncua.common.utils import ServiceError
        from asyncua.crypto.truststore import TrustStore
        from cryptography.hazmat.primitives import serialization

        now = datetime.datetime.now(datetime.timezone.utc)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise ServiceError(ua.StatusCodes.BadCertificateTimeInvalid)
        if not any(p.suffix.lower() in (".der", ".pem") for p in self.trusted.iterdir()):
            return
        store = TrustStore([self.trusted], [])
        await store.load_trust()
        if store.is_trusted(cert):
            return
        der = cert.public_bytes(serialization.Encoding.DER)
        (self.rejected / f"{hashlib.sha1(der).hexdigest()}.der").write_bytes(der)
        raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)


class _Users:
    """asyncua user manager: identities by user name and password (constant-time); with no
    identities configured everybody is ``anonymous``. Nobody is an asyncua admin."""

    def __init__(self, identities):
        self.ids = identities

    def get_user(self, iserver, username=None, password=None, certificate=None):
        from asyncua.crypto.permission_rules import User, UserRole

        if not self.ids.enabled:
            return User(role=UserRole.User, name="anonymous")
        ident = self.ids.check_password(username, password)
        return None if ident is None else User(role=UserRole.User, name=ident.name)


# ---- the server -----------------------------------------------------------------------------------
class OpcUaTwin:
    def __init__(self, svc, session, endpoint: str, cert_dir: Path):
        self.svc = svc
        self.session = session
        self.endpoint = endpoint
        self.cert_dir = cert_dir
        self.server = None
        self.nodes: dict[str, object] = {}
        self.feed_nodes: dict = {}
        self._last: dict[str, object] = {}  # key of self.nodes -> the value last written
        self._seen: tuple | None = None  # (run, sim time, state-log rows, command-log rows) of the last refresh
        self._kinds: list | None = None  # (key, node, capacity | double | plain) of self.nodes

    @property
    def secured(self) -> bool:
        return self.svc.identities.enabled

    def _identity(self, user):
        from .auth import ANONYMOUS

        if not self.secured:
            return ANONYMOUS
        return self.svc.identities.by_name.get(getattr(user, "name", None) or "")

    async def start(self) -> None:
        from asyncua import Server, ua

        run = self.session.run
        s = Server(user_manager=_Users(self.svc.identities))
        await s.init()
        s.allow_remote_admin(False)
        s.set_endpoint(self.endpoint)
        s.set_server_name("twin digital twin")
        await s.set_application_uri(APP_URI)
        if self.secured:
            host = urlparse(self.endpoint).hostname or "localhost"
            key, cert = await asyncio.to_thread(ensure_certificate, self.cert_dir, [host, "localhost", "127.0.0.1", socket.gethostname()])
            await s.load_certificate(str(cert))
            await s.load_private_key(str(key))
            s.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_Sign, ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            s.set_identity_tokens([ua.UserNameIdentityToken])
            s.set_certificate_validator(ClientCertificates(self.cert_dir))
        else:
            s.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            s.set_identity_tokens([ua.AnonymousIdentityToken])
        from .opcua_machinery import TWIN, MachineryModel, snapshot

        model = self.model = MachineryModel(s, run)
        await model.build_types()
        idx = model.ns[TWIN]
        objects = s.nodes.objects

        def nid(path: str):
            return ua.NodeId(path, idx)

        plant = await objects.add_object(nid("Plant"), ua.QualifiedName("Plant", idx))
        self.nodes["plant.sim_time"] = await plant.add_variable(nid("Plant.SimTime"), ua.QualifiedName("SimTime", idx), float(run.now))
        self.nodes["plant.horizon"] = await plant.add_variable(nid("Plant.Horizon"), ua.QualifiedName("Horizon", idx), float(run.horizon))
        self.nodes["plant.finished"] = await plant.add_variable(nid("Plant.Finished"), ua.QualifiedName("Finished", idx), bool(run.finished))
        self.nodes["plant.parts_completed"] = await plant.add_variable(nid("Plant.PartsCompleted"), ua.QualifiedName("PartsCompleted", idx),
                                                                       int(run.sink.completed))
        self.nodes["plant.wip"] = await plant.add_variable(nid("Plant.WIP"), ua.QualifiedName("WIP", idx), int(run.wip))

        dt_arg = ua.Argument(Name="dt", DataType=ua.NodeId(ua.ObjectIds.Double), ValueRank=-1,
                             Description=ua.LocalizedText("simulated seconds to advance: finite, >= 0 (capped at the horizon)"))
        t_out = ua.Argument(Name="SimTime", DataType=ua.NodeId(ua.ObjectIds.Double), ValueRank=-1,
                            Description=ua.LocalizedText("simulated time after the call [s]"))
        await plant.add_method(nid("Plant.Step"), ua.QualifiedName("Step", idx), self._step, [dt_arg], [t_out])
        await plant.add_method(nid("Plant.Reset"), ua.QualifiedName("Reset", idx), self._reset, [], [t_out])
        snap = await self.session.read(self.svc.step_pool, lambda r: snapshot(r, 0))
        await model.build(snap)
        for name, m in model.machines.items():  # the twin's feed override factor (1.0 = 100 %), as before
            fo = await m.node.add_variable(nid(f"Machines.{name}.FeedOverride"), ua.QualifiedName("FeedOverride", idx),
                                           float(snap["tags"].get(f"{name}.feed_override", 1.0)), varianttype=ua.VariantType.Double)
            await fo.set_writable()
            self.nodes[f"{name}.feed_override"] = fo
            self.feed_nodes[fo.nodeid] = (name, 1.0)
        for node_id, name in model.feed_nodes.items():  # OPC 40501 FeedOverride [%]
            self.feed_nodes[node_id] = (name, 100.0)
        tags = snap["tags"]
        buffers = await objects.add_object(nid("Buffers"), ua.QualifiedName("Buffers", idx))
        for name in run.buffers:
            obj = await buffers.add_object(nid(f"Buffers.{name}"), ua.QualifiedName(name, idx))
            self.nodes[f"{name}.level"] = await obj.add_variable(nid(f"Buffers.{name}.Level"), ua.QualifiedName("Level", idx),
                                                                 int(tags.get(f"{name}.level", 0)))
            cap = tags.get(f"{name}.capacity")
            self.nodes[f"{name}.capacity"] = await obj.add_variable(nid(f"Buffers.{name}.Capacity"), ua.QualifiedName("Capacity", idx),
                                                                    -1 if cap is None else int(cap))
        await model.refresh(snap)
        self._wrap_sessions(s.iserver)
        s.iserver.disabled_clock = True  # the server's clock is the plant's: CurrentTime is sim time (see refresh)
        await s.start()
        self.server = s
        await self._set_clock(model.when(run.now))
        self._follower = asyncio.create_task(self._follow())

    # ---- per client session: who calls, and FeedOverride writes through the command layer -------------
    def _wrap_sessions(self, iserver) -> None:
        create = iserver.create_session
        twin_ua = self

        def create_session(name, *args, **kw):
            sess = create(name, *args, **kw)
            call, write = sess.call, sess.write

            async def call_as_user(params):
                token = _USER.set(sess.user)
                try:
                    return await call(params)
                finally:
                    _USER.reset(token)

            async def write_as_user(params):
                return await twin_ua._write(sess.user, params, write)

            sess.call, sess.write = call_as_user, write_as_user
            return sess

        iserver.create_session = create_session

    async def _write(self, user, params, write):
        from asyncua import ua

        items = params.NodesToWrite
        results: list = [None] * len(items)
        rest = []
        for i, wv in enumerate(items):
            target = self.feed_nodes.get(wv.NodeId)
            if target is not None and wv.AttributeId == ua.AttributeIds.Value:
                results[i] = ua.StatusCode(await self._write_feed(user, *target, wv.Value))
            else:
                rest.append(i)
        if rest:
            sub = ua.WriteParameters()
            sub.NodesToWrite = [items[i] for i in rest]
            for i, r in zip(rest, await write(sub)):
                results[i] = r
        return results

    async def _write_feed(self, user, name: str, scale: float, dv) -> int:
        """A feed override write: ``scale`` 1.0 for the twin's factor node, 100.0 for the OPC
        40501 percent nodes (10 .. 200 %)."""
        from asyncua import ua

        from twin.commands import CommandError

        ident = self._identity(user)
        if ident is None or not ident.can("write"):
            return ua.StatusCodes.BadUserAccessDenied
        var = dv.Value if dv is not None else None
        if var is None or var.VariantType not in (ua.VariantType.Double, ua.VariantType.Float) or isinstance(var.Value, list):
            return ua.StatusCodes.BadTypeMismatch
        v = float(var.Value) / scale
        if not math.isfinite(v) or not 0.1 - 1e-12 <= v <= 2.0 + 1e-12:
            return ua.StatusCodes.BadOutOfRange
        v = min(2.0, max(0.1, v))
        try:
            await self.session.apply(self.svc.step_pool, {"command": "feed_override", "target": name, "value": v, "source": ident.name})
        except CommandError as e:
            log.info("FeedOverride of %s by %s refused: %s", name, ident.name, e)
            return ua.StatusCodes.BadInvalidArgument
        await self.refresh()
        return ua.StatusCodes.Good

    # ---- methods ----------------------------------------------------------------------------------------
    def _refused(self, code, message: str, n_args: int):
        from asyncua import ua

        res = ua.CallMethodResult()
        res.StatusCode = ua.StatusCode(code)
        res.InputArgumentResults = [ua.StatusCode(code)] * n_args
        res.InputArgumentDiagnosticInfos = [ua.DiagnosticInfo(AdditionalInfo=message)] * n_args
        return res

    def _writer(self):
        ident = self._identity(_USER.get())
        return ident if ident is not None and ident.can("write") else None

    async def _step(self, parent, *args):
        from asyncua import ua

        if self._writer() is None:
            return self._refused(ua.StatusCodes.BadUserAccessDenied, "Step needs the write right", len(args))
        if len(args) != 1:
            return self._refused(ua.StatusCodes.BadArgumentsMissing if not args else ua.StatusCodes.BadTooManyArguments,
                                 "Step takes one argument, dt", len(args))
        var = args[0]
        if not isinstance(var, ua.Variant) or var.VariantType not in (ua.VariantType.Double, ua.VariantType.Float) or isinstance(var.Value, list):
            return self._refused(ua.StatusCodes.BadInvalidArgument, "dt must be a Double (seconds)", 1)
        dt = float(var.Value)
        if not math.isfinite(dt):
            return self._refused(ua.StatusCodes.BadInvalidArgument, f"dt must be finite, got {dt}", 1)
        if dt < 0:
            return self._refused(ua.StatusCodes.BadOutOfRange, f"dt must be >= 0, got {dt}", 1)
        from .sessions import StepError

        try:
            await self.session.step(self.svc.step_pool, dt=dt, client=None)  # the address space is refreshed below
        except StepError as e:
            return self._refused(ua.StatusCodes.BadInvalidState, f"{e}; call Reset", 1)
        await self.refresh()
        return [ua.Variant(float(self.session.run.now), ua.VariantType.Double)]

    async def _reset(self, parent, *args):
        from asyncua import ua

        if self._writer() is None:
            return self._refused(ua.StatusCodes.BadUserAccessDenied, "Reset needs the write right", len(args))
        if args:
            return self._refused(ua.StatusCodes.BadTooManyArguments, "Reset takes no argument", len(args))
        async with self._refreshing():
            await self.session.reset(self.svc.step_pool)
            await self.model.reset()
            self._last.clear()
            await self._refresh()
        return [ua.Variant(float(self.session.run.now), ua.VariantType.Double)]

    def _refreshing(self) -> asyncio.Lock:
        if getattr(self, "_refresh_lock", None) is None:
            self._refresh_lock = asyncio.Lock()
        return self._refresh_lock

    async def refresh(self) -> None:
        """Every value from one snapshot of the run (taken under its lock), stamped with the
        simulated time; then the alarms of the failures since the last refresh."""
        async with self._refreshing():
            await self._refresh()

    async def _follow(self, every_s: float = 0.25) -> None:
        """Refresh whenever the served run moved or changed by other means than this server's own
        Step (an HTTP or WebSocket step of the same session, a command, the realtime pacer), so
        OPC UA clients see the plant every other client sees."""
        while True:
            await asyncio.sleep(every_s)
            try:
                run = self.session.run
                key = (id(run), run.now, len(run.state_log), len(run.command_log.rows))
                if key == self._seen:  # this server's own Step (or the last look) refreshed it already
                    continue
                await self.refresh()
                self._seen = key
            except Exception:  # a closed or resetting session: look again next time
                log.debug("OPC UA refresh failed", exc_info=True)

    async def _refresh(self) -> None:
        from asyncua import ua

        from .opcua_machinery import snapshot, write_direct

        row = self.model.state_row
        take = lambda r: snapshot(r, row, self.model.windows(r))  # noqa: E731
        snap = self.session.read_now(take)  # on the loop when the run is free (~0.1 ms)
        if snap is None:
            snap = await self.session.read(self.svc.step_pool, take)
        self.model.state_row = snap["state_row"]
        run = self.session.run
        self._seen = (id(run), snap["now"], snap["state_row"], len(run.command_log.rows))
        tags = snap["tags"]
        tags["plant.finished"] = bool(run.finished)
        tags["plant.horizon"] = float(run.horizon)
        stamp = self.model.when(snap["now"])
        wall = datetime.datetime.now(datetime.timezone.utc)  # ServerTimestamp: when the server took the value
        last = self._last
        if self._kinds is None or len(self._kinds) != len(self.nodes):  # what each node holds, worked out once
            self._kinds = [(key, node, "capacity" if key.endswith(".capacity") else
                            "double" if key.endswith(".feed_override") or key in ("plant.sim_time", "plant.horizon") else "plain")
                           for key, node in self.nodes.items()]
        for key, node, kind in self._kinds:
            if kind == "capacity":
                v = -1 if tags.get(key) is None else int(tags[key])
                vt = ua.VariantType.Int64
            else:
                v = tags.get(key)
                if v is None:
                    continue
                if kind == "double":
                    v, vt = float(v), ua.VariantType.Double
                elif isinstance(v, bool):
                    vt = ua.VariantType.Boolean
                else:
                    v, vt = int(v), ua.VariantType.Int64
            if last.get(key, _UNSET) == v:
                continue  # unchanged: its SourceTimestamp stays the sim time of its last change
            last[key] = v
            await write_direct(self.server, node, ua.DataValue(ua.Variant(v, vt), SourceTimestamp=stamp, ServerTimestamp=wall))
        await self._set_clock(stamp)
        await self.model.refresh(snap)

    async def _set_clock(self, stamp) -> None:
        """``Server/ServerStatus/CurrentTime`` = the plant's simulated now. A client that computes
        how long a state has lasted (CurrentTime minus the state's SourceTimestamp), as it would on
        a real machine, gets simulated durations (``twin snapshot --opcua`` does exactly that)."""
        from copy import copy

        from asyncua import ua

        from .opcua_machinery import write_direct

        iserver = self.server.iserver
        node = iserver.server_status_node
        dv = iserver.aspace.read_attribute_value(node.nodeid, ua.AttributeIds.Value)
        dv.StatusCode.check()
        status = copy(dv.Value.Value)
        status.CurrentTime = stamp
        wall = datetime.datetime.now(datetime.timezone.utc)
        await write_direct(self.server, node, ua.DataValue(ua.Variant(status, ua.VariantType.ExtensionObject), SourceTimestamp=wall,
                                                           ServerTimestamp=wall))
        await write_direct(self.server, iserver.current_time_node,
                           ua.DataValue(ua.Variant(stamp, ua.VariantType.DateTime), SourceTimestamp=stamp, ServerTimestamp=wall))

    async def stop(self) -> None:
        task = getattr(self, "_follower", None)
        if task is not None:
            task.cancel()
        if self.server is not None:
            await self.server.stop()


def attach_opcua(app, endpoint: str, scenario_path: str | None = None, seed: int | None = None) -> None:
    """Create a lockstep session on ``app`` and serve it over OPC UA at ``endpoint`` (started and
    stopped with the app). The session id is ``app.state.opcua_session``; the server's
    certificate lives in ``<store data dir>/opcua``."""
    import twin
    from twin.scenario import load

    svc = app.state.service
    path = Path(scenario_path) if scenario_path else Path(twin.__file__).resolve().parent.parent / "examples" / "shaft_line.yaml"
    sc = load(path, seed=seed)
    session = svc.add_session(twin.Run(sc), owner="opcua", kind="opcua", scenario=sc, seed=sc.seed, reserved=False)
    session.last_used = float("inf")  # the OPC UA session never times out
    app.state.opcua_session = session.id
    ua_twin = OpcUaTwin(svc, session, endpoint, Path(svc.store.data_dir) / "opcua")
    app.state.opcua = ua_twin
    svc.on_start.append(ua_twin.start)
    svc.on_stop.append(ua_twin.stop)
