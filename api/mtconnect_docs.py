"""MTConnect 2.0 response documents (XML in the ``urn:mtconnect.org:MTConnect*:2.0``
namespaces, and cppagent's JSON version 2) built from the agent's model and buffer.

Builders are plain functions of immutable snapshots, so the agent can run them in a worker
thread, off the event loop. XML is written with :mod:`xml.etree.ElementTree` (values and
attributes are escaped by it); JSON is compact (one line per document, as streaming clients
that split on lines expect).
"""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from .mtconnect_model import SCHEMA_VERSION, Device, Tool

NS = {kind: f"urn:mtconnect.org:MTConnect{kind}:{SCHEMA_VERSION}" for kind in ("Devices", "Streams", "Assets", "Error")}
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_URL = "http://schemas.mtconnect.org/schemas/MTConnect{kind}_{v}.xsd"


def _root(kind: str) -> ET.Element:
    root = ET.Element(f"MTConnect{kind}" if kind != "Error" else "MTConnectError")
    root.set("xmlns", NS[kind])
    root.set("xmlns:xsi", XSI)
    root.set("xsi:schemaLocation", f"{NS[kind]} {SCHEMA_URL.format(kind=kind, v=SCHEMA_VERSION)}")
    return root


def _xml(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _json(kind: str, header: dict, body_key: str, body) -> bytes:
    name = "MTConnectError" if kind == "Error" else f"MTConnect{kind}"
    doc = {name: {"jsonVersion": 2, "schemaVersion": SCHEMA_VERSION, "Header": header, body_key: body}}
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _attrs(header: dict) -> dict[str, str]:
    return {k: (("true" if v else "false") if isinstance(v, bool) else str(v)) for k, v in header.items()}


# ---- probe --------------------------------------------------------------------------------------
def _item_dict(d) -> dict:
    out = {"category": d.category, "id": d.id, "type": d.type}
    if d.sub_type:
        out["subType"] = d.sub_type
    if d.units:
        out["units"] = d.units
    if d.name:
        out["name"] = d.name
    return out


def _comp_dict(c) -> dict:
    out: dict = {"id": c.id}
    if c.name:
        out["name"] = c.name
    if c.items:
        out["DataItems"] = {"DataItem": [_item_dict(d) for d in c.items]}
    if c.children:
        kids: dict[str, list] = {}
        for ch in c.children:
            kids.setdefault(ch.kind, []).append(_comp_dict(ch))
        out["Components"] = kids
    return out


def device_dicts(devices: list[Device]) -> list[dict]:
    out = []
    for dev in devices:
        d = {"id": dev.id, "name": dev.name, "uuid": dev.uuid,
             "Description": {"manufacturer": "twin", "model": "digital twin station", "serialNumber": dev.uuid[:8],
                             "value": f"simulated station {dev.name}"},
             "DataItems": {"DataItem": [_item_dict(x) for x in dev.items]}}
        kids: dict[str, list] = {}
        for c in dev.components:
            kids.setdefault(c.kind, []).append(_comp_dict(c))
        d["Components"] = kids
        out.append(d)
    return out


def _comp_xml(parent: ET.Element, kind: str, c: dict) -> None:
    el = ET.SubElement(parent, kind, {k: v for k, v in c.items() if isinstance(v, str) and k != "value"})
    if "Description" in c:
        desc = c["Description"]
        ET.SubElement(el, "Description", {k: v for k, v in desc.items() if k != "value"}).text = desc.get("value")
    if "DataItems" in c:
        items = ET.SubElement(el, "DataItems")
        for d in c["DataItems"]["DataItem"]:
            ET.SubElement(items, "DataItem", d)
    if "Components" in c:
        comps = ET.SubElement(el, "Components")
        for k, lst in c["Components"].items():
            for ch in lst:
                _comp_xml(comps, k, ch)


def probe(header: dict, devices: list[Device], fmt: str) -> bytes:
    dicts = device_dicts(devices)
    if fmt == "json":
        return _json("Devices", header, "Devices", {"Device": dicts})
    root = _root("Devices")
    ET.SubElement(root, "Header", _attrs(header))
    devs = ET.SubElement(root, "Devices")
    for d in dicts:
        _comp_xml(devs, "Device", d)
    return _xml(root)


# ---- streams ------------------------------------------------------------------------------------
CATEGORY_GROUP = {"SAMPLE": "Samples", "EVENT": "Events", "CONDITION": "Condition"}
_GROUP_ORDER = ("Samples", "Events", "Condition")


def streams(header: dict, devices: list[Device], where: dict, observations, epoch_iso, fmt: str) -> bytes:
    """``observations``: (seq, item id, sim time, value) in sequence order; ``where``: item id ->
    (device index, component kind, component id, component name, DataItem); ``epoch_iso(t)``:
    the ISO timestamp of sim time ``t``. Every device appears (empty ones too)."""
    # device -> component id -> group -> [(element, attrs, text)]
    per_dev: list[dict] = [dict() for _ in devices]
    comp_info: dict[str, tuple[str, str | None]] = {}
    for seq, item, t, value in observations:
        di, ckind, cid, cname, d = where[item]
        comp_info[cid] = (ckind, cname)
        attrs = {"dataItemId": d.id, "timestamp": epoch_iso(t), "sequence": seq}
        if d.name:
            attrs["name"] = d.name
        if d.sub_type:
            attrs["subType"] = d.sub_type
        for k, v in d.extra:
            attrs[k] = v
        if d.category == "CONDITION":
            level, native, text = value
            attrs["type"] = d.type
            if native:
                attrs["nativeCode"] = native
            el, txt = level, text
        else:
            el, txt = d.element, value
        per_dev[di].setdefault(cid, {}).setdefault(CATEGORY_GROUP[d.category], []).append((el, attrs, txt))
    if fmt == "json":
        ds = []
        for dev, comps in zip(devices, per_dev):
            cs = []
            for cid, groups in comps.items():
                ckind, cname = comp_info[cid]
                c: dict = {"component": ckind, "componentId": cid}
                if cname:
                    c["name"] = cname
                for g in _GROUP_ORDER:
                    if g in groups:
                        by: dict[str, list] = {}
                        for el, attrs, txt in groups[g]:
                            o = dict(attrs)
                            if txt is not None:
                                o["value"] = txt
                            by.setdefault(el, []).append(o)
                        c[g] = by
                cs.append(c)
            entry: dict = {"name": dev.name, "uuid": dev.uuid}
            if cs:
                entry["ComponentStream"] = cs
            ds.append(entry)
        return _json("Streams", header, "Streams", {"DeviceStream": ds})
    # XML as text (ElementTree costs ~40 us per observation; this ~5): every attribute value
    # and text goes through escape(), names are the model's own
    out = [_xml_head("Streams"), "<Header", _xattrs(_attrs(header)), "/><Streams>"]
    for dev, comps in zip(devices, per_dev):
        out.append(f"<DeviceStream{_xattrs({'name': dev.name, 'uuid': dev.uuid})}>")
        for cid, groups in comps.items():
            ckind, cname = comp_info[cid]
            ca = {"component": ckind, "componentId": cid}
            if cname:
                ca["name"] = cname
            out.append(f"<ComponentStream{_xattrs(ca)}>")
            for g in _GROUP_ORDER:
                if g in groups:
                    out.append(f"<{g}>")
                    for el, attrs, txt in groups[g]:
                        if txt is None:
                            out.append(f"<{el}{_xattrs(attrs)}/>")
                        else:
                            out.append(f"<{el}{_xattrs(attrs)}>{_esc(txt)}</{el}>")
                    out.append(f"</{g}>")
            out.append("</ComponentStream>")
        out.append("</DeviceStream>")
    out.append("</Streams></MTConnectStreams>")
    return "".join(out).encode()


_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _esc(v) -> str:
    return str(v).translate(_ESC)


def _xattrs(attrs: dict) -> str:
    return "".join(f' {k}="{_esc(v)}"' for k, v in attrs.items())


def _xml_head(kind: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<MTConnect{kind} xmlns="{NS[kind]}" xmlns:xsi="{XSI}" '
            f'xsi:schemaLocation="{NS[kind]} {SCHEMA_URL.format(kind=kind, v=SCHEMA_VERSION)}">')


# ---- assets -------------------------------------------------------------------------------------
def tool_dict(tool: Tool, ts: str) -> dict:
    status = "NEW" if tool.life_frac <= 0.0 else ("EXPIRED" if tool.life_frac >= 1.0 else "USED")
    return {"assetId": tool.asset_id, "serialNumber": tool.asset_id, "toolId": tool.tool, "timestamp": ts,
            "deviceUuid": tool.device_uuid,
            "CuttingToolLifeCycle": {
                "CutterStatus": {"Status": [status]},
                "ToolLife": [{"type": "WEAR", "countDirection": "UP", "limit": format(tool.vb_max_mm, ".6g"),
                              "initial": "0", "value": format(tool.vb_mm, ".6g")}],
                "ProgramToolNumber": str(tool.number)}}


def assets(header: dict, items: list[dict], fmt: str) -> bytes:
    if fmt == "json":
        return _json("Assets", header, "Assets", {"CuttingTool": items} if items else {})
    root = _root("Assets")
    ET.SubElement(root, "Header", _attrs(header))
    a = ET.SubElement(root, "Assets")
    for it in items:
        ct = ET.SubElement(a, "CuttingTool", {k: v for k, v in it.items() if isinstance(v, str)})
        lc_d = it["CuttingToolLifeCycle"]
        lc = ET.SubElement(ct, "CuttingToolLifeCycle")
        cs = ET.SubElement(lc, "CutterStatus")
        for s in lc_d["CutterStatus"]["Status"]:
            ET.SubElement(cs, "Status").text = s
        for life in lc_d["ToolLife"]:
            ET.SubElement(lc, "ToolLife", {k: v for k, v in life.items() if k != "value"}).text = life["value"]
        ET.SubElement(lc, "ProgramToolNumber").text = lc_d["ProgramToolNumber"]
    return _xml(root)


# ---- errors -------------------------------------------------------------------------------------
def error(header: dict, code: str, message: str, fmt: str) -> bytes:
    if fmt == "json":
        return _json("Error", header, "Errors", {"Error": [{"errorCode": code, "value": message}]})
    root = _root("Error")
    ET.SubElement(root, "Header", _attrs(header))
    errs = ET.SubElement(root, "Errors")
    ET.SubElement(errs, "Error", {"errorCode": code}).text = message
    return _xml(root)
