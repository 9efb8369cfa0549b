"""Inspection (CMM or gauge) and simple finishing stations.

``inspection``: measures one feature of each part with measurement uncertainty. The feature is
named, not guessed: ``measures: L1.diameter`` reads what station (or group) ``L1`` recorded on
the part at its routing step (``twin.processes.machining`` records ``diameter``, ``ra``,
``vb``...; ``press`` records ``burr``; see each kind's ``features``), whatever other stations
did to the part in between. Without ``measures`` the true value is drawn from a normal
distribution with ``feature_sd`` around the nominal (parts without physics). The measured value
= true value + N(0, ``uncertainty``). Parts whose *measured* value lies outside ``tolerance``
(|value| <= tolerance; a deviation from nominal, or a roughness below its limit) are rejected: to
``rework`` when the value is over the limit and reworkable (``rework_oversize``), else scrapped;
a reworked part comes back to be measured again, its feature now at nominal. A good part measured
bad is a false reject, a bad part measured good a false accept (both counted and tagged). A
sampling plan measures every ``sample_every``-th part; unmeasured parts pass. Every measurement
is in the result's ``features`` table (``measured``, ``true``).

``wash`` and ``deburr``: the generic machine with its own kind names (a process time per part,
per-state power), so a layout and the viewer show them as such.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from twin.registry import register
from twin.states import Outcome
from twin.units import Meters

from .machine import Machine, MachineSpec

GOOD, SCRAP, REWORK = Outcome.GOOD.value, Outcome.SCRAP.value, Outcome.REWORK.value


class InspectionSpec(MachineSpec):
    """``kind: inspection``: a CMM or gauge measuring one feature of every (n-th) part."""

    kind: Literal["inspection"] = "inspection"  # type: ignore[assignment]
    measures: str | None = Field(default=None, description="STATION.FEATURE recorded upstream, e.g. 'L1.diameter' "
                                                           "(a group name may stand for the station)")
    tolerance: Meters = Field(gt=0, description="allowed |value| (a deviation from nominal, or a roughness limit)")
    uncertainty: Meters = Field(default=0.0, ge=0, description="standard uncertainty of the measurement")
    feature_sd: Meters | None = Field(default=None, gt=0, description="without measures: spread of the true deviation")
    sample_every: int = Field(default=1, ge=1, description="measure every n-th part")
    rework_oversize: bool = Field(default=True, description="parts over the limit go to rework (once), the rest is scrap")

    TAGS: ClassVar[tuple[str, ...]] = MachineSpec.TAGS + ("false_accepts", "false_rejects")

    @field_validator("measures")
    @classmethod
    def _measures(cls, v):
        if v is not None and (v.count(".") != 1 or not all(v.split("."))):
            raise ValueError(f"expected STATION.FEATURE, e.g. 'L1.diameter', got {v!r}")
        return v

    @model_validator(mode="after")
    def _source(self):
        if self.measures is not None and self.feature_sd is not None:
            raise ValueError("give measures (a feature recorded upstream) or feature_sd (a drawn deviation), not both")
        return self

    def features(self, sc, step) -> dict[str, str]:
        return {"measured": "measured value of the inspected feature [m]", "true": "its true value [m]"}

    def cross_check(self, name: str, sc) -> list[tuple[str, str]]:
        errs = super().cross_check(name, sc)
        for p, pname, i, _step in sc.visits(name):
            found = measured_step(sc, pname, i, self.measures)
            if isinstance(found, str):
                errs.append((f"stations.{name}.measures", f"product {pname!r}: {found}"))
        if self.measures is None and self.feature_sd is None and self.uncertainty == 0:
            errs.append((f"stations.{name}.tolerance", "nothing to measure: give measures (a feature recorded upstream), "
                                                       "feature_sd or an uncertainty"))
        return errs


def measured_step(sc, product: str, at: int, measures: str | None):
    """The routing step (index) whose record ``measures`` names, for ``product`` inspected at
    step ``at``; a message when there is none (None without ``measures``)."""
    if measures is None:
        return None
    where, feature = measures.split(".")
    routing = sc.products[product].routing
    hits = [k for k in range(at) if where == routing[k].station or where in routing[k].members(sc.groups)]
    if not hits:
        return f"no step before the inspection (step {at}) runs on {where!r}"
    if len(hits) > 1:
        return f"steps {hits} both run on {where!r}: measure a station the routing visits once"
    k = hits[0]
    station = routing[k].members(sc.groups)[0]
    spec = sc.stations[station]
    feats = spec.features(sc, routing[k])
    if feature not in feats:
        return (f"step {k} on {station!r} ({spec.kind}) records " + (", ".join(sorted(feats)) if feats else "no features")
                + f", not {feature!r}")
    return k


class Inspection(Machine):
    """CMM / gauge: measurement with uncertainty, false accept / reject, good / rework / scrap."""

    kind = "inspection"

    def __init__(self, run, name, spec: InspectionSpec):
        super().__init__(run, name, spec)
        from twin.distributions import _blocks

        g = run.streams.generator(name, "measurement")
        self._n = _blocks(lambda n: g.standard_normal(n)).__next__
        self._feature = None if spec.measures is None else spec.measures.split(".")[1]
        sc = run.scenario
        self._source = {(p, i): measured_step(sc, pname, i, spec.measures) for p, pname, i, _s in sc.visits(name)}
        self.measured = 0
        self.false_accepts = 0
        self.false_rejects = 0
        self._plain_outcome = False
        if spec.rework_oversize and self.rework_buffer is None:  # reworked parts come back to be measured again
            self.rework_buffer = run.implicit_buffer(("rework", name), f"rework:{name}")
            self.inputs.append(self.rework_buffer)

    def _true_value(self, part) -> float:
        s = self.spec
        k = self._source.get((part.product, part.step))
        if k is None:
            return 0.0 if s.feature_sd is None else s.feature_sd * self._n()
        rec = part.feature_record(k)
        if rec is None or self._feature not in rec:
            raise RuntimeError(f"inspection {self.name!r}: part {part.id} carries no {self.spec.measures} record")
        return rec[self._feature]

    def outcome(self, part, unit):
        s = self.spec
        if (self.parts_all + 1) % s.sample_every:
            return GOOD if self._q is None else super().outcome(part, unit)
        self.measured += 1
        true = self._true_value(part)
        meas = true + s.uncertainty * self._n()
        self.run.record_features(part, self.name, {"measured": meas, "true": true})
        bad_true = abs(true) > s.tolerance
        bad_meas = abs(meas) > s.tolerance
        if bad_meas and not bad_true:
            self.false_rejects += 1
        if bad_true and not bad_meas:
            self.false_accepts += 1
        if not bad_meas:
            # the station's own losses (handling damage, a re-clamp) as for any machine
            return GOOD if self._q is None else super().outcome(part, unit)
        if s.rework_oversize and meas > 0 and part.reworks == 0:
            k = self._source.get((part.product, part.step))
            if k is not None:  # reworked: the feature meets its nominal when measured again
                part.records[k] = {**part.records[k], self._feature: 0.0}
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
