"""Snapshots from a running plant: an MTConnect agent's ``/current`` or an OPC UA server with the
OPC 40001 Machinery layout, mapped to the scenario by name.

MTConnect (``http://host:port``; the MTConnect Standard 2.x ``MTConnectStreams`` document): per
``DeviceStream`` (a station: its ``name``, or the mapping's), the first ``Execution`` event gives
the state, ``Condition`` ``Fault`` entries make it ``down``, ``PartKindId`` the product (through
the mapping's ``products``; else ``Program`` through the mapping's ``programs``, or a program named
like a product), ``PartUniqueId``/``PartId`` the part's label, ``PartCount`` (subType
``GOOD``/``BAD``, or plain for all) the counts. Elapsed times are the header's ``creationTime``
minus the timestamp of the observation that started the state (for a machine ACTIVE part after
part, the later of ``Execution`` and ``PartUniqueId``). Execution values:

=====================================================  ================================
MTConnect ``Execution``                                 snapshot state
=====================================================  ================================
ACTIVE                                                  processing
READY, WAIT, PROGRAM_COMPLETED                          idle
INTERRUPTED (or any ``Fault`` condition)                down
FEED_HOLD, PROGRAM_STOPPED, OPTIONAL_STOP               held
STOPPED                                                 idle (the calendar brings back off shift, breaks and windows)
=====================================================  ================================

OPC UA (``opc.tcp://host:port``; OPC 40001-1): the ``Machines`` folder under Objects lists the
machines; per machine the ``CurrentState`` of ``MachineryItemState`` and ``MachineryOperationMode``
(in ``MachineryBuildingBlocks``, or directly under the machine) give the state: Executing with
Processing -> processing, with Setup -> setup; NotExecuting -> idle; OutOfService -> down (with
mode Maintenance and the mapping's ``maintenance: true`` -> maintenance); NotAvailable -> idle.
The state's ``SourceTimestamp`` against the server's ``CurrentTime`` gives the elapsed time;
``Production/ActiveProgram/Name`` (OPC 40501) maps to a product through ``programs``.

Buffers have no standard element in either; the mapping names a data item (MTConnect: id or
name) or a variable (OPC UA: a browse path under the machine, e.g. ``Buffers/B_SAW``) whose value
is the number of parts waiting, with the product they are.

The mapping file (YAML)::

    stations: {L1: Lathe-01}          # scenario name: plant name (default: the same)
    products: {SHAFT-A: shaft_A}      # plant part kind: scenario product (default: the same)
    programs: {O1001: shaft_A}        # OPC UA active program name: product
    buffers: {B_SAW: {device: Line, item: b_saw_count, product: shaft_A}}
    timezone: Europe/Berlin           # the plant's local time (default: this machine's)

Every value read from a server is untrusted: the document size is bounded, XML is parsed with
defusedxml (no entities, no external references), and everything lands in the validated
:class:`~twin.live.snapshot.Snapshot` model.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .snapshot import Snapshot, SnapshotError, parse_snapshot

__all__ = ["AcquireError", "Mapping", "load_mapping", "parse_mtconnect", "mtconnect_snapshot", "read_opcua",
           "opcua_snapshot", "acquire", "MTCONNECT_STATE", "MAX_DOCUMENT"]

MAX_DOCUMENT = 16 * 1024 * 1024  # bytes of an MTConnect document
MAX_MACHINES = 10_000

MTCONNECT_STATE = {
    "ACTIVE": "processing", "READY": "idle", "WAIT": "idle", "PROGRAM_COMPLETED": "idle", "INTERRUPTED": "down",
    "FEED_HOLD": "held", "PROGRAM_STOPPED": "held", "OPTIONAL_STOP": "held", "PROGRAM_OPTIONAL_STOP": "held",
    "STOPPED": "idle",
}


class AcquireError(ValueError):
    """The plant could not be read or mapped; the message says what and where."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BufferSource(_M):
    device: str | None = Field(default=None, description="MTConnect device (default: any) or OPC UA machine holding the item")
    item: str = Field(description="MTConnect dataItemId or name; OPC UA browse path (a/b/c) under the machine, or without "
                                  "a device first from Objects (the twin's own server: Buffers/B_SAW/Level)")
    product: str = Field(description="scenario product of the waiting parts")
    step: int | None = Field(default=None, ge=0)


class Mapping(_M):
    stations: dict[str, str] = Field(default_factory=dict)
    products: dict[str, str] = Field(default_factory=dict)
    programs: dict[str, str] = Field(default_factory=dict)
    buffers: dict[str, BufferSource] = Field(default_factory=dict)
    timezone: str | None = None
    maintenance: bool = Field(default=False, description="OPC UA: OutOfService + Maintenance is planned maintenance, not a failure")

    def plant_name(self, station: str) -> str:
        return self.stations.get(station, station)


def load_mapping(path: str | Path | None) -> Mapping:
    if path is None:
        return Mapping()
    from twin.scenario import ScenarioError, load_data

    try:
        data = load_data(path)
        return Mapping.model_validate(data)
    except ScenarioError as e:
        raise AcquireError(f"mapping {path}: {e}") from None
    except ValidationError as e:
        errs = "; ".join(f"{'.'.join(str(x) for x in er['loc'])}: {er['msg']}" for er in e.errors(include_url=False))
        raise AcquireError(f"mapping {path}: {errs}") from None


def _local(ts: dt.datetime, mapping: Mapping) -> dt.datetime:
    """A server time (UTC) as the plant's naive local time."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=dt.timezone.utc)
    if mapping.timezone:
        from zoneinfo import ZoneInfo

        try:
            tz = ZoneInfo(mapping.timezone)
        except Exception:
            raise AcquireError(f"mapping timezone: unknown time zone {mapping.timezone!r}") from None
        return ts.astimezone(tz).replace(tzinfo=None)
    return ts.astimezone().replace(tzinfo=None)


def _iso(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.timezone.utc)


# ---- MTConnect -------------------------------------------------------------------------------------------
def parse_mtconnect(xml: bytes | str) -> dict[str, Any]:
    """An ``MTConnectStreams`` document as ``{"time": creationTime, "devices": {name: {"events":
    [...], "conditions": [...]}}}``; each event ``{"type", "id", "name", "subType", "timestamp",
    "value"}``, each condition ``{"level", "type", "timestamp"}``."""
    from defusedxml import ElementTree as ET
    from defusedxml.common import DefusedXmlException

    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    if len(xml) > MAX_DOCUMENT:
        raise AcquireError(f"the MTConnect document is larger than {MAX_DOCUMENT} bytes")
    try:
        root = ET.fromstring(xml, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as e:
        raise AcquireError(f"not a valid MTConnect XML document: {e}") from None
    local = lambda tag: tag.rsplit("}", 1)[-1]
    if local(root.tag) != "MTConnectStreams":
        if local(root.tag) == "MTConnectError":
            raise AcquireError("the agent answered with an MTConnectError document")
        raise AcquireError(f"expected an MTConnectStreams document, got <{local(root.tag)}>")
    header = next((e for e in root if local(e.tag) == "Header"), None)
    created = _iso(header.get("creationTime")) if header is not None else None
    if created is None:
        raise AcquireError("Header: creationTime is missing or not an ISO date-time")
    devices: dict[str, dict] = {}
    for ds in root.iter():
        if local(ds.tag) != "DeviceStream":
            continue
        name = ds.get("name") or ds.get("uuid") or ""
        dev = devices.setdefault(name, {"events": [], "conditions": []})
        if len(devices) > MAX_MACHINES:
            raise AcquireError(f"more than {MAX_MACHINES} devices")
        for comp in ds.iter():
            kind = local(comp.tag)
            if kind in ("Events", "Samples"):
                for e in comp:
                    dev["events"].append({"type": local(e.tag), "id": e.get("dataItemId"), "name": e.get("name"),
                                          "subType": e.get("subType"), "timestamp": _iso(e.get("timestamp")),
                                          "value": (e.text or "").strip(), "component": comp.get("component")})
            elif kind == "Condition":
                for c in comp:
                    dev["conditions"].append({"level": local(c.tag), "type": c.get("type"), "timestamp": _iso(c.get("timestamp"))})
    return {"time": created, "devices": devices}


def _first(events, type_: str, sub: str | None = None):
    for e in events:
        if e["type"] == type_ and (sub is None or (e["subType"] or "").upper() == sub) and e["value"].upper() != "UNAVAILABLE":
            return e
    return None


def mtconnect_snapshot(doc: dict, scenario, mapping: Mapping | None = None) -> Snapshot:
    """Map a parsed ``/current`` document to a :class:`Snapshot` of ``scenario``."""
    mapping = mapping or Mapping()
    now = doc["time"]
    stations: dict[str, dict] = {}
    notes = []
    for station in scenario.stations:
        dev = doc["devices"].get(mapping.plant_name(station))
        if dev is None:
            continue
        ev = dev["events"]
        st: dict[str, Any] = {}
        exe = _first(ev, "Execution")
        faults = [c for c in dev["conditions"] if c["level"] == "Fault"]
        state = MTCONNECT_STATE.get(exe["value"].upper(), None) if exe is not None else None
        if exe is not None and state is None:
            notes.append(f"{station}: Execution {exe['value']!r} is not an MTConnect 2.x value; taken as idle")
        since = exe["timestamp"] if exe is not None else None
        if faults:
            state = "down"
            ts = [c["timestamp"] for c in faults if c["timestamp"] is not None]
            since = min(ts) if ts else since
        state = state or "idle"
        part = None
        kind = _first(ev, "PartKindId")
        if kind is not None:
            product = mapping.products.get(kind["value"], kind["value"])
            if product not in scenario.products:
                raise AcquireError(f"{station}: PartKindId {kind['value'][:64]!r} is not a product of the scenario "
                                   f"({', '.join(scenario.products)}); map it in the mapping's products")
            part = {"product": product}
            uid = _first(ev, "PartUniqueId") or _first(ev, "PartId")
            if uid is not None:
                part["label"] = uid["value"][:128]
        if part is None:  # the NC program names the product (the mapping's programs, or the product's own name)
            prog = _first(ev, "Program")
            product = mapping.programs.get(prog["value"], prog["value"]) if prog is not None else None
            if product in scenario.products:
                part = {"product": product}
        uid = _first(ev, "PartUniqueId") or _first(ev, "PartId")
        if state == "processing" and uid is not None and uid["timestamp"] is not None and since is not None:
            since = max(since, uid["timestamp"])  # a machine ACTIVE part after part: the part in hand started then
        if state in ("processing", "down") and part is None:
            prods = {pname for _p, pname, _i, _s in scenario.visits(station)}
            if len(prods) == 1:
                part = {"product": next(iter(prods))}
        if state == "processing" and part is None:
            notes.append(f"{station}: ACTIVE without PartKindId and several products: taken as idle")
            state = "idle"
        st["state"] = state
        if state in ("processing", "down"):
            if part is not None:
                st["part"] = part
            if since is not None:
                st["elapsed"] = max(0.0, (now - since).total_seconds())
        good, bad = _first(ev, "PartCount", "GOOD"), _first(ev, "PartCount", "BAD")
        try:
            if good is not None or bad is not None:
                st["counts"] = {"good": int(float(good["value"])) if good else 0, "bad": int(float(bad["value"])) if bad else 0}
        except ValueError:
            notes.append(f"{station}: PartCount is not a number")
        if state == "idle" and set(st) == {"state"}:
            continue
        stations[station] = st
    buffers = _mapped_buffers(mapping, lambda src: _mt_item(doc, src))
    try:
        return parse_snapshot({"time": _local(now, mapping).isoformat(sep=" "), "stations": stations, "buffers": buffers})
    except SnapshotError as e:
        raise AcquireError("the plant's values do not fit a snapshot: " + "; ".join(f"{p}: {m}" for p, m in e.errors)) from None


def _mt_item(doc: dict, src: BufferSource) -> str | None:
    devs = [doc["devices"][src.device]] if src.device in doc["devices"] else ([] if src.device else list(doc["devices"].values()))
    for d in devs:
        for e in d["events"]:
            if src.item in (e["id"], e["name"]) and e["value"].upper() != "UNAVAILABLE":
                return e["value"]
    return None


def _mapped_buffers(mapping: Mapping, read) -> dict[str, list]:
    out = {}
    for name, src in mapping.buffers.items():
        v = read(src)
        if v is None:
            raise AcquireError(f"mapping buffers.{name}: item {src.item!r} not found on the server")
        try:
            n = int(float(v))
        except (TypeError, ValueError):
            raise AcquireError(f"mapping buffers.{name}: item {src.item!r} reads {str(v)[:40]!r}, not a count") from None
        if not (0 <= n <= 100_000):
            raise AcquireError(f"mapping buffers.{name}: {n} parts is out of range")
        if n:
            row = {"product": src.product, "count": n}
            if src.step is not None:
                row["step"] = src.step
            out[name] = [row]
    return out


def fetch_mtconnect(url: str, timeout: float = 10.0) -> bytes:
    """GET ``url``/current (bounded size)."""
    import httpx

    u = url.rstrip("/")
    if not u.endswith("/current"):
        u += "/current"
    try:
        with httpx.stream("GET", u, timeout=timeout, follow_redirects=False) as r:
            if r.status_code != 200:
                raise AcquireError(f"{u}: HTTP {r.status_code}")
            buf = bytearray()
            for chunk in r.iter_bytes():
                buf += chunk
                if len(buf) > MAX_DOCUMENT:
                    raise AcquireError(f"{u}: the document is larger than {MAX_DOCUMENT} bytes")
            return bytes(buf)
    except httpx.HTTPError as e:
        raise AcquireError(f"{u}: {e}") from None


# ---- OPC UA (OPC 40001 Machinery) --------------------------------------------------------------------------
async def _child(node, name: str):
    for c in await node.get_children():
        if (await c.read_browse_name()).Name == name:
            return c
    return None


async def _path(node, path: str):
    for part in [p for p in path.split("/") if p]:
        node = await _child(node, part)
        if node is None:
            return None
    return node


async def read_opcua(url: str, timeout: float = 10.0, buffer_paths: dict[str, tuple[str | None, str]] | None = None) -> dict:
    """Read the Machines folder: ``{"time": server time, "machines": {name: {"item_state",
    "op_mode", "since", "program"}}, "buffers": {key: value}}``."""
    from asyncua import Client, ua

    out: dict[str, Any] = {"machines": {}, "buffers": {}}
    try:
        async with Client(url, timeout=timeout) as client:
            now = await client.get_node(ua.ObjectIds.Server_ServerStatus_CurrentTime).read_value()
            out["time"] = now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
            machines = await _child(client.nodes.objects, "Machines")
            if machines is None:
                raise AcquireError(f"{url}: no Machines folder under Objects (OPC 40001-1)")
            children = await machines.get_children()
            if len(children) > MAX_MACHINES:
                raise AcquireError(f"{url}: more than {MAX_MACHINES} machines")
            for key, (dev, path) in (buffer_paths or {}).items():  # a path from Objects (Buffers/B_SAW/Level)
                if dev is None:
                    node = await _path(client.nodes.objects, path)
                    if node is not None:
                        out["buffers"][key] = await node.read_value()
            for m in children:
                name = (await m.read_browse_name()).Name
                bb = await _child(m, "MachineryBuildingBlocks") or m
                rec: dict[str, Any] = {}
                for key, obj in (("item_state", "MachineryItemState"), ("op_mode", "MachineryOperationMode")):
                    cs = await _path(bb, f"{obj}/CurrentState")
                    if cs is None:
                        continue
                    dv = await cs.read_data_value()
                    v = dv.Value.Value
                    rec[key] = str(getattr(v, "Text", v) or "")
                    ts = dv.SourceTimestamp or dv.ServerTimestamp
                    if ts is not None and key == "item_state":
                        rec["since"] = ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)
                prog = await _path(m, "Production/ActiveProgram/Name")
                if prog is not None:
                    rec["program"] = str(await prog.read_value())
                out["machines"][name] = rec
                for key, (dev, path) in (buffer_paths or {}).items():
                    if (dev is not None and dev != name) or key in out["buffers"]:
                        continue
                    node = await _path(m, path)
                    if node is not None:
                        out["buffers"][key] = await node.read_value()
    except AcquireError:
        raise
    except (OSError, TimeoutError) as e:
        raise AcquireError(f"{url}: cannot connect ({e})") from None
    except Exception as e:  # a server that answers but not as OPC 40001 expects
        raise AcquireError(f"{url}: {type(e).__name__}: {e}") from None
    return out


_ITEM = {"executing": None, "notexecuting": "idle", "outofservice": "down", "notavailable": "idle"}


def opcua_snapshot(data: dict, scenario, mapping: Mapping | None = None) -> Snapshot:
    """Map :func:`read_opcua`'s result to a :class:`Snapshot` of ``scenario``."""
    mapping = mapping or Mapping()
    now = data["time"]
    stations: dict[str, dict] = {}
    for station in scenario.stations:
        rec = data["machines"].get(mapping.plant_name(station))
        if rec is None or "item_state" not in rec:
            continue
        item = rec["item_state"].replace(" ", "").lower()
        mode = rec.get("op_mode", "").replace(" ", "").lower()
        if item not in _ITEM:
            raise AcquireError(f"{station}: MachineryItemState {rec['item_state']!r} is not an OPC 40001-1 state")
        state = _ITEM[item]
        if state is None:
            state = "setup" if mode == "setup" else "processing"
        if state == "down" and mode == "maintenance" and mapping.maintenance:
            state = "maintenance"
        st: dict[str, Any] = {"state": state}
        elapsed = max(0.0, (now - rec["since"]).total_seconds()) if rec.get("since") else 0.0
        if state in ("processing", "setup", "down"):
            prog = rec.get("program")
            prods = {pname for _p, pname, _i, _s in scenario.visits(station)}
            product = mapping.programs.get(prog) if prog else None
            if product is None and len(prods) == 1:
                product = next(iter(prods))
            if product is not None:
                st["part"] = {"product": product}
            elif state != "down":
                raise AcquireError(f"{station}: {state} but no product (map its program {prog!r} in programs)")
            st["elapsed"] = elapsed
        if state == "maintenance":
            st["elapsed"] = elapsed
            st["remaining"] = 0.0  # the plan's end is not published: back at once unless the calendar holds it
        if state == "idle":
            continue
        stations[station] = st
    buffers = _mapped_buffers(mapping, lambda src: data["buffers"].get(_buf_key(src)))
    try:
        return parse_snapshot({"time": _local(now, mapping).isoformat(sep=" "), "stations": stations, "buffers": buffers})
    except SnapshotError as e:
        raise AcquireError("the plant's values do not fit a snapshot: " + "; ".join(f"{p}: {m}" for p, m in e.errors)) from None


def _buf_key(src: BufferSource) -> str:
    return f"{src.device}|{src.item}"


def acquire(url: str, scenario, mapping: str | Path | Mapping | None = None, timeout: float = 10.0) -> Snapshot:
    """A snapshot of the plant at ``url`` (http(s):// an MTConnect agent, opc.tcp:// an OPC UA server)."""
    import asyncio

    mp = mapping if isinstance(mapping, Mapping) else load_mapping(mapping)
    if not (0 < timeout <= 300 and math.isfinite(timeout)):
        raise AcquireError(f"timeout: 0 < timeout <= 300 s, got {timeout}")
    if url.startswith(("http://", "https://")):
        return mtconnect_snapshot(parse_mtconnect(fetch_mtconnect(url, timeout)), scenario, mp)
    if url.startswith("opc.tcp://"):
        paths = {_buf_key(s): (s.device, s.item) for s in mp.buffers.values()}
        return opcua_snapshot(asyncio.run(read_opcua(url, timeout, paths)), scenario, mp)
    raise AcquireError(f"{url!r}: expected http(s):// (MTConnect agent) or opc.tcp:// (OPC UA server)")
