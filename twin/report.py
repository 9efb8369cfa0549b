"""Reports people look at: one self-contained HTML file per result, comparison or sweep.

Charts are described once as data (:class:`Chart`) and drawn by two renderers: plotly for the
HTML report and notebooks (``res.plot.time_in_state()`` returns a plotly figure), matplotlib
for PNG files for slides (``--png-dir``; no browser needed). The HTML carries plotly.js inline
(no CDN, no network): it opens offline.

A run's report: KPI tables with units (from :mod:`twin.kpidefs`), time in state per station
(stacked bars), a state Gantt over a window, buffer levels and WIP over time with the warm-up
shaded, throughput per shift, the shifting bottleneck over time, the lead-time distribution,
energy by state, costs (with a cost model) and the plant picture (from the viewer, embedded as a
PNG data URI). A comparison's report: line KPIs with paired deltas, intervals and significance,
per-station deltas with intervals, the bottleneck before and after, costs and payback. A sweep's
report: mean and interval per point, the response curve of the objective, the best points.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .kpidefs import KPIS, fmt, unit
from .states import N_CODES, Code

__all__ = ["Chart", "Plots", "run_charts", "compare_charts", "sweep_charts", "to_plotly", "to_png", "report_html",
           "write_report", "load_report_source", "STATE_COLOURS", "STATE_GROUPS", "result_html"]

#: stacklight colours, the viewer's convention (twin.viewer.scene.STATE_COLOURS)
STATE_COLOURS = {
    Code.PROCESSING: "#2ea043", Code.SETUP: "#1e64dc", Code.STARVED: "#fac81e", Code.BLOCKED: "#e0a800",
    Code.HELD: "#c9b458", Code.FAILURE: "#d72323", Code.PLANNED_MAINTENANCE: "#f57c00", Code.BREAK: "#b4b4b4",
    Code.OFF_SHIFT: "#7a7a7a",
}
STATE_NAMES = {
    Code.PROCESSING: "processing", Code.SETUP: "setup", Code.STARVED: "starved", Code.BLOCKED: "blocked",
    Code.HELD: "held", Code.FAILURE: "failure", Code.PLANNED_MAINTENANCE: "planned maintenance", Code.BREAK: "break",
    Code.OFF_SHIFT: "off shift",
}
STATE_GROUPS = list(Code)


# ---- chart descriptions ----------------------------------------------------------------------
@dataclass
class Series:
    name: str
    x: Any
    y: Any
    colour: str | None = None
    err: Any = None  # half-widths (error bars)
    step: bool = False
    base: Any = None  # bar starts (Gantt)
    text: Any = None


@dataclass
class Chart:
    """A chart as data: ``kind`` is bar (stacked or grouped; ``horizontal``), line, hist, heatmap,
    gantt or errorbar; both renderers draw the same thing."""

    key: str
    title: str
    kind: str
    series: list[Series] = field(default_factory=list)
    xlabel: str = ""
    ylabel: str = ""
    stacked: bool = False
    horizontal: bool = False
    shade: list[tuple[float, float, str]] = field(default_factory=list)  # x ranges shaded (warm-up)
    z: Any = None  # heatmap values (rows x columns)
    xcats: list = field(default_factory=list)
    ycats: list = field(default_factory=list)
    zlabel: str = ""
    marks: list[tuple[Any, Any]] = field(default_factory=list)  # heatmap cells marked (x, y)
    note: str = ""
    zero_line: bool = False
    height: int = 420


# ---- a run's charts ---------------------------------------------------------------------------
def _stations(res) -> list[str]:
    return list(dict.fromkeys(s for _, s in res.resources))


def _durations(res, t0: float, t1: float) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(per-station state durations [s] shape (n_station, N_CODES), stations, unit counts)."""
    from .kpi import state_durations

    st = res.state
    n_res = len(res.resources)
    dur = state_durations(st["t"], st["resource"], st["code"], n_res, t0, t1)
    names = _stations(res)
    idx = {s: i for i, s in enumerate(names)}
    out = np.zeros((len(names), N_CODES))
    units = np.zeros(len(names), dtype=int)
    for r, (_, s) in enumerate(res.resources):
        out[idx[s]] += dur[r]
        units[idx[s]] += 1
    return out, names, units


def chart_time_in_state(res) -> Chart:
    dur, names, units = _durations(res, res.warmup, res.horizon)
    share = dur / np.maximum(dur.sum(axis=1, keepdims=True), 1e-300) * 100.0
    ch = Chart("time_in_state", "Time in state per station (share of the KPI window, all units)", "bar", stacked=True,
               horizontal=True, xlabel="share of time [%]", ylabel="station",
               note=f"window {_h(res.warmup)} to {_h(res.horizon)}; a station with several units sums their time")
    for c in Code:
        if dur[:, c].sum() > 0:
            ch.series.append(Series(STATE_NAMES[c], share[:, c].tolist(), [f"{s} ({u})" if u > 1 else s for s, u in zip(names, units)],
                                    STATE_COLOURS[c]))
    return ch


def chart_energy_by_state(res) -> Chart | None:
    dur, names, _ = _durations(res, res.warmup, res.horizon)
    ch = Chart("energy_by_state", "Energy by state per station", "bar", stacked=True, horizontal=True,
               xlabel="energy [kWh]", ylabel="station", note="time in each state x the station's power in that state; "
                                                              "process energy of physics kinds as 'process'")
    any_power = False
    for c in Code:
        vals = []
        for i, s in enumerate(names):
            p = res.power.get(s)
            vals.append(float(dur[i, c] * (p[c] if p is not None else 0.0)) / 3.6e6)
        if sum(vals) > 0:
            any_power = True
            ch.series.append(Series(STATE_NAMES[c], vals, names, STATE_COLOURS[c]))
    extra = [float(res.extra_energy.get(s, 0.0)) / 3.6e6 for s in names]
    if sum(extra) > 0:
        any_power = True
        ch.series.append(Series("process", extra, names, "#6a1b9a"))
    return ch if any_power else None


def chart_gantt(res, t0: float | None = None, t1: float | None = None, max_rows: int = 60) -> Chart:
    """State of every resource (unit) over [t0, t1] (default: the first 8 h after the warm-up)."""
    t0 = float(res.warmup) if t0 is None else float(t0)
    t1 = min(float(res.horizon), t0 + 8 * 3600.0) if t1 is None else float(t1)
    st = res.state
    order = np.lexsort((st["t"], st["resource"]))
    t, r, c = np.asarray(st["t"])[order], np.asarray(st["resource"])[order].astype(int), np.asarray(st["code"])[order].astype(int)
    nxt = np.empty_like(t)
    nxt[:-1] = t[1:]
    last = np.ones(len(t), dtype=bool)
    last[:-1] = r[1:] != r[:-1]
    nxt[last] = res.horizon
    a, b = np.clip(t, t0, t1), np.clip(nxt, t0, t1)
    keep = (b > a) & (r < max_rows)
    names = [n for n, _ in res.resources][:max_rows]
    ch = Chart("gantt", f"States over time, {_h(t0)} to {_h(t1)}", "gantt", xlabel="simulated time [h]", ylabel="resource",
               ycats=names, height=max(300, 28 * len(names) + 120),
               note="one row per unit; parallel units of a station as NAME#k")
    for code in Code:
        m = keep & (c == int(code))
        if m.any():
            ch.series.append(Series(STATE_NAMES[code], ((b[m] - a[m]) / 3600.0).tolist(), [names[i] for i in r[m]],
                                    STATE_COLOURS[code], base=(a[m] / 3600.0).tolist()))
    return ch


def _wip_steps(res) -> tuple[np.ndarray, np.ndarray]:
    p = res.parts
    rel = p["t_release"][np.isfinite(p["t_release"])]
    ex = p["t_exit"][np.isfinite(p["t_exit"])]
    ev = np.concatenate([rel, ex])
    d = np.concatenate([np.ones(len(rel)), -np.ones(len(ex))])
    o = np.argsort(ev, kind="stable")
    return ev[o], np.cumsum(d[o])


def _thin(t: np.ndarray, y: np.ndarray, n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """At most ~n points of a step function: the value at the end of each of n equal time bins
    and the extremes (a report of a year's run stays small)."""
    if len(t) <= n:
        return t, y
    k = int(math.ceil(len(t) / n))
    idx = np.unique(np.concatenate([np.arange(0, len(t), k), [len(t) - 1]]))
    return t[idx], y[idx]


def chart_levels(res) -> Chart:
    ch = Chart("levels", "Buffer levels and WIP over time", "line", xlabel="simulated time [h]", ylabel="parts",
               shade=[(0.0, res.warmup / 3600.0, "warm-up (not in the KPIs)")] if res.warmup > 0 else [])
    t, w = _wip_steps(res)
    t, w = _thin(t, w)
    ch.series.append(Series("WIP (line)", (t / 3600.0).tolist(), w.tolist(), "#212121", step=True))
    lv = res.levels
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"]
    for b, name in enumerate(res.buffer_names):
        m = np.asarray(lv["buffer"]) == b
        if not m.any():
            continue
        tb, yb = _thin(np.asarray(lv["t"])[m], np.asarray(lv["level"])[m].astype(float))
        ch.series.append(Series(name, (tb / 3600.0).tolist(), yb.tolist(), palette[b % len(palette)], step=True))
    return ch


def shift_intervals(res) -> list[tuple[float, float, str]]:
    """(start, end, label) of every shift occurrence in [warm-up, horizon] (the plant calendar),
    or 8-hour blocks when the plant runs around the clock."""
    from .calendar import DAY, WEEKDAYS, Calendar, clock_seconds

    t0, t1 = float(res.warmup), float(res.horizon)
    cal = (res.scenario or {}).get("calendar")
    out = []
    if cal and cal.get("shifts"):
        c = Calendar.model_validate(cal)
        off = c.offset()
        closed = c.closures(t1)
        n_days = int(math.ceil((t1 + off) / DAY)) + 1
        for k in range(-1, n_days):
            wd = WEEKDAYS[k % 7]
            for s in c.shifts:
                if wd not in s.days:
                    continue
                a, b = clock_seconds(s.start), clock_seconds(s.end)
                if b <= a:
                    b += DAY
                lo, hi = k * DAY + a - off, k * DAY + b - off
                if hi <= t0 or lo >= t1:
                    continue
                if any(x <= lo and hi <= y for x, y in closed):
                    continue
                out.append((max(lo, t0), min(hi, t1), f"d{k + 1} {wd} {s.name}"))
        out.sort()
    else:
        a = t0
        while a < t1 - 1e-9:
            b = min(a + 8 * 3600.0, t1)
            out.append((a, b, f"{_h(a)}-{_h(b)}"))
            a = b
    return out


def chart_throughput_per_shift(res) -> Chart:
    p = res.parts
    done = np.sort(p["t_exit"][p["outcome"] == 1])
    scr = np.sort(p["t_exit"][p["outcome"] == 2])
    iv = shift_intervals(res)
    labels = [lab for *_, lab in iv]
    good = [int(np.searchsorted(done, b) - np.searchsorted(done, a)) for a, b, _ in iv]
    bad = [int(np.searchsorted(scr, b) - np.searchsorted(scr, a)) for a, b, _ in iv]
    rate = [g / ((b - a) / 3600.0) for g, (a, b, _) in zip(good, iv)]
    ch = Chart("throughput_per_shift", "Throughput per shift", "bar", stacked=True, xlabel="shift", ylabel="parts",
               note="good and scrapped parts leaving the line in each shift (shifts of the plant calendar; 8-hour blocks "
                    "around the clock); hover for parts per hour of the shift")
    ch.series.append(Series("good", labels, good, "#2ea043", text=[f"{r:.1f} parts/h" for r in rate]))
    if sum(bad):
        ch.series.append(Series("scrap", labels, bad, "#d72323"))
    return ch


def chart_shifting_bottleneck(res, n_max: int = 60) -> Chart:
    """Mean active period per station in each shift (Roser, Nakano, Tanaka 2001): the station with
    the longest one is that shift's bottleneck (marked)."""
    from .kpi import active_periods

    st = res.state
    iv = shift_intervals(res)
    if len(iv) > n_max:  # merge to at most n_max columns
        k = int(math.ceil(len(iv) / n_max))
        iv = [(iv[i][0], iv[min(i + k, len(iv)) - 1][1], iv[i][2]) for i in range(0, len(iv), k)]
    names = _stations(res)
    rid_of = {s: [r for r, (_, x) in enumerate(res.resources) if x == s] for s in names}
    z = np.zeros((len(names), len(iv)))
    marks = []
    for j, (a, b, lab) in enumerate(iv):
        per = active_periods(st["t"], st["resource"], st["code"], len(res.resources), a, b)
        for i, s in enumerate(names):
            ps = np.concatenate([per[r] for r in rid_of[s]]) if rid_of[s] else np.zeros(0)
            z[i, j] = float(ps.mean()) / 60.0 if len(ps) else 0.0
        if z[:, j].max() > 0:
            marks.append((lab, names[int(np.argmax(z[:, j]))]))
    return Chart("shifting_bottleneck", "Shifting bottleneck: mean active period per station and shift", "heatmap",
                 xcats=[lab for *_, lab in iv], ycats=names, z=z.tolist(), zlabel="mean active period [min]",
                 marks=marks, xlabel="shift", ylabel="station", height=max(320, 26 * len(names) + 160),
                 note="active = not starved, blocked or held (failures count as active); the longest mean active period "
                      "in a shift (marked) is that shift's bottleneck; the KPI bottleneck is over the whole window")


def chart_lead_time(res) -> Chart | None:
    p = res.parts
    w = (p["outcome"] == 1) & (p["t_exit"] >= res.warmup) & (p["t_exit"] < res.horizon)
    if not w.any():
        return None
    lt = (p["t_exit"] - p["t_release"])[w] / 60.0
    ch = Chart("lead_time", "Lead time distribution (parts completed in the KPI window)", "hist", xlabel="lead time [min]",
               ylabel="parts", stacked=True,
               note=f"mean {np.mean(lt):.1f} min, median {np.median(lt):.1f} min, 95th percentile {np.percentile(lt, 95):.1f} min")
    prod = p["product"][w]
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"]
    for i, name in enumerate(res.products):
        m = prod == i
        if m.any():
            ch.series.append(Series(name, lt[m].tolist(), None, palette[i % len(palette)]))
    return ch


def run_charts(res, gantt_window: tuple[float | None, float | None] = (None, None)) -> list[Chart]:
    out = [chart_time_in_state(res), chart_gantt(res, *gantt_window), chart_levels(res), chart_throughput_per_shift(res),
           chart_shifting_bottleneck(res), chart_lead_time(res), chart_energy_by_state(res)]
    return [c for c in out if c is not None]


# ---- comparison and sweep charts ----------------------------------------------------------------
def compare_charts(rep: dict) -> list[Chart]:
    rows = rep["kpis"]
    out = []
    stations = sorted({k.split(".")[1] for k in rows if k.startswith("stations.")})
    for name, title in (("utilization", "utilisation"), ("oee", "OEE"), ("blocked_share", "blocked share"),
                        ("starved_share", "starved share")):
        keys = [f"stations.{s}.{name}" for s in stations if f"stations.{s}.{name}" in rows]
        if not keys:
            continue
        ch = Chart(f"delta_{name}", f"Change in {title} per station (candidate - baseline, {rep['confidence']:.0%} paired interval)",
                   "errorbar", xlabel="station", ylabel="change [percentage points]", zero_line=True,
                   note="a bar whose interval excludes 0 is a significant change")
        ch.series.append(Series(title, [k.split(".")[1] for k in keys], [100 * rows[k]["delta"] for k in keys],
                                "#1f77b4", err=[100 * rows[k]["half_width"] for k in keys]))
        out.append(ch)
    bn = rep.get("bottleneck") or {}
    cats = sorted(set((bn.get("baseline") or {}).get("counts", {})) | set((bn.get("candidate") or {}).get("counts", {})))
    if cats:
        ch = Chart("bottleneck", "Bottleneck before and after (share of replications)", "bar", xlabel="station",
                   ylabel="replications [%]")
        for side, colour in (("baseline", "#7f7f7f"), ("candidate", "#1f77b4")):
            cnt = (bn.get(side) or {}).get("counts", {})
            tot = sum(cnt.values()) or 1
            ch.series.append(Series(side, cats, [100 * cnt.get(c, 0) / tot for c in cats], colour))
        out.append(ch)
    return out


def sweep_charts(meta: dict) -> list[Chart]:
    rows = meta["points"]
    obj = meta["objective"]
    varied = meta["varied"]
    out = []
    if not rows or not varied:
        return out
    from .tables import label_of, unit_of

    u = unit_of(obj, meta.get("currency"))
    scale = _display_scale(obj)
    x0 = varied[0]
    others = varied[1:]
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if obj not in r["kpis"]:
            continue
        lab = ", ".join(f"{v}={r['point'][v]}" for v in others) or label_of(obj)
        groups.setdefault(lab, []).append(r)
    numeric = all(isinstance(r["point"][x0], (int, float)) for r in rows)
    ch = Chart("response", f"Response of {label_of(obj)} to {x0} (mean and {meta.get('confidence', 0.95):.0%} interval per point)",
               "errorbar" if not numeric else "line", xlabel=x0, ylabel=f"{label_of(obj)} [{u}]" if u else label_of(obj),
               note="points with one replication have no interval")
    for lab, rs in groups.items():
        rs = sorted(rs, key=lambda r: r["point"][x0] if numeric else str(r["point"][x0]))
        ch.series.append(Series(lab, [r["point"][x0] if numeric else str(r["point"][x0]) for r in rs],
                                [r["kpis"][obj]["mean"] * scale for r in rs], None,
                                err=[(r["kpis"][obj]["half_width"] * scale if math.isfinite(r["kpis"][obj]["half_width"]) else 0.0)
                                     for r in rs]))
    out.append(ch)
    ranked = sorted([r for r in rows if "rank" in r], key=lambda r: r["rank"])[:15]
    if ranked:
        best = Chart("best", f"Best points by {label_of(obj)}", "errorbar", horizontal=False, xlabel="point",
                     ylabel=f"{label_of(obj)} [{u}]" if u else label_of(obj))
        best.series.append(Series(label_of(obj), [f"#{r['rank']}: " + ", ".join(f"{_short(v)}={r['point'][v]}" for v in varied)
                                                  for r in ranked],
                                  [r["kpis"][obj]["mean"] * scale for r in ranked], "#2ea043",
                                  err=[(r["kpis"][obj]["half_width"] * scale if math.isfinite(r["kpis"][obj]["half_width"]) else 0.0)
                                       for r in ranked]))
        out.append(best)
    return out


def _short(path: str) -> str:
    """stations.GRIND.setup.default -> GRIND.setup.default"""
    return path.split(".", 1)[1] if path.startswith(("stations.", "buffers.")) else path


def _display_scale(key: str) -> float:
    from .kpidefs import _SCALE
    from .tables import split_key

    level, _, name = split_key(key)
    k = KPIS.get((level, name))
    return _SCALE.get(k.display, 1.0) if k else 1.0


def _h(t: float) -> str:
    return f"{t / 3600:g} h"


# ---- renderers ------------------------------------------------------------------------------
def to_plotly(ch: Chart):
    """The chart as a plotly figure."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if ch.kind == "bar":
        for s in ch.series:
            if ch.horizontal:
                fig.add_trace(go.Bar(name=s.name, x=s.x, y=s.y, orientation="h", marker_color=s.colour))
            else:
                fig.add_trace(go.Bar(name=s.name, x=s.x, y=s.y, marker_color=s.colour, hovertext=s.text))
        fig.update_layout(barmode="stack" if ch.stacked else "group")
        if ch.horizontal:
            fig.update_yaxes(autorange="reversed")
    elif ch.kind == "gantt":
        for s in ch.series:
            fig.add_trace(go.Bar(name=s.name, x=s.x, y=s.y, base=s.base, orientation="h", marker_color=s.colour,
                                 marker_line_width=0))
        fig.update_layout(barmode="overlay", bargap=0.25)
        fig.update_yaxes(categoryorder="array", categoryarray=ch.ycats, autorange="reversed")
    elif ch.kind == "line":
        for s in ch.series:
            err = dict(type="data", array=s.err, visible=True) if s.err is not None else None
            fig.add_trace(go.Scatter(name=s.name, x=s.x, y=s.y, mode="lines" if s.step else "lines+markers",
                                     line=dict(shape="hv", color=s.colour) if s.step else dict(color=s.colour), error_y=err))
    elif ch.kind == "hist":
        for s in ch.series:
            fig.add_trace(go.Histogram(name=s.name, x=s.x, marker_color=s.colour, nbinsx=40))
        fig.update_layout(barmode="stack")
    elif ch.kind == "heatmap":
        fig.add_trace(go.Heatmap(z=ch.z, x=ch.xcats, y=ch.ycats, colorscale="YlOrRd", colorbar=dict(title=ch.zlabel)))
        if ch.marks:
            fig.add_trace(go.Scatter(x=[m[0] for m in ch.marks], y=[m[1] for m in ch.marks], mode="markers", name="bottleneck",
                                     marker=dict(symbol="x", size=9, color="#000000")))
        fig.update_yaxes(autorange="reversed")
    elif ch.kind == "errorbar":
        for s in ch.series:
            fig.add_trace(go.Bar(name=s.name, x=s.x, y=s.y, marker_color=s.colour,
                                 error_y=dict(type="data", array=s.err, visible=True) if s.err is not None else None))
    else:  # pragma: no cover - every kind above
        raise ValueError(f"unknown chart kind {ch.kind!r}")
    for a, b, label in ch.shade:
        fig.add_vrect(x0=a, x1=b, fillcolor="#9e9e9e", opacity=0.2, line_width=0, annotation_text=label,
                      annotation_position="top left")
    if ch.zero_line:
        fig.add_hline(y=0, line_color="#424242", line_width=1)
    fig.update_layout(title=ch.title, xaxis_title=ch.xlabel, yaxis_title=ch.ylabel, height=ch.height, template="plotly_white",
                      margin=dict(l=70, r=30, t=60, b=60),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, traceorder="normal"))
    return fig


def to_png(ch: Chart, path: str | Path, dpi: int = 110) -> Path:
    """The chart as a PNG file (matplotlib, no display and no browser needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(11, max(3.5, ch.height / 100)), dpi=dpi)
    try:
        if ch.kind in ("bar", "errorbar"):
            cats = list(dict.fromkeys(c for s in ch.series for c in (s.y if ch.horizontal else s.x)))
            pos = np.arange(len(cats))
            left = np.zeros(len(cats))
            n = len(ch.series)
            width = 0.8 if (ch.stacked or n == 1) else 0.8 / n
            for i, s in enumerate(ch.series):
                cs = list(s.y if ch.horizontal else s.x)
                vals = np.zeros(len(cats))
                for c, v in zip(cs, (s.x if ch.horizontal else s.y)):
                    vals[cats.index(c)] = v
                off = 0 if (ch.stacked or n == 1) else (i - (n - 1) / 2) * width
                err = None
                if s.err is not None:
                    err = np.zeros(len(cats))
                    for c, e in zip(cs, s.err):
                        err[cats.index(c)] = e
                if ch.horizontal:
                    ax.barh(pos + off, vals, height=width, left=left if ch.stacked else None, color=s.colour, label=s.name, xerr=err)
                else:
                    ax.bar(pos + off, vals, width=width, bottom=left if ch.stacked else None, color=s.colour, label=s.name,
                           yerr=err, capsize=3)
                if ch.stacked:
                    left = left + vals
            if ch.horizontal:
                ax.set_yticks(pos, cats)
                ax.invert_yaxis()
            else:
                ax.set_xticks(pos, [str(c) for c in cats], rotation=45 if len(cats) > 8 else 0, ha="right" if len(cats) > 8 else "center")
        elif ch.kind == "gantt":
            rows = {r: i for i, r in enumerate(ch.ycats)}
            for s in ch.series:
                ys = np.array([rows[r] for r in s.y])
                ax.barh(ys, s.x, left=s.base, height=0.7, color=s.colour, label=s.name, linewidth=0)
            ax.set_yticks(range(len(ch.ycats)), ch.ycats)
            ax.invert_yaxis()
        elif ch.kind == "line":
            for s in ch.series:
                if s.step:
                    ax.step(s.x, s.y, where="post", color=s.colour, label=s.name, linewidth=1.2)
                else:
                    ax.errorbar(s.x, s.y, yerr=s.err, color=s.colour, label=s.name, marker="o", capsize=3)
        elif ch.kind == "hist":
            data = [s.x for s in ch.series]
            ax.hist(data, bins=40, stacked=True, color=[s.colour for s in ch.series], label=[s.name for s in ch.series])
        elif ch.kind == "heatmap":
            z = np.asarray(ch.z, float)
            im = ax.imshow(z, aspect="auto", cmap="YlOrRd")
            fig.colorbar(im, ax=ax, label=ch.zlabel)
            ax.set_yticks(range(len(ch.ycats)), ch.ycats)
            step = max(1, len(ch.xcats) // 20)
            ax.set_xticks(range(0, len(ch.xcats), step), ch.xcats[::step], rotation=45, ha="right")
            for x, y in ch.marks:
                ax.plot(ch.xcats.index(x), ch.ycats.index(y), "kx")
        for a, b, label in ch.shade:
            ax.axvspan(a, b, color="#9e9e9e", alpha=0.25, label=label)
        if ch.zero_line:
            ax.axhline(0, color="#424242", linewidth=0.8)
        ax.set_title(ch.title)
        ax.set_xlabel(ch.xlabel)
        ax.set_ylabel(ch.ylabel)
        if ch.kind != "heatmap" and len(ch.series) > 0:
            ax.legend(fontsize=8, loc="best")
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


# ---- tables ---------------------------------------------------------------------------------
def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _table(head: list[str], rows: list[list[str]], cls: str = "kpi") -> str:
    h = "".join(f"<th>{_esc(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


def kpi_tables_html(kpis: dict) -> str:
    """The line, station, buffer and pool KPIs as HTML tables, every column with its unit."""
    line = kpis.get("line", {})
    cur = line.get("currency")
    out = []
    rows = []
    for name, v in line.items():
        if name in ("flags", "currency", "energy_kWh") or (name.startswith("cost") and v is None):
            continue
        k = KPIS.get(("line", name))
        rows.append([k.label.strip() if k else name, fmt("line", name, v), unit("line", name, cur), k.description if k else ""])
    out.append("<h3>Line</h3>" + _table(["KPI", "value", "unit", "meaning"], rows))
    for f in line.get("flags") or []:
        out.append(f'<p class="note">note: {_esc(f)}</p>')
    st = kpis.get("stations", {})
    cols = ["units", "availability", "effectiveness", "quality_ratio", "oee", "utilization", "setup_share", "blocked_share",
            "starved_share", "down_share", "PQ", "GQ", "mtbf_s", "mttr_s", "mean_active_period_s", "energy_J"]
    if any("cost_machine" in v for v in st.values()):
        cols += ["cost_machine", "cost_energy"]
    head = ["station"] + [f"{KPIS[('stations', c)].label} [{unit('stations', c, cur)}]" if unit("stations", c, cur)
                          else KPIS[("stations", c)].label for c in cols]
    bn = line.get("bottleneck")
    out.append("<h3>Stations</h3>" + _table(head, [[s + (" (bottleneck)" if s == bn else "")]
                                                    + [fmt("stations", c, v.get(c)) for c in cols] for s, v in st.items()]))
    bf = kpis.get("buffers", {})
    if bf:
        out.append("<h3>Buffers</h3>" + _table(["buffer", "mean level [parts]", "max level [parts]"],
                                               [[b, fmt("buffers", "mean_level", v.get("mean_level")), str(v.get("max_level"))]
                                                for b, v in bf.items()]))
    pl = kpis.get("pools", {})
    if pl:
        pc = ["kind", "size", "utilisation", "on_shift", "mean_queue", "requests", "mean_wait_s", "max_wait_s"]
        out.append("<h3>Crews, operators and robots</h3>" + _table(
            ["pool"] + [f"{KPIS[('pools', c)].label} [{unit('pools', c)}]" if unit("pools", c) else KPIS[("pools", c)].label for c in pc],
            [[p] + [fmt("pools", c, v.get(c)) for c in pc] for p, v in pl.items()]))
    return "\n".join(out)


def cost_table_html(line: dict) -> str:
    from .tables import cost_rows

    rows = cost_rows(line)
    if not rows:
        return ""
    return "<h3>Costs</h3>" + _table(["item", "amount"], [[a.strip(), b] for a, b in rows])


# ---- pages ----------------------------------------------------------------------------------
CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1280px;color:#212121;padding:0 16px}
h1{font-size:26px;margin-bottom:4px} h2{border-bottom:2px solid #e0e0e0;padding-bottom:4px;margin-top:36px} h3{margin-bottom:6px}
table.kpi{border-collapse:collapse;font-size:13px;margin:6px 0 12px} table.kpi th,table.kpi td{border:1px solid #ddd;padding:3px 8px;text-align:right}
table.kpi th{background:#f5f5f5} table.kpi td:first-child,table.kpi th:first-child{text-align:left}
table.kpi td:nth-child(4):last-child{text-align:left;color:#555}
.note{color:#555;font-size:13px} .answer{background:#f1f8e9;border-left:4px solid #7cb342;padding:8px 12px;margin:12px 0}
.chart{margin:12px 0 28px} nav a{margin-right:14px} img.plant{max-width:100%;border:1px solid #ddd}
"""


TABLE_CSS = CSS.split("\n", 3)[3].split(".chart")[0]


def _plotlyjs() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def report_html(title: str, subtitle: str, blocks: list[tuple[str, str, str]]) -> str:
    """A self-contained page: ``blocks`` = [(anchor, heading, html)]; plotly.js inline once."""
    nav = " ".join(f'<a href="#{_esc(a)}">{_esc(h)}</a>' for a, h, _ in blocks if h)
    body = "\n".join((f'<h2 id="{_esc(a)}">{_esc(h)}</h2>' if h else "") + b for a, h, b in blocks)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_esc(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{CSS}</style>"
            f"<script type=\"text/javascript\">{_plotlyjs()}</script></head><body>"
            f"<h1>{_esc(title)}</h1><p class=\"note\">{_esc(subtitle)}</p><nav>{nav}</nav>{body}</body></html>")


def _chart_html(ch: Chart) -> str:
    fig = to_plotly(ch)
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{ch.key}",
                      config={"displaylogo": False, "responsive": True})
    note = f'<p class="note">{_esc(ch.note)}</p>' if ch.note else ""
    return f'<div class="chart" data-chart="{_esc(ch.key)}">{div}{note}</div>'


def plant_picture(res, width: int = 1400, height: int = 800) -> bytes | None:
    """The viewer's plant picture as PNG bytes (None where the viewer cannot render)."""
    import tempfile

    try:
        from .viewer import render_png
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "plant.png"
        try:
            render_png(res, p, window_size=(width, height))
        except Exception:  # no OpenGL context on this machine: the report goes on without the picture
            return None
        return p.read_bytes()


def run_report(res, gantt_window=(None, None), picture: bool = True) -> tuple[str, list[Chart]]:
    k = res.kpis
    line = k["line"]
    charts = run_charts(res, gantt_window)
    blocks = []
    summary = (f"<div class=\"answer\"><b>{fmt('line', 'throughput_per_hour', line.get('throughput_per_hour'), unit=True)}</b> "
               f"good parts, OEE <b>{fmt('line', 'oee', line.get('oee'), unit=True)}</b>, bottleneck "
               f"<b>{_esc(line.get('bottleneck') or '-')}</b> (longest mean active period), WIP "
               f"{fmt('line', 'wip_mean', line.get('wip_mean'))} parts, lead time {fmt('line', 'lead_time_mean_s', line.get('lead_time_mean_s'), unit=True)}"
               + (f", cost per good part <b>{fmt('line', 'cost_per_good_part', line.get('cost_per_good_part'))} {_esc(line.get('currency', ''))}</b>"
                  if line.get("cost_per_good_part") is not None else "") + "</div>")
    blocks.append(("summary", "Summary", summary + kpi_tables_html(k) + cost_table_html(line)))
    if picture:
        png = plant_picture(res)
        if png is not None:
            uri = "data:image/png;base64," + base64.b64encode(png).decode()
            blocks.append(("plant", "Plant", f'<img class="plant" alt="plant picture" src="{uri}">'
                           '<p class="note">stations coloured by utilisation (legend), bottleneck ringed red, floor ribbons: part '
                           'flow, bars: time in state</p>'))
    for ch in charts:
        blocks.append((ch.key, ch.title.split(" (")[0].split(",")[0], _chart_html(ch)))
    sub = (f"scenario {res.scenario_name}, seed {res.seed}, replication {res.replication}, horizon {_h(res.horizon)}, "
           f"KPI window {_h(res.warmup)} to {_h(res.horizon)} (warm-up excluded), twin {res.version}")
    return report_html(f"{res.scenario_name}: run report", sub, blocks), charts


def compare_report(rep: dict) -> tuple[str, list[Chart]]:
    from .tables import LINE_KEYS, STATION_KEYS, fmt_delta, fmt_duration, fmt_value, label_of, unit_of

    cur = rep.get("currency")
    rows = rep["kpis"]
    names = rep.get("names") or {"baseline": "baseline", "candidate": "candidate"}
    bn = rep.get("bottleneck") or {}
    b, c = (bn.get("baseline") or {}), (bn.get("candidate") or {})
    thr = rows.get("line.throughput_per_hour")
    ans = []
    if thr:
        ans.append(f"throughput {fmt_delta('line.throughput_per_hour', thr['delta'], thr['half_width'])} "
                   f"({'significant' if thr['significant'] else 'not significant'} at {rep['confidence']:.0%})")
    ans.append(f"bottleneck {b.get('value') or '-'} -> {c.get('value') or '-'}")
    r = rows.get("line.cost_per_good_part")
    if r:
        ans.append(f"cost per good part {fmt_delta('line.cost_per_good_part', r['delta'], r['half_width'], cur)} "
                   f"({'significant' if r['significant'] else 'not significant'})")
    pb = rep.get("payback")
    if pb and pb["investment"] > 0:
        lo, hi = pb["payback_interval_s"]
        ans.append(f"payback of {pb['investment']:,.0f} {cur or ''}: {fmt_duration(pb['payback_s'])} "
                   f"(interval {fmt_duration(lo)} to {fmt_duration(hi)}, by {pb['basis']})")
    blocks = [("answer", "Answer", '<div class="answer">' + "<br>".join(_esc(a) for a in ans) + "</div>")]
    lt = [[f"{label_of(k)}", unit_of(k, cur), fmt_value(k, rows[k]["baseline"], currency=cur), fmt_value(k, rows[k]["candidate"], currency=cur),
           fmt_delta(k, rows[k]["delta"], rows[k]["half_width"], cur), "yes" if rows[k]["significant"] else "no",
           "-" if rows[k]["variance_reduction"] is None else f"{rows[k]['variance_reduction']:.0%}"]
          for k in LINE_KEYS if k in rows]
    blocks.append(("line", "Line KPIs", _table(["KPI", "unit", "baseline", "candidate", f"delta ± {rep['confidence']:.0%} CI",
                                                "significant", "variance reduction (CRN)"], lt)))
    stations = sorted({k.split(".")[1] for k in rows if k.startswith("stations.")})
    st_rows = []
    for s in stations:
        cells = [s + (" (bottleneck before)" if b.get("value") == s else "") + (" (bottleneck after)" if c.get("value") == s else "")]
        for k in STATION_KEYS:
            rr = rows.get(f"stations.{s}.{k}")
            cells.append("-" if rr is None else fmt_delta(f"stations.{s}.{k}", rr["delta"], rr["half_width"], cur)
                         + (" *" if rr["significant"] else ""))
        st_rows.append(cells)
    blocks.append(("stations", "Stations", _table(["station"] + [KPIS[("stations", k)].label for k in STATION_KEYS], st_rows)
                   + '<p class="note">candidate - baseline with the paired interval; * significant (the interval excludes 0)</p>'))
    for ch in compare_charts(rep):
        blocks.append((ch.key, ch.title.split(" (")[0], _chart_html(ch)))
    if rep.get("gates"):
        from .tables import gate_text

        blocks.append(("gates", "Gates", _table(["gate", "interval", "result"], [[g["gate"], gate_text(g, rows.get(g["key"])),
                                                                                  "pass" if g["pass"] else "FAIL"] for g in rep["gates"]])))
    sub = (f"{names['baseline']} -> {names['candidate']}: {rep['replications']} paired replications on common random numbers, "
           f"{rep['confidence']:.0%} intervals")
    return report_html(f"Comparison: {names['baseline']} -> {names['candidate']}", sub, blocks), compare_charts(rep)


def sweep_report(meta: dict) -> tuple[str, list[Chart]]:
    from .tables import fmt_ci, fmt_value, label_of, unit_of

    cur = meta.get("currency")
    obj = meta["objective"]
    rows = meta["points"]
    varied = meta["varied"]
    keys = list(dict.fromkeys([obj, "line.throughput_per_hour", "line.oee", "line.wip_mean", "line.lead_time_mean_s",
                               "line.cost_per_good_part"]))
    keys = [k for k in keys if any(k in r["kpis"] for r in rows)]
    head = ["rank", *varied] + [f"{label_of(k)} [{unit_of(k, cur)}]" if unit_of(k, cur) else label_of(k) for k in keys] + ["bottleneck", "status"]

    def line(r):
        cells = [str(r.get("rank", "-"))] + [str(r["point"].get(v)) for v in varied]
        for k in keys:
            s = r["kpis"].get(k)
            cells.append("-" if s is None else (fmt_ci(k, s["mean"], s["half_width"], cur, unit=False) if s["n"] > 1 else fmt_value(k, s["mean"])))
        bnk = r["bottleneck"]
        cells.append(f"{bnk['value']} ({bnk['share']:.0%})" if bnk.get("value") else "-")
        cells.append(r["status"] if r["status"] == "ok" else f"{r['status']}: {r['failed']}/{r['n']} failed")
        return cells

    ranked = sorted([r for r in rows if "rank" in r], key=lambda r: r["rank"])
    best = ranked[0] if ranked else None
    ans = ""
    if best is not None:
        s = best["kpis"][obj]
        where = ", ".join(f"{v} = {best['point'][v]}" for v in varied)
        ans = (f'<div class="answer">best point: {_esc(where)}: '
               f'{_esc(label_of(obj))} {_esc(fmt_ci(obj, s["mean"], s["half_width"], cur))}; bottleneck there '
               f'{_esc(best["bottleneck"].get("value") or "-")}.')
        if len(ranked) > 1:
            s2 = ranked[1]["kpis"][obj]
            overlap = (s["mean"] - s["half_width"]) <= (s2["mean"] + s2["half_width"]) and (s2["mean"] - s2["half_width"]) <= (s["mean"] + s["half_width"])
            ans += (" The intervals of the best two points overlap: the difference between them is not established."
                    if overlap else " Its interval does not overlap the runner-up's.")
        ans += "</div>"
    blocks = [("answer", "Answer", ans + _table(head, [line(r) for r in ranked[:10]]))]
    for ch in sweep_charts(meta):
        blocks.append((ch.key, ch.title.split(" (")[0], _chart_html(ch)))
    blocks.append(("points", "All points", _table(head, [line(r) for r in rows])))
    sub = (f"{meta.get('name', 'scenario')}: {len(rows)} points x {meta.get('replications', 1)} replications, objective {obj} "
           f"({'minimised' if meta.get('minimize') else 'maximised'}), {meta.get('confidence', 0.95):.0%} intervals")
    return report_html(f"Sweep: {meta.get('name', 'scenario')}", sub, blocks), sweep_charts(meta)


def load_report_source(path: str | Path) -> tuple[str, Any]:
    """What a directory holds: ('run', Result), ('compare', dict) or ('sweep', dict)."""
    p = Path(path)
    if (p / "compare.json").exists():
        return "compare", json.loads((p / "compare.json").read_text())
    if (p / "sweep.json").exists():
        return "sweep", json.loads((p / "sweep.json").read_text())
    from .result import Result

    return "run", Result.load(p)


def write_report(path: str | Path, out: str | Path | None = None, png_dir: str | Path | None = None,
                 gantt_window=(None, None), picture: bool = True) -> dict:
    """Write the report of a result, comparison or sweep directory; returns {'html': path,
    'pngs': [paths], 'kind': ...}."""
    kind, src = load_report_source(path)
    if kind == "run":
        page, charts = run_report(src, gantt_window, picture)
    elif kind == "compare":
        page, charts = compare_report(src)
    else:
        page, charts = sweep_report(src)
    out = Path(out) if out is not None else Path(path) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    pngs = []
    if png_dir is not None:
        for ch in charts:
            pngs.append(to_png(ch, Path(png_dir) / f"{ch.key}.png"))
    return {"html": out, "pngs": pngs, "kind": kind, "charts": [c.key for c in charts]}


# ---- Python access: res.plot.<chart>() and the notebook view ---------------------------------------
class Plots:
    """``res.plot.time_in_state()``, ``.gantt(t0, t1)``, ``.levels()``, ``.throughput_per_shift()``,
    ``.shifting_bottleneck()``, ``.lead_time()``, ``.energy_by_state()``: plotly figures (the report's
    charts); ``.png(name, path)`` writes one as PNG."""

    def __init__(self, res):
        self._r = res

    def time_in_state(self):
        return to_plotly(chart_time_in_state(self._r))

    def gantt(self, t0: float | None = None, t1: float | None = None):
        return to_plotly(chart_gantt(self._r, t0, t1))

    def levels(self):
        return to_plotly(chart_levels(self._r))

    def throughput_per_shift(self):
        return to_plotly(chart_throughput_per_shift(self._r))

    def shifting_bottleneck(self):
        return to_plotly(chart_shifting_bottleneck(self._r))

    def lead_time(self):
        ch = chart_lead_time(self._r)
        return None if ch is None else to_plotly(ch)

    def energy_by_state(self):
        ch = chart_energy_by_state(self._r)
        return None if ch is None else to_plotly(ch)

    def charts(self) -> list[Chart]:
        return run_charts(self._r)

    def png(self, name: str, path: str | Path) -> Path:
        for ch in run_charts(self._r):
            if ch.key == name:
                return to_png(ch, path)
        raise KeyError(f"no chart {name!r} (charts: {', '.join(c.key for c in run_charts(self._r))})")


def result_html(res) -> str:
    """The notebook view of a result (``_repr_html_``): headline, KPI tables with units, and the
    time-in-state chart (plotly.js from the notebook's own copy: ``include_plotlyjs='require'``
    is not assumed; the chart carries its own script once)."""
    line = res.kpis["line"]
    head = (f"<h3>{_esc(res.scenario_name)}</h3><p>{fmt('line', 'throughput_per_hour', line.get('throughput_per_hour'), unit=True)}, "
            f"OEE {fmt('line', 'oee', line.get('oee'), unit=True)}, bottleneck {_esc(line.get('bottleneck') or '-')}; "
            f"window {_h(res.warmup)} to {_h(res.horizon)}</p>")
    fig = to_plotly(chart_time_in_state(res))
    return (f"<div><style>{TABLE_CSS}</style>" + head + kpi_tables_html(res.kpis) + cost_table_html(line)
            + fig.to_html(full_html=False, include_plotlyjs=True) + "</div>")
