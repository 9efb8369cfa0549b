"""Batch heat-treatment furnace with recipes, loaded by count and mass.

**Recipes.** A furnace runs named programs (``recipes: {normalise: {set_temperature, soak,
parameter_window}}``); each routing step on it names its recipe in a ``heat_treatment``
operation, and only parts of one recipe share a load. Without ``recipes`` the furnace runs one
program from its own ``set_temperature``, ``soak`` and ``parameter_window``.

**The part.** A step's ``heat_treatment`` operation gives the part in the furnace: ``material``
(density, heat capacity, conductivity from ``twin.kernels.MATERIALS``) and ``geometry``
(cylinder, ring or plate), hence its mass m = rho V and surface A. Steps without the operation
(older scenarios) heat a long cylinder of the furnace's ``radius`` and carry no mass.

**Batches.** Each recipe collects its own batch from the furnace's inputs (oldest part first). A
batch is full at ``batch_size`` parts or when its mass leaves no room for another part of its
recipe within ``max_load``; a part too heavy for what is left starts the next batch of its
recipe. A batch starts when full or ``max_wait`` after its first part arrived, whichever comes
first; when several may start, the one whose first part came first goes first. The furnace
collects parts only while it is idle: while it heats, parts wait upstream.

**Heating from the load.** The furnace delivers at most ``heating_power`` P to the load: the
heat flux into a part is min(e h (Tf - T_s), P / sum A) per area of its surface (e =
``exposure``, the share of the surface the atmosphere reaches; sum A over all parts of the
load), so a full load heats more slowly than a single part (``twin.kernels.furnace``). Each part
type of the load heats to ``set_temperature - core_margin`` at its core, by conduction inside
it (``heating: conduction``, finite volumes, any Bi: ``core_heating_time`` across the part's
thinnest dimension, the surface flux scaled by the 1-D body's V/A over the part's so that heat
enters through the whole surface; at small Bi it gives the lumped result) or as a lumped body
(``heating: lumped``: ``load_heating_time``, closed form; a part with Bi = h (V/A)/k >= 0.1 is a
scenario error naming its step: ``twin.kernels.check_lumped``). The load is heated when its
slowest part is. Parts without geometry (``radius``) heat without a power limit, each like the
others (``time_to_core_temperature``). Cycle = heating + ``soak`` + ``quench``. The ideal cycle
time (PRI) of a step is the cycle of a full load of its parts divided by the parts in it. Every
batch is a row of ``physics_<name>`` (start, end, recipe, parts, load [kg], heating time, soak,
flux limit, good).

Furnace power: ``heating_power`` while heating, ``holding_power`` while soaking (the per-state
``power`` of the scenario applies as usual). Quality: the Hollomon-Jaffe tempering parameter
P = T (C + log10 t) (T in K, t in hours; C = 20 for carbon steels) of the recipe's soak must lie
in its ``parameter_window``; a batch outside it is scrapped.

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
from twin.registry import register, register_operation
from twin.specs import SpecModel, StationSpec, is_set
from twin.states import Code, Outcome, state_tags
from twin.station import RoutedStation
from twin.units import Kelvin, Meters, Seconds, Watts, _annotated

from .resource import BLOCKED, FAILURE, PM, PROCESSING, STARVED, WORK_STOPS, Resource

GOOD, SCRAP = Outcome.GOOD.value, Outcome.SCRAP.value

#: a mass [kg]; scenario files may write '600 kg' or '1.2 t'
Kilograms = _annotated("mass", "600 kg")

_SHAPES = {"cylinder": ("diameter", "length"), "ring": ("outer_diameter", "inner_diameter", "thickness"),
           "plate": ("length", "width", "thickness")}


class PartGeometry(SpecModel):
    """Shape and size of a part as it goes into the furnace: ``cylinder`` (diameter, length),
    ``ring`` (outer_diameter, inner_diameter, thickness: a flange or tube section) or ``plate``
    (length, width, thickness)."""

    shape: Literal["cylinder", "ring", "plate"]
    diameter: Meters | None = Field(default=None, gt=0)
    length: Meters | None = Field(default=None, gt=0)
    outer_diameter: Meters | None = Field(default=None, gt=0)
    inner_diameter: Meters | None = Field(default=None, ge=0)
    width: Meters | None = Field(default=None, gt=0)
    thickness: Meters | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _dims(self):
        need = _SHAPES[self.shape]
        missing = [k for k in need if getattr(self, k) is None]
        extra = [k for k in ("diameter", "length", "outer_diameter", "inner_diameter", "width", "thickness")
                 if k not in need and getattr(self, k) is not None]
        if missing:
            raise ValueError(f"a {self.shape} needs {', '.join(need)} (missing: {', '.join(missing)})")
        if extra:
            raise ValueError(f"a {self.shape} has {', '.join(need)}, not {', '.join(extra)}")
        if self.shape == "ring" and self.inner_diameter >= self.outer_diameter:
            raise ValueError("inner_diameter must be smaller than outer_diameter")
        return self

    def volume_area(self) -> tuple[float, float]:
        """Volume [m^3] and whole surface [m^2]."""
        if self.shape == "cylinder":
            d, L = self.diameter, self.length
            return math.pi * d * d / 4 * L, math.pi * d * L + math.pi * d * d / 2
        if self.shape == "ring":
            do, di, t = self.outer_diameter, self.inner_diameter, self.thickness
            face = math.pi / 4 * (do * do - di * di)
            return face * t, 2 * face + math.pi * (do + di) * t
        L, w, t = self.length, self.width, self.thickness
        return L * w * t, 2 * (L * w + L * t + w * t)

    def conduction(self) -> tuple[int, float]:
        """The 1-D body for conduction inside the part: (geometry code, L). A cylinder at least as
        long as its diameter is a long cylinder of its radius, a shorter one a plate of its
        length; a ring and a plate are plates across their thinnest dimension (wall or
        thickness). The furnace scales the surface flux of the 1-D body by its V/A over the
        part's, so that the part takes in heat through its whole surface."""
        if self.shape == "cylinder":
            if self.length >= self.diameter:
                return K.heat.CYLINDER, self.diameter / 2
            return K.heat.SLAB, self.length / 2
        if self.shape == "ring":
            return K.heat.SLAB, min((self.outer_diameter - self.inner_diameter) / 2, self.thickness) / 2
        return K.heat.SLAB, min(self.length, self.width, self.thickness) / 2


class HeatTreatment(SpecModel):
    """A routing step's operation on a furnace: the part it loads (``material`` and
    ``geometry``, for its mass and heating) and the furnace ``recipe`` it needs."""

    type: Literal["heat_treatment"]
    recipe: str | None = Field(default=None, description="a recipe of the furnace's `recipes` (needed when it has recipes)")
    material: str = Field(description="work material (twin.kernels.MATERIALS): density, heat capacity, conductivity")
    geometry: PartGeometry = Field(description="shape and size of the part in the furnace")


register_operation(HeatTreatment)


class Recipe(SpecModel):
    """A furnace program: set point, soak time and the allowed tempering parameter."""

    set_temperature: Kelvin = Field(description="furnace atmosphere, e.g. '880 degC'")
    soak: Seconds = Field(default=1800.0, ge=0, description="time at temperature after the core reached it")
    parameter_window: tuple[float, float] | None = Field(default=None, description="allowed Hollomon-Jaffe parameter (C = 20)")

    @model_validator(mode="after")
    def _window(self):
        w = self.parameter_window
        if w is not None and not w[0] < w[1]:
            raise ValueError(f"parameter_window must be [low, high] with low < high, got {list(w)}")
        return self


class FurnaceSpec(StationSpec):
    """``kind: furnace``: a batch heat-treatment furnace (one resource)."""

    kind: Literal["furnace"] = "furnace"
    batch_size: int = Field(default=10, ge=1, description="most parts per load")
    max_load: Kilograms | None = Field(default=None, gt=0, description="most mass per load, e.g. '800 kg' (needs part geometry)")
    max_wait: Seconds = Field(default=3600.0, gt=0, description="start a partial batch this long after its first part")
    recipes: dict[str, Recipe] = Field(default_factory=dict, description="named furnace programs; routing steps name theirs "
                                       "(`operations: [{type: heat_treatment, recipe: ...}]`); only parts of one recipe share a load")
    set_temperature: Kelvin | None = Field(default=None, description="without recipes: the furnace atmosphere, e.g. '860 degC'")
    soak: Seconds = Field(default=1800.0, ge=0, description="without recipes: time at temperature")
    parameter_window: tuple[float, float] | None = Field(default=None, description="without recipes: allowed Hollomon-Jaffe parameter (C = 20)")
    core_margin: float = Field(default=10.0, gt=0, description="heating ends when the core is this close to the set point [K]")
    ambient: Kelvin = Field(default=293.15, description="temperature of the parts when they are loaded")
    heating: Literal["conduction", "lumped"] = Field(
        default="conduction", description="heating model of each part: conduction inside it (finite volumes, any Bi) or lumped "
                                          "(uniform temperature; refused where Bi >= 0.1)")
    exposure: float = Field(default=1.0, gt=0, le=1, description="share of the parts' surface the atmosphere reaches (stacking "
                                                                 "on racks or in baskets hides some; needs part geometry)")
    radius: Meters | None = Field(default=None, gt=0, description="steps without a heat_treatment operation: part radius (long "
                                                                 "cylinder; no mass, no power limit)")
    material: str = Field(default="42CrMo4", description="steps without a heat_treatment operation: material of the parts")
    h: float = Field(default=150.0, gt=0, description="heat transfer coefficient in the furnace [W/(m2 K)]")
    quench: Seconds = Field(default=300.0, ge=0)
    heating_power: Watts = Field(default=60e3, ge=0, description="power while heating; with part geometry it also limits the heat "
                                                                 "flux into the load")
    holding_power: Watts = Field(default=20e3, ge=0)
    failure_scraps_batch: bool = Field(default=True, description="a failure during a cycle scraps the batch in the furnace")
    shift_end: Literal["finish", "pause"] = Field(
        default="finish", description="at a break or shift end: finish the batch in the furnace (unattended) or pause it")

    TAGS: ClassVar[tuple[str, ...]] = ("item_state", "operation_mode", "reason", "execution", "units_busy", "part_count_all",
                                       "part_count_good", "part_count_bad", "power_W", "alarm", "queue", "batch",
                                       "temperature_set_K", "recipe", "load_kg")

    @model_validator(mode="after")
    def _window(self):
        w = self.parameter_window
        if w is not None and not w[0] < w[1]:
            raise ValueError(f"parameter_window must be [low, high] with low < high, got {list(w)}")
        if self.recipes:
            given = [k for k in ("set_temperature", "soak", "parameter_window") if is_set(self, k)]
            if given:
                raise ValueError(f"with recipes, give {', '.join(given)} in each recipe, not on the furnace")
            for rname, r in self.recipes.items():
                if r.set_temperature - self.core_margin <= self.ambient:
                    raise ValueError(f"recipe {rname!r}: set_temperature - core_margin must lie above ambient (the load must heat up)")
        else:
            if self.set_temperature is None:
                raise ValueError("give set_temperature (one program for every part) or recipes")
            if self.set_temperature - self.core_margin <= self.ambient:
                raise ValueError("set_temperature - core_margin must lie above ambient (the load must heat up)")
        return self

    def programs(self) -> list[tuple[str, Recipe]]:
        """The recipes, or the one program given by the furnace's own fields."""
        if self.recipes:
            return list(self.recipes.items())
        return [("default", Recipe(set_temperature=self.set_temperature, soak=self.soak, parameter_window=self.parameter_window))]

    SETS_UP: ClassVar[bool] = False

    def cross_check(self, name, sc):
        errs = super().cross_check(name, sc)
        here = f"stations.{name}"
        visits = sc.visits(name)
        if not visits:
            errs.append((here, "no product's routing visits this furnace"))
        with_ops, without = [], []
        used_recipes = set()
        for _p, pname, i, step in visits:
            path = f"products.{pname}.routing[{i}]"
            ops = step.operations
            if not ops:
                without.append(path)
                if self.recipes:
                    errs.append((f"{path}.operations", f"furnace {name!r} has recipes: give the step "
                                                       "`operations: [{type: heat_treatment, recipe: ..., material: ..., geometry: ...}]`"))
                continue
            if len(ops) != 1 or not isinstance(ops[0], HeatTreatment):
                errs.append((f"{path}.operations", f"a furnace step takes one heat_treatment operation, not "
                                                   f"{', '.join(o.type for o in ops)}"))
                continue
            op = ops[0]
            with_ops.append(path)
            opath = f"{path}.operations[0]"
            if self.recipes:
                if op.recipe is None:
                    errs.append((f"{opath}.recipe", f"name one of furnace {name!r}'s recipes ({', '.join(self.recipes)})"))
                elif op.recipe not in self.recipes:
                    errs.append((f"{opath}.recipe", f"furnace {name!r} has no recipe {op.recipe!r} (recipes: {', '.join(self.recipes)})"))
                else:
                    used_recipes.add(op.recipe)
            elif op.recipe is not None:
                errs.append((f"{opath}.recipe", f"furnace {name!r} has no recipes (it runs one program: set_temperature, soak)"))
            if op.material not in K.MATERIALS:
                errs.append((f"{opath}.material", f"unknown material {op.material!r} (known: {', '.join(sorted(K.MATERIALS))})"))
                continue
            m = K.get_material(op.material)
            V, A = op.geometry.volume_area()
            if self.max_load is not None and m.rho * V > self.max_load:
                errs.append((f"{opath}.geometry", f"one part weighs {m.rho * V:.1f} kg, more than {name!r}'s max_load "
                                                  f"{self.max_load:g} kg"))
            if self.heating == "lumped":
                try:
                    K.check_lumped(self.h, V, A, m.k, strict=True)
                except K.LumpedValidityError:
                    bi = K.lumped_biot(self.h, V, A, m.k)
                    errs.append((f"{opath}.geometry", f"the lumped heating model needs Bi < 0.1; this part has Bi = h (V/A) / k = "
                                                      f"{bi:.3g} (V/A = {V / A * 1e3:.3g} mm, k = {m.k:g} W/(m K)): set "
                                                      f"stations.{name}.heating: conduction"))
        if with_ops and without:
            errs.append((without[0], f"give every step on furnace {name!r} a heat_treatment operation, or none "
                                     f"({with_ops[0]} has one)"))
        if without and not self.recipes:
            if self.radius is None:
                errs.append((f"{here}.radius", f"{without[0]} has no heat_treatment operation: give the parts' radius here "
                                               "(or the step its part geometry)"))
            elif self.heating == "lumped" and self.material in K.MATERIALS:
                m = K.get_material(self.material)
                if not K.lumped_biot(self.h, self.radius / 2, 1.0, m.k) < K.BI_LUMPED_MAX:
                    errs.append((f"{here}.heating", f"the lumped model needs Bi < 0.1; parts of radius {self.radius * 1e3:g} mm "
                                                    f"have Bi = {K.lumped_biot(self.h, self.radius / 2, 1.0, m.k):.3g}: use conduction"))
        if without and self.material not in K.MATERIALS:
            errs.append((f"{here}.material", f"unknown material {self.material!r} (known: {', '.join(sorted(K.MATERIALS))})"))
        if not without:
            for key in ("radius", "material"):
                if is_set(self, key):
                    errs.append((f"{here}.{key}", "is not used: every step here gives its part (heat_treatment operation)"))
        if not with_ops:
            for key in ("max_load", "exposure"):
                if is_set(self, key):
                    errs.append((f"{here}.{key}", "needs part geometry: give the steps on this furnace a heat_treatment "
                                                  "operation with material and geometry"))
        elif self.heating_power <= 0:
            errs.append((f"{here}.heating_power", "must be > 0: it heats the load (parts with geometry)"))
        for rname in self.recipes:
            if rname not in used_recipes and with_ops:
                errs.append((f"{here}.recipes.{rname}", "no routing step on this furnace uses this recipe"))
        if is_set(self, "failure_scraps_batch") and not self.failures:
            errs.append((f"{here}.failure_scraps_batch", "is not used: the furnace has no failures"))
        cal = sc.calendar_of(name)
        if is_set(self, "shift_end") and (cal is None or not (cal.shifts or cal.breaks or cal.closures())):
            errs.append((f"{here}.shift_end", "is not used: the furnace keeps no shifts or breaks"))
        return errs


class _PartType:
    """What the furnace knows of the parts of one (product, routing step): recipe index, mass [kg],
    heat capacity per area m cp / A [J/(m^2 K)], surface A [m^2], conduction body and material."""

    __slots__ = ("recipe", "mass", "c_area", "area", "geometry", "L", "mat", "scale")

    def __init__(self, recipe: int, op: HeatTreatment | None, spec: FurnaceSpec):
        self.recipe = recipe
        if op is None:  # legacy: a long cylinder of the furnace's radius, no mass
            self.mat = K.get_material(spec.material)
            self.mass, self.area, self.c_area = 0.0, 0.0, self.mat.rho * self.mat.cp * spec.radius / 2
            self.geometry, self.L = K.heat.CYLINDER, spec.radius
            self.scale = 1.0
            return
        self.mat = m = K.get_material(op.material)
        V, A = op.geometry.volume_area()
        self.mass = m.rho * V
        self.area = A
        self.c_area = m.rho * m.cp * V / A
        self.geometry, self.L = op.geometry.conduction()
        # flux scale of the 1-D body: (its V/A) / (the part's V/A), so that the heat taken in through
        # the part's whole surface is right and the small-Bi limit is the lumped model
        self.scale = (self.L / (self.geometry + 1.0)) / (V / A)


class _Forming:
    """A batch being collected for one recipe (or ready to start)."""

    __slots__ = ("recipe", "parts", "mass", "t0", "timer")

    def __init__(self, recipe: int, t0: float):
        self.recipe = recipe
        self.parts: list = []
        self.mass = 0.0
        self.t0 = t0
        self.timer = None


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
        else:
            self.show()
            f._fill()  # a batch whose wait ran out during the stop starts now

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
        progs = spec.programs()
        self.recipe_names = [n for n, _ in progs]
        self.recipes = [r for _, r in progs]
        index = {n: k for k, n in enumerate(self.recipe_names)}
        self.types: dict[tuple[int, int], _PartType] = {}
        for p, _pname, i, step in run.scenario.visits(name):
            op = step.operations[0] if step.operations else None
            self.types[(p, i)] = _PartType(index[op.recipe] if (op is not None and op.recipe is not None) else 0, op, spec)
        self.geometric = any(t.mass > 0 for t in self.types.values())
        self.lightest = [min((t.mass for t in self.types.values() if t.recipe == k), default=0.0) for k in range(len(progs))]
        self.hj = [r.set_temperature * (20.0 + math.log10(max(r.soak, 1.0) / 3600.0)) for r in self.recipes]
        self.recipe_ok = [r.parameter_window is None or r.parameter_window[0] <= hj <= r.parameter_window[1]
                          for r, hj in zip(self.recipes, self.hj)]
        self._heat_cache: dict = {}
        # the cycle of a full load of each part type alone: PRI = cycle / parts per full load
        self.pri = {}
        for key, t in self.types.items():
            n = self._full_count(t)
            self.pri[key] = self._cycle([key] * n)[0] / n
        first = next(iter(self.types), None)
        self.heating_time, self.cycle = ((self._cycle([first] * self._full_count(self.types[first]))[1:]) if first is not None
                                         else (0.0, 0.0))
        self.forming: dict[int, _Forming] = {}  # recipe -> the batch being collected
        self.ready: list[_Forming] = []  # batches that must start next (full, or unable to take a part), in order
        self.batch: list = []  # the load in the furnace
        self.batch_recipe = 0
        self.batch_mass = 0.0
        self.tripped = False
        self.out: list = []
        self.part = None  # the part offered to a blocked destination (the producer port of the buffers)
        self.dest = None
        self.parts_all = self.parts_good = self.parts_bad = 0
        self.batches = 0
        self.extra_energy_J = 0.0
        self._rows: list[tuple] = []  # one per finished batch (physics table)
        self.res = _FurnaceResource(self, spec)

    # ---- the load and its heating ----------------------------------------------------------------
    def _full_count(self, t: _PartType) -> int:
        n = self.spec.batch_size
        if self.spec.max_load is not None and t.mass > 0:
            n = min(n, max(1, int(self.spec.max_load / t.mass + 1e-9)))
        return n

    def _heating(self, keys) -> tuple[float, float]:
        """(heating time [s], flux limit [W/m^2]) of a load of parts of the given (product, step)
        keys: each part type heated to set point - core_margin with the flux min(e h (Tf - T),
        P / sum A) (e = exposure); the load is ready when its slowest part is. Cached per load."""
        counts: dict = {}
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
        ck = tuple(sorted(counts.items()))
        hit = self._heat_cache.get(ck)
        if hit is not None:
            return hit
        s = self.spec
        rec = self.recipes[self.types[keys[0]].recipe]
        Tf, T0 = rec.set_temperature, s.ambient
        Tt = Tf - s.core_margin
        e = s.exposure
        area = sum(self.types[k].area * n for k, n in counts.items())
        q_max = K.heat_flux_limit(s.heating_power, area) if (self.geometric and area > 0) else math.inf
        t_heat = 0.0
        for k in counts:
            t = self.types[k]
            if s.heating == "lumped":
                th = K.load_heating_time(t.c_area, e * s.h, e * q_max, T0, Tf, Tt)
            elif math.isinf(q_max):
                th = K.time_to_core_temperature(t.geometry, t.L, t.mat.k, t.mat.rho, t.mat.cp, t.scale * e * s.h, T0, Tf, Tt, 31)
            else:
                th = K.core_heating_time(t.geometry, t.L, t.mat.k, t.mat.rho, t.mat.cp, t.scale * e * s.h, t.scale * e * q_max,
                                         T0, Tf, Tt, 31)
            t_heat = max(t_heat, th)
        out = self._heat_cache[ck] = (t_heat, q_max)
        return out

    def _cycle(self, keys) -> tuple[float, float, float]:
        """(cycle, heating time, heating + soak + quench) of a load: heating + soak + quench."""
        t_heat, _q = self._heating(keys)
        rec = self.recipes[self.types[keys[0]].recipe]
        c = t_heat + rec.soak + self.spec.quench
        return c, t_heat, c

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
    def _take(self, part) -> None:
        """A part from an input joins its recipe's batch. A batch that is full (count or mass) or
        cannot take the part (too heavy for what is left) goes to ``ready``; the part then opens
        the next batch of its recipe."""
        t = self.types[(part.product, part.step)]
        fm = self.forming.get(t.recipe)
        s = self.spec
        if fm is not None and s.max_load is not None and fm.mass + t.mass > s.max_load + 1e-9:
            del self.forming[t.recipe]
            self.ready.append(fm)
            fm = None
        if fm is None:
            fm = self.forming[t.recipe] = _Forming(t.recipe, self.clock.now)
            fm.timer = self.clock.after(s.max_wait, lambda ev, fm=fm: self._timeout(fm))
        fm.parts.append(part)
        fm.mass += t.mass
        if len(fm.parts) >= s.batch_size or (s.max_load is not None and fm.mass + self.lightest[t.recipe] > s.max_load + 1e-9):
            del self.forming[t.recipe]
            self.ready.append(fm)

    def _fill(self) -> None:
        r = self.res
        if r.n_stops:  # a stop that let the batch in hand finish takes effect now
            r.activity = STARVED
            if r.settle():
                return
        while not self.ready:
            part = None
            for b in self.inputs:
                part = b.get()
                if part is not None:
                    break
            if part is None:
                break
            self._take(part)
        now = self.clock.now
        cands = list(self.ready) + [fm for fm in self.forming.values() if now - fm.t0 >= self.spec.max_wait - 1e-9]
        if cands:  # the oldest batch that may start: full, or waited long enough (e.g. while the furnace was busy)
            fm = min(cands, key=lambda x: x.t0)
            if fm in self.ready:
                self.ready.remove(fm)
            else:
                del self.forming[fm.recipe]
            self._start_batch(fm)
        else:
            r.activity = STARVED
            r.show()
            for b in self.inputs:
                b.wait(self)

    def receive(self, part) -> None:
        for b in self.inputs:
            b.unwait(self)
        self._take(part)
        self._fill()

    def _timeout(self, fm: _Forming) -> None:
        r = self.res
        if self.forming.get(fm.recipe) is fm and r.activity == STARVED and not r.suspended:
            for b in self.inputs:
                b.unwait(self)
            del self.forming[fm.recipe]
            self._start_batch(fm)

    def _start_batch(self, fm: _Forming) -> None:
        self.tripped = False
        self.batch = fm.parts
        self.batch_recipe = fm.recipe
        self.batch_mass = fm.mass
        keys = [(p.product, p.step) for p in fm.parts]
        self.cycle, self.heating_time, _ = self._cycle(keys)
        self._q = self._heating(keys)[1]
        self.res.work(self.cycle, self._done)

    def _done(self) -> None:
        s = self.spec
        rec = self.recipes[self.batch_recipe]
        self.batches += 1
        self.extra_energy_J += s.heating_power * self.heating_time + s.holding_power * rec.soak
        ol = self.run.ops_log
        now = self.clock.now
        out = GOOD if (self.recipe_ok[self.batch_recipe] and not self.tripped) else SCRAP
        self._rows.append((self.res.t_start, now, self.batch_recipe, len(self.batch), self.batch_mass, self.heating_time,
                           rec.soak, self._q, out == GOOD))
        for part in self.batch:
            ol.append(part.id, self.res.rid, part.step, self.res.t_start, now, out)
            self.parts_all += 1
            if out == GOOD:
                self.parts_good += 1
                part.step += 1
                self.out.append(part)
            else:
                self.parts_bad += 1
                self.run.scrap(part)
        self.batch = []
        self.batch_mass = 0.0
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

    # ---- results --------------------------------------------------------------------------------
    def tables(self) -> dict:
        """``physics_<name>``: one row per finished batch (start, end, recipe, parts, load [kg],
        heating time [s], soak [s], heat-flux limit [W/m^2] (inf: none), good)."""
        if not self._rows:
            return {}
        import pyarrow as pa

        cols = list(zip(*self._rows))
        return {f"physics_{self.name}": pa.table({
            "t_start": pa.array(cols[0], pa.float64()), "t_end": pa.array(cols[1], pa.float64()),
            "recipe": pa.array([self.recipe_names[k] for k in cols[2]], pa.string()),
            "parts": pa.array(cols[3], pa.int32()), "load_kg": pa.array(cols[4], pa.float64()),
            "heating_s": pa.array(cols[5], pa.float64()), "soak_s": pa.array(cols[6], pa.float64()),
            "q_max_W_m2": pa.array(cols[7], pa.float64()), "good": pa.array(cols[8], pa.bool_())})}

    # ---- tags -----------------------------------------------------------------------------------
    def tags(self) -> dict:
        code = self.res.code
        if code == PROCESSING or self.batch:
            n, rk, mass = len(self.batch), self.batch_recipe, self.batch_mass
        else:  # collecting: the parts for the next load (the oldest batch)
            nxt = min(list(self.ready) + list(self.forming.values()), key=lambda x: x.t0, default=None)
            n, rk, mass = (0, self.batch_recipe, 0.0) if nxt is None else (len(nxt.parts), nxt.recipe, nxt.mass)
        return {**state_tags(code),
                "units_busy": int(code == PROCESSING), "part_count_all": self.parts_all, "part_count_good": self.parts_good,
                "part_count_bad": self.parts_bad, "power_W": self.power_by_code[code],
                "alarm": "FAULT" if code == FAILURE else "NORMAL", "queue": sum(len(b.queued()) for b in self.inputs),
                "batch": n, "temperature_set_K": self.recipes[rk].set_temperature, "recipe": self.recipe_names[rk],
                "load_kg": mass}


register("furnace", FurnaceSpec, Furnace)
