"""The run: a SimPy environment, random streams, logs and tags for one replication of a plant.

A :class:`Run` owns everything it needs (no module-level state), so many runs can live in one
process. It can run to the end (:meth:`Run.run`) or be advanced in lockstep from the start
(:meth:`Run.step`, :meth:`Run.run_until`, :meth:`Run.step_event`).

Event design: one SimPy event per real state change. Stations are callback-driven state
machines (no generator per station, no polling loop): the end of a process step, a failure,
a repair and a calendar transition are each one scheduled event; starved and blocked stations
wait in the buffer's waiting lists and are called back when a part or space appears.
"""

from __future__ import annotations

import math
import time
from collections import deque
from heapq import heappop, heappush
from typing import Any, Callable

import simpy
from simpy.core import NORMAL

from .calendar import Calendar
from .pools import build_pools, new_pool_log
from .memory import keep_freed_memory
from .log import CommandLog, FailureLog, FeatureLog, LevelLog, MaintenanceLog, OpsLog, PartLog, StateLog
from .registry import registry
from .scenario import ScenarioBase, parse_scenario
from .states import Code, PartEvent
from .streams import RandomStreams

__all__ = ["Run", "Part", "Clock", "simulate", "execute", "wake"]

#: A wake-up on SimPy's heap: a one-element list ``[callback]``, called as ``callback(handle)``
#: with the list itself as the handle a model keeps to recognise, or abandon, its pending
#: wake-up (identity). Not a SimPy event: a list is made and called in a fraction of an event's
#: time, and the engine's loop calls it directly; SimPy's own events share the heap and run as
#: SimPy runs them (they are never lists).
Wake = list


_new = object.__new__


class Clock(simpy.Environment):
    """The run's simulation clock: a SimPy environment with the few calls process models need.

    This module is the only one that touches SimPy's internals (the ``_queue`` heap of
    ``(time, priority, id, event)``, the ``_eid`` counter, ``_now``); process kinds use

    * ``now``: the simulated time [s] (a plain attribute, kept by the engine's loop);
    * :meth:`after` / :meth:`at`: call ``callback(handle)`` after a delay / at a time (a
      :class:`Wake` on SimPy's heap; the handle is what a model keeps to recognise, or abandon,
      its pending wake-up);
    * :meth:`soon`: run ``fn()`` once the caller's work is done, at the same simulated time
      (hand-over between stations: a long blocked line frees up iteratively, not as nested calls).

    ``tests/core/test_engine.py`` pins the SimPy layout this relies on.
    """

    now: float = 0.0  # plain attribute (SimPy's ``now`` is a read-only property)

    def __init__(self) -> None:
        self._soon: deque = deque()
        self._draining = False
        super().__init__()

    # SimPy's own code reads and writes ``_now``; both names are the same value
    @property
    def _now(self) -> float:  # type: ignore[override]
        return self.now

    @_now.setter
    def _now(self, t: float) -> None:
        self.now = t

    def after(self, delay: float, callback) -> Wake:
        """Call ``callback(handle)`` after ``delay`` [s] (>= 0); returns the handle."""
        ev = [callback]
        heappush(self._queue, (self.now + delay, NORMAL, next(self._eid), ev))
        return ev

    def step(self) -> None:
        """SimPy's ``Environment.step`` (one event; ``EmptySchedule`` when there is none), which
        also runs the clock's wake-ups."""
        try:
            self.now, _, _, event = heappop(self._queue)
        except IndexError:
            raise simpy.core.EmptySchedule from None
        if type(event) is list:
            event[0](event)
        else:
            _fire(event)

    def at(self, t: float, callback) -> Wake:
        """Call ``callback(event)`` at absolute time ``t`` (now if ``t`` has passed)."""
        return self.after(max(0.0, t - self.now), callback)

    def soon(self, fn) -> None:
        """Run ``fn()`` now if nothing else of this kind is running, else right after it (FIFO).
        Work queued here never nests: a chain of hand-overs up a blocked line of any length runs
        as a loop at one simulated time."""
        if self._draining:
            self._soon.append(fn)
            return
        self._draining = True
        try:
            fn()
            q = self._soon
            while q:
                q.popleft()()
        finally:
            self._draining = False


def wake(env: Clock, delay: float, callback) -> Wake:
    """``env.after(delay, callback)`` (kept for process models written before the clock API)."""
    return env.after(delay, callback)


class Part:
    """A workpiece moving through its routing."""

    __slots__ = ("id", "product", "step", "t_release", "t_enter", "due", "reworks", "records")

    def __init__(self, pid: int, product: int, t: float, due: float = math.inf):
        self.id = pid
        self.product = product
        self.step = 0
        self.t_release = t
        self.t_enter = t
        self.due = due
        self.reworks = 0
        self.records: dict[int, dict[str, float]] | None = None  # routing step -> features its station recorded

    def feature_record(self, step: int) -> dict[str, float] | None:
        """What the station of routing ``step`` recorded on this part (None if nothing)."""
        r = self.records
        return None if r is None else r.get(step)


class Run:
    """One replication of a scenario.

    >>> import twin
    >>> run = twin.Run(twin.examples.mm1(), seed=1)      # doctest: +SKIP
    >>> changed = run.step(60.0)                          # doctest: +SKIP
    """

    def __init__(self, scenario: ScenarioBase | dict, seed: int | None = None, replication: int = 0,
                 horizon: float | None = None, warmup: float | None = None, start: bool = True,
                 prepare: Callable[["Run"], None] | None = None):
        keep_freed_memory()  # (once per process: freed log and KPI temporaries are reused, see twin.memory)
        if not isinstance(scenario, ScenarioBase) or horizon is not None or warmup is not None:
            scenario = parse_scenario(scenario, horizon=horizon, warmup=warmup)
        self.scenario = scenario
        self.seed = int(scenario.seed if seed is None else seed)
        self.replication = int(replication)
        self.horizon = float(scenario.horizon)
        self.warmup = float(scenario.warmup)
        self.env = self.clock = Clock()
        self.streams = RandomStreams(self.seed, self.replication)
        self.state_log = StateLog()
        self.ops_log = OpsLog()
        self.part_log = PartLog()
        self.level_log = LevelLog()
        self.failure_log = FailureLog()
        self.command_log = CommandLog()
        self._tag_keys: dict[str, dict[str, str]] = {}  # (tags(): "owner.tag" strings made once)
        self.feature_log = FeatureLog()
        self.maintenance_log = MaintenanceLog()
        self.resources: list[tuple[str, str]] = []  # rid -> (resource name, station name)
        self.buffer_names: list[str] = []
        self.products = list(scenario.products)
        self.product_index = {p: i for i, p in enumerate(self.products)}
        self.next_part_id = 0
        self.wip = 0
        self.released = 0
        self.scrapped = 0
        self.sink = registry.get("sink").runtime(self)
        self.stations: dict[str, Any] = {}
        self.buffers: dict[str, Any] = {}
        self._implicit: dict[tuple, Any] = {}
        self._dest: dict[tuple[int, int, str], Any] = {}
        self._dest_of: dict[str, dict[int, Any]] = {}  # station -> its distinct destinations
        self._finished = False
        self.routes: dict[int, str] = {}  # part id -> station it must go to next (`route` command)
        self.live_parts: dict[int, Part] = {}  # released parts not yet completed or scrapped
        self.command_owners: dict[str, str] = {}  # target -> the source that writes it (one writer per target)
        self.command_held: set[str] = set()  # stations held by a command
        self.pool_names: list[tuple[str, str, int]] = []  # crews, operator pools, robots, vehicles
        self.pool_log = new_pool_log()
        self.extra_rules: list = []  # rules process kinds add (condition-based maintenance)
        self.extra_tables: dict = {}  # name -> Arrow table, copied into the result
        # live twin (twin.live): what reaches the run from outside its event loop (commands, reads
        # of noisy tags), in order, so a checkpoint can replay it exactly; ``prepare(run)`` sets a
        # plant snapshot's state after assembly, before the stations start
        self.journal: list[tuple] = []
        self._advancing = False
        self._prepare = prepare
        self._build()
        if start:  # (the compiled engine assembles the plant here and plays it itself)
            self._start()

    # ---- assembly ---------------------------------------------------------------------------
    def new_resource(self, name: str, station: str) -> int:
        self.resources.append((name, station))
        return len(self.resources) - 1

    def new_buffer_id(self, name: str) -> int:
        self.buffer_names.append(name)
        return len(self.buffer_names) - 1

    def implicit_buffer(self, key: tuple, name: str):
        """An unbounded buffer the scenario did not declare (shared by ``key``)."""
        buf = self._implicit.get(key)
        if buf is None:
            buf = registry.get("buffer").runtime(self, name, None)
            self._implicit[key] = buf
            self.buffers[name] = buf
        return buf

    def _build(self) -> None:
        sc = self.scenario
        self.pools = build_pools(self)
        for name, spec in sc.stations.items():
            self.stations[name] = registry.get(spec.kind).runtime(self, name, spec)
        explicit = []
        by_upstream: dict[str, list] = {}  # station -> the declared buffers it feeds
        for name, spec in sc.buffers.items():
            buf = registry.get(spec.kind).runtime(self, name, spec)
            self.buffers[name] = buf
            frm, to = spec.ends()
            expand = lambda names: {m for n in names for m in sc.groups.get(n, [n])}
            explicit.append((buf, expand(frm), expand(to)))
            buf.to_stations = frozenset(expand(to))
            for a in expand(frm):
                by_upstream.setdefault(a, []).append(explicit[-1])
        # routing table: (product, next step, from station) -> destination
        saturated = sc.release.kind == "saturated"
        first_groups: dict[frozenset, list[int]] = {}
        for p, pname in enumerate(self.products):
            routing = sc.products[pname].routing
            prev = ["source"]
            for i in range(len(routing) + 1):
                to = routing[i].members(sc.groups) if i < len(routing) else ["sink"]
                if i == 0 and saturated:
                    first_groups.setdefault(frozenset(to), []).append(p)
                    prev = to
                    continue
                to_set = set(to)
                for a in prev:
                    cands = [b for b, f, t in by_upstream.get(a, ()) if t <= to_set]
                    if not cands:
                        if to == ["sink"]:
                            cands = [self.sink]
                        else:
                            key = ("in", tuple(sorted(to_set)))
                            cands = [self.implicit_buffer(key, "in:" + "|".join(sorted(to_set)))]
                    d = self._dest[(p, i, a)] = cands[0] if len(cands) == 1 else _Choice(cands)
                    self._dest_of.setdefault(a, {})[id(d)] = d
                prev = to
        # station inputs
        for b, f, t in explicit:
            for s in t:
                if s in self.stations:
                    self.stations[s].add_input(b)
        for key, b in self._implicit.items():
            if key[0] == "in":
                for s in key[1]:
                    self.stations[s].add_input(b)
        src_kind = registry.get("source").runtime
        self.sources = []
        if saturated:
            for group, prods in first_groups.items():
                src = src_kind(self, "source:" + "|".join(sorted(group)), sc.release, prods)
                self.sources.append(src)
                for s in sorted(group):
                    self.stations[s].add_input(src)
        else:
            self.sources.append(src_kind(self, "source", sc.release, list(range(len(self.products)))))

    def _start(self) -> None:
        """Schedule the calendar, start the stations and sources, install the rules."""
        sc = self.scenario
        self._schedule_calendar()
        if self._prepare is not None:
            self._prepare(self)
        for st in self.stations.values():
            st.start()
        for src in self.sources:
            src.start()
        if sc.rules or self.extra_rules:
            from .rules import install_rules

            install_rules(self, list(sc.rules) + self.extra_rules)

    def calendar_events(self) -> list[tuple[float, int, tuple[str, ...], int]]:
        """Off-shift, break and planned-maintenance stops of every station, from its own working
        time (its pattern of ``calendars``, else the plant calendar): ``(t, code, stations,
        +1 start / -1 end)`` in the order they are applied."""
        sc = self.scenario
        H = self.horizon
        by_cal: dict[str | None, list[str]] = {}
        for name, spec in sc.stations.items():
            by_cal.setdefault(spec.calendar if spec.calendar in sc.calendars else None, []).append(name)
        trans = []
        for cname, names in by_cal.items():
            cal = sc.calendar_of(names[0])
            if cal is None:
                continue
            key = tuple(names)
            trans += [(a, b, Code.OFF_SHIFT, key) for a, b in cal.off_shift(H)]
            trans += [(a, b, Code.BREAK, key) for a, b in cal.breaks_in_shift(H)]
        if sc.calendar is not None:
            for name in self.stations:
                trans += [(a, b, Code.PLANNED_MAINTENANCE, (name,)) for a, b in sc.calendar.maintenance_for(name, H)]
        # one event per transition; the order of starts and ends at one time does not matter
        # because stops are counted
        events = []
        for a, b, code, key in trans:
            events.append((a, 0, code, key, +1))
            if b < H:
                events.append((b, 1, code, key, -1))
        events.sort(key=lambda x: (x[0], x[1], int(x[2]), x[3]))
        return [(t, int(code), key, delta) for t, _, code, key, delta in events]

    def _schedule_calendar(self) -> None:
        """The calendar stops, one event per transition (those in force at 0 applied now)."""
        for t, code, key, delta in self.calendar_events():
            targets = [self.stations[n] for n in key]
            if t <= 0.0:  # in force from the start: before the stations start, so none begins work it may not
                for st in targets:
                    st.set_stop(code, delta)
            else:
                self.at(t, lambda ev, targets=targets, code=code, delta=delta: [s.set_stop(code, delta) for s in targets])

    # ---- services for process models ----------------------------------------------------------
    def operator_pools(self, skill: str | None, pool: str | None):
        """The pool (or :class:`~twin.pools.MultiPool`) that serves a station's operator need."""
        from .pools import MultiPool

        if pool is not None:
            return self.pools[pool]
        cands = [p for p in self.pools.values() if p.kind == "operators" and p.can_serve(skill)]
        return cands[0] if len(cands) == 1 else MultiPool(cands)

    def at(self, t: float, callback: Callable[[Wake], None]) -> Wake:
        """Call ``callback(event)`` at absolute sim time ``t`` (>= now)."""
        return self.clock.at(t, callback)

    def new_part(self, product: int, due: float = math.inf) -> Part:
        pid = self.next_part_id
        self.next_part_id += 1
        t = self.clock.now
        part = Part(pid, product, t, due)
        self.live_parts[pid] = part
        self.part_log.append(t, pid, PartEvent.RELEASE, product, due)
        self.released += 1
        self.wip += 1
        return part

    def scrap(self, part: Part) -> None:
        del self.live_parts[part.id]
        self.part_log.append(self.clock.now, part.id, PartEvent.SCRAP, part.product, part.due)
        self.scrapped += 1
        self.wip -= 1

    def record_features(self, part: Part, station: str, features: dict[str, float]) -> None:
        """A station's record of ``part`` at its current routing step (kept on the part, keyed by
        step, so a later station never overwrites it; logged as the result's ``features`` table)."""
        if part.records is None:
            part.records = {}
        part.records[part.step] = features
        fl = self.feature_log
        si = fl.stations.setdefault(station, len(fl.stations))
        now = self.clock.now
        for name, v in features.items():
            fi = fl.features.get(name)
            if fi is None:
                fi = fl.features[name] = len(fl.features)
            fl.t.append(now)
            fl.part.append(part.id)
            fl.step.append(part.step)
            fl.station.append(si)
            fl.feature.append(fi)
            fl.value.append(float(v))

    def route_choices(self, part: Part) -> set[str]:
        """Stations a ``route`` command may send ``part`` to: those of its next routing step that
        a buffer of its own feeds (where the routing offers several buffers)."""
        nxt = part.step + 1
        out: set[str] = set()
        for (p, i, _frm), d in self._dest.items():
            if p == part.product and i == nxt and type(d) is _Choice:
                for b in d.cands:
                    out |= set(b.to_stations)
        return out

    def destination_table(self, product: int, step: int, station: str):
        """Where parts of ``product`` leave ``station`` for when their next step is ``step``
        (a buffer, the sink, or a choice of buffers)."""
        return self._dest[(product, step, station)]

    def destinations_of(self, station: str) -> list:
        """Every distinct place parts leave ``station`` for (buffers, choices, the sink)."""
        return list(self._dest_of.get(station, {}).values())

    def destination(self, part: Part, station: str):
        """Where a part goes after finishing its current step at ``station``."""
        d = self._dest[(part.product, part.step, station)]
        return d.pick() if type(d) is _Choice else d

    # ---- clock control ------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.clock.now

    def run_until(self, t: float, deadline: float | None = None) -> bool:
        """Advance the simulation to time ``t`` (capped at the horizon). Events at ``t`` itself run
        on the next call. ``deadline`` (a ``time.perf_counter()`` value): stop after the first
        event that ends past it, possibly inside an instant, and return False (call again to go
        on); True when the clock is at ``t``."""
        t = min(float(t), self.horizon)
        if t > self.clock.now:
            self._advancing = True
            try:
                if deadline is None:
                    _drive(self.clock, t)
                else:
                    clock, now = self.clock, time.perf_counter
                    while clock.peek() < t:
                        clock.step()
                        if now() > deadline:
                            return False
                    clock.now = t
            finally:
                self._advancing = False
        return True

    def step(self, dt: float) -> dict[str, Any]:
        """Advance by ``dt`` seconds; return the tags (as automation observes them) that changed."""
        before = self.observed_tags()
        self.run_until(self.clock.now + dt)
        return _diff(before, self.observed_tags())

    def step_event(self) -> dict[str, Any]:
        """Advance to the next scheduled event time (all events at that time); return changed tags."""
        before = self.observed_tags()
        t = self.env.peek()
        if t < self.horizon:
            self._advancing = True
            try:
                while self.env.peek() == t:
                    self.env.step()
            finally:
                self._advancing = False
        else:
            self.run_until(self.horizon)
        return _diff(before, self.observed_tags())

    def observed_tag(self, name: str, default=None):
        """One tag as automation sees it (what a rule's scan reads). Without signal
        non-idealities only the owning station or buffer computes its tags."""
        if self.scenario.signals:
            return self.observed_tags().get(name, default)
        head, _, key = name.partition(".")
        owner = self.stations.get(head) or self.buffers.get(head)
        if owner is not None:
            v = owner.tag(key)  # stations may compute single tags cheaply
            return default if v is None else v
        return self.tags().get(name, default)

    def observed_tags(self) -> dict[str, Any]:
        """The tag table as automation sees it: the scenario's ``signals`` non-idealities applied
        (delay at the resolution of the reads, seeded noise, stuck-at, dropout to null)."""
        tags = self.tags()
        sig = self.scenario.signals
        if not sig:
            return tags
        if not self._advancing:  # a read from outside draws noise: journalled for exact replay
            self.journal.append(("observe", self.clock.now, self.clock.peek() > self.clock.now))
        if not hasattr(self, "_sig_hist"):
            self._sig_hist = {k: [] for k in sig}
            self._sig_rng = self.streams.generator("signals", "noise")
        now = self.clock.now
        for name, spec in sig.items():
            if name not in tags:
                continue
            v = tags[name]
            if spec.delay > 0:
                hist = self._sig_hist[name]
                hist.append((now, v))
                older = [x for t, x in hist if t <= now - spec.delay]
                v = older[-1] if older else hist[0][1]
                while len(hist) > 1 and hist[1][0] <= now - spec.delay:
                    hist.pop(0)
            if spec.stuck_at is not None:
                v = spec.stuck_at
            elif spec.noise > 0 and isinstance(v, (int, float)) and not isinstance(v, bool):
                v = float(v) + float(self._sig_rng.normal(0.0, spec.noise))
            if spec.dropout > 0 and self._sig_rng.random() < spec.dropout:
                v = None
            tags[name] = v
        return tags

    def run(self, progress: Callable[[float], None] | None = None, chunks: int = 100):
        """Run to the horizon and return the :class:`~twin.result.Result`."""
        if progress is None:
            self.run_until(self.horizon)
        else:
            for k in range(1, chunks + 1):
                self.run_until(self.horizon * k / chunks)
                progress(self.clock.now)
        return self.result()

    # ---- live twin (twin.live.checkpoint) --------------------------------------------------------
    def checkpoint(self) -> bytes:
        """The run's state now as bytes (see :mod:`twin.live.checkpoint`: scenario, seed, the
        journal of commands and reads, and a digest of the state; restored by exact replay)."""
        from .live.checkpoint import checkpoint

        return checkpoint(self)

    @classmethod
    def restore(cls, data: bytes, horizon: float | None = None) -> "Run":
        """A run continued from :meth:`checkpoint` bytes (to ``horizon``, default the original),
        bit-identical to one that never stopped; raises CheckpointError if the state differs."""
        from .live.checkpoint import restore

        return restore(data, horizon=horizon)

    @property
    def finished(self) -> bool:
        return self.clock.now >= self.horizon

    def result(self):
        from .result import Result

        return Result.from_run(self)

    # ---- tags -----------------------------------------------------------------------------------
    def tags(self) -> dict[str, Any]:
        """The tag table: every station's and buffer's signals, plus plant-level values."""
        out: dict[str, Any] = {
            "plant.sim_time": self.clock.now,
            "plant.parts_released": self.released,
            "plant.parts_completed": self.sink.completed,
            "plant.parts_scrapped": self.scrapped,
            "plant.wip": self.wip,
        }
        keys = self._tag_keys  # "station.tag" strings, made once per (owner, tag)
        for owners in (self.stations, self.buffers):
            for name, st in owners.items():
                kn = keys.get(name)
                if kn is None:
                    kn = keys[name] = {}
                for k, v in st.tags().items():
                    full = kn.get(k)
                    if full is None:
                        full = kn[k] = f"{name}.{k}"
                    out[full] = v
        return out


class _Choice:
    """Several declared buffers lead to the next step (e.g. one per parallel machine): join the
    one with the most free space (first declared on ties)."""

    __slots__ = ("cands",)

    def __init__(self, cands):
        self.cands = cands

    def pick(self):
        return max(self.cands, key=lambda b: b.free())


def _drive(env: Clock, until: float) -> None:
    """Process every event scheduled before ``until``, then set the clock to ``until``.

    The same semantics as ``env.run(until=until)`` (events at ``until`` itself wait for the
    next call; a failed event that nobody defused raises) with SimPy's own heap, events and
    callbacks, but without the per-event method call and exception frame of
    ``Environment.step``: the engine's hot loop.
    """
    queue = env._queue
    while queue and queue[0][0] < until:
        env.now, _, _, ev = heappop(queue)
        if type(ev) is list:  # a wake-up (most events: called in place)
            ev[0](ev)
        else:
            _fire(ev)
    env.now = until


def _fire(ev) -> None:
    """Process a SimPy event as ``Environment.step`` does: its callbacks, then re-raise its
    failure if nobody defused it."""
    callbacks, ev.callbacks = ev.callbacks, None
    for cb in callbacks:
        cb(ev)
    if not ev._ok and not hasattr(ev, "_defused"):
        exc = type(ev._value)(*ev._value.args)
        exc.__cause__ = ev._value
        raise exc


def _diff(a: dict, b: dict) -> dict:
    return {k: v for k, v in b.items() if a.get(k, _MISSING) != v}


_MISSING = object()


def simulate(scenario: ScenarioBase | dict, seed: int | None = None, replication: int = 0,
             horizon: float | None = None, warmup: float | None = None, engine: str = "simpy"):
    """Run a scenario to its horizon and return the :class:`~twin.result.Result`.

    ``engine``: ``simpy`` (every feature), ``compiled`` (the numba event loop of
    :mod:`twin.compiled` for the flow-line subset; same logs, much faster; an error naming what
    does not fit otherwise) or ``auto`` (compiled where the scenario fits, else SimPy).
    ``Result.engine`` says which engine ran, ``Result.engine_reasons`` why not the compiled one.
    """
    if engine != "simpy":
        from .compiled import choose, simulate_compiled

        if not isinstance(scenario, ScenarioBase) or horizon is not None or warmup is not None:
            scenario = parse_scenario(scenario, horizon=horizon, warmup=warmup)
        which, why = choose(scenario, engine)
        if which == "compiled":
            return simulate_compiled(scenario, seed=seed, replication=replication)
        res = Run(scenario, seed=seed, replication=replication).run()
        res.engine_reasons = why
        return res
    return Run(scenario, seed=seed, replication=replication, horizon=horizon, warmup=warmup).run()


def execute(scenario: ScenarioBase | dict, seed: int | None = None, engine: str = "simpy", chunks: int = 50,
            progress: Callable[[float], Any] | None = None):
    """Play a scenario to its horizon on ``engine`` in ``chunks`` equal steps of simulated time
    (the run service's entry point: a run request's optional ``engine`` field lands here).
    ``progress(fraction)`` is called after each step; returning False cancels the run (None is
    returned). Returns the :class:`~twin.result.Result` (``engine``/``engine_reasons`` set)."""
    from .compiled import choose, simulate_compiled

    sc = scenario if isinstance(scenario, ScenarioBase) else parse_scenario(scenario)
    which, why = choose(sc, engine)
    report = (lambda t: progress(t / sc.horizon)) if progress is not None else None
    if which == "compiled":
        return simulate_compiled(sc, seed=seed, progress=report, chunks=chunks)
    run = Run(sc, seed=seed)
    for k in range(1, chunks + 1):
        run.run_until(run.horizon * k / chunks)
        if report is not None and report(run.clock.now) is False:
            return None
    res = run.result()
    res.engine_reasons = why
    return res
