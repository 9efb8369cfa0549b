"""Structural checks of MTConnect 2.0 documents, written from the standard's XSDs
(MTConnectDevices_2.0.xsd, MTConnectStreams_2.0.xsd, MTConnectAssets_2.0.xsd,
MTConnectError_2.0.xsd of the MTConnect Institute; read, not copied: the files cannot be
installed from a package registry, so an XSD validator cannot run here) with the controlled
vocabularies taken from ``pymtconnect`` (classes generated from the standard's SysML model).

Each ``check_*`` raises AssertionError naming the element and rule that fails.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from pymtconnect.Enums.DataTypes.AvailabilityEnum import AvailabilityEnum
from pymtconnect.Enums.DataTypes.CategoryEnum import CategoryEnum
from pymtconnect.Enums.DataTypes.ConditionEnum import ConditionEnum
from pymtconnect.Enums.DataTypes.ControllerModeEnum import ControllerModeEnum
from pymtconnect.Enums.DataTypes.CountDirectionTypeEnum import CountDirectionTypeEnum
from pymtconnect.Enums.DataTypes.CutterStatusTypeEnum import CutterStatusTypeEnum
from pymtconnect.Enums.DataTypes.DataItemSubTypeEnum import DataItemSubTypeEnum
from pymtconnect.Enums.DataTypes.ErrorCodeEnum import ErrorCodeEnum
from pymtconnect.Enums.DataTypes.EventEnum import EventEnum
from pymtconnect.Enums.DataTypes.ExecutionEnum import ExecutionEnum
from pymtconnect.Enums.DataTypes.RotaryModeEnum import RotaryModeEnum
from pymtconnect.Enums.DataTypes.SampleEnum import SampleEnum
from pymtconnect.Enums.DataTypes.ToolLifeEnum import ToolLifeEnum
from pymtconnect.Enums.DataTypes.UnitEnum import UnitEnum

V = "2.0"
NS = {k: f"urn:mtconnect.org:MTConnect{k}:{V}" for k in ("Devices", "Streams", "Assets", "Error")}
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")
NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
INT = re.compile(r"-?\d+")
FLOAT = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?|INF|-INF|NaN")

# attributes (required, optional) per element, from the XSDs
HEADER = {
    "Devices": ({"creationTime", "sender", "instanceId", "version", "bufferSize", "assetBufferSize", "assetCount",
                 "deviceModelChangeTime"}, {"testIndicator", "validation"}),
    "Streams": ({"creationTime", "sender", "instanceId", "version", "bufferSize", "nextSequence", "firstSequence",
                 "lastSequence", "deviceModelChangeTime"}, {"testIndicator", "validation"}),
    "Assets": ({"creationTime", "sender", "instanceId", "version", "assetBufferSize", "assetCount", "deviceModelChangeTime"},
               {"testIndicator", "validation"}),
    "Error": ({"creationTime", "sender", "instanceId", "version", "bufferSize"}, {"testIndicator", "validation"}),
}
COMPONENT_ATTRS = ({"id"}, {"name", "nativeName", "sampleInterval", "sampleRate", "uuid"})
DEVICE_ATTRS = ({"id", "name", "uuid"}, {"nativeName", "sampleInterval", "sampleRate", "iso841Class", "mtconnectVersion"})
DATAITEM_ATTRS = ({"id", "type", "category"}, {"name", "subType", "units", "nativeUnits", "nativeScale", "statistic",
                                               "representation", "significantDigits", "coordinateSystem",
                                               "coordinateSystemIdRef", "compositionId", "discrete", "sampleRate"})
OBS_ATTRS = ({"dataItemId", "timestamp", "sequence"}, {"name", "subType", "compositionId", "statistic", "duration",
                                                       "resetTriggered", "sampleRate", "assetType"})
CONDITION_ATTRS = ({"dataItemId", "timestamp", "sequence", "type"}, {"name", "subType", "compositionId", "nativeCode",
                                                                     "nativeSeverity", "qualifier", "statistic"})
COMPONENT_CHILD_ORDER = ["Description", "Configuration", "DataItems", "Components", "Compositions", "References"]
CONDITION_LEVELS = {"Normal", "Warning", "Fault", "Unavailable"}
VALUES = {"EXECUTION": {e.value for e in ExecutionEnum}, "AVAILABILITY": {e.value for e in AvailabilityEnum},
          "CONTROLLER_MODE": {e.value for e in ControllerModeEnum}, "ROTARY_MODE": {e.value for e in RotaryModeEnum}}
INTEGER_TYPES = {"PART_COUNT"}
FLOAT_EVENT_TYPES = {"PATH_FEEDRATE_OVERRIDE"}
UNITS = {u.value for u in UnitEnum}


def _unit_ok(u: str) -> bool:
    return u.replace("/", "_PER_").replace("^2", "_SQUARED").replace("^3", "_CUBED") in UNITS or u in UNITS


def local(tag: str) -> tuple[str, str]:
    assert tag.startswith("{"), f"element {tag} is not in a namespace"
    ns, _, name = tag[1:].partition("}")
    return ns, name


def _attrs(el: ET.Element, spec: tuple[set, set], what: str) -> None:
    req, opt = spec
    have = set(el.attrib)
    missing = req - have
    assert not missing, f"{what}: missing required attribute(s) {sorted(missing)}"
    extra = {a for a in have - req - opt if not a.startswith("{")}
    assert not extra, f"{what}: attribute(s) {sorted(extra)} are not in the schema"


def _children(el: ET.Element, ns: str) -> list[str]:
    out = []
    for ch in el:
        cns, name = local(ch.tag)
        assert cns == ns, f"{name} in namespace {cns}, expected {ns}"
        out.append(name)
    return out


def parse(body: bytes, kind: str) -> ET.Element:
    root = ET.fromstring(body)
    ns, name = local(root.tag)
    assert ns == NS[kind], f"root namespace {ns}, expected {NS[kind]}"
    assert name == ("MTConnectError" if kind == "Error" else f"MTConnect{kind}"), f"root element {name}"
    return root


def check_header(root: ET.Element, kind: str) -> dict:
    ns = NS[kind]
    names = _children(root, ns)
    assert names[0] == "Header", f"{kind}: the first child must be Header, got {names[0]}"
    h = root[0]
    _attrs(h, HEADER[kind], f"{kind} Header")
    for a in ("creationTime", "deviceModelChangeTime"):
        if a in h.attrib:
            assert DATETIME.fullmatch(h.get(a)), f"Header {a}={h.get(a)!r} is not an ISO 8601 UTC date-time"
    for a in ("instanceId", "bufferSize", "nextSequence", "firstSequence", "lastSequence", "assetBufferSize"):
        if a in h.attrib:
            assert INT.fullmatch(h.get(a)) and int(h.get(a)) >= 1, f"Header {a}={h.get(a)!r} must be an integer >= 1"
    if "assetCount" in h.attrib:
        assert int(h.get("assetCount")) >= 0
        assert int(h.get("assetCount")) <= int(h.get("assetBufferSize")), "assetCount must not exceed assetBufferSize"
    assert h.get("version").startswith("2."), f"version {h.get('version')}"
    return {k: (int(v) if INT.fullmatch(v) else v) for k, v in h.attrib.items()}


# ---- devices ------------------------------------------------------------------------------------
def check_devices(body: bytes) -> dict[str, dict]:
    """Check a probe response; return data item id -> its attributes (and ``device``)."""
    root = parse(body, "Devices")
    ns = NS["Devices"]
    check_header(root, "Devices")
    assert _children(root, ns) == ["Header", "Devices"], "MTConnectDevices holds Header, Devices"
    items: dict[str, dict] = {}
    ids: set[str] = set()

    def component(el: ET.Element, device: str, is_device: bool) -> None:
        _, name = local(el.tag)
        _attrs(el, DEVICE_ATTRS if is_device else COMPONENT_ATTRS, f"{name} {el.get('id')}")
        assert NCNAME.fullmatch(el.get("id")), f"id {el.get('id')!r} is not an XML ID"
        assert el.get("id") not in ids, f"id {el.get('id')} is not unique"
        ids.add(el.get("id"))
        kids = _children(el, ns)
        order = [COMPONENT_CHILD_ORDER.index(k) for k in kids]
        assert order == sorted(order) and len(set(kids)) == len(kids), f"{name} {el.get('id')}: children {kids} out of schema order"
        for ch in el:
            _, cname = local(ch.tag)
            if cname == "DataItems":
                assert len(ch), "DataItems must hold at least one DataItem"
                for d in ch:
                    assert local(d.tag)[1] == "DataItem"
                    _attrs(d, DATAITEM_ATTRS, f"DataItem {d.get('id')}")
                    i, t, c = d.get("id"), d.get("type"), d.get("category")
                    assert i not in ids, f"id {i} is not unique"
                    ids.add(i)
                    assert c in {e.value for e in CategoryEnum}, f"category {c}"
                    vocab = {"SAMPLE": SampleEnum, "EVENT": EventEnum, "CONDITION": ConditionEnum}[c]
                    assert t in {e.value for e in vocab}, f"DataItem {i}: type {t} is not a standard {c} type"
                    if d.get("subType"):
                        assert d.get("subType") in {e.value for e in DataItemSubTypeEnum}, f"subType {d.get('subType')}"
                    if c == "SAMPLE":
                        assert d.get("units") and _unit_ok(d.get("units")), f"SAMPLE {i} needs standard units, has {d.get('units')}"
                    items[i] = dict(d.attrib, device=device, component=name)
            elif cname == "Components":
                assert len(ch), "Components must hold at least one component"
                for sub in ch:
                    component(sub, device, False)
            elif cname == "Description":
                assert not len(ch)

    devices = root[1]
    assert len(devices), "Devices must hold at least one Device"
    for dev in devices:
        assert local(dev.tag)[1] in ("Device", "Agent"), f"{dev.tag} under Devices"
        component(dev, dev.get("name"), True)
        own = [d.get("type") for d in dev.findall(f"{{{ns}}}DataItems/{{{ns}}}DataItem")]
        for req in ("AVAILABILITY", "ASSET_CHANGED", "ASSET_REMOVED"):
            assert req in own, f"Device {dev.get('name')} lacks the required {req} data item"
    return items


# ---- streams ------------------------------------------------------------------------------------
def check_streams(body: bytes, items: dict[str, dict]) -> tuple[dict, list[dict]]:
    """Check a current/sample response against the probe's ``items``; return (header,
    observations as dicts with tag, seq, item, value, timestamp)."""
    root = parse(body, "Streams")
    ns = NS["Streams"]
    h = check_header(root, "Streams")
    assert _children(root, ns) == ["Header", "Streams"]
    assert h["firstSequence"] <= h["lastSequence"] + 1, "firstSequence after lastSequence"
    assert h["firstSequence"] <= h["nextSequence"] <= h["lastSequence"] + 1, "nextSequence outside firstSequence .. lastSequence + 1"
    obs: list[dict] = []
    for ds in root[1]:
        assert local(ds.tag)[1] == "DeviceStream"
        _attrs(ds, ({"name", "uuid"}, set()), "DeviceStream")
        for cs in ds:
            assert local(cs.tag)[1] == "ComponentStream"
            _attrs(cs, ({"component", "componentId"}, {"name", "nativeName", "uuid"}), "ComponentStream")
            groups = _children(cs, ns)
            order = [["Samples", "Events", "Condition"].index(g) for g in groups]
            assert order == sorted(order) and len(set(groups)) == len(groups) and groups, f"ComponentStream groups {groups}"
            for g in cs:
                gname = local(g.tag)[1]
                assert len(g), f"empty {gname}"
                for o in g:
                    tag = local(o.tag)[1]
                    d = items.get(o.get("dataItemId"))
                    assert d is not None, f"{tag}: dataItemId {o.get('dataItemId')} is not in the probe"
                    assert d["device"] == ds.get("name"), f"{tag} {o.get('dataItemId')} under the wrong device"
                    assert cs.get("component") == d["component"], f"{tag} under component {cs.get('component')}, probe says {d['component']}"
                    cat = {"Samples": "SAMPLE", "Events": "EVENT", "Condition": "CONDITION"}[gname]
                    assert d["category"] == cat, f"{tag} of a {d['category']} item under {gname}"
                    if cat == "CONDITION":
                        _attrs(o, CONDITION_ATTRS, tag)
                        assert tag in CONDITION_LEVELS, f"condition element {tag}"
                        assert o.get("type") == d["type"]
                    else:
                        _attrs(o, OBS_ATTRS, tag)
                        assert tag == "".join(w.capitalize() for w in d["type"].split("_")), f"element {tag} for type {d['type']}"
                        v = o.text or ""
                        if v != "UNAVAILABLE":
                            if cat == "SAMPLE" or d["type"] in FLOAT_EVENT_TYPES:
                                assert FLOAT.fullmatch(v), f"{tag} value {v!r} is not a float"
                            if d["type"] in INTEGER_TYPES:
                                assert INT.fullmatch(v), f"{tag} value {v!r} is not an integer"
                            if d["type"] in VALUES:
                                assert v in VALUES[d["type"]], f"{tag} value {v!r} is not in the controlled vocabulary"
                        if d["type"] in ("ASSET_CHANGED", "ASSET_REMOVED"):
                            assert o.get("assetType"), f"{tag} needs assetType"
                    if d.get("subType"):
                        assert o.get("subType") == d["subType"]
                    assert DATETIME.fullmatch(o.get("timestamp")), f"timestamp {o.get('timestamp')!r}"
                    seq = int(o.get("sequence"))
                    assert h["firstSequence"] <= seq <= h["lastSequence"], f"sequence {seq} outside the buffer"
                    obs.append({"tag": tag, "seq": seq, "item": o.get("dataItemId"), "value": o.text,
                                "timestamp": o.get("timestamp"), "device": ds.get("name")})
    seqs = [o["seq"] for o in obs]
    assert len(seqs) == len(set(seqs)), "a sequence number appears twice"
    return h, obs


# ---- assets and errors ------------------------------------------------------------------------------
def check_assets(body: bytes) -> list[ET.Element]:
    root = parse(body, "Assets")
    ns = NS["Assets"]
    h = check_header(root, "Assets")
    assert _children(root, ns) == ["Header", "Assets"]
    out = []
    for a in root[1]:
        assert local(a.tag)[1] == "CuttingTool"
        _attrs(a, ({"assetId", "serialNumber", "toolId", "timestamp"}, {"deviceUuid", "removed", "manufacturers"}), "CuttingTool")
        assert DATETIME.fullmatch(a.get("timestamp"))
        kids = _children(a, ns)
        assert set(kids) <= {"Description", "CuttingToolDefinition", "CuttingToolArchetypeReference", "CuttingToolLifeCycle"}
        lc = a.find(f"{{{ns}}}CuttingToolLifeCycle")
        assert lc is not None
        lk = _children(lc, ns)
        order = ["CutterStatus", "ReconditionCount", "ToolLife", "ProgramToolGroup", "ProgramToolNumber", "Location",
                 "ProcessSpindleSpeed", "ProcessFeedRate", "ConnectionCodeMachineSide", "Measurements", "CuttingItems"]
        assert lk[0] == "CutterStatus" and [order.index(k) for k in lk] == sorted(order.index(k) for k in lk), f"CuttingToolLifeCycle {lk}"
        for s in lc.find(f"{{{ns}}}CutterStatus"):
            assert local(s.tag)[1] == "Status" and s.text in {e.value for e in CutterStatusTypeEnum}, f"Status {s.text}"
        for life in lc.findall(f"{{{ns}}}ToolLife"):
            _attrs(life, ({"type", "countDirection"}, {"warning", "limit", "initial"}), "ToolLife")
            assert life.get("type") in {e.value for e in ToolLifeEnum}
            assert life.get("countDirection") in {e.value for e in CountDirectionTypeEnum}
            assert FLOAT.fullmatch(life.text)
        out.append(a)
    assert h["assetCount"] >= 0
    return out


def check_error(body: bytes) -> list[tuple[str, str]]:
    root = parse(body, "Error")
    ns = NS["Error"]
    check_header(root, "Error")
    assert _children(root, ns) == ["Header", "Errors"]
    errs = []
    for e in root[1]:
        assert local(e.tag)[1] == "Error"
        _attrs(e, ({"errorCode"}, set()), "Error")
        assert e.get("errorCode") in {c.value for c in ErrorCodeEnum}, f"errorCode {e.get('errorCode')}"
        errs.append((e.get("errorCode"), e.text or ""))
    assert errs
    return errs
