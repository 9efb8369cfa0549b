"""Learn a scenario's distributions from a plant's state log.

Input (:func:`read_log`): the twin's own result (a directory written by ``twin run --out``, or its
``events.parquet``, whose sibling ``parts.parquet`` and ``failures.parquet`` give products,
scrapped parts and failure profiles), or a CSV / Parquet table with the columns

* ``time``: seconds, or ISO date-times (``2026-11-30 06:00:05``);
* ``station``: the scenario's station name;
* ``state``: one of :data:`STATES` (aliases in :data:`ALIASES`; MTConnect ``Execution`` values in
  :data:`MTCONNECT_EXECUTION`), the state the station enters at ``time``; ``done`` and ``scrap``
  are instants (a part finished good or bad) that do not change the state;
* optional ``reason`` (for ``down``: the failure profile's name), ``part`` (an id),
  ``product`` (the scenario's product name), ``unit`` (the unit of a station with capacity > 1).

From the log, per unit: *visits* (processing time of one part, summed over its processing
segments, paused by stops), setups (from product, to product, time), down episodes (time to
repair: from the first ``down`` to the last, through breaks and shifts ends that mask it) and,
per failure profile, the exposure between renewals on the profile's basis (calendar time,
operating time = time without a stop, processing time, or cycles). An interval that the log's
end (or a planned maintenance, which renews the clocks) cuts off is *right-censored*: it enters
the likelihood through the survival function, ``log L = sum log f(x_i) + sum log S(c_j)``, and
is not dropped (scipy.stats ``fit`` on ``CensoredData``).

Every family of the scenario format that has a likelihood (exponential, Weibull, gamma,
lognormal, normal, uniform, triangular; constant when all observations agree) is fitted by
maximum likelihood (the bounded uniform and triangular laws on the complete observations, then
scored with the censored likelihood) and the one with the lowest AIC (or BIC) chosen among those
the Kolmogorov-Smirnov test (on the uncensored observations) does not reject at 5 % (all of them
when it rejects every one); its KS statistic is reported. A handful of exact values (at most 20
distinct ones, each seen five times on average) give the discrete ``empirical`` law instead.

:func:`fit_scenario` writes the scenario file with the fitted values in place (ruamel.yaml keeps
the file's comments and layout), each with a comment giving sample size, censored count, the
family's selection and the KS statistic. :func:`validate` re-simulates the fitted scenario and
compares throughput, availability and utilisation per station and WIP with the log's own values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["STATES", "ALIASES", "MTCONNECT_EXECUTION", "LogError", "read_log", "extract", "fit_distribution",
           "fit_scenario", "validate", "log_kpis", "FitReport"]

#: the state vocabulary of a plant log
STATES = ("processing", "setup", "idle", "blocked", "down", "maintenance", "off", "break", "held", "done", "scrap")
#: other names accepted for the states (case-insensitive)
ALIASES = {
    "active": "processing", "executing": "processing", "busy": "processing", "starved": "idle", "waiting": "idle",
    "ready": "idle", "wait": "idle", "failure": "down", "fault": "down", "alarm": "down", "breakdown": "down",
    "planned_maintenance": "maintenance", "off_shift": "off", "unavailable": "off", "feed_hold": "held",
    "hold": "held", "complete": "done", "completed": "done", "good": "done", "bad": "scrap", "rejected": "scrap",
}
#: MTConnect ``Execution`` values (the twin's own mapping read backwards; STOPPED is taken as a
#: planned stop: off shift, break or maintenance)
MTCONNECT_EXECUTION = {
    "ACTIVE": "processing", "READY": "idle", "WAIT": "idle", "INTERRUPTED": "down", "FEED_HOLD": "held",
    "PROGRAM_STOPPED": "held", "OPTIONAL_STOP": "held", "PROGRAM_OPTIONAL_STOP": "held", "STOPPED": "off",
    "PROGRAM_COMPLETED": "idle", "UNAVAILABLE": "off",
}
_CODE_STATE = ["processing", "setup", "idle", "blocked", "held", "down", "maintenance", "break", "off"]
STOPS = frozenset({"down", "maintenance", "off", "break", "held"})
RUNNING = frozenset({"processing", "setup", "idle", "blocked"})
MIN_N = 5
#: families with a bounded support: fitted to the complete observations (their censored MLE is a
#: slow numerical search), then scored with the full censored likelihood like the others
BOUNDED = ("uniform", "triangular")
#: at most this many distinct observed values (each seen 5 times or more on average) make a discrete law
MAX_DISCRETE = 20
#: a family whose Kolmogorov-Smirnov p-value is below this is not chosen while another is above it
KS_FLOOR = 0.05


class LogError(ValueError):
    """A log that cannot be read; the message names the column, row or value."""


# ---- reading ---------------------------------------------------------------------------------------------
@dataclass
class Log:
    rows: Any  # pandas DataFrame: time, station, unit, state, reason, part, product
    end: float
    failures: Any = None  # twin: DataFrame t, unit, profile (index)
    scrapped: dict = field(default_factory=dict)  # part -> exit time (twin)
    completed: Any = None  # twin: completion times of parts leaving the line
    source: str = ""
    sim_clock: bool = False  # times are the scenario's sim time (a twin result)


def _norm_state(v: Any) -> str:
    s = str(v).strip()
    if s.upper() in MTCONNECT_EXECUTION and s.upper() == s:
        return MTCONNECT_EXECUTION[s]
    s = s.lower()
    s = ALIASES.get(s, s)
    return s


def read_log(path: str | Path) -> Log:
    """Read a twin result or a plant table into one normalised table (see the module docstring)."""
    import pandas as pd

    p = Path(path)
    if p.is_dir() or (p.name == "events.parquet" and (p.parent / "parts.parquet").exists()):
        return _read_twin(p if p.is_dir() else p.parent)
    if not p.exists():
        raise LogError(f"{p}: no such file")
    try:
        if p.suffix.lower() == ".csv":
            df = pd.read_csv(p, dtype={"station": str, "state": str, "reason": str, "product": str, "unit": str})
        elif p.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        else:
            raise LogError(f"{p}: unknown log format {p.suffix!r} (use .csv or .parquet, or a twin result directory)")
    except LogError:
        raise
    except Exception as e:  # a broken file: say so, without a traceback
        raise LogError(f"{p}: cannot read the table ({e})") from None
    return _normalise(df, str(p))


def _normalise(df, source: str) -> Log:
    import pandas as pd

    missing = [c for c in ("time", "station", "state") if c not in df.columns]
    if missing:
        raise LogError(f"{source}: missing column(s) {', '.join(missing)} (needed: time, station, state; "
                       "optional: reason, part, product, unit)")
    if len(df) == 0:
        raise LogError(f"{source}: the log has no rows")
    t = df["time"]
    if pd.api.types.is_numeric_dtype(t):
        times = t.astype(float).to_numpy()
    else:
        try:
            ts = pd.to_datetime(t, format="ISO8601")
        except (ValueError, TypeError) as e:
            raise LogError(f"{source}: column time: neither seconds nor ISO date-times ({e})") from None
        times = (ts - ts.min()).dt.total_seconds().to_numpy()
    if not np.isfinite(times).all():
        bad = int(np.flatnonzero(~np.isfinite(times))[0])
        raise LogError(f"{source}: row {bad}: time is not a finite number")
    states = [_norm_state(v) for v in df["state"]]
    for i, s in enumerate(states):
        if s not in STATES:
            raise LogError(f"{source}: row {i}: state {df['state'].iloc[i]!r} is not in the vocabulary "
                           f"({', '.join(STATES)}; MTConnect Execution values also work)")
    out = pd.DataFrame({
        "time": times - (times.min() if times.min() < 0 else 0.0),
        "station": df["station"].astype(str).to_numpy(),
        "unit": (df["station"].astype(str) + "#" + df["unit"].astype(str)).to_numpy() if "unit" in df.columns
        else df["station"].astype(str).to_numpy(),
        "state": states,
        "reason": df["reason"].fillna("").astype(str).to_numpy() if "reason" in df.columns else "",
        "part": df["part"].astype(str).where(df["part"].notna(), None).to_numpy() if "part" in df.columns else None,
        "product": df["product"].where(df["product"].notna(), None).to_numpy() if "product" in df.columns else None,
    })
    out["order"] = np.arange(len(out))
    out = out.sort_values(["time", "order"], kind="stable").reset_index(drop=True)
    return Log(rows=out, end=float(out["time"].max()), source=source)


def _read_twin(d: Path) -> Log:
    import json

    import pandas as pd

    try:
        ev = pd.read_parquet(d / "events.parquet")
        parts = pd.read_parquet(d / "parts.parquet")
        meta = json.loads((d / "meta.json").read_text())
    except Exception as e:
        raise LogError(f"{d}: not a twin result (events.parquet, parts.parquet, meta.json): {e}") from None
    prod = dict(zip(parts["part"].astype(int), parts["product"].astype(str)))
    part = ev["part"].astype(int).to_numpy()
    rows = pd.DataFrame({
        "time": ev["t"].astype(float).to_numpy(),
        "station": ev["station"].astype(str).to_numpy(),
        "unit": ev["resource"].astype(str).to_numpy(),
        "state": [_CODE_STATE[int(c)] for c in ev["code"]],
        "reason": "",
        "part": [None if p < 0 else str(p) for p in part],
        "product": [None if p < 0 else prod.get(int(p)) for p in part],
    })
    rows["order"] = np.arange(len(rows))
    fails = None
    if (d / "failures.parquet").exists():
        f = pd.read_parquet(d / "failures.parquet")
        fails = pd.DataFrame({"t": f["t"].astype(float), "unit": f["resource"].astype(str), "profile": f["profile"].astype(int),
                              "ttr": f["ttr"].astype(float)})
    sc = parts["outcome"].astype(str) == "scrap"
    scrapped = {str(int(p)): float(t) for p, t in zip(parts["part"][sc], parts["t_exit"][sc])}
    done = parts["outcome"].astype(str) == "complete"
    return Log(rows=rows, end=float(meta["horizon"]), failures=fails, scrapped=scrapped,
               completed=parts["t_exit"][done].to_numpy(dtype=float), source=str(d), sim_clock=True)


# ---- extraction -----------------------------------------------------------------------------------------
@dataclass
class Visit:
    station: str
    unit: str
    part: str | None
    product: str | None
    start: float
    end: float | None = None
    proc: float = 0.0
    censored: bool = False
    scrap: bool = False


@dataclass
class Extract:
    visits: list[Visit] = field(default_factory=list)
    setups: list[tuple[str, str | None, str | None, float]] = field(default_factory=list)  # station, from, to, time
    repairs: dict[tuple[str, int], list[tuple[float, bool]]] = field(default_factory=dict)  # (station, profile) -> (ttr, censored)
    lives: dict[tuple[str, int], list[tuple[float, bool]]] = field(default_factory=dict)  # (station, profile) -> (tbf, censored)
    time_in: dict[str, dict[str, float]] = field(default_factory=dict)  # station -> state -> seconds (summed over units)
    units: dict[str, set] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def extract(log: Log, scenario) -> Extract:
    """Visits, setups, repairs and lives (on each profile's basis) per station (see the module docstring)."""
    ex = Extract()
    df = log.rows
    stations = scenario.stations
    unknown = sorted(set(df["station"]) - set(stations))
    if unknown:
        raise LogError(f"{log.source}: station(s) {', '.join(unknown[:5])} are not in the scenario "
                       f"(stations: {', '.join(stations)}); rename them in the log or map them first")
    fails_by_unit: dict[str, list[tuple[float, int, float]]] = {}
    if log.failures is not None:
        for t, u, p, r in zip(log.failures["t"], log.failures["unit"], log.failures["profile"], log.failures["ttr"]):
            fails_by_unit.setdefault(u, []).append((float(t), int(p), float(r)))
    for unit, g in df.groupby("unit", sort=False):
        station = g["station"].iloc[0]
        ex.units.setdefault(station, set()).add(unit)
        _unit(ex, log, scenario, station, unit, g, fails_by_unit.get(unit, []))
    return ex


def _profile_of(scenario, station: str, reason: str, ex: Extract) -> int | None:
    profs = stations_failures(scenario, station)
    names = [f.name for f in profs]
    if reason and reason in names:
        return names.index(reason)
    if len(profs) == 1:
        return 0
    if profs:
        note = f"{station}: down without a failure name (reason) and {len(profs)} profiles: not attributed"
        if note not in ex.notes:
            ex.notes.append(note)
    return None


def stations_failures(scenario, station: str):
    return list(scenario.stations[station].failures)  # every station spec has failures (twin.specs.StationSpec)


def _unit(ex: Extract, log: Log, scenario, station: str, unit: str, g, twin_fails) -> None:
    """Walk one unit's timeline: state rows, and for twin logs the failure log's instants (a
    failure at its time, whatever stop masks it in the state log, and its repair's end)."""
    profs = stations_failures(scenario, station)
    tin = ex.time_in.setdefault(station, {})
    events = [(float(t), 1, k, "state", s, part, prod, reason) for k, (t, s, part, prod, reason) in
              enumerate(zip(g["time"], g["state"], g["part"], g["product"], g["reason"] if "reason" in g else [""] * len(g)))]
    explicit = log.failures is not None  # a twin result: failures come from its failure log
    for t, prof, ttr in twin_fails:
        if prof < len(profs):
            events.append((t, 0, 0, "fail", prof, ttr, None, None))
            events.append((t + ttr, 2, 0, "repaired", prof, None, None, None))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    expo = [0.0] * len(profs)
    failed = [False] * len(profs)
    windows = scenario.calendar.maintenance_for(station, log.end + 1.0) if (log.sim_clock and scenario.calendar) else []
    st = {"cur": None, "last_product": None, "setup_t": 0.0, "setup_from": None, "in_setup": False, "state": None,
          "since": events[0][0] if events else 0.0, "t": events[0][0] if events else 0.0,
          "down_since": None, "down_last": None, "down_prof": None}

    def close(t_end: float, censored: bool = False, scrap: bool = False):
        cur = st["cur"]
        if cur is None:
            return
        cur.end, cur.censored = t_end, censored
        cur.scrap = scrap or (not censored and cur.part is not None and cur.part in log.scrapped
                              and abs(log.scrapped[cur.part] - t_end) < 1e-6)
        ex.visits.append(cur)
        if not censored:
            for k, pf in enumerate(profs):
                if pf.basis == "cycles" and not failed[k]:
                    expo[k] += 1
        st["last_product"] = cur.product or st["last_product"]
        st["cur"] = None

    def advance(t1: float):
        s, t0 = st["state"], st["t"]
        st["t"] = max(t0, t1)
        d = t1 - t0
        if s is None or d <= 0:
            return
        tin[s] = tin.get(s, 0.0) + d
        if s == "processing" and st["cur"] is not None:
            st["cur"].proc += d
        if s == "setup":
            st["setup_t"] += d
        for k, pf in enumerate(profs):
            b = pf.basis
            if not failed[k] and (b == "calendar" or (b == "operating" and s in RUNNING) or (b == "processing" and s == "processing")):
                expo[k] += d

    def failure(prof: int | None, ttr: float | None = None):
        if prof is None:
            return
        ex.lives.setdefault((station, prof), []).append((expo[prof], False))
        failed[prof] = True
        if ttr is not None:
            ex.repairs.setdefault((station, prof), []).append((ttr, False))

    def repaired(prof: int):
        failed[prof] = False
        expo[prof] = 0.0

    def end_down(t_end: float, censored: bool):
        if st["down_since"] is None:
            return
        prof = st["down_prof"]
        if prof is not None:
            ex.repairs.setdefault((station, prof), []).append((t_end - st["down_since"], censored))
            if not censored:
                repaired(prof)
        st["down_since"] = st["down_prof"] = None

    for ev in events:
        t, kind = ev[0], ev[3]
        advance(t)
        if kind == "fail":
            failure(ev[4], ev[5])
            continue
        if kind == "repaired":
            if ev[0] <= log.end:
                repaired(ev[4])
            continue
        s, part, prod, reason = ev[4], ev[5], ev[6], ev[7]
        if s in ("done", "scrap"):  # instants: a part finished (good or bad)
            close(t, scrap=s == "scrap")
            continue
        prev, since = st["state"], st["since"]
        if s != prev:
            st["since"] = t
        if not explicit:  # down episodes from the state rows: first `down` to the last, through masking stops
            if s == "down":
                if st["down_since"] is None:
                    st["down_since"] = t
                    st["down_prof"] = _profile_of(scenario, station, reason, ex)
                    failure(st["down_prof"])
                st["down_last"] = None
            elif st["down_since"] is not None:
                if s in ("off", "break", "maintenance", "held"):
                    if st["down_last"] is None:
                        st["down_last"] = t  # last seen down: the repair may end inside the masking stop
                else:
                    end_down(st["down_last"] if st["down_last"] is not None else t, False)
                    st["down_last"] = None
        if prev == "maintenance" and s != "maintenance" and not any(a - 1e-6 <= since and t <= b + 1e-6 for a, b in windows):
            # planned maintenance (not a calendar window) renews every clock that is not failed:
            # the lives so far are censored there
            for k in range(len(profs)):
                if not failed[k] and expo[k] > 0:
                    ex.lives.setdefault((station, k), []).append((expo[k], True))
                    expo[k] = 0.0
        if s == "processing":
            cur = st["cur"]
            if cur is not None and (part is None or cur.part != part):
                close(t)
            if st["cur"] is None:
                st["cur"] = Visit(station, unit, part, prod, t)
                if st["in_setup"]:
                    ex.setups.append((station, st["setup_from"], prod, st["setup_t"]))
                    st["in_setup"] = False
        elif s in ("idle", "blocked"):
            close(t)
            st["in_setup"] = False
        elif s == "setup":
            close(t)
            if not st["in_setup"]:
                st["in_setup"], st["setup_t"], st["setup_from"] = True, 0.0, st["last_product"]
        st["state"] = s
    advance(log.end)
    close(log.end, censored=True)
    end_down(log.end, True)
    for k in range(len(profs)):
        if not failed[k]:
            ex.lives.setdefault((station, k), []).append((expo[k], True))


# ---- fitting ---------------------------------------------------------------------------------------------
@dataclass
class Fit:
    dist: dict | None  # the twin distribution (None: not fitted)
    family: str
    n: int
    censored: int
    aic: float = math.nan
    bic: float = math.nan
    ks: float = math.nan
    ks_p: float = math.nan
    mean: float = math.nan
    candidates: dict = field(default_factory=dict)  # family -> AIC
    note: str = ""

    def comment(self, criterion: str = "aic") -> str:
        if self.dist is None:
            return f"not fitted: {self.note}"
        c = f"fitted: n={self.n}" + (f" ({self.censored} censored)" if self.censored else "")
        c += f", {self.family} by {criterion.upper()}" if len(self.candidates) > 1 else f", {self.family}"
        if math.isfinite(self.ks):
            c += f", KS D={self.ks:.3f} p={self.ks_p:.2g}" + (" (uncensored)" if self.censored else "")
        return c


def _sig(x: float) -> float:
    return float(f"{x:.5g}")


def _candidates():
    from scipy import stats

    def lognorm(p):
        s, _loc, scale = p
        m = scale * math.exp(s * s / 2)
        return {"dist": "lognormal", "mean": _sig(m), "sd": _sig(m * math.sqrt(math.expm1(s * s)))}

    def triang(p):
        c, loc, scale = p
        return {"dist": "triangular", "low": _sig(loc), "mode": _sig(loc + c * scale), "high": _sig(loc + scale)}

    return {  # family -> (scipy law, fit kwargs, number of free parameters, to twin dict)
        "exponential": (stats.expon, {"floc": 0}, 1, lambda p: {"dist": "exponential", "mean": _sig(p[1])}),
        "weibull": (stats.weibull_min, {"floc": 0}, 2, lambda p: {"dist": "weibull", "shape": _sig(p[0]), "scale": _sig(p[2])}),
        "gamma": (stats.gamma, {"floc": 0}, 2, lambda p: {"dist": "gamma", "shape": _sig(p[0]), "scale": _sig(p[2])}),
        "lognormal": (stats.lognorm, {"floc": 0}, 2, lognorm),
        "normal": (stats.norm, {}, 2, lambda p: {"dist": "normal", "mean": _sig(p[0]), "sd": _sig(p[1])}),
        "uniform": (stats.uniform, {}, 2, lambda p: {"dist": "uniform", "low": _sig(p[0]), "high": _sig(p[0] + p[1])}),
        "triangular": (stats.triang, {}, 3, triang),
    }


def fit_distribution(values, censored=(), criterion: str = "aic", families: tuple[str, ...] | None = None) -> Fit:
    """Maximum-likelihood fit of every family to complete ``values`` and right-censored
    ``censored`` observations; the family with the lowest AIC (or BIC) wins.

    >>> import numpy as np
    >>> x = np.minimum(np.random.default_rng(3).exponential(100.0, 400), 150.0)  # watched for 150 s
    >>> f = fit_distribution(x[x < 150], x[x >= 150], families=("exponential",))
    >>> round(float(f.dist["mean"] / (x.sum() / (x < 150).sum())), 4)  # the exponential's MLE: exposure / failures
    1.0
    """
    from pydantic import TypeAdapter
    from scipy import stats

    from twin.distributions import Distribution

    from .residual import frozen

    x = np.asarray(values, dtype=float)
    c = np.asarray(censored, dtype=float)
    x, c = x[np.isfinite(x) & (x >= 0)], c[np.isfinite(c) & (c >= 0)]
    n, nc = len(x), len(c)
    if n + nc == 0:
        return Fit(None, "", 0, 0, note="no observations")
    if n and (np.ptp(x) <= 1e-9 * max(1.0, abs(x.mean()))) and (nc == 0 or c.max() <= x[0]):
        return Fit({"dist": "constant", "value": _sig(x[0])}, "constant", n, nc, mean=float(x[0]), candidates={"constant": 0})
    if n < MIN_N:
        return Fit(None, "", n, nc, note=f"too few complete observations ({n} < {MIN_N}); the scenario's value is kept")
    vals, counts = np.unique(np.round(x, 9), return_counts=True)
    if 1 < len(vals) <= MAX_DISCRETE and n >= 5 * len(vals) and (nc == 0 or c.max() <= vals[0]):
        # a few exact values (an inspection program's cycle times): the discrete law, whose MLE is
        # the observed frequencies (no density to compare with the continuous families)
        pr = counts / counts.sum()
        d = {"dist": "empirical", "values": [_sig(v) for v in vals], "probabilities": [float(q) for q in pr]}
        d["probabilities"][-1] = float(1.0 - sum(d["probabilities"][:-1]))
        return Fit(d, "empirical", n, nc, mean=float(np.dot(vals, pr)), candidates={"empirical": 0},
                   note=f"{len(vals)} distinct values")
    ta = TypeAdapter(Distribution)
    res = {}
    scale = float(np.mean(x)) or 1.0
    for fam, (law, kw, k, to_twin) in _candidates().items():
        if families is not None and fam not in families:
            continue
        try:
            with np.errstate(all="ignore"):
                if nc == 0 or fam in BOUNDED:
                    p = law.fit(x / scale, **kw)
                else:
                    p = law.fit(stats.CensoredData(uncensored=x / scale, right=c / scale), **kw)
            p = list(p)
            # back to seconds: location and scale parameters are the last two
            p[-2] *= scale
            p[-1] *= scale
            d = ta.validate_python(to_twin(p))
            lawd = frozen(d)
            if lawd is None:
                continue
            with np.errstate(all="ignore"):
                ll = float(np.sum(lawd.logpdf(x)) + (np.sum(lawd.logsf(c)) if nc else 0.0))
        except Exception:  # a family that does not fit these data (support, convergence)
            continue
        if not math.isfinite(ll):
            continue
        aic, bic = 2 * k - 2 * ll, k * math.log(n + nc) - 2 * ll
        res[fam] = (aic, bic, d, lawd, stats.kstest(x, lawd.cdf))
    if not res:
        return Fit(None, "", n, nc, note="no family fits these data")
    # by information criterion, among the families the KS test does not reject (all, if it rejects
    # every one: with thousands of observations it rejects any law that is not the true one)
    ok = [f for f, r in res.items() if r[4].pvalue >= KS_FLOOR] or list(res)
    fam = min(ok, key=lambda f: res[f][0] if criterion == "aic" else res[f][1])
    aic, bic, d, lawd, ks = res[fam]
    return Fit(d.model_dump(mode="json", by_alias=True, exclude_none=True), fam, n, nc, aic, bic, float(ks.statistic),
               float(ks.pvalue), float(d.mean()), {f: r[0] if criterion == "aic" else r[1] for f, r in res.items()})


# ---- the fitted scenario ------------------------------------------------------------------------------
@dataclass
class FitReport:
    fits: list[dict] = field(default_factory=list)  # where, what, fit
    notes: list[str] = field(default_factory=list)
    validation: dict | None = None

    def add(self, where: str, what: str, fit) -> None:
        self.fits.append({"where": where, "what": what, "fit": fit})


def _own_process_time(spec):
    """The station's own process_time (machine kinds), else None."""
    from twin.processes.machine import MachineSpec

    return spec.process_time if isinstance(spec, MachineSpec) else None


def _process_slots(sc, station: str):
    """(yaml path, [(product, step)]) per place the scenario keeps a process time of ``station``."""
    slots: dict[tuple, list] = {}
    for _p, pname, i, step in sc.visits(station):
        if step.operations is not None:
            continue
        if step.process_time is not None:
            slots.setdefault(("products", pname, "routing", i, "process_time"), []).append((pname, i))
        elif _own_process_time(sc.stations[station]) is not None:
            slots.setdefault(("stations", station, "process_time"), []).append((pname, i))
    return slots


def fit_scenario(log: Log, scenario_path: str | Path, out: str | Path, criterion: str = "aic") -> FitReport:
    """Fit ``log`` into the scenario file ``scenario_path``; write the result to ``out``."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    from twin.processes.machine import MachineSpec
    from twin.scenario import load

    sc = load(scenario_path)
    ex = extract(log, sc)
    rep = FitReport(notes=list(ex.notes))
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    doc = yaml.load(Path(scenario_path).read_text(encoding="utf-8"))

    def flow(d: dict) -> CommentedMap:
        m = CommentedMap(d)
        m.fa.set_flow_style()
        return m

    def node(path):
        cur = doc
        for k in path:
            cur = cur[k]
        return cur

    def put(path, value, comment: str):
        parent = node(path[:-1])
        parent[path[-1]] = value
        try:
            parent.yaml_add_eol_comment(comment, path[-1])
        except AttributeError:  # a list item
            pass

    # process times: one fit per place the scenario keeps one (a routing step of a group pools
    # the group's stations; a station's own process_time pools the products that use it)
    slots: dict[tuple, list[tuple[str, str, int]]] = {}
    for station in sc.stations:
        for path, keys in _process_slots(sc, station).items():
            slots.setdefault(path, []).extend((station, pn, i) for pn, i in keys)
    for path, keys in slots.items():
        prods_at = {}
        for station, pn, i in keys:
            prods_at.setdefault(station, set()).add(pn)
        twice = {(st, pn) for st, pn, _i in keys if sum(1 for a, b, _ in keys if (a, b) == (st, pn)) > 1}
        if twice:
            rep.notes.append(f"{'.'.join(map(str, path))}: a product visits a station twice; its process times are pooled")
        vs = [v for v in ex.visits if v.station in prods_at and
              (v.product in prods_at[v.station] or (v.product is None and len(prods_at[v.station]) == 1))]
        f = fit_distribution([v.proc for v in vs if not v.censored], [v.proc for v in vs if v.censored], criterion)
        rep.add(".".join(str(k) for k in path), "process time", f)
        if f.dist is not None:
            put(list(path), flow(f.dist), f.comment(criterion))
    for station, spec in sc.stations.items():
        if station not in ex.units:
            rep.notes.append(f"{station}: not in the log; kept as it is")
            continue
        visits_here = [v for v in ex.visits if v.station == station]
        if not visits_here and sc.visits(station):
            rep.notes.append(f"{station}: no processing in the log")
        # failures
        profs = stations_failures(sc, station)
        if profs:
            new = CommentedSeq()
            for k, pf in enumerate(profs):
                item = CommentedMap((kk, vv) for kk, vv in node(["stations", station, "failures"])[k].items())
                lives = ex.lives.get((station, k), [])
                reps = ex.repairs.get((station, k), [])
                ftbf = fit_distribution([x for x, cz in lives if not cz], [x for x, cz in lives if cz], criterion)
                fttr = fit_distribution([x for x, cz in reps if not cz], [x for x, cz in reps if cz], criterion)
                rep.add(f"stations.{station}.failures[{k}].tbf", f"time between failures ({pf.basis})", ftbf)
                rep.add(f"stations.{station}.failures[{k}].ttr", "time to repair", fttr)
                if ftbf.dist is not None and fttr.dist is not None:
                    for gone in ("availability", "mttr"):
                        item.pop(gone, None)
                    item["tbf"] = flow(ftbf.dist)
                    item["ttr"] = flow(fttr.dist)
                    item.yaml_add_eol_comment(ftbf.comment(criterion), "tbf")
                    item.yaml_add_eol_comment(fttr.comment(criterion), "ttr")
                else:
                    rep.notes.append(f"stations.{station}.failures[{k}]: kept (tbf: {ftbf.comment()}; ttr: {fttr.comment()})")
                new.append(item)
            node(["stations", station])["failures"] = new
        # setups
        su = spec.setup if isinstance(spec, MachineSpec) else None
        if su is not None and (su.default or su.changes):
            obs = [(a, b, t) for st, a, b, t in ex.setups if st == station and a is not None and b is not None and a != b]
            setup = CommentedMap((k, v) for k, v in node(["stations", station]).get("setup", {}).items())
            if su.changes:
                changes = CommentedMap()
                for a, row in su.changes.items():
                    r = CommentedMap()
                    for b in row:
                        ts = [t for x, y, t in obs if x == a and y == b]
                        r[b] = _sig(float(np.mean(ts))) if ts else row[b]
                        r.yaml_add_eol_comment(f"fitted: n={len(ts)} changeovers" if ts else "not in the log; kept", b)
                    changes[a] = r
                setup["changes"] = changes
            if su.default:
                listed = {(a, b) for a, row in su.changes.items() for b in row}
                ts = [t for x, y, t in obs if (x, y) not in listed]
                if ts:
                    setup["default"] = _sig(float(np.mean(ts)))
                    setup.yaml_add_eol_comment(f"fitted: n={len(ts)} changeovers", "default")
            node(["stations", station])["setup"] = setup
            rep.add(f"stations.{station}.setup", "setup times", Fit(None, "mean", len(obs), 0, note="means per product pair"))
        # scrap and rework rates (plain process-time stations; physics stations compute their scrap)
        if spec.kind in ("machine", "inspection", "wash", "deburr") and isinstance(spec, MachineSpec):
            done = [v for v in visits_here if not v.censored]
            if done:
                by_part: dict = {}
                for v in sorted(done, key=lambda v: v.start):
                    by_part.setdefault(v.part, []).append(v)
                rework = sum(len(vs) - 1 for p, vs in by_part.items() if p is not None)
                scrap = sum(1 for v in done if v.scrap)
                for key, k_, cur in (("scrap", scrap, spec.scrap), ("rework", rework, spec.rework)):
                    if k_ or cur:
                        rate = k_ / len(done)
                        st = node(["stations", station])
                        st[key] = _sig(rate)
                        st.yaml_add_eol_comment(f"fitted: {k_} of {len(done)} operations", key)
                        rep.add(f"stations.{station}.{key}", f"{key} rate", Fit({"rate": rate}, "binomial", len(done), 0))
    outp = Path(out)
    tmp = outp.with_name(f".tmp.{outp.name}")
    with tmp.open("w", encoding="utf-8") as fh:
        yaml.dump(doc, fh)
    try:
        load(tmp)  # the fitted file must be a valid scenario
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(outp)
    return rep


# ---- validation -----------------------------------------------------------------------------------------
def log_kpis(log: Log, scenario) -> dict[str, Any]:
    """Throughput [parts/h], WIP mean, and per station availability (1 - down / (time - off -
    break)) and utilisation (processing / (time - off - break)) of a log, one definition for
    the plant's log and the re-simulated ones."""
    ex = extract(log, scenario)
    span = log.end
    out: dict[str, Any] = {"stations": {}}
    for st, tin in ex.time_in.items():
        n_units = len(ex.units[st])
        tot = span * n_units - tin.get("off", 0.0) - tin.get("break", 0.0)
        if tot <= 0:
            continue
        out["stations"][st] = {"availability": 1.0 - tin.get("down", 0.0) / tot, "utilization": tin.get("processing", 0.0) / tot}
    last_st = {m for p in scenario.products.values() for m in p.routing[-1].members(scenario.groups)}
    if log.completed is not None:
        n_out = len(log.completed)
    else:
        n_out = sum(1 for v in ex.visits if v.station in last_st and not v.censored and not v.scrap)
    out["throughput_per_hour"] = n_out / (span / 3600.0)
    # WIP: each part from its first to its last appearance in the log
    first, lastseen = {}, {}
    for v in ex.visits:
        if v.part is None:
            continue
        first[v.part] = min(first.get(v.part, v.start), v.start)
        lastseen[v.part] = max(lastseen.get(v.part, v.end), v.end)
    out["wip_mean"] = sum(lastseen[p] - first[p] for p in first) / span if first else math.nan
    return out


def _result_log(res) -> Log:
    import pandas as pd

    ev = res.events.to_pandas()
    parts = res.part_table.to_pandas()
    prod = dict(zip(parts["part"].astype(int), parts["product"].astype(str)))
    part = ev["part"].astype(int).to_numpy()
    rows = pd.DataFrame({"time": ev["t"].to_numpy(float), "station": ev["station"].astype(str).to_numpy(),
                         "unit": ev["resource"].astype(str).to_numpy(), "state": [_CODE_STATE[int(c)] for c in ev["code"]],
                         "reason": "", "part": [None if p < 0 else str(p) for p in part],
                         "product": [None if p < 0 else prod.get(int(p)) for p in part]})
    f = res.failure_table.to_pandas()
    fails = pd.DataFrame({"t": f["t"].astype(float), "unit": f["resource"].astype(str), "profile": f["profile"].astype(int),
                          "ttr": f["ttr"].astype(float)})
    sc = parts["outcome"].astype(str) == "scrap"
    done = parts["outcome"].astype(str) == "complete"
    return Log(rows=rows, end=float(res.horizon), failures=fails,
               scrapped={str(int(p)): float(t) for p, t in zip(parts["part"][sc], parts["t_exit"][sc])},
               completed=parts["t_exit"][done].to_numpy(float), source="simulation", sim_clock=True)


def validate(log: Log, fitted_path: str | Path, replications: int = 5, seed: int | None = None) -> dict[str, Any]:
    """Re-simulate the fitted scenario over the log's span and compare its KPIs with the log's:
    per KPI the log's value, the simulated mean and 95 % prediction interval of one run, and a
    flag where the log's value lies outside it."""
    from scipy import stats

    import twin

    sc = twin.load(fitted_path, horizon=log.end, warmup=0.0)
    plant = log_kpis(log, sc)
    sims = []
    for r in range(replications):
        res = twin.Run(sc, seed=seed, replication=r).run()
        sims.append(log_kpis(_result_log(res), sc))
    rows = []

    def compare(name: str, observed: float, values: list[float]):
        v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
        if not len(v) or observed is None or not math.isfinite(observed):
            return
        m = float(v.mean())
        sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        tq = float(stats.t.ppf(0.975, len(v) - 1)) if len(v) > 1 else math.inf
        half = tq * sd * math.sqrt(1 + 1 / len(v)) if len(v) > 1 else math.inf
        lo, hi = m - half, m + half
        rel = abs(observed - m) / abs(observed) if observed else math.inf
        rows.append({"kpi": name, "log": observed, "model": m, "low": lo, "high": hi,
                     "disagree": bool(not (lo <= observed <= hi)) and rel > 0.01})

    compare("throughput_per_hour", plant["throughput_per_hour"], [s["throughput_per_hour"] for s in sims])
    compare("wip_mean", plant["wip_mean"], [s["wip_mean"] for s in sims])
    for st, k in plant["stations"].items():
        for key in ("availability", "utilization"):
            compare(f"{st}.{key}", k[key], [s["stations"].get(st, {}).get(key) for s in sims])
    return {"replications": replications, "span_s": log.end, "rows": rows,
            "disagreements": [r["kpi"] for r in rows if r["disagree"]]}
