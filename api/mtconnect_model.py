"""The MTConnect 2.0 information model of a twin plant: one ``Device`` per station, its data
items, the values they take from the station's tags, and the cutting-tool assets of machining
stations. Pure functions of a :class:`twin.Run` (read under the session lock by the agent).

Devices (``Device``, name = station name, ``uuid`` = a UUID-5 of ``urn:twin:station:NAME``,
``id`` = the name, prefixed with ``_`` when it starts with a digit, so it is an XML ``ID``)::

    Device NAME               AVAILABILITY, ASSET_CHANGED, ASSET_REMOVED       (EVENT)
      Controller NAME_ctrl    SYSTEM (CONDITION), CONTROLLER_MODE               (EVENT)
        Path NAME_path        EXECUTION, PART_COUNT (ALL, GOOD, BAD), PROGRAM,
                              PATH_FEEDRATE_OVERRIDE (PROGRAMMED, PERCENT)     (EVENT)
      Axes NAME_axes          (machining stations only)
        Rotary NAME_c "C"     ROTARY_MODE (EVENT, SPINDLE), ROTARY_VELOCITY (SAMPLE,
                              ACTUAL, REVOLUTION/MINUTE), LOAD (SAMPLE, PERCENT)

State map (the twin's state code of the station's first unit -> MTConnect; see
``twin.states``):

=====================  ============  ==============  ===============  ============
twin state (reason)    Availability  Execution       ControllerMode   SYSTEM
=====================  ============  ==============  ===============  ============
processing, setup      AVAILABLE     ACTIVE          AUTOMATIC        Normal
starved                AVAILABLE     READY           AUTOMATIC        Normal
blocked                AVAILABLE     WAIT            AUTOMATIC        Normal
held (``hold``)        AVAILABLE     FEED_HOLD       AUTOMATIC        Normal
failure                AVAILABLE     INTERRUPTED     MANUAL           Fault
planned maintenance    AVAILABLE     STOPPED         MANUAL           Normal
break, off shift       UNAVAILABLE   STOPPED         AUTOMATIC        Normal
=====================  ============  ==============  ===============  ============
"""

from __future__ import annotations

import datetime as dt
import uuid as _uuid
from dataclasses import dataclass, field

VERSION = "2.0.0.0"
SCHEMA_VERSION = "2.0"
#: sim time 0 when the scenario has no calendar (a Monday, so weekday starts keep their weekday)
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)  # sim time 0 without a calendar (twin.calendar.sim_epoch)

EXECUTION_BY_REASON = {"": "ACTIVE", "starved": "READY", "blocked": "WAIT", "held": "FEED_HOLD", "failure": "INTERRUPTED",
                       "planned_maintenance": "STOPPED", "break": "STOPPED", "off_shift": "STOPPED"}


@dataclass(frozen=True)
class DataItem:
    id: str
    type: str
    category: str  # SAMPLE | EVENT | CONDITION
    key: str  # which value of the station it carries (see :func:`values`)
    sub_type: str | None = None
    units: str | None = None
    name: str | None = None
    extra: tuple = ()  # more attributes of observations (e.g. assetType)

    @property
    def element(self) -> str:
        """The observation's element name (EXECUTION -> Execution)."""
        return _ELEMENT.get(self.type) or _ELEMENT.setdefault(self.type, "".join(w.capitalize() for w in self.type.split("_")))


_ELEMENT: dict[str, str] = {}


@dataclass
class Component:
    kind: str  # Controller, Path, Axes, Rotary
    id: str
    name: str | None = None
    items: list[DataItem] = field(default_factory=list)
    children: list["Component"] = field(default_factory=list)


@dataclass
class Device:
    name: str
    id: str
    uuid: str
    station: str
    machining: bool
    items: list[DataItem]
    components: list[Component]

    def walk(self):
        """(component kind, component id, component name, data item) for every data item, the
        device's own first."""
        for d in self.items:
            yield "Device", self.id, self.name, d

        def rec(c: Component):
            for d in c.items:
                yield c.kind, c.id, c.name, d
            for ch in c.children:
                yield from rec(ch)

        for c in self.components:
            yield from rec(c)


def xml_id(name: str) -> str:
    return name if (name[0].isalpha() or name[0] == "_") else "_" + name


def device_uuid(name: str) -> str:
    return str(_uuid.uuid5(_uuid.NAMESPACE_URL, f"urn:twin:station:{name}"))


def _is_machining(st) -> bool:
    from twin.processes.machining import Machining

    return isinstance(st, Machining)


def build_devices(run) -> list[Device]:
    """One :class:`Device` per station of ``run`` (in scenario order)."""
    out = []
    for name, st in run.stations.items():
        i = xml_id(name)
        tags = st.tags()
        dev_items = [DataItem(f"{i}_avail", "AVAILABILITY", "EVENT", "avail"),
                     DataItem(f"{i}_asset_chg", "ASSET_CHANGED", "EVENT", "asset_chg", extra=(("assetType", "CuttingTool"),)),
                     DataItem(f"{i}_asset_rem", "ASSET_REMOVED", "EVENT", "asset_rem", extra=(("assetType", "CuttingTool"),))]
        path = Component("Path", f"{i}_path", "path", [
            DataItem(f"{i}_exec", "EXECUTION", "EVENT", "exec"),
            DataItem(f"{i}_pc_all", "PART_COUNT", "EVENT", "pc_all", sub_type="ALL"),
            DataItem(f"{i}_pc_good", "PART_COUNT", "EVENT", "pc_good", sub_type="GOOD"),
            DataItem(f"{i}_pc_bad", "PART_COUNT", "EVENT", "pc_bad", sub_type="BAD"),
            DataItem(f"{i}_program", "PROGRAM", "EVENT", "program"),
            DataItem(f"{i}_part_uid", "PART_UNIQUE_ID", "EVENT", "part_uid", sub_type="SERIAL_NUMBER"),
        ])
        if tags.get("feed_override") is not None:
            path.items.append(DataItem(f"{i}_fovr", "PATH_FEEDRATE_OVERRIDE", "EVENT", "fovr", sub_type="PROGRAMMED", units="PERCENT"))
        ctrl = Component("Controller", f"{i}_ctrl", "controller", [
            DataItem(f"{i}_system", "SYSTEM", "CONDITION", "system"),
            DataItem(f"{i}_mode", "CONTROLLER_MODE", "EVENT", "mode"),
        ], [path])
        comps = [ctrl]
        machining = _is_machining(st)
        if machining:
            spindle = Component("Rotary", f"{i}_c", "C", [
                DataItem(f"{i}_rmode", "ROTARY_MODE", "EVENT", "rmode"),
                DataItem(f"{i}_speed", "ROTARY_VELOCITY", "SAMPLE", "speed", sub_type="ACTUAL", units="REVOLUTION/MINUTE"),
                DataItem(f"{i}_load", "LOAD", "SAMPLE", "load", units="PERCENT"),
            ])
            comps.append(Component("Axes", f"{i}_axes", "axes", [], [spindle]))
        out.append(Device(name, i, device_uuid(name), name, machining, dev_items, comps))
    return out


def _num(v) -> str:
    if v is None:
        return "UNAVAILABLE"
    f = float(v)
    if f != f or f in (float("inf"), float("-inf")):
        return "UNAVAILABLE"
    return format(f, ".10g")


def state_values(dev: Device, item: str | None, mode: str | None, reason: str | None) -> dict[str, object]:
    """The state data items of ``dev`` (Availability, Execution, ControllerMode, the SYSTEM
    condition) for a twin state (item_state, operation_mode, reason); see the module's table."""
    i = dev.id
    return {
        f"{i}_avail": "UNAVAILABLE" if item == "NotAvailable" else "AVAILABLE",
        f"{i}_exec": "ACTIVE" if item == "Executing" else EXECUTION_BY_REASON.get(reason or "", "STOPPED"),
        f"{i}_mode": "MANUAL" if mode == "Maintenance" else "AUTOMATIC",
        f"{i}_system": ("Fault", "failure", f"{dev.station} is down (failure)") if reason == "failure" else ("Normal", None, None),
    }


def code_values(dev: Device, code: int) -> dict[str, object]:
    """:func:`state_values` of a state-log code."""
    from twin.states import CODE_FIELDS, Code

    return state_values(dev, *CODE_FIELDS[Code(code)])


def station_values(run, dev: Device, program: str) -> dict[str, object]:
    """item id -> value (a string; for a CONDITION a tuple (level, nativeCode, text)) of
    ``dev`` now, from the station's tags (ASSET_CHANGED and PROGRAM are the agent's)."""
    st = run.stations[dev.station]
    t = st.tags()
    i = dev.id
    v = state_values(dev, t.get("item_state"), t.get("operation_mode"), t.get("reason", ""))
    v[f"{i}_asset_rem"] = "UNAVAILABLE"
    v[f"{i}_pc_all"] = str(int(t.get("part_count_all", 0)))
    v[f"{i}_pc_good"] = str(int(t.get("part_count_good", 0)))
    v[f"{i}_pc_bad"] = str(int(t.get("part_count_bad", 0)))
    v[f"{i}_program"] = program
    if t.get("feed_override") is not None:
        v[f"{i}_fovr"] = _num(100.0 * float(t["feed_override"]))
    if dev.machining:
        v[f"{i}_rmode"] = "SPINDLE"
        v[f"{i}_speed"] = _num(t.get("spindle_speed_rpm", 0.0))
        v[f"{i}_load"] = _num(t.get("spindle_load_pct", 0.0))
    return v


def first_resources(run, devices: list[Device]) -> dict[int, int]:
    """state-log resource id -> device index, for the first resource (unit) of each station:
    the unit whose state the station's tags show."""
    index = {d.station: k for k, d in enumerate(devices)}
    out: dict[int, int] = {}
    seen: set[str] = set()
    for rid, (_name, station) in enumerate(run.resources):
        if station in index and station not in seen:
            seen.add(station)
            out[rid] = index[station]
    return out


# ---- cutting tools ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tool:
    asset_id: str
    device_uuid: str
    station: str
    tool: str
    number: int  # its place in the magazine (1-based): ProgramToolNumber
    life_frac: float  # fraction of its Taylor life used
    vb_mm: float  # flank wear now [mm], from the wear model
    vb_max_mm: float  # flank wear at which it is replaced [mm]


def tools(run, dev: Device) -> list[Tool]:
    """The cutting tools of a machining station's first unit, with wear from the wear model
    (``kernels.tool_wear.flank_wear_vb`` of the life fraction used)."""
    if not dev.machining:
        return []
    from twin.kernels.tool_wear import flank_wear_vb

    st = run.stations[dev.station]
    out = []
    for j, name in enumerate(st.tool_names):
        vbm = float(st.spec.tools[name].vb_max)
        frac = float(st.tool_frac[0, j])
        vb = flank_wear_vb(min(frac, 1.2), 1.0, vbm)
        out.append(Tool(f"{dev.id}.{name}", dev.uuid, dev.station, name, j + 1, frac, vb * 1e3, vbm * 1e3))
    return out


# ---- time ---------------------------------------------------------------------------------------
def sim_epoch(scenario) -> dt.datetime:
    """The UTC date-time of sim time 0 (:func:`twin.calendar.sim_epoch`, the plant-local time
    taken as UTC): the same clock as the OPC UA server and snapshots."""
    from twin.calendar import sim_epoch as epoch

    return epoch(scenario.calendar).replace(tzinfo=dt.timezone.utc)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
