"""Material handling shared between stations: a ``robot`` loader and an ``agv_fleet``.

Both are stations made of *members* (robot arms, vehicles), each a resource in the state log,
so their utilisation, energy and state times appear in the station KPIs like any machine's.

``robot`` (machine tending). Machines name it with ``loader: R1``. Before each cycle the
machine asks the robot for an arm; the arm travels from where it last worked to the machine
(straight line between the layouts' coordinates at ``speed``; 0 without coordinates or speed)
and loads for ``load_time``; at the end of processing the machine waits (blocked) for an arm,
which travels and unloads for ``unload_time``. Travel and handling count in the machine's
cycle. Arm states: handling and travel = processing, idle = starved.

``agv_fleet`` (automated guided vehicles). Parts reach it through buffers of ``kind: agv``
between two stations (``fleet: AGV``): a part put into such a buffer waits at the upstream
station for a vehicle; the nearest idle vehicle (shortest path on the network) drives to it
empty, loads (``load_time``), drives loaded to the buffer's drop point (the downstream station,
or ``drop:``), unloads (``unload_time``) and leaves the part in the downstream queue; a vehicle
with no job waits where it is, and takes the oldest waiting job when it becomes free. The path
network has the stations (at their layout coordinates) as nodes, plus the waypoints of
``network.nodes``; ``network.edges`` lists the aisles (edge length = straight distance between
its ends; two-way). Without ``network`` vehicles drive straight between stations. With a
``battery`` a vehicle that has less than ``threshold`` of its driving time left after a job
drives to the ``charger`` node and recharges (``charge_time`` from empty to full, pro rata).
Vehicle states: loaded travel, loading and unloading = processing; empty travel = setup
(non-productive movement); charging = planned maintenance; idle = starved.

The buffer's ``capacity`` counts every part in the transport system (waiting for pickup, on a
vehicle, delivered and waiting at the downstream station); when it is full the upstream
station is blocked. Every transport is recorded (``physics_<fleet>`` in the result): part,
from, to, request, pickup and drop times, empty and loaded distance [m], vehicle, and ``job``
(``move``; trips to the charger are rows with ``job: charge``, part -1, arriving at ``t_pickup``).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.pools import Pool
from twin.pools import crew_job
from twin.registry import register
from twin.scenario import Layout
from twin.station import Station
from twin.states import STOP_PRIORITY, Code
from twin.units import MetersPerSecond, Seconds

from .buffer import BufferSpec, TransitBuffer
from .machine import PowerSpec

__all__ = ["RobotSpec", "Robot", "AgvFleetSpec", "AgvFleet", "AgvBufferSpec", "AgvBuffer"]

PROCESSING, SETUP, STARVED = Code.PROCESSING.value, Code.SETUP.value, Code.STARVED.value
PM = Code.PLANNED_MAINTENANCE.value
_PRIO = [c.value for c in STOP_PRIORITY]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


def _position(sc, name: str):
    st = sc.stations.get(name)
    lay = getattr(st, "layout", None) if st is not None else None
    return None if lay is None else (float(lay.x), float(lay.y))


class _Members(Station):
    """Members (arms, vehicles) logged as resources: busy ones keep their code, idle ones show
    the highest-priority stop of the station (off shift, break, ...) or idle (starved)."""

    accepts = frozenset({"hold", "stop", "start", "request_maintenance", "release"})

    def __init__(self, run, name: str, n: int, kind: str, spec):
        self.run = run
        self.env = run.env
        self.name = name
        self.spec = spec
        self.inputs: list = []
        self.power_by_code = spec.power.by_code()
        self.rids = [run.new_resource(name if n == 1 else f"{name}#{k + 1}", name) for k in range(n)]
        self.codes = [-1] * n
        self.parts = [-1] * n
        self.busy = [False] * n
        self.stops = [0] * 9
        self.n_stops = 0
        self.parts_all = self.parts_good = self.parts_bad = 0
        sl = run.state_log
        self._log = (sl.t.append, sl.resource.append, sl.code.append, sl.part.append)

    def resource_count(self) -> int:
        return len(self.rids)

    def power_by_state(self) -> list[float]:
        return list(self.power_by_code)

    def start_maintenance(self, duration: float, crew: str | None = None) -> None:
        self.set_stop(PM, +1)
        crew_job(self.run, crew, duration, lambda: self.set_stop(PM, -1))

    def _set(self, k: int, code: int, part: int = -1) -> None:
        if not self.busy[k] and self.n_stops:
            code = next(c for c in _PRIO if self.stops[c])
        if code != self.codes[k] or part != self.parts[k]:
            self.codes[k] = code
            self.parts[k] = part
            t, r, c, p = self._log
            t(self.env.now)
            r(self.rids[k])
            c(code)
            p(part)

    def set_stop(self, code: int, delta: int) -> None:
        if delta > 0:
            self.stops[code] += 1
            self.n_stops += 1
        elif self.stops[code] > 0:
            self.stops[code] -= 1
            self.n_stops -= 1
        for k in range(len(self.rids)):
            if not self.busy[k]:
                self._set(k, STARVED)
        self._stops_changed()

    def _stops_changed(self) -> None:
        pass

    def _tags(self) -> dict:
        from twin.states import state_tags

        return {**state_tags(self.codes[0]),
                "units_busy": sum(self.busy), "power_W": sum(self.power_by_code[c] for c in self.codes),
                "alarm": "FAULT" if Code.FAILURE.value in self.codes else "NORMAL"}


# ---- robot loader -------------------------------------------------------------------------------
class RobotSpec(_M):
    """``kind: robot``: a loader shared by the machines that name it in ``loader:``."""

    kind: Literal["robot"] = "robot"
    capacity: int = Field(default=1, ge=1, description="arms (or robots) working in parallel")
    load_time: Seconds = Field(default=10.0, ge=0, description="per part loaded into a machine")
    unload_time: Seconds = Field(default=10.0, ge=0, description="per part taken out of a machine")
    speed: MetersPerSecond | None = Field(default=None, gt=0, description="travel speed between machines (layout distance); none: no travel")
    power: PowerSpec = Field(default_factory=PowerSpec)
    layout: Layout | None = None

    def cross_check(self, name, sc):
        served = [s for s, spec in sc.stations.items() if getattr(spec, "loader", None) == name]
        if not served:
            return [(f"stations.{name}", "no station names this robot as its loader")]
        if self.speed is not None:
            return [(f"stations.{s}.layout", f"robot {name!r} has a speed, so it needs the layout of the machines it serves")
                    for s in served if _position(sc, s) is None]
        return []


class Robot(_Members):
    """Runtime of ``kind: robot``: a pool of arms with positions."""

    kind = "robot"

    def __init__(self, run, name: str, spec: RobotSpec):
        super().__init__(run, name, spec.capacity, "robot", spec)
        self.pool = Pool(run, name, "robot", spec.capacity)
        self.free_arms = list(range(spec.capacity - 1, -1, -1))
        home = (spec.layout.x, spec.layout.y) if spec.layout is not None else None
        self.pos = [home] * spec.capacity
        self.handled = 0
        self.travel_m = 0.0

    def start(self) -> None:
        for k in range(len(self.rids)):
            self._set(k, STARVED)

    def handle(self, unit, load: bool) -> tuple[int, float]:
        """An arm (granted by the pool) serves ``unit``'s machine: (arm, travel + handling time [s])."""
        k = self.free_arms.pop()
        self.busy[k] = True
        target = _position(self.run.scenario, unit.m.name)
        d = 0.0
        if self.spec.speed is not None and target is not None and self.pos[k] is not None:
            d = math.dist(self.pos[k], target)
        if target is not None:
            self.pos[k] = target
        self.travel_m += d
        self.handled += 1
        self._set(k, PROCESSING, -1 if unit.part is None else unit.part.id)
        t = (d / self.spec.speed if self.spec.speed else 0.0) + (self.spec.load_time if load else self.spec.unload_time)
        return k, t

    def release(self, k: int) -> None:
        self.busy[k] = False
        self.free_arms.append(k)
        self._set(k, STARVED)
        self.pool.release()

    def _stops_changed(self) -> None:
        self.pool.set_on(self.n_stops == 0)

    def tags(self) -> dict:
        t = self._tags()
        t.update({"queue": len(self.pool.queue), "handled": self.handled, "travel_m": self.travel_m})
        return t


register("robot", RobotSpec, Robot)


# ---- AGV fleet ----------------------------------------------------------------------------------
class BatterySpec(_M):
    capacity: Seconds = Field(gt=0, description="driving time on a full charge")
    charge_time: Seconds = Field(gt=0, description="from empty to full")
    threshold: float = Field(default=0.2, gt=0, lt=1, description="go charging below this fraction after a job")
    charger: str = Field(description="node where vehicles charge")


class NetworkSpec(_M):
    nodes: dict[str, tuple[float, float]] = Field(default_factory=dict, description="waypoints: name -> [x, y] m")
    edges: list[tuple[str, str]] = Field(min_length=1, description="two-way aisles between nodes (stations or waypoints)")


class AgvFleetSpec(_M):
    """``kind: agv_fleet``: vehicles serving the buffers of ``kind: agv`` that name the fleet."""

    kind: Literal["agv_fleet"] = "agv_fleet"
    vehicles: int = Field(default=1, ge=1)
    speed: MetersPerSecond = Field(gt=0)
    load_time: Seconds = Field(default=10.0, ge=0)
    unload_time: Seconds = Field(default=10.0, ge=0)
    home: str | None = Field(default=None, description="node where vehicles start; default: the first node")
    network: NetworkSpec | None = Field(default=None, description="aisles; none: straight lines between stations")
    battery: BatterySpec | None = None
    power: PowerSpec = Field(default_factory=PowerSpec)
    layout: Layout | None = None

    def cross_check(self, name, sc):
        errs = []
        nodes = _nodes(sc, self)
        if self.network is not None:
            for i, (a, b) in enumerate(self.network.edges):
                for n in (a, b):
                    if n not in nodes:
                        errs.append((f"stations.{name}.network.edges[{i}]", f"names {n!r}, which is neither a waypoint nor a station with a layout"))
        for key, n in (("home", self.home), ("battery.charger", self.battery.charger if self.battery else None)):
            if n is not None and n not in nodes:
                errs.append((f"stations.{name}.{key}", f"names {n!r}, which is neither a waypoint nor a station with a layout"))
        for bname, b in sc.buffers.items():
            if getattr(b, "fleet", None) != name:
                continue
            frm, to = b.ends()
            if b.drop is not None and b.drop not in nodes:
                errs.append((f"buffers.{bname}.drop", f"names {b.drop!r}, which is neither a waypoint nor a station with a layout"))
            sides = [("from", frm)] + ([("to", to)] if b.drop is None else [])
            for side, names in sides:
                for n in names:
                    for m in sc.groups.get(n, [n]):
                        if m not in nodes and not (m == "source" and "source" in nodes):
                            errs.append((f"buffers.{bname}.{side}", f"{m!r} has no position for the AGVs: give the station a layout"
                                         + (" (or a waypoint named 'source')" if m == "source" else "")))
        return errs


def _nodes(sc, spec) -> dict[str, tuple[float, float]]:
    nodes = {}
    for s in sc.stations:
        p = _position(sc, s)
        if p is not None:
            nodes[s] = p
    if spec.network is not None:
        nodes.update({k: (float(v[0]), float(v[1])) for k, v in spec.network.nodes.items()})
    return nodes


class _Vehicle:
    __slots__ = ("k", "node", "charge", "job", "idle")

    def __init__(self, k, node, charge):
        self.k = k
        self.node = node
        self.charge = charge
        self.job = None
        self.idle = True


class AgvFleet(_Members):
    """Runtime of ``kind: agv_fleet``."""

    kind = "agv_fleet"

    def __init__(self, run, name: str, spec: AgvFleetSpec):
        super().__init__(run, name, spec.vehicles, "agv_fleet", spec)
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import dijkstra

        self.nodes = _nodes(run.scenario, spec)
        self.names = list(self.nodes)
        self.index = {n: i for i, n in enumerate(self.names)}
        xy = np.array([self.nodes[n] for n in self.names], dtype=float).reshape(-1, 2)
        if spec.network is None:
            self.dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
        else:
            rows, cols, w = [], [], []
            for a, b in spec.network.edges:
                i, j = self.index[a], self.index[b]
                d = float(np.hypot(*(xy[i] - xy[j])))
                rows += [i, j]
                cols += [j, i]
                w += [d, d]
            g = csr_matrix((w, (rows, cols)), shape=(len(xy), len(xy)))
            self.dist = dijkstra(g, directed=True)
        home = spec.home or self.names[0]
        cap = spec.battery.capacity if spec.battery else math.inf
        self.vehicles = [_Vehicle(k, home, cap) for k in range(spec.vehicles)]
        self.jobs: deque = deque()
        self.log: list[tuple] = []  # part, from, to, t_request, t_pickup, t_drop, empty_m, loaded_m, vehicle, job
        self.charges = 0

    def start(self) -> None:
        for k in range(len(self.rids)):
            self._set(k, STARVED)

    def distance(self, a: str, b: str) -> float:
        d = float(self.dist[self.index[a], self.index[b]])
        if not math.isfinite(d):
            raise RuntimeError(f"AGV fleet {self.name!r}: no path from {a!r} to {b!r} on the network")
        return d

    # ---- jobs ---------------------------------------------------------------------------------
    def request(self, job) -> None:
        """``job`` = [part, pickup node, drop node, buffer, t_request]."""
        v = self._nearest_idle(job[1])
        if v is None:
            self.jobs.append(job)
        else:
            self._go(v, job)

    def _nearest_idle(self, node):
        if self.n_stops:
            return None
        best, best_d = None, math.inf
        for v in self.vehicles:
            if v.idle:
                d = self.distance(v.node, node)
                if d < best_d:
                    best, best_d = v, d
        return best

    def _go(self, v: _Vehicle, job) -> None:
        part, pick, drop, buf, t_req = job
        v.idle = False
        self.busy[v.k] = True
        s = self.spec
        empty = self.distance(v.node, pick)
        loaded = self.distance(pick, drop)
        t_empty = empty / s.speed
        self._set(v.k, SETUP, part.id)

        def picked(ev):
            self._set(v.k, PROCESSING, part.id)
            buf.picked(part)
            t_pick = self.env.now
            self.env.after(s.load_time + loaded / s.speed + s.unload_time,
                 lambda ev: self._dropped(v, job, empty, loaded, t_pick))

        self.env.after(t_empty, picked)
        v.charge -= t_empty
        v.node = pick

    def _dropped(self, v: _Vehicle, job, empty, loaded, t_pick) -> None:
        part, pick, drop, buf, t_req = job
        v.node = drop
        v.charge -= loaded / self.spec.speed
        self.log.append((part.id, pick, drop, t_req, t_pick, self.env.now, empty, loaded, v.k, "move"))
        buf.delivered(part)
        b = self.spec.battery
        if b is not None and v.charge < b.threshold * b.capacity:
            self._charge(v)
        else:
            self._free(v)

    def _charge(self, v: _Vehicle) -> None:
        b = self.spec.battery
        d = self.distance(v.node, b.charger)
        t_drive = d / self.spec.speed
        self._set(v.k, SETUP)

        t0 = self.env.now

        def at_charger(ev):
            now = self.env.now
            self.log.append((-1, b.charger, b.charger, t0, now, now, d, 0.0, v.k, "charge"))
            v.node = b.charger
            v.charge -= t_drive
            self._set(v.k, PM)
            self.charges += 1
            t = b.charge_time * max(0.0, 1.0 - v.charge / b.capacity)
            self.env.after(t, lambda ev: self._charged(v))

        self.env.after(t_drive, at_charger)

    def _charged(self, v: _Vehicle) -> None:
        v.charge = self.spec.battery.capacity
        self._free(v)

    def _free(self, v: _Vehicle) -> None:
        v.idle = True
        self.busy[v.k] = False
        self._set(v.k, STARVED)
        if self.jobs and not self.n_stops:
            job = self.jobs.popleft()
            self._go(v, job)

    def _stops_changed(self) -> None:
        if not self.n_stops:
            while self.jobs:
                v = self._nearest_idle(self.jobs[0][1])
                if v is None:
                    break
                self._go(v, self.jobs.popleft())

    def tags(self) -> dict:
        t = self._tags()
        t.update({"jobs_waiting": len(self.jobs), "transports": sum(1 for r in self.log if r[9] == "move"), "charges": self.charges,
                  "battery_min": min((v.charge / self.spec.battery.capacity for v in self.vehicles), default=1.0)
                  if self.spec.battery else 1.0})
        return t

    def tables(self) -> dict:
        t = self.physics_table()
        return {} if t is None else {f"physics_{self.name}": t}

    def physics_table(self):
        """One row per transport (None before the first)."""
        import pyarrow as pa

        if not self.log:
            return None
        cols = list(zip(*self.log))
        names = ["part", "from", "to", "t_request", "t_pickup", "t_drop", "empty_m", "loaded_m", "vehicle", "job"]
        return pa.table({n: pa.array(list(c)) for n, c in zip(names, cols)})


register("agv_fleet", AgvFleetSpec, AgvFleet)


class AgvBufferSpec(BufferSpec):
    """``kind: agv``: parts between two stations travel on the fleet's vehicles."""

    kind: Literal["agv"] = "agv"  # type: ignore[assignment]
    fleet: str = Field(description="the agv_fleet station that carries these parts")
    drop: str | None = Field(default=None, description="node where parts are left; default: the (first) downstream station")

    @model_validator(mode="after")
    def _cap(self):
        if self.capacity == 0:
            raise ValueError("an AGV transport needs capacity >= 1 (parts waiting, on vehicles and delivered)")
        return self

    def cross_check(self, name, sc):
        st = sc.stations.get(self.fleet)
        if st is None or st.kind != "agv_fleet":
            return [(f"buffers.{name}.fleet", f"names {self.fleet!r}, which is not a station of kind agv_fleet")]
        return []


class AgvBuffer(TransitBuffer):
    """Transport request queue (at the upstream station) + delivered queue (downstream)."""

    kind = "agv"

    def __init__(self, run, name: str, spec: AgvBufferSpec):
        super().__init__(run, name, spec)
        self.fleet: AgvFleet = run.stations[spec.fleet]
        frm, to = spec.ends()
        sc = run.scenario
        self.drop = spec.drop or sc.groups.get(to[0], [to[0]])[0]
        self.waiting_pickup = 0
        self.on_vehicle = 0

    def _in_transit(self) -> int:
        return self.waiting_pickup + self.on_vehicle

    def _pick_node(self, producer) -> str:
        st = getattr(producer, "m", producer)  # a machine's unit, or a furnace / source itself
        name = getattr(st, "name", "source")
        return "source" if name.startswith("source") else name

    def _dispatch(self, part, producer) -> None:
        self.waiting_pickup += 1
        self._level()
        self.fleet.request([part, self._pick_node(producer), self.drop, self, self._env.now])

    def picked(self, part) -> None:
        self.waiting_pickup -= 1
        self.on_vehicle += 1

    def delivered(self, part) -> None:
        self.on_vehicle -= 1
        self._arrived(part)

    def tags(self) -> dict:
        cap = None if self.capacity == float("inf") else int(self.capacity)
        return {"level": self._n(), "waiting_pickup": self.waiting_pickup, "on_vehicle": self.on_vehicle,
                "delivered": len(self.q), "capacity": cap, "blocked_producers": len(self.producers)}


register("agv", AgvBufferSpec, AgvBuffer, "buffer")
