"""The plant as OPC 40001-1 Machinery and OPC 40501-1 Machine Tools models (asyncua).

Type nodes. The server creates, in code, the type nodes the instances use with the NodeIds and
browse names the OPC Foundation publishes (``Opc.Ua.Di.NodeSet2.xml``,
``Opc.Ua.Machinery.NodeSet2.xml`` 1.04, ``Opc.Ua.MachineTool.NodeSet2.xml`` 1.02): object,
variable and data types with their supertype (``HasSubtype``) and the state nodes of the state
machine types (with ``StateNumber``). The type nodes carry no instance declarations: a client
that needs the full type definitions loads the official NodeSet2 files; every instance names its
type by the published NodeId, so such a client recognises it (``tests/api/node/opcua_machinery.js``
checks this with node-opcua and the official files).

Instances. ``Objects/Machines`` (Machinery ``i=1001``) holds one object per station, NodeId
``ns=<urn:twin>;s=Machines.<station>`` and below it ``Machines.<station>.<browse path>``, so
NodeIds depend on names only. A station with tools (``Station.tool_life()``: the machining kinds)
is a ``MachineToolType``; every other station a ``BaseObjectType`` machine. See docs/api.md for the
browse tree, the state map and the prognoses.

Time. Values carry the simulated time as ``SourceTimestamp`` (and prognoses predict simulated
times): sim time 0 is the calendar's dated start (``calendar.start: '2026-11-30 06:00'``, read
as UTC) or, for an undated start (``mon 06:00``), that weekday and time in the week of
Monday 2024-01-01 00:00 UTC (:data:`EPOCH`); without a calendar, :data:`EPOCH` itself.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field

UA_NS = "http://opcfoundation.org/UA/"
DI = "http://opcfoundation.org/UA/DI/"
MACHINERY = "http://opcfoundation.org/UA/Machinery/"
MT = "http://opcfoundation.org/UA/MachineTool/"
TWIN = "urn:twin"
#: sim time 0 of an undated calendar start is its weekday and time in this week (a Monday)
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
#: UNECE Recommendation 20 units (OPC 10000-8, EUInformation with this namespace URI)
UNECE = "http://www.opcfoundation.org/UA/units/un/cefact"
UNITS = {"percent": ("P1", "%", "percent"), "rpm": ("RPM", "r/min", "revolutions per minute")}

# ---- published type NodeIds ---------------------------------------------------------------------
# (namespace, id, browse name, supertype (namespace, id), node class)
_O, _V, _D = "object", "variable", "data"
TYPES = [
    (DI, 1005, "FunctionalGroupType", (UA_NS, 61), _O),
    (MACHINERY, 1004, "MachineryItemIdentificationType", (DI, 1005), _O),
    (MACHINERY, 1012, "MachineIdentificationType", (MACHINERY, 1004), _O),
    (MACHINERY, 1002, "MachineryItemState_StateMachineType", (UA_NS, 2771), _O),
    (MACHINERY, 1008, "MachineryOperationModeStateMachineType", (UA_NS, 2771), _O),
    (MT, 13, "MachineToolType", (UA_NS, 58), _O),
    (MT, 11, "MachineToolIdentificationType", (MACHINERY, 1012), _O),
    (MT, 14, "MonitoringType", (UA_NS, 58), _O),
    (MT, 26, "MachineOperationMonitoringType", (UA_NS, 58), _O),
    (MT, 23, "ElementMonitoringType", (UA_NS, 58), _O),
    (MT, 41, "WorkingUnitMonitoringType", (MT, 23), _O),
    (MT, 22, "SpindleMonitoringType", (MT, 41), _O),
    (MT, 16, "ChannelMonitoringType", (MT, 23), _O),
    (MT, 1003, "MachineOperationModeStateMachineType", (MACHINERY, 1008), _O),
    (MT, 21, "ProductionType", (UA_NS, 58), _O),
    (MT, 59, "ProductionProgramType", (UA_NS, 58), _O),
    (MT, 32, "ProductionActiveProgramType", (MT, 59), _O),
    (MT, 24, "ProductionStateMachineType", (UA_NS, 2771), _O),
    (MT, 15, "ProductionProgramStateMachineType", (MT, 24), _O),
    (MT, 28, "ProductionJobStateMachineType", (MT, 24), _O),
    (MT, 30, "ProductionJobListType", (UA_NS, 23518), _O),
    (MT, 29, "ProductionJobType", (UA_NS, 58), _O),
    (MT, 12, "EquipmentType", (UA_NS, 58), _O),
    (MT, 44, "ToolListType", (UA_NS, 58), _O),
    (MT, 49, "BaseToolType", (UA_NS, 58), _O),
    (MT, 50, "ToolType", (MT, 49), _O),
    (MT, 7, "NotificationType", (UA_NS, 58), _O),
    (MT, 38, "MessagesType", (UA_NS, 58), _O),
    (MT, 2, "PrognosisListType", (UA_NS, 58), _O),
    (MT, 3, "PrognosisType", (UA_NS, 58), _O),
    (MT, 9, "MaintenancePrognosisType", (MT, 3), _O),
    (MT, 45, "ToolChangePrognosisType", (MT, 3), _O),
    (MT, 1, "PartLoadPrognosisType", (MT, 3), _O),
    (MT, 5, "PartUnloadPrognosisType", (MT, 3), _O),
    (MT, 61, "ToolLifeType", (UA_NS, 63), _V),
    (MT, 65, "MachineOperationMode", (UA_NS, 29), _D),
    (MT, 64, "ChannelState", (UA_NS, 29), _D),
    (MT, 67, "ChannelMode", (UA_NS, 29), _D),
    (MT, 69, "ToolManagement", (UA_NS, 29), _D),
    (MT, 68, "ToolLifeIndication", (UA_NS, 29), _D),
]
ENUMS = {
    (MT, 65): ["Manual", "Automatic", "Setup", "AutoWithManualIntervention", "Service", "Other"],
    (MT, 64): ["Active", "Interrupted", "Reset"],
    (MT, 67): ["Automatic", "MdaMdi", "JogManual", "JogIncrement", "TeachingHandle", "Remote", "Reference", "Other"],
    (MT, 69): ["NumberBased", "GroupBased", "Other"],
    (MT, 68): ["Time", "NumberOfParts", "NumberOfUsages", "Feed_Distance", "Cutting_Distance", "Length", "Diameter", "Other"],
}
#: state machine type -> {state browse name: (state NodeId in the type's namespace, StateNumber)}
STATES = {
    (MACHINERY, 1002): {"NotAvailable": (5005, 0), "OutOfService": (5004, 1), "NotExecuting": (5007, 2), "Executing": (5006, 3)},
    (MACHINERY, 1008): {"None": (5024, 0), "Maintenance": (5025, 1), "Setup": (5027, 2), "Processing": (5026, 3)},
    (MT, 1003): {"None": (5059, 0), "Maintenance": (5058, 1), "Setup": (5061, 2), "Processing": (5060, 3)},
    (MT, 15): {"Initializing": (5039, 0), "Running": (5041, 1), "Ended": (5038, 2), "Interrupted": (5040, 3), "Aborted": (5037, 4)},
    (MT, 28): {"Initializing": (5015, 0), "Running": (5017, 1), "Ended": (5014, 2), "Interrupted": (5016, 3), "Aborted": (5013, 4)},
}
MACHINES_FOLDER = (MACHINERY, 1001)
#: the OPC UA null DateTime (no prediction): 1601-01-01 00:00 UTC
NULL_TIME = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)

# the twin's state model (twin/states.py CODE_FIELDS) already uses the OPC 40001-1 names; the
# 40501 values derive from it (docs/api.md, "States"): MachineOperationMode Automatic, Setup while
# setting up, Service while down; ChannelState Active while executing or waiting for parts, else
# Interrupted; the active program Running while executing, else Interrupted with a part in hand
# or Ended; the job Running, Interrupted while out of service or not available.
OPERATION_MODE = {"Processing": 1, "Setup": 2, "Maintenance": 4, "None": 1}


def sim_epoch(scenario) -> datetime.datetime:
    """The date-time (UTC) of sim time 0 (:func:`twin.calendar.sim_epoch`; see the module docstring)."""
    from twin.calendar import sim_epoch as epoch

    return epoch(scenario.calendar).replace(tzinfo=datetime.timezone.utc)


def unit_id(code: str) -> int:
    """OPC UA UnitId of a UNECE common code (OPC 10000-8 5.6.3: the code's bytes, big-endian).

    >>> unit_id("P1"), unit_id("RPM")
    (20529, 5394509)
    """
    out = 0
    for ch in code:
        out = (out << 8) | ord(ch)
    return out


# ---- one snapshot of the run (taken under the run lock) ------------------------------------------------
def maintenance_windows(run) -> dict[str, list]:
    """Every station's calendar maintenance windows up to the horizon (fixed for a run)."""
    cal = run.scenario.calendar
    return {name: cal.maintenance_for(name, float(run.horizon)) if cal is not None else [] for name in run.stations}


def snapshot(run, state_row: int, windows: dict[str, list] | None = None) -> dict:
    """What the OPC UA model shows, read from ``run`` in one go: tags, tools, outlooks, the
    calendar maintenance windows ahead, and the failure transitions of the state log since
    row ``state_row``. ``windows``: :func:`maintenance_windows` of ``run``, if kept."""
    from twin.states import Code

    now = run.now
    if windows is None:
        windows = maintenance_windows(run)
    out = {"now": float(now), "tags": run.tags(), "tools": {}, "outlook": {}, "windows": {}, "alarms": [], "state_row": state_row}
    for name, st in run.stations.items():
        out["tools"][name] = st.tool_life()
        out["outlook"][name] = st.outlook()
        ahead = next((w for w in windows[name] if w[0] >= now), None)
        out["windows"][name] = [] if ahead is None else [ahead]
    sl = run.state_log
    n = len(sl)
    fail = Code.FAILURE.value
    res = run.resources
    first: dict[str, int] = {}  # station -> its first resource (the unit its tags show)
    for k, (_r, st_name) in enumerate(res):
        first.setdefault(st_name, k)
    since = out["since"] = {}  # station -> sim time its first unit's current state (or part) began, if it changed
    for t, r, code, _part in sl.rows(state_row, n):
        out["alarms"].append((t, res[r][1], res[r][0], code == fail))
        if first.get(res[r][1]) == r:
            since[res[r][1]] = float(t)
    out["state_row"] = n
    return out


@dataclass
class _Machine:
    name: str
    tool: bool
    node: object = None
    events: object = None
    down: set = field(default_factory=set)  # resources in failure


class MachineryModel:
    """Builds the Machinery / Machine Tools address space of a run and refreshes it from snapshots."""

    def __init__(self, server, run):
        self.server = server
        self.run = run
        self.ns: dict[str, int] = {}
        self.values: dict[str, tuple] = {}  # key -> (node, fn(snapshot) -> ua.Variant or None)
        self.last: dict[str, object] = {}  # key -> the Variant last written
        self.machines: dict[str, _Machine] = {}
        self.feed_nodes: dict = {}  # NodeId -> station (FeedOverride in percent)
        self.state_row = 0
        self.since_keys: dict[str, str] = {}  # state-machine value -> station (stamped with when its state began)
        self.since: dict[str, float] = {}  # station -> sim time its current state (or part in hand) began
        self.epoch = sim_epoch(run.scenario)
        self._windows: tuple = (None, None)  # (run, maintenance_windows(run))
        self._plan: tuple | None = None  # see refresh
        self._consts_written = False

    def windows(self, run) -> dict[str, list]:
        """:func:`maintenance_windows` of ``run``, computed once per run (a Reset makes a new one)."""
        if self._windows[0] is not run:
            self._windows = (run, maintenance_windows(run))
        return self._windows[1]

    # ---- helpers ---------------------------------------------------------------------------------
    def nid(self, ns: str, ident) -> "object":
        from asyncua import ua

        return ua.NodeId(ident, self.ns[ns])

    def qn(self, ns: str, name: str):
        from asyncua import ua

        return ua.QualifiedName(name, self.ns[ns])

    def when(self, t: float) -> datetime.datetime:
        return self.epoch + datetime.timedelta(seconds=float(t))

    async def _obj(self, parent, path: str, ns: str, name: str, typ: tuple, addin: bool = False, organizes: bool = False):
        from asyncua import ua

        node = await parent.add_object(self.nid(TWIN, path), self.qn(ns, name), objecttype=self.nid(*typ) if typ[0] != UA_NS else ua.NodeId(typ[1]),
                                       instantiate_optional=False)
        want = ua.ObjectIds.HasAddIn if addin else (ua.ObjectIds.Organizes if organizes else ua.ObjectIds.HasComponent)
        await _relink(parent, node, want)
        return node

    async def _var(self, parent, path: str, ns: str, name: str, value, vtype, datatype=None, prop: bool = False, key=None, fn=None):
        from asyncua import ua

        var = ua.Variant(value, vtype)
        if prop:
            node = await parent.add_property(self.nid(TWIN, path), self.qn(ns, name), var, datatype=datatype)
        else:
            node = await parent.add_variable(self.nid(TWIN, path), self.qn(ns, name), var, datatype=datatype)
        self.values[key or path] = (node, fn if fn is not None else _Const(var))  # constants too: sim-time stamps
        return node

    async def _analog(self, parent, path: str, ns: str, name: str, value: float, unit: str, lo: float | None = None,
                      hi: float | None = None, fn=None):
        """An ``AnalogUnitType`` (or ``AnalogUnitRangeType`` when a range is given) Double variable."""
        from asyncua import ua
        from asyncua.common.instantiate_util import instantiate

        typ = ua.ObjectIds.AnalogUnitType if lo is None else ua.ObjectIds.AnalogUnitRangeType
        node = (await instantiate(parent, self.server.get_node(ua.NodeId(typ)), self.nid(TWIN, path), self.qn(ns, name),
                                  instantiate_optional=False))[0]
        await node.write_attribute(ua.AttributeIds.DataType, ua.DataValue(ua.Variant(ua.NodeId(ua.ObjectIds.Double), ua.VariantType.NodeId)))
        await node.write_attribute(ua.AttributeIds.ValueRank, ua.DataValue(ua.Variant(-1, ua.VariantType.Int32)))
        await node.write_value(ua.Variant(float(value), ua.VariantType.Double))
        code, disp, desc = UNITS[unit]
        eu = ua.EUInformation(NamespaceUri=UNECE, UnitId=unit_id(code), DisplayName=ua.LocalizedText(disp), Description=ua.LocalizedText(desc))
        consts = [("EngineeringUnits", ua.Variant(eu, ua.VariantType.ExtensionObject))]
        if lo is not None:
            consts.append(("EURange", ua.Variant(ua.Range(Low=float(lo), High=float(hi)), ua.VariantType.ExtensionObject)))
        for bn, var in consts:
            child = await node.get_child(f"0:{bn}")
            await child.write_value(var)
            self.values[f"{path}.{bn}"] = (child, _Const(var))
        if fn is not None:
            self.values[path] = (node, fn)
        return node

    async def _state_machine(self, parent, path: str, ns: str, name: str, typ: tuple, state_fn, addin: bool = False,
                             number: bool = False, station: str | None = None):
        """A finite state machine instance with ``CurrentState`` (+ ``Id``, and ``Number`` when
        the type declares it mandatory); ``state_fn(snapshot)`` names the current state."""
        from asyncua import ua
        from asyncua.common.instantiate_util import instantiate

        sm = await self._obj(parent, path, ns, name, typ, addin=addin)
        try:  # FiniteStateMachineType declares CurrentState (and its Id) mandatory: made with the instance
            cs = await sm.get_child("0:CurrentState")
        except ua.UaStatusCodeError:
            cs = (await instantiate(sm, self.server.get_node(ua.NodeId(ua.ObjectIds.FiniteStateVariableType)), self.nid(TWIN, path + ".CurrentState"),
                                    ua.QualifiedName("CurrentState", 0), instantiate_optional=False))[0]
        await cs.write_attribute(ua.AttributeIds.DataType, ua.DataValue(ua.Variant(ua.NodeId(ua.ObjectIds.LocalizedText), ua.VariantType.NodeId)))
        cid = await cs.get_child("0:Id")
        await cid.write_attribute(ua.AttributeIds.DataType, ua.DataValue(ua.Variant(ua.NodeId(ua.ObjectIds.NodeId), ua.VariantType.NodeId)))
        num = None
        if number:
            num = await cs.add_property(self.nid(TWIN, path + ".CurrentState.Number"), ua.QualifiedName("Number", 0),
                                        ua.Variant(0, ua.VariantType.UInt32), datatype=ua.NodeId(ua.ObjectIds.UInt32))
        states = STATES[typ]

        # one Variant per state, made once: a refresh compares it by identity and writes it only when the state changed
        texts = {st: ua.Variant(ua.LocalizedText(st), ua.VariantType.LocalizedText) for st in states}
        ids = {st: ua.Variant(self.nid(typ[0], v[0]), ua.VariantType.NodeId) for st, v in states.items()}
        numbers = {st: ua.Variant(v[1], ua.VariantType.UInt32) for st, v in states.items()}

        def text(s):
            return texts[state_fn(s)]

        def ident(s):
            return ids[state_fn(s)]

        self.values[path + ".CurrentState"] = (cs, text)
        self.values[path + ".CurrentState.Id"] = (cid, ident)
        if num is not None:
            self.values[path + ".CurrentState.Number"] = (num, lambda s: numbers[state_fn(s)])
        if station is not None:  # stamped with the sim time the state (or the part in hand) began
            for k in (".CurrentState", ".CurrentState.Id"):
                self.since_keys[path + k] = station
        return sm

    # ---- types -------------------------------------------------------------------------------------
    async def build_types(self) -> None:
        import logging

        from asyncua import ua

        # asyncua warns for every FiniteStateVariableType it instantiates (attributes a variable
        # type does not have); nothing is wrong, and a server start would log dozens of lines
        logging.getLogger("asyncua.common.instantiate_util").setLevel(logging.ERROR)

        s = self.server
        for uri in (DI, MACHINERY, MT, TWIN):
            self.ns[uri] = await s.register_namespace(uri)
        self.ns[UA_NS] = 0

        def ref(t):
            return ua.NodeId(t[1]) if t[0] == UA_NS else self.nid(*t)

        for ns, i, name, sup, cls in TYPES:
            parent = s.get_node(ref(sup))
            nid, bn = self.nid(ns, i), self.qn(ns, name)
            if cls == _O:
                await parent.add_object_type(nid, bn)
            elif cls == _V:
                await parent.add_variable_type(nid, bn, ua.NodeId(ua.ObjectIds.BaseDataType))
            else:
                dt = await parent.add_data_type(nid, bn)
                names = ENUMS[(ns, i)]
                await dt.add_property(ua.NodeId(f"{name}.EnumStrings", self.ns[TWIN]), ua.QualifiedName("EnumStrings", 0),
                                      ua.Variant([ua.LocalizedText(n) for n in names], ua.VariantType.LocalizedText),
                                      datatype=ua.NodeId(ua.ObjectIds.LocalizedText))
        for (ns, i), states in STATES.items():
            sm = s.get_node(self.nid(ns, i))
            for state, (sid, number) in states.items():
                st = await sm.add_object(self.nid(ns, sid), self.qn(ns, state))
                await st.delete_reference(ua.NodeId(ua.ObjectIds.BaseObjectType), ua.ObjectIds.HasTypeDefinition, forward=True, bidirectional=False)
                await st.add_reference(ua.NodeId(ua.ObjectIds.StateType), ua.ObjectIds.HasTypeDefinition, forward=True, bidirectional=False)
                await st.add_property(ua.NodeId(f"{ns}{i}.{state}.StateNumber", self.ns[TWIN]), ua.QualifiedName("StateNumber", 0),
                                      ua.Variant(number, ua.VariantType.UInt32), datatype=ua.NodeId(ua.ObjectIds.UInt32))

    # ---- instances ---------------------------------------------------------------------------------
    async def build(self, snap: dict) -> None:
        from asyncua import ua

        s = self.server
        objects = s.nodes.objects
        folder = await objects.add_folder(self.nid(*MACHINES_FOLDER), self.qn(MACHINERY, "Machines"))
        await folder.set_event_notifier([ua.EventNotifier.SubscribeToEvents])
        self.folder = folder
        for name, st in self.run.stations.items():
            m = _Machine(name, bool(snap["tools"][name]))
            await self._machine(folder, m, st, snap)
            self.machines[name] = m
        self.state_row = snap["state_row"]

    async def _machine(self, folder, m: _Machine, st, snap) -> None:
        from asyncua import ua

        name = m.name
        p = f"Machines.{name}"
        sc = self.run.scenario
        node = m.node = await self._obj(folder, p, TWIN, name, (MT, 13) if m.tool else (UA_NS, 58), organizes=True)
        T = ua.VariantType
        tag = f"{name}."

        def t(key, default=None):
            return lambda s: s["tags"].get(tag + key, default)

        # Identification (DI:Identification, HasAddIn)
        ident = await self._obj(node, p + ".Identification", DI, "Identification", (MT, 11) if m.tool else (MACHINERY, 1012), addin=True)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", sc.name).strip("-") or "plant"
        for bn, val, vt, dt in [("Manufacturer", ua.LocalizedText("twin (simulated)"), T.LocalizedText, ua.ObjectIds.LocalizedText),
                                ("Model", ua.LocalizedText(st.kind or "machine"), T.LocalizedText, ua.ObjectIds.LocalizedText),
                                ("SerialNumber", f"{slug}/{name}", T.String, ua.ObjectIds.String),
                                ("ProductInstanceUri", f"urn:twin:{slug}:{name}", T.String, ua.ObjectIds.String),
                                ("ComponentName", ua.LocalizedText(name), T.LocalizedText, ua.ObjectIds.LocalizedText)]:
            await self._var(ident, f"{p}.Identification.{bn}", DI, bn, val, vt, ua.NodeId(dt), prop=True)
        await self._var(ident, f"{p}.Identification.Location", MACHINERY, "Location", _location(st), T.String, ua.NodeId(ua.ObjectIds.String), prop=True)

        def item_state(s):
            return s["tags"].get(tag + "item_state") or "NotAvailable"

        def op_mode(s):
            return s["tags"].get(tag + "operation_mode") or "None"

        # Machinery building blocks: the two state machines (on a machine tool they live in
        # Monitoring/MachineTool, and MachineryBuildingBlocks references them)
        bb = await self._obj(node, p + ".MachineryBuildingBlocks", MACHINERY, "MachineryBuildingBlocks", (UA_NS, 61), addin=True)
        await bb.add_reference(ident, ua.ObjectIds.HasAddIn, forward=True, bidirectional=True)
        if m.tool:
            mon = await self._obj(node, p + ".Monitoring", MT, "Monitoring", (MT, 14))
            mt = await self._obj(mon, p + ".Monitoring.MachineTool", MT, "MachineTool", (MT, 26))
            sm_parent, sm_p, mode_type = mt, p + ".Monitoring.MachineTool", (MT, 1003)
        else:
            sm_parent, sm_p, mode_type = bb, p + ".MachineryBuildingBlocks", (MACHINERY, 1008)
        ist = await self._state_machine(sm_parent, sm_p + ".MachineryItemState", MACHINERY, "MachineryItemState", (MACHINERY, 1002), item_state,
                                        addin=True, station=name)
        oms = await self._state_machine(sm_parent, sm_p + ".MachineryOperationMode", MACHINERY, "MachineryOperationMode", mode_type, op_mode,
                                        addin=True, station=name)
        if m.tool:
            await bb.add_reference(ist, ua.ObjectIds.HasAddIn, forward=True, bidirectional=True)
            await bb.add_reference(oms, ua.ObjectIds.HasAddIn, forward=True, bidirectional=True)
            await self._machine_tool(node, mon, mt, m, st, snap)

        # the twin's own signals (namespace urn:twin), as before
        from .opcua import CONDITION_VARS, MACHINE_VARS, STACKLIGHT

        tags = snap["tags"]
        for browse, key, default in MACHINE_VARS:
            v = tags.get(tag + key, default)
            v = default if v is None else v
            await self._var(node, f"{p}.{browse}", TWIN, browse, _plain(v, default), _vt(default), key=tag + key, fn=_plain_fn(tag + key, default))
        for browse, key, default in CONDITION_VARS:
            if tag + key in tags:
                await self._var(node, f"{p}.{browse}", TWIN, browse, float(tags[tag + key]), T.Double, key=tag + key, fn=_plain_fn(tag + key, default))
        await self._var(node, f"{p}.Stacklight", TWIN, "Stacklight", STACKLIGHT.get(tags.get(tag + "execution"), "grey"), T.String,
                        fn=lambda s: ua.Variant(STACKLIGHT.get(s["tags"].get(tag + "execution"), "grey"), T.String))
        m.events = await self.server.get_event_generator(ua.ObjectIds.AlarmConditionType, node)
        await self.folder.add_reference(node, ua.ObjectIds.HasNotifier, forward=True, bidirectional=True)

    async def _machine_tool(self, node, mon, mt, m: _Machine, st, snap) -> None:
        from asyncua import ua

        T = ua.VariantType
        name = m.name
        p = f"Machines.{name}"
        tag = f"{name}."
        tags = snap["tags"]
        dt_mode = self.nid(MT, 65)
        await self._var(mt, p + ".Monitoring.MachineTool.OperationMode", MT, "OperationMode", 1, T.Int32, dt_mode,
                        fn=lambda s: ua.Variant(OPERATION_MODE.get(s["tags"].get(tag + "operation_mode") or "None", 5), T.Int32))
        await self._analog(mt, p + ".Monitoring.MachineTool.FeedOverride", MT, "FeedOverride", 100.0 * float(tags.get(tag + "feed_override", 1.0)),
                           "percent", 10.0, 200.0, fn=lambda s: _pct(s, tag))
        # spindle
        sp = await self._obj(mon, p + ".Monitoring.Spindle", TWIN, "Spindle", (MT, 22))
        await self._var(sp, p + ".Monitoring.Spindle.Name", MT, "Name", "Spindle", T.String, ua.NodeId(ua.ObjectIds.String), prop=True)
        await self._var(sp, p + ".Monitoring.Spindle.IsRotating", MT, "IsRotating", False, T.Boolean, ua.NodeId(ua.ObjectIds.Boolean),
                        fn=lambda s: ua.Variant(s["tags"].get(tag + "execution") == "ACTIVE" and (s["tags"].get(tag + "spindle_load_pct") or 0.0) > 0.0, T.Boolean))
        await self._analog(sp, p + ".Monitoring.Spindle.Override", MT, "Override", 100.0, "percent", 0.0, 200.0, fn=lambda s: ua.Variant(100.0, T.Double))
        await self._analog(sp, p + ".Monitoring.Spindle.ActualSpeed", TWIN, "ActualSpeed", float(tags.get(tag + "spindle_speed_rpm", 0.0) or 0.0), "rpm",
                           fn=lambda s: ua.Variant(float(s["tags"].get(tag + "spindle_speed_rpm", 0.0) or 0.0)
                                                   if s["tags"].get(tag + "execution") == "ACTIVE" else 0.0, T.Double))
        await self._analog(sp, p + ".Monitoring.Spindle.Load", TWIN, "Load", float(tags.get(tag + "spindle_load_pct", 0.0) or 0.0), "percent", 0.0, 100.0,
                           fn=lambda s: ua.Variant(float(s["tags"].get(tag + "spindle_load_pct", 0.0) or 0.0), T.Double))
        # channel with its feed override (percent, writable through the command layer)
        ch = await self._obj(mon, p + ".Monitoring.Channel", TWIN, "Channel", (MT, 16))
        await self._var(ch, p + ".Monitoring.Channel.Name", MT, "Name", "Channel 1", T.String, ua.NodeId(ua.ObjectIds.String), prop=True)
        await self._var(ch, p + ".Monitoring.Channel.ChannelMode", MT, "ChannelMode", 0, T.Int32, self.nid(MT, 67), fn=lambda s: ua.Variant(0, T.Int32))
        await self._var(ch, p + ".Monitoring.Channel.ChannelState", MT, "ChannelState", 0, T.Int32, self.nid(MT, 64),
                        fn=lambda s: ua.Variant(0 if s["tags"].get(tag + "execution") in ("ACTIVE", "WAIT") else 1, T.Int32))
        fo = await self._analog(ch, p + ".Monitoring.Channel.FeedOverride", MT, "FeedOverride", 100.0 * float(tags.get(tag + "feed_override", 1.0)),
                                "percent", 10.0, 200.0, fn=lambda s: _pct(s, tag))
        await fo.set_writable()
        self.feed_nodes[fo.nodeid] = name
        # production: the active program (the product of the part in hand) and the station's job
        prod = await self._obj(node, p + ".Production", MT, "Production", (MT, 21))
        ap = await self._obj(prod, p + ".Production.ActiveProgram", MT, "ActiveProgram", (MT, 32))

        def program(s):
            o = s["outlook"][name]
            return o.product or (o.next_product or "")

        def prog_state(s):
            o = s["outlook"][name]
            item = s["tags"].get(tag + "item_state")
            if item == "Executing":
                return "Running"
            return "Interrupted" if o.part is not None else "Ended"

        await self._var(ap, p + ".Production.ActiveProgram.Name", MT, "Name", "", T.String, ua.NodeId(ua.ObjectIds.String), prop=True,
                        fn=lambda s: ua.Variant(program(s), T.String))
        await self._var(ap, p + ".Production.ActiveProgram.NumberInList", UA_NS, "NumberInList", 0, T.UInt16, ua.NodeId(ua.ObjectIds.UInt16), prop=True)
        await self._var(ap, p + ".Production.ActiveProgram.JobIdentifier", MT, "JobIdentifier", f"{name}-job", T.String, ua.NodeId(ua.ObjectIds.String))
        await self._state_machine(ap, p + ".Production.ActiveProgram.State", MT, "State", (MT, 15), prog_state, number=True)
        plan = await self._obj(prod, p + ".Production.ProductionPlan", MT, "ProductionPlan", (MT, 30))
        job = await self._obj(plan, p + ".Production.ProductionPlan.Job", TWIN, "Job", (MT, 29))
        await _relink(plan, job, ua.ObjectIds.HasOrderedComponent)
        jp = p + ".Production.ProductionPlan.Job"
        await self._var(job, jp + ".Identifier", MT, "Identifier", f"{name}-job", T.String, ua.NodeId(ua.ObjectIds.String), prop=True)
        await self._var(job, jp + ".NumberInList", UA_NS, "NumberInList", 0, T.UInt16, ua.NodeId(ua.ObjectIds.UInt16), prop=True)
        u32 = ua.NodeId(ua.ObjectIds.UInt32)

        def count(key):
            return lambda s: ua.Variant(int(s["tags"].get(tag + key, 0) or 0), T.UInt32)

        def planned(s):
            tg = s["tags"]
            return ua.Variant(int(tg.get(tag + "part_count_all", 0) or 0) + int(tg.get(tag + "queue", 0) or 0)
                              + (1 if s["outlook"][name].part is not None else 0), T.UInt32)

        await self._var(job, jp + ".RunsCompleted", MT, "RunsCompleted", 0, T.UInt32, u32, fn=count("part_count_all"))
        await self._var(job, jp + ".RunsPlanned", MT, "RunsPlanned", 0, T.UInt32, u32, fn=planned)
        await self._var(job, jp + ".PartsCompleted", MT, "PartsCompleted", 0, T.UInt32, u32, fn=count("part_count_all"))
        await self._var(job, jp + ".PartsGood", MT, "PartsGood", 0, T.UInt32, u32, fn=count("part_count_good"))
        await self._obj(job, jp + ".ProductionPrograms", MT, "ProductionPrograms", (UA_NS, 23518))

        def job_state(s):
            item = s["tags"].get(tag + "item_state")
            return "Running" if item == "Executing" else ("Interrupted" if item in ("OutOfService", "NotAvailable") else "Running")

        await self._state_machine(job, jp + ".State", MT, "State", (MT, 28), job_state, number=True)
        # equipment: the tool magazine with tool life from the wear model
        eq = await self._obj(node, p + ".Equipment", MT, "Equipment", (MT, 12))
        tools = await self._obj(eq, p + ".Equipment.Tools", MT, "Tools", (MT, 44))
        for i, tl in enumerate(snap["tools"][name]):
            tp = f"{p}.Equipment.Tools.{tl.name}"
            tn = await self._obj(tools, tp, TWIN, tl.name, (MT, 50))
            await self._var(tn, tp + ".Name", MT, "Name", tl.name, T.String, ua.NodeId(ua.ObjectIds.String), prop=True)
            await self._var(tn, tp + ".Identifier", MT, "Identifier", f"{name}/{tl.name}", T.String, ua.NodeId(ua.ObjectIds.String), prop=True)
            await self._var(tn, tp + ".ControlIdentifier1", MT, "ControlIdentifier1", tl.number, T.UInt32, u32)
            await self._var(tn, tp + ".ControlIdentifierInterpretation", MT, "ControlIdentifierInterpretation", 0, T.Int32, self.nid(MT, 69))
            await self._var(tn, tp + ".Locked", MT, "Locked", False, T.Boolean, ua.NodeId(ua.ObjectIds.Boolean))
            life = await self._obj(tn, tp + ".ToolLife", MT, "ToolLife", (UA_NS, 58))
            wear = tl.policy == "wear"
            lv = await life.add_variable(self.nid(TWIN, tp + ".ToolLife.Used"), self.qn(TWIN, "CuttingTime" if wear else "Parts"),
                                         ua.Variant(float(tl.used), T.Double), datatype=ua.NodeId(ua.ObjectIds.Double))
            await lv.delete_reference(ua.NodeId(ua.ObjectIds.BaseDataVariableType), ua.ObjectIds.HasTypeDefinition, forward=True, bidirectional=False)
            await lv.add_reference(self.nid(MT, 61), ua.ObjectIds.HasTypeDefinition, forward=True, bidirectional=False)
            eu = ua.EUInformation(NamespaceUri=UNECE, UnitId=unit_id("SEC" if wear else "C62"), DisplayName=ua.LocalizedText("s" if wear else "1"),
                                  Description=ua.LocalizedText("second" if wear else "one"))
            for bn, val, vt, dt in [("EngineeringUnits", eu, T.ExtensionObject, ua.NodeId(ua.ObjectIds.EUInformation)),
                                    ("Indication", 0 if wear else 1, T.Int32, self.nid(MT, 68)),
                                    ("IsCountingUp", True, T.Boolean, ua.NodeId(ua.ObjectIds.Boolean))]:
                await self._var(lv, f"{tp}.ToolLife.Used.{bn}", MT, bn, val, vt, dt, prop=True)
            lim = await lv.add_property(self.nid(TWIN, tp + ".ToolLife.Used.LimitValue"), self.qn(MT, "LimitValue"),
                                        ua.Variant(float(tl.limit), T.Double), datatype=ua.NodeId(ua.ObjectIds.Double))
            self.values[tp + ".used"] = (lv, lambda s, i=i: ua.Variant(float(s["tools"][name][i].used), T.Double))
            self.values[tp + ".limit"] = (lim, lambda s, i=i: ua.Variant(float(s["tools"][name][i].limit), T.Double))
        # notification: messages (the alarms) and prognoses
        note = await self._obj(node, p + ".Notification", MT, "Notification", (MT, 7))
        await self._obj(note, p + ".Notification.Messages", MT, "Messages", (MT, 38))
        prog = await self._obj(note, p + ".Notification.Prognoses", MT, "Prognoses", (MT, 2))
        dtime = ua.NodeId(ua.ObjectIds.UtcTime)
        lt = ua.NodeId(ua.ObjectIds.LocalizedText)
        loc = ua.LocalizedText(f"{name} unit 1")

        def at(fn):
            memo: list = [_NOTHING, None]  # the last time and its Variant (the same object while it stays)

            def value(s):
                t = fn(s)
                if t == memo[0] and type(t) is type(memo[0]):
                    return memo[1]
                var = ua.Variant(self.when(t) if t is not None else NULL_TIME, T.DateTime)
                memo[0], memo[1] = t, var
                return var
            return value

        for i, tl in enumerate(snap["tools"][name]):
            pp = f"{p}.Notification.Prognoses.ToolChange_{tl.name}"
            pn = await self._obj(prog, pp, TWIN, f"ToolChange_{tl.name}", (MT, 45))
            await self._var(pn, pp + ".PredictedTime", MT, "PredictedTime", NULL_TIME, T.DateTime, dtime, prop=True,
                            fn=at(lambda s, i=i: s["tools"][name][i].change_at))
            await self._var(pn, pp + ".Location", MT, "Location", loc, T.LocalizedText, lt)
            await self._var(pn, pp + ".ToolName", MT, "ToolName", tl.name, T.String, ua.NodeId(ua.ObjectIds.String))
            await self._var(pn, pp + ".ToolIdentifier", MT, "ToolIdentifier", f"{name}/{tl.name}", T.String, ua.NodeId(ua.ObjectIds.String))
            await self._var(pn, pp + ".ToolNodeId", MT, "ToolNodeId", self.nid(TWIN, f"{p}.Equipment.Tools.{tl.name}"), T.NodeId, ua.NodeId(ua.ObjectIds.NodeId))

        def next_maintenance(s):
            cands = [(a, "calendar maintenance window") for a, _b in s["windows"][name]] + list(s["outlook"][name].maintenance)
            return min(cands) if cands else (None, "none planned")

        pp = f"{p}.Notification.Prognoses.Maintenance"
        pn = await self._obj(prog, pp, TWIN, "Maintenance", (MT, 9))
        await self._var(pn, pp + ".PredictedTime", MT, "PredictedTime", NULL_TIME, T.DateTime, dtime, prop=True, fn=at(lambda s: next_maintenance(s)[0]))
        await self._var(pn, pp + ".Activity", MT, "Activity", ua.LocalizedText(""), T.LocalizedText, lt,
                        fn=lambda s: ua.Variant(ua.LocalizedText(str(next_maintenance(s)[1])), T.LocalizedText))
        for kind, typ, when, part in [("PartLoad", (MT, 1), lambda s: s["outlook"][name].load_at, lambda s: s["outlook"][name].next_product),
                                      ("PartUnload", (MT, 5), lambda s: s["outlook"][name].unload_at, lambda s: s["outlook"][name].product)]:
            pp = f"{p}.Notification.Prognoses.{kind}"
            pn = await self._obj(prog, pp, TWIN, kind, typ)
            await self._var(pn, pp + ".PredictedTime", MT, "PredictedTime", NULL_TIME, T.DateTime, dtime, prop=True, fn=at(when))
            await self._var(pn, pp + ".Location", MT, "Location", loc, T.LocalizedText, lt)
            await self._var(pn, pp + ".PartName", MT, "PartName", "", T.String, ua.NodeId(ua.ObjectIds.String),
                            fn=lambda s, part=part: ua.Variant(part(s) or "", T.String))
        await self._var(pn, pp + ".PartIdentifier", MT, "PartIdentifier", "", T.String, ua.NodeId(ua.ObjectIds.String),
                        fn=lambda s: ua.Variant("" if s["outlook"][name].part is None else str(s["outlook"][name].part), T.String))

    # ---- refresh ---------------------------------------------------------------------------------------
    async def refresh(self, snap: dict) -> None:
        """Write every value that changed with the simulated time as SourceTimestamp, then raise and clear the
        alarms of the failures the state log shows since the last refresh (in time order)."""
        from asyncua import ua

        stamp = self.when(snap["now"])
        wall = datetime.datetime.now(datetime.timezone.utc)  # ServerTimestamp: when the server took the value
        last = self.last
        began = dict(self.since)
        self.since.update(snap.get("since", {}))
        if self._plan is None or self._plan[0] != len(self.values):  # (values, dynamic (key, node, fn, station)), made once
            self._plan = (len(self.values), [(k, n, f, self.since_keys.get(k)) for k, (n, f) in self.values.items() if type(f) is not _Const])
            self._consts_written = False
        items = self._plan[1] if self._consts_written else [(k, n, f, self.since_keys.get(k)) for k, (n, f) in self.values.items()]
        for key, node, fn, station in items:
            if type(fn) is _Const:
                if key in last:
                    continue  # a constant, written by an earlier refresh
                v = fn.var
            else:
                v = fn(snap)
            if not isinstance(v, ua.Variant):
                continue
            if station is not None and station in self.since:
                # a state machine: its SourceTimestamp is when the state (or, Executing part after
                # part, the part in hand) began, so CurrentTime minus it is how long it has lasted
                if last.get(key) == v and began.get(station) == self.since[station]:
                    continue
                t = self.when(self.since[station])
                last[key] = v
                await write_direct(self.server, node, ua.DataValue(v, SourceTimestamp=t, ServerTimestamp=wall))
                continue
            before = last.get(key)
            if before is v or before == v:
                continue  # unchanged: its SourceTimestamp stays the sim time of its last change
            last[key] = v
            await write_direct(self.server, node, ua.DataValue(v, SourceTimestamp=stamp, ServerTimestamp=wall))
        self._consts_written = True  # from now on only the values that can change are looked at
        await self._alarms(snap)

    async def _alarms(self, snap: dict) -> None:
        from asyncua import ua

        for t, station, resource, failed in snap["alarms"]:
            m = self.machines.get(station)
            if m is None:
                continue
            was = bool(m.down)
            if failed:
                m.down.add(resource)
            else:
                m.down.discard(resource)
            if bool(m.down) == was:
                continue
            ev = m.events.event
            active = bool(m.down)
            ev.SourceName = station
            ev.ConditionName = f"{station} failure"
            ev.Severity = 800 if active else 100
            ev.Message = ua.LocalizedText(f"{station} is down (failure of {resource})" if active else f"{station} is back in service")
            ev.Retain = active
            _set(ev, "ActiveState", ua.LocalizedText("Active" if active else "Inactive"))
            _set(ev, "ActiveState/Id", active)
            _set(ev, "EnabledState", ua.LocalizedText("Enabled"))
            _set(ev, "EnabledState/Id", True)
            _set(ev, "AckedState", ua.LocalizedText("Acknowledged" if not active else "Unacknowledged"))
            _set(ev, "AckedState/Id", not active)
            _set(ev, "ConfirmedState/Id", not active)
            await m.events.trigger(time_attr=self.when(t))
            ev.emitting_node = ua.NodeId(ua.ObjectIds.Server)  # and to clients that watch the Server object
            try:
                await m.events.trigger(time_attr=self.when(t))
            finally:
                ev.emitting_node = m.node.nodeid

    async def reset(self) -> None:
        """A fresh run: alarms still active are cleared (event at the new run's sim time 0)."""
        self.state_row = 0
        self.since.clear()
        self.last.clear()
        self._consts_written = False
        clear = []
        for name, m in self.machines.items():
            clear += [(0.0, name, r, False) for r in sorted(m.down)]
        await self._alarms({"alarms": clear})


async def write_direct(server, node, dv) -> None:
    """Write the value ``dv`` (a DataValue) of a node of this server straight into its address
    space (``Server.write_attribute_value``): subscriptions are notified as for any write, but
    without the per-write request objects and access checks of a client-style ``write_value``,
    which cost more than the refresh itself (all of these nodes are the server's own). A bad
    status (wrong type) raises, as ``write_value`` does."""
    global _VALUE
    if _VALUE is None:
        from asyncua import ua

        _VALUE = ua.AttributeIds.Value
    status = await server.iserver.aspace.write_attribute_value(node.nodeid, _VALUE, dv)
    if status is not None:
        status.check()


_VALUE = None  # ua.AttributeIds.Value (asyncua is imported when the OPC UA server starts)


async def _relink(parent, node, want: int) -> None:
    """Make ``want`` the (only) hierarchical reference from ``parent`` to ``node``."""
    from asyncua import ua

    refs = await parent.get_references(refs=ua.ObjectIds.HierarchicalReferences, direction=ua.BrowseDirection.Forward)
    have = [r.ReferenceTypeId for r in refs if r.NodeId == node.nodeid]
    if have == [ua.NodeId(want)]:
        return
    for rt in have:
        await parent.delete_reference(node, rt, forward=True, bidirectional=True)
    await parent.add_reference(node, want, forward=True, bidirectional=True)


def _set(ev, name: str, value) -> None:
    """Set an event field by its browse path (asyncua names nested fields ``ActiveState/Id``)."""
    setattr(ev, name, value)


def _location(st) -> str:
    lay = st.spec.layout
    return "" if lay is None else f"x={lay.x} m, y={lay.y} m"


def _pct(s, tag):
    from asyncua import ua

    v = s["tags"].get(tag + "feed_override")
    return None if v is None else ua.Variant(100.0 * float(v), ua.VariantType.Double)


def _vt(default):
    from asyncua import ua

    if isinstance(default, bool):
        return ua.VariantType.Boolean
    if isinstance(default, int):
        return ua.VariantType.Int64
    if isinstance(default, float):
        return ua.VariantType.Double
    return ua.VariantType.String


def _plain(v, default):
    if isinstance(default, float):
        return float(v)
    if isinstance(default, int) and not isinstance(default, bool):
        return int(v)
    return str(v)


class _Const:
    """The value function of a constant: the refresh writes it once (at the sim time of that
    refresh) and skips it afterwards."""

    __slots__ = ("var",)

    def __init__(self, var):
        self.var = var

    def __call__(self, s):
        return self.var


def _plain_fn(key, default):
    from asyncua import ua

    vt = _vt(default)
    memo: list = [_NOTHING, None]  # the last tag value seen and its Variant (the same object while it stays equal)

    def fn(s):
        v = s["tags"].get(key)
        if v is None:
            return None
        if isinstance(v, float) and not math.isfinite(v) and vt != ua.VariantType.Double:
            return None
        if type(v) is type(memo[0]) and v == memo[0]:
            return memo[1]
        var = ua.Variant(_plain(v, default), vt)
        memo[0], memo[1] = v, var
        return var

    return fn


_NOTHING = object()
