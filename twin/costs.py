"""Cost model: what a run costs and what a change pays back.

The scenario's ``costs`` section (all amounts in one ``currency``; rates per hour):

.. code-block:: yaml

    costs:
      currency: EUR
      stations:                    # per unit of the station
        L1: {hour_rate: 85, investment: 250000}
      labour: {fitters: 48}        # per member and hour the pool is on shift
      energy:
        price: 0.18                # per kWh, whenever no tariff period applies
        tariff:                    # optional time-of-use periods on the plant's clock
          - {days: [mon, tue, wed, thu, fri], start: "06:00", end: "22:00", price: 0.26}
      products:
        shaft_A: {material: 14.5, scrap: 3.0, price: 95}

What each field costs over the KPI window [warm-up, horizon]:

* machine = ``hour_rate`` x planned operation time POT of the station in hours (POT is summed
  over the station's parallel units, so the rate is per unit and per planned hour);
* labour = ``labour[pool]`` x members x hours the pool is on shift;
* energy = every state row's power x the price in force while the row lasts (the tariff is a
  step function of the plant clock; the integral is exact), plus the station's process
  energy (physics kinds) at the mean price over its processing time;
* material = ``material`` x parts of the product that left the line in the window (good and
  scrapped: a scrapped part used its material too);
* scrap = ``scrap`` x parts of the product scrapped in the window (disposal, handling);
* revenue = ``price`` x good parts of the product in the window (only when a price is given).

KPIs (``line``): ``cost_total`` and ``cost_per_good_part`` with their breakdown
(``cost_machine``, ``cost_labour``, ``cost_energy``, ``cost_material``, ``cost_scrap`` and the
same per good part), ``investment`` (sum of ``investment`` x units), ``revenue`` and ``profit``
(with prices); per station ``cost_machine`` and ``cost_energy``.

The payback period of a change (``twin compare``) is the difference in ``investment`` over the
benefit rate: the paired difference in profit per hour when prices are given, else the unit-cost
saving (``cost_per_good_part`` of the baseline minus the candidate's) times the candidate's good
parts per hour. The benefit's confidence interval gives the payback's.

>>> t = np.array([0.0, 3600.0]); tariff_integral([(0.0, 1800.0, 2.0)], 1.0, t)
array([   0., 5400.])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from .calendar import Weekday, WEEKDAYS, clock_seconds
from .specs import SpecModel

__all__ = ["CostSpec", "StationCost", "ProductCost", "EnergyCost", "TariffPeriod", "cost_kpis", "tariff_integral",
           "payback", "cross_check"]


class StationCost(SpecModel):
    """Costs of each unit of a station."""

    hour_rate: float = Field(default=0.0, ge=0, description="machine hour rate [currency/h] per unit and planned hour (POT)")
    investment: float = Field(default=0.0, ge=0, description="capital per unit [currency]: `twin compare` reports the "
                                                            "payback period of a change in it")


class ProductCost(SpecModel):
    """Costs and price of one product."""

    material: float = Field(default=0.0, ge=0, description="material per part leaving the line, good or scrapped [currency]")
    scrap: float = Field(default=0.0, ge=0, description="extra cost per scrapped part (disposal, handling) [currency]")
    price: float | None = Field(default=None, ge=0, description="sales price per good part [currency]: revenue and profit "
                                                               "KPIs, and the payback of a change by profit")


class TariffPeriod(SpecModel):
    """A time-of-use period: ``price`` from ``start`` to ``end`` (clock times on the plant's clock;
    ``end`` before ``start`` runs past midnight) on ``days``."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1, description="default: every day")
    start: str
    end: str
    price: float = Field(ge=0, description="[currency/kWh]")

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        clock_seconds(v)
        return v


class EnergyCost(SpecModel):
    """Price of electrical energy: a flat ``price``, and optional time-of-use ``tariff`` periods
    that override it while they last (the first listed period wins where two overlap)."""

    price: float = Field(default=0.0, ge=0, description="[currency/kWh] outside tariff periods")
    tariff: list[TariffPeriod] = Field(default_factory=list, description="time-of-use periods")


class CostSpec(SpecModel):
    """The cost model (see :mod:`twin.costs`)."""

    currency: str = Field(default="EUR", pattern=r"^[A-Za-z]{1,8}$", description="name shown with every amount")
    stations: dict[str, StationCost] = Field(default_factory=dict, description="station name -> hour rate and investment")
    labour: dict[str, float] = Field(default_factory=dict, description="crew or operator pool -> rate per member and hour on shift")
    energy: EnergyCost = Field(default_factory=EnergyCost, description="energy price and time-of-use tariff")
    products: dict[str, ProductCost] = Field(default_factory=dict, description="product -> material, scrap cost, price")

    @field_validator("labour")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not (isinstance(x, (int, float)) and math.isfinite(x) and x >= 0):
                raise ValueError(f"labour rate of {k!r} must be a number >= 0")
        return v


def cross_check(sc) -> list[tuple[str, str]]:
    """Every name in ``costs`` exists and every amount can take effect, else a field-path error."""
    c = sc.costs
    if c is None:
        return []
    errs = []
    for s in c.stations:
        if s not in sc.stations:
            errs.append((f"costs.stations.{s}", f"names station {s!r}, which does not exist (stations: {', '.join(sorted(sc.stations))})"))
    pools = set(sc.crews) | set(sc.operators)
    for p in c.labour:
        if p not in pools:
            errs.append((f"costs.labour.{p}", f"names {p!r}, which is neither a crew nor an operator pool"
                         + (f" (pools: {', '.join(sorted(pools))})" if pools else " (the scenario has no crews or operators)")))
    for p in c.products:
        if p not in sc.products:
            errs.append((f"costs.products.{p}", f"names product {p!r}, which does not exist (products: {', '.join(sorted(sc.products))})"))
    for s, v in c.stations.items():
        if v.hour_rate == 0 and v.investment == 0:
            errs.append((f"costs.stations.{s}", "gives neither hour_rate nor investment: it changes nothing"))
    for p, v in c.products.items():
        if v.material == 0 and v.scrap == 0 and v.price is None:
            errs.append((f"costs.products.{p}", "gives neither material, scrap nor price: it changes nothing"))
    for i, t in enumerate(c.energy.tariff):
        if clock_seconds(t.start) == clock_seconds(t.end):
            errs.append((f"costs.energy.tariff[{i}].end", "equals start: the period is empty"))
    if c.energy.tariff and all(t.price == c.energy.price for t in c.energy.tariff):
        errs.append(("costs.energy.tariff", "every period has the flat price: the tariff changes nothing (give its own price)"))
    return errs


# ---- energy price as a step function of sim time ----------------------------------------------
def tariff_steps(spec: EnergyCost, offset: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """Break points ``edges`` (from 0 to ``t1``) and the price [currency/kWh] on each piece.
    ``offset``: seconds from Monday 00:00 to sim time 0 (the plant calendar's start)."""
    DAY = 86400.0
    edges = {0.0, float(t1)}
    pieces: list[tuple[float, float, float]] = []  # (a, b, price), first listed period first
    n_days = int(math.ceil((t1 + offset) / DAY)) + 1
    for per in spec.tariff:
        a, b = clock_seconds(per.start), clock_seconds(per.end)
        if b <= a:
            b += DAY
        for k in range(-1, n_days):
            if WEEKDAYS[k % 7] in per.days:
                lo, hi = k * DAY + a - offset, k * DAY + b - offset
                if hi > 0 and lo < t1:
                    pieces.append((max(lo, 0.0), min(hi, t1), per.price))
                    edges.update((max(lo, 0.0), min(hi, t1)))
    e = np.array(sorted(edges))
    price = np.full(max(len(e) - 1, 0), spec.price, dtype=float)
    mids = (e[:-1] + e[1:]) / 2
    done = np.zeros(len(mids), dtype=bool)
    for lo, hi, p in pieces:  # first listed wins
        m = (mids >= lo) & (mids < hi) & ~done
        price[m] = p
        done |= m
    return e, price


def tariff_integral(pieces, flat: float, t: np.ndarray) -> np.ndarray:
    """Integral of the price over [0, t] [currency/kWh x s] for ``pieces`` [(a, b, price)] that
    cover parts of the time axis and the ``flat`` price elsewhere (pieces must not overlap)."""
    edges = sorted({0.0, *[x for a, b, _ in pieces for x in (a, b)], float(np.max(t)) if len(t) else 0.0})
    e = np.array(edges)
    price = np.full(len(e) - 1, flat)
    mids = (e[:-1] + e[1:]) / 2
    for a, b, p in pieces:
        price[(mids >= a) & (mids < b)] = p
    return _integral(e, price, t)


def _integral(edges: np.ndarray, price: np.ndarray, t: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(np.diff(edges) * price)])
    return np.interp(t, edges, cum)


# ---- KPIs ------------------------------------------------------------------------------------------
def cost_kpis(r, kpis: dict) -> tuple[dict, dict]:
    """Line and per-station cost KPIs of a result view ``r`` (see :func:`twin.kpi.compute_kpis`)
    whose scenario has a ``costs`` section; ``kpis`` holds the KPIs computed so far."""
    from .states import N_CODES, Code

    c = CostSpec.model_validate(r.scenario["costs"])
    t0, t1 = float(r.warmup), float(r.horizon)
    stations = kpis["stations"]
    line = kpis["line"]
    # machine hours
    st_cost: dict[str, dict[str, float]] = {s: {"cost_machine": 0.0, "cost_energy": 0.0} for s in stations}
    for s, sc_ in c.stations.items():
        if s in stations:
            st_cost[s]["cost_machine"] = sc_.hour_rate * stations[s]["POT"] / 3600.0
    # energy: power of every state row x price in force
    cal = r.scenario.get("calendar") or {}
    from .calendar import _parse_start

    offset = _parse_start(cal.get("start", "mon 00:00"))[0]
    edges, price = tariff_steps(c.energy, offset, t1)
    st = r.state
    res_station = [s for _, s in r.resources]
    if len(st["t"]):
        order = np.lexsort((st["t"], st["resource"]))
        ts, rs, cs = st["t"][order], st["resource"][order].astype(np.int64), st["code"][order].astype(np.int64)
        nxt = np.empty_like(ts)
        nxt[:-1] = ts[1:]
        last = np.ones(len(ts), dtype=bool)
        last[:-1] = rs[1:] != rs[:-1]
        nxt[last] = t1
        a, b = np.clip(ts, t0, t1), np.clip(nxt, t0, t1)
        priced = _integral(edges, price, b) - _integral(edges, price, a)  # [currency/kWh x s]
        names = list(dict.fromkeys(res_station))
        sidx = {n: i for i, n in enumerate(names)}
        st_of_res = np.array([sidx[n] for n in res_station], dtype=np.int64)
        power = np.array([np.asarray(r.power.get(n, np.zeros(N_CODES)), float) for n in names]).reshape(len(names), N_CODES)
        row_st = st_of_res[rs]
        cost = np.bincount(row_st, weights=power[row_st, cs] * priced, minlength=len(names)) / 3.6e6
        proc = cs == int(Code.PROCESSING)
        p_priced = np.bincount(row_st[proc], weights=priced[proc], minlength=len(names))
        p_dur = np.bincount(row_st[proc], weights=(b - a)[proc], minlength=len(names))
        for i, n in enumerate(names):
            c_ = float(cost[i])
            extra = float(r.extra_energy.get(n, 0.0))
            if extra:  # process energy at the mean price over the station's processing time
                mean_price = p_priced[i] / p_dur[i] if p_dur[i] > 0 else c.energy.price
                c_ += extra / 3.6e6 * float(mean_price)
            if n in st_cost:
                st_cost[n]["cost_energy"] = c_
    # labour
    labour = 0.0
    pools = kpis.get("pools") or {}
    window_h = (t1 - t0) / 3600.0
    for p, rate in c.labour.items():
        k = pools.get(p)
        if k is not None:
            labour += rate * k["size"] * k["on_shift"] * window_h
    # material, scrap, revenue by product
    parts = r.parts
    inwin = (parts["t_exit"] >= t0) & (parts["t_exit"] < t1)
    good = inwin & (parts["outcome"] == 1)
    scr = inwin & (parts["outcome"] == 2)
    material = scrap = revenue = 0.0
    priced_products = False
    for pi, pname in enumerate(r.products):
        pc = c.products.get(pname)
        if pc is None:
            continue
        mine = parts["product"] == pi
        n_good, n_scr = int((good & mine).sum()), int((scr & mine).sum())
        material += pc.material * (n_good + n_scr)
        scrap += pc.scrap * n_scr
        if pc.price is not None:
            priced_products = True
            revenue += pc.price * n_good
    machine = sum(v["cost_machine"] for v in st_cost.values())
    energy = sum(v["cost_energy"] for v in st_cost.values())
    total = machine + labour + energy + material + scrap
    n = line["parts_completed"]
    per = (lambda x: x / n if n else None)
    units = {s: stations[s]["units"] for s in stations}
    out = {
        "cost_total": total, "cost_machine": machine, "cost_labour": labour, "cost_energy": energy,
        "cost_material": material, "cost_scrap": scrap,
        "cost_per_good_part": per(total), "cost_per_good_part_machine": per(machine), "cost_per_good_part_labour": per(labour),
        "cost_per_good_part_energy": per(energy), "cost_per_good_part_material": per(material),
        "cost_per_good_part_scrap": per(scrap),
        "investment": float(sum(v.investment * units.get(s, 0) for s, v in c.stations.items())),
    }
    if priced_products:
        out["revenue"] = revenue
        out["profit"] = revenue - total
    out["currency"] = c.currency
    return out, st_cost


def payback(pairs: list[tuple[dict, dict]], windows: tuple[float, float], conf: float = 0.95) -> dict | None:
    """Payback period of the change from baseline to candidate, from paired replications
    (flattened KPI dicts) over KPI windows of ``windows`` = (baseline, candidate) seconds. None
    when a side has no cost KPIs."""
    from scipy import stats

    pairs = [(b, c) for b, c in pairs if "line.cost_total" in b and "line.cost_total" in c]
    if len(pairs) < 2:
        return None
    inv = pairs[0][1].get("line.investment", 0.0) - pairs[0][0].get("line.investment", 0.0)
    by_profit = all("line.profit" in b and "line.profit" in c for b, c in pairs)
    ben = []
    hb, hc = windows[0] / 3600.0, windows[1] / 3600.0
    for b, c in pairs:
        if by_profit:
            ben.append(c["line.profit"] / hc - b["line.profit"] / hb)
        else:
            cb, cc = b.get("line.cost_per_good_part"), c.get("line.cost_per_good_part")
            if cb is None or cc is None:
                return None
            ben.append((cb - cc) * c["line.parts_completed"] / hc)
    x = np.array(ben)
    m = float(x.mean())
    h = float(stats.t.ppf(0.5 + conf / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    lo, hi = m - h, m + h

    def pb(rate):
        if inv <= 0:
            return 0.0
        return inv / rate * 3600.0 if rate > 0 else None

    return {"investment": inv, "basis": "profit" if by_profit else "unit cost",
            "benefit_per_hour": m, "benefit_half_width": h,
            "payback_s": pb(m),
            # a larger benefit pays back sooner: the interval's ends swap; a benefit interval that
            # reaches 0 means the payback may never come (None)
            "payback_interval_s": [pb(hi), pb(lo)]}
