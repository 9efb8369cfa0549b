"""The line as an operator sees it (read-only; what the monitoring page ``GET /`` draws).

``GET /v1/sessions/{id}/line`` answers, for a lockstep session at its current sim time:

* ``stages``: the line in routing order, left to right. A stage is a column of stations (several
  for a parallel group, e.g. ``LATHES: [L1, L2]``) or of buffers (the buffers between two
  stages). The order follows ``products[*].routing`` (steps in order of first appearance over
  the products, each station once); a declared buffer stands after the stage of its upstream
  station, an implicit one (``in:...`` unbounded inputs, ``rework:...`` loops) before the stage
  it feeds. Stations on no routing (robots, AGV fleets) form a last stage.
* ``stations`` / ``buffers``: the state of each now (state tags after the twin's state model,
  ``twin.states``: ``state`` is one of :data:`STATES`, telling setup from processing), and each
  buffer's level and capacity (``null``: unbounded).
* ``alarms``: open stops (failure, planned maintenance, hold) with their start, and the most
  recent closed ones with their duration, per resource, from the state log (the log the ISO
  22400 time elements come from, so a duration here is what the KPIs count as down time).
  A failure row carries its profile's name (``spindle``), a maintenance row its plan's name
  (``command`` when a ``request_maintenance`` command started it).
* ``trend``: line KPIs over the last :data:`TREND_SPAN_S` of sim time, one point every
  :data:`TREND_STEP_S`, each over the rolling window :data:`TREND_WINDOW_S` that ends at the
  point (points inside the warm-up are left out): ``throughput_per_planned_hour`` = good parts
  in the window / its planned operation time (ISO 22400-2 POT of the pacing step: the window
  minus off-shift time; null when the window holds no planned time), ``oee`` (``line.oee``) and
  ``wip_mean`` (``line.wip_mean``), all from the KPI registry's definitions
  (:mod:`twin.kpi`). Past points are computed once per run and kept.
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field

from ..deps import reader, service
from ..errors import ErrorBody, StrictJSONRoute
from ..service import Service

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], route_class=StrictJSONRoute)

#: how far back the trend reaches [s] (a shift), its sampling step and the rolling window of a point
TREND_SPAN_S = 8 * 3600.0
TREND_STEP_S = 900.0
TREND_WINDOW_S = 3600.0
#: closed alarms reported (the most recent ones)
RECENT_ALARMS = 20

STATES = ("processing", "setup", "starved", "blocked", "held", "down", "maintenance", "break", "off_shift")
# state code (twin.states.Code) -> the page's state name
_STATE_OF_CODE = {0: "processing", 1: "setup", 2: "starved", 3: "blocked", 4: "held", 5: "down", 6: "maintenance",
                  7: "break", 8: "off_shift"}
_ALARM_CODES = {5: "failure", 6: "maintenance", 4: "held"}
# the stops that hide an alarm's code in the state log (higher priority, twin.states.STOP_PRIORITY)
_MASKS = {5: {8, 7, 6}, 6: {8, 7}, 4: {8, 7, 6, 5}}


class Stage(BaseModel):
    kind: Literal["stations", "buffers"]
    names: list[str]


class StationNow(BaseModel):
    state: str | None = Field(description=f"one of {', '.join(STATES)} (null if the tags do not say)")
    item_state: str | None = None
    operation_mode: str | None = None
    reason: str | None = None
    execution: str | None = None
    units: int
    units_busy: int | None = None


class BufferNow(BaseModel):
    level: int
    capacity: int | None = Field(description="null: unbounded")


class Alarm(BaseModel):
    station: str
    resource: str
    kind: Literal["failure", "maintenance", "held"]
    name: str = Field(description="failure profile, maintenance plan ('command' for a command), or 'held'")
    start: float = Field(description="sim time [s]")
    end: float | None = Field(description="sim time [s]; null while open")
    duration_s: float = Field(description="end - start, or now - start while open")


class TrendPoint(BaseModel):
    t: float = Field(description="sim time [s] at the end of the window")
    throughput_per_planned_hour: float | None = Field(description="good parts / planned operation time of the window [parts/h]")
    oee: float | None = Field(description="line OEE of the window [1]")
    wip_mean: float | None = Field(description="time-average WIP of the window [parts]")


class LineView(BaseModel):
    sim_time: float
    horizon: float
    warmup: float = Field(description="end of the warm-up [s]: KPIs (and GET .../kpis) start there")
    in_warmup: bool
    stages: list[Stage]
    stations: dict[str, StationNow]
    buffers: dict[str, BufferNow]
    alarms: list[Alarm]
    trend: list[TrendPoint]
    trend_span_s: float = TREND_SPAN_S
    trend_window_s: float = TREND_WINDOW_S
    trend_step_s: float = TREND_STEP_S


E404 = {404: {"model": ErrorBody, "description": "No such session (closed or timed out)"}}


@router.get("/{sid}/line", response_model=LineView, responses=E404)
async def line(sid: str = Path(min_length=1, max_length=64), svc: Service = Depends(service), _=Depends(reader)):
    """The line now, in routing order: station states (setup told from processing), buffer fill,
    open and recent alarms with durations, and a trend of throughput over planned time, OEE and
    WIP (see the module docs of ``twin.api.routers.line``)."""
    s = svc.sessions.get(sid)
    if s is None or s.closed:
        raise HTTPException(404, detail=f"no session {sid!r} (closed or timed out)")
    return await s.read(svc.step_pool, line_view)


# ---- the work (in a step thread, under the run lock) ----------------------------------------------
def line_view(run) -> dict:
    tags = run.tags()
    now = run.now
    stages = stages_of(run)
    stations = {}
    for name, st in run.stations.items():
        g = lambda k: tags.get(f"{name}.{k}")
        stations[name] = {"state": state_name(g("item_state"), g("operation_mode"), g("reason")),
                          "item_state": g("item_state"), "operation_mode": g("operation_mode"), "reason": g("reason"),
                          "execution": g("execution"), "units": st.resource_count(), "units_busy": g("units_busy")}
    buffers = {name: {"level": int(tags.get(f"{name}.level") or 0), "capacity": tags.get(f"{name}.capacity")}
               for name in run.buffers}
    return {"sim_time": now, "horizon": run.horizon, "warmup": run.warmup, "in_warmup": now <= run.warmup,
            "stages": stages, "stations": stations, "buffers": buffers, "alarms": alarms(run), "trend": trend(run)}


_NAMED = {("Executing", "Processing"): "processing", ("Executing", "Setup"): "setup"}
_BY_REASON = {"starved": "starved", "blocked": "blocked", "held": "held", "failure": "down",
              "planned_maintenance": "maintenance", "break": "break", "off_shift": "off_shift"}


def state_name(item_state, operation_mode, reason) -> str | None:
    """The page's state name from the three state tags (``twin.states.CODE_FIELDS``).

    >>> state_name("Executing", "Setup", ""), state_name("OutOfService", "Maintenance", "failure")
    ('setup', 'down')
    """
    if item_state == "Executing":
        return _NAMED.get((item_state, operation_mode))
    return _BY_REASON.get(reason)


def stages_of(run) -> list[dict]:
    """Stations and buffers in routing order (see the module docs)."""
    sc = run.scenario
    order: list[list[str]] = []
    seen: set[str] = set()
    for pname in run.products:
        for step in sc.products[pname].routing:
            members = [m for m in step.members(sc.groups) if m not in seen]
            if members:
                order.append(members)
                seen.update(members)
    rest = [n for n in run.stations if n not in seen]
    if rest:
        order.append(rest)
    stage_of = {n: i for i, names in enumerate(order) for n in names}
    after: dict[int, list[str]] = {}  # stage index -> buffers after it
    before: dict[int, list[str]] = {}
    for name in run.buffers:
        spec = sc.buffers.get(name)
        if spec is not None:
            frm, _ = spec.ends()
            ups = [stage_of[m] for f in frm for m in sc.groups.get(f, [f]) if m in stage_of]
            if ups:
                after.setdefault(max(ups), []).append(name)
                continue
        # implicit: 'in:A|B' feeds A and B, 'rework:M' feeds M
        fed = name.partition(":")[2].split("|")
        downs = [stage_of[m] for m in fed if m in stage_of]
        before.setdefault(min(downs) if downs else len(order), []).append(name)
    out: list[dict] = []
    for i, names in enumerate(order):
        if i in before:
            out.append({"kind": "buffers", "names": before.pop(i)})
        out.append({"kind": "stations", "names": names})
        if i in after:
            out.append({"kind": "buffers", "names": after[i]})
    for names in before.values():
        out.append({"kind": "buffers", "names": names})
    return out


def alarms(run) -> list[dict]:
    """Open alarms and the :data:`RECENT_ALARMS` most recent closed ones, newest first."""
    import numpy as np

    log = run.state_log.numpy()
    t, res, code = log["t"], log["resource"], log["code"]
    now = run.now
    fl, ml = run.failure_log.numpy(), run.maintenance_log.numpy()
    plans = {i: n for n, i in run.maintenance_log.plans.items()}
    rows = []
    for rid, (rname, station) in enumerate(run.resources):
        idx = np.flatnonzero(res == rid)
        if not len(idx):
            continue
        c = code[idx]
        ts = t[idx]
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])  # the start of each run of equal codes
        cur = None  # [code, start, masked since]

        def close(end):
            kind = _ALARM_CODES[cur[0]]
            rows.append({"station": station, "resource": rname, "kind": kind,
                         "name": _name(run, kind, station, rid, cur[1], fl, ml, plans), "start": cur[1], "end": end,
                         "duration_s": (now if end is None else end) - cur[1]})

        for k in starts:
            ck, tk = int(c[k]), float(ts[k])
            if cur is not None and ck == cur[0]:
                cur[2] = None  # the same stop again after a higher-priority one hid it: one alarm
            elif cur is not None and ck in _MASKS[cur[0]]:
                if cur[2] is None:
                    cur[2] = tk
            else:
                if cur is not None:
                    close(cur[2] if cur[2] is not None else tk)
                cur = [ck, tk, None] if ck in _ALARM_CODES else None
        if cur is not None:
            close(cur[2])
    open_ = [r for r in rows if r["end"] is None]
    closed = sorted((r for r in rows if r["end"] is not None), key=lambda r: r["end"], reverse=True)[:RECENT_ALARMS]
    return sorted(open_, key=lambda r: r["start"], reverse=True) + closed


def _name(run, kind, station, rid, t0, fl, ml, plans) -> str:
    """The failure profile / maintenance plan logged at the alarm's start (same resource, same
    time); a failure that began under a higher-priority stop (a break) shows when that ends."""
    import numpy as np

    if kind == "failure":
        hit = np.flatnonzero((fl["resource"] == rid) & (fl["t"] == t0))
        if len(hit):
            profiles = run.scenario.stations[station].failures
            p = int(fl["profile"][hit[-1]])
            return profiles[p].name if 0 <= p < len(profiles) and profiles[p].name else f"failure {p}"
        return "failure"
    if kind == "maintenance":
        hit = np.flatnonzero((ml["resource"] == rid) & (ml["t"] == t0))
        return plans.get(int(ml["plan"][hit[-1]]), "maintenance") if len(hit) else "calendar"
    return "held"


# past trend points do not change: computed once per run (runs are dropped with their session)
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def trend(run) -> list[dict]:
    from twin.result import Result

    now = run.now
    first = max(run.warmup + TREND_STEP_S, now - TREND_SPAN_S)
    k0, k1 = math.ceil(first / TREND_STEP_S), math.floor(now / TREND_STEP_S)
    with _cache_lock:
        known = _cache.setdefault(run, {})
    todo = [k for k in range(k0, k1 + 1) if k not in known]
    if todo:
        base = Result.from_run(run, until=now)
        kw = {k: v for k, v in base.__dict__.items() if k not in ("parts", "kpis", "pri_table")}
        for k in todo:
            t1 = k * TREND_STEP_S
            t0 = max(run.warmup, t1 - TREND_WINDOW_S)
            known[k] = _point(Result(**{**kw, "warmup": t0, "horizon": t1}).kpis["line"], t1)
        for k in [k for k in known if k < k0]:
            del known[k]
    return [known[k] for k in range(k0, k1 + 1)]


def _point(line: dict, t1: float) -> dict:
    pot = line.get("POT")
    done = line.get("parts_completed")
    return {"t": t1, "throughput_per_planned_hour": (done / pot * 3600.0) if pot and done is not None else None,
            "oee": _num(line.get("oee")), "wip_mean": _num(line.get("wip_mean"))}


def _num(v):
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None
