"""Experiments: replications with confidence intervals, paired comparison on common random
numbers, parameter sweeps (full factorial, Latin hypercube), KPI checks, MSER-5 warm-up.

A run is a function of (scenario dict, seed, replication); its outcome records the KPIs, the
wall time and any exception, so a sweep of a thousand points reports the few that failed
instead of dying (desmod's pattern). Runs execute serially, in local processes, or on a Dask
cluster; outcomes are ordered by their index, so the table is the same whichever executor
ran them. With a store, every run is recorded under a content hash of scenario, seed,
replication and twin version, and a repeated run is served from the store.
"""

from __future__ import annotations

import copy
import itertools
import math
import operator
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
from scipy import stats

from .scenario import ScenarioBase, ScenarioError, parse_scenario
from .units import to_si

__all__ = [
    "Outcome", "run_one", "run_many", "flatten", "summarize", "replicate", "replicate_to_precision",
    "mser5", "compare", "parse_gate", "parse_expectation", "check", "parse_vary", "sweep_points",
    "apply_overrides", "sweep", "sweep_summary", "optimize", "Executor", "mode_of",
]


# ---- one run ------------------------------------------------------------------------------------
@dataclass
class Outcome:
    index: int
    seed: int
    replication: int
    kpis: dict | None
    error: str | None = None
    elapsed_s: float = 0.0
    cached: bool = False
    point: dict = field(default_factory=dict)
    wip_series: list | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _wip_series(res, n_batches: int = 200) -> list[float]:
    """Time-average WIP in equal batches of the whole horizon (for MSER-5)."""
    p = res.parts
    edges = np.linspace(0.0, res.horizon, n_batches + 1)
    rel = p["t_release"]
    ex = np.where(p["outcome"] == 0, res.horizon, p["t_exit"])
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        out.append(float(np.clip(np.minimum(ex, b) - np.maximum(rel, a), 0, None).sum() / (b - a)))
    return out


def run_one(body: dict, seed: int, replication: int = 0, index: int = 0, point: dict | None = None,
            db: str | None = None, series: bool = False, engine: str = "simpy") -> Outcome:
    """Simulate one (scenario, seed, replication) on ``engine`` (simpy, compiled or auto); never
    raises (the error is in the outcome)."""
    t = time.perf_counter()
    store = None
    try:
        if db is not None:
            from .store import Store

            store = Store(db)
            hit = store.find_done(body, seed, replication)
            if hit is not None and not series:
                return Outcome(index, seed, replication, hit["kpis"], None, time.perf_counter() - t, True, point or {})
        from .engine import simulate

        sc = parse_scenario(body)
        rid = store.create_run(sc.dump(), seed, replication, status="running") if store else None
        res = simulate(sc, seed=seed, replication=replication, engine=engine)
        k = res.kpis
        if store:
            store.finish_run(rid, res)
        return Outcome(index, seed, replication, k, None, time.perf_counter() - t, False, point or {},
                       _wip_series(res) if series else None)
    except ScenarioError as exc:
        return Outcome(index, seed, replication, None, str(exc), time.perf_counter() - t, False, point or {})
    except Exception as exc:  # a failed point is data, not the end of the experiment
        return Outcome(index, seed, replication, None, f"{type(exc).__name__}: {exc}", time.perf_counter() - t, False, point or {})


# ---- executors ----------------------------------------------------------------------------------
class Executor:
    """Runs ``run_one`` jobs: ``serial``, local processes (``workers``), or Dask (``dask`` address or 'local').

    Used as a context manager, the local worker processes start once and serve every ``map``
    until the block ends (an optimiser's generations or a precision loop's rounds do not pay
    a new pool, imports and compiled-loop loading each time); outside one, each ``map`` has its
    own pool."""

    def __init__(self, workers: int | None = None, dask: str | None = None):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1 (got {workers})")
        self.workers = workers
        self.dask = dask
        self._client = None
        self._cluster = None
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self):
        if self.dask:
            from dask.distributed import Client, LocalCluster

            if self.dask == "local":
                self._cluster = LocalCluster(n_workers=self.workers or 2, threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address=None)
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.dask)
        elif self.workers is not None and self.workers > 1:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def map(self, jobs: list[dict], progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
        n = len(jobs)
        out: list[Outcome | None] = [None] * n
        done = 0
        if self._client is not None:
            from dask.distributed import as_completed

            futs = {self._client.submit(run_one, pure=False, **j): i for i, j in enumerate(jobs)}
            for f in as_completed(futs):
                out[futs[f]] = f.result()
                done += 1
                if progress:
                    progress(done, n)
        elif self.workers == 1 or n == 1:
            for i, j in enumerate(jobs):
                out[i] = run_one(**j)
                if progress:
                    progress(i + 1, n)
        else:
            from concurrent.futures import as_completed as done_iter

            pool = self._pool or ProcessPoolExecutor(max_workers=self.workers)
            try:
                futs = {pool.submit(run_one, **j): i for i, j in enumerate(jobs)}
                for f in done_iter(futs):
                    out[futs[f]] = f.result()
                    done += 1
                    if progress:
                        progress(done, n)
            finally:
                if pool is not self._pool:
                    pool.shutdown(cancel_futures=True)
        return out  # type: ignore[return-value]


def run_many(jobs: list[dict], executor: Executor | None = None, progress=None) -> list[Outcome]:
    ex = executor or Executor(workers=1)
    if executor is None:
        with ex:
            return ex.map(jobs, progress)
    return ex.map(jobs, progress)


# ---- statistics ---------------------------------------------------------------------------------
def flatten(kpis: dict, prefix: str = "") -> dict[str, float]:
    """Numeric KPIs as dotted keys: ``line.oee``, ``stations.L1.availability``, ``buffers.B1.mean_level``."""
    out: dict[str, float] = {}
    for k, v in kpis.items():
        if k == "meta":
            continue
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None and math.isfinite(v):
            out[key] = float(v)
    return out


def t_interval(x, conf: float = 0.95) -> tuple[float, float]:
    """Mean and Student-t half-width."""
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return float(x.mean()) if len(x) else math.nan, math.inf
    return float(x.mean()), float(stats.t.ppf(0.5 + conf / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))


def summarize(outcomes: Iterable[Outcome], conf: float = 0.95) -> dict[str, dict]:
    flats = [flatten(o.kpis) for o in outcomes if o.ok]
    keys = sorted(set().union(*flats)) if flats else []
    out = {}
    for k in keys:
        vals = [f[k] for f in flats if k in f]
        m, h = t_interval(vals, conf)
        out[k] = {"mean": m, "half_width": h, "n": len(vals), "low": m - h, "high": m + h}
    return out


def mser5(series, max_fraction: float = 0.5) -> int:
    """MSER-5 truncation point (White 1997): batch the series in fives and choose the cut d
    (in batches) minimising the marginal standard error of the remaining batch means,
    restricted to the first ``max_fraction`` of the run. Returns the cut in observations."""
    x = np.asarray(series, dtype=float)
    nb = len(x) // 5
    if nb < 4:
        return 0
    b = x[: nb * 5].reshape(nb, 5).mean(axis=1)
    best, best_d = math.inf, 0
    for d in range(int(nb * max_fraction) + 1):
        rest = b[d:]
        k = len(rest)
        if k < 2:
            break
        v = ((rest - rest.mean()) ** 2).sum() / k ** 2
        if v < best:
            best, best_d = v, d
    return best_d * 5


# ---- replications -------------------------------------------------------------------------------
def _jobs(body: dict, seed: int, reps: Iterable[int], db: str | None, series=False, point=None, start_index=0,
          engine: str = "simpy"):
    return [{"body": body, "seed": seed, "replication": r, "index": start_index + i, "db": db, "series": series,
             "point": point or {}, "engine": engine} for i, r in enumerate(reps)]


def replicate(sc: ScenarioBase, n: int, seed: int | None = None, executor: Executor | None = None, db: str | None = None,
              progress=None, series: bool = False, engine: str = "simpy") -> list[Outcome]:
    body = sc.dump()
    s = sc.seed if seed is None else seed
    return run_many(_jobs(body, s, range(n), db, series, engine=engine), executor, progress)


KEY_KPIS = ("line.throughput_per_hour", "line.oee", "line.wip_mean", "line.lead_time_mean_s")


def replicate_to_precision(sc: ScenarioBase, precision: float, relative: bool = True, keys=KEY_KPIS, start: int = 5,
                           cap: int = 100, conf: float = 0.95, executor=None, db=None, progress=None,
                           engine: str = "simpy") -> list[Outcome]:
    """Add replications until every key KPI's CI half-width is below ``precision`` (relative to
    the mean when ``relative``), or ``cap`` replications."""
    outs = replicate(sc, start, executor=executor, db=db, series=True, engine=engine)
    while len(outs) < cap:
        summ = summarize(outs, conf)
        worst = 0.0
        for k in keys:
            if k in summ:
                h, m = summ[k]["half_width"], summ[k]["mean"]
                worst = max(worst, h / abs(m) if relative and m else h)
        if worst <= precision:
            break
        more = min(cap - len(outs), max(2, len(outs) // 2))
        body = sc.dump()
        outs += run_many(_jobs(body, sc.seed, range(len(outs), len(outs) + more), db, True, start_index=len(outs),
                               engine=engine), executor)
        if progress:
            progress(len(outs), cap)
    return outs


# ---- gates and expectations ---------------------------------------------------------------------
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_EXPR = re.compile(r"^\s*([A-Za-z0-9_.#|:-]+)\s*(>=|<=|>|<)\s*(.+?)\s*$")


@dataclass
class Gate:
    key: str
    op: str
    value: float
    mode: str  # "abs" | "pt" | "rel"
    text: str


def _key(k: str, scenarios=()) -> str:
    """The full KPI name (``oee`` -> ``line.oee``), checked against the KPI registry and, when
    given, the station, buffer and pool names of every scenario (:class:`~twin.kpidefs.KPIKeyError`,
    a ValueError, names what is wrong)."""
    from .kpidefs import check_key

    if not scenarios:
        return check_key(k)
    for sc in scenarios:
        full = check_key(k, sc)
    return full


def parse_gate(text: str, *scenarios) -> Gate:
    """``"oee >= -0.5pt"`` (percentage points of a ratio), ``"throughput_per_hour >= -2%"`` (relative
    change), ``"lead_time_mean_s <= 5 min"`` (absolute change, units allowed). The KPI name must be
    in the registry (and, given ``scenarios``, name their stations, buffers and pools)."""
    m = _EXPR.match(text)
    if not m:
        raise ValueError(f"cannot read gate {text!r}: expected KPI OP VALUE, e.g. 'oee >= -0.5pt'")
    key, op, val = m.groups()
    key = _key(key, scenarios)
    val = val.replace(" ", "")
    if val.endswith("pt"):
        return Gate(key, op, _number(val[:-2], text) / 100.0, "pt", text)
    if val.endswith("%"):
        return Gate(key, op, _number(val[:-1], text) / 100.0, "rel", text)
    try:
        v = float(val)
    except ValueError:
        v = to_si(m.group(3), "time")
    if not math.isfinite(v):
        raise ValueError(f"cannot read gate {text!r}: the value must be finite")
    return Gate(key, op, v, "abs", text)


def _number(v: str, text: str) -> float:
    try:
        x = float(v)
    except ValueError:
        raise ValueError(f"cannot read {text!r}: {v!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"cannot read {text!r}: the value must be finite")
    return x


def parse_expectation(text: str, *scenarios) -> Gate:
    """``"line.oee >= 0.65"`` (absolute level; units and % allowed). The KPI name is checked like
    a gate's."""
    m = _EXPR.match(text)
    if not m:
        raise ValueError(f"cannot read expectation {text!r}: expected KPI OP VALUE, e.g. 'line.oee >= 0.65'")
    key, op, val = m.groups()
    key = _key(key, scenarios)
    v = val.strip()
    try:
        num = _number(v[:-1], text) / 100 if v.endswith("%") else float(v)
    except ValueError:
        num = to_si(v, "time")
    if not math.isfinite(num):
        raise ValueError(f"cannot read expectation {text!r}: the value must be finite")
    return Gate(key, op, num, "abs", text)


def _verdict(op: str, low: float, high: float, value: float) -> bool:
    """Pass only if the whole confidence interval satisfies the condition."""
    if op in (">=", ">"):
        return _OPS[op](low, value)
    return _OPS[op](high, value)


def compare(base: ScenarioBase, cand: ScenarioBase, n: int = 10, conf: float = 0.95, gates: list[Gate] = (),
            executor=None, db=None, progress=None, engine: str = "simpy") -> dict:
    """Paired comparison on common random numbers: replication r of both scenarios uses the
    same named streams. Reports per-KPI means, the paired delta with its CI, the CI an
    independent comparison would give, the variance reduction, and gate verdicts."""
    jobs = _jobs(base.dump(), base.seed, range(n), db, engine=engine) + \
        _jobs(cand.dump(), base.seed, range(n), db, start_index=n, engine=engine)
    outs = run_many(jobs, executor, progress)
    b_out, c_out = outs[:n], outs[n:]
    failed = [o for o in outs if not o.ok]
    pairs = [(flatten(b.kpis), flatten(c.kpis)) for b, c in zip(b_out, c_out) if b.ok and c.ok]
    keys = sorted(set(pairs[0][0]) & set(pairs[0][1])) if pairs else []
    tq = stats.t.ppf(0.5 + conf / 2, max(len(pairs) - 1, 1))
    rows = {}
    for k in keys:
        bv = np.array([p[0].get(k, np.nan) for p in pairs])
        cv = np.array([p[1].get(k, np.nan) for p in pairs])
        ok = np.isfinite(bv) & np.isfinite(cv)
        bv, cv = bv[ok], cv[ok]
        if len(bv) < 2:
            continue
        d = cv - bv
        hw_paired = tq * d.std(ddof=1) / math.sqrt(len(d))
        var_ind = bv.var(ddof=1) + cv.var(ddof=1)
        hw_ind = tq * math.sqrt(var_ind / len(d))
        var_pair = d.var(ddof=1)
        rows[k] = {"baseline": float(bv.mean()), "candidate": float(cv.mean()), "delta": float(d.mean()),
                   "half_width": float(hw_paired), "half_width_independent": float(hw_ind),
                   "variance_reduction": float(1 - var_pair / var_ind) if var_ind > 0 else None,
                   "relative_delta": float(d.mean() / bv.mean()) if bv.mean() else None,
                   # the paired interval excludes zero (a zero-width interval around a non-zero delta counts)
                   "significant": bool(abs(d.mean()) > hw_paired and abs(d.mean()) > 1e-9 * max(abs(bv.mean()), abs(cv.mean()), 1e-300))
                   if math.isfinite(hw_paired) else False}
    verdicts = []
    for g in gates:
        r = rows.get(g.key)
        if r is None:
            verdicts.append({"gate": g.text, "key": g.key, "pass": False, "reason": f"no KPI {g.key!r} in both runs"})
            continue
        lo, hi = r["delta"] - r["half_width"], r["delta"] + r["half_width"]
        if g.mode == "rel" and r["baseline"]:
            lo, hi = lo / abs(r["baseline"]), hi / abs(r["baseline"])
        verdicts.append({"gate": g.text, "key": g.key, "pass": bool(_verdict(g.op, lo, hi, g.value)),
                         "interval": [lo, hi], "threshold": g.value})
    from .costs import payback

    windows = (base.horizon - base.warmup, cand.horizon - cand.warmup)
    return {"replications": n, "confidence": conf, "kpis": rows, "gates": verdicts,
            "names": {"baseline": base.name, "candidate": cand.name},
            "stations": {"baseline": list(base.stations), "candidate": list(cand.stations)},
            "bottleneck": {"baseline": mode_of(b_out, "bottleneck"), "candidate": mode_of(c_out, "bottleneck")},
            "currency": (base.costs.currency if base.costs is not None else (cand.costs.currency if cand.costs is not None else None)),
            "payback": payback(pairs, windows, conf),
            "failed": [{"index": o.index, "error": o.error} for o in failed],
            "pass": (not failed) and all(v["pass"] for v in verdicts)}


def mode_of(outcomes: Iterable[Outcome], name: str = "bottleneck") -> dict:
    """The most frequent value of a text line KPI over replications (first seen on ties) and how
    often each value came up: ``{"value", "share", "counts"}``."""
    from collections import Counter

    vals = [o.kpis["line"].get(name) for o in outcomes if o.ok]
    vals = [v for v in vals if v is not None]
    if not vals:
        return {"value": None, "share": 0.0, "counts": {}}
    cnt = Counter(vals)
    top = max(cnt.values())
    value = next(v for v in vals if cnt[v] == top)
    return {"value": value, "share": top / len(vals), "counts": dict(cnt)}


def check(sc: ScenarioBase, expectations: list[Gate], n: int = 5, conf: float = 0.95, executor=None, db=None,
          engine: str = "simpy") -> dict:
    """Replicate and test each expectation against its confidence interval."""
    outs = replicate(sc, n, executor=executor, db=db, engine=engine)
    summ = summarize(outs, conf)
    res = []
    for e in expectations:
        s = summ.get(e.key)
        if s is None:
            res.append({"expect": e.text, "key": e.key, "pass": False, "reason": f"no KPI {e.key!r}"})
            continue
        res.append({"expect": e.text, "key": e.key, "mean": s["mean"], "interval": [s["low"], s["high"]],
                    "pass": bool(_verdict(e.op, s["low"], s["high"], e.value))})
    failed = [o for o in outs if not o.ok]
    return {"replications": n, "confidence": conf, "results": res, "failed": [o.error for o in failed],
            "pass": not failed and all(r["pass"] for r in res)}


# ---- sweeps -------------------------------------------------------------------------------------
_RANGE = re.compile(r"^\s*(-?[\d.]+)\s*\.\.\s*(-?[\d.]+)\s*([^\d\s].*)?$")


def parse_vary(text: str, levels: int = 5) -> tuple[str, list, tuple[float, float] | None, bool]:
    """``"buffers.B3.capacity=2..10"`` (integers: every value), ``"stations.L1.vc=150..250m/min"``
    (``levels`` values, units converted to SI), or ``"path=a,b,c"``. Returns (path, levels,
    (low, high) or None, integer)."""
    if "=" not in text:
        raise ValueError(f"cannot read --vary {text!r}: expected PATH=LOW..HIGH or PATH=a,b,c")
    path, spec = text.split("=", 1)
    path = path.strip()
    m = _RANGE.match(spec)
    if m:
        a, b, unit = m.group(1), m.group(2), (m.group(3) or "").strip()
        is_int = not unit and "." not in a and "." not in b
        if unit:
            q = _unit_quantity(unit)
            lo, hi = to_si(f"{a} {unit}", q), to_si(f"{b} {unit}", q)
        else:
            lo, hi = float(a), float(b)
        if hi < lo:
            raise ValueError(f"--vary {text!r}: high < low")
        if is_int:
            return path, list(range(int(lo), int(hi) + 1)), (lo, hi), True
        return path, [float(v) for v in np.linspace(lo, hi, levels)], (lo, hi), False
    vals = [v.strip() for v in spec.split(",") if v.strip()]
    if not vals:
        raise ValueError(f"--vary {text!r}: no values")
    out = []
    for v in vals:
        try:
            out.append(int(v))
        except ValueError:
            try:
                out.append(float(v))
            except ValueError:
                out.append(v)
    return path, out, None, all(isinstance(v, int) for v in out)


def _unit_quantity(unit: str) -> str:
    from .units import ureg

    q = ureg().Quantity(1, unit)
    for name in ("time", "velocity", "length", "power", "temperature", "pressure", "force"):
        try:
            to_si(f"1 {unit}", name)
            return name
        except ValueError:
            continue
    return "dimensionless"


def apply_overrides(body: dict, point: dict) -> dict:
    """Set dotted paths (``buffers.B3.capacity``) in a copy of a scenario dict; an unknown path raises."""
    out = copy.deepcopy(body)
    for path, value in point.items():
        parts = path.split(".")
        node = out
        for i, p in enumerate(parts[:-1]):
            if isinstance(node, list):
                p = int(p)
            try:
                node = node[p]
            except (KeyError, IndexError, ValueError, TypeError):
                raise KeyError(f"--vary path {path!r}: {'.'.join(parts[:i + 1])!r} does not exist in the scenario") from None
        last = parts[-1]
        if isinstance(node, dict) and last not in node and len(parts) > 1:
            # a new optional field is allowed only where the schema knows it; parse_scenario will say
            pass
        node[last] = value
    return out


def sweep_points(varies: list[tuple[str, list, tuple | None, bool]], lhs: int | None = None, seed: int = 0) -> list[dict]:
    """Full factorial over the levels, or ``lhs`` Latin-hypercube points over the ranges."""
    if lhs:
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(varies), seed=seed).random(lhs)
        pts = []
        for row in u:
            p = {}
            for (path, levels, rng, is_int), x in zip(varies, row):
                if rng is None:
                    p[path] = levels[min(int(x * len(levels)), len(levels) - 1)]
                else:
                    v = rng[0] + x * (rng[1] - rng[0])
                    p[path] = int(round(v)) if is_int else float(v)
            pts.append(p)
        return pts
    return [dict(zip([v[0] for v in varies], combo)) for combo in itertools.product(*[v[1] for v in varies])]


def sweep(sc: ScenarioBase, points: list[dict], replications: int = 1, executor=None, db=None, progress=None,
          engine: str = "simpy") -> list[Outcome]:
    base = sc.dump()
    jobs = []
    for i, p in enumerate(points):
        body = apply_overrides(base, p)
        for r in range(replications):
            jobs.append({"body": body, "seed": sc.seed, "replication": r, "index": len(jobs), "db": db, "point": p,
                         "engine": engine})
    return run_many(jobs, executor, progress)


def sweep_table(outcomes: list[Outcome]):
    """One row per run: the varied values, replication, status, error and every flattened KPI."""
    import pyarrow as pa

    rows = []
    for o in outcomes:
        row = {f"vary.{k}": v for k, v in o.point.items()}
        row.update({"replication": o.replication, "status": "ok" if o.ok else "failed", "error": o.error or "",
                    "elapsed_s": o.elapsed_s})
        if o.ok:
            row.update(flatten(o.kpis))
        rows.append(row)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return pa.table({k: [r.get(k) for r in rows] for k in keys})


SWEEP_KPIS = ("line.throughput_per_hour", "line.oee", "line.wip_mean", "line.lead_time_mean_s", "line.cost_per_good_part")


def sweep_summary(outcomes: list[Outcome], objective: str, conf: float = 0.95, maximize: bool = True,
                  keys: Iterable[str] = SWEEP_KPIS) -> list[dict]:
    """One row per sweep point (in point order): the point, its replications (``n`` run, ``failed``),
    ``status`` (``ok``, ``partial`` or ``failed``), mean and Student-t half-width of the objective
    and of the key KPIs, and the bottleneck (most frequent over the replications, with its share).
    Rows carry ``rank`` by the objective's mean (1 = best; failed points last, unranked)."""
    groups: dict[tuple, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(tuple(sorted((k, repr(v)) for k, v in o.point.items())), []).append(o)
    rows = []
    want = list(dict.fromkeys([objective, *keys]))
    for outs in groups.values():
        ok = [o for o in outs if o.ok]
        summ = summarize(ok, conf)
        row = {"point": dict(outs[0].point), "n": len(outs), "failed": len(outs) - len(ok),
               "status": "ok" if len(ok) == len(outs) else ("partial" if ok else "failed"),
               "kpis": {k: {"mean": summ[k]["mean"], "half_width": summ[k]["half_width"], "n": summ[k]["n"]}
                        for k in want if k in summ},
               "bottleneck": mode_of(ok, "bottleneck"),
               "errors": [o.error for o in outs if not o.ok]}
        rows.append(row)
    ranked = sorted([r for r in rows if objective in r["kpis"]], key=lambda r: r["kpis"][objective]["mean"], reverse=maximize)
    for i, r in enumerate(ranked):
        r["rank"] = i + 1
    return rows


def optimize(sc: ScenarioBase, varies: list[tuple[str, list, tuple | None, bool]], objective: str, maximize: bool = True,
             constraints: list[Gate] = (), replications: int = 2, maxiter: int = 10, popsize: int = 6, seed: int = 0,
             executor=None, engine: str = "simpy") -> dict:
    """Optimiser hook: scipy's differential evolution over the varied ranges (integers rounded)
    for a KPI objective (mean over replications, common random numbers for every candidate),
    with constraints as penalties. Returns the best point and its KPIs."""
    from scipy.optimize import differential_evolution

    objective = _key(objective, (sc,))
    for g in constraints:
        _key(g.key, (sc,))
    bounds = [v[2] if v[2] is not None else (0, len(v[1]) - 1) for v in varies]
    cache: dict[tuple, float] = {}
    base = sc.dump()

    def decode(x):
        p = {}
        for (path, levels, rng, is_int), xi in zip(varies, x):
            p[path] = (int(round(xi)) if is_int else float(xi)) if rng is not None else levels[int(round(xi))]
        return p

    def f(x):
        p = decode(x)
        key = tuple(sorted(p.items()))
        if key not in cache:
            outs = run_many(_jobs(apply_overrides(base, p), sc.seed, range(replications), None, engine=engine), executor)
            summ = summarize(outs)
            if objective not in summ:
                cache[key] = 1e12
            else:
                val = summ[objective]["mean"]
                pen = sum(0.0 if _OPS[c.op](summ.get(c.key, {"mean": math.nan})["mean"], c.value) else 1e6 for c in constraints)
                cache[key] = (-val if maximize else val) + pen
        return cache[key]

    r = differential_evolution(f, bounds, maxiter=maxiter, popsize=popsize, seed=seed, polish=False, tol=1e-9)
    best = decode(r.x)
    return {"point": best, "objective": objective, "value": -r.fun if maximize else r.fun, "evaluations": len(cache)}


# ---- CLI bridge for `twin run --replications` ---------------------------------------------------------
def cli_replications(sc: ScenarioBase, replications: int, precision: str | None, fmt: str, out, quiet: bool,
                     workers: int | None = None, db: str | None = None, engine: str = "simpy") -> None:
    import json
    import sys

    from .cli import console, err

    ex = Executor(workers=workers)
    with ex:
        if precision is not None:
            p = precision.strip()
            rel = p.endswith("%")
            val = float(p[:-1]) / 100 if rel else float(p)
            outs = replicate_to_precision(sc, val, relative=rel, start=max(replications, 5), executor=ex, db=db,
                                          engine=engine)
        else:
            outs = replicate(sc, replications, executor=ex, db=db, series=True, engine=engine)
    summ = summarize(outs)
    series = [o.wip_series for o in outs if o.ok and o.wip_series]
    warm = None
    if series:
        mean_series = np.mean(np.array(series), axis=0)
        cut = mser5(mean_series)
        warm = cut / len(mean_series) * sc.horizon
    failed = [o for o in outs if not o.ok]
    report = {"replications": len(outs), "kpis": summ, "mser5_warmup_s": warm, "scenario_warmup_s": sc.warmup,
              "failed": [o.error for o in failed]}
    if out is not None:
        from pathlib import Path

        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "replications.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    if fmt == "json":
        sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
        return
    from .tables import replication_table

    t = replication_table(summ, f"{sc.name}: {len(outs)} replications, mean ± 95 % CI half-width",
                          currency=sc.costs.currency if sc.costs is not None else None)
    console.print(t)
    if warm is not None:
        console.print(f"MSER-5 warm-up estimate (WIP): {warm / 3600:.2f} h (scenario warm-up {sc.warmup / 3600:.2f} h)")
    for o in failed:
        err.print(f"replication {o.replication} failed: {o.error}")
