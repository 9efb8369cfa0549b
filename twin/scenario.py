"""Scenario schema, loading and cross-reference checks.

One schema serves files (YAML, TOML, JSON), HTTP bodies and tests. Station and buffer kinds
come from the registry, so the ``stations`` and ``buffers`` maps accept whatever kinds are
registered; a missing ``kind`` means ``machine`` (stations) or ``buffer`` (buffers).

Every error names its field path and what is wrong; all schema errors are reported at once,
then all cross-reference errors (routing naming a missing station, a buffer between stations
that are not adjacent in any routing, ...).
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from .calendar import Calendar, WorkingTime
from .costs import CostSpec
from .station_tables import StationTable
from .specs import Layout, is_set
from .distributions import Distribution
from .registry import registry
from .pools import OperatorPoolSpec, PoolSpec
from .rules import Rule
from .units import Seconds

__all__ = [
    "ScenarioError",
    "ScenarioBase",
    "Product",
    "Step",
    "Release",
    "Order",
    "Lot",
    "DemandItem",
    "PlannedLot",
    "Layout",
    "scenario_model",
    "load",
    "load_data",
    "parse_scenario",
    "json_schema",
]


class ScenarioError(ValueError):
    """A scenario that cannot be used. ``errors`` is a list of ``(path, message)``."""

    def __init__(self, errors: list[tuple[str, str]], source: str | None = None):
        self.errors = errors
        self.source = source
        head = f"{source}: " if source else ""
        lines = [f"{head}{len(errors)} error(s) in scenario"] + [f"  {p or '<root>'}: {m}" for p, m in errors]
        super().__init__("\n".join(lines))

    def as_dicts(self) -> list[dict[str, str]]:
        return [{"path": p, "message": m} for p, m in self.errors]


#: names of stations, buffers, groups, products, crews and operator pools: letters, digits, '_'
#: and '-' (no dots: names are the first part of tag and KPI names such as ``L1.execution``)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
RESERVED_NAMES = frozenset({"plant", "source", "sink", "release", "line"})


def name_problem(name: Any) -> str | None:
    """Why ``name`` cannot name a station, buffer, group, product or pool (None if it can)."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return (f"the name {name!r} is not allowed: use 1 to 64 letters, digits, '_' or '-' "
                "(no spaces, dots or markup), starting with a letter, digit or '_'")
    if name in RESERVED_NAMES:
        return f"the name {name!r} is reserved ({', '.join(sorted(RESERVED_NAMES))})"
    return None


def _check_name(name: str) -> str:
    why = name_problem(name)
    if why:
        raise ValueError(why)
    return name


#: a name of a station, buffer, group, product or pool (checked against :data:`NAME_PATTERN`)
Name = Annotated[str, AfterValidator(_check_name)]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class Step(_M):
    """One operation of a routing: a station, or a group of parallel stations (a list or a group name)."""

    station: str | list[str] = Field(description="station name, group name, or list of parallel stations")
    process_time: Distribution | None = Field(default=None, description="overrides the station's process time for this product")
    ideal_cycle_time: Seconds | None = Field(default=None, gt=0, description="PRI (ISO 22400); default: mean process time")
    operations: list[Any] | None = Field(default=None, min_length=1, description="process plan for physics stations: cuts, "
                                         "strokes, seams, typed by `type` (the kinds register the operation types)")

    @model_validator(mode="after")
    def _ops(self):
        if self.operations is not None and self.process_time is not None:
            raise ValueError("give the step's operations (the station computes the time) or a process_time, not both")
        return self

    def members(self, groups: dict[str, list[str]]) -> list[str]:
        if isinstance(self.station, list):
            return list(self.station)
        return list(groups.get(self.station, [self.station]))


class Product(_M):
    routing: list[Step] = Field(min_length=1)
    mix: float = Field(default=1.0, ge=0, description="relative share for saturated and arrival release")


class Order(_M):
    product: str
    quantity: int = Field(ge=1)
    release: Seconds = Field(default=0.0, ge=0)
    due: Seconds | None = Field(default=None, ge=0)


#: at most this many lots over a run (per-lot KPIs are one entry per lot)
MAX_LOTS = 10_000


class PlannedLot(NamedTuple):
    """A lot as the release plays it: its name, product, size, release time [s] and due date [s] (inf: none)."""

    name: str
    product: str
    size: int
    release: float
    due: float


class _ReleaseBase(_M):
    #: products are drawn by ``mix`` (saturated and arrival release)
    USES_MIX: ClassVar[bool] = False

    def product_shares(self, sc: "ScenarioBase") -> dict[str, float]:
        """Relative quantity of each product (the pacing step weighs the products by it)."""
        return {p: prod.mix for p, prod in sc.products.items()}

    def has_due_dates(self) -> bool:
        """Do released parts carry due dates (earliest-due-date dispatching needs them)?"""
        return False

    def planned_lots(self, horizon: float) -> list[PlannedLot]:
        """The lots released before ``horizon`` (none for releases that do not work in lots)."""
        return []

    def check(self, sc: "ScenarioBase") -> list[tuple[str, str]]:
        """Cross-reference errors against the scenario."""
        return []


class SaturatedRelease(_ReleaseBase):
    """The first station of every routing always finds a part waiting."""

    kind: Literal["saturated"] = "saturated"
    USES_MIX: ClassVar[bool] = True


class ArrivalRelease(_ReleaseBase):
    """Parts arrive with random inter-arrival times; the product is drawn by ``mix``."""

    kind: Literal["arrivals"]
    interarrival: Distribution
    limit: int | None = Field(default=None, ge=1, description="stop after this many parts")
    USES_MIX: ClassVar[bool] = True

    def check(self, sc):
        if self.limit is None and not self.interarrival.mean() > 0:
            return [("release.interarrival", "has mean 0: parts would arrive without end at one instant (the clock "
                                             "never moves); give a positive mean, or a limit")]
        return []


class OrderRelease(_ReleaseBase):
    """A list of orders, each released at its time as ``quantity`` parts."""

    kind: Literal["orders"]
    orders: list[Order] = Field(min_length=1)

    def product_shares(self, sc):
        qty: dict[str, float] = {}
        for o in self.orders:
            qty[o.product] = qty.get(o.product, 0.0) + o.quantity
        return qty

    def has_due_dates(self) -> bool:
        return any(o.due is not None for o in self.orders)

    def check(self, sc):
        return _check_lot_products(sc, [(f"release.orders[{i}].product", o.product) for i, o in enumerate(self.orders)])


def _check_lot_products(sc, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    errs = [(path, f"names product {p!r}, which does not exist (products: {', '.join(sorted(sc.products))})")
            for path, p in items if p not in sc.products]
    for p, prod in sc.products.items():
        if is_set(prod, "mix"):
            errs.append((f"products.{p}.mix", f"is not used: release by {sc.release.kind} sets the quantities (mix is for "
                                              "saturated and arrival release)"))
    return errs


class Lot(_M):
    """A lot: ``size`` parts of ``product`` released together at ``release`` (not before the lot
    before it in the list), due at ``due`` (absolute sim time)."""

    product: str
    size: int = Field(ge=1, le=100_000, description="parts in the lot")
    name: Name | None = Field(default=None, description="lot name for the per-lot KPIs (default: PRODUCT-N, N counting "
                                                      "the product's lots from 1)")
    release: Seconds = Field(default=0.0, ge=0, description="earliest release; a lot is never released before the one before it")
    due: Seconds | None = Field(default=None, ge=0, description="due date (absolute sim time)")


class LotRelease(_ReleaseBase):
    """Lots released in the given sequence: each lot's parts are released together at the lot's
    ``release`` time (default 0) but never before the lot before it, and enter the line in that
    order (a campaign is a run of lots of one product). Every part carries its lot's due date;
    the KPIs report every lot (``kpis["lots"]``)."""

    kind: Literal["lots"]
    lots: list[Lot] = Field(min_length=1, max_length=MAX_LOTS, description="the lots, in release sequence")

    def product_shares(self, sc):
        qty: dict[str, float] = {}
        for lot in self.lots:
            qty[lot.product] = qty.get(lot.product, 0.0) + lot.size
        return qty

    def has_due_dates(self) -> bool:
        return any(lot.due is not None for lot in self.lots)

    def planned_lots(self, horizon: float) -> list[PlannedLot]:
        out, count, t = [], {}, 0.0
        for lot in self.lots:
            count[lot.product] = count.get(lot.product, 0) + 1
            t = max(t, lot.release)
            if t >= horizon:
                break
            out.append(PlannedLot(lot.name or f"{lot.product}-{count[lot.product]}", lot.product, lot.size, t,
                                  math.inf if lot.due is None else lot.due))
        return out

    def check(self, sc):
        errs = _check_lot_products(sc, [(f"release.lots[{i}].product", lot.product) for i, lot in enumerate(self.lots)])
        seen: dict[str, int] = {}
        for i, lot in enumerate(self.planned_lots(math.inf)):
            if lot.name in seen:
                errs.append((f"release.lots[{i}].name", f"lot name {lot.name!r} is used twice (lots[{seen[lot.name]}] and "
                                                        f"lots[{i}]); lot names identify the per-lot KPIs"))
            seen.setdefault(lot.name, i)
        return errs


class DemandItem(_M):
    """Weekly (per ``period``) demand of one product and how it is cut into lots:

    * ``lot_for_lot``: one lot per period of exactly the period's demand (no stock);
    * ``fixed``: lots of ``size`` (fixed order quantity); as many as the period's demand needs
      after the stock left from the last period, the surplus stays in stock;
    * ``eoq``: fixed lots of the economic order quantity Q = sqrt(2 D S / H) (Harris 1913),
      D the demand per period, S the ``setup_cost`` per lot, H the ``holding_cost`` per part and
      period, rounded to the nearest whole part (at least 1); netted like ``fixed``."""

    quantity: int = Field(ge=0, le=1_000_000, description="parts demanded per period")
    rule: Literal["lot_for_lot", "fixed", "eoq"] = Field(default="lot_for_lot", description="lot-sizing rule")
    size: int | None = Field(default=None, ge=1, le=100_000, description="fixed: parts per lot")
    setup_cost: float | None = Field(default=None, gt=0, description="eoq: cost per lot (setup, order) [currency]")
    holding_cost: float | None = Field(default=None, gt=0, description="eoq: cost of holding one part for one period [currency]")

    @model_validator(mode="after")
    def _rule(self):
        need = {"lot_for_lot": (), "fixed": ("size",), "eoq": ("setup_cost", "holding_cost")}[self.rule]
        for k in ("size", "setup_cost", "holding_cost"):
            given = getattr(self, k) is not None
            if k in need and not given:
                raise ValueError(f"rule {self.rule} needs {' and '.join(need)}")
            if k not in need and given:
                raise ValueError(f"{k} is not used by rule {self.rule}" + ("" if self.rule != "lot_for_lot" else
                                                                            " (use rule: fixed for lots of a fixed size)"))
        return self

    def lot_size(self) -> int:
        """Parts per lot of the fixed and eoq rules (the demand itself for lot-for-lot)."""
        if self.rule == "fixed":
            return self.size
        if self.rule == "eoq":
            return max(1, round(math.sqrt(2.0 * self.quantity * self.setup_cost / self.holding_cost)))
        return self.quantity


class DemandRelease(_ReleaseBase):
    """Lots from a demand per product and period (default one week) and a lot-sizing rule per
    product. At the start of every period its lots are released, due at the period's end, in
    ``sequence``: ``campaign`` (all lots of one product, then the next, in the order of
    ``demand``) or ``interleave`` (one lot of each product in turn)."""

    kind: Literal["demand"]
    period: Seconds = Field(default=7 * 86400.0, gt=0, description="demand period, e.g. '1 week'")
    demand: dict[str, DemandItem] = Field(min_length=1, description="product -> demand per period and lot-sizing rule")
    sequence: Literal["campaign", "interleave"] = Field(default="campaign", description="order of the lots within a period")

    def product_shares(self, sc):
        return {p: float(d.quantity) for p, d in self.demand.items()}

    def has_due_dates(self) -> bool:
        return True

    def planned_lots(self, horizon: float) -> list[PlannedLot]:
        stock = {p: 0 for p in self.demand}
        out: list[PlannedLot] = []
        k = 0
        while k * self.period < horizon:
            t0, due = k * self.period, (k + 1) * self.period
            per: dict[str, list[int]] = {}
            for p, d in self.demand.items():
                if d.rule == "lot_for_lot":
                    per[p] = [d.quantity] if d.quantity > 0 else []
                    continue
                q = d.lot_size()
                net = max(0, d.quantity - stock[p])
                n = -(-net // q)
                per[p] = [q] * n
                stock[p] += n * q - d.quantity
            if self.sequence == "campaign":
                seq = [(p, j, size) for p, sizes in per.items() for j, size in enumerate(sizes)]
            else:
                most = max((len(v) for v in per.values()), default=0)
                seq = [(p, j, per[p][j]) for j in range(most) for p in per if j < len(per[p])]
            out += [PlannedLot(f"{p}-p{k + 1}-{j + 1}", p, size, t0, due) for p, j, size in seq]
            if len(out) > MAX_LOTS:
                break
            k += 1
        return out

    def check(self, sc):
        errs = _check_lot_products(sc, [(f"release.demand.{p}", p) for p in self.demand])
        if not errs and len(self.planned_lots(sc.horizon)) > MAX_LOTS:
            errs.append(("release.demand", f"more than {MAX_LOTS:,} lots over the horizon: use larger lots or a shorter horizon"))
        if not errs and not self.planned_lots(sc.horizon):
            errs.append(("release.demand", "no lot over the horizon: every quantity is 0"))
        return errs


Release = Annotated[Union[SaturatedRelease, ArrivalRelease, OrderRelease, LotRelease, DemandRelease], Field(discriminator="kind")]


class SignalSpec(_M):
    """Non-idealities of one tag as automation sees it (API, OPC UA, rules)."""

    delay: Seconds = Field(default=0.0, ge=0, description="transport delay (resolution: the reads)")
    noise: float = Field(default=0.0, ge=0, description="standard deviation of added Gaussian noise (numeric tags)")
    stuck_at: float | str | None = Field(default=None, description="the tag always reads this value (a number or a text such as 'ACTIVE')")
    dropout: float = Field(default=0.0, ge=0, le=1, description="probability that a read returns null (UNAVAILABLE)")


class RecordingSpec(_M):
    """Machine signals for condition-monitoring work: per machining station, one feature row
    per ``window`` of cutting (vibration RMS, peak, kurtosis, tooth-passing and chatter band
    energies from a ``snippet`` synthesised at ``sample_rate``; spindle load; spindle
    temperature) with ground truth (flank wear, stability, time to the unit's next failure),
    written as ``signals_<station>.parquet``; ``raw`` seconds of the raw vibration as well."""

    stations: list[str] = Field(min_length=1, description="machining stations to record")
    window: Seconds = Field(default=1.0, gt=0, description="cutting time per feature row")
    snippet: Seconds = Field(default=0.1, gt=0, description="vibration synthesised per row (features come from it)")
    sample_rate: float = Field(default=10_000.0, gt=0, description="vibration sample rate [Hz]")
    start: Seconds = Field(default=0.0, ge=0, description="record from this sim time")
    stop: Seconds | None = Field(default=None, gt=0, description="record until this sim time (default: the horizon)")
    raw: Seconds = Field(default=0.0, ge=0, description="seconds of raw vibration to keep (from the first recorded cut)")
    a0: float = Field(default=1.0, gt=0, description="vibration amplitude of a new tool [m/s^2]")
    noise: float = Field(default=0.2, ge=0, description="vibration noise [m/s^2 RMS]")

    @model_validator(mode="after")
    def _snip(self):
        if self.snippet > self.window:
            raise ValueError("snippet must not be longer than window")
        return self


class ScenarioBase(_M):
    """Fields common to every scenario; ``stations`` and ``buffers`` are added from the registry."""

    name: str = "scenario"
    description: str = ""
    horizon: Seconds = Field(gt=0, description="simulated time, e.g. '8 h' or '1 week'")
    warmup: Seconds = Field(default=0.0, ge=0, description="excluded from KPIs")
    seed: int = Field(default=0, ge=0, lt=2**63, description="random seed (0 <= seed < 2**63)")
    calendar: Calendar | None = None
    groups: dict[Name, list[str]] = Field(default_factory=dict, description="named groups of parallel stations")
    products: dict[Name, Product] = Field(min_length=1)
    release: Release = Field(default_factory=SaturatedRelease)
    rules: list["Rule"] = Field(default_factory=list, description="automation rules: when TAG condition then command")
    signals: dict[str, SignalSpec] = Field(default_factory=dict, description="tag name -> non-idealities (delay, noise, stuck-at, dropout)")
    recording: RecordingSpec | None = Field(default=None, description="machine signals with ground-truth labels for AI work")
    calendars: dict[Name, WorkingTime] = Field(default_factory=dict, description="working-time patterns for stations that keep "
                                               "other hours than the plant (a station names one in `calendar`)")
    crews: dict[Name, PoolSpec] = Field(default_factory=dict, description="repair / maintenance crews named by failure profiles and maintenance plans")
    operators: dict[Name, OperatorPoolSpec] = Field(default_factory=dict, description="operator pools with skills and shifts, asked for by stations' `operator`")
    station_tables: list[StationTable] = Field(default_factory=list, exclude=True, description=(
        "CSV or XLSX tables of station data (process times, failures, setups), merged into `stations` when the file is "
        "loaded; paths relative to the scenario file (docs/scenario.md, Station data from tables)"))
    costs: CostSpec | None = Field(default=None, description="cost model: machine hour rates, labour rates, energy price and "
                                   "tariff, material, scrap cost and price per product, investment per station (docs/costs.md)")

    @model_validator(mode="before")
    @classmethod
    def _default_kinds(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for section, default in (("stations", "machine"), ("buffers", "buffer")):
                sec = data.get(section)
                if isinstance(sec, dict):
                    data[section] = {
                        k: ({"kind": default, **v} if isinstance(v, dict) and "kind" not in v else v)
                        for k, v in sec.items()
                    }
        return data

    @model_validator(mode="after")
    def _tables(self):
        if self.station_tables:
            raise ValueError("station_tables are read when a scenario file is loaded (twin.load, the CLI): their paths are "
                             "relative to the file; a scenario given as data must carry the station fields itself")
        return self

    @model_validator(mode="after")
    def _warmup(self):
        if self.warmup >= self.horizon:
            raise ValueError(f"warmup ({self.warmup} s) must be shorter than horizon ({self.horizon} s)")
        return self

    # ---- derived views used by the engine and checks -------------------------------------
    def step_members(self, product: str, i: int) -> list[str]:
        return self.products[product].routing[i].members(self.groups)

    def calendar_of(self, station: str) -> Calendar | None:
        """The working-time calendar of ``station``: its named pattern of ``calendars`` on the
        plant's clock, else the plant calendar (None: always working)."""
        spec = self.stations.get(station)
        name = None if spec is None else spec.calendar
        if name is None or name not in self.calendars:
            return self.calendar
        return (self.calendar or Calendar()).with_pattern(self.calendars[name])

    def visits(self, station: str) -> list[tuple[int, str, int, "Step"]]:
        """The routing steps that run on ``station``: (product index, product name, step index,
        step), in product and routing order. Indexed once per scenario (a line of thousands of
        stations assembles in linear time)."""
        index = self.__dict__.get("_visits")
        if index is None:
            index = {}
            for p, (pname, prod) in enumerate(self.products.items()):
                for i, step in enumerate(prod.routing):
                    for m in step.members(self.groups):
                        index.setdefault(m, []).append((p, pname, i, step))
            self.__dict__["_visits"] = index
        return index.get(station, [])

    def dump(self) -> dict:
        """The resolved scenario (SI numbers), loadable again."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


@functools.cache
def _model_for(version: int) -> type[ScenarioBase]:
    def union(category: str):
        specs = tuple(k.spec for k in registry.kinds(category))
        if len(specs) == 1:
            return specs[0]
        return Annotated[Union[specs], Field(discriminator="kind")]

    ops = tuple(dict.fromkeys(registry.operations().values()))
    op_type = (ops[0] if len(ops) == 1 else Annotated[Union[ops], Field(discriminator="type")]) if ops else dict[str, Any]
    step = create_model("Step", __base__=Step, operations=(
        list[op_type] | None, Field(default=None, min_length=1, description=Step.model_fields["operations"].description)))
    product = create_model("Product", __base__=Product, routing=(list[step], Field(min_length=1)))
    return create_model(
        "Scenario",
        __base__=ScenarioBase,
        products=(dict[Name, product], Field(min_length=1)),
        stations=(dict[Name, union("station")], Field(min_length=1)),
        buffers=(dict[Name, union("buffer")], Field(default_factory=dict)),
    )


def scenario_model() -> type[ScenarioBase]:
    """The scenario model class for the kinds registered now."""
    registry.ensure_loaded()
    return _model_for(registry.version)


def json_schema() -> dict:
    schema = scenario_model().model_json_schema(by_alias=True)
    schema["title"] = "twin scenario"
    return schema


# ---- errors --------------------------------------------------------------------------------
def _loc(loc: tuple, data: Any, tags: set[str]) -> str:
    """A pydantic error location as a field path (``stations.L1.tools.T1.vb_max``,
    ``rules[0].then.value``). Pydantic also puts union tags (kind, command and distribution
    names) and validator names in the location: the walk keeps the keys and indices that exist
    in the input ``data``, skips tags, and ends with the one missing or unknown field, if any."""
    out: list[str] = []
    node = data
    tagged = None  # the node whose union tag was skipped (a node has one tag)
    for part in loc:
        if (isinstance(part, str) and part in tags and isinstance(node, dict) and node is not tagged
                and any(isinstance(v, str) and v == part for v in node.values())):
            tagged = node
            continue  # the union tag of this node (``kind: lots`` next to a field ``lots``), not a key
        if isinstance(node, dict) and part in node:
            out.append(("." if out else "") + str(part))
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int):
            out.append(f"[{part}]")
            node = node[part] if 0 <= part < len(node) else None
        elif part == "[key]":
            continue  # the key itself is wrong: the path ends at it
        elif isinstance(part, str) and (part in tags or part.startswith(("function-", "json-or-python", "constrained-"))
                                        or part in ("float", "int", "str", "bool", "none", "list", "dict")):
            continue  # a union tag or a validator name: not part of the path
        else:
            out.append(f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part))
            node = None
    return "".join(out)


_DIST_TAGS = {"constant", "uniform", "triangular", "exponential", "normal", "lognormal", "gamma", "erlang", "weibull", "empirical"}
_RELEASE_TAGS = {"saturated", "arrivals", "orders", "lots", "demand"}


def _union_tags() -> set[str]:
    from .commands import COMMANDS

    return {k.name for k in registry.kinds()} | _DIST_TAGS | _RELEASE_TAGS | set(COMMANDS) | set(registry.operations())


def _pydantic_errors(exc: ValidationError, data: Any = None) -> list[tuple[str, str]]:
    tags = _union_tags()
    out = []
    for e in exc.errors(include_url=False):
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; `twin schema` lists the fields)"
        loc = _loc(e["loc"], data, tags)
        if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            field = str((e.get("ctx") or {}).get("discriminator", "")).strip("'")
            if field:  # name the field that picks the variant: stations.X.kind, rules[0].then.command
                loc = f"{loc}.{field}" if loc else field
            msg = msg.replace("Input tag", "value")
        out.append((loc, msg))
    return out


# ---- cross references ----------------------------------------------------------------------
def cross_check(sc: ScenarioBase) -> list[tuple[str, str]]:
    errs: list[tuple[str, str]] = []
    stations = set(sc.stations)
    for g, members in sc.groups.items():
        if g in stations:
            errs.append((f"groups.{g}", f"group name {g!r} is also a station name"))
        for m in members:
            if m not in stations:
                errs.append((f"groups.{g}", f"names station {m!r}, which does not exist (stations: {', '.join(sorted(stations))})"))
    adjacent: set[tuple[str, str]] = set()
    for pname, prod in sc.products.items():
        prev: list[str] | None = ["source"]
        for i, step in enumerate(prod.routing):
            members = step.members(sc.groups)
            for m in members:
                if m not in stations:
                    errs.append(
                        (f"products.{pname}.routing[{i}].station",
                         f"names station {m!r}, which does not exist (stations: {', '.join(sorted(stations))})")
                    )
            if not members:
                errs.append((f"products.{pname}.routing[{i}].station", "names no station"))
            for a in prev or []:
                for b in members:
                    adjacent.add((a, b))
            prev = members
        for a in prev or []:
            adjacent.add((a, "sink"))
    known = stations | set(sc.groups) | {"source", "sink"}
    for bname, buf in sc.buffers.items():
        ends = buf.ends()
        field = (lambda side: "between") if buf.between is not None else (lambda side: side)
        for side, names in zip(("from", "to"), ends):
            for n in names:
                if n not in known:
                    errs.append((f"buffers.{bname}.{field(side)}", f"names {n!r}, which is neither a station nor a group"))
        if all(n in known for side in ends for n in side):
            a_set = [m for n in ends[0] for m in sc.groups.get(n, [n])]
            b_set = [m for n in ends[1] for m in sc.groups.get(n, [n])]
            if not any((a, b) in adjacent for a in a_set for b in b_set):
                upstream_ok = any(a == x for a in a_set for x, _ in adjacent)
                errs.append(
                    (f"buffers.{bname}.{'between' if buf.between is not None else ('to' if upstream_ok else 'from')}",
                     f"lies between {ends[0]} and {ends[1]}, which are not adjacent in any product's routing")
                )
    errs.extend(sc.release.check(sc))
    if sc.release.USES_MIX and sum(p.mix for p in sc.products.values()) <= 0:
        errs.append(("products", "at least one product needs mix > 0"))
    if sc.calendar is not None:
        for i, w in enumerate(sc.calendar.maintenance):
            for s in w.stations:
                if s not in stations:
                    errs.append((f"calendar.maintenance[{i}].stations", f"names station {s!r}, which does not exist"))
    targets = set(sc.stations) | set(sc.buffers)
    for tag in sc.signals:
        head = tag.split(".")[0]
        if head != "plant" and head not in targets:
            errs.append((f"signals.{tag}", f"names {head!r}, which is neither a station, a buffer nor 'plant'"))
    for i, r in enumerate(sc.rules):
        tag = r.parts()[0]
        head = tag.split(".")[0]
        if head != "plant" and head not in targets:
            errs.append((f"rules[{i}].when", f"tag {tag!r} names {head!r}, which is neither a station, a buffer nor 'plant'"))
        for key in ("then", "otherwise"):
            cmd = getattr(r, key)
            if cmd is not None:
                errs.extend(_check_command_target(sc, cmd, f"rules[{i}].{key}"))
    shift_names = {sh.name for sh in sc.calendar.shifts} if sc.calendar is not None else set()
    for sec in ("crews", "operators"):
        for pname, pool in getattr(sc, sec).items():
            for sh in pool.shifts or ():
                if sh not in shift_names:
                    errs.append((f"{sec}.{pname}.shifts", f"names shift {sh!r}, which calendar.shifts does not define"
                                 + (f" (shifts: {', '.join(sorted(shift_names))})" if shift_names else "")))
    for sname, spec in sc.stations.items():
        for i, f in enumerate(spec.failures):
            if f.crew is not None and f.crew not in sc.crews:
                errs.append((f"stations.{sname}.failures[{i}].crew", f"names crew {f.crew!r}, which `crews` does not define"))
        if spec.calendar is not None and spec.calendar not in sc.calendars:
            errs.append((f"stations.{sname}.calendar", f"names {spec.calendar!r}, which `calendars` does not define"
                         + (f" (calendars: {', '.join(sorted(sc.calendars))})" if sc.calendars else "")))
    used = {spec.calendar for spec in sc.stations.values()}
    for cname in sc.calendars:
        if cname not in used:
            errs.append((f"calendars.{cname}", "no station keeps this calendar (name it in a station's `calendar`)"))
    if sc.recording is not None:
        for i, n in enumerate(sc.recording.stations):
            if n not in stations or not sc.stations[n].RECORDABLE:
                kinds = sorted(k.name for k in registry.kinds("station") if k.spec.RECORDABLE)
                errs.append((f"recording.stations[{i}]", f"names {n!r}, which is not a station that can record signals ({', '.join(kinds)})"))
        rec = sc.recording
        a, b = rec.start, (sc.horizon if rec.stop is None else min(rec.stop, sc.horizon))
        if a >= b:
            errs.append(("recording.start", f"the recording window [{a:g} s, {b:g} s] is empty (horizon {sc.horizon:g} s)"))
        elif any((c := sc.calendar_of(n)) is not None and c.off_shift(sc.horizon) for n in rec.stations):
            from .calendar import intersect, merge

            on = merge([iv for n in rec.stations if (c := sc.calendar_of(n)) is not None for iv in c.on_shift(sc.horizon)]
                       or [], 0.0, sc.horizon)
            if not intersect(on, [(a, b)]):
                nxt = next((x for x, _ in on if x >= b), None)
                errs.append(("recording.stop" if rec.stop is not None else "recording.start",
                             f"the recording window [{a / 3600:g} h, {b / 3600:g} h] holds no working time: the stations do not "
                             "cut outside the calendar's shifts" + (f" (the next shift starts at {nxt / 3600:g} h)" if nxt is not None else "")))
    for section in (sc.stations, sc.buffers):
        for sname, spec in section.items():
            errs.extend(spec.cross_check(sname, sc))
    from .costs import cross_check as cost_check

    errs.extend(cost_check(sc))
    return errs


def _check_command_target(sc: ScenarioBase, cmd, path: str) -> list[tuple[str, str]]:
    """A rule's command names a target of the right sort that takes the command."""
    from .commands import COMMANDS

    sort = COMMANDS[cmd.command].target
    t = cmd.target
    if sort == "station":
        spec = sc.stations.get(t)
        if spec is None:
            return [(f"{path}.target", f"names {t!r}, which is not a station (stations: {', '.join(sorted(sc.stations))})")]
        accepts = registry.get(spec.kind).runtime.accepts
        if cmd.command != "route" and cmd.command not in accepts:  # route names where a part goes
            return [(f"{path}.command", f"station {t!r} ({spec.kind}) does not take {cmd.command} (it takes: {', '.join(sorted(accepts))})")]
    elif sort == "buffer" and t not in sc.buffers:
        return [(f"{path}.target", f"names {t!r}, which is not a buffer (buffers: {', '.join(sorted(sc.buffers)) or 'none'})")]
    elif sort == "any" and t not in sc.stations and t not in sc.buffers and t != "release":
        return [(f"{path}.target", f"names {t!r}, which is neither a station, a buffer nor 'release'")]
    return []


# ---- loading -------------------------------------------------------------------------------
#: a scenario file may not expand (YAML aliases counted every time they are used) to more nodes
#: than this: real scenarios have a few thousand, an alias bomb has billions
MAX_YAML_NODES = 200_000


def _yaml_loader():
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        """Safe YAML that refuses duplicate keys (YAML says keys are unique; PyYAML lets the
        last one win silently). Keys brought in by a merge (``<<: *anchor``) may be overridden."""

        def construct_mapping(self, node, deep=False):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable key: PyYAML reports it itself
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first at line {first})", key_node.start_mark)
                seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

    return Loader


def _expanded_size(node, limit: int) -> int:
    """Number of nodes ``node`` stands for once every alias is expanded (memoised, so an alias
    bomb is measured in linear time); raises ValueError above ``limit`` or on a recursive alias."""
    import yaml

    memo: dict[int, int] = {}
    busy: set[int] = set()

    def size(n) -> int:
        k = id(n)
        if k in memo:
            return memo[k]
        if k in busy:
            raise ValueError(f"recursive alias at line {n.start_mark.line + 1}")
        busy.add(k)
        total = 1
        if isinstance(n, yaml.MappingNode):
            for a, b in n.value:
                total += size(a) + size(b)
                if total > limit:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for a in n.value:
                total += size(a)
                if total > limit:
                    break
        busy.discard(k)
        memo[k] = total
        if total > limit:
            raise ValueError(f"the document expands to more than {limit:,} nodes (aliases counted where they are used); "
                             "is this an alias bomb?")
        return total

    return size(node)


def _load_yaml(text: str):
    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, MAX_YAML_NODES)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _load_json(text: str):
    def pairs(items):
        out = {}
        for k, v in items:
            if k in out:
                raise ValueError(f"duplicate key {k!r}")
            out[k] = v
        return out

    return json.loads(text, object_pairs_hook=pairs)


def _decode(raw: bytes) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), else a message saying what it is."""
    if b"\x00" in raw[:8192]:
        raise ValueError("this is a binary file, not a scenario (YAML, TOML or JSON text)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(f"the file is not UTF-8 text: byte 0x{raw[e.start]:02x} on line {line} "
                         "(saved as Latin-1 or Windows-1252? save it as UTF-8)") from None


def load_data(path: str | Path) -> dict:
    """Read a scenario file (YAML, TOML or JSON, by extension) into a plain dict.

    Refuses, with a :class:`ScenarioError` naming the problem: files that are not UTF-8 text,
    duplicate keys (YAML and JSON would silently keep the last one), and YAML whose aliases
    expand beyond :data:`MAX_YAML_NODES` nodes."""
    p = Path(path)
    if not p.exists():
        raise ScenarioError([("", f"file not found: {p}")], str(p))
    suffix = p.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml", ".json"):
        raise ScenarioError([("", f"unknown scenario format {suffix!r}: use .yaml, .yml, .toml or .json")], str(p))
    try:
        text = _decode(p.read_bytes())
    except OSError as e:
        raise ScenarioError([("", f"cannot read the file: {e.strerror or e}")], str(p)) from None
    except ValueError as e:
        raise ScenarioError([("", str(e))], str(p)) from None
    try:
        if suffix in (".yaml", ".yml"):
            data = _load_yaml(text)
        elif suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = _load_json(text)
    except RecursionError:
        raise ScenarioError([("", f"cannot parse {suffix[1:].upper()}: nested too deeply")], str(p)) from None
    except Exception as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:  # a YAML error: say where, without PyYAML's "<unicode string>" context
            what = getattr(exc, "problem", None) or str(exc)
            raise ScenarioError([("", f"cannot parse YAML: line {mark.line + 1}, column {mark.column + 1}: {what}")], str(p)) from None
        raise ScenarioError([("", f"cannot parse {suffix[1:].upper()}: {exc}")], str(p)) from None
    if not isinstance(data, dict):
        raise ScenarioError([("", "the file must hold a mapping at the top level")], str(p))
    return data


def parse_scenario(data: dict | ScenarioBase, source: str | None = None, **overrides) -> ScenarioBase:
    """Validate a dict (or re-validate a scenario with ``overrides``) into a scenario model."""
    if isinstance(data, ScenarioBase):
        data = data.dump()
    data = dict(data)
    for k, v in overrides.items():
        if v is not None:
            data[k] = v
    model = scenario_model()
    try:
        sc = model.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_pydantic_errors(exc, data), source) from None
    errs = cross_check(sc)
    if errs:
        raise ScenarioError(errs, source)
    return sc


def load(path: str | Path, **overrides) -> ScenarioBase:
    """Load and validate a scenario file (merging its ``station_tables``, CSV or XLSX files next to
    it). Raises :class:`ScenarioError` naming every problem."""
    data = load_data(path)
    if "station_tables" in data:
        from .station_tables import apply_station_tables

        try:
            data = apply_station_tables(data, Path(path).resolve().parent)
        except ScenarioError as e:
            raise ScenarioError(e.errors, str(path)) from None
    return parse_scenario(data, str(path), **overrides)
