"""Machining stations whose cycle time, tool wear, quality and energy come from the physics:
``cnc_lathe``, ``cnc_mill``, ``drill``.

A product's routing step lists its cuts (``operations``):

.. code-block:: yaml

    - station: L1
      operations:
        - {type: facing, tool: T1, material: C45, vc: 220 m/min, f: 0.2 mm, ap: 1 mm, diameter: 80 mm, max_rpm: 3000 rpm}
        - {type: turning, tool: T1, material: C45, vc: 200 m/min, f: 0.25 mm, ap: 2 mm, length: 120 mm, diameter: 40 mm}
        - {type: boring, tool: B1, material: C45, vc: 180 m/min, f: 0.1 mm, ap: 0.5 mm, length: 30 mm, diameter: 25 mm}
        - {type: grooving, tool: G1, material: C45, vc: 120 m/min, f: 0.05 mm, width: 3 mm, diameter: 40 mm, groove_diameter: 36 mm}
        - {type: threading, tool: TH, material: C45, vc: 120 m/min, pitch: 1.5 mm, length: 20 mm, diameter: 30 mm, passes: 6}
        - {type: milling, tool: T2, material: C45, vc: 150 m/min, fz: 0.1 mm, ap: 3 mm, ae: 10 mm, cutter_diameter: 20 mm, teeth: 4, length: 80 mm}
        - {type: drilling, tool: T3, material: C45, vc: 60 m/min, f: 0.15 mm, cutter_diameter: 8.5 mm, depth: 25 mm,
           pattern: {holes: 8, pitch_diameter: 170 mm}}

Force and time per operation type (``twin.kernels.machining``): turning, boring and facing
Kienzle on the turning chip; facing and grooving at constant cutting speed with the spindle
clamped at ``max_rpm`` (:func:`~twin.kernels.machining.facing_time`); grooving Kienzle with
h = f, b = width; threading the Sandvik constant-area infeed over ``passes`` (depth ISO 68-1),
Kienzle on the V chip, time passes x L / (P n); a drilling ``pattern`` repeats the hole
``holes`` times and adds the rapid path between them at the station's ``rapid_traverse``.
Boring with a boring bar (``overhang``, ``bar_diameter`` on the tool) bends the bar under the
radial force (``radial_force_ratio`` x Fc): the bore comes out undersize by twice the deflection
plus twice the radial wear; the bore deviation is recorded as the feature ``bore``.

Per cut, at plant assembly (the conditions are fixed, so once per product step): cutting time,
force and power (Kienzle, ``twin.kernels.machining``), Taylor life of the tool at that speed
(``twin.kernels.tool_wear``), roughness from feed and nose radius (``twin.kernels.surface``),
the chatter check at the programmed spindle speed and depth (``twin.kernels.chatter``).
Per part (a few float operations): cycle time = load/unload + sum(rapid + cutting time) + turret
indexing between tools + tool replacements; each tool accumulates its life fraction t / T and
its flank wear VB(t) (three-stage curve reaching the criterion at the Taylor life); a tool is
replaced when VB reaches ``vb_max`` (or after ``max_parts`` with the count policy). Tool breakage
is a failure whose hazard rises with wear, h = rate (1 + 9 (t/T)^2): its time within the cut is
drawn when the part starts and scheduled, so the station goes OutOfService mid-cut and the
part is scrapped. Roughness grows with wear; dimensional deviation = wear + thermal growth; an
unstable (chattering) cut triples Ra. A part is scrap when Ra or the diameter deviation
exceeds its limit. Cutting energy (Pc / efficiency x time) is added to the station's energy.
"""

from __future__ import annotations

import math
import re
from array import array
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

import twin.kernels as K
from twin.registry import register, register_operation
from twin.specs import SpecModel, is_set
from twin.states import Code, Outcome
from twin.units import Meters, MetersPerSecond, Pascal, Seconds, Watts, to_si

from .machine import Machine, MachineSpec

__all__ = ["ToolSpec", "TurningCut", "MillingCut", "DrillingCut", "FacingCut", "BoringCut", "GroovingCut", "ThreadingCut",
           "HolePattern", "CutSpec", "DynamicsSpec", "QualitySpec", "MachiningSpec",
           "Machining"]

GOOD, SCRAP = Outcome.GOOD.value, Outcome.SCRAP.value
_M = SpecModel


class ToolSpec(_M):
    """A tool in the magazine. Taylor n and C (C in m/min, T in min as books print it) default
    from the tool material (Groover Table 22.2)."""

    tool_material: str = Field(default="coated_carbide", description="HSS, carbide, coated_carbide, cermet, ceramic")
    taylor_n: float | None = Field(default=None, gt=0, lt=1)
    taylor_C: float | None = Field(default=None, gt=0, description="m/min for T in min")
    nose_radius: Meters = Field(default=0.8e-3, gt=0)
    kappa_r_deg: float = Field(default=95.0, gt=0, lt=180)
    clearance_deg: float = Field(default=7.0, gt=0, lt=45)
    vb_max: Meters = Field(default=0.3e-3, gt=0, description="flank wear at which the tool is replaced (ISO 3685: 0.3 mm)")
    policy: Literal["wear", "count"] = "wear"
    max_parts: int | None = Field(default=None, ge=1, description="count policy: replace after this many parts")
    breakage_rate: float = Field(default=0.0, ge=0, description="breakages per second of cutting with a new tool")
    overhang: Meters | None = Field(default=None, gt=0, description="boring bar: unsupported length from the clamp to the edge")
    bar_diameter: Meters | None = Field(default=None, gt=0, description="boring bar: diameter of the (solid round) shank")
    bar_modulus: Pascal = Field(default=210e9, gt=0, description="boring bar: elastic modulus (steel 210 GPa, carbide ~600 GPa)")
    radial_force_ratio: float = Field(default=0.3, gt=0, le=2, description="boring bar: radial (passive) force / cutting force "
                                      "(about 0.25-0.3 for boring; EISC 'Boring basics')")

    @model_validator(mode="after")
    def _count(self):
        if (self.overhang is None) != (self.bar_diameter is None):
            raise ValueError("a boring bar needs both overhang and bar_diameter")
        if self.overhang is None:
            for key in ("bar_modulus", "radial_force_ratio"):
                if is_set(self, key):
                    raise ValueError(f"{key} is only used with a boring bar (give overhang and bar_diameter)")
        if self.policy == "count" and self.max_parts is None:
            raise ValueError("policy 'count' needs max_parts")
        if self.policy == "wear" and self.max_parts is not None:
            raise ValueError("max_parts is only used with policy: count")
        if self.tool_material not in K.TAYLOR_TOOLS and (self.taylor_n is None or self.taylor_C is None):
            raise ValueError(f"unknown tool_material {self.tool_material!r} (known: {', '.join(K.TAYLOR_TOOLS)}); or give taylor_n and taylor_C")
        return self

    def taylor(self) -> tuple[float, float]:
        n, c = K.TAYLOR_TOOLS.get(self.tool_material, (None, None))
        n = self.taylor_n if self.taylor_n is not None else n
        c = self.taylor_C if self.taylor_C is not None else c
        return n, K.taylor_C_si(c, n)


def _rev_per_s(v):
    """Spindle speed in rev/s: a number, '3000 rpm' (or rev/min, 1/min), or a frequency ('50 Hz')."""
    if isinstance(v, str):
        m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*(rpm|rev/min|1/min)\s*", v)
        if m:
            return float(m.group(1)) / 60.0
    return to_si(v, "frequency")


#: a spindle speed [rev/s]; scenario files may write '3000 rpm'
RevPerSecond = Annotated[float, BeforeValidator(_rev_per_s),
                         WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "description": "spindle speed, e.g. '3000 rpm'"}]})]


class _Cut0(_M):
    tool: str = Field(description="a tool of the station's magazine")
    material: str = Field(description="work material (twin.kernels.MATERIALS)")
    vc: MetersPerSecond = Field(gt=0, description="cutting speed, e.g. '200 m/min'")

    #: the operation leaves a surface whose roughness and size the kernels model (it may finish the part)
    SURFACE: ClassVar[bool] = True
    #: station kinds that can run the operation
    KINDS: ClassVar[tuple[str, ...]] = ("cnc_lathe", "cnc_mill", "drill")


class _SurfaceCut(_Cut0):
    finishing: Literal[True] | None = Field(
        default=None, description="true: this cut sets the part's surface and size (unmarked: the last cut that leaves a "
                                  "surface); false is no setting (an unmarked cut is not finishing unless it is the last)")


class TurningCut(_SurfaceCut):
    """A longitudinal turning pass (Kienzle force, t = L / (f n))."""

    type: Literal["turning"]
    f: Meters = Field(gt=0, description="feed per revolution")
    ap: Meters = Field(gt=0, description="depth of cut")
    length: Meters = Field(ge=0)
    diameter: Meters = Field(gt=0, description="workpiece diameter")


class MillingCut(_SurfaceCut):
    """A milling pass (mean Kienzle force over the engagement)."""

    type: Literal["milling"]
    fz: Meters = Field(gt=0, description="feed per tooth")
    ap: Meters = Field(gt=0, description="axial depth")
    ae: Meters = Field(gt=0, description="radial engagement")
    length: Meters = Field(ge=0)
    cutter_diameter: Meters = Field(gt=0)
    teeth: int = Field(default=4, ge=1)

    @model_validator(mode="after")
    def _ae(self):
        if self.ae > self.cutter_diameter:
            raise ValueError("ae exceeds the cutter diameter")
        return self


class HolePattern(_M):
    """The same hole repeated: ``holes`` on a bolt circle of ``pitch_diameter``, or in a row
    ``spacing`` apart. The drill moves between the holes at the station's ``rapid_traverse``."""

    holes: int = Field(ge=2, le=1000, description="number of holes")
    pitch_diameter: Meters | None = Field(default=None, gt=0, description="bolt circle: holes equally spaced on this diameter")
    spacing: Meters | None = Field(default=None, gt=0, description="a row: distance between neighbouring holes")

    @model_validator(mode="after")
    def _one(self):
        if (self.pitch_diameter is None) == (self.spacing is None):
            raise ValueError("give pitch_diameter (a bolt circle) or spacing (a row), one of them")
        return self

    def path(self) -> float:
        """Rapid path between the holes [m]."""
        if self.pitch_diameter is not None:
            return K.bolt_circle_path(self.pitch_diameter, self.holes)
        return (self.holes - 1) * self.spacing


class DrillingCut(_SurfaceCut):
    """A drilled hole (two-lip drill), or a pattern of equal holes (``pattern``)."""

    type: Literal["drilling"]
    f: Meters = Field(gt=0, description="feed per revolution")
    cutter_diameter: Meters = Field(gt=0)
    depth: Meters = Field(gt=0, description="hole depth")
    point_angle_deg: float = Field(default=118.0, gt=0, lt=180)
    pattern: HolePattern | None = Field(default=None, description="repeat the hole: a bolt circle or a row")

    def holes(self) -> int:
        return 1 if self.pattern is None else self.pattern.holes


class FacingCut(_SurfaceCut):
    """A facing pass across the face from ``diameter`` to ``inner_diameter`` (0: the centre) at
    constant cutting speed, the spindle clamped at ``max_rpm`` (Kienzle force as turning)."""

    type: Literal["facing"]
    f: Meters = Field(gt=0, description="feed per revolution (radial)")
    ap: Meters = Field(gt=0, description="depth of cut (axial stock removed)")
    diameter: Meters = Field(gt=0, description="outer diameter of the face")
    inner_diameter: Meters = Field(default=0.0, ge=0, description="where the pass ends (a bore, or 0 for the centre)")
    max_rpm: RevPerSecond | None = Field(default=None, gt=0, description="spindle speed clamp, e.g. '3000 rpm' (default: none)")

    KINDS: ClassVar[tuple[str, ...]] = ("cnc_lathe",)

    @model_validator(mode="after")
    def _d(self):
        if self.inner_diameter >= self.diameter:
            raise ValueError("inner_diameter must be smaller than diameter")
        return self


class BoringCut(_SurfaceCut):
    """A boring pass finishing a bore of ``diameter`` over ``length`` (Kienzle force as turning,
    time pi D L / (vc f)); records the bore's deviation (feature ``bore``)."""

    type: Literal["boring"]
    f: Meters = Field(gt=0, description="feed per revolution")
    ap: Meters = Field(gt=0, description="depth of cut (radial)")
    length: Meters = Field(gt=0, description="bore length")
    diameter: Meters = Field(gt=0, description="bore diameter after the cut")

    KINDS: ClassVar[tuple[str, ...]] = ("cnc_lathe", "cnc_mill")

    @model_validator(mode="after")
    def _d(self):
        if 2 * self.ap >= self.diameter:
            raise ValueError("ap must be less than half the bore diameter")
        return self


class GroovingCut(_Cut0):
    """A straight plunge of an insert of ``width`` from ``diameter`` to ``groove_diameter`` at
    constant cutting speed (Kienzle with h = f, b = width)."""

    type: Literal["grooving"]
    f: Meters = Field(gt=0, description="radial feed per revolution")
    width: Meters = Field(gt=0, description="insert (groove) width")
    diameter: Meters = Field(gt=0, description="diameter where the plunge starts")
    groove_diameter: Meters = Field(ge=0, description="diameter at the bottom of the groove (0: parting off)")
    max_rpm: RevPerSecond | None = Field(default=None, gt=0, description="spindle speed clamp, e.g. '3000 rpm' (default: none)")

    SURFACE: ClassVar[bool] = False
    KINDS: ClassVar[tuple[str, ...]] = ("cnc_lathe",)

    @model_validator(mode="after")
    def _d(self):
        if self.groove_diameter >= self.diameter:
            raise ValueError("groove_diameter must be smaller than diameter")
        return self


class ThreadingCut(_Cut0):
    """A single-point ISO metric thread: ``passes`` radial passes (constant chip area) to the
    profile depth of ``pitch`` (ISO 68-1), each over ``length`` at the spindle speed of vc at
    ``diameter``."""

    type: Literal["threading"]
    pitch: Meters = Field(gt=0, description="thread pitch (the feed per revolution)")
    length: Meters = Field(gt=0, description="threaded length including the run-in")
    diameter: Meters = Field(gt=0, description="nominal (major) diameter")
    passes: int = Field(default=6, ge=2, le=60, description="infeed passes")
    external: bool = Field(default=True, description="external thread (false: internal)")
    profile_angle_deg: float = Field(default=60.0, gt=0, lt=180, description="thread profile angle (60 for ISO metric)")

    SURFACE: ClassVar[bool] = False
    KINDS: ClassVar[tuple[str, ...]] = ("cnc_lathe",)

    def depth(self) -> float:
        return K.thread_depth(self.pitch, self.external)


CutSpec = TurningCut | MillingCut | DrillingCut | FacingCut | BoringCut | GroovingCut | ThreadingCut
for _op in (TurningCut, MillingCut, DrillingCut, FacingCut, BoringCut, GroovingCut, ThreadingCut):
    register_operation(_op)


class DynamicsSpec(_M):
    """Dominant mode of the machine-tool structure at the cut (for the chatter check)."""

    k: float = Field(gt=0, description="stiffness [N/m]")
    zeta: float = Field(gt=0, lt=1)
    fn: float = Field(gt=0, description="natural frequency [Hz]")
    chatter_scrap: float = Field(default=0.5, ge=0, le=1, description="scrap probability of a part cut while chattering")


class QualitySpec(_M):
    ra_max: Meters | None = Field(default=None, gt=0, description="roughness limit (e.g. 3.2 um)")
    diameter_tol: Meters | None = Field(default=None, gt=0, description="allowed |deviation| of the finished diameter")
    thermal_dT: float = Field(default=0.0, description="part temperature above measuring temperature at inspection [K]")
    ra_wear_factor: float = Field(default=1.0, ge=0, description="Ra = Ra0 (1 + factor VB / VB_crit)")


class MachiningSpec(MachineSpec):
    kind: Literal["cnc_lathe", "cnc_mill", "drill"] = "cnc_lathe"  # type: ignore[assignment]
    tools: dict[str, ToolSpec] = Field(min_length=1)
    load_unload: Seconds = Field(default=30.0, ge=0)
    rapid: Seconds = Field(default=5.0, ge=0, description="approach + retract per cut")
    rapid_traverse: MetersPerSecond = Field(default=0.5, gt=0, description="positioning speed between the holes of a pattern "
                                                                           "(default 30 m/min)")
    tool_index: Seconds = Field(default=3.0, ge=0, description="turret/magazine change between two tools")
    tool_replace: Seconds = Field(default=120.0, ge=0, description="replacing a worn tool")
    breakage_repair: Seconds = Field(default=600.0, ge=0, description="repair after a tool breakage")
    efficiency: float = Field(default=0.85, gt=0, le=1, description="spindle drive efficiency")
    rated_power: Watts = Field(default=20e3, gt=0, description="spindle rated power")
    dynamics: DynamicsSpec | None = None
    quality: QualitySpec = Field(default_factory=QualitySpec)

    RECORDABLE: ClassVar[bool] = True
    TAGS: ClassVar[tuple[str, ...]] = MachineSpec.TAGS + ("tool_changes", "tool_wear_max", "breakages", "spindle_load_pct",
                                                          "spindle_speed_rpm", "vibration_rms", "tool_vb_mm")

    def computes(self, step) -> bool:
        return step.operations is not None

    def features(self, sc, step) -> dict[str, str]:
        """Per part, after a step with operations: stable (1) or chattering (0), broken tool
        (1/0); when a cut leaves a surface (all but grooving and threading): Ra of the finishing
        cut [m] and the flank wear of its tool [m]; the deviation of the finished diameter [m]
        when the finishing cut is a turning cut; the deviation of the bore [m] when the step
        bores (the last boring cut)."""
        if not step.operations:
            return {}
        out = {"stable": "1 if every cut was stable (no chatter), else 0", "broken": "1 if a tool broke in the part, else 0"}
        cuts = [c for c in step.operations if isinstance(c, _Cut0)]
        fin = _finishing(cuts) if cuts else None
        if fin is not None:
            out["ra"] = "arithmetic mean roughness of the finished surface [m]"
            out["vb"] = "flank wear of the finishing tool [m]"
            if fin.type == "turning":
                out["diameter"] = "deviation of the finished diameter from nominal [m] (wear and thermal growth)"
        if any(c.type == "boring" for c in cuts):
            out["bore"] = ("deviation of the bored diameter from nominal [m] (boring-bar deflection, wear and thermal growth; "
                           "negative: undersize)")
        return out

    def cross_check(self, name: str, sc) -> list[tuple[str, str]]:
        errs = super().cross_check(name, sc)
        used_tools, turned, bored, switches, breakable, patterns = set(), False, False, False, False, False
        boring_tools = set()
        for _p, pname, i, step in sc.visits(name):
            path = f"products.{pname}.routing[{i}].operations"
            if not step.operations:
                continue
            prev = None
            for j, cut in enumerate(step.operations):
                if not isinstance(cut, _Cut0):
                    errs.append((f"{path}[{j}].type", f"station {name!r} ({self.kind}) cuts metal: turning, facing, boring, "
                                                      f"grooving, threading, milling or drilling, not {cut.type}"))
                    continue
                if self.kind not in cut.KINDS:
                    errs.append((f"{path}[{j}].type", f"{cut.type} needs a {' or '.join(cut.KINDS)}, not station {name!r} ({self.kind})"))
                    continue
                used_tools.add(cut.tool)
                if prev is not None and prev != cut.tool:
                    switches = True
                prev = cut.tool
                patterns |= cut.type == "drilling" and cut.pattern is not None
                if cut.type == "boring":
                    boring_tools.add(cut.tool)
                tool = self.tools.get(cut.tool)
                if tool is None:
                    errs.append((f"{path}[{j}].tool", f"tool {cut.tool!r} is not in station {name!r}'s magazine ({', '.join(self.tools)})"))
                else:
                    breakable |= tool.breakage_rate > 0
                if cut.material not in K.MATERIALS:
                    errs.append((f"{path}[{j}].material", f"unknown material {cut.material!r} (known: {', '.join(sorted(K.MATERIALS))})"))
                else:
                    fc, pc = _force_power(cut, tool or ToolSpec())
                    if pc / self.efficiency > self.rated_power:
                        errs.append((f"{path}[{j}]", f"needs {pc / self.efficiency / 1e3:.1f} kW at the spindle, above {name!r}'s "
                                                     f"rated {self.rated_power / 1e3:.1f} kW"))
            cuts = [c for c in step.operations if isinstance(c, _Cut0)]
            fin = _finishing(cuts) if cuts else None
            turned |= fin is not None and fin.type == "turning"
            bored |= any(c.type == "boring" for c in cuts)
        if used_tools:
            for t in self.tools:
                if t not in used_tools:
                    errs.append((f"stations.{name}.tools.{t}", "is not used by any cut on this station"))
            types = {}  # tool -> cut types it makes; tools that finish a turned diameter or a bore
            finish_turn = set()
            for _p, _pname, _i, step in sc.visits(name):
                cuts = [c for c in step.operations or () if isinstance(c, _Cut0)]
                for cut in cuts:
                    types.setdefault(cut.tool, set()).add(cut.type)
                fin = _finishing(cuts) if cuts else None
                if fin is not None and fin.type == "turning":
                    finish_turn.add(fin.tool)
                bores = [c for c in cuts if c.type == "boring"]
                if bores:
                    finish_turn.add(bores[-1].tool)
            for t, tool in self.tools.items():
                if is_set(tool, "kappa_r_deg") and types.get(t, set()) <= {"drilling", "grooving", "threading"}:
                    errs.append((f"stations.{name}.tools.{t}.kappa_r_deg", "is not used: this tool only drills, grooves or threads "
                                                                          "(the point angle, insert width or thread profile sets "
                                                                          "the chip)"))
                if is_set(tool, "nose_radius") and t in types and types[t] <= {"grooving", "threading"}:
                    errs.append((f"stations.{name}.tools.{t}.nose_radius", "is not used: grooving and threading leave no surface "
                                                                          "whose roughness the nose radius sets"))
                if is_set(tool, "clearance_deg") and t not in finish_turn:
                    errs.append((f"stations.{name}.tools.{t}.clearance_deg", "is not used: the clearance angle turns flank wear "
                                                                            "into a diameter deviation, and this tool finishes no "
                                                                            "turned diameter or bore"))
            if is_set(self, "tool_index") and not switches:
                errs.append((f"stations.{name}.tool_index", "is not used: no process plan here changes tools"))
            if is_set(self, "breakage_repair") and not breakable:
                errs.append((f"stations.{name}.breakage_repair", "is not used: no tool here has a breakage_rate"))
            if is_set(self, "rapid_traverse") and not patterns:
                errs.append((f"stations.{name}.rapid_traverse", "is not used: no drilling cut here has a hole pattern"))
            if not turned and is_set(self.quality, "diameter_tol"):
                errs.append((f"stations.{name}.quality.diameter_tol", "is not used: no finishing cut here is a turning cut "
                                                                       "(no finished diameter)"))
            if not (turned or bored) and is_set(self.quality, "thermal_dT"):
                errs.append((f"stations.{name}.quality.thermal_dT", "is not used: no finishing cut here is a turning cut and "
                                                                     "nothing is bored (no finished diameter)"))
            for t, tool in self.tools.items():
                if tool.overhang is not None and t in used_tools and t not in boring_tools:
                    errs.append((f"stations.{name}.tools.{t}.overhang", "is not used: this tool makes no boring cut "
                                                                         "(a boring bar bends only in boring)"))
        return errs


def _finishing(cuts):
    """The cut that sets the part's surface and size: the last one marked ``finishing``, else
    the last cut that leaves a surface (grooving and threading do not); None if there is none."""
    marked = [c for c in cuts if getattr(c, "finishing", False)]
    if marked:
        return marked[-1]
    surf = [c for c in cuts if c.SURFACE]
    return surf[-1] if surf else None


def _force_power(cut: CutSpec, tool: ToolSpec) -> tuple[float, float]:
    """Main cutting force [N] (the largest of the cut: threading's heaviest pass) and cutting power [W]."""
    m = K.get_material(cut.material)
    kr = math.radians(tool.kappa_r_deg)
    t = cut.type
    if t in ("turning", "facing", "boring"):
        fc = K.turning_force(cut.f, cut.ap, kr, m.kc11, m.mc)
    elif t == "milling":
        fc = K.milling_force_mean(cut.fz, cut.ap, cut.ae, cut.cutter_diameter, cut.teeth, kr, m.kc11, m.mc)
    elif t == "grooving":
        fc = K.grooving_force(cut.f, cut.width, m.kc11, m.mc)
    elif t == "threading":
        fc = K.threading_force(cut.depth(), cut.passes, math.radians(cut.profile_angle_deg), m.kc11, m.mc)
    else:
        fc = 2.0 * K.drilling_force(cut.f, cut.cutter_diameter, m.kc11, m.mc, math.radians(cut.point_angle_deg))
    return fc, K.cutting_power(fc, cut.vc)


class _Cut:
    """Physics of one cut at fixed conditions, computed once at assembly. ``time`` is cutting
    time (it wears the tool); ``move`` is positioning inside the cut (between the holes of a
    pattern: cycle time, no wear)."""

    __slots__ = ("tool", "time", "move", "power", "life", "ra0", "stable", "diameter", "energy", "finishing", "spindle_hz", "teeth",
                 "surface", "kind", "bore", "deflection")

    def __init__(self, cut: CutSpec, tool_idx: int, tool: ToolSpec, dyn: DynamicsSpec | None, rapid_traverse: float = 0.5):
        m = K.get_material(cut.material)
        n, C = tool.taylor()
        fc, pc = _force_power(cut, tool)
        kr = math.radians(tool.kappa_r_deg)
        self.move = 0.0
        self.ra0 = 0.0
        self.bore = 0.0
        self.deflection = 0.0
        t = cut.type
        if t == "turning":
            self.time = K.turning_time_vc(cut.length, cut.diameter, cut.f, cut.vc)
            self.spindle_hz = K.spindle_speed(cut.vc, cut.diameter)
            self.ra0 = K.ra_theoretical(cut.f, tool.nose_radius, K.RA_CONST_TEXTBOOK)
            h = cut.f * math.sin(kr)
            depth, teeth = cut.ap, 1
        elif t == "facing":
            self.time = K.facing_time(cut.diameter, cut.inner_diameter, cut.f, cut.vc, cut.max_rpm or 0.0)
            self.spindle_hz = K.spindle_speed(cut.vc, cut.diameter)
            self.ra0 = K.ra_theoretical(cut.f, tool.nose_radius, K.RA_CONST_TEXTBOOK)
            h = cut.f * math.sin(kr)
            depth, teeth = cut.ap, 1
        elif t == "boring":
            self.time = K.turning_time_vc(cut.length, cut.diameter, cut.f, cut.vc)
            self.spindle_hz = K.spindle_speed(cut.vc, cut.diameter)
            self.ra0 = K.ra_theoretical(cut.f, tool.nose_radius, K.RA_CONST_TEXTBOOK)
            h = cut.f * math.sin(kr)
            depth, teeth = cut.ap, 1
            self.bore = cut.diameter
            if tool.overhang is not None:
                self.deflection = K.boring_bar_deflection(tool.radial_force_ratio * fc, tool.overhang, tool.bar_diameter,
                                                          tool.bar_modulus)
        elif t == "grooving":
            self.time = K.facing_time(cut.diameter, cut.groove_diameter, cut.f, cut.vc, cut.max_rpm or 0.0)
            self.spindle_hz = K.spindle_speed(cut.vc, cut.diameter)
            h = cut.f
            depth, teeth = cut.width, 1
        elif t == "threading":
            self.time = K.threading_time(cut.length, cut.pitch, cut.passes, cut.vc, cut.diameter)
            self.spindle_hz = K.spindle_speed(cut.vc, cut.diameter)
            ap, half = cut.depth(), math.radians(cut.profile_angle_deg) / 2.0
            h = (ap - K.thread_infeed(ap, cut.passes, cut.passes - 1)) * math.sin(half)  # the last pass: thinnest chip
            depth, teeth = 2.0 * ap / math.cos(half), 1  # both flanks engaged
        elif t == "milling":
            self.spindle_hz = K.spindle_speed(cut.vc, cut.cutter_diameter)
            self.time = K.milling_time(cut.length, cut.fz, cut.teeth, self.spindle_hz, cut.cutter_diameter / 2.0)
            self.ra0 = K.ra_theoretical(cut.fz, tool.nose_radius, K.RA_CONST_TEXTBOOK)
            h = K.milling_mean_chip_thickness(cut.fz, cut.ae, cut.cutter_diameter, kr)
            depth, teeth = cut.ap, cut.teeth
        else:
            self.spindle_hz = K.spindle_speed(cut.vc, cut.cutter_diameter)
            one = K.drilling_time(cut.depth, cut.cutter_diameter, cut.f, cut.vc, math.radians(cut.point_angle_deg))
            self.time = cut.holes() * one
            if cut.pattern is not None:
                self.move = K.hole_pattern_time(cut.pattern.holes, one, cut.pattern.path(), rapid_traverse) - self.time
            self.ra0 = K.ra_theoretical(cut.f, tool.nose_radius, K.RA_CONST_TEXTBOOK)
            h = cut.f / 2.0
            depth, teeth = cut.cutter_diameter / 2.0, 2
        self.kind = t
        self.surface = cut.SURFACE
        self.tool = tool_idx
        self.teeth = teeth
        self.power = pc
        self.life = K.taylor_life(cut.vc, n, C)
        if dyn is not None:
            ks = K.kienzle_specific_force(h, m.kc11, m.mc)
            self.stable = bool(K.is_stable(self.spindle_hz, depth, dyn.k, dyn.zeta, dyn.fn, ks, 0.0, teeth))
        else:
            self.stable = True
        self.diameter = cut.diameter if t == "turning" else 0.0
        self.finishing = getattr(cut, "finishing", False)
        self.energy = pc * self.time


def _finishing_cut(cuts: list[_Cut]) -> _Cut | None:
    return next((c for c in reversed(cuts) if c.finishing), None)




class Machining(Machine):
    """CNC lathe, machining centre or drill whose cycle, wear, quality and energy come from the kernels."""

    kind = "cnc_lathe"

    def __init__(self, run, name: str, spec: MachiningSpec):
        self.tool_names = list(spec.tools)
        self.plans: dict[tuple[int, int], list[_Cut]] = {}
        sc = run.scenario
        for p, pname, i, step in sc.visits(name):
            if step.operations:
                cuts = []
                for c in step.operations:
                    cuts.append(_Cut(c, self.tool_names.index(c.tool), spec.tools[c.tool], spec.dynamics, spec.rapid_traverse))
                if not any(c.finishing for c in cuts):
                    surf = [c for c in cuts if c.surface]
                    if surf:  # the last cut that leaves a surface finishes the part
                        surf[-1].finishing = True
                self.plans[(p, i)] = cuts
        super().__init__(run, name, spec)
        self._turned = {key: (f := _finishing_cut(cuts)) is not None and f.diameter > 0 for key, cuts in self.plans.items()}
        self._finished = {key: _finishing_cut(cuts) is not None for key, cuts in self.plans.items()}
        self._bored = {}  # (product, step) -> (tool, life fraction the part adds to it, life, vb_max, clearance, D, deflection)
        for key, cuts in self.plans.items():
            bores = [c for c in cuts if c.kind == "boring"]
            if bores:
                b = bores[-1]
                tool = spec.tools[self.tool_names[b.tool]]
                dx = sum(c.time / c.life for c in cuts if c.tool == b.tool)
                self._bored[key] = (b.tool, dx, b.life, tool.vb_max, math.radians(tool.clearance_deg), b.bore, b.deflection)
        for p, _pname, i, step in sc.visits(name):
            if (p, i) in self.plans:  # PRI: the step's or station's ideal cycle time, else the cycle with new tools
                given = step.ideal_cycle_time or spec.ideal_cycle_time
                self.pri[(p, i)] = float(given) if given is not None else self.nominal_cycle(self.plans[(p, i)])
        n_units, n_tools = spec.capacity, len(self.tool_names)
        self.tool_frac = np.zeros((n_units, n_tools))  # life fraction used, per unit and tool
        self.tool_parts = np.zeros((n_units, n_tools), dtype=np.int64)
        self.tool_changes = 0
        self.breakages = 0
        self.cutting_time = 0.0
        self._unit_index = {id(u): k for k, u in enumerate(self.units)}
        from twin.distributions import _blocks

        _g = run.streams.generator(name, "machining")
        self._u = _blocks(lambda n: _g.random(n)).__next__  # buffered uniforms (one numpy call per 512)
        self._g = _g
        self._ubuf = _g.random(1024)  # uniforms for the part kernel (breakage), refilled when low
        self._hot: dict = {}  # (product, step) -> what the part kernel needs, built once
        self._t_repl = spec.tool_replace
        q = spec.quality
        self._ra_max = math.inf if q.ra_max is None else q.ra_max
        self._dev_max = math.inf if q.diameter_tol is None else q.diameter_tol
        self._ui = 0
        # per-part physics record, written by the part kernel: one float64 row per part
        self._rec = np.zeros((1024, len(self._COLS)))
        self._machined_part = K.part.machined_part  # (imported here, not with the module: it loads numba)
        self._n_rec = 0
        self._table = None
        self._vb_crit = [spec.tools[t].vb_max for t in self.tool_names]
        self._plain_duration = False
        self._plain_outcome = False
        rec = run.scenario.recording
        self.recording = rec if rec is not None and name in rec.stations else None
        self._cuts_rec = array("d")  # per recorded cut: t0, t1, spindle_hz, teeth, vb, unstable, power, unit, part, vb_max

    def nominal_cycle(self, cuts) -> float:
        s = self.spec
        t = s.load_unload + sum(s.rapid + c.time + c.move for c in cuts)
        t += s.tool_index * sum(1 for a, b in zip(cuts, cuts[1:]) if a.tool != b.tool)
        return t

    # ---- hooks ------------------------------------------------------------------------------
    def _plan(self, key):
        """Per (product, step), built once: the arrays the part kernel takes (cuts, tool
        policies, finishing cut; see :mod:`twin.kernels.part`), the nominal cycle, cutting time,
        energy at the motor, stability, and the cut rows the signal recording reads."""
        cuts = self.plans[key]
        s = self.spec
        rows = []
        for c in cuts:
            tool = s.tools[self.tool_names[c.tool]]
            rows.append((c.tool, c.time, c.life, c.energy, c.stable, c.finishing, c.diameter, c.ra0, tool.vb_max,
                         tool.breakage_rate, math.radians(tool.clearance_deg), c.move))
        policies = [(j, s.tools[self.tool_names[j]].policy == "wear", s.tools[self.tool_names[j]].max_parts or 0)
                    for j in sorted({c.tool for c in cuts})]
        fin = None
        for r in rows:
            if r[5]:  # the finishing cut sets VB, Ra and size (the last one if several are marked)
                fin = (r[0], r[2], r[8], r[7], 1.0 if r[4] else 3.0, r[10], r[6])
        t, cut_rows = s.load_unload, []
        for r in rows:  # (tool, t_cut, life, breakage rate, start within the cycle)
            t += s.rapid
            cut_rows.append((r[0], r[1], r[2], r[9], t))
            t += r[1] + r[11]  # cutting, then the moves between the holes of a pattern
        q = s.quality
        fin_arr = np.array([-1.0] + [0.0] * 9) if fin is None else np.array(
            [fin[0], fin[1], fin[2], fin[3], q.ra_wear_factor, fin[4], fin[5], fin[6], 12e-6, q.thermal_dT], dtype=float)
        stable = all(r[4] for r in rows)
        return (np.array(cut_rows, dtype=float).reshape(-1, 5), np.array(policies, dtype=float).reshape(-1, 3), fin_arr,
                self.nominal_cycle(cuts), sum(r[1] for r in rows), sum(r[3] for r in rows) / s.efficiency,
                1.0 if stable else 0.0, 2 * len(rows), stable, rows, self._finished[key], self._turned[key], self._bored.get(key))

    def process_duration(self, part, unit) -> float:
        key = (part.product, part.step)
        hot = self._hot.get(key)
        if hot is None:
            if key not in self.plans:
                return super().process_duration(part, unit)
            hot = self._hot[key] = self._plan(key)
        cuts, pol, fin_arr, nominal, cut_time, e, stable_f, n_u, stable, rows, finished, turned, bored = hot
        k = self._unit_index[id(unit)]
        if self.recording is not None:
            self._record_cuts(key, rows, self.tool_frac[k], k, part.id)
        if bored is not None:  # the boring tool's wear after this part (the kernel may replace it afterwards)
            j, dx, life, vbm, clear, D, defl = bored
            vb_bore = K.flank_wear_vb((self.tool_frac[k, j] + dx) * life, life, vbm)
            bore = K.bore_deviation(vb_bore, clear, D, 12e-6, self.spec.quality.thermal_dT, defl)
        if self._ui + n_u > 1024:
            self._ubuf = self._g.random(1024)
            self._ui = 0
        n = self._n_rec
        if n == len(self._rec):
            self._rec = np.concatenate([self._rec, np.zeros_like(self._rec)])
        self._ui, broken_at, ra, dev, d, changes = self._machined_part(
            self.tool_frac, self.tool_parts, k, cuts, pol, fin_arr, self.clock.now, part.id, nominal, self._t_repl,
            self.feed_override, cut_time, e, stable_f, self._ubuf, self._ui, self._rec, n)
        self._n_rec = n + 1
        self.tool_changes += changes
        self.cutting_time += cut_time
        self.extra_energy_J += e
        if broken_at >= 0:
            self.breakages += 1
            self._schedule_breakage(unit, broken_at / self.feed_override)
        if finished:
            rec = {"ra": ra, "vb": float(self._rec[n, 7]), "stable": 1.0 if stable else 0.0, "broken": 1.0 if broken_at >= 0 else 0.0}
        else:
            rec = {"stable": 1.0 if stable else 0.0, "broken": 1.0 if broken_at >= 0 else 0.0}
        if turned:
            rec["diameter"] = dev
        if bored is not None:
            rec["bore"] = bore
        self.run.record_features(part, self.name, rec)
        return d

    def _record_cuts(self, key, rows, frac, k, pid) -> None:
        """Timing and state of each cut of the part starting now (for the signal recording);
        cut times assume the cycle runs without interruption."""
        rec = self.recording
        now = self.clock.now
        if now < rec.start or (rec.stop is not None and now >= rec.stop):
            return
        s = self.spec
        fo = self.feed_override
        t = now + s.load_unload / fo
        cuts = self.plans[key]
        for c, (j, ct, life, _e, st, *_rest) in zip(cuts, rows):
            t += s.rapid / fo
            vbm = s.tools[self.tool_names[j]].vb_max
            vb = K.flank_wear_vb(frac[j] * life, life, vbm)
            self._cuts_rec.extend((t, t + ct / fo, c.spindle_hz, c.teeth, vb, 0.0 if st else 1.0, c.power, k, pid, vbm))
            t += (ct + c.move) / fo

    def signals_table(self):
        """Feature rows with labels from the recorded cuts (None when nothing was recorded)."""
        from .recording import signal_features

        return signal_features(self)

    def tables(self) -> dict:
        """``physics_<name>`` (one row per part) and, when recorded, ``signals_<name>`` (and ``_raw``)."""
        out = {}
        phys = self.physics_table()
        if phys is not None:
            out[f"physics_{self.name}"] = phys
        if self.recording is not None:
            sig = self.signals_table()
            if sig is not None:
                feats, raw = sig
                out[f"signals_{self.name}"] = feats
                if raw is not None:
                    out[f"signals_{self.name}_raw"] = raw
        return out

    def unit_maintained(self, unit) -> None:
        """Maintenance renews the failure clocks and puts new tools in the unit's magazine
        (each worn tool counts as a tool change)."""
        super().unit_maintained(unit)
        k = self._unit_index[id(unit)]
        frac, used = self.tool_frac[k], self.tool_parts[k]
        for j in range(len(frac)):
            if frac[j] > 0.0:
                self.tool_changes += 1
            frac[j] = 0.0
            used[j] = 0

    def _schedule_breakage(self, unit, after: float) -> None:
        """The tool breaks ``after`` seconds into the cycle: a failure of the unit (profile index
        = number of failure profiles) for ``breakage_repair``."""
        idx = len(self.spec.failures)
        self.clock.after(after, lambda ev: unit.fail_for(self.spec.breakage_repair, idx))

    def outcome(self, part, unit) -> int:
        rec = part.feature_record(part.step) if (part.product, part.step) in self.plans else None
        if rec is not None:
            if rec["broken"] or rec.get("ra", 0.0) > self._ra_max or abs(rec.get("diameter", 0.0)) > self._dev_max:
                return SCRAP
            if not rec["stable"] and self.spec.dynamics is not None and self._u() < self.spec.dynamics.chatter_scrap:
                return SCRAP
        return GOOD if self._q is None else super().outcome(part, unit)

    def _condition(self) -> tuple[float, float, float | None, float | None]:
        """Unit 1's live channels: (vibration RMS [m/s^2], VB [mm], spindle load [%] or None when
        idle, spindle speed [rpm] or None). The RMS is that of the signal model of
        :mod:`twin.kernels.signals` for the cut in progress (tooth-passing harmonics
        a0 (1 + 2 VB/VBcrit), a chatter tone 3 a0 when unstable, noise): what a vibration
        sensor's RMS channel would show."""
        u = self.units[0]
        rec = self.recording
        a0, noise = (rec.a0, rec.noise) if rec is not None else (1.0, 0.2)
        if u.code != Code.PROCESSING.value or u.part is None:
            return noise, 0.0, None, None
        cuts = self.plans.get((u.part.product, u.part.step))
        if cuts is None:
            return noise, 0.0, None, None
        s = self.spec
        el = (self.clock.now - u.t_start) * self.feed_override - s.load_unload
        cur = None
        for c in cuts:
            el -= s.rapid
            if 0.0 <= el < c.time:
                cur = c
                break
            el -= c.time + c.move
        rpm = 60.0 * cuts[0].spindle_hz
        if cur is None:
            p = max(c.power for c in cuts)
            return noise, 0.0, 100.0 * p / s.efficiency / s.rated_power, rpm
        tool = s.tools[self.tool_names[cur.tool]]
        frac = min(1.0, float(self.tool_frac[0, cur.tool]))
        vb = K.flank_wear_vb(frac * cur.life, cur.life, tool.vb_max)
        a = a0 * (1.0 + 2.0 * vb / tool.vb_max)
        ms = a * a * (1.0 + 0.25 + 1.0 / 9.0) / 2.0 + noise * noise
        if not cur.stable:
            ms += (3.0 * a0) ** 2 / 2.0
        return math.sqrt(ms), vb * 1e3, 100.0 * cur.power / s.efficiency / s.rated_power, rpm

    def tag(self, key: str):
        """One tag; the condition channels without building the whole table (rule scans)."""
        if key == "vibration_rms":
            return self._condition()[0]
        if key == "tool_vb_mm":
            return self._condition()[1]
        if key == "tool_wear_max":
            return float(self.tool_frac[0].max()) if self.tool_frac.shape[1] else 0.0
        return self.tags().get(key)

    def tags(self) -> dict:
        """Machine tags plus tool wear and the live condition channels of unit 1 (see
        :meth:`_condition`)."""
        t = super().tags()
        rms, vb_mm, load, rpm = self._condition()
        t.update({
            "tool_changes": self.tool_changes,
            "tool_wear_max": float(self.tool_frac[0].max()) if self.tool_frac.shape[1] else 0.0,
            "breakages": self.breakages,
            "spindle_load_pct": 0.0 if load is None else load,
            "vibration_rms": rms,
            "tool_vb_mm": vb_mm,
        })
        if rpm is not None:
            t["spindle_speed_rpm"] = rpm
        return t

    def tool_life(self):
        """Unit 1's tools: life used and the predicted time of each tool's next replacement.
        The planned part is the one in hand (else the first planned (product, step)); per part a
        tool uses ``dx = sum(t_cut / T)`` of its life (T: Taylor life of each cut). A wear-policy
        tool is replaced at the end of the ``n``-th next part, ``n = ceil((1 - used) / dx)``, a
        count-policy tool after ``max_parts - parts`` more parts (the kernel's rule); parts take
        the nominal cycle / feed override each and the cycle in hand ends first."""
        from twin.station import ToolLife

        u = self.units[0]
        now = self.clock.now
        key = (u.part.product, u.part.step) if u.part is not None else None
        if key not in self.plans:
            key = next(iter(self.plans), None)
        cuts = self.plans.get(key, [])
        fo = self.feed_override
        cycle = self.nominal_cycle(cuts) / fo if cuts else 0.0
        base = u.t_end if (u.part is not None and u.code == Code.PROCESSING.value and u.pending is not None) else now
        out = []
        for j, name in enumerate(self.tool_names):
            tool = self.spec.tools[name]
            mine = [c for c in cuts if c.tool == j]
            dx = sum(c.time / c.life for c in mine)
            t_cut = sum(c.time for c in mine)
            frac, parts = float(self.tool_frac[0, j]), int(self.tool_parts[0, j])
            life = t_cut / dx if dx > 0 else 0.0
            if tool.policy == "wear":
                n = max(1, math.ceil((1.0 - 1e-12 - frac) / dx)) if dx > 0 else None
                used, limit = frac * life, life
            else:
                n = max(1, (tool.max_parts or 0) - parts) if mine else None
                used, limit = float(parts), float(tool.max_parts or 0)
            at = None if n is None else base + n * cycle + self._t_repl / fo
            out.append(ToolLife(name, j + 1, tool.policy, used, limit, at))
        return out

    _COLS = (("t", "float64"), ("part", "int64"), ("unit", "int32"), ("cycle_s", "float64"), ("cut_s", "float64"),
             ("ra_m", "float64"), ("dev_m", "float64"), ("vb_finish_m", "float64"), ("stable", "bool"),
             ("broken", "bool"), ("energy_J", "float64"), ("tool_changes", "int32"))

    def physics_table(self):
        """Per-part physics record as an Arrow table (None before the first part)."""
        import pyarrow as pa

        n = self._n_rec
        if not n:
            return None
        if self._table is not None and self._table.num_rows == n:
            return self._table
        rows = self._rec[:n]
        self._table = pa.table({c: pa.array(rows[:, j].astype(t)) for j, (c, t) in enumerate(self._COLS)})
        return self._table


class LatheSpec(MachiningSpec):
    kind: Literal["cnc_lathe"] = "cnc_lathe"  # type: ignore[assignment]


class MillSpec(MachiningSpec):
    kind: Literal["cnc_mill"] = "cnc_mill"  # type: ignore[assignment]


class DrillSpec(MachiningSpec):
    kind: Literal["drill"] = "drill"  # type: ignore[assignment]


register("cnc_lathe", LatheSpec, Machining)
register("cnc_mill", MillSpec, type("MillingCentre", (Machining,), {"kind": "cnc_mill", "__doc__": "CNC machining centre (physics)."}))
register("drill", DrillSpec, type("DrillingMachine", (Machining,), {"kind": "drill", "__doc__": "Drilling machine (physics)."}))
