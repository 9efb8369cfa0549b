"""Press (stamping/blanking) and robotic arc-welding stations driven by the kernels.

``press``: a routing step lists its strokes, e.g.
``operations: [{type: blanking, material: DC04, thickness: 2 mm, perimeter: 480 mm}]``. Required
force = shear strength x thickness x perimeter (``twin.kernels.forming``); a force above the
press's usable capacity (``capacity`` x ``load_margin``) is a scenario error naming the part and
the press. Cycle = one stroke per operation at ``stroke_rate`` + load/unload. The die wears: the
burr height grows linearly with strokes (``burr_growth`` per stroke from ``burr_new``); when it
reaches ``burr_max`` the die is changed (``die_change`` time, counted as part of that cycle) and
parts made above ``burr_scrap`` are scrapped. Energy per stroke = force x ``stroke_work_length``.

``weld_cell``: a step lists its seams, e.g. ``operations: [{type: weld, process: MAG, voltage: 24,
current: 220, travel_speed: 6 mm/s, length: 300 mm, thickness: 8 mm, preheat: 20}]``. Arc time =
length / speed; heat input Q = k U I / v (EN 1011-1 factor of the process); cooling time t8/5
(EN 1011-2, the thin- or thick-plate formula); a seam outside ``t85_window`` scraps the part.
Arc energy U I x arc time / ``efficiency`` is added to the station's energy.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import twin.kernels as K
from twin.registry import register, register_operation
from twin.specs import SpecModel
from twin.states import Outcome
from twin.units import Meters, MetersPerSecond, Newton, Seconds

from .machine import Machine, MachineSpec

SCRAP = Outcome.SCRAP.value
_M = SpecModel


class Stroke(_M):
    """One press stroke cutting a contour (blanking or punching)."""

    type: Literal["blanking", "punching"]
    material: str
    thickness: Meters = Field(gt=0)
    perimeter: Meters = Field(gt=0)


class Seam(_M):
    """One welded seam."""

    type: Literal["weld"]
    process: Literal["SAW", "MMA", "MAG", "MIG", "FCAW", "TIG", "plasma"] = "MAG"
    voltage: float = Field(gt=0)
    current: float = Field(gt=0)
    travel_speed: MetersPerSecond = Field(gt=0)
    length: Meters = Field(gt=0)
    thickness: Meters = Field(gt=0)
    preheat: float = Field(default=20.0, lt=500, description="degC")


register_operation(Stroke)
register_operation(Seam)


def _check_ops(spec, name: str, sc, accept: tuple[str, ...], extra=None) -> list[tuple[str, str]]:
    """Every operation on the station is of a type it does (``accept``); ``extra(op, path, product)``
    adds kind-specific checks."""
    errs = []
    for _p, pname, i, step in sc.visits(name):
        for j, op in enumerate(step.operations or ()):
            path = f"products.{pname}.routing[{i}].operations[{j}]"
            if op.type not in accept:
                errs.append((f"{path}.type", f"station {name!r} ({spec.kind}) does {', '.join(accept)}, not {op.type}"))
            elif extra is not None:
                errs.extend(extra(op, path, pname))
    return errs


class PressSpec(MachineSpec):
    kind: Literal["press"] = "press"  # type: ignore[assignment]
    capacity_force: Newton = Field(alias="force_capacity", gt=0, description="nominal press force, e.g. '2500 kN'")
    load_margin: float = Field(default=0.8, gt=0, le=1)
    stroke_rate: float = Field(default=30.0, gt=0, description="strokes per minute")
    load_unload: Seconds = Field(default=4.0, ge=0)
    burr_new: Meters = Field(default=0.02e-3, ge=0)
    burr_growth: Meters = Field(default=2e-9, ge=0, description="burr height added per stroke")
    burr_scrap: Meters = Field(default=0.12e-3, gt=0)
    burr_max: Meters = Field(default=0.1e-3, gt=0, description="die change when the burr reaches this")
    die_change: Seconds = Field(default=20 * 60.0, ge=0)
    stroke_work_length: Meters = Field(default=0.002, gt=0, description="ram travel under load per stroke")

    def computes(self, step) -> bool:
        return step.operations is not None

    def features(self, sc, step) -> dict[str, str]:
        return {"burr": "burr height of the stamped part [m]"} if step.operations else {}

    def cross_check(self, name, sc):
        def force(o, path, pname):
            if o.material not in K.MATERIALS:
                return [(f"{path}.material", f"unknown material {o.material!r}")]
            F = K.blanking_force(o.perimeter, o.thickness, K.get_material(o.material).shear)
            if not K.press_tonnage_ok(F, self.capacity_force, self.load_margin):
                return [(path, f"part {pname!r} needs {F / 1e3:.0f} kN, above press {name!r}'s usable "
                               f"{self.load_margin * self.capacity_force / 1e3:.0f} kN ({self.capacity_force / 1e3:.0f} kN x {self.load_margin})")]
            return []

        return super().cross_check(name, sc) + _check_ops(self, name, sc, ("blanking", "punching"), force)


class Press(Machine):
    """Stamping / blanking press: force check, stroke-rate cycle, die wear raising burrs, die changes."""

    kind = "press"

    def __init__(self, run, name, spec: PressSpec):
        sc = run.scenario
        self.strokes = {}
        for p, pname, i, step in sc.visits(name):
            if step.operations:
                ops = step.operations
                forces = [K.blanking_force(o.perimeter, o.thickness, K.get_material(o.material).shear) for o in ops]
                self.strokes[(p, i)] = forces
        super().__init__(run, name, spec)
        for p, _pname, i, step in sc.visits(name):  # PRI: the given ideal cycle time, else the nominal cycle
            if (p, i) in self.strokes:
                given = step.ideal_cycle_time or spec.ideal_cycle_time
                self.pri[(p, i)] = float(given) if given is not None else spec.load_unload + len(self.strokes[(p, i)]) * 60.0 / spec.stroke_rate
        self.stroke_count = 0
        self.die_changes = 0

    def process_duration(self, part, unit):
        forces = self.strokes.get((part.product, part.step))
        if forces is None:
            return super().process_duration(part, unit)
        s = self.spec
        t = s.load_unload + len(forces) * 60.0 / s.stroke_rate
        burr = s.burr_new + s.burr_growth * self.stroke_count
        self.stroke_count += len(forces)
        self.extra_energy_J += sum(forces) * s.stroke_work_length
        if burr >= s.burr_max:
            self.stroke_count = 0
            self.die_changes += 1
            t += s.die_change
        self.run.record_features(part, self.name, {"burr": burr})
        return t / self.feed_override

    def outcome(self, part, unit):
        rec = part.feature_record(part.step) if (part.product, part.step) in self.strokes else None
        if rec is not None and rec["burr"] > self.spec.burr_scrap:
            return SCRAP
        return super().outcome(part, unit)

    def tags(self):
        t = super().tags()
        s = self.spec
        t.update({"strokes": self.stroke_count, "die_changes": self.die_changes,
                  "burr_height_m": s.burr_new + s.burr_growth * self.stroke_count})
        return t


class WeldCellSpec(MachineSpec):
    kind: Literal["weld_cell"] = "weld_cell"  # type: ignore[assignment]
    load_unload: Seconds = Field(default=30.0, ge=0)
    move_between_seams: Seconds = Field(default=5.0, ge=0)
    efficiency: float = Field(default=0.85, gt=0, le=1, description="power source efficiency")
    t85_window: tuple[float, float] = Field(default=(5.0, 25.0), description="allowed cooling time 800->500 degC [s]")

    def computes(self, step) -> bool:
        return step.operations is not None

    def features(self, sc, step) -> dict[str, str]:
        if not step.operations:
            return {}
        return {"t85_min": "shortest cooling time 800 -> 500 degC of the part's seams [s]",
                "t85_max": "longest cooling time 800 -> 500 degC [s]", "heat_input_max": "largest heat input [J/m]"}

    def cross_check(self, name, sc):
        return super().cross_check(name, sc) + _check_ops(self, name, sc, ("weld",))


class WeldCell(Machine):
    """Robotic arc-welding cell: arc time, heat input and t8/5 per seam from the kernels."""

    kind = "weld_cell"

    def __init__(self, run, name, spec: WeldCellSpec):
        sc = run.scenario
        self.seams = {}
        for p, pname, i, step in sc.visits(name):
            if step.operations:
                rows = []
                for o in step.operations:
                    Q = K.heat_input(o.voltage, o.current, o.travel_speed, K.EN1011_PROCESS_FACTORS[o.process])
                    rows.append((o.length / o.travel_speed, K.arc_power(o.voltage, o.current), Q,
                                 K.t85(Q, o.thickness, o.preheat)))
                self.seams[(p, i)] = rows
        super().__init__(run, name, spec)
        for p, _pname, i, step in sc.visits(name):  # PRI: the given ideal cycle time, else the nominal cycle
            if (p, i) in self.seams:
                rows = self.seams[(p, i)]
                given = step.ideal_cycle_time or spec.ideal_cycle_time
                self.pri[(p, i)] = (float(given) if given is not None
                                    else spec.load_unload + sum(r[0] for r in rows) + spec.move_between_seams * len(rows))
        self.arc_time = 0.0

    def process_duration(self, part, unit):
        rows = self.seams.get((part.product, part.step))
        if rows is None:
            return super().process_duration(part, unit)
        s = self.spec
        arc = sum(r[0] for r in rows)
        self.arc_time += arc
        self.extra_energy_J += sum(r[0] * r[1] for r in rows) / s.efficiency
        self.run.record_features(part, self.name, {"t85_min": min(r[3] for r in rows), "t85_max": max(r[3] for r in rows),
                                                   "heat_input_max": max(r[2] for r in rows)})
        return (s.load_unload + arc + s.move_between_seams * len(rows)) / self.feed_override

    def outcome(self, part, unit):
        rec = part.feature_record(part.step) if (part.product, part.step) in self.seams else None
        lo, hi = self.spec.t85_window
        if rec is not None and not (lo <= rec["t85_min"] and rec["t85_max"] <= hi):
            return SCRAP
        return super().outcome(part, unit)


register("press", PressSpec, Press)
register("weld_cell", WeldCellSpec, WeldCell)
