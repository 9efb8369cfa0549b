"""CLI tables in engineering units, with intervals.

Every number goes through the KPI registry (:mod:`twin.kpidefs`): ratios in %, deltas of
ratios in percentage points (pt), times in min or h, energy in kWh, throughput in parts/h,
amounts in the scenario's currency; never SI e-notation. Used by ``twin run --replications``,
``twin compare``, ``twin sweep`` and ``twin check`` (``twin run`` builds its own tables in
:func:`twin.cli.kpi_table`).

>>> fmt_value("line.oee", 0.6875, unit=True)
'68.8 %'
>>> fmt_delta("line.oee", 0.0123, 0.004)
'+1.2 ± 0.4 pt'
>>> fmt_ci("line.lead_time_mean_s", 7200.0, 300.0)
'120 ± 5.00 min'
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from rich.markup import escape
from rich.table import Table

from .kpidefs import KPIS, fmt, unit

__all__ = ["split_key", "unit_of", "fmt_value", "fmt_ci", "fmt_delta", "label_of", "compare_tables", "sweep_table",
           "check_table", "replication_table", "cost_rows", "fmt_duration", "gate_text"]

LINE_KEYS = ("line.throughput_per_hour", "line.parts_completed", "line.oee", "line.availability", "line.effectiveness",
             "line.quality_ratio", "line.wip_mean", "line.lead_time_mean_s", "line.lead_time_p95_s", "line.scrap_ratio",
             "line.energy_per_good_part_J", "line.cost_per_good_part", "line.cost_total", "line.profit")
STATION_KEYS = ("oee", "availability", "utilization", "setup_share", "blocked_share", "starved_share", "down_share",
                "mean_active_period_s")


def split_key(key: str) -> tuple[str, str, str]:
    """``line.oee`` -> ('line', '', 'oee'); ``stations.L1.oee`` -> ('stations', 'L1', 'oee')."""
    parts = key.split(".")
    if parts[0] == "line":
        return "line", "", ".".join(parts[1:])
    return parts[0], ".".join(parts[1:-1]), parts[-1]


def unit_of(key: str, currency: str | None = None) -> str:
    level, _, name = split_key(key)
    return unit(level, name, currency)


def label_of(key: str) -> str:
    level, ent, name = split_key(key)
    k = KPIS.get((level, name))
    lab = (k.label.strip() if k else name)
    return lab if level == "line" else f"{ent} {lab}"


def _num(key: str, v: float) -> str:
    level, _, name = split_key(key)
    return fmt(level, name, v)


def fmt_value(key: str, v: Any, unit: bool = False, currency: str | None = None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    s = _num(key, v)
    u = unit_of(key, currency)
    return f"{s} {u}" if unit and u else s


def _delta_unit(key: str, currency: str | None) -> str:
    u = unit_of(key, currency)
    return "pt" if u == "%" else u


def fmt_ci(key: str, mean: float, hw: float, currency: str | None = None, unit: bool = True) -> str:
    """``mean ± half-width unit`` in the KPI's display unit."""
    if mean is None or not math.isfinite(mean):
        return "-"
    u = unit_of(key, currency)
    h = "∞" if hw is None or not math.isfinite(hw) else _num(key, abs(hw))
    if u == "%":
        return f"{_num(key, mean)} ± {h}" + (" %" if unit else "")
    return f"{_num(key, mean)} ± {h}" + (f" {u}" if unit and u else "")


def fmt_delta(key: str, d: float, hw: float | None = None, currency: str | None = None) -> str:
    """A change in the KPI's display unit; ratios in percentage points."""
    if d is None or not math.isfinite(d):
        return "-"
    u = _delta_unit(key, currency)
    s = _num(key, d)
    s = s if s.startswith("-") else "+" + s
    if hw is not None:
        s += " ± " + ("∞" if not math.isfinite(hw) else _num(key, abs(hw)))
    return f"{s} {u}" if u else s


def fmt_duration(seconds: float | None) -> str:
    """A payback period or other long duration as people say it (h, d, weeks, months, years)."""
    if seconds is None or not math.isfinite(seconds):
        return "never"
    h = seconds / 3600.0
    if h < 48:
        return f"{h:.1f} h"
    d = h / 24
    if d < 14:
        return f"{d:.1f} d"
    if d < 90:
        return f"{d / 7:.1f} weeks"
    if d < 730:
        return f"{d / 30.44:.1f} months"
    return f"{d / 365.25:.1f} years"


def gate_text(g: dict, row: dict | None, mode: str | None = None) -> str:
    """A gate's interval in the unit the gate was written in: percent for relative gates (``-2%``),
    percentage points for ``pt`` gates, else the KPI's unit."""
    iv = g.get("interval")
    if not iv:
        return str(g.get("reason", "-"))
    text = g["gate"].replace(" ", "")
    if text.endswith("%"):
        return f"[{100 * iv[0]:+.1f} %, {100 * iv[1]:+.1f} %] relative"
    return f"[{fmt_delta(g['key'], iv[0])}, {fmt_delta(g['key'], iv[1])}]"


def cost_rows(line: dict) -> list[tuple[str, str]]:
    """Rows of the cost breakdown for a line KPI dict with cost KPIs (else [])."""
    if "cost_total" not in line:
        return []
    cur = line.get("currency") or ""
    f = lambda n: fmt_value(f"line.{n}", line.get(n), unit=True, currency=cur)
    rows = [("cost per good part", f("cost_per_good_part"))]
    for x in ("machine", "labour", "energy", "material", "scrap"):
        rows.append((f"  {x}", f"{f('cost_per_good_part_' + x)}  (total {f('cost_' + x)})"))
    rows.append(("cost total (window)", f("cost_total")))
    if "profit" in line:
        rows.append(("revenue / profit", f"{f('revenue')} / {f('profit')}"))
    if line.get("investment"):
        rows.append(("investment (stations)", f("investment")))
    return rows


# ---- compare --------------------------------------------------------------------------------
def _sig(r: dict) -> str:
    return "[bold]yes[/]" if r.get("significant") else "no"


def compare_tables(rep: dict) -> list:
    """Renderables for ``twin compare``: the line KPIs, the stations, the bottlenecks, costs and
    payback, gates. No verdict when no gate was given."""
    cur = rep.get("currency")
    names = rep.get("names") or {"baseline": "baseline", "candidate": "candidate"}
    conf = rep["confidence"]
    out = []
    t = Table(title=f"{escape(names['baseline'])} -> {escape(names['candidate'])}: paired comparison, "
                    f"{rep['replications']} replications on common random numbers, {conf:.0%} intervals",
              caption="delta ± half-width of the paired interval; significant: the interval excludes 0. "
                      "Ratios in %, their deltas in percentage points (pt).", caption_justify="left")
    for col in ("KPI", "baseline", "candidate", "delta ± CI", "significant", "independent ±", "variance reduction"):
        t.add_column(col, justify="left" if col == "KPI" else "right")
    rows = rep["kpis"]
    for k in LINE_KEYS:
        r = rows.get(k)
        if r is None:
            continue
        vr = r.get("variance_reduction")
        t.add_row(escape(f"{label_of(k)} [{unit_of(k, cur) or '-'}]"), fmt_value(k, r["baseline"], currency=cur),
                  fmt_value(k, r["candidate"], currency=cur), fmt_delta(k, r["delta"], r["half_width"], cur), _sig(r),
                  "± " + fmt_value(k, r["half_width_independent"], currency=cur), "-" if vr is None else f"{vr:.0%}")
    out.append(t)
    bn = rep.get("bottleneck") or {}
    b, c = bn.get("baseline") or {}, bn.get("candidate") or {}
    if b or c:
        def _b(x):
            return "-" if not x.get("value") else f"{x['value']} ({x['share']:.0%} of replications)"
        out.append(f"bottleneck: baseline {escape(_b(b))}  ->  candidate {escape(_b(c))}")
    stations = sorted({split_key(k)[1] for k in rows if k.startswith("stations.")}, key=lambda s: s)
    if stations:
        st = Table(title="stations: candidate - baseline (delta ± CI; * significant)")
        st.add_column("station")
        cols = [k for k in STATION_KEYS]
        for k in cols:
            st.add_column(escape(f"{KPIS[('stations', k)].label} [{_delta_unit('stations.x.' + k, cur)}]"), justify="right")
        for s in stations:
            cells = []
            for k in cols:
                r = rows.get(f"stations.{s}.{k}")
                if r is None:
                    cells.append("-")
                    continue
                d = _num(f"stations.{s}.{k}", r["delta"])
                cells.append(("" if d.startswith("-") else "+") + d + " ± " + _num(f"stations.{s}.{k}", abs(r["half_width"]))
                             + ("*" if r.get("significant") else ""))
            mark = []
            if b.get("value") == s:
                mark.append("b")
            if c.get("value") == s:
                mark.append("c")
            st.add_row(escape(s) + (f" [{'/'.join(mark)} bottleneck]" if mark else ""), *cells)
        out.append(st)
    sides = rep.get("stations") or {}
    only_b = [s for s in sides.get("baseline", []) if s not in sides.get("candidate", [])]
    only_c = [s for s in sides.get("candidate", []) if s not in sides.get("baseline", [])]
    if only_b or only_c:
        out.append(escape("stations " + "; ".join(x for x in (f"only in the baseline: {', '.join(only_b)}" if only_b else "",
                                                             f"only in the candidate: {', '.join(only_c)}" if only_c else "") if x)))
    pb = rep.get("payback")
    if pb is not None:
        r = rows.get("line.cost_per_good_part")
        cost = ("cost per good part " + fmt_delta("line.cost_per_good_part", r["delta"], r["half_width"], cur)
                + (" (significant)" if r.get("significant") else " (not significant)")) if r else ""
        lo, hi = pb["payback_interval_s"]
        ben = f"{pb['benefit_per_hour']:+,.2f} ± {pb['benefit_half_width']:,.2f} {cur or ''}/h".replace(" /h", "/h")
        if pb["investment"] > 0:
            pay = (f"payback of {pb['investment']:,.0f} {cur or ''}: {fmt_duration(pb['payback_s'])} "
                   f"(interval {fmt_duration(lo)} .. {fmt_duration(hi)}; benefit by {pb['basis']} {ben})")
        else:
            pay = f"no added investment; benefit by {pb['basis']} {ben}"
        out.append(escape(f"costs: {cost}; {pay}" if cost else f"costs: {pay}"))
    for g in rep["gates"]:
        out.append(f"gate {escape(g['gate'])}: {escape(gate_text(g, rows.get(g['key'])))} -> "
                   + ("[green]pass[/]" if g["pass"] else "[red]FAIL[/]"))
    for f in rep["failed"]:
        out.append(f"[red]run {f['index']} failed[/]: {escape(str(f['error']))}")
    if rep["gates"] or rep["failed"]:
        out.append("[bold green]PASS[/]" if rep["pass"] else "[bold red]FAIL[/]")
    else:
        out.append("no gate given: no verdict (add --gate 'KPI OP VALUE' to decide)")
    return out


# ---- sweep ----------------------------------------------------------------------------------
def _point_cell(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def sweep_table(rows: list[dict], varied: list[str], objective: str, top: int, conf: float = 0.95,
                currency: str | None = None, title: str | None = None) -> Table:
    """The best ``top`` points by the objective's mean: mean ± half-width of the objective and key
    KPIs, the bottleneck, and the status (``ok``, ``partial``, ``failed``) of each point."""
    ranked = sorted([r for r in rows if "rank" in r], key=lambda r: r["rank"])[:top]
    ranked += [r for r in rows if "rank" not in r][: max(0, top - len(ranked))]
    n = max((r["n"] for r in rows), default=0)
    t = Table(title=title or f"best {len(ranked)} of {len(rows)} points by {objective} "
                             f"(mean ± {conf:.0%} half-width over {n} replication{'s' if n != 1 else ''})")
    t.add_column("rank", justify="right")
    for v in varied:  # stations.GRIND.setup.default -> GRIND.setup.default
        t.add_column(escape(v.split(".", 1)[1] if v.startswith(("stations.", "buffers.")) else v), justify="right", overflow="fold")
    keys = list(dict.fromkeys([objective, "line.throughput_per_hour", "line.oee", "line.wip_mean", "line.lead_time_mean_s",
                               "line.cost_per_good_part"]))
    keys = [k for k in keys if any(k in r["kpis"] for r in rows)]
    for k in keys:
        u = unit_of(k, currency)
        t.add_column(escape(f"{label_of(k)} [{u}]" if u else label_of(k)), justify="right")
    t.add_column("bottleneck")
    t.add_column("status")
    for r in ranked:
        cells = [str(r.get("rank", "-"))] + [_point_cell(r["point"].get(v)) for v in varied]
        for k in keys:
            s = r["kpis"].get(k)
            cells.append("-" if s is None else (fmt_ci(k, s["mean"], s["half_width"], currency, unit=False) if s["n"] > 1
                                                else fmt_value(k, s["mean"], currency=currency)))
        bn = r["bottleneck"]
        cells.append("-" if not bn["value"] else (bn["value"] + (f" ({bn['share']:.0%})" if bn["share"] < 1 else "")))
        cells.append({"ok": "ok", "partial": f"[yellow]{r['failed']}/{r['n']} failed[/]", "failed": "[red]failed[/]"}[r["status"]])
        t.add_row(*[c if c.startswith("[") else escape(c) for c in cells])
    return t


# ---- check ----------------------------------------------------------------------------------
def check_table(rep: dict, name: str) -> Table:
    t = Table(title=f"{escape(name)}: {rep['replications']} replications, {rep['confidence']:.0%} intervals")
    for col in ("expectation", "mean", "interval", "result"):
        t.add_column(col, justify="left" if col == "expectation" else "right")
    for r in rep["results"]:
        iv = r.get("interval")
        k = r["key"]
        t.add_row(escape(r["expect"]), fmt_value(k, r.get("mean"), unit=True) if "mean" in r else "-",
                  escape(f"[{fmt_value(k, iv[0])}, {fmt_value(k, iv[1], unit=True)}]") if iv else escape(r.get("reason", "-")),
                  "[green]pass[/]" if r["pass"] else "[red]FAIL[/]")
    return t


# ---- replications ---------------------------------------------------------------------------
def replication_table(summ: dict, title: str, keys: Iterable[str] | None = None, currency: str | None = None) -> Table:
    """Mean ± half-width of each KPI (line KPIs and the stations' OEE, availability and utilisation)."""
    t = Table(title=title)
    for c in ("KPI", "mean ± half-width", "unit", "rel. half-width"):
        t.add_column(c, justify="right" if c != "KPI" else "left")
    sel = list(keys) if keys is not None else [k for k in summ if k.startswith("line.") or k.endswith((".oee", ".availability", ".utilization"))]
    for k in sel:
        s = summ.get(k)
        if s is None:
            continue
        rel = f"{100 * s['half_width'] / abs(s['mean']):.1f} %" if s["mean"] and math.isfinite(s["half_width"]) else "-"
        t.add_row(escape(k), fmt_ci(k, s["mean"], s["half_width"], currency, unit=False), escape(unit_of(k, currency)), rel)
    return t
