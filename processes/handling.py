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
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from twin.pools import Pool, crew_job
from twin.registry import register
from twin.specs import BASE_TAGS, SpecModel, StationSpec
from twin.states import Code, state_tags
from twin.station import Station
from twin.units import MetersPerSecond, Seconds

from .buffer import BufferSpec, TransitBuffer
from .machine import MachineSpec
from .resource import BLOCKED, FAILURE, PM, PROCESSING, SETUP, STARVED, WORK_STOPS, Resource

__all__ = ["RobotSpec", "Robot", "AgvFleetSpec", "AgvFleet", "AgvBufferSpec", "AgvBuffer"]



def _position(sc, name: str):
    st = sc.stations.get(name)
    lay = st.layout if st is not None else None
    return None if lay is None else (float(lay.x), float(lay.y))


class _Member(Resource):
    """One arm or vehicle: a resource whose idle/busy state its station drives."""

    __slots__ = ("owner", "k")

    def __init__(self, owner, k: int, name: str, finish_first):
        self.owner = owner
        self.k = k
        super().__init__(owner, name, owner.spec.failures, (), finish_first)

    def on_suspend(self) -> None:
        self.owner._member_stopped(self)

    def on_resume(self) -> None:
        if self.activity == PROCESSING or self.activity == SETUP:
            self.continue_work()
        else:
            self.owner._member_free(self)


class _Members(Station):
    """Members (arms, vehicles) logged as resources (:class:`~twin.processes.resource.Resource`)."""

    accepts = frozenset({"hold", "stop", "start", "request_maintenance", "release"})

    def __init__(self, run, name: str, n: int, spec, finish_first):
        self.run = run
        self.clock = run.clock
        self.name = name
        self.spec = spec
        self.power_by_code = spec.power.by_code()
        self.members = [_Member(self, k, name if n == 1 else f"{name}#{k + 1}", finish_first) for k in range(n)]
        self.parts_all = self.parts_good = self.parts_bad = 0

    def resource_count(self) -> int:
        return len(self.members)

    def power_by_state(self) -> list[float]:
        return list(self.power_by_code)

    def start(self) -> None:
        for m in self.members:
            m.start_clocks()
            m.show()

    def set_stop(self, code: int, delta: int) -> None:
        for m in self.members:
            if delta > 0:
                m.add_stop(code)
            else:
                m.remove_stop(code)

    def start_maintenance(self, duration: float, crew: str | None = None, name: str = "command") -> None:
        for m in self.members:
            self.run.maintenance_log.add(self.clock.now, m.rid, name, duration)
        self.set_stop(PM, +1)
        crew_job(self.run, crew, duration, lambda: self._maintained())

    def _maintained(self) -> None:
        for m in self.members:
            m.renew()
        self.set_stop(PM, -1)

    def _member_stopped(self, m: _Member) -> None:
        """A stop took effect on an idle member (or one that just finished its work)."""

    def _member_free(self, m: _Member) -> None:
        """The last stop of an idle member ended."""
        m.show()

    def _tags(self) -> dict:
        codes = [m.code for m in self.members]
        return {**state_tags(codes[0]),
                "units_busy": sum(1 for m in self.members if m.activity in (PROCESSING, SETUP) and not m.suspended),
                "power_W": sum(self.power_by_code[c] for c in codes),
                "alarm": "FAULT" if FAILURE in codes else "NORMAL"}


# ---- robot loader -------------------------------------------------------------------------------
#: a robot arm finishes the motion in hand whatever stops it (a failure, a hold, a shift end
#: takes effect when the part is in the machine or out of it)
_ALL_STOPS = frozenset(c.value for c in Code if c.value not in (PROCESSING, SETUP, STARVED, BLOCKED))


class RobotSpec(StationSpec):
    """``kind: robot``: a loader shared by the machines that name it in ``loader:``. An arm
    finishes the load or unload in hand before any stop (failure, hold, shift end) takes it."""

    kind: Literal["robot"] = "robot"
    capacity: int = Field(default=1, ge=1, description="arms (or robots) working in parallel")
    load_time: Seconds = Field(default=10.0, ge=0, description="per part loaded into a machine")
    unload_time: Seconds = Field(default=10.0, ge=0, description="per part taken out of a machine")
    speed: MetersPerSecond | None = Field(default=None, gt=0, description="travel speed between machines (layout distance); none: no travel")

    TAGS: ClassVar[tuple[str, ...]] = BASE_TAGS + ("queue", "handled", "travel_m")

    SETS_UP: ClassVar[bool] = False

    def cross_check(self, name, sc):
        errs = super().cross_check(name, sc)
        served = [s for s, spec in sc.stations.items() if isinstance(spec, MachineSpec) and spec.loader == name]
        if not served:
            return errs + [(f"stations.{name}", "no station names this robot as its loader")]
        if self.speed is not None:
            errs += [(f"stations.{s}.layout", f"robot {name!r} has a speed, so it needs the layout of the machines it serves")
                     for s in served if _position(sc, s) is None]
            if self.layout is None and len(served) < 2:
                errs.append((f"stations.{name}.speed", "is not used: the robot serves one machine and has no layout to travel from"))
        return errs


class Robot(_Members):
    """Runtime of ``kind: robot``: a pool of arms with positions."""

    kind = "robot"

    def __init__(self, run, name: str, spec: RobotSpec):
        super().__init__(run, name, spec.capacity, spec, _ALL_STOPS)
        self.pool = Pool(run, name, "robot", spec.capacity)
        self.free_arms = list(range(spec.capacity - 1, -1, -1))
        home = (spec.layout.x, spec.layout.y) if spec.layout is not None else None
        self.pos = [home] * spec.capacity
        self.handled = 0
        self.travel_m = 0.0

    def handle(self, unit, load: bool) -> tuple[int, float]:
        """An arm (granted by the pool) serves ``unit``'s machine: (arm, travel + handling time [s]).
        The machine calls :meth:`release` when the arm is done."""
        k = self.free_arms.pop()
        arm = self.members[k]
        target = _position(self.run.scenario, unit.m.name)
        d = 0.0
        if self.spec.speed is not None and target is not None and self.pos[k] is not None:
            d = math.dist(self.pos[k], target)
        if target is not None:
            self.pos[k] = target
        self.travel_m += d
        self.handled += 1
        t = (d / self.spec.speed if self.spec.speed else 0.0) + (self.spec.load_time if load else self.spec.unload_time)
        arm.part = unit.part
        arm.work(t, _nothing)
        return k, t

    def release(self, k: int) -> None:
        arm = self.members[k]
        arm.activity = STARVED
        arm.part = None
        arm.pending = None
        if arm.n_stops and arm.settle():  # a stop that waited for the motion takes the arm now
            return
        self.free_arms.append(k)
        arm.show()
        self.pool.release()

    def _member_stopped(self, m) -> None:
        if m.k in self.free_arms:
            self.free_arms.remove(m.k)
        else:  # it just finished its motion: its grant ends here
            self.pool.busy -= 1
        self.pool.set_available(self.pool.available - 1)

    def _member_free(self, m) -> None:
        self.free_arms.append(m.k)
        m.show()
        self.pool.set_available(self.pool.available + 1)

    def tags(self) -> dict:
        t = self._tags()
        t.update({"queue": len(self.pool.queue), "handled": self.handled, "travel_m": self.travel_m})
        return t


def _nothing() -> None:
    pass


register("robot", RobotSpec, Robot)


# ---- AGV fleet ----------------------------------------------------------------------------------
class BatterySpec(SpecModel):
    capacity: Seconds = Field(gt=0, description="driving time on a full charge")
    charge_time: Seconds = Field(gt=0, description="from empty to full")
    threshold: float = Field(default=0.2, gt=0, lt=1, description="go charging below this fraction after a job")
    charger: str = Field(description="node where vehicles charge")


class NetworkSpec(SpecModel):
    nodes: dict[str, tuple[float, float]] = Field(default_factory=dict, description="waypoints: name -> [x, y] m")
    edges: list[tuple[str, str]] = Field(min_length=1, description="two-way aisles between nodes (stations or waypoints)")


class AgvFleetSpec(StationSpec):
    """``kind: agv_fleet``: vehicles serving the buffers of ``kind: agv`` that name the fleet.
    A failure (or a hold, or planned maintenance) stops a vehicle where it is; the trip goes on
    with its remaining time after it."""

    kind: Literal["agv_fleet"] = "agv_fleet"
    vehicles: int = Field(default=1, ge=1)
    speed: MetersPerSecond = Field(gt=0)
    load_time: Seconds = Field(default=10.0, ge=0)
    unload_time: Seconds = Field(default=10.0, ge=0)
    home: str | None = Field(default=None, description="node where vehicles start; default: the first node")
    network: NetworkSpec | None = Field(default=None, description="aisles; none: straight lines between stations")
    battery: BatterySpec | None = None
    shift_end: Literal["finish", "pause"] = Field(
        default="finish", description="at a break or shift end: finish the trip in hand, or stop where the vehicle is")

    TAGS: ClassVar[tuple[str, ...]] = BASE_TAGS + ("jobs_waiting", "transports", "charges", "battery_min")

    def cross_check(self, name, sc):
        errs = super().cross_check(name, sc)
        nodes = _nodes(sc, self)
        if not any(isinstance(b, AgvBufferSpec) and b.fleet == name for b in sc.buffers.values()):
            errs.append((f"stations.{name}", "no buffer of kind agv names this fleet"))
        if self.network is not None:
            for i, (a, b) in enumerate(self.network.edges):
                for n in (a, b):
                    if n not in nodes:
                        errs.append((f"stations.{name}.network.edges[{i}]", f"names {n!r}, which is neither a waypoint nor a station with a layout"))
        for key, n in (("home", self.home), ("battery.charger", self.battery.charger if self.battery else None)):
            if n is not None and n not in nodes:
                errs.append((f"stations.{name}.{key}", f"names {n!r}, which is neither a waypoint nor a station with a layout"))
        for bname, b in sc.buffers.items():
            if not (isinstance(b, AgvBufferSpec) and b.fleet == name):
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
    __slots__ = ("k", "node", "charge", "job", "idle", "res")

    def __init__(self, k, node, charge, res):
        self.k = k
        self.node = node
        self.charge = charge
        self.job = None
        self.idle = True
        self.res = res


class AgvFleet(_Members):
    """Runtime of ``kind: agv_fleet``."""

    kind = "agv_fleet"

    def __init__(self, run, name: str, spec: AgvFleetSpec):
        super().__init__(run, name, spec.vehicles, spec, WORK_STOPS if spec.shift_end == "finish" else frozenset())
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
        self.vehicles = [_Vehicle(k, home, cap, self.members[k]) for k in range(spec.vehicles)]
        self.jobs: deque = deque()
        self.log: list[tuple] = []  # part, from, to, t_request, t_pickup, t_drop, empty_m, loaded_m, vehicle, job
        self.charges = 0
        self._changing = False  # stops of every vehicle are being changed (dispatch once, after)

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
        best, best_d = None, math.inf
        for v in self.vehicles:
            if v.idle and not v.res.suspended:
                d = self.distance(v.node, node)
                if d < best_d:
                    best, best_d = v, d
        return best

    def _go(self, v: _Vehicle, job) -> None:
        part, pick, drop, buf, t_req = job
        v.idle = False
        s = self.spec
        empty = self.distance(v.node, pick)
        loaded = self.distance(pick, drop)
        t_empty = empty / s.speed
        v.res.part = part

        def picked():
            buf.picked(part)
            t_pick = self.clock.now
            v.res.work(s.load_time + loaded / s.speed + s.unload_time, lambda: self._dropped(v, job, empty, loaded, t_pick))

        v.res.work(t_empty, picked, SETUP)
        v.charge -= t_empty
        v.node = pick

    def _dropped(self, v: _Vehicle, job, empty, loaded, t_pick) -> None:
        part, pick, drop, buf, t_req = job
        v.node = drop
        v.charge -= loaded / self.spec.speed
        self.log.append((part.id, pick, drop, t_req, t_pick, self.clock.now, empty, loaded, v.k, "move"))
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
        t0 = self.clock.now
        v.res.part = None

        def at_charger():
            now = self.clock.now
            self.log.append((-1, b.charger, b.charger, t0, now, now, d, 0.0, v.k, "charge"))
            v.node = b.charger
            v.charge -= t_drive
            self.charges += 1
            t = b.charge_time * max(0.0, 1.0 - v.charge / b.capacity)
            v.res.activity = STARVED
            v.res.add_stop(PM)  # charging: planned maintenance of this vehicle

            def charged(ev):
                v.charge = b.capacity
                v.res.remove_stop(PM)

            self.clock.after(t, charged)

        v.res.work(t_drive, at_charger, SETUP)

    def _free(self, v: _Vehicle) -> None:
        v.idle = True
        r = v.res
        r.activity = STARVED
        r.part = None
        if r.n_stops and r.settle():  # a stop that let the trip finish takes the vehicle now
            return
        r.show()
        if self.jobs and not self._changing:
            self._go(v, self.jobs.popleft())

    def _member_free(self, m) -> None:
        self._free(self.vehicles[m.k])

    def set_stop(self, code: int, delta: int) -> None:
        self._changing = True
        try:
            super().set_stop(code, delta)
        finally:
            self._changing = False
        # waiting jobs go to the nearest vehicle that can take them, oldest job first
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
        name = producer.station_name  # a machine's unit, a furnace, the source
        return "source" if name.startswith("source") else name

    def _dispatch(self, part, producer) -> None:
        self.waiting_pickup += 1
        self._level()
        self.fleet.request([part, self._pick_node(producer), self.drop, self, self._clock.now])

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
