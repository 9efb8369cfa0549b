"""The generic machine: a station with parallel units, process-time distributions, setups,
scrap and rework, failure profiles and per-state power.

Each unit is a callback-driven state machine. Its *activity* is one of processing, setup,
starved or blocked; *stops* (off shift, break, planned maintenance, failure, hold) are counted
and, while any holds, suspend the activity (a part in process keeps its remaining time). The
logged state code is the highest-priority stop, else the activity.

Failure profiles count on a *basis*:

* ``calendar``: wall-clock time, whatever the station does (repairs run on calendar time too,
  also off shift; the log then shows off_shift, which ranks above failure);
* ``operating``: time without any stop (idle, blocked and busy time count);
* ``processing``: time spent processing parts;
* ``cycles``: number of processed parts (the TBF distribution gives a count).

The time to the next failure is drawn once and *scheduled*; when its clock pauses the
scheduled event is abandoned and the remaining budget kept, so nothing polls. After a
repair a new time between failures is drawn. ``availability`` + ``mttr`` is shorthand for
exponential TBF with mean ``A * MTTR / (1 - A)`` and exponential TTR with mean ``MTTR``.

Process models for metalworking subclass :class:`Machine` and override
:meth:`Machine.process_duration`, :meth:`Machine.outcome` and :meth:`Machine.setup_time`.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from twin.distributions import Distribution, make_sampler
from twin.pools import crew_job
from twin.engine import _Choice
from twin.registry import register
from twin.scenario import Layout
from twin.station import Station
from twin.states import STOP_PRIORITY, Code, Outcome, state_tags
from twin.units import Probability, Seconds, Watts

__all__ = ["MachineSpec", "Machine", "Unit", "FailureProfile", "PowerSpec", "SetupSpec", "OperatorNeed", "MaintenanceSpec"]

PROCESSING, SETUP, STARVED, BLOCKED = Code.PROCESSING.value, Code.SETUP.value, Code.STARVED.value, Code.BLOCKED.value
FAILURE = Code.FAILURE.value
PM = Code.PLANNED_MAINTENANCE.value
GOOD, SCRAP, REWORK = Outcome.GOOD.value, Outcome.SCRAP.value, Outcome.REWORK.value
_PRIO = [c.value for c in STOP_PRIORITY]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class FailureProfile(_M):
    """One failure mode: TBF + TTR distributions, or availability + MTTR."""

    name: str = "failure"
    basis: Literal["calendar", "operating", "processing", "cycles"] = "operating"
    tbf: Distribution | None = Field(default=None, description="time (or cycles) between failures")
    ttr: Distribution | None = Field(default=None, description="time to repair")
    availability: float | None = Field(default=None, gt=0, lt=1)
    mttr: Seconds | None = Field(default=None, gt=0)
    crew: str | None = Field(default=None, description="repair crew (`crews`): the repair starts when a member is free")

    @model_validator(mode="after")
    def _spec(self):
        if self.availability is not None:
            if self.tbf is not None:
                raise ValueError("give either tbf or availability, not both")
            if self.mttr is None and self.ttr is None:
                raise ValueError("availability needs mttr (or a ttr distribution)")
            if self.basis == "cycles":
                raise ValueError("availability + mttr needs a time basis, not cycles")
        else:
            if self.tbf is None or self.ttr is None:
                raise ValueError("give tbf and ttr, or availability and mttr")
            if self.mttr is not None:
                raise ValueError("mttr goes with availability; with tbf give a ttr distribution")
        return self

    def resolved(self):
        """(tbf, ttr) distributions."""
        from twin.distributions import Exponential

        if self.availability is None:
            return self.tbf, self.ttr
        mttr = self.mttr if self.mttr is not None else self.ttr.mean()
        ttr = self.ttr if self.ttr is not None else Exponential(dist="exponential", mean=mttr)
        mtbf = self.availability * mttr / (1.0 - self.availability)
        return Exponential(dist="exponential", mean=mtbf), ttr


class PowerSpec(_M):
    """Electrical power draw per state [W] (units allowed: '4 kW')."""

    processing: Watts = Field(default=0.0, ge=0)
    setup: Watts | None = Field(default=None, ge=0, description="default: idle")
    idle: Watts = Field(default=0.0, ge=0, description="starved, blocked, held, break")
    down: Watts = Field(default=0.0, ge=0, description="failure and planned maintenance")
    off: Watts = Field(default=0.0, ge=0, description="off shift")

    @model_validator(mode="before")
    @classmethod
    def _yaml_off(cls, data):
        # YAML 1.1 reads a bare `off:` key as the boolean false
        if isinstance(data, dict) and (False in data or "false" in data):  # "false" once JSON-encoded
            data = {("off" if (k is False or k == "false") else k): v for k, v in data.items()}
        return data

    def by_code(self) -> list[float]:
        su = self.idle if self.setup is None else self.setup
        return [self.processing, su, self.idle, self.idle, self.idle, self.down, self.down, self.idle, self.off]


class SetupSpec(_M):
    """Changeover times: ``changes[from][to]`` by product pair, else ``default`` when the
    product changes; ``initial`` before the very first part."""

    default: Seconds = Field(default=0.0, ge=0)
    initial: Seconds = Field(default=0.0, ge=0)
    changes: dict[str, dict[str, Seconds]] = Field(default_factory=dict)


class OperatorNeed(_M):
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
        if self.during == "load" and self.load_time <= 0:
            raise ValueError("during: load needs load_time > 0")
        return self


class MaintenanceSpec(_M):
    """Preventive or condition-based maintenance of every unit of a station.

    One of: ``every`` (a time on a ``calendar`` or ``operating`` basis), ``cycles`` (parts
    processed), or ``when`` (a condition on one of this station's tags, scanned every ``scan``,
    e.g. ``tool_wear_max >= 0.8``). The station stops (planned maintenance) for ``duration``
    after a ``crew`` member arrives; at the end its failure clocks restart as good as new and a
    machining station gets new tools. Time and cycle plans fire at the end of a cycle when due
    during one (operating and cycles basis) or interrupt it (calendar basis)."""

    name: str = "pm"
    every: Seconds | None = Field(default=None, gt=0)
    basis: Literal["calendar", "operating"] = "operating"
    cycles: int | None = Field(default=None, ge=1)
    when: str | None = Field(default=None, description="TAG OP VALUE on this station's tags, e.g. 'tool_wear_max >= 0.8'")
    scan: Seconds = Field(default=60.0, gt=0)
    duration: Seconds = Field(gt=0)
    crew: str | None = None

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("every", "cycles", "when") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of every, cycles or when")
        if self.when is not None:
            from twin.rules import parse_condition

            parse_condition(self.when)  # same grammar as rules
        return self


class MachineSpec(_M):
    """``kind: machine``: a generic station."""

    kind: Literal["machine"] = "machine"
    capacity: int = Field(default=1, ge=1, description="identical parallel units sharing the input")
    process_time: Distribution | None = Field(default=None, description="per part; routing steps may override")
    ideal_cycle_time: Seconds | None = Field(default=None, gt=0, description="PRI (ISO 22400); default: mean process time")
    setup: SetupSpec = Field(default_factory=SetupSpec)
    scrap: Probability = Field(default=0.0, ge=0, le=1)
    rework: Probability = Field(default=0.0, ge=0, le=1, description="part repeats this operation")
    failures: list[FailureProfile] = Field(default_factory=list)
    power: PowerSpec = Field(default_factory=PowerSpec)
    layout: Layout | None = None
    dispatch: Literal["fifo", "spt", "edd", "setup"] = Field(
        default="fifo", description="which waiting part to take next: first in, shortest ideal time, earliest due date, least setup")
    operator: OperatorNeed | None = Field(default=None, description="operator needed from a pool (see `operators`)")
    loader: str | None = Field(default=None, description="robot station that loads and unloads this machine")
    maintenance: list[MaintenanceSpec] = Field(default_factory=list, description="preventive / condition-based maintenance plans")

    @model_validator(mode="after")
    def _probs(self):
        if self.scrap + self.rework > 1:
            raise ValueError(f"scrap + rework = {self.scrap + self.rework} exceeds 1")
        return self

    #: tags every machine publishes (condition-based maintenance plans may read them)
    TAGS: ClassVar[tuple[str, ...]] = ("item_state", "operation_mode", "reason", "execution", "units_busy", "part_count_all", "part_count_good",
            "part_count_bad", "power_W", "feed_override", "alarm", "queue")

    def tag_names(self) -> tuple[str, ...]:
        return self.TAGS

    def cross_check(self, name: str, sc) -> list[tuple[str, str]]:
        errs = []
        for _p, pname, i, step in sc.visits(name):
            if step.process_time is None and self.process_time is None:
                errs.append((f"stations.{name}.process_time",
                             f"missing: product {pname!r} step {i} runs here without its own process_time"))
        for a, row in self.setup.changes.items():
            for b in [a, *row]:
                if b not in sc.products:
                    errs.append((f"stations.{name}.setup.changes", f"names product {b!r}, which does not exist"))
        return errs


def check_step_operations(model, name: str, spec, sc, extra=None) -> list[tuple[str, str]]:
    """Cross-check of a physics station: every routing step on station ``name`` lists its
    ``operations`` (or has a process time), each valid as ``model``; ``extra(op, path, product)``
    adds kind-specific checks. Errors carry the operation's field path."""
    errs = []
    for _p, pname, i, step in sc.visits(name):
        path = f"products.{pname}.routing[{i}].operations"
        if not step.operations:
            if step.process_time is None and spec.process_time is None:
                errs.append((path, f"station {name!r} ({spec.kind}) needs the operations of this step (or a process_time)"))
            continue
        for j, op in enumerate(step.operations):
            try:
                o = model.model_validate(op)
            except ValidationError as e:
                for er in e.errors(include_url=False):
                    loc = ".".join(str(x) for x in er["loc"])
                    errs.append((f"{path}[{j}]{'.' + loc if loc else ''}", er["msg"].replace("Value error, ", "")))
                continue
            if extra is not None:
                errs.extend(extra(o, f"{path}[{j}]", pname))
    return errs


class Machine(Station):
    """Runtime of ``kind: machine`` (and base class of the metalworking stations)."""

    kind = "machine"
    accepts = frozenset({"hold", "stop", "start", "feed_override", "request_maintenance", "dispatch", "release"})

    def __init__(self, run, name: str, spec: MachineSpec):
        self.run = run
        self.name = name
        self.spec = spec
        self.env = run.env
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
        self.units = [Unit(self, k, spec.capacity) for k in range(spec.capacity)]
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
            d = self._dest[key] = self.run._dest[(part.product, part.step, self.name)]
        if type(d) is _Choice:
            routes = self.run.routes
            if routes and part.id in routes:  # a commanded route picks the buffer that feeds that station
                want = routes.pop(part.id)
                for b in d.cands:
                    if want in b.to_stations:
                        return b
            return d.pick()
        return d

    def add_input(self, buf) -> None:
        if buf not in self.inputs:
            self.inputs.append(buf)

    # ---- the station contract (twin.station.Station) ------------------------------------------------
    def resource_count(self) -> int:
        return len(self.units)

    def ideal_cycle_times(self) -> dict:
        return dict(self.pri)

    def power_by_state(self) -> list[float]:
        return list(self.power_by_code)

    def process_energy_J(self) -> float:
        return self.extra_energy_J

    def set_feed_override(self, value: float) -> None:
        self.feed_override = float(value)

    def queued_parts(self) -> list:
        return [p for b in self.inputs for p in b.queued()]

    def maintenance_plan(self, index: int) -> tuple[float, str | None]:
        plan = self.spec.maintenance[index]
        return float(plan.duration), plan.crew

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
        best, best_t = None, math.inf
        for b in inputs:
            head = b.peek()
            if head is not None and head.t_enter < best_t:
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
    def start_maintenance(self, duration: float, crew: str | None = None) -> None:
        """Planned maintenance of every unit now: stop, wait for a crew member (if any), work
        ``duration``, then renew (:meth:`maintained`) and restart."""
        for u in self.units:
            u.add_stop(PM)

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
        busy = sum(1 for u in self.units if u.code == PROCESSING)
        return {
            **state_tags(self.units[0].code),
            "units_busy": busy,
            "part_count_all": self.parts_all,
            "part_count_good": self.parts_good,
            "part_count_bad": self.parts_bad,
            "power_W": sum(self.power_by_code[u.code] for u in self.units),
            "feed_override": self.feed_override,
            "alarm": "FAULT" if any(u.code == FAILURE for u in self.units) else "NORMAL",
            "queue": sum(len(b.queued()) for b in self.inputs),
        }


class _Clock:
    """Failure clock of one profile on one unit (see module docstring for the bases)."""

    __slots__ = ("unit", "index", "basis", "tbf", "ttr", "budget", "since", "pending", "crew", "planned")

    def __init__(self, unit, index, profile: FailureProfile | None, streams, entity, plan: "MaintenanceSpec | None" = None):
        self.unit = unit
        self.index = index
        self.pending = None
        self.since = 0.0
        if plan is not None:  # a preventive maintenance plan: fixed interval, fixed duration
            self.planned = True
            self.crew = plan.crew
            self.basis = "cycles" if plan.cycles is not None else plan.basis
            every = float(plan.cycles if plan.cycles is not None else plan.every)
            self.tbf = lambda every=every: every
            self.ttr = lambda d=float(plan.duration): d
            self.budget = every
            return
        tbf, ttr = profile.resolved()
        self.planned = False
        self.crew = profile.crew
        self.basis = profile.basis
        self.tbf = make_sampler(tbf, streams.generator(entity, f"failure:{profile.name}:tbf"))
        self.ttr = make_sampler(ttr, streams.generator(entity, f"failure:{profile.name}:ttr"))
        self.budget = self.tbf()


class Unit:
    """One parallel unit of a machine (a resource in the state log)."""

    __slots__ = (
        "m", "env", "rid", "activity", "stops", "n_stops", "part", "pending", "t_end", "remaining",
        "after", "last_product", "code", "logged_part", "dest", "t_start", "clocks", "op_clocks",
        "proc_clocks", "cyc_clocks", "_lt", "_lr", "_lc", "_lp", "_ops", "name", "held_by_command", "_fire_cb", "_done_cb",
        "h_su", "h_extra", "held_op", "waiting", "wait_resume", "unloaded", "robot_arm",
    )

    def __init__(self, machine: Machine, k: int, n: int):
        run = machine.run
        self.m = machine
        self.env = run.env
        self.name = machine.name if n == 1 else f"{machine.name}#{k + 1}"
        self.rid = run.new_resource(self.name, machine.name)
        self.activity = STARVED
        self.stops = [0] * 9
        self.n_stops = 0
        self.part = None
        self.pending = None
        self.t_end = 0.0
        self.remaining = 0.0
        self.after = None
        self.last_product = -1
        self.code = -1
        self.logged_part = -2
        self.dest = None
        self.t_start = 0.0
        sl = run.state_log
        self._lt, self._lr, self._lc, self._lp = sl.t.append, sl.resource.append, sl.code.append, sl.part.append
        ol = run.ops_log
        self._ops = (ol.part.append, ol.resource.append, ol.step.append, ol.t_start.append, ol.t_end.append, ol.outcome.append)
        self._fire_cb = self._fire
        # machines with helpers (operators, robot loader) go through _h_processing_done first,
        # so the plain hot path carries no check for them
        self._done_cb = self._h_processing_done if machine._helpers else self._processing_done
        self.clocks = [_Clock(self, i, f, run.streams, self.name) for i, f in enumerate(machine.spec.failures)]
        self.clocks += [_Clock(self, i, None, run.streams, self.name, plan=mp)
                        for i, mp in enumerate(machine.spec.maintenance) if mp.when is None]
        self.h_su = 0.0
        self.h_extra = 0.0
        self.held_op = None
        self.waiting = None
        self.wait_resume = None
        self.unloaded = False
        self.robot_arm = -1
        self.op_clocks = [c for c in self.clocks if c.basis == "operating"]
        self.proc_clocks = [c for c in self.clocks if c.basis == "processing"]
        self.cyc_clocks = [c for c in self.clocks if c.basis == "cycles"]

    # ---- logging ---------------------------------------------------------------------------------
    def _show(self) -> None:
        if self.n_stops:
            s = self.stops
            for c in _PRIO:
                if s[c]:
                    code = c
                    break
        else:
            code = self.activity
        part = self.part
        pid = -1 if part is None else part.id
        if code != self.code or pid != self.logged_part:
            self.code = code
            self.logged_part = pid
            self._lt(self.env.now)
            self._lr(self.rid)
            self._lc(code)
            self._lp(pid)

    # ---- timers ----------------------------------------------------------------------------------
    def _schedule(self, delay: float) -> None:
        self.pending = self.env.after(delay, self._fire_cb)
        self.t_end = self.env.now + delay

    def _fire(self, ev) -> None:
        if ev is self.pending:
            self.pending = None
            self.after()

    # ---- life cycle -----------------------------------------------------------------------------
    def start(self) -> None:
        for c in self.clocks:
            if c.basis == "calendar":
                self._arm(c, c.budget)
            elif c.basis == "operating" and not self.n_stops:
                self._arm(c, c.budget)
        if self.n_stops:
            self._show()
        else:
            self._try_start()

    def _try_start(self) -> None:
        part = self.m.pull(self)
        if part is None:
            self.activity = STARVED
            self._show()
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
            self.activity = SETUP
            self.after = after
            self._show()
            self._schedule(su)
        else:
            after()

    def _start_processing(self) -> None:
        # hot path: a unit only starts processing while no stop holds, so the logged code is PROCESSING
        m = self.m
        part = self.part
        if m._plain_duration:
            pt = m._pt_single
            d = (pt() if pt is not None else m._pt[(part.product, part.step)]()) / m.feed_override
        else:
            d = m.process_duration(part, self)
        env = self.env
        now = env.now
        self.t_start = now
        self.activity = PROCESSING
        self.code = PROCESSING
        self.logged_part = pid = part.id
        self._lt(now)
        self._lr(self.rid)
        self._lc(PROCESSING)
        self._lp(pid)
        self.t_end = now + d
        self.pending = env.after(d, self._done_cb)
        if self.proc_clocks:
            self._proc_resume(d)

    def _processing_done(self, ev) -> None:
        if ev is not self.pending:
            return  # abandoned by a suspension
        self.pending = None
        part = self.part
        m = self.m
        now = self.env.now
        if self.proc_clocks:
            self._proc_pause()
        out = GOOD if m._plain_outcome else m.outcome(part, self)
        o_part, o_res, o_step, o_ts, o_te, o_out = self._ops
        o_part(part.id)
        o_res(self.rid)
        o_step(part.step)
        o_ts(self.t_start)
        o_te(now)
        o_out(out)
        m.parts_all += 1
        if not m._no_setup:
            self.last_product = part.product
        if not m._plain_complete:
            m.on_complete(part, self, out)
        fail_now = False
        if self.cyc_clocks:
            for c in self.cyc_clocks:
                c.budget -= 1
                if c.budget <= 0:
                    fail_now = True
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
                if m._simple and len(inputs) == 1:  # inline of _try_start: single input, FIFO, no commanded part
                    b = inputs[0]
                    nxt = b.get()
                    if nxt is None:
                        b.wait(self)
                        self.activity = STARVED
                        self._show()
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
                self._show()
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
            for c in self.cyc_clocks:
                if c.budget <= 0:
                    self._fail(c)
            if self.n_stops:
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
            self._show()
            if fail_now:
                for c in self.cyc_clocks:
                    if c.budget <= 0:
                        self._fail(c)

    def handed_over(self) -> None:
        """The buffer we were blocked on took our part."""
        self.part = None
        self.dest = None
        self._try_start()

    # ---- stops: calendar, failures, commands --------------------------------------------------------
    def add_stop(self, code: int) -> None:
        self.stops[code] += 1
        self.n_stops += 1
        if self.n_stops == 1:
            self._suspend()
        self._show()

    def remove_stop(self, code: int) -> None:
        if self.stops[code] <= 0:
            return
        self.stops[code] -= 1
        self.n_stops -= 1
        if self.n_stops == 0:
            self._resume()
        else:
            self._show()

    def _suspend(self) -> None:
        now = self.env.now
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
        if a == PROCESSING or a == SETUP:
            if self.pending is not None:
                self.remaining = self.t_end - now
                self.pending = None
            if a == PROCESSING and self.proc_clocks:
                self._proc_pause()
        elif a == STARVED:
            for b in self.m.inputs:
                b.unwait(self)
        elif a == BLOCKED and self.dest is not None:
            self.dest.unblock_wait(self)
        for c in self.op_clocks:
            if c.pending is not None:
                c.budget -= now - c.since
                c.pending = None

    def _resume(self) -> None:
        for c in self.op_clocks:
            if c.budget is not None:
                self._arm(c, c.budget)
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
        if a == PROCESSING or a == SETUP:
            self._show()
            if a == PROCESSING:
                self.pending = self.env.after(self.remaining, self._done_cb)
                self.t_end = self.env.now + self.remaining
                if self.proc_clocks:
                    self._proc_resume(self.remaining)
            else:
                self._schedule(self.remaining)
        elif a == STARVED:
            self._try_start()
        elif a == BLOCKED:
            self._try_push()

    # ---- failure clocks ----------------------------------------------------------------------------
    def _arm(self, c: _Clock, delay: float) -> None:
        c.since = self.env.now
        c.pending = self.env.after(max(0.0, delay), lambda e, c=c: self._clock_fire(c, e))

    def _clock_fire(self, c: _Clock, ev) -> None:
        if ev is c.pending:
            c.pending = None
            if c.planned and c.basis == "operating" and self.activity in (PROCESSING, SETUP):
                # preventive maintenance waits for the end of the cycle in hand
                c.budget = 1
                self.cyc_clocks.append(c)
                return
            self._fail(c)

    def _proc_resume(self, d: float) -> None:
        now = self.env.now
        for c in self.proc_clocks:
            c.since = now
            if c.budget <= d:
                self._arm(c, c.budget)

    def _proc_pause(self) -> None:
        now = self.env.now
        for c in self.proc_clocks:
            if c.budget is not None:
                c.budget -= now - c.since
                c.since = now
            c.pending = None

    def _fail(self, c: _Clock) -> None:
        run = self.m.run
        if c.planned:
            c.budget = None
            c.pending = None
            if c.basis == "operating" and c in self.cyc_clocks:
                self.cyc_clocks.remove(c)
            self.add_stop(PM)
            crew_job(run, c.crew, c.ttr(), lambda: self._pm_done(c))
            return
        ttr = c.ttr()
        fl = run.failure_log
        fl.t.append(self.env.now)
        fl.resource.append(self.rid)
        fl.profile.append(c.index)
        fl.ttr.append(ttr)
        c.budget = None
        c.pending = None
        self.add_stop(FAILURE)
        if c.crew is not None:  # the repair starts when a crew member is free
            crew_job(run, c.crew, ttr, lambda: self._repaired(c))
        else:
            run.at(self.env.now + ttr, lambda ev, c=c: self._repaired(c))

    def _repaired(self, c: _Clock) -> None:
        c.budget = c.tbf()
        if c.basis == "calendar":
            self._arm(c, c.budget)
        elif c.basis == "processing":
            c.since = self.env.now
        self.remove_stop(FAILURE)

    def _pm_done(self, c: _Clock) -> None:
        self.m.unit_maintained(self)
        c.budget = c.tbf()
        if c.basis == "calendar":
            self._arm(c, c.budget)
        self.remove_stop(PM)

    def renew(self) -> None:
        """Failure clocks as good as new: a new time (or count) to the next failure."""
        now = self.env.now
        for c in self.clocks:
            if c.planned or c.budget is None:  # a plan keeps its interval; a failed clock is under repair
                continue
            c.budget = c.tbf()
            c.since = now
            if c.pending is not None:
                c.pending = None
                self._arm(c, c.budget)

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
            self._show()

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
        run = self.m.run
        run.at(self.env.now + d, lambda ev, pool=pool: self._h_release_op(pool))
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
        self.m.run.at(self.env.now + t, lambda ev: r.release(arm))
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
        self._show()
        self.pending = self.env.after(t, self._done_cb)
        self.t_end = self.env.now + t


register("machine", MachineSpec, Machine)
