"""The resource component: what every logged resource of every station kind does the same way.

A *resource* is one row-writer of the state log: a machine's unit, a furnace, a robot arm, an
AGV. Each kind composes :class:`Resource` (its units subclass it) and gets, in one place:

* **state-log rows**: the logged code is the highest-priority stop in force, else the
  *activity* (processing, setup, starved, blocked); a row is written when the code or the part
  changes (:meth:`Resource.show`);
* **stacked stops** (off shift, break, planned maintenance, failure, hold): counted, so
  overlapping stops end when the last one does (:meth:`add_stop`, :meth:`remove_stop`);
* **suspend and resume with remaining work**: timed work (:meth:`work`) pauses when a stop takes
  effect and continues with its remaining time when the last stop ends. Stops in
  ``finish_first`` (equipment that runs unattended through breaks and shift ends) wait for the
  work in hand and take effect when it ends;
* **failure clocks on four bases**, scheduled, never polled: ``calendar`` (wall-clock time),
  ``operating`` (time without a stop), ``processing`` (time in processing), ``cycles``
  (finished cycles). The time to the next failure is drawn once and scheduled; when its clock
  pauses the event is abandoned and the remaining budget kept. After a repair a new time is
  drawn. Preventive maintenance plans are clocks too (fixed interval and duration; on the
  operating basis a plan due during a cycle waits for its end);
* **the failure log**: one row per failure (time, resource, profile, time to repair).

Kinds fill in two hooks: :meth:`on_suspend` (leave queues, release helpers) and :meth:`on_resume`
(continue what the resource was doing).
"""

from __future__ import annotations

from typing import Callable

from twin.distributions import make_sampler
from twin.pools import crew_job
from twin.states import STOP_PRIORITY, Code

__all__ = ["Resource", "FailureClock", "PROCESSING", "SETUP", "STARVED", "BLOCKED", "FAILURE", "PM", "WORK_STOPS"]

PROCESSING, SETUP, STARVED, BLOCKED = Code.PROCESSING.value, Code.SETUP.value, Code.STARVED.value, Code.BLOCKED.value
FAILURE, PM, HELD = Code.FAILURE.value, Code.PLANNED_MAINTENANCE.value, Code.HELD.value
BREAK, OFF_SHIFT = Code.BREAK.value, Code.OFF_SHIFT.value
_PRIO = [c.value for c in STOP_PRIORITY]
#: the stops a resource that "finishes its cycle" lets the work in hand complete through
WORK_STOPS = frozenset({BREAK, OFF_SHIFT})


class FailureClock:
    """Failure clock of one profile (or one preventive maintenance plan) on one resource."""

    __slots__ = ("index", "basis", "tbf", "ttr", "budget", "since", "pending", "crew", "planned", "name")

    def __init__(self, index: int, profile=None, streams=None, entity: str = "", plan=None):
        self.index = index
        self.pending = None
        self.since = 0.0
        if plan is not None:  # a preventive maintenance plan: fixed interval, fixed duration
            self.planned = True
            self.name = plan.name
            self.crew = plan.crew
            self.basis = "cycles" if plan.cycles is not None else plan.basis
            every = float(plan.cycles if plan.cycles is not None else plan.every)
            self.tbf = lambda every=every: every
            self.ttr = lambda d=float(plan.duration): d
            self.budget = every
            return
        tbf, ttr = profile.resolved()
        self.planned = False
        self.name = profile.name
        self.crew = profile.crew
        self.basis = profile.basis
        self.tbf = make_sampler(tbf, streams.generator(entity, f"failure:{profile.name}:tbf"))
        self.ttr = make_sampler(ttr, streams.generator(entity, f"failure:{profile.name}:ttr"))
        self.budget = self.tbf()


class Resource:
    """One resource of a station (see the module docstring)."""

    __slots__ = (
        "station", "run", "clock", "rid", "name", "activity", "stops", "n_stops", "suspended", "finish_first",
        "code", "logged_part", "part", "pending", "t_end", "t_start", "remaining", "on_done",
        "clocks", "op_clocks", "proc_clocks", "cyc_clocks", "_lx", "_lk", "_fire_cb",
    )

    def __init__(self, station, name: str, failures=(), plans=(), finish_first: frozenset = frozenset()):
        run = station.run
        self.station = station
        self.run = run
        self.clock = run.clock
        self.name = name
        self.rid = run.new_resource(name, station.name)
        self.activity = STARVED
        self.stops = [0] * 9
        self.n_stops = 0
        self.suspended = False
        self.finish_first = frozenset(finish_first)
        self.code = -1
        self.logged_part = -2
        self.part = None
        self.pending = None
        self.t_end = 0.0
        self.t_start = 0.0
        self.remaining = 0.0
        self.on_done: Callable | None = None
        sl = run.state_log
        self._lx, self._lk = sl.writer()  # a state row: self._lx(self._lk(t, rid, code, part))
        self._fire_cb = self._fire
        self.clocks = [FailureClock(i, f, run.streams, name) for i, f in enumerate(failures)]
        self.clocks += [FailureClock(i, plan=p) for i, p in plans]
        self.op_clocks = [c for c in self.clocks if c.basis == "operating"]
        self.proc_clocks = [c for c in self.clocks if c.basis == "processing"]
        self.cyc_clocks = [c for c in self.clocks if c.basis == "cycles"]

    @property
    def station_name(self) -> str:
        """The station this resource belongs to (the producer port of the buffers)."""
        return self.station.name

    # ---- state-log rows ------------------------------------------------------------------------------
    def show(self) -> None:
        """Log the current code (highest stop in force, else the activity) if it or the part changed."""
        if self.suspended:
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
            self._lx(self._lk(self.clock.now, self.rid, code, pid))

    # ---- timed work ----------------------------------------------------------------------------------
    def work(self, duration: float, then: Callable[[], None], activity: int = PROCESSING) -> None:
        """Work for ``duration`` [s] in ``activity`` (processing or setup), then call ``then()``;
        stops pause it and it continues with the remaining time."""
        now = self.clock.now
        self.activity = activity
        self.t_start = now
        self.t_end = now + duration
        self.on_done = then
        self.show()
        self.pending = self.clock.after(duration, self._fire_cb)
        if activity == PROCESSING and self.proc_clocks:
            self._proc_resume(duration)

    def _fire(self, ev) -> None:
        if ev is self.pending:
            self.pending = None
            if self.activity == PROCESSING and self.proc_clocks:
                self._proc_pause()
            self.on_done()

    def working(self) -> bool:
        return (self.activity == PROCESSING or self.activity == SETUP) and (self.pending is not None or self.suspended)

    # ---- stacked stops ---------------------------------------------------------------------------------
    def _must_stop(self) -> bool:
        """A stop in force: any stop, except that stops in ``finish_first`` wait for the work in hand."""
        if not self.n_stops:
            return False
        if self.finish_first and (self.activity == PROCESSING or self.activity == SETUP) and \
                (self.pending is not None or self.suspended):
            s = self.stops
            return any(s[c] for c in _PRIO if c not in self.finish_first)
        return True

    def add_stop(self, code: int) -> None:
        self.stops[code] += 1
        self.n_stops += 1
        if not self.suspended and self._must_stop():
            self.suspended = True
            self._suspend()
        self.show()

    def remove_stop(self, code: int) -> None:
        if self.stops[code] <= 0:
            return
        self.stops[code] -= 1
        self.n_stops -= 1
        if self.suspended and not self._must_stop():
            self.suspended = False
            self._resume()
        else:
            self.show()

    def settle(self) -> bool:
        """After the work in hand ended: a stop that waited for it takes effect now. True if the
        resource is (now) stopped."""
        if self.suspended:
            return True
        if self.n_stops and self._must_stop():
            self.suspended = True
            self._suspend()
            self.show()
            return True
        return False

    def _suspend(self) -> None:
        now = self.clock.now
        self.on_suspend()
        a = self.activity
        if a == PROCESSING or a == SETUP:
            if self.pending is not None:
                self.remaining = self.t_end - now
                self.pending = None
            if a == PROCESSING and self.proc_clocks:
                self._proc_pause()
        for c in self.op_clocks:
            if c.pending is not None:
                c.budget -= now - c.since
                c.pending = None

    def _resume(self) -> None:
        for c in self.op_clocks:
            if c.budget is not None:
                self._arm(c, c.budget)
        self.on_resume()

    def continue_work(self) -> None:
        """Resume timed work with its remaining time (``on_resume`` of a working resource)."""
        self.show()
        now = self.clock.now
        self.t_end = now + self.remaining
        self.pending = self.clock.after(self.remaining, self._fire_cb if self.on_done is not None else self._fire_cb)
        if self.activity == PROCESSING and self.proc_clocks:
            self._proc_resume(self.remaining)

    # ---- hooks ---------------------------------------------------------------------------------------
    def on_suspend(self) -> None:
        """A stop took effect: leave queues, let helpers go (timed work is paused by the caller)."""

    def on_resume(self) -> None:
        """The last stop ended: continue (default: timed work with its remaining time)."""
        if self.activity == PROCESSING or self.activity == SETUP:
            self.continue_work()
        else:
            self.show()

    def on_failure(self) -> None:
        """An unplanned failure starts (e.g. a furnace scraps the batch it holds)."""

    def on_maintained(self) -> None:
        """After planned maintenance: as good as new (kinds add their own renewal, e.g. new tools)."""
        self.renew()

    # ---- failure clocks --------------------------------------------------------------------------------
    def start_clocks(self) -> None:
        """Arm the calendar clocks, and the operating ones unless a stop is in force (at time 0)."""
        for c in self.clocks:
            if c.basis == "calendar":
                self._arm(c, c.budget)
            elif c.basis == "operating" and not self.suspended:
                self._arm(c, c.budget)

    def _arm(self, c: FailureClock, delay: float) -> None:
        c.since = self.clock.now
        c.pending = self.clock.after(max(0.0, delay), lambda e, c=c: self._clock_fire(c, e))

    def _clock_fire(self, c: FailureClock, ev) -> None:
        if ev is c.pending:
            c.pending = None
            if c.planned and c.basis == "operating" and (self.activity == PROCESSING or self.activity == SETUP):
                # preventive maintenance waits for the end of the cycle in hand
                c.budget = 1
                self.cyc_clocks.append(c)
                return
            self.fail(c)

    def _proc_resume(self, d: float) -> None:
        now = self.clock.now
        for c in self.proc_clocks:
            c.since = now
            if c.budget <= d:
                self._arm(c, c.budget)

    def _proc_pause(self) -> None:
        now = self.clock.now
        for c in self.proc_clocks:
            if c.budget is not None:
                c.budget -= now - c.since
                c.since = now
            c.pending = None

    def cycle_done(self) -> bool:
        """One cycle finished: count it on the cycle clocks; True if one of them is due."""
        due = False
        for c in self.cyc_clocks:
            c.budget -= 1
            if c.budget <= 0:
                due = True
        return due

    def fail_due_cycles(self) -> None:
        """Fire the cycle clocks that are due (after :meth:`cycle_done` said so)."""
        for c in list(self.cyc_clocks):
            if c.budget is not None and c.budget <= 0:
                self.fail(c)

    def fail(self, c: FailureClock) -> None:
        run = self.run
        if c.planned:
            c.budget = None
            c.pending = None
            if c.basis == "operating" and c in self.cyc_clocks:
                self.cyc_clocks.remove(c)
            self.add_stop(PM)
            d = c.ttr()
            run.maintenance_log.add(self.clock.now, self.rid, c.name, d)
            crew_job(run, c.crew, d, lambda: self._pm_done(c))
            return
        ttr = c.ttr()
        self._log_failure(c.index, ttr)
        c.budget = None
        c.pending = None
        self.on_failure()
        self.add_stop(FAILURE)
        crew_job(run, c.crew, ttr, lambda: self._repaired(c))

    def fail_restored(self, index: int, remaining: float) -> None:
        """(twin.live.snapshot) Down at time 0 in failure profile ``index``, with ``remaining`` s
        of repair left (logged as a failure now); the clock restarts after the repair as after
        any other."""
        c = self.clocks[index]
        self._log_failure(c.index, remaining)
        c.budget = None
        c.pending = None
        self.add_stop(FAILURE)
        crew_job(self.run, c.crew, remaining, lambda: self._repaired(c))

    def fail_for(self, duration: float, profile_index: int) -> None:
        """A failure that is not from a clock (a tool breakage): logged, down for ``duration``."""
        self._log_failure(profile_index, duration)
        self.on_failure()
        self.add_stop(FAILURE)
        self.clock.after(duration, lambda ev: self.remove_stop(FAILURE))

    def _log_failure(self, profile: int, ttr: float) -> None:
        fl = self.run.failure_log
        fl.t.append(self.clock.now)
        fl.resource.append(self.rid)
        fl.profile.append(profile)
        fl.ttr.append(ttr)

    def _repaired(self, c: FailureClock) -> None:
        c.budget = c.tbf()
        if c.basis == "calendar":
            self._arm(c, c.budget)
        elif c.basis == "processing":
            c.since = self.clock.now
        self.remove_stop(FAILURE)

    def _pm_done(self, c: FailureClock) -> None:
        self.on_maintained()
        c.budget = c.tbf()
        if c.basis == "calendar":
            self._arm(c, c.budget)
        self.remove_stop(PM)

    def renew(self) -> None:
        """Failure clocks as good as new: a new time (or count) to the next failure."""
        now = self.clock.now
        for c in self.clocks:
            if c.planned or c.budget is None:  # a plan keeps its interval; a failed clock is under repair
                continue
            c.budget = c.tbf()
            c.since = now
            if c.pending is not None:
                c.pending = None
                self._arm(c, c.budget)

    def maintain(self, duration: float, crew: str | None, done: Callable[[], None] | None = None, name: str = "command") -> None:
        """Planned maintenance of this resource now: stop, wait for a crew member (if any), work
        ``duration``, renew (:meth:`on_maintained`), restart; logged under ``name``."""
        self.add_stop(PM)
        self.run.maintenance_log.add(self.clock.now, self.rid, name, duration)

        def end():
            self.on_maintained()
            if done is not None:
                done()
            self.remove_stop(PM)

        crew_job(self.run, crew, duration, end)
