"""The generic machine: a station with parallel units, process-time distributions, setups,
scrap and rework, failure profiles, preventive maintenance, operators, a robot loader and
per-state power.

Each unit is a :class:`~twin.processes.resource.Resource` (state-log rows, stacked stops,
suspend/resume with remaining work, failure clocks on four bases) driven by callbacks: its
*activity* is processing, setup, starved or blocked; a stop (off shift, break, planned
maintenance, failure, hold) suspends it and the part in process keeps its remaining time, unless
the station finishes its cycle through breaks and shift ends (``shift_end: finish``, for
machines that run unattended).

Process models for metalworking subclass :class:`Machine` and override
:meth:`Machine.process_duration`, :meth:`Machine.outcome`, :meth:`Machine.setup_time` and
:meth:`Machine.on_complete`.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from twin.distributions import Distribution, make_sampler
from twin.engine import _Choice
from twin.pools import crew_job
from twin.registry import register
from twin.specs import FailureProfile, Layout, PowerSpec, SpecModel, StationSpec, is_set  # noqa: F401  (re-exported)
from twin.states import STATE_TAGS, Code, Outcome
from twin.station import RoutedStation
from twin.units import Probability, Seconds

from .resource import BLOCKED, FAILURE, PM, PROCESSING, SETUP, STARVED, WORK_STOPS, Resource

__all__ = ["MachineSpec", "Machine", "Unit", "FailureProfile", "PowerSpec", "SetupSpec", "OperatorNeed", "MaintenanceSpec"]

GOOD, SCRAP, REWORK = Outcome.GOOD.value, Outcome.SCRAP.value, Outcome.REWORK.value


class SetupSpec(SpecModel):
    """Changeover times: ``changes[from][to]`` by product pair, else ``default`` when the
    product changes; ``initial`` before the very first part."""

    default: Seconds = Field(default=0.0, ge=0)
    initial: Seconds = Field(default=0.0, ge=0)
    changes: dict[str, dict[str, Seconds]] = Field(default_factory=dict)


class OperatorNeed(SpecModel):
    """A station that needs an operator from a pool (by ``skill``, or a named ``pool``).

    ``during``: ``cycle`` (from before the setup to the end of processing), ``setup`` (only for
    setups), or ``load`` (the first ``load_time`` of each cycle: the operator loads the part and
    leaves the machine running unattended)."""

    skill: str | None = None
    pool: str | None = None
    during: Literal["cycle", "setup", "load"] = "cycle"
    load_time: Seconds = Field(default=0.0, ge=0, description="with during: load")

    @model_validator(mode="after")
    def _need(self):
        if self.skill is None and self.pool is None:
            raise ValueError("give the skill the station needs (or a pool name)")
        if self.skill is not None and self.pool is not None:
            raise ValueError("give the skill or the pool, not both (a named pool serves whatever its skills)")
        if self.during == "load" and self.load_time <= 0:
            raise ValueError("during: load needs load_time > 0")
        if self.during != "load" and is_set(self, "load_time"):
            raise ValueError(f"load_time is only used with during: load (during is {self.during!r})")
        return self


class MaintenanceSpec(SpecModel):
    """Preventive or condition-based maintenance of every unit of a station.

    One of: ``every`` (a time on a ``calendar`` or ``operating`` basis), ``cycles`` (parts
    processed), or ``when`` (a condition on one of this station's tags, scanned every ``scan``,
    e.g. ``tool_wear_max >= 0.8``). The station stops (planned maintenance) for ``duration``
    after a ``crew`` member arrives; at the end its failure clocks restart as good as new and a
    machining station gets new tools. Time and cycle plans fire at the end of a cycle when due
    during one (operating and cycles basis) or interrupt it (calendar basis)."""

    name: str = "pm"
    every: Seconds | None = Field(default=None, gt=0)
    basis: Literal["calendar", "operating"] = Field(default="operating", description="with every")
    cycles: int | None = Field(default=None, ge=1)
    when: str | None = Field(default=None, description="TAG OP VALUE on this station's tags, e.g. 'tool_wear_max >= 0.8'")
    scan: Seconds = Field(default=60.0, gt=0, description="with when")
    duration: Seconds = Field(gt=0)
    crew: str | None = None

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("every", "cycles", "when") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of every, cycles or when")
        if self.every is None and is_set(self, "basis"):
            raise ValueError("basis is only used with every")
        if self.when is None and is_set(self, "scan"):
            raise ValueError("scan is only used with when")
        if self.when is not None:
            from twin.rules import parse_condition

            parse_condition(self.when)  # same grammar as rules
        return self


class MachineSpec(StationSpec):
    """``kind: machine``: a generic station."""

    kind: Literal["machine"] = "machine"
    capacity: int = Field(default=1, ge=1, description="identical parallel units sharing the input")
    process_time: Distribution | None = Field(default=None, description="per part; routing steps may override")
    ideal_cycle_time: Seconds | None = Field(default=None, gt=0, description="PRI (ISO 22400); default: mean process time")
    setup: SetupSpec = Field(default_factory=SetupSpec)
    scrap: Probability = Field(default=0.0, ge=0, le=1)
    rework: Probability = Field(default=0.0, ge=0, le=1, description="part repeats this operation")
    dispatch: Literal["fifo", "spt", "edd", "setup"] = Field(
        default="fifo", description="which waiting part to take next: first in, shortest ideal time, earliest due date, least setup")
    operator: OperatorNeed | None = Field(default=None, description="operator needed from a pool (see `operators`)")
    loader: str | None = Field(default=None, description="robot station that loads and unloads this machine")
    maintenance: list[MaintenanceSpec] = Field(default_factory=list, description="preventive / condition-based maintenance plans")
    shift_end: Literal["pause", "finish"] = Field(
        default="pause", description="at a break or shift end: pause the part in process (attended machine) or finish "
                                     "the cycle in hand first (unattended)")

    @model_validator(mode="after")
    def _probs(self):
        if self.scrap + self.rework > 1:
            raise ValueError(f"scrap + rework = {self.scrap + self.rework} exceeds 1")
        return self

    #: tags every machine publishes (condition-based maintenance plans may read them)
    TAGS: ClassVar[tuple[str, ...]] = ("item_state", "operation_mode", "reason", "execution", "units_busy", "part_count_all",
                                       "part_count_good", "part_count_bad", "power_W", "feed_override", "alarm", "queue")

    def cross_check(self, name: str, sc) -> list[tuple[str, str]]:
        """Every setting is used by some routing step here, or it is an error naming it."""
        errs = super().cross_check(name, sc)
        visits = sc.visits(name)
        own = [s for *_, s in visits if not self.computes(s)]  # steps timed by process_time here
        for _p, pname, i, step in visits:
            if step.process_time is None and self.process_time is None and not self.computes(step):
                errs.append((f"stations.{name}.process_time",
                             f"missing: product {pname!r} step {i} runs here without its own process_time"))
            if step.process_time is not None and self.computes(step):
                errs.append((f"products.{pname}.routing[{i}].process_time",
                             f"station {name!r} ({self.kind}) computes this step's time itself: remove process_time"))
        if visits and self.process_time is not None and not any(s.process_time is None for s in own):
            errs.append((f"stations.{name}.process_time", "is not used: every routing step on this station has its own "
                                                          "process_time" + (" or operations" if len(own) < len(visits) else "")))
        if visits and self.ideal_cycle_time is not None and not any(
                s.ideal_cycle_time is None and s.process_time is None for *_, s in visits):
            errs.append((f"stations.{name}.ideal_cycle_time", "is not used: every routing step on this station has its own "
                                                              "process_time or ideal_cycle_time"))
        for a, row in self.setup.changes.items():
            for b in [a, *row]:
                if b not in sc.products:
                    errs.append((f"stations.{name}.setup.changes", f"names product {b!r}, which does not exist"))
        products_here = {p for p, *_ in visits}
        if len(products_here) < 2:
            for key in ("default", "changes"):
                if is_set(self.setup, key):
                    errs.append((f"stations.{name}.setup.{key}", "changeovers need two or more products on this station"))
        if self.dispatch == "edd" and not sc.release.has_due_dates():
            errs.append((f"stations.{name}.dispatch", "edd needs due dates (release by orders, lots or demand with due dates)"))
        if self.dispatch == "setup" and len(products_here) < 2:
            errs.append((f"stations.{name}.dispatch", "setup (least changeover first) needs two or more products on this station"))
        if self.dispatch == "spt" and len(visits) < 2:
            errs.append((f"stations.{name}.dispatch", "spt (shortest ideal time first) needs two or more products or steps here"))
        for i, m in enumerate(self.maintenance):
            if m.crew is not None and m.crew not in sc.crews:
                errs.append((f"stations.{name}.maintenance[{i}].crew", f"names crew {m.crew!r}, which `crews` does not define"))
            if m.when is not None:
                from twin.rules import parse_condition

                tag = parse_condition(m.when)[0]
                if tag not in self.tag_names():
                    errs.append((f"stations.{name}.maintenance[{i}].when",
                                 f"station {name!r} ({self.kind}) has no tag {tag!r} (tags: {', '.join(self.tag_names())})"))
        op = self.operator
        if op is not None:
            if op.pool is not None and op.pool not in sc.operators:
                errs.append((f"stations.{name}.operator.pool", f"names pool {op.pool!r}, which `operators` does not define"))
            elif op.pool is None and not any(p.skills == [] or op.skill in p.skills for p in sc.operators.values()):
                errs.append((f"stations.{name}.operator.skill", f"no operator pool has skill {op.skill!r}"))
        if self.loader is not None and (self.loader not in sc.stations or sc.stations[self.loader].kind != "robot"):
            errs.append((f"stations.{name}.loader", f"names {self.loader!r}, which is not a station of kind robot"))
        cal = sc.calendar_of(name)
        if self.shift_end == "finish" and (cal is None or not (cal.shifts or cal.breaks or cal.closures())):
            errs.append((f"stations.{name}.shift_end", "finish needs a calendar with shifts or breaks"))
        return errs

    def computes(self, step) -> bool:
        """True where the kind computes the step's time itself (physics kinds, from operations)."""
        return False


class Machine(RoutedStation):
    """Runtime of ``kind: machine`` (and base class of the metalworking stations)."""

    kind = "machine"
    accepts = frozenset({"hold", "stop", "start", "feed_override", "request_maintenance", "dispatch", "release"})

    def __init__(self, run, name: str, spec: MachineSpec):
        self.run = run
        self.name = name
        self.spec = spec
        self.clock = run.clock
        self.inputs: list = []
        self.rework_buffer = None
        sc = run.scenario
        self.power_by_code = spec.power.by_code()
        # per (product, step) samplers and PRI, for the steps that run here
        self._pt: dict[tuple[int, int], object] = {}
        self.pri: dict[tuple[int, int], float] = {}
        for p, pname, i, step in sc.visits(name):
            dist = step.process_time if step.process_time is not None else spec.process_time
            if dist is None:  # a physics station computes this step itself (validated by its kind)
                continue
            self._pt[(p, i)] = self._sampler(dist, pname, i)
            pri = step.ideal_cycle_time or (spec.ideal_cycle_time if step.process_time is None else None)
            self.pri[(p, i)] = float(pri if pri is not None else dist.mean())
        self._setup = self._setup_table(spec.setup, run.products)
        self._q = run.streams.generator(name, "quality") if (spec.scrap > 0 or spec.rework > 0) else None
        if self._q is not None:
            from twin.distributions import _blocks

            self._u = _blocks(lambda n: self._q.random(n)).__next__
        self.parts_all = 0
        self.parts_good = 0
        self.parts_bad = 0
        self.feed_override = 1.0
        self.next_part: int | None = None  # set by the `dispatch` command: take this part next
        self._fifo = spec.dispatch == "fifo"
        self._simple = self._fifo  # FIFO and no commanded next part (kept in step by set_next_part)
        self._routes = run.routes
        self.extra_energy_J = 0.0  # physics energy of process models, added to the state-based energy
        cls = type(self)
        self._plain_duration = cls.process_duration is Machine.process_duration
        self._pt_single = next(iter(self._pt.values())) if len(self._pt) == 1 else None
        self._plain_outcome = cls.outcome is Machine.outcome and self._q is None
        self._no_setup = (cls.setup_time is Machine.setup_time and spec.setup.default == 0
                          and spec.setup.initial == 0 and not spec.setup.changes)
        self._plain_complete = cls.on_complete is Machine.on_complete
        self._dest: dict = {}
        self._dest_fast = None  # the one destination of every part leaving here, when there is one
        # shared helpers: an operator pool and/or a robot loader (resolved in start())
        op = spec.operator
        self._op = run.operator_pools(op.skill, op.pool) if op is not None else None
        self._op_mode = op.during if op is not None else None
        self._op_load = op.load_time if op is not None else 0.0
        self._loader = None
        self._helpers = op is not None or spec.loader is not None
        if self._helpers:
            self._no_setup = False
            self._plain_duration = False
            inner = self.process_duration
            self.process_duration = lambda part, unit, inner=inner: inner(part, unit) + unit.h_extra
        finish = WORK_STOPS if spec.shift_end == "finish" else frozenset()
        plans = [(i, mp) for i, mp in enumerate(spec.maintenance) if mp.when is None]
        self.units = [Unit(self, k, spec.capacity, plans, finish) for k in range(spec.capacity)]
        if spec.rework > 0:
            self.rework_buffer = run.implicit_buffer(("rework", name), f"rework:{name}")
            self.inputs.append(self.rework_buffer)

    def _sampler(self, dist, pname: str, step: int):
        return make_sampler(dist, self.run.streams.generator(self.name, f"process:{pname}:{step}"))

    @staticmethod
    def _setup_table(setup: SetupSpec, products: list[str]):
        n = len(products)
        idx = {p: i for i, p in enumerate(products)}
        table = [[0.0 if a == b else setup.default for b in range(n)] for a in range(n)]
        for a, row in setup.changes.items():
            for b, t in row.items():
                table[idx[a]][idx[b]] = t
        return table, setup.initial

    def destination(self, part):
        key = (part.product, part.step)
        d = self._dest.get(key)
        if d is None:
            d = self._dest[key] = self.run.destination_table(part.product, part.step, self.name)
        if type(d) is _Choice:
            routes = self._routes
            if routes and part.id in routes:  # a commanded route picks the buffer that feeds that station
                want = routes.pop(part.id)
                for b in d.cands:
                    if want in b.to_stations:
                        return b
            return d.pick()
        return d

    # ---- the station contract (twin.station.Station) ------------------------------------------------
    def resource_count(self) -> int:
        return len(self.units)

    def set_feed_override(self, value: float) -> None:
        self.feed_override = float(value)

    def maintenance_plan(self, index: int) -> tuple[float, str | None, str]:
        plan = self.spec.maintenance[index]
        return float(plan.duration), plan.crew, plan.name

    # ---- hooks for process models ----------------------------------------------------------------
    def process_duration(self, part, unit) -> float:
        """Processing time of ``part`` on ``unit`` [s]."""
        return self._pt[(part.product, part.step)]() / self.feed_override

    def setup_time(self, prev_product: int, part) -> float:
        table, initial = self._setup
        if prev_product < 0:
            return initial
        return table[prev_product][part.product]

    def outcome(self, part, unit) -> int:
        if self._q is None:
            return GOOD
        u = self._u()
        if u < self.spec.scrap:
            return SCRAP
        if u < self.spec.scrap + self.spec.rework:
            return REWORK
        return GOOD

    def on_complete(self, part, unit, outcome: int) -> None:
        """Called after each operation (hook for process models)."""

    # ---- inputs ------------------------------------------------------------------------------
    def _dispatch_key(self, part):
        rule = self.spec.dispatch
        if rule == "spt":
            return (self.pri.get((part.product, part.step), 0.0), part.t_enter)
        if rule == "edd":
            return (part.due, part.t_enter)
        return (self.setup_time(self.units[0].last_product, part), self.pri.get((part.product, part.step), 0.0), part.t_enter)

    def set_next_part(self, part_id: int | None) -> None:
        self.next_part = part_id
        self._simple = self._fifo and part_id is None

    def _pull_by_rule(self, unit):
        """Dispatching rule or a commanded next part: scan the queued parts of every input."""
        forced = self.next_part
        best, best_buf, best_key = None, None, None
        for b in self.inputs:
            q = b.queued()
            if not q:
                continue
            for part in q:
                if forced is not None:
                    if part.id == forced:
                        best, best_buf = part, b
                        break
                    continue
                k = self._dispatch_key(part)
                if best_key is None or k < best_key:
                    best, best_key, best_buf = part, k, b
            if forced is not None and best is not None:
                break
        if best is None:
            if forced is None:
                return None
            self.set_next_part(None)  # the commanded part is not here (any more): fall back to the rule
            return self.pull(unit)
        if forced is not None:
            self.set_next_part(None)
        return best_buf.take(best)

    def pull(self, unit):
        if self.next_part is not None or not self._fifo:
            part = self._pull_by_rule(unit)
            if part is not None:
                return part
        inputs = self.inputs
        if len(inputs) == 1:
            part = inputs[0].get()
            if part is None:
                inputs[0].wait(unit)
            return part
        # the part that entered first; a saturated source (whose head "enters" at infinity) only
        # when no other input has a part (it used to never win: a first station with rework starved)
        best, best_t = None, math.inf
        for b in inputs:
            head = b.peek()
            if head is not None and (best is None or head.t_enter < best_t):
                best, best_t = b, head.t_enter
        if best is not None:
            return best.get()
        for b in inputs:
            b.wait(unit)
        return None

    def unwait(self, unit) -> None:
        if len(self.inputs) > 1:
            for b in self.inputs:
                b.unwait(unit)

    # ---- calendar and commands ------------------------------------------------------------------
    def set_stop(self, code: int, delta: int) -> None:
        for u in self.units:
            if delta > 0:
                u.add_stop(code)
            else:
                u.remove_stop(code)

    def start(self) -> None:
        if self.spec.loader is not None:
            self._loader = self.run.stations[self.spec.loader]
        for i, mp in enumerate(self.spec.maintenance):
            if mp.when is not None:
                from twin.rules import Rule

                self.run.extra_rules.append(Rule(
                    name=f"{self.name}:{mp.name}", when=f"{self.name}.{mp.when.strip()}", scan=mp.scan,
                    then={"command": "request_maintenance", "target": self.name, "value": {"plan": i}}))
        dests = self.run.destinations_of(self.name)
        if len(dests) == 1:
            d = dests[0]
            if type(d) is not _Choice:
                self._dest_fast = d
        for u in self.units:
            u.start()

    # ---- maintenance ----------------------------------------------------------------------------
    def start_maintenance(self, duration: float, crew: str | None = None, name: str = "command") -> None:
        """Planned maintenance of every unit now: stop, wait for a crew member (if any), work
        ``duration``, then renew (:meth:`maintained`) and restart."""
        for u in self.units:
            u.add_stop(PM)
            self.run.maintenance_log.add(self.clock.now, u.rid, name, duration)

        def done():
            self.maintained()
            for u in self.units:
                u.remove_stop(PM)

        crew_job(self.run, crew, duration, done)

    def maintained(self) -> None:
        """After maintenance of the station: every unit as good as new (:meth:`unit_maintained`)."""
        for u in self.units:
            self.unit_maintained(u)

    def unit_maintained(self, unit) -> None:
        """After maintenance of one unit: failure clocks as good as new (new times to failure).
        Process models add their own renewal (new tools)."""
        unit.renew()

    # ---- tags -----------------------------------------------------------------------------------
    def tags(self) -> dict:
        units = self.units
        c0 = units[0].code
        if len(units) == 1:  # (read on every lockstep step: the one-unit case without generators)
            busy, power, fault = int(c0 == PROCESSING), self.power_by_code[c0], c0 == FAILURE
        else:
            busy = sum(1 for u in units if u.code == PROCESSING)
            power = sum(self.power_by_code[u.code] for u in units)
            fault = any(u.code == FAILURE for u in units)
        inputs = self.inputs
        return {
            **STATE_TAGS[c0],
            "units_busy": busy,
            "part_count_all": self.parts_all,
            "part_count_good": self.parts_good,
            "part_count_bad": self.parts_bad,
            "power_W": power,
            "feed_override": self.feed_override,
            "alarm": "FAULT" if fault else "NORMAL",
            "queue": len(inputs[0].queued()) if len(inputs) == 1 else sum(len(b.queued()) for b in inputs),
        }

    def outlook(self):
        """Unit 1's next unload (end of the cycle in hand), next load (then, or now when a part
        waits and the unit is free) and the due times of its preventive plans: a calendar or
        operating clock falls due ``budget`` seconds after it was last armed (a paused operating
        clock: from now), a cycle clock after ``budget`` more cycles at the mean ideal cycle time."""
        from twin.station import Outlook

        u = self.units[0]
        now = self.clock.now
        names = self.run.products
        running = u.part is not None and u.code == PROCESSING and u.pending is not None
        unload = u.t_end if running else None
        nxt = next((p for b in self.inputs for p in b.queued()), None)
        load = None
        if nxt is not None and not u.suspended:
            load = unload if running else (now if u.part is None else None)
        pri = list(self.pri.values())
        cycle = sum(pri) / len(pri) if pri else None
        due = []
        for c in u.clocks:
            if not c.planned or c.budget is None:
                continue
            if c.basis == "cycles" or c in u.cyc_clocks:
                if cycle is not None:
                    due.append((now + max(0.0, c.budget) * cycle, c.name))
            elif c.pending is not None:
                due.append((c.since + c.budget, c.name))
            else:
                due.append((now + c.budget, c.name))
        return Outlook(unload, None if u.part is None else u.part.id, None if u.part is None else names[u.part.product],
                       load, None if nxt is None else names[nxt.product], tuple(sorted(due)))


class Unit(Resource):
    """One parallel unit of a machine (a resource in the state log)."""

    __slots__ = (
        "m", "last_product", "dest", "_ops", "_done_cb",
        "h_su", "h_extra", "held_op", "waiting", "wait_resume", "unloaded", "robot_arm", "restore",
    )

    def __init__(self, machine: Machine, k: int, n: int, plans=(), finish_first=frozenset()):
        self.m = machine
        super().__init__(machine, machine.name if n == 1 else f"{machine.name}#{k + 1}", machine.spec.failures, plans,
                         finish_first)
        self.last_product = -1
        self.dest = None
        ol = self.run.ops_log
        self._ops = ol.writer()  # an operation row: ext(pack(part, resource, step, t_start, t_end, outcome))
        # machines with helpers (operators, robot loader) go through _h_processing_done first,
        # so the plain hot path carries no check for them
        self._done_cb = self._h_processing_done if machine._helpers else self._processing_done
        self.h_su = 0.0
        self.h_extra = 0.0
        self.held_op = None
        self.waiting = None
        self.wait_resume = None
        self.unloaded = False
        self.robot_arm = -1
        self.restore = None  # twin.live.snapshot: fn(unit) that sets this unit's state at time 0

    # ---- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        m = self.m
        if (m._plain_outcome and m._no_setup and m._plain_complete and m._plain_duration and not m._helpers
                and not self.cyc_clocks and not self.proc_clocks and not any(c.planned for c in self.clocks)):
            # the generic machine without quality draws, setups, cycle or processing clocks: the
            # same steps as _processing_done with the branches that cannot apply left out
            self._done_cb = self._done_plain
        self.start_clocks()
        if self.restore is not None:
            fn, self.restore = self.restore, None
            fn(self)
            return
        if self.suspended:
            self.show()
        else:
            self._try_start()

    def _try_start(self) -> None:
        if self.n_stops:  # a stop that let the cycle in hand finish takes effect now
            self.activity = STARVED
            if self.settle():
                return
        part = self.m.pull(self)
        if part is None:
            self.activity = STARVED
            self.show()
        else:
            self._begin(part)

    def receive(self, part) -> None:
        """A waiting (starved) unit gets a part from a buffer."""
        m = self.m
        if len(m.inputs) > 1:
            m.unwait(self)
        self._begin(part)

    def _begin(self, part) -> None:
        self.part = part
        m = self.m
        if m._no_setup:  # (never with helpers: they force the full path)
            self._start_processing()
            return
        if m._helpers:
            self._h_begin()
            return
        self._setup_then(m.setup_time(self.last_product, part), self._start_processing)

    def _setup_then(self, su: float, after) -> None:
        """A setup of ``su`` seconds (if any), then ``after()``."""
        if su > 0:
            self.work(su, after, SETUP)
        else:
            after()

    def _start_processing(self) -> None:
        # hot path: a unit only starts processing while no stop is in force, so the logged code is PROCESSING
        m = self.m
        part = self.part
        if m._plain_duration:
            pt = m._pt_single
            d = (pt() if pt is not None else m._pt[(part.product, part.step)]()) / m.feed_override
        else:
            d = m.process_duration(part, self)
        clock = self.clock
        now = clock.now
        self.t_start = now
        self.activity = PROCESSING
        self.code = PROCESSING
        self.logged_part = pid = part.id
        self._lx(self._lk(now, self.rid, PROCESSING, pid))
        self.t_end = now + d
        self.pending = clock.after(d, self._done_cb)
        if self.proc_clocks:
            self._proc_resume(d)

    def _done_plain(self, ev) -> None:
        """``_processing_done`` for a plain unit (see ``start``): every part is good, no setup,
        no cycle or processing clock. Same rows in the same order."""
        if ev is not self.pending:
            return  # abandoned by a suspension
        self.pending = None
        part = self.part
        m = self.m
        step = part.step
        ext, pack = self._ops
        ext(pack(part.id, self.rid, step, self.t_start, self.clock.now, GOOD))
        m.parts_all += 1
        m.parts_good += 1
        part.step = step + 1
        dest = (None if m._routes else m._dest_fast) or m.destination(part)
        if dest.put(part, self):
            self.part = None
            inputs = m.inputs
            if m._simple and len(inputs) == 1 and not self.n_stops:
                b = inputs[0]
                nxt = b.get()
                if nxt is None:
                    b.wait(self)
                    self.activity = STARVED
                    if self.code != STARVED or self.logged_part != -1:  # show(), not suspended
                        self.code = STARVED
                        self.logged_part = -1
                        self._lx(self._lk(self.clock.now, self.rid, STARVED, -1))
                else:
                    self.part = nxt
                    self._start_processing()
            else:
                self._try_start()
        else:
            self.activity = BLOCKED
            self.dest = dest
            if not (self.n_stops and self.settle()):
                self.show()

    def _processing_done(self, ev) -> None:
        if ev is not self.pending:
            return  # abandoned by a suspension
        self.pending = None
        part = self.part
        m = self.m
        now = self.clock.now
        if self.proc_clocks:
            self._proc_pause()
        out = GOOD if m._plain_outcome else m.outcome(part, self)
        ext, pack = self._ops
        ext(pack(part.id, self.rid, part.step, self.t_start, now, out))
        m.parts_all += 1
        if not m._no_setup:
            self.last_product = part.product
        if not m._plain_complete:
            m.on_complete(part, self, out)
        fail_now = self.cycle_done() if self.cyc_clocks else False
        if out == GOOD:
            m.parts_good += 1
            part.step += 1
            if fail_now:
                self._try_push(True)
                return
            dest = (None if m._routes else m._dest_fast) or m.destination(part)
            if dest.put(part, self):
                self.part = None
                inputs = m.inputs
                if m._simple and len(inputs) == 1 and not self.n_stops:
                    # inline of _try_start: single input, FIFO, no commanded part, no stop waiting
                    b = inputs[0]
                    nxt = b.get()
                    if nxt is None:
                        b.wait(self)
                        self.activity = STARVED
                        self.show()
                    elif m._no_setup:
                        self.part = nxt
                        self._start_processing()
                    else:
                        self._begin(nxt)
                else:
                    self._try_start()
            else:
                self.activity = BLOCKED
                self.dest = dest
                if not (self.n_stops and self.settle()):
                    self.show()
            return
        m.parts_bad += 1
        self.part = None
        if out == SCRAP:
            m.run.scrap(part)
        else:
            part.reworks += 1
            m.rework_buffer.force_put(part)
        self._next(fail_now)

    def _next(self, fail_now: bool) -> None:
        if fail_now:
            self.activity = STARVED
            self.fail_due_cycles()
            if self.suspended:
                return
        self._try_start()

    def _try_push(self, fail_now: bool = False) -> None:
        part = self.part
        dest = self.m.destination(part)
        if dest.put(part, self):
            self.part = None
            self._next(fail_now)
        else:
            self.activity = BLOCKED
            self.dest = dest
            self.show()
            if fail_now:
                self.fail_due_cycles()
            elif self.n_stops:
                self.settle()

    def handed_over(self) -> None:
        """The buffer we were blocked on took our part."""
        self.part = None
        self.dest = None
        self._try_start()

    # ---- stops (resource hooks) -------------------------------------------------------------------------
    def on_suspend(self) -> None:
        w = self.waiting
        if w is not None and type(w) is tuple:  # waiting for an operator or robot: give up the place in line
            w[0].cancel(w[1])
            self.waiting = None
            self.wait_resume = w[2]
        op = self.held_op
        if op is not None and op is not False and self.m._op_mode != "load":
            # the operator does not stand by a stopped machine (shift end, failure, break):
            # released now, asked for again when the stop ends (False marks that)
            op.release()
            self.held_op = False
        a = self.activity
        if a == STARVED:
            for b in self.m.inputs:
                b.unwait(self)
        elif a == BLOCKED and self.dest is not None:
            self.dest.unblock_wait(self)

    def on_resume(self) -> None:
        if self.held_op is False:  # the operator left during the stop: wait for one again
            a = self.activity

            def regain(pool, a=a):
                self.held_op = pool
                self.activity = a
                self._resume_rest()

            self.held_op = None
            self._h_wait(self.m._op, regain)
            return
        self._resume_rest()

    def _resume_rest(self) -> None:
        if self.wait_resume is not None:
            fn, self.wait_resume = self.wait_resume, None
            fn()
            return
        a = self.activity
        if a == PROCESSING:
            self.show()
            self.t_end = self.clock.now + self.remaining
            self.pending = self.clock.after(self.remaining, self._done_cb)
            if self.proc_clocks:
                self._proc_resume(self.remaining)
        elif a == SETUP:
            self.continue_work()
        elif a == STARVED:
            self._try_start()
        elif a == BLOCKED:
            self._try_push()

    def on_maintained(self) -> None:
        self.m.unit_maintained(self)

    # ---- a live start (twin.live.snapshot): the unit's observed state at time 0 -------------------
    def start_restored(self, part, activity: int, remaining: float = 0.0) -> None:
        """Begin the run holding ``part``: ``PROCESSING`` for ``remaining`` s, ``SETUP`` for
        ``remaining`` s then processing, or ``BLOCKED`` with the finished part (its ``step``
        already the next one). Called from ``restore`` at :meth:`start`; stops in force (the
        calendar, a restored failure) pause it as they would any work in hand. Operators and
        robot loaders are not held for the remaining time."""
        self.part = part
        part.t_enter = self.clock.now
        if activity == BLOCKED:
            self.activity = BLOCKED
            if self.suspended:
                self.show()
            else:
                self._try_push()
            return
        after = self._start_processing if activity == PROCESSING or not self.m._helpers else self._h_after_setup
        if activity == SETUP:
            self.on_done = after
        self.activity = activity
        self.t_start = self.clock.now
        self.remaining = remaining
        if self.suspended:
            if self._must_stop():
                self.show()
                return
            self.suspended = False  # only stops that let the work in hand finish (breaks, shift ends)
            for c in self.op_clocks:
                if c.budget is not None:
                    self._arm(c, c.budget)
        if activity == SETUP:
            self.work(remaining, after, SETUP)
            return
        self.show()
        self.t_end = self.clock.now + remaining
        self.pending = self.clock.after(remaining, self._done_cb)
        if self.proc_clocks:
            self._proc_resume(remaining)

    # ---- shared helpers: operator pools and robot loaders -----------------------------------------
    def _h_wait(self, pool, then, waiting_code: int = STARVED) -> None:
        """Ask ``pool`` for a member; ``then(member_pool)`` runs when granted (maybe at once)."""
        token = object()
        self.waiting = token

        def cb(p, token=token):
            w = self.waiting
            if w is token or (type(w) is tuple and w[1] is cb):
                self.waiting = None
            then(p)

        q = pool.request(cb)
        if self.waiting is token:  # queued
            self.waiting = (q, cb, lambda: self._h_wait(pool, then, waiting_code))
            self.activity = waiting_code
            self.show()

    def _h_begin(self) -> None:
        m = self.m
        self.h_su = su = m.setup_time(self.last_product, self.part)
        if m._op is not None and self.held_op is None and (m._op_mode == "cycle" or (m._op_mode == "setup" and su > 0)):
            self._h_wait(m._op, self._h_got_op)
        else:
            self._h_setup()

    def _h_got_op(self, pool) -> None:
        self.held_op = pool
        self._h_setup()

    def _h_setup(self) -> None:
        self._setup_then(self.h_su, self._h_after_setup)

    def _h_after_setup(self) -> None:
        m = self.m
        if m._op_mode == "setup" and self.held_op is not None:
            self.held_op.release()
            self.held_op = None
        if m._op_mode == "load":
            self._h_wait(m._op, self._h_got_op_load)
        else:
            self._h_load()

    def _h_got_op_load(self, pool) -> None:
        self.held_op = pool
        d = self.m._op_load
        self.clock.after(d, lambda ev, pool=pool: self._h_release_op(pool))
        self._h_load()

    def _h_release_op(self, pool) -> None:
        if self.held_op is pool:
            self.held_op = None
            pool.release()

    def _h_load(self) -> None:
        r = self.m._loader
        if r is not None:
            self._h_wait(r.pool, self._h_got_robot_load)
        else:
            self.h_extra = 0.0
            self._start_processing()

    def _h_got_robot_load(self, pool) -> None:
        r = self.m._loader
        self.robot_arm, t = r.handle(self, load=True)
        self.h_extra = t  # the load is part of this machine's cycle
        arm = self.robot_arm
        self.clock.after(t, lambda ev: r.release(arm))
        self.robot_arm = -1
        self._start_processing()

    def _h_processing_done(self, ev) -> None:
        if ev is not self.pending:
            return
        if self._h_done():
            return  # waiting for the robot to unload
        self._processing_done(ev)

    def _h_done(self) -> bool:
        """End of processing with helpers: robot unload first (True while it is pending)."""
        m = self.m
        r = m._loader
        if r is not None and not self.unloaded:
            self._h_wait(r.pool, self._h_got_robot_unload, BLOCKED)
            return True
        if self.unloaded:
            self.unloaded = False
            r.release(self.robot_arm)
            self.robot_arm = -1
            self.activity = PROCESSING
        if m._op_mode == "cycle" and self.held_op is not None:
            self.held_op.release()
            self.held_op = None
        return False

    def _h_got_robot_unload(self, pool) -> None:
        r = self.m._loader
        self.robot_arm, t = r.handle(self, load=False)
        self.unloaded = True
        self.activity = PROCESSING
        self.show()
        self.pending = self.clock.after(t, self._done_cb)
        self.t_end = self.clock.now + t


register("machine", MachineSpec, Machine)
