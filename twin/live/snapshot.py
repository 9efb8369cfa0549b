"""Start a run from the plant as it is now: the snapshot format, its checks, and the start.

A snapshot is what can be *observed* on a plant at one moment (YAML or JSON, written by hand or
by :mod:`twin.live.acquire`):

.. code-block:: yaml

    time: '2026-11-30 14:35'          # the plant's local date-time (sim time 0 of the new run)
    buffers:                          # parts waiting, in queue order (a station name: its input queue)
      B_SAW: [{product: shaft_A, count: 5}, {product: shaft_B}]
      B_L1: [{product: shaft_A, due: '2026-11-30 22:00', order: A-17}]
    stations:
      L1: {state: processing, part: {product: shaft_B}, elapsed: 2 min, last_product: shaft_B}
      L2: {state: setup, part: {product: shaft_A}, since: '2026-11-30 14:33'}
      MILL: {state: down, since: '2026-11-30 14:10', failure: hydraulics, part: {product: shaft_A}, elapsed: 1 min}
      GRIND: {state: blocked, part: {product: shaft_A}}
      HT: {units: [{state: processing, part: {product: shaft_A}, elapsed: 4 min}, {state: idle}]}
      MC1: {tools: {FACE: {wear: 0.42, parts: 120}}, counts: {good: 310, bad: 2}}
      PACK: {state: off, until: '2026-11-30 15:00'}
    orders:                           # open orders (release by orders): what is still to release
      - {name: A-18, product: shaft_A, quantity: 40, release: '2026-11-30 15:00', due: '2026-12-01 06:00'}

States of a unit: ``idle`` (starved or waiting: the default), ``processing`` / ``setup`` (with
the part, and ``elapsed`` or ``since``), ``blocked`` (holding a finished part), ``down`` (a
failure: ``since``/``elapsed``, optional ``failure`` profile name and the part it holds),
``maintenance`` (``remaining``, or ``duration`` and ``elapsed``), ``off`` (switched off until
``until``; without it the calendar must have the station off shift) and ``held`` (a commanded
hold, released by the ``start`` command).

Remaining times are *drawn*, conditionally on the elapsed time (:mod:`twin.live.residual`), from
the scenario's distribution of the step (process time, time to repair; setups are fixed times),
unless the snapshot gives ``remaining`` (an NC program's time left, a repair's ETA). Physics
stations compute the part's cycle with their tools' wear and continue with what is left of it.

The scenario's time 0 moves to the snapshot's ``time``: the calendar's start becomes that
date-time, maintenance windows and the signal-recording window keep their place on the clock
(with a weekday start, the scenario's time 0 is taken as the latest such weekday and time at
or before the snapshot), and the warm-up is 0 (the line is not empty). Parts in the snapshot
count as released at time 0. Operators and robot loaders are free at the start; failure clocks
start as new.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twin.units import Seconds

__all__ = ["Snapshot", "SnapshotError", "load_snapshot", "parse_snapshot", "start_run", "snapshot_of", "shifted_scenario"]

WEEK = 7 * 86400.0
from twin.calendar import REF_MONDAY  # noqa: E402  (a Monday: dates for scenarios whose calendar names only a weekday)


class SnapshotError(ValueError):
    """A snapshot that cannot be used; ``errors`` is a list of ``(field path, message)``."""

    def __init__(self, errors: list[tuple[str, str]], source: str | None = None):
        self.errors = errors
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__("\n".join([f"{head}{len(errors)} error(s) in snapshot"] + [f"  {p or '<root>'}: {m}" for p, m in errors]))


def parse_datetime(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        when = v
    elif isinstance(v, dt.date):
        when = dt.datetime.combine(v, dt.time())
    else:
        try:
            when = dt.datetime.fromisoformat(str(v).strip())
        except ValueError:
            raise ValueError(f"expected a date-time such as '2026-11-30 14:35', got {v!r}") from None
    if when.tzinfo is not None:
        raise ValueError(f"give the plant's local time without a time zone, got {v!r}")
    return when


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class PartState(_M):
    """A part: its product, the routing step (index, 0-based; default: the one step the place
    serves for that product), its due date, the order it belongs to, an outside label."""

    product: str
    step: int | None = Field(default=None, ge=0, description="routing step index (in a buffer: the next step)")
    count: int = Field(default=1, ge=1, le=100_000, description="this many such parts (buffers)")
    due: dt.datetime | None = None
    order: str | None = Field(default=None, max_length=128)
    label: str | None = Field(default=None, max_length=128, description="the plant's id of the part (kept in the report)")

    _dt = field_validator("due", mode="before")(lambda cls, v: None if v is None else parse_datetime(v))


class ToolState(_M):
    wear: float = Field(default=0.0, ge=0, le=1, description="share of the tool's life used (tool_frac)")
    parts: int = Field(default=0, ge=0, description="parts cut since the last change")


class Counts(_M):
    good: int = Field(default=0, ge=0)
    bad: int = Field(default=0, ge=0)


class UnitState(_M):
    state: Literal["idle", "processing", "setup", "blocked", "down", "maintenance", "off", "held"] = "idle"
    part: PartState | None = None
    elapsed: Seconds | None = Field(default=None, ge=0, description="time in the state (or of the part's step)")
    since: dt.datetime | None = Field(default=None, description="when the state began (instead of elapsed)")
    remaining: Seconds | None = Field(default=None, ge=0, description="observed time left (not drawn)")
    failure: str | None = Field(default=None, description="down: the failure profile's name")
    duration: Seconds | None = Field(default=None, gt=0, description="maintenance: its planned duration")
    until: dt.datetime | None = Field(default=None, description="off: switched on again at")

    _dt = field_validator("since", "until", mode="before")(lambda cls, v: None if v is None else parse_datetime(v))
    # YAML 1.1 reads a bare `off` as the boolean false
    _off = field_validator("state", mode="before")(lambda cls, v: "off" if v is False else v)

    @model_validator(mode="after")
    def _fields(self):
        s = self.state
        if self.elapsed is not None and self.since is not None:
            raise ValueError("give elapsed or since, not both")
        if s in ("processing", "setup", "blocked") and self.part is None:
            raise ValueError(f"state {s} needs the part (part: {{product: ...}})")
        if s in ("idle", "off", "held", "maintenance") and self.part is not None:
            raise ValueError(f"state {s} holds no part")
        if self.part is not None and self.part.count != 1:
            raise ValueError("a unit holds one part (count: 1)")
        if self.failure is not None and s != "down":
            raise ValueError("failure is only used with state down")
        if self.duration is not None and s != "maintenance":
            raise ValueError("duration is only used with state maintenance")
        if self.until is not None and s != "off":
            raise ValueError("until is only used with state off")
        if s in ("idle", "blocked", "off", "held") and (self.elapsed is not None or self.since is not None or self.remaining is not None):
            raise ValueError(f"state {s} takes no elapsed, since or remaining")
        if s == "maintenance" and self.remaining is None and self.duration is None:
            raise ValueError("maintenance needs remaining, or duration (and elapsed or since)")
        return self


class StationState(UnitState):
    units: list[UnitState] | None = Field(default=None, min_length=1, description="per unit (stations with capacity > 1)")
    last_product: str | None = Field(default=None, description="product of the last part (setups)")
    tools: dict[str, ToolState] | None = Field(default=None, description="machining stations: wear and count per tool")
    counts: Counts | None = None

    @model_validator(mode="after")
    def _units(self):
        if self.units is not None and (self.state != "idle" or self.part is not None):
            raise ValueError("give the state per unit (units) or for the station, not both")
        return self


class OpenOrder(_M):
    name: str | None = Field(default=None, max_length=128)
    product: str
    quantity: int = Field(ge=1, le=1_000_000, description="parts still to release")
    release: dt.datetime | None = Field(default=None, description="default: now")
    due: dt.datetime | None = None

    _dt = field_validator("release", "due", mode="before")(lambda cls, v: None if v is None else parse_datetime(v))


class Snapshot(_M):
    """The plant at one moment (see the module docstring)."""

    time: dt.datetime = Field(description="the plant's local date-time, e.g. '2026-11-30 14:35'")
    buffers: dict[str, list[PartState]] = Field(default_factory=dict)
    stations: dict[str, StationState] = Field(default_factory=dict)
    orders: list[OpenOrder] | None = Field(default=None, description="open orders (scenarios that release by orders)")

    _dt = field_validator("time", mode="before")(lambda cls, v: parse_datetime(v))

    def seconds(self, when: dt.datetime) -> float:
        """Sim time of a date-time (0 = the snapshot)."""
        return (when - self.time).total_seconds()

    def dump(self) -> dict:
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {"time": self.time.isoformat(sep=" ")}


def _errors(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in exc.errors(include_url=False):
        loc = ".".join(str(x) for x in e["loc"] if not str(x).startswith(("function-", "constrained-")))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "not a field of the snapshot here"
        out.append((loc, msg))
    return out


def parse_snapshot(data: Any, source: str | None = None) -> Snapshot:
    if isinstance(data, Snapshot):
        return data
    if not isinstance(data, dict):
        raise SnapshotError([("", "a snapshot is a mapping (time, buffers, stations, orders)")], source)
    try:
        return Snapshot.model_validate(data)
    except ValidationError as exc:
        raise SnapshotError(_errors(exc), source) from None


def load_snapshot(path: str | Path) -> Snapshot:
    """Read a snapshot file (YAML or JSON; the scenario loader's guards: UTF-8, duplicate keys, alias bombs)."""
    from twin.scenario import ScenarioError, load_data

    try:
        data = load_data(path)
    except ScenarioError as e:
        raise SnapshotError(e.errors, str(path)) from None
    return parse_snapshot(data, str(path))


# ---- the scenario on the snapshot's clock ----------------------------------------------------------
def _origin(sc, when: dt.datetime) -> dt.datetime:
    """The date-time of the scenario's own time 0 (its dated start, else the latest matching
    weekday and time at or before ``when``)."""
    cal = sc.calendar
    if cal is not None and cal.start_datetime() is not None:
        return cal.start_datetime()
    off = cal.offset() if cal is not None else 0.0
    week0 = dt.datetime.combine(when.date() - dt.timedelta(days=when.weekday()), dt.time())
    t0 = week0 + dt.timedelta(seconds=off)
    while t0 > when:
        t0 -= dt.timedelta(days=7)
    return t0


def shifted_scenario(sc, snap: Snapshot, horizon: float | None = None, warmup: float | None = None) -> dict:
    """The scenario as a dict with time 0 at the snapshot's time (calendar start, maintenance
    windows, recording window, open orders; warm-up 0 unless given)."""
    d = sc.dump()
    shift = (snap.time - _origin(sc, snap.time)).total_seconds()  # scenario time of the snapshot
    cal = dict(d.get("calendar") or {})
    cal["start"] = snap.time.isoformat(sep=" ")
    windows = []
    for w in cal.get("maintenance") or []:
        w = dict(w)
        at, every, dur = float(w["at"]), w.get("every"), float(w["duration"])
        if every:
            k = math.floor((shift - at) / every) if shift > at else 0
            at = at + max(0, k) * every
        new_at = at - shift
        if new_at + dur <= 0:
            if not every:
                continue
            new_at += every
        if new_at < 0:  # in progress at the snapshot: what is left of it, then on its period
            windows.append({"stations": w["stations"], "at": 0.0, "duration": new_at + dur})
            if every:
                windows.append({**w, "at": new_at + every})
            continue
        windows.append({**w, "at": new_at})
    if windows or cal.get("maintenance"):
        cal["maintenance"] = windows
    d["calendar"] = cal
    rec = d.get("recording")
    if rec:
        rec = dict(rec)
        rec["start"] = max(0.0, float(rec.get("start", 0.0)) - shift)
        if rec.get("stop") is not None:
            stop = float(rec["stop"]) - shift
            if stop <= rec["start"]:
                rec = None
            else:
                rec["stop"] = stop
        if rec is None:
            d.pop("recording", None)
        else:
            d["recording"] = rec
    rel = d.get("release") or {"kind": "saturated"}
    if rel.get("kind") == "orders":
        orders = []
        for o in snap.orders or []:
            r = 0.0 if o.release is None else max(0.0, snap.seconds(o.release))
            item = {"product": o.product, "quantity": o.quantity, "release": r}
            if o.due is not None:
                item["due"] = max(0.0, snap.seconds(o.due))  # (an order already late is due now)
            orders.append(item)
        d["release"] = {"kind": "orders", "orders": orders} if orders else None
        if not orders:  # nothing left to release: an order list that never fires
            d["release"] = {"kind": "orders", "orders": [{"product": next(iter(d["products"])), "quantity": 1,
                                                          "release": 1e15}]}
    d["warmup"] = 0.0 if warmup is None else warmup
    if horizon is not None:
        d["horizon"] = horizon
    return d


def _cands(d) -> list:
    """The buffers behind a destination (one, or a choice of several)."""
    from twin.engine import _Choice

    return list(d.cands) if type(d) is _Choice else [d]


def _machining(m) -> bool:
    """A physics machining station (tools with wear)."""
    from twin.processes.machining import Machining

    return isinstance(m, Machining)


def _is_transit(buf) -> bool:
    from twin.processes.buffer import TransitBuffer

    return isinstance(buf, TransitBuffer)


# ---- the start ---------------------------------------------------------------------------------------
class _Start:
    """The ``prepare`` hook of :class:`twin.engine.Run`: fills buffers and sets every unit's state."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self.errors: list[tuple[str, str]] = []
        self.orders: dict[int, str] = {}  # part id -> order name
        self.labels: dict[int, str] = {}  # part id -> plant label

    def err(self, path: str, msg: str) -> None:
        self.errors.append((path, msg))

    def __call__(self, run) -> None:
        snap = self.snap
        self.rng = run.streams.generator("live", "residual")
        for bname, parts in snap.buffers.items():
            self._fill(run, bname, parts)
        from twin.processes.machine import Machine

        for sname, st in snap.stations.items():
            path = f"stations.{sname}"
            station = run.stations.get(sname)
            if station is None:
                self.err(path, f"no station {sname!r} in the scenario (stations: {', '.join(run.stations)})")
                continue
            if not isinstance(station, Machine):
                from twin.processes.furnace import Furnace

                furnace = isinstance(station, Furnace)
                plain = st.units is None and st.state in ("idle", "off", "held") and not (st.tools or st.last_product) \
                    and (st.counts is None or furnace)
                if not plain:
                    self.err(path, f"station {sname!r} is of kind {station.kind}: a snapshot gives its state as idle, off or "
                                   "held only, and a furnace its counts (parts in process, setups, failures, tools: machine kinds)")
                    continue
                if st.counts is not None:
                    station.parts_good, station.parts_bad = st.counts.good, st.counts.bad
                    station.parts_all = st.counts.good + st.counts.bad
                self._station_level(run, station, st, path)
                continue
            self._machine(run, station, st, path)
        self.n_parts = run.next_part_id
        if self.errors:
            raise SnapshotError(self.errors)

    # -- parts -------------------------------------------------------------------------------------
    def _product(self, run, name: str, path: str) -> int | None:
        p = run.product_index.get(name)
        if p is None:
            self.err(path, f"no product {name!r} in the scenario (products: {', '.join(run.products)})")
        return p

    def _new_part(self, run, p: int, ps: PartState, step: int):
        due = math.inf if ps.due is None else self.snap.seconds(ps.due)
        part = run.new_part(p, due)
        part.step = step
        if ps.order is not None:
            self.orders[part.id] = ps.order
        if ps.label is not None:
            self.labels[part.id] = ps.label
        return part

    def _buffer(self, run, name: str, path: str):
        b = run.buffers.get(name)
        if b is not None:
            return b
        st = run.stations.get(name)
        if st is not None:  # a station name: its input queue
            from twin.station import RoutedStation

            inputs = st.inputs if isinstance(st, RoutedStation) else []
            ins = [x for x in inputs if x in run.buffers.values() and not x.name.startswith("rework:")]
            if len(ins) == 1:
                return ins[0]
            self.err(path, f"station {name!r} has {len(ins)} input queues; name the buffer "
                           f"({', '.join(x.name for x in ins) or 'none'})")
            return None
        self.err(path, f"no buffer or station {name!r} (buffers: {', '.join(run.buffers)})")
        return None

    def _fill(self, run, bname: str, parts: list[PartState]) -> None:
        path = f"buffers.{bname}"
        buf = self._buffer(run, bname, path)
        if buf is None:
            return
        serves: dict[int, set[int]] = {}  # product -> steps whose input this buffer is
        for (p, i, _frm), d in run._dest.items():
            cands = _cands(d)
            if any(c is buf for c in cands) and i < len(run.scenario.products[run.products[p]].routing):
                serves.setdefault(p, set()).add(i)
        if buf.name.startswith("rework:"):
            st = run.stations[buf.name.split(":", 1)[1]]
            for p, _pn, i, _s in run.scenario.visits(st.name):
                serves.setdefault(p, set()).add(i)
        n = sum(ps.count for ps in parts)
        if n > buf.capacity:
            self.err(path, f"holds {n} parts but buffer {buf.name!r} has capacity {buf.capacity:g}")
            return
        for k, ps in enumerate(parts):
            pp = f"{path}[{k}]"
            p = self._product(run, ps.product, pp + ".product")
            if p is None:
                continue
            steps = serves.get(p, set())
            if ps.step is not None:
                if ps.step not in steps:
                    self.err(pp + ".step", f"buffer {buf.name!r} does not feed step {ps.step} of {ps.product!r}"
                                           f" (it feeds steps {sorted(steps) or 'none'})")
                    continue
                step = ps.step
            elif len(steps) == 1:
                step = next(iter(steps))
            else:
                self.err(pp, f"buffer {buf.name!r} feeds " + (f"steps {sorted(steps)} of {ps.product!r}: give step"
                                                            if steps else f"no step of product {ps.product!r}"))
                continue
            transit = _is_transit(buf)
            for _ in range(ps.count):
                part = self._new_part(run, p, ps, step)
                if transit:  # a conveyor or AGV transport: the part waits at its end, delivered
                    buf._arrived(part)
                else:
                    buf.force_put(part)

    # -- stations ----------------------------------------------------------------------------------
    def _station_level(self, run, station, st: StationState, path: str) -> None:
        from twin.states import Code

        if st.state == "held":
            run.command_held.add(station.name)
            station.set_stop(Code.HELD, +1)
        elif st.state == "off":
            if st.until is not None:
                t = self.snap.seconds(st.until)
                if t <= 0:
                    self.err(path + ".until", "is not after the snapshot's time")
                    return
                station.set_stop(Code.OFF_SHIFT, +1)
                run.at(t, lambda ev: station.set_stop(Code.OFF_SHIFT, -1))
            elif not self._calendar_off(run, station.name):
                self.err(path + ".state", f"off, but the calendar has {station.name!r} on shift at {self.snap.time}: give until")

    @staticmethod
    def _calendar_off(run, name: str) -> bool:
        cal = run.scenario.calendar_of(name)
        if cal is None:
            return False
        off = cal.off_shift(min(run.horizon, 60.0))
        return bool(off) and off[0][0] <= 0.0

    def _elapsed(self, us: UnitState) -> float:
        if us.since is not None:
            return max(0.0, -self.snap.seconds(us.since))
        return float(us.elapsed or 0.0)

    def _step_here(self, run, m, ps: PartState, p: int, path: str) -> int | None:
        steps = [i for pp, _n, i, _s in run.scenario.visits(m.name) if pp == p]
        if ps.step is not None:
            if ps.step not in steps:
                self.err(path + ".step", f"step {ps.step} of {ps.product!r} does not run on {m.name!r} (its steps here: {steps or 'none'})")
                return None
            return ps.step
        if len(steps) != 1:
            self.err(path, f"product {ps.product!r} " + (f"has steps {steps} on {m.name!r}: give step" if steps
                                                           else f"does not visit {m.name!r}"))
            return None
        return steps[0]

    def _machine(self, run, m, st: StationState, path: str) -> None:
        if st.units is not None and len(st.units) > len(m.units):
            self.err(path + ".units", f"{len(st.units)} units given but {m.name!r} has {len(m.units)}")
            return
        if st.last_product is not None:
            lp = self._product(run, st.last_product, path + ".last_product")
            if lp is not None:
                for u in m.units:
                    u.last_product = lp
        if st.counts is not None:
            m.parts_good, m.parts_bad = st.counts.good, st.counts.bad
            m.parts_all = st.counts.good + st.counts.bad
        if st.tools is not None:
            names = m.tool_names if _machining(m) else None
            if names is None:
                self.err(path + ".tools", f"station {m.name!r} ({m.kind}) has no tools (machining kinds: cnc_lathe, cnc_mill, drill)")
            else:
                for tname, ts in st.tools.items():
                    if tname not in names:
                        self.err(f"{path}.tools.{tname}", f"no tool {tname!r} on {m.name!r} (tools: {', '.join(names)})")
                        continue
                    j = names.index(tname)
                    m.tool_frac[:, j] = ts.wear
                    m.tool_parts[:, j] = ts.parts
        if st.state in ("held", "off"):
            self._station_level(run, m, st, path)
            return
        states = st.units if st.units is not None else [st]
        for k, us in enumerate(states):
            upath = f"{path}.units[{k}]" if st.units is not None else path
            if us.state in ("held", "off"):
                self.err(upath + ".state", f"{us.state} applies to the whole station, not to one unit")
                continue
            if us.state == "idle":
                continue
            unit = m.units[k]
            part = None
            if us.part is not None:
                p = self._product(run, us.part.product, upath + ".part.product")
                if p is None:
                    continue
                i = self._step_here(run, m, us.part, p, upath + ".part")
                if i is None:
                    continue
                part = self._new_part(run, p, us.part, i + 1 if us.state == "blocked" else i)
            fn = self._unit_fn(run, m, unit, us, part, upath)
            if fn is not None:
                unit.restore = fn

    def _remaining_process(self, run, m, unit, part, elapsed: float) -> float:
        key = (part.product, part.step)
        dist = None
        for p, _pn, i, step in run.scenario.visits(m.name):
            if (p, i) == key:
                dist = step.process_time if step.process_time is not None else m.spec.process_time
        if dist is None:  # a physics station: its cycle for this part, with the tools as they are
            if not _machining(m):
                return max(0.0, m.process_duration(part, unit) - elapsed)
            k = m.units.index(unit)
            frac, used = m.tool_frac[k].copy(), m.tool_parts[k].copy()
            d = m.process_duration(part, unit)
            m.tool_frac[k], m.tool_parts[k] = frac, used  # the observed wear already counts the part in hand
            return max(0.0, d - elapsed)
        from .residual import residual

        return residual(dist, elapsed, self.rng)

    def _unit_fn(self, run, m, unit, us: UnitState, part, path: str):
        from twin.processes.resource import BLOCKED, PROCESSING, SETUP

        e = self._elapsed(us)
        s = us.state
        if s == "blocked":
            return lambda u: u.start_restored(part, BLOCKED)
        if s == "processing":
            rem = us.remaining
            return lambda u: u.start_restored(part, PROCESSING, rem if rem is not None else self._remaining_process(run, m, u, part, e))
        if s == "setup":
            su = m.setup_time(unit.last_product, part)
            rem = us.remaining if us.remaining is not None else max(0.0, su - e)
            return lambda u: u.start_restored(part, SETUP, rem)
        if s == "maintenance":
            rem = us.remaining if us.remaining is not None else max(0.0, us.duration - e)

            def maint(u, rem=rem):
                u.maintain(rem, None)
            return maint
        if s == "down":
            profiles = m.spec.failures
            if us.failure is not None:
                names = [f.name for f in profiles]
                if us.failure not in names:
                    self.err(path + ".failure", f"no failure profile {us.failure!r} on {m.name!r} (profiles: {', '.join(names) or 'none'})")
                    return None
                idx = names.index(us.failure)
            elif profiles:
                idx = 0
            else:
                idx = None
            if idx is None and us.remaining is None:
                self.err(path, f"{m.name!r} has no failure profile to draw the repair time from: give remaining")
                return None
            if us.remaining is not None:
                rem = us.remaining
            else:
                from .residual import residual

                rem = residual(profiles[idx].resolved()[1], e, self.rng)
            def down(u, idx=idx, rem=rem):
                if idx is None:
                    u.fail_for(rem, len(profiles))
                else:
                    u.fail_restored(idx, rem)
                if part is not None:  # the part stays in the machine: after the repair its step runs as if just begun
                    u.start_restored(part, PROCESSING, self._remaining_process(run, m, u, part, 0.0))
            return down
        return None


def start_run(scenario, snapshot: Snapshot | dict, horizon: float | None = None, warmup: float | None = None,
              seed: int | None = None, replication: int = 0, shifted: bool = False):
    """A :class:`twin.engine.Run` that starts from ``snapshot`` (its time is sim time 0).

    ``shifted``: ``scenario`` is already on the snapshot's clock (:func:`shifted_scenario`, parsed;
    many runs from one snapshot parse it once). On the run: ``live_orders`` (part id -> order name
    of the parts in the line), ``live_labels`` (part id -> the plant's label), ``snapshot_parts``
    (parts the snapshot placed: ids below it), ``order_release`` (sim time of each open order)."""
    from twin.engine import Run
    from twin.scenario import ScenarioError, parse_scenario

    snap = parse_snapshot(snapshot)
    if scenario.release.kind != "orders" and snap.orders:
        raise SnapshotError([("orders", f"the scenario releases parts by {scenario.release.kind}, not by orders")])
    if shifted:
        sc = scenario
    else:
        try:
            sc = parse_scenario(shifted_scenario(scenario, snap, horizon=horizon, warmup=warmup), source="scenario from snapshot")
        except ScenarioError as e:
            raise SnapshotError([(p, m) for p, m in e.errors], "scenario on the snapshot's clock") from None
    start = _Start(snap)
    run = Run(sc, seed=seed, replication=replication, prepare=start)
    run.live_orders = start.orders
    run.live_labels = start.labels
    run.snapshot = snap
    run.snapshot_parts = start.n_parts
    run.order_release = [0.0 if o.release is None else max(0.0, snap.seconds(o.release)) for o in snap.orders or []]
    return run


# ---- a snapshot of a running twin (the twin as a stand-in plant) ---------------------------------------
def run_datetime(run, t: float | None = None) -> dt.datetime:
    """The date-time of sim time ``t`` (default: now) of ``run`` (with a weekday start: in the
    week of 2024-01-01)."""
    from twin.calendar import sim_epoch

    t = run.now if t is None else t
    return sim_epoch(run.scenario.calendar) + dt.timedelta(seconds=round(t, 6))


def _part_state(run, part, step: int | None = None) -> dict:
    d: dict[str, Any] = {"product": run.products[part.product], "step": part.step if step is None else step}
    if math.isfinite(part.due):
        d["due"] = run_datetime(run, part.due).isoformat(sep=" ")
    return d


def snapshot_of(run) -> Snapshot:
    """What an observer of ``run`` sees now, as a snapshot: parts waiting per buffer, each
    machine unit's state with the part it holds and the elapsed time, failures with their
    profile and start, tool wear, counts, last products, open orders."""
    from twin.processes.machine import Machine
    from twin.processes.resource import BLOCKED, FAILURE, PROCESSING, SETUP

    now = run.now
    buffers: dict[str, list] = {}
    located: set[int] = set()
    for src in run.sources:
        located |= {p.id for p in src.backlog} | ({src.part.id} if src.part is not None else set())
    for name, b in run.buffers.items():
        q = list(b.queued())
        if not q:
            continue
        rows: list[dict] = []
        for part in q:
            located.add(part.id)
            ps = _part_state(run, part)
            if rows and {k: v for k, v in rows[-1].items() if k != "count"} == ps:
                rows[-1]["count"] = rows[-1].get("count", 1) + 1
            else:
                rows.append(ps)
        buffers[name] = rows
    fl = run.failure_log.numpy()
    stations: dict[str, dict] = {}
    from twin.processes.furnace import Furnace

    for name, m in run.stations.items():
        if isinstance(m, Furnace):  # its counts; the parts of a load in hand wait in its input queue
            stations[name] = {"state": "held"} if name in run.command_held else {}
            stations[name]["counts"] = {"good": m.parts_good, "bad": m.parts_bad}
            continue
        if not isinstance(m, Machine):
            continue
        units = []
        for u in m.units:
            us: dict[str, Any] = {"state": "idle"}
            part = u.part
            act = u.activity
            if u.suspended and u.stops[FAILURE]:
                rows = fl["resource"] == u.rid
                t_fail = float(fl["t"][rows][-1]) if rows.any() else now
                prof = int(fl["profile"][rows][-1]) if rows.any() else 0
                us = {"state": "down", "elapsed": now - t_fail}
                if prof < len(m.spec.failures):
                    us["failure"] = m.spec.failures[prof].name
                if part is not None and act == PROCESSING:
                    us["part"] = _part_state(run, part)
            elif part is not None and act in (PROCESSING, SETUP):
                us = {"state": "processing" if act == PROCESSING else "setup", "part": _part_state(run, part),
                      "elapsed": max(0.0, now - u.t_start)}
            elif part is not None and act == BLOCKED:
                us = {"state": "blocked", "part": _part_state(run, part, part.step - 1)}
            units.append(us)
            if part is not None:
                located.add(part.id)
        st: dict[str, Any] = {}
        if any(u.get("state") != "idle" for u in units):
            if len(units) == 1:
                st.update(units[0])
            else:
                st["units"] = units
        if name in run.command_held:
            st = {"state": "held"}
        lp = m.units[0].last_product
        if lp >= 0:
            st["last_product"] = run.products[lp]
        if _machining(m) and m.tool_names:
            st["tools"] = {t: {"wear": float(min(1.0, m.tool_frac[0, j])), "parts": int(m.tool_parts[0, j])}
                           for j, t in enumerate(m.tool_names)}
        st["counts"] = {"good": m.parts_good, "bad": m.parts_bad}
        stations[name] = st
    # parts no queue or unit shows (on a conveyor, on a vehicle): at the end of a transport that
    # feeds their next step (the observer sees them arrive there)
    for part in sorted(run.live_parts.values(), key=lambda p: p.id):
        if part.id in located:
            continue
        feeds = [d for (p, i, _f), d in run._dest.items() if p == part.product and i == part.step]
        cands = [c for d in feeds for c in _cands(d) if c in run.buffers.values()]
        cands = sorted(set(cands), key=lambda b: (not _is_transit(b), b.name))
        if cands:
            buffers.setdefault(cands[0].name, []).append(_part_state(run, part))
    orders = None
    if run.scenario.release.kind == "orders":
        orders = []
        for src in run.sources:
            for part in list(src.backlog) + ([src.part] if src.part is not None else []):
                o = {"product": run.products[part.product], "quantity": 1}
                if math.isfinite(part.due):
                    o["due"] = run_datetime(run, part.due).isoformat(sep=" ")
                orders.append(o)
        for o in run.scenario.release.orders:
            if o.release > now:
                item = {"product": o.product, "quantity": o.quantity, "release": run_datetime(run, o.release).isoformat(sep=" ")}
                if o.due is not None:
                    item["due"] = run_datetime(run, o.due).isoformat(sep=" ")
                orders.append(item)
    return parse_snapshot({"time": run_datetime(run).isoformat(sep=" "), "buffers": buffers, "stations": stations,
                           "orders": orders})
