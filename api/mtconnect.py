"""An MTConnect 2.0 agent for the served plant (``twin serve --mtconnect PORT``).

The agent reads the served session (the one OPC UA serves and ``--realtime`` paces) and keeps
a circular buffer of observations; a separate HTTP server on its own port answers the REST
requests of MTConnect Part 1 (see docs/api.md, "MTConnect agent"):

* ``/probe``, ``/current`` (``at=``), ``/sample`` (``from``, ``count``, ``to``, ``interval``,
  ``heartbeat``), ``/assets`` (``type``, ``count``, ``device``), ``/asset/ID[;ID...]`` and the
  per-device forms ``/DEVICE``, ``/DEVICE/probe|current|sample|assets``; ``path=`` on
  current and sample (an XPath subset over the probe document, see :func:`parse_path`);
* XML (``urn:mtconnect.org:MTConnect*:2.0``) by default, JSON (cppagent's ``jsonVersion`` 2)
  with ``Accept: application/json`` or ``format=json``;
* errors as ``MTConnectError`` documents: ``INVALID_REQUEST``/``OUT_OF_RANGE``/``INVALID_XPATH``
  /``INVALID_URI`` 400, ``NO_DEVICE``/``ASSET_NOT_FOUND`` 404, ``UNSUPPORTED`` 405 (a method
  other than GET or HEAD) or 404 (an unknown request), ``UNAUTHORIZED`` 401.

Buffer. Every change of a data item's value is one observation with the next sequence number
(starting at 1 for each ``instanceId``); the buffer keeps the newest ``buffer_size`` of them
(``firstSequence`` .. ``lastSequence``; ``nextSequence`` = ``lastSequence + 1``); an
observation leaving it updates a checkpoint, so ``current?at=N`` answers for any N in
``firstSequence - 1 .. lastSequence``. The agent observes the session after every realtime
tick and every ``poll_s`` wall seconds (lockstep steps, commands): state changes come from the
run's state log, each at its own sim time, the other values from the tags; a Reset of the session starts
a new ``instanceId`` and an empty buffer. Timestamps are sim time on the scenario's calendar
(see :func:`twin.api.mtconnect_model.sim_epoch`); header ``creationTime`` is the plant's
simulated now (the twin's clock), so now minus an observation's timestamp is a simulated duration.

Never blocking the event loop: the run is read in the server's step threads (under the
session lock), documents are built in worker threads, and streams wait on an event. A stream
holds no more than one document at a time (the next is built when the client has taken the
last), so a slow client cannot grow memory; a client that falls behind the buffer gets
``OUT_OF_RANGE`` and the stream ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import socket
import threading
import time
from collections import deque
from typing import Any
from xml.etree import ElementTree as ET

from . import mtconnect_docs as docs
from .mtconnect_model import VERSION, build_devices, code_values, first_resources, iso, sim_epoch, station_values, tools

log = logging.getLogger("twin.api.mtconnect")

MAX_BUFFER = 1 << 20
MAX_COUNT = 10_000
MAX_INTERVAL_MS = 3_600_000
MIN_HEARTBEAT_MS = 10
MAX_HEARTBEAT_MS = 600_000
DEFAULT_HEARTBEAT_MS = 10_000
MAX_PATH = 512
MAX_QUERY = 2048
ASSET_BUFFER = 1024
MAX_ASSET_IDS = 64
MAX_CONNECTIONS = 256  # open connections (streams included) beyond which the agent answers 503


class MTError(Exception):
    STATUS = {"INVALID_REQUEST": 400, "OUT_OF_RANGE": 400, "INVALID_XPATH": 400, "NO_DEVICE": 404,
              "ASSET_NOT_FOUND": 404, "UNSUPPORTED": 404, "UNAUTHORIZED": 401, "TOO_MANY": 429, "INTERNAL_ERROR": 500}

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status or self.STATUS[code]


# ---- the buffer -----------------------------------------------------------------------------------
class Buffer:
    """Observations ``(seq, item id, sim time, value)`` with MTConnect sequence semantics.
    Written by one observer (in a step thread), read by request threads: ``lock`` guards it."""

    def __init__(self, size: int):
        if not 1 <= size <= MAX_BUFFER:
            raise ValueError(f"buffer size must be 1 .. {MAX_BUFFER}")
        self.size = size
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.ring: deque = deque()
        self.next_seq = 1
        self.latest: dict[str, tuple] = {}
        self.checkpoint: dict[str, tuple] = {}

    @property
    def first_seq(self) -> int:
        return self.ring[0][0] if self.ring else self.next_seq

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1

    def add(self, item: str, t: float, value) -> int:
        with self.lock:
            seq = self.next_seq
            self.next_seq += 1
            obs = (seq, item, t, value)
            if len(self.ring) >= self.size:
                old = self.ring.popleft()
                self.checkpoint[old[1]] = old
            self.ring.append(obs)
            self.latest[item] = obs
            return seq

    def state(self) -> tuple[int, int, int]:
        """(firstSequence, lastSequence, nextSequence) under the lock."""
        with self.lock:
            return self.first_seq, self.last_seq, self.next_seq

    def current(self, items: set[str] | None, at: int | None) -> tuple[list[tuple], tuple[int, int, int]]:
        """The latest observation per item (of ``items``; all if None), at sequence ``at``
        if given, in sequence order; and the buffer state."""
        with self.lock:
            first, last, nxt = self.first_seq, self.last_seq, self.next_seq
            if at is None:
                obs = list(self.latest.values())
            else:
                if not first - 1 <= at <= last:
                    raise MTError("OUT_OF_RANGE", f"'at' must be between {first - 1} and {last}, got {at}")
                state = dict(self.checkpoint)
                for o in self.ring:
                    if o[0] > at:
                        break
                    state[o[1]] = o
                obs = list(state.values())
                nxt = at + 1
        if items is not None:
            obs = [o for o in obs if o[1] in items]
        obs.sort(key=lambda o: o[0])
        return obs, (first, last, nxt)

    def sample(self, items: set[str] | None, start: int | None, count: int, to: int | None) -> tuple[list[tuple], tuple[int, int, int]]:
        """Up to ``|count|`` observations from ``start`` (forwards; backwards from ``start``
        or the end when ``count`` < 0), as MTConnect's sample; nextSequence of the reply."""
        with self.lock:
            first, last, nxt = self.first_seq, self.last_seq, self.next_seq
            if start is not None and not first <= start <= nxt:
                raise MTError("OUT_OF_RANGE", f"'from' must be between {first} and {nxt}, got {start}")
            if to is not None and not first <= to <= nxt:
                raise MTError("OUT_OF_RANGE", f"'to' must be between {first} and {nxt}, got {to}")
            out: list[tuple] = []
            if count > 0:
                s = first if start is None else start
                end = nxt if to is None else to  # exclusive
                if to is not None and to < s:
                    raise MTError("INVALID_REQUEST", "'to' must not be before 'from'")
                scanned = s
                if s < end:
                    from itertools import islice

                    for o in islice(self.ring, s - first, end - first):
                        scanned = o[0] + 1
                        if items is None or o[1] in items:
                            out.append(o)
                            if len(out) >= count:
                                break
                reply_next = scanned
            else:
                hi = (last if start is None else start) if to is None else to - 1
                for i in range(hi - first, -1, -1):
                    o = self.ring[i]
                    if items is None or o[1] in items:
                        out.append(o)
                        if len(out) >= -count:
                            break
                out.reverse()
                reply_next = hi + 1
        return out, (first, last, reply_next)


# ---- path filter -------------------------------------------------------------------------------------
_NAME = r"(?:\*|[A-Za-z_][A-Za-z0-9_-]*)"
_PRED = r"\[@[A-Za-z_][A-Za-z0-9_]*(?:=(?:\"[^\"<>&]*\"|'[^'<>&]*'))?\]"
_STEP = rf"(?://?){_NAME}(?:{_PRED})*"
_PATH_RE = re.compile(rf"(?:{_STEP})+")
_ELEMENT_ONLY = re.compile(r"\[@|\"[^\"]*\"|'[^']*'")


def parse_path(path: str) -> str:
    """Check an XPath of the supported subset and return it relative for ElementTree.

    The subset: location steps ``/NAME`` or ``//NAME`` (``*`` for any element), each with
    any number of attribute predicates ``[@attr]`` or ``[@attr="value"]``; element names
    are those of the probe document (``Device``, ``Controller``, ``Path``, ``Axes``,
    ``Rotary``, ``DataItems``, ``DataItem``, ...); e.g. ``//DataItem[@type="EXECUTION"]``,
    ``//Device[@name="L1"]//Rotary``, ``//Path//DataItem[@category="EVENT"]``. The result
    selects every data item inside (or equal to) a matched element. Anything else (functions,
    axes, positions, unions) is ``INVALID_XPATH``. Expressions are linear in the probe
    document, so no request can make evaluation expensive.
    """
    if len(path) > MAX_PATH:
        raise MTError("INVALID_XPATH", f"'path' is longer than {MAX_PATH} characters")
    if not path.startswith("/") or not _PATH_RE.fullmatch(path):
        raise MTError("INVALID_XPATH", "'path' must be /NAME or //NAME steps with [@attr=\"value\"] predicates "
                                       "(the supported XPath subset, see docs/api.md)")
    return "." + path


class Agent:
    """The agent of one served session (see the module docstring)."""

    def __init__(self, svc, session, buffer_size: int = 131072, poll_s: float = 0.25):
        self.svc = svc
        self.session = session
        self.buffer = Buffer(buffer_size)
        self.poll_s = poll_s
        self.instance_id = int(time.time())
        self._run = None
        self._first_res: dict[int, int] = {}
        self._sl_seen = 0
        self._last_part: dict[int, int] = {}
        self.devices: list = []
        self.where: dict = {}
        self.by_name: dict = {}
        self.epoch = None
        self._stamps: dict[float, str] = {}
        self.tools: dict[str, tuple] = {}  # asset id -> (Tool, sim time of its last change)
        self.model_time = iso(dt.datetime.now(dt.timezone.utc))
        self.changed = asyncio.Event()
        self._update_lock: asyncio.Lock | None = None
        self._probe_tree = None
        self._poller: asyncio.Task | None = None
        self.stopping = False
        self.streams = 0  # open sample streams
        self.server = None
        self.sock: socket.socket | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # ---- reading the session (in a step thread, under the session lock) -----------------------------
    def _observe(self, run) -> None:
        """Add an observation for every value that changed since the last look: first the state
        changes the run logged since then (each at its own sim time: none is lost between two
        looks), then the values of the stations' tags now."""
        if run is not self._run:
            self._new_instance(run, build_devices(run))
        buf = self.buffer
        now = float(run.now)
        sl = run.state_log
        n = len(sl)
        start = max(self._sl_seen, n - 4 * buf.size)  # older rows would only pass through the buffer
        last_part = self._last_part
        for t, r, code, part in sl.rows(start, n):
            di = self._first_res.get(r)
            if di is not None:
                dev = self.devices[di]
                vals = code_values(dev, code)
                if part >= 0 and vals.get(f"{dev.id}_exec") == "ACTIVE":  # the part in hand, from when it started
                    vals[f"{dev.id}_part_uid"] = str(int(part))
                self._put(vals, float(t))
                last_part[di] = part
        self._sl_seen = n
        for di, dev in enumerate(self.devices):
            v = station_values(run, dev, self._program(run, di, dev))
            if dev.machining:
                changed = self._tools(tools(run, dev), now)
                prev = buf.latest.get(f"{dev.id}_asset_chg")
                v[f"{dev.id}_asset_chg"] = changed or (prev[3] if prev else "UNAVAILABLE")
            else:
                v[f"{dev.id}_asset_chg"] = "UNAVAILABLE"
            prev = buf.latest.get(f"{dev.id}_part_uid")
            v[f"{dev.id}_part_uid"] = prev[3] if prev else "UNAVAILABLE"
            self._put(v, now)

    def _program(self, run, di: int, dev) -> str:
        """PROGRAM: the product of the part on the station's first unit (its NC program); the
        last one stays loaded while the unit is empty."""
        part = run.live_parts.get(self._last_part.get(di, -1))
        if part is not None:
            return run.products[part.product]
        prev = self.buffer.latest.get(f"{dev.id}_program")
        return prev[3] if prev else "UNAVAILABLE"

    def _put(self, values: dict, t: float) -> None:
        latest = self.buffer.latest
        for item, val in values.items():
            prev = latest.get(item)
            if prev is None or prev[3] != val:
                self.buffer.add(item, t, val)

    async def update(self) -> None:
        """Observe the session now (the work runs in a step thread)."""
        if self._update_lock is None:
            self._update_lock = asyncio.Lock()
        async with self._update_lock:
            s = self.session
            if s.closed and s.broken:
                return
            await s.read(self.svc.step_pool, self._observe)
            self.changed.set()
            self.changed = asyncio.Event()

    def _tools(self, tl, now: float) -> str | None:
        """Refresh a station's tool assets; the asset id of a tool that was changed (its wear
        fell) since the last look, else None."""
        changed = None
        for tool in tl:
            old = self.tools.get(tool.asset_id)
            if old is None or old[0] != tool:
                self.tools[tool.asset_id] = (tool, now)
                if old is not None and tool.life_frac < old[0].life_frac:
                    changed = tool.asset_id
        return changed

    def _new_instance(self, run, devices) -> None:
        if self._run is not None:
            self.instance_id += 1
        self._run = run
        self.devices = devices
        self.by_name = {d.name: i for i, d in enumerate(devices)} | {d.uuid: i for i, d in enumerate(devices)}
        self.where = {d.id: (i, ckind, cid, cname, d) for i, dev in enumerate(devices) for ckind, cid, cname, d in dev.walk()}
        self._first_res = first_resources(run, devices)
        self._sl_seen = 0
        self._last_part: dict[int, int] = {}
        self.epoch = sim_epoch(run.scenario)
        self._stamps = {}
        self.tools = {}
        self._probe_tree = None
        with self.buffer.lock:
            self.buffer.reset()

    def stamp_now(self) -> str:
        """The plant's simulated now as an ISO timestamp (the header's ``creationTime``)."""
        if self._run is None:  # before the first look at the plant
            run = self.session.run
            return iso(sim_epoch(run.scenario) + dt.timedelta(seconds=float(run.now)))
        return self.stamp(float(self._run.now))

    def stamp(self, t: float) -> str:
        """The ISO timestamp of sim time ``t`` (memoised: observations share their times)."""
        memo = self._stamps
        v = memo.get(t)
        if v is None:
            if len(memo) > 65536:
                memo.clear()
            v = memo[t] = iso(self.epoch + dt.timedelta(seconds=t))
        return v

    async def poll(self) -> None:
        while not self.stopping:
            try:
                await self.update()
            except Exception:  # a closed or resetting session: look again next time
                log.debug("mtconnect update failed", exc_info=True)
            await asyncio.sleep(self.poll_s)

    # ---- headers --------------------------------------------------------------------------------------
    def header(self, kind: str, seqs: tuple[int, int, int] | None = None) -> dict:
        h: dict[str, Any] = {"creationTime": self.stamp_now(), "sender": "twin", "instanceId": self.instance_id,
                             "version": VERSION}
        if kind in ("Devices", "Streams", "Error"):
            h["bufferSize"] = self.buffer.size
        if kind in ("Devices", "Assets"):
            h["assetBufferSize"] = ASSET_BUFFER
            h["assetCount"] = len(self.tools)
        if kind in ("Devices", "Streams", "Assets"):
            h["deviceModelChangeTime"] = self.model_time
        if kind == "Streams" and seqs is not None:
            first, last, nxt = seqs
            h["nextSequence"] = nxt
            h["firstSequence"] = first
            h["lastSequence"] = max(last, 1)
        return h

    # ---- selection ----------------------------------------------------------------------------------
    def _devices(self, device: str | None) -> list:
        if device is None:
            return list(self.devices)
        i = self.by_name.get(device)
        if i is None:
            raise MTError("NO_DEVICE", f"no device named {device!r}")
        return [self.devices[i]]

    def _probe_xml(self):
        """The probe document without its namespace, under a document node (so an absolute
        path /MTConnectDevices/... is evaluated from the top)."""
        if self._probe_tree is None:
            doc = ET.Element("document")
            doc.append(ET.fromstring(docs.probe(self.header("Devices"), self.devices, "xml").replace(
                b' xmlns="urn:mtconnect.org:MTConnectDevices:2.0"', b"", 1)))
            self._probe_tree = doc
        return self._probe_tree

    def select(self, device: str | None, path: str | None) -> tuple[list, set[str] | None]:
        devs = self._devices(device)
        if device is None and path is None:
            return devs, None
        items = {d.id for dev in devs for _, _, _, d in dev.walk()}
        if path is not None:
            rel = parse_path(path)
            root = self._probe_xml()
            try:
                found = root.findall(rel)
            except (SyntaxError, KeyError, ValueError) as e:
                raise MTError("INVALID_XPATH", f"'path' could not be evaluated: {e}") from None
            picked = set()
            for el in found:
                if el.tag == "DataItem":
                    picked.add(el.get("id"))
                for sub in el.iter("DataItem"):
                    picked.add(sub.get("id"))
            items &= picked
            keep = {self.where[i][0] for i in items}
            devs = [d for d in devs if self.by_name[d.name] in keep] if device is None else devs
        return devs, items

    # ---- documents (in worker threads) -----------------------------------------------------------
    def probe_doc(self, device: str | None, fmt: str) -> bytes:
        return docs.probe(self.header("Devices"), self._devices(device), fmt)

    def current_doc(self, device, path, at, fmt) -> bytes:
        devs, items = self.select(device, path)
        obs, seqs = self.buffer.current(items, at)
        return docs.streams(self.header("Streams", seqs), devs, self._where_for(devs), obs, self.stamp, fmt)

    def sample_doc(self, device, path, start, count, to, fmt) -> tuple[bytes, int, int]:
        devs, items = self.select(device, path)
        obs, seqs = self.buffer.sample(items, start, count, to)
        return docs.streams(self.header("Streams", seqs), devs, self._where_for(devs), obs, self.stamp, fmt), seqs[2], len(obs)

    def _where_for(self, devs) -> dict:
        if len(devs) == len(self.devices):
            return self.where
        idx = {self.by_name[d.name]: k for k, d in enumerate(devs)}
        return {k: (idx[w[0]], *w[1:]) for k, w in self.where.items() if w[0] in idx}

    def assets_doc(self, ids: list[str] | None, device: str | None, type_: str | None, count: int, fmt: str) -> bytes:
        if ids is not None:
            tools_now = dict(self.tools)
            missing = [i for i in ids if i not in tools_now]
            if missing:
                raise MTError("ASSET_NOT_FOUND", f"no asset with id {missing[0]!r}")
            chosen = [tools_now[i] for i in ids]
        else:
            uuids = None if device is None else {d.uuid for d in self._devices(device)}
            snapshot = list(self.tools.values())  # one C call: safe while the observer thread adds tools
            chosen = [v for v in snapshot if uuids is None or v[0].device_uuid in uuids]
            if type_ is not None and type_ != "CuttingTool":
                chosen = []
            chosen = sorted(chosen, key=lambda v: v[1], reverse=True)[:count]
        items = [docs.tool_dict(tool, self.stamp(t)) for tool, t in chosen]
        return docs.assets(self.header("Assets"), items, fmt)

    def error_doc(self, e: MTError, fmt: str) -> bytes:
        return docs.error(self.header("Error"), e.code, str(e), fmt)

    # ---- lifecycle ------------------------------------------------------------------------------------
    def bind(self, host: str, port: int) -> None:
        """Bind the listening socket now (so a taken port is reported before the server starts)."""
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(fam, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self.sock, self.host, self.port = sock, host, sock.getsockname()[1]

    async def start(self) -> None:
        import uvicorn

        from .mtconnect_http import build_app

        self.stopping = False
        await self.update()
        self._poller = asyncio.create_task(self.poll())
        config = uvicorn.Config(build_app(self), log_level="warning", lifespan="off", timeout_graceful_shutdown=2,
                                limit_concurrency=MAX_CONNECTIONS)
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[self.sock])
        self.server = server
        self._serve = asyncio.create_task(self._main(server))

    async def _main(self, server) -> None:
        try:
            await server.main_loop()
        finally:
            await server.shutdown(sockets=[self.sock])

    async def stop(self) -> None:
        self.stopping = True
        self.changed.set()
        if self._poller is not None:
            self._poller.cancel()
        if self.server is not None:
            self.server.should_exit = True
            try:
                await asyncio.wait_for(self._serve, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
        if self.sock is not None:
            self.sock.close()


def attach_mtconnect(app, host: str, port: int, session=None, buffer_size: int = 131072) -> Agent:
    """Serve ``session`` (default: the served session, see :func:`twin.api.realtime.served_session`)
    as an MTConnect agent on ``host:port`` (``port`` 0: any free port; ``agent.port`` tells),
    started and stopped with the app. Raises OSError when the port cannot be bound."""
    from .realtime import served_session

    svc = app.state.service
    session = session or served_session(app)
    agent = Agent(svc, session, buffer_size)
    agent.bind(host, port)
    app.state.mtconnect = agent
    svc.on_start.append(agent.start)
    svc.on_stop.append(agent.stop)
    return agent
