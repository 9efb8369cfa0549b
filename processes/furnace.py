"""Batch heat-treatment furnace.

A batch forms from the furnace's input: it starts when ``batch_size`` parts are waiting (full
load) or ``max_wait`` after the first part of the batch arrived (timeout), whichever comes
first. Heating time = time until the *core* of the load reaches ``set_temperature - core_margin``
(``twin.kernels.time_to_core_temperature``: implicit 1-D conduction in a cylinder of the part's
``radius`` with convection ``h`` to the furnace atmosphere, from ``ambient``), then ``soak`` at
temperature, then ``quench``. Furnace power: ``heating_power`` while heating, ``holding_power``
while soaking (the per-state ``power`` of the scenario applies as usual). Quality: the
Hollomon-Jaffe tempering parameter P = T (C + log10 t) (T in K, t in hours; C = 20 for carbon
steels) of the soak must lie in ``parameter_window``; a batch outside it is scrapped.

The furnace is one resource in the state log (:class:`~twin.processes.resource.Resource`:
starved while the batch forms, processing, blocked while finished parts cannot leave, and its
stops). A furnace runs unattended: a batch in the furnace finishes its cycle through breaks and
shift ends (``shift_end: finish``, the default; ``pause`` holds the cycle like an attended
machine), and no new batch starts while the furnace is off shift. Failures count on any of the
four bases (``cycles`` counts batches); a failure stops the furnace for the repair and, with
``failure_scraps_batch`` (default), a batch in the furnace when it trips is scrapped: its heat
treatment was interrupted. The batch then finishes its remaining time after the repair.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, model_validator

import twin.kernels as K
from twin.registry import register
from twin.specs import StationSpec, is_set
from twin.states import Code, Outcome, state_tags
from twin.station import RoutedStation
from twin.units import Kelvin, Meters, Seconds, Watts

from .resource import BLOCKED, FAILURE, PM, PROCESSING, STARVED, WORK_STOPS, Resource

GOOD, SCRAP = Outcome.GOOD.value, Outcome.SCRAP.value


class FurnaceSpec(StationSpec):
    """``kind: furnace``: a batch heat-treatment furnace (one resource)."""

    kind: Literal["furnace"] = "furnace"
    batch_size: int = Field(default=10, ge=1, description="parts per full load")
    max_wait: Seconds = Field(default=3600.0, gt=0, description="start a partial batch this long after its first part")
    set_temperature: Kelvin = Field(description="furnace atmosphere, e.g. '860 degC'")
    core_margin: float = Field(default=10.0, gt=0, description="heating ends when the core is this close to the set point [K]")
    ambient: Kelvin = Field(default=293.15, description="temperature of the parts when they are loaded")
    radius: Meters = Field(gt=0, description="part radius (long cylinder) for the conduction model")
    material: str = Field(default="42CrMo4", description="material of the parts (twin.kernels.MATERIALS)")
    h: float = Field(default=150.0, gt=0, description="heat transfer coefficient in the furnace [W/(m2 K)]")
    soak: Seconds = Field(default=1800.0, ge=0)
    quench: Seconds = Field(default=300.0, ge=0)
    heating_power: Watts = Field(default=60e3, ge=0)
    holding_power: Watts = Field(default=20e3, ge=0)
    parameter_window: tuple[float, float] | None = Field(default=None, description="allowed Hollomon-Jaffe parameter (C = 20)")
    failure_scraps_batch: bool = Field(default=True, description="a failure during a cycle scraps the batch in the furnace")
    shift_end: Literal["finish", "pause"] = Field(
        default="finish", description="at a break or shift end: finish the batch in the furnace (unattended) or pause it")

    TAGS: ClassVar[tuple[str, ...]] = ("item_state", "operation_mode", "reason", "execution", "units_busy", "part_count_all",
                                       "part_count_good", "part_count_bad", "power_W", "alarm", "queue", "batch",
                                       "temperature_set_K")

    @model_validator(mode="after")
    def _window(self):
        w = self.parameter_window
        if w is not None and not w[0] < w[1]:
            raise ValueError(f"parameter_window must be [low, high] with low < high, got {list(w)}")
        if self.set_temperature - self.core_margin <= self.ambient:
            raise ValueError("set_temperature - core_margin must lie above ambient (the load must heat up)")
        return self

    SETS_UP: ClassVar[bool] = False

    def cross_check(self, name, sc):
        errs = super().cross_check(name, sc)
        if self.material not in K.MATERIALS:
            errs.append((f"stations.{name}.material", f"unknown material {self.material!r} (known: {', '.join(sorted(K.MATERIALS))})"))
        if not sc.visits(name):
            errs.append((f"stations.{name}", "no product's routing visits this furnace"))
        if is_set(self, "failure_scraps_batch") and not self.failures:
            errs.append((f"stations.{name}.failure_scraps_batch", "is not used: the furnace has no failures"))
        cal = sc.calendar_of(name)
        if is_set(self, "shift_end") and (cal is None or not (cal.shifts or cal.breaks or cal.closures())):
            errs.append((f"stations.{name}.shift_end", "is not used: the furnace keeps no shifts or breaks"))
        return errs


class _FurnaceResource(Resource):
    __slots__ = ("furnace",)

    def __init__(self, furnace: "Furnace", spec: FurnaceSpec):
        self.furnace = furnace
        super().__init__(furnace, furnace.name, spec.failures, (), WORK_STOPS if spec.shift_end == "finish" else frozenset())

    def on_suspend(self) -> None:
        f = self.furnace
        if self.activity == STARVED:
            for b in f.inputs:
                b.unwait(f)
        elif self.activity == BLOCKED and f.dest is not None:
            f.dest.unblock_wait(f)

    def on_resume(self) -> None:
        f = self.furnace
        a = self.activity
        if a == PROCESSING:
            self.continue_work()
        elif a == BLOCKED:
            self.show()
            f._unload()
        elif f.batch and self.clock.now - f.batch_t0 >= f.spec.max_wait:
            f._start_batch()  # the batch's wait ran out during the stop
        else:
            self.show()
            f._fill()

    def on_failure(self) -> None:
        if self.activity == PROCESSING and self.furnace.spec.failure_scraps_batch:
            self.furnace.tripped = True


class Furnace(RoutedStation):
    """Batch furnace runtime (one resource)."""

    kind = "furnace"
    accepts = frozenset({"hold", "stop", "start", "request_maintenance", "release"})

    def __init__(self, run, name, spec: FurnaceSpec):
        self.run = run
        self.name = self.station_name = name
        self.spec = spec
        self.clock = run.clock
        self.inputs: list = []
        self.power_by_code = spec.power.by_code()
        m = K.get_material(spec.material)
        self.heating_time = K.time_to_core_temperature(K.heat.CYLINDER, spec.radius, m.k, m.rho, m.cp, spec.h, spec.ambient,
                                                       spec.set_temperature, spec.set_temperature - spec.core_margin, 31)
        self.cycle = self.heating_time + spec.soak + spec.quench
        self.hj = spec.set_temperature * (20.0 + math.log10(max(spec.soak, 1.0) / 3600.0))
        self.batch_ok = spec.parameter_window is None or spec.parameter_window[0] <= self.hj <= spec.parameter_window[1]
        self.pri = {(p, i): self.cycle / spec.batch_size for p, _pname, i, _step in run.scenario.visits(name)}
        self.batch: list = []
        self.tripped = False
        self.batch_t0 = 0.0
        self.out: list = []
        self.part = None  # the part offered to a blocked destination (the producer port of the buffers)
        self.dest = None
        self.timer = None
        self.parts_all = self.parts_good = self.parts_bad = 0
        self.batches = 0
        self.extra_energy_J = 0.0
        self.res = _FurnaceResource(self, spec)

    # ---- the station contract ------------------------------------------------------------------
    def resource_count(self) -> int:
        return 1

    def set_stop(self, code: int, delta: int) -> None:
        if delta > 0:
            self.res.add_stop(code)
        else:
            self.res.remove_stop(code)

    def start_maintenance(self, duration: float, crew: str | None = None, name: str = "command") -> None:
        self.res.maintain(duration, crew, name=name)

    def start(self) -> None:
        self.res.start_clocks()
        self.res.show()
        if not self.res.suspended:
            self._fill()

    # ---- batch formation ------------------------------------------------------------------------
    def _fill(self) -> None:
        r = self.res
        if r.n_stops:  # a stop that let the batch in hand finish takes effect now
            r.activity = STARVED
            if r.settle():
                return
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
            r.activity = STARVED
            r.show()
            for b in self.inputs:
                b.wait(self)

    def _add(self, part) -> None:
        self.batch.append(part)
        if len(self.batch) == 1:
            self.batch_t0 = self.clock.now
            self.timer = self.clock.after(self.spec.max_wait, self._timeout)

    def receive(self, part) -> None:
        for b in self.inputs:
            b.unwait(self)
        self._add(part)
        self._fill()

    def _timeout(self, ev) -> None:
        r = self.res
        if ev is self.timer and self.batch and r.activity == STARVED and not r.suspended:
            for b in self.inputs:
                b.unwait(self)
            self._start_batch()

    def _start_batch(self) -> None:
        self.timer = None
        self.tripped = False
        self.res.work(self.cycle, self._done)

    def _done(self) -> None:
        s = self.spec
        self.batches += 1
        self.extra_energy_J += s.heating_power * self.heating_time + s.holding_power * s.soak
        ol = self.run.ops_log
        now = self.clock.now
        out = GOOD if (self.batch_ok and not self.tripped) else SCRAP
        for part in self.batch:
            ol.part.append(part.id)
            ol.resource.append(self.res.rid)
            ol.step.append(part.step)
            ol.t_start.append(self.res.t_start)
            ol.t_end.append(now)
            ol.outcome.append(out)
            self.parts_all += 1
            if out == GOOD:
                self.parts_good += 1
                part.step += 1
                self.out.append(part)
            else:
                self.parts_bad += 1
                self.run.scrap(part)
        self.batch = []
        if self.res.cycle_done():
            self.res.fail_due_cycles()
        self._unload()

    def _unload(self) -> None:
        r = self.res
        while self.out:
            part = self.out[0]
            dest = self.run.destination(part, self.name)
            self.part = part
            if not dest.put(part, self):
                r.activity = BLOCKED
                self.dest = dest
                if not (r.n_stops and r.settle()):
                    r.show()
                return
            self.out.pop(0)
        self.part = None
        self.dest = None
        self._fill()

    def handed_over(self) -> None:
        self.out.pop(0)
        self.part = None
        self._unload()

    # ---- tags -----------------------------------------------------------------------------------
    def tags(self) -> dict:
        code = self.res.code
        return {**state_tags(code),
                "units_busy": int(code == PROCESSING), "part_count_all": self.parts_all, "part_count_good": self.parts_good,
                "part_count_bad": self.parts_bad, "power_W": self.power_by_code[code],
                "alarm": "FAULT" if code == FAILURE else "NORMAL", "queue": sum(len(b.queued()) for b in self.inputs),
                "batch": len(self.batch), "temperature_set_K": self.spec.set_temperature}


register("furnace", FurnaceSpec, Furnace)
