"""Forecast the shift from a plant snapshot: output by a time with a prediction interval, the
risk that each open order misses its due date, and the expected bottleneck.

Each of ``replications`` runs starts from the same snapshot (:func:`twin.live.snapshot.start_run`)
on its own random streams (replication k of the seed), so remaining process and repair times,
failures and scrap differ between runs as they would in the plant. The prediction interval of the
output is the pair of order statistics ``(X_(j), X_(N+1-j))`` of the N simulated outputs with
``j = floor((N + 1)(1 - level) / 2)``: for a new output Y from the same law,
``P(X_(j) <= Y <= X_(N+1-j)) >= (N + 1 - 2j) / (N + 1)`` (distribution-free; ``coverage`` in the
result). ``tests/live/test_forecast.py`` checks it against the twin playing the plant.

:func:`forecast` is the core function the CLI (``twin forecast``) and the HTTP API call.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from twin.states import PartEvent

from .snapshot import Snapshot, parse_snapshot, shifted_scenario, start_run

__all__ = ["forecast", "parse_until", "Forecast", "MAX_REPLICATIONS"]

MAX_REPLICATIONS = 10_000
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_until(text: str | float, when: dt.datetime) -> float:
    """Seconds from ``when`` to ``text``: a clock time (``'22:00'``: its next occurrence), a
    duration after now (``'+8 h'``), a date-time (``'2026-11-30 22:00'``) or seconds."""
    from twin.units import to_si

    if isinstance(text, (int, float)) and not isinstance(text, bool):
        v = float(text)
    else:
        s = str(text).strip()
        m = _CLOCK.match(s)
        if m:
            h, mi = int(m.group(1)), int(m.group(2))
            if h > 23 or mi > 59:
                raise ValueError(f"clock time out of range: {s!r}")
            target = dt.datetime.combine(when.date(), dt.time(h, mi))
            if target <= when:
                target += dt.timedelta(days=1)
            v = (target - when).total_seconds()
        elif s.startswith("+"):
            v = to_si(s[1:].strip(), "time")
        else:
            try:
                target = dt.datetime.fromisoformat(s)
            except ValueError:
                raise ValueError(f"expected a clock time ('22:00'), a duration ('+8 h') or a date-time, got {text!r}") from None
            v = (target - when).total_seconds()
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"the forecast time must lie after the snapshot's time ({when}), got {text!r}")
    if v > 366 * 86400:
        raise ValueError(f"the forecast reaches at most a year ahead, got {text!r}")
    return v


@dataclass
class OrderRisk:
    name: str
    product: str
    quantity: int
    due: str | None
    p_late: float | None  # share of replications in which the order is not complete by its due date
    completion_p50: str | None  # median completion date-time (None: not complete in most runs)
    assessed: bool = True


@dataclass
class Forecast:
    snapshot_time: str
    until: str
    horizon_s: float
    replications: int
    level: float
    coverage: float
    output_mean: float
    output_interval: tuple[float, float]
    output_quantiles: dict[str, float]
    bottleneck: str | None
    bottleneck_share: dict[str, float]
    orders: list[OrderRisk] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["output_interval"] = list(self.output_interval)
        return d


def _interval(x: np.ndarray, level: float) -> tuple[float, float, float]:
    n = len(x)
    j = int(math.floor((n + 1) * (1.0 - level) / 2.0))
    s = np.sort(x)
    if j < 1:  # too few replications for the level: the full range (coverage below the level)
        return float(s[0]), float(s[-1]), (n - 1) / (n + 1)
    return float(s[j - 1]), float(s[n - j]), (n + 1 - 2 * j) / (n + 1)


def forecast(scenario, snapshot: Snapshot | dict, until: str | float, replications: int = 30, level: float = 0.9,
             seed: int | None = None, bottleneck: bool = True) -> Forecast:
    """Forecast from ``snapshot`` to ``until`` (see :func:`parse_until`) over ``replications`` runs
    (``bottleneck``: compute each run's KPIs for the bottleneck; False saves that time)."""
    from twin.result import Result
    from twin.scenario import parse_scenario

    snap = parse_snapshot(snapshot)
    if not (1 <= replications <= MAX_REPLICATIONS):
        raise ValueError(f"replications: 1 .. {MAX_REPLICATIONS}, got {replications}")
    if not (0.5 <= level < 1.0):
        raise ValueError(f"level: 0.5 <= level < 1, got {level}")
    T = parse_until(until, snap.time)
    orders = _orders(snap)
    dues = [o["due_s"] for o in orders if o["due_s"] is not None]
    H = max([T] + [d for d in dues if d <= T + 14 * 86400]) + 1.0
    sc = parse_scenario(shifted_scenario(scenario, snap, horizon=H, warmup=0.0))
    outputs, bottlenecks = [], Counter()
    completion: dict[str, list[float]] = {o["name"]: [] for o in orders}
    seed = scenario.seed if seed is None else seed
    for r in range(replications):
        run = start_run(sc, snap, seed=seed, replication=r, shifted=True)
        run.run_until(T)
        if bottleneck:
            kp = Result.from_run(run, until=T).kpis
            bottlenecks[kp["line"].get("bottleneck") or "-"] += 1
        outputs.append(run.sink.completed)
        if orders:
            run.run_until(H)
            _order_completion(run, orders, completion)
    x = np.asarray(outputs, dtype=float)
    lo, hi, cov = _interval(x, level)
    when = lambda s: (snap.time + dt.timedelta(seconds=float(s))).isoformat(sep=" ", timespec="minutes")
    risks = []
    for o in orders:
        c = np.asarray(completion[o["name"]], dtype=float)
        due = o["due_s"]
        assessed = due is None or due <= H
        p_late = None if due is None or not assessed else float(np.mean(~(c <= due)))
        finite = c[np.isfinite(c)]
        p50 = when(np.median(c)) if len(finite) > len(c) / 2 else None
        risks.append(OrderRisk(o["name"], o["product"], o["quantity"], None if due is None else when(due), p_late, p50, assessed))
    top = bottlenecks.most_common(1)[0][0] if bottlenecks else None
    return Forecast(
        snapshot_time=snap.time.isoformat(sep=" "), until=when(T), horizon_s=T, replications=replications, level=level,
        coverage=cov, output_mean=float(x.mean()), output_interval=(lo, hi),
        output_quantiles={f"p{q}": float(np.percentile(x, q)) for q in (5, 25, 50, 75, 95)},
        bottleneck=None if top == "-" else top,
        bottleneck_share={k: v / replications for k, v in bottlenecks.most_common()},
        orders=risks, outputs=[int(v) for v in outputs])


def _orders(snap: Snapshot) -> list[dict]:
    """Open orders: those of ``orders`` (still to release) merged with the parts in the line that
    name an order."""
    out: dict[str, dict] = {}
    for k, o in enumerate(snap.orders or []):
        name = o.name or f"order-{k + 1}"
        out[name] = {"name": name, "product": o.product, "quantity": o.quantity, "release_index": k,
                     "due_s": None if o.due is None else snap.seconds(o.due), "wip": 0}
    for where in (list(snap.buffers.values()) + [[u.part] for st in snap.stations.values()
                                                 for u in (st.units or [st]) if u.part is not None]):
        for ps in where:
            if ps.order is None:
                continue
            o = out.setdefault(ps.order, {"name": ps.order, "product": ps.product, "quantity": 0, "release_index": None,
                                          "due_s": None if ps.due is None else snap.seconds(ps.due), "wip": 0})
            o["quantity"] += ps.count
            o["wip"] += ps.count
            if o["due_s"] is None and ps.due is not None:
                o["due_s"] = snap.seconds(ps.due)
    return list(out.values())


def _order_completion(run, orders: list[dict], completion: dict) -> None:
    """Completion time of each order in ``run`` (inf if a part is missing or scrapped)."""
    pe = run.part_log.numpy()
    done = {int(p): float(t) for p, t, e in zip(pe["part"], pe["t"], pe["event"]) if e == PartEvent.COMPLETE}
    by_order: dict[str, list[int]] = {}
    for pid, name in run.live_orders.items():
        by_order.setdefault(name, []).append(pid)
    # parts the source released: orders in release order, each a run of consecutive ids
    rel = [(int(p), float(t)) for p, t, e in zip(pe["part"], pe["t"], pe["event"]) if e == PartEvent.RELEASE]
    first = run.snapshot_parts
    ids = [p for p, _t in rel if p >= first]
    pending = sorted((o for o in orders if o["release_index"] is not None), key=lambda o: (run.order_release[o["release_index"]], o["release_index"]))
    k = 0
    for o in pending:
        q = o["quantity"] - o["wip"]
        by_order.setdefault(o["name"], []).extend(ids[k:k + q])
        if len(ids[k:k + q]) < q:
            by_order[o["name"]].append(-1)  # not (all) released within the run
        k += q
    for o in orders:
        pids = by_order.get(o["name"], [])
        ts = [done.get(p, math.inf) for p in pids]
        completion[o["name"]].append(max(ts) if ts else math.inf)
