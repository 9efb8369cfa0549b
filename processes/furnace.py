"""Batch heat-treatment furnace.

A batch forms from the furnace's input: it starts when ``batch_size`` parts are waiting (full
load) or ``max_wait`` after the first part of the batch arrived (timeout), whichever comes
first. Heating time = time until the *core* of the load reaches ``set_temperature - core_margin``
(``twin.kernels.time_to_core_temperature``: implicit 1-D conduction in a cylinder of the part's
``radius`` with convection ``h`` to the furnace atmosphere), then ``soak`` at temperature, then
``quench``. Furnace power: ``heating_power`` while heating, ``holding_power`` while soaking (the
per-state ``power`` of the scenario applies as usual when idle or off). Quality: the
Hollomon-Jaffe tempering parameter P = T (C + log10 t) (T in K, t in hours; C = 20 for carbon
steels) of the soak must lie in ``parameter_window``; a batch outside it is scrapped.
The furnace is one resource in the state log (starved while the batch forms, processing,
blocked while finished parts cannot leave, and the calendar's stops). Failure profiles run on
calendar time (a furnace trips whatever it is doing); a failure stops the furnace for the
repair (after a crew member arrives, if the profile names a crew) and, with
``failure_scraps_batch`` (default), a batch in the furnace when it trips is scrapped: its heat
treatment was interrupted. The batch then finishes its remaining time after the repair.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

import twin.kernels as K
from twin.pools import crew_job
from twin.registry import register
from twin.station import Station
from twin.states import STOP_PRIORITY, Code, Outcome
from twin.units import Kelvin, Meters, Seconds, Watts

from .machine import MachineSpec

PROCESSING, STARVED, BLOCKED = Code.PROCESSING.value, Code.STARVED.value, Code.BLOCKED.value
FAILURE = Code.FAILURE.value
_PRIO = [c.value for c in STOP_PRIORITY]


class FurnaceSpec(MachineSpec):
    kind: Literal["furnace"] = "furnace"  # type: ignore[assignment]
    batch_size: int = Field(default=10, ge=1)
    max_wait: Seconds = Field(default=3600.0, gt=0, description="start a partial batch this long after its first part")
    set_temperature: Kelvin = Field(description="furnace atmosphere, e.g. '860 degC'")
    core_margin: float = Field(default=10.0, gt=0, description="heating ends when the core is this close to the set point [K]")
    ambient: Kelvin = Field(default=293.15)
    radius: Meters = Field(gt=0, description="part radius (long cylinder) for the conduction model")
    material: str = "42CrMo4"
    h: float = Field(default=150.0, gt=0, description="heat transfer coefficient in the furnace [W/(m2 K)]")
    soak: Seconds = Field(default=1800.0, ge=0)
    quench: Seconds = Field(default=300.0, ge=0)
    heating_power: Watts = Field(default=60e3, ge=0)
    holding_power: Watts = Field(default=20e3, ge=0)
    parameter_window: tuple[float, float] | None = Field(default=None, description="allowed Hollomon-Jaffe parameter (C = 20)")
    failure_scraps_batch: bool = Field(default=True, description="a failure during a cycle scraps the batch in the furnace")

    def cross_check(self, name, sc):
        errs = []
        if self.material not in K.MATERIALS:
            errs.append((f"stations.{name}.material", f"unknown material {self.material!r}"))
        for i, f in enumerate(self.failures):
            if f.basis != "calendar":
                errs.append((f"stations.{name}.failures[{i}].basis", "furnace failures run on calendar time: use basis: calendar"))
        for key in ("operator", "loader"):
            if getattr(self, key) is not None:
                errs.append((f"stations.{name}.{key}", f"not supported on furnaces"))
        if self.maintenance:
            errs.append((f"stations.{name}.maintenance", "not supported on furnaces (use calendar.maintenance windows)"))
        return errs


class Furnace(Station):
    """Batch furnace runtime (one resource)."""

    kind = "furnace"
    accepts = frozenset({"hold", "stop", "start", "request_maintenance", "release"})

    def __init__(self, run, name, spec: FurnaceSpec):
        self.run = run
        self.name = name
        self.spec = spec
        self.env = run.env
        self.inputs: list = []
        self.rid = run.new_resource(name, name)
        self.power_by_code = spec.power.by_code()
        m = K.get_material(spec.material)
        self.heating_time = K.time_to_core_temperature(K.heat.CYLINDER, spec.radius, m.k, m.rho, m.cp, spec.h, spec.ambient,
                                                       spec.set_temperature, spec.set_temperature - spec.core_margin, 31)
        self.cycle = self.heating_time + spec.soak + spec.quench
        self.hj = spec.set_temperature * (20.0 + math.log10(max(spec.soak, 1.0) / 3600.0))
        self.batch_ok = spec.parameter_window is None or spec.parameter_window[0] <= self.hj <= spec.parameter_window[1]
        self.pri = {}
        for p, _pname, i, _step in run.scenario.visits(name):
            self.pri[(p, i)] = self.cycle / spec.batch_size
        self.batch: list = []
        self.tripped = False
        self.batch_t0 = 0.0
        self.out: list = []
        self.part = None  # the part offered to a blocked destination
        self.dest = None
        self.activity = STARVED
        self.stops = [0] * 9
        self.n_stops = 0
        self.code = -1
        self.pending = None
        self.remaining = 0.0
        self.t_end = 0.0
        self.t_start = 0.0
        self.timer = None
        self.parts_all = self.parts_good = self.parts_bad = 0
        self.batches = 0
        self.extra_energy_J = 0.0
        sl = run.state_log
        self._log = (sl.t.append, sl.resource.append, sl.code.append, sl.part.append)
        self.units = [self]

    # ---- station interface ---------------------------------------------------------------------
    def add_input(self, buf) -> None:
        if buf not in self.inputs:
            self.inputs.append(buf)

    def resource_count(self) -> int:
        return 1

    def ideal_cycle_times(self) -> dict:
        return dict(self.pri)

    def power_by_state(self) -> list[float]:
        return list(self.power_by_code)

    def process_energy_J(self) -> float:
        return self.extra_energy_J

    def queued_parts(self) -> list:
        return [p for b in self.inputs for p in b.queued()]

    def start_maintenance(self, duration: float, crew: str | None = None) -> None:
        self.set_stop(Code.PLANNED_MAINTENANCE.value, +1)
        crew_job(self.run, crew, duration, lambda: self.set_stop(Code.PLANNED_MAINTENANCE.value, -1))

    def start(self) -> None:
        from twin.distributions import make_sampler

        self._clocks = []
        for i, f in enumerate(self.spec.failures):
            tbf, ttr = f.resolved()
            g = self.run.streams
            c = (i, f, make_sampler(tbf, g.generator(self.name, f"failure:{f.name}:tbf")),
                 make_sampler(ttr, g.generator(self.name, f"failure:{f.name}:ttr")))
            self._clocks.append(c)
            self.env.after(c[2](), lambda ev, c=c: self._fail(c))
        self._show()
        self._fill()

    def _fail(self, c) -> None:
        i, prof, tbf, ttr = c
        run = self.run
        d = ttr()
        fl = run.failure_log
        fl.t.append(self.env.now)
        fl.resource.append(self.rid)
        fl.profile.append(i)
        fl.ttr.append(d)
        if self.activity == PROCESSING and self.spec.failure_scraps_batch:
            self.tripped = True
        self.set_stop(FAILURE, +1)

        def repaired():
            self.set_stop(FAILURE, -1)
            self.env.after(tbf(), lambda ev: self._fail(c))

        crew_job(run, prof.crew, d, repaired)

    def _show(self) -> None:
        code = self.activity
        if self.n_stops:
            code = next(c for c in _PRIO if self.stops[c])
        if code != self.code:
            self.code = code
            t, r, c, p = self._log
            t(self.env.now)
            r(self.rid)
            c(code)
            p(-1)

    # ---- batch formation ------------------------------------------------------------------------
    def _fill(self) -> None:
        while len(self.batch) < self.spec.batch_size:
            part = None
            for b in self.inputs:
                part = b.get()
                if part is not None:
                    break
            if part is None:
                break
            self._add(part)
        if len(self.batch) >= self.spec.batch_size:
            self._start_batch()
        else:
            for b in self.inputs:
                b.wait(self)

    def _add(self, part) -> None:
        self.batch.append(part)
        if len(self.batch) == 1:
            self.batch_t0 = self.env.now
            self.timer = self.env.after(self.spec.max_wait, self._timeout)

    def receive(self, part) -> None:
        for b in self.inputs:
            b.unwait(self)
        self._add(part)
        self._fill()

    def _timeout(self, ev) -> None:
        if ev is self.timer and self.batch and self.activity == STARVED and not self.n_stops:
            for b in self.inputs:
                b.unwait(self)
            self._start_batch()

    def _start_batch(self) -> None:
        self.timer = None
        self.tripped = False
        self.activity = PROCESSING
        self.t_start = self.env.now
        self._show()
        self._schedule(self.cycle)

    def _schedule(self, d: float) -> None:
        self.t_end = self.env.now + d
        self.pending = self.env.after(d, self._done)

    def _done(self, ev) -> None:
        if ev is not self.pending:
            return
        self.pending = None
        s = self.spec
        self.batches += 1
        self.extra_energy_J += s.heating_power * self.heating_time + s.holding_power * s.soak
        ol = self.run.ops_log
        now = self.env.now
        out = Outcome.GOOD.value if (self.batch_ok and not self.tripped) else Outcome.SCRAP.value
        for part in self.batch:
            ol.part.append(part.id)
            ol.resource.append(self.rid)
            ol.step.append(part.step)
            ol.t_start.append(self.t_start)
            ol.t_end.append(now)
            ol.outcome.append(out)
            self.parts_all += 1
            if out == Outcome.GOOD.value:
                self.parts_good += 1
                part.step += 1
                self.out.append(part)
            else:
                self.parts_bad += 1
                self.run.scrap(part)
        self.batch = []
        self._unload()

    def _unload(self) -> None:
        while self.out:
            part = self.out[0]
            dest = self.run.destination(part, self.name)
            self.part = part
            if not dest.put(part, self):
                self.activity = BLOCKED
                self.dest = dest
                self._show()
                return
            self.out.pop(0)
        self.part = None
        self.dest = None
        self.activity = STARVED
        self._show()
        self._fill()

    def handed_over(self) -> None:
        self.out.pop(0)
        self.part = None
        self._unload()

    # ---- calendar and commands -----------------------------------------------------------------------
    def set_stop(self, code: int, delta: int) -> None:
        was = self.n_stops
        if delta > 0:
            self.stops[code] += 1
            self.n_stops += 1
        elif self.stops[code] > 0:
            self.stops[code] -= 1
            self.n_stops -= 1
        if was == 0 and self.n_stops > 0:
            if self.activity == PROCESSING and self.pending is not None:
                self.remaining = self.t_end - self.env.now
                self.pending = None
            elif self.activity == STARVED:
                for b in self.inputs:
                    b.unwait(self)
            elif self.activity == BLOCKED and self.dest is not None:
                self.dest.unblock_wait(self)
        elif was > 0 and self.n_stops == 0:
            self._show()
            if self.activity == PROCESSING:
                self._schedule(self.remaining)
            elif self.activity == BLOCKED:
                self._unload()
            elif self.batch and self.env.now - self.batch_t0 >= self.spec.max_wait:
                self._start_batch()  # the batch's wait ran out during the stop
            else:
                self._fill()
            return
        self._show()

    def tags(self) -> dict:
        from twin.states import state_tags

        return {**state_tags(self.code),
                "units_busy": int(self.code == PROCESSING), "part_count_all": self.parts_all, "part_count_good": self.parts_good,
                "part_count_bad": self.parts_bad, "power_W": self.power_by_code[self.code],
                "alarm": "FAULT" if self.code == FAILURE else "NORMAL", "queue": sum(len(b.queued()) for b in self.inputs),
                "batch": len(self.batch),
                "temperature_set_K": self.spec.set_temperature}


register("furnace", FurnaceSpec, Furnace)
