"""Inspection (CMM or gauge) and simple finishing stations.

``inspection``: measures each part's features with measurement uncertainty. A feature is the
diameter deviation and/or roughness that a physics station upstream recorded on the part
(``part.data``), or a normally distributed feature the scenario describes (``feature_sd``) for
parts without physics. The measured value = true value + N(0, ``uncertainty``). Parts whose
*measured* deviation exceeds ``tolerance`` are rejected: to ``rework`` when the deviation is
oversize and reworkable (``rework_oversize``), else scrapped; a good part measured bad is a false
reject, a bad part measured good a false accept (both counted, and tagged). A sampling plan
measures every ``sample_every``-th part; unmeasured parts pass.

``wash`` and ``deburr``: the generic machine with its own kind names (a process time per part,
per-state power), so a layout and the viewer show them as such.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twin.registry import register
from twin.states import Outcome
from twin.units import Meters

from .machine import Machine, MachineSpec

GOOD, SCRAP, REWORK = Outcome.GOOD.value, Outcome.SCRAP.value, Outcome.REWORK.value


class InspectionSpec(MachineSpec):
    kind: Literal["inspection"] = "inspection"  # type: ignore[assignment]
    tolerance: Meters = Field(gt=0, description="allowed |diameter deviation|")
    uncertainty: Meters = Field(default=0.0, ge=0, description="standard uncertainty of the measurement")
    feature_sd: Meters = Field(default=0.0, ge=0, description="spread of the true deviation for parts without physics data")
    sample_every: int = Field(default=1, ge=1, description="measure every n-th part")
    rework_oversize: bool = Field(default=True, description="oversize parts go to rework, undersize are scrap")


class Inspection(Machine):
    """CMM / gauge: measurement with uncertainty, false accept / reject, good / rework / scrap."""

    kind = "inspection"

    def __init__(self, run, name, spec: InspectionSpec):
        super().__init__(run, name, spec)
        from twin.distributions import _blocks

        g = run.streams.generator(name, "measurement")
        self._n = _blocks(lambda n: g.standard_normal(n)).__next__
        self.measured = 0
        self.false_accepts = 0
        self.false_rejects = 0
        self._plain_outcome = False
        if spec.rework_oversize and self.rework_buffer is None:  # reworked parts come back to be measured again
            self.rework_buffer = run.implicit_buffer(("rework", name), f"rework:{name}")
            self.inputs.append(self.rework_buffer)

    def outcome(self, part, unit):
        s = self.spec
        self.measured += 1
        if (self.parts_all + 1) % s.sample_every:
            return GOOD
        d = part.data
        true = d[1] if isinstance(d, tuple) and len(d) >= 2 else s.feature_sd * self._n()
        meas = true + s.uncertainty * self._n()
        bad_true = abs(true) > s.tolerance
        bad_meas = abs(meas) > s.tolerance
        if bad_meas and not bad_true:
            self.false_rejects += 1
        if bad_true and not bad_meas:
            self.false_accepts += 1
        if not bad_meas:
            return GOOD
        if s.rework_oversize and meas > 0 and part.reworks == 0:
            part.data = None  # reworked parts are measured again as if they met the nominal
            return REWORK
        return SCRAP

    def tags(self):
        t = super().tags()
        t.update({"false_accepts": self.false_accepts, "false_rejects": self.false_rejects})
        return t


class WashSpec(MachineSpec):
    kind: Literal["wash"] = "wash"  # type: ignore[assignment]


class DeburrSpec(MachineSpec):
    kind: Literal["deburr"] = "deburr"  # type: ignore[assignment]


register("inspection", InspectionSpec, Inspection)
register("wash", WashSpec, type("Wash", (Machine,), {"kind": "wash", "__doc__": "Parts washer (process-time model)."}))
register("deburr", DeburrSpec, type("Deburr", (Machine,), {"kind": "deburr", "__doc__": "Deburring station (process-time model)."}))
