"""The KPI registry: every KPI the twin reports, defined once.

Each entry names the KPI, its level (``line``, ``stations``, ``buffers``, ``pools``, ``lots``), its unit in
the JSON results (SI, or a named count), how people read it (display unit and scale), what it
means, the ISO 22400-2 element or KPI it follows, and how it is aggregated over replications.
The CLI tables, the JSON results, the HTTP API, the viewer's legend and the name checks of
``--expect`` / ``--gate`` / ``--objective`` all read this table, so a KPI name that is not here is
refused before anything runs.

>>> kpi("line", "oee").unit, kpi("line", "oee").display
('1', '%')
>>> check_key("oee")
'line.oee'
>>> check_key("line.oeee")
Traceback (most recent call last):
...
twin.kpidefs.KPIKeyError: unknown KPI 'line.oeee' (did you mean line.oee?)
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Iterable, Literal

__all__ = ["KPI", "KPIS", "KPIKeyError", "kpi", "check_key", "levels", "fmt", "unit", "keys_of", "names_in"]

Level = Literal["line", "stations", "buffers", "pools", "lots"]


class KPIKeyError(ValueError):
    """A KPI name that is not in the registry (or names a station, buffer or pool that does not exist)."""


@dataclass(frozen=True)
class KPI:
    level: str
    name: str
    unit: str  # unit of the JSON value: SI ('s', 'J', 'W'), '1' for ratios, or a count ('parts', 'failures')
    description: str
    iso: str = ""  # the ISO 22400-2 element / KPI it follows ('' when not an ISO 22400 quantity)
    aggregate: str = "mean"  # over replications: mean (with a t-interval), mode (categorical), none
    display: str = ""  # unit people read: '%', 'min', 'h', 'kWh', 'parts/h', '' (as is)
    label: str = ""
    better: str = ""  # 'higher', 'lower' or '' (neither): colours of the viewer, verdict arrows

    @property
    def key(self) -> str:
        return f"{self.level}.{self.name}" if self.level == "line" else f"{self.level}.*.{self.name}"

    @property
    def numeric(self) -> bool:
        return self.aggregate == "mean"


_SCALE = {"%": 100.0, "min": 1 / 60.0, "h": 1 / 3600.0, "kWh": 1 / 3.6e6, "": 1.0, "parts/h": 1.0, "parts": 1.0}


_HIGHER = {"availability", "effectiveness", "quality_ratio", "oee", "technical_efficiency", "utilization",
           "throughput_per_hour", "parts_completed", "mtbf_s", "utilisation", "on_shift",
           "lots_completed", "lot_on_time_share", "good", "on_time", "revenue", "profit"}
_LOWER = {"scrap_ratio", "rework_ratio", "setup_rate", "blocked_share", "starved_share", "down_share", "setup_share",
          "mttr_s", "lead_time_mean_s", "lead_time_p50_s", "lead_time_p95_s", "wip_mean", "tardy_share", "energy_J",
          "energy_kWh", "energy_per_good_part_J", "parts_scrapped", "mean_queue", "mean_wait_s", "max_wait_s", "failures",
          "lot_lead_time_mean_s", "lot_lead_time_max_s", "lot_tardiness_mean_s", "scrapped", "lead_time_s", "lateness_s",
          "cost_total", "cost_machine", "cost_labour", "cost_energy", "cost_material", "cost_scrap", "cost_per_good_part",
          *(f"cost_per_good_part_{x}" for x in ("machine", "labour", "energy", "material", "scrap"))}


def _k(level, name, unit, description, iso="", aggregate="mean", display="", label=""):
    better = "higher" if name in _HIGHER else "lower" if name in _LOWER else ""
    return KPI(level, name, unit, description, iso, aggregate, display or "", label or name.replace("_", " "), better)


_TIME = [
    ("POT", "planned operation time: window minus off-shift time", "POT"),
    ("PDOT", "planned down time: breaks and planned maintenance", "PDOT"),
    ("PBT", "planned busy time = POT - PDOT", "PBT"),
    ("APT", "actual production time (Executing + Processing)", "APT"),
    ("AUST", "actual unit setup time (Executing + Setup)", "AUST"),
    ("ADET", "actual unit delay time (failures)", "ADET"),
    ("ADOT", "actual unit down time (NotExecuting: starved, blocked, held)", "ADOT"),
    ("APMT", "actual preventive maintenance time", "APMT"),
]

_STATION = [
    *[_k("stations", n, "s", d, f"ISO 22400-2 time element {iso}", display="h") for n, d, iso in _TIME],
    _k("stations", "PQ", "parts", "produced quantity: operations finished in the window", "ISO 22400-2 PQ"),
    _k("stations", "GQ", "parts", "good quantity", "ISO 22400-2 GQ"),
    _k("stations", "SQ", "parts", "scrap quantity", "ISO 22400-2 SQ"),
    _k("stations", "RQ", "parts", "rework quantity", "ISO 22400-2 RQ"),
    _k("stations", "availability", "1", "A = APT / PBT (1, flagged, when PBT = 0)", "ISO 22400-2 availability", display="%"),
    _k("stations", "effectiveness", "1", "E = sum(PRI) x PQ / APT (uncapped; flagged above 1)", "ISO 22400-2 effectiveness", display="%"),
    _k("stations", "quality_ratio", "1", "QR = GQ / PQ", "ISO 22400-2 quality ratio", display="%"),
    _k("stations", "oee", "1", "OEE = A x E x QR", "ISO 22400-2 OEE index", display="%", label="OEE"),
    _k("stations", "technical_efficiency", "1", "APT / (APT + ADET)", "ISO 22400-2 technical efficiency", display="%"),
    _k("stations", "setup_rate", "1", "AUST / (APT + AUST)", "ISO 22400-2 setup rate", display="%"),
    _k("stations", "scrap_ratio", "1", "SQ / PQ", "ISO 22400-2 scrap ratio", display="%"),
    _k("stations", "rework_ratio", "1", "RQ / PQ", "ISO 22400-2 rework ratio", display="%"),
    _k("stations", "failures", "failures", "failures that started in the window"),
    _k("stations", "mtbf_s", "s", "MTBF = (PBT - ADET) / failures", "ISO 22400-2 mean time between failures", display="h", label="MTBF"),
    _k("stations", "mttr_s", "s", "MTTR = ADET / failures", "ISO 22400-2 mean time to repair", display="min", label="MTTR"),
    _k("stations", "utilization", "1", "(APT + AUST) / PBT", display="%"),
    _k("stations", "blocked_share", "1", "blocked time / PBT", display="%"),
    _k("stations", "starved_share", "1", "starved time / PBT", display="%"),
    _k("stations", "down_share", "1", "ADET / PBT", display="%"),
    _k("stations", "setup_share", "1", "AUST / PBT", display="%"),
    _k("stations", "units", "units", "parallel units (resources) of the station", aggregate="none"),
    _k("stations", "energy_J", "J", "electrical energy: time in each state x its power, plus process energy",
       "ISO 22400-2 comprehensive energy consumption", display="kWh", label="energy"),
    _k("stations", "energy_kWh", "kWh", "energy_J in kWh"),
    _k("stations", "mean_active_period_s", "s", "mean length of the periods the station is active (not starved, "
       "blocked or held): the bottleneck measure of Roser, Nakano, Tanaka (2001)", display="min", label="active period"),
    _k("stations", "flags", "", "notes on the KPIs (PBT = 0, effectiveness above 1)", aggregate="none"),
    _k("stations", "cost_machine", "currency", "hour rate x planned operation time (POT), all units", label="machine cost"),
    _k("stations", "cost_energy", "currency", "energy of the station x price in force", label="energy cost"),
]

#: cost KPIs (present when the scenario has a ``costs`` section; twin/costs.py); amounts in the
#: scenario's currency (``line.currency``)
_COST_LINE = [
    _k("line", "cost_total", "currency", "machine + labour + energy + material + scrap cost in the window", label="cost total"),
    _k("line", "cost_machine", "currency", "machine hour rates x planned operation time (POT)", label="machine cost"),
    _k("line", "cost_labour", "currency", "labour rates x members x hours on shift", label="labour cost"),
    _k("line", "cost_energy", "currency", "energy x price in force (time-of-use tariff)", label="energy cost"),
    _k("line", "cost_material", "currency", "material of the parts that left the line (good and scrapped)", label="material cost"),
    _k("line", "cost_scrap", "currency", "scrap cost of the parts scrapped", label="scrap cost"),
    _k("line", "cost_per_good_part", "currency", "cost_total / good parts", label="cost per good part"),
    *[_k("line", f"cost_per_good_part_{x}", "currency", f"cost_{x} / good parts", label=f"  {x} per good part")
      for x in ("machine", "labour", "energy", "material", "scrap")],
    _k("line", "investment", "currency", "capital in the stations: investment x units", label="investment"),
    _k("line", "revenue", "currency", "price x good parts (products with a price)", label="revenue"),
    _k("line", "profit", "currency", "revenue - cost_total", label="profit"),
    _k("line", "currency", "", "the currency of every amount", aggregate="none"),
]

_LINE = [
    _k("line", "parts_released", "parts", "parts released into the line (whole run)"),
    _k("line", "parts_completed", "parts", "good parts that left the line in the window", "ISO 22400-2 GQ (line)"),
    _k("line", "parts_scrapped", "parts", "parts scrapped anywhere in the line in the window", "ISO 22400-2 SQ (line)"),
    _k("line", "parts_completed_total", "parts", "good parts that left the line (whole run)"),
    _k("line", "parts_scrapped_total", "parts", "parts scrapped (whole run)"),
    _k("line", "wip_end", "parts", "parts in the line at the end of the run"),
    _k("line", "throughput_per_hour", "parts/h", "good parts per hour of the window", display="parts/h", label="throughput"),
    _k("line", "wip_mean", "parts", "time-average number of released, unfinished parts", label="WIP mean"),
    _k("line", "lead_time_mean_s", "s", "mean time from release to completion", display="min", label="lead time mean"),
    _k("line", "lead_time_p50_s", "s", "median lead time", display="min", label="lead time p50"),
    _k("line", "lead_time_p95_s", "s", "95th percentile of the lead time", display="min", label="lead time p95"),
    _k("line", "littles_law_wip", "parts", "exit rate x mean sojourn (equals wip_mean up to window-boundary terms)"),
    _k("line", "tardy_share", "1", "share of completed parts later than their due date", display="%"),
    _k("line", "pacing_station", "", "the routing step with the largest planned load (sum over products of "
       "mix share x PRI / units): the line's time elements and A and E are its own", aggregate="mode", label="pacing step"),
    _k("line", "POT", "s", "planned operation time of the pacing step, per unit", "ISO 22400-2 POT", display="h"),
    _k("line", "PBT", "s", "planned busy time of the pacing step, per unit", "ISO 22400-2 PBT", display="h"),
    _k("line", "APT", "s", "actual production time of the pacing step, per unit", "ISO 22400-2 APT", display="h"),
    _k("line", "availability", "1", "line A = APT / PBT of the pacing step (ISO 22400-2 availability of the work unit that "
       "paces the line)", "ISO 22400-2 availability", display="%", label="availability"),
    _k("line", "effectiveness", "1", "line E = sum(PRI) of the pacing step's operations / its APT (uncapped; flagged above 1)",
       "ISO 22400-2 effectiveness", display="%", label="effectiveness"),
    _k("line", "quality_ratio", "1", "line QR = good parts / (good + scrapped) leaving the line in the window",
       "ISO 22400-2 quality ratio", display="%", label="quality ratio"),
    _k("line", "oee", "1", "line OEE = A x E x QR", "ISO 22400-2 OEE index", display="%", label="OEE"),
    _k("line", "scrap_ratio", "1", "scrapped / (good + scrapped) in the window", "ISO 22400-2 scrap ratio", display="%"),
    _k("line", "energy_J", "J", "energy of every station", "ISO 22400-2 comprehensive energy consumption", display="kWh", label="energy"),
    _k("line", "energy_kWh", "kWh", "energy_J in kWh"),
    _k("line", "energy_per_good_part_J", "J", "energy / good parts", "ISO 22400-2 comprehensive energy consumption per GQ",
       display="kWh", label="energy per good part"),
    _k("line", "bottleneck", "", "station with the longest mean active period (Roser, Nakano, Tanaka 2001)", aggregate="mode"),
    _k("line", "lots_released", "lots", "lots released (whole run; release by lots or demand, else null)"),
    _k("line", "lots_completed", "lots", "lots whose last part left the line (good or scrapped) in the window"),
    _k("line", "lot_lead_time_mean_s", "s", "mean lot lead time (release of the lot to its last part leaving the line) "
       "of the lots completed in the window", display="h", label="lot lead time mean"),
    _k("line", "lot_lead_time_max_s", "s", "longest lot lead time of the lots completed in the window", display="h",
       label="lot lead time max"),
    _k("line", "lot_on_time_share", "1", "due-date adherence: share of the lots due in the window that were complete by their "
       "due date (a lot still open at its due date is late)", display="%", label="lots on time"),
    _k("line", "lot_tardiness_mean_s", "s", "mean tardiness max(0, completion - due) of the lots with a due date completed in "
       "the window", display="h", label="lot tardiness mean"),
    _k("line", "flags", "", "notes on the line KPIs", aggregate="none"),
    *_COST_LINE,
]

_BUFFER = [
    _k("buffers", "mean_level", "parts", "time-average parts in the buffer in the window"),
    _k("buffers", "max_level", "parts", "most parts in the buffer at once"),
]

_POOL = [
    _k("pools", "kind", "", "crew, operators or robot", aggregate="none"),
    _k("pools", "size", "members", "members of the pool", aggregate="none"),
    _k("pools", "utilisation", "1", "busy member-time / (size x on-shift time)", display="%"),
    _k("pools", "mean_busy", "members", "time-average busy members"),
    _k("pools", "mean_queue", "requests", "time-average requests waiting"),
    _k("pools", "on_shift", "1", "share of the window the pool works", display="%", label="on shift"),
    _k("pools", "requests", "requests", "grants in the window"),
    _k("pools", "mean_wait_s", "s", "mean wait for a member", display="min", label="mean wait"),
    _k("pools", "max_wait_s", "s", "longest wait for a member", display="min", label="max wait"),
]

_LOT = [
    _k("lots", "product", "", "product of the lot", aggregate="none"),
    _k("lots", "size", "parts", "parts in the lot", aggregate="none"),
    _k("lots", "good", "parts", "good parts of the lot that left the line"),
    _k("lots", "scrapped", "parts", "parts of the lot scrapped"),
    _k("lots", "release_s", "s", "release time of the lot", display="h", label="release"),
    _k("lots", "completion_s", "s", "when its last part left the line (null while open)", display="h", label="completion"),
    _k("lots", "lead_time_s", "s", "lot lead time: completion - release (null while open)", display="h", label="lead time"),
    _k("lots", "due_s", "s", "due date of the lot (null: none)", display="h", label="due"),
    _k("lots", "lateness_s", "s", "completion - due (negative: early; null while open or without a due date)", display="h",
       label="lateness"),
    _k("lots", "on_time", "1", "1 if complete by its due date, 0 if completed late or still open after it (null: not due yet "
       "or no due date)", display="%", label="on time"),
]

#: (level, name) -> KPI
KPIS: dict[tuple[str, str], KPI] = {(k.level, k.name): k for k in (*_LINE, *_STATION, *_BUFFER, *_POOL, *_LOT)}


def levels() -> tuple[str, ...]:
    return ("line", "stations", "buffers", "pools", "lots")


def kpi(level: str, name: str) -> KPI:
    try:
        return KPIS[(level, name)]
    except KeyError:
        raise KPIKeyError(f"unknown KPI {level}.{name}") from None


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def names_in(scenario) -> dict[str, set[str]]:
    """The station, buffer, pool and lot names a scenario's KPIs can carry."""
    pools = set(scenario.crews) | set(scenario.operators) | {n for n, s in scenario.stations.items() if s.kind == "robot"}
    lots = {lot.name for lot in scenario.release.planned_lots(scenario.horizon)}
    return {"stations": set(scenario.stations), "buffers": set(scenario.buffers), "pools": pools, "lots": lots}


def check_key(key: str, scenario=None, numeric: bool = True) -> str:
    """The full dotted name of a KPI (``oee`` -> ``line.oee``), or :class:`KPIKeyError` naming
    what is wrong with suggestions. With a ``scenario``, station, buffer and pool names are
    checked too; ``numeric`` refuses text KPIs (bottleneck) where a number is needed."""
    parts = key.strip().split(".")
    if parts[0] not in levels():
        parts = ["line", *parts]
    level = parts[0]
    if level == "line":
        if len(parts) != 2:
            raise KPIKeyError(f"cannot read KPI {key!r}: expected e.g. 'line.oee' or 'stations.L1.availability'")
        name = parts[1]
    else:
        if len(parts) < 3:
            raise KPIKeyError(f"cannot read KPI {key!r}: expected {level}.NAME.KPI, e.g. "
                              + {"stations": "'stations.L1.availability'", "buffers": "'buffers.B1.mean_level'",
                                 "pools": "'pools.fitters.utilisation'", "lots": "'lots.F100-1.lead_time_s'"}[level])
        entity, name = ".".join(parts[1:-1]), parts[-1]
        if scenario is not None:
            known = names_in(scenario)[level]
            implicit = level == "buffers" and entity.startswith(("in:", "rework:"))
            if entity not in known and not implicit:
                listed = sorted(known)
                shown = ", ".join(listed[:20]) + (f", ... ({len(listed)} in all)" if len(listed) > 20 else "")
                raise KPIKeyError(f"KPI {key!r}: no {level[:-1]} named {entity!r}" + _suggest(entity, known)
                                  + (f" ({level}: {shown})" if known else f" (the scenario has no {level})"))
    full = ".".join(parts)
    k = KPIS.get((level, name))
    if k is None:
        opts = [n for (lv, n) in KPIS if lv == level]
        prefix = full[: len(full) - len(name)]
        close = difflib.get_close_matches(name, opts, n=3, cutoff=0.6)
        hint = (f" (did you mean {' or '.join(prefix + c for c in close)}?)" if close
                else f" ({level} KPIs: {', '.join(opts)})")
        raise KPIKeyError(f"unknown KPI {full!r}{hint}")
    if numeric and not k.numeric:
        raise KPIKeyError(f"KPI {full!r} is not a number ({k.description})")
    return full


def keys_of(kpis: dict) -> Iterable[tuple[str, str, str]]:
    """(level, entity, name) of every KPI in a KPI dict (entity '' for the line)."""
    for name in kpis.get("line", {}):
        yield "line", "", name
    for level in ("stations", "buffers", "pools", "lots"):
        for entity, d in (kpis.get(level) or {}).items():
            for name in d:
                yield level, entity, name


def fmt(level: str, name: str, value: Any, unit: bool = False) -> str:
    """A KPI value as people read it: percent for ratios, minutes or hours for times, kWh for
    energy, never SI e-notation."""
    if value is None:
        return "-"
    k = KPIS.get((level, name))
    if k is None or isinstance(value, (str, list, bool)) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    v = value * _SCALE.get(k.display, 1.0)
    if k.display == "%":
        s = f"{v:.1f}"
    elif k.unit in ("parts", "failures", "units", "requests", "members", "lots") and float(value).is_integer():
        s = f"{int(value):,}"
    elif k.unit == "currency":
        s = f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    elif abs(v) >= 100:
        s = f"{v:,.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    if unit and k.display:
        s += (" " if k.display != "%" else "") + k.display
    return s


def unit(level: str, name: str, currency: str | None = None) -> str:
    """The display unit of KPI ``name`` at ``level`` (the scenario's currency for money; "" for ratios)."""
    k = KPIS.get((level, name))
    if k is None:
        return ""
    if k.unit == "currency":
        return currency or ""
    return k.display or ("" if k.unit in ("1", "") else k.unit)
