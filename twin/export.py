"""Excel export of a result: ``twin export RESULT_DIR --xlsx results.xlsx``.

Sheets, every header with its unit:

* ``KPIs``: the line KPIs (KPI, value in the display unit, unit, meaning, ISO 22400 reference);
* ``Stations``: one row per station, one column per KPI (``availability [%]``, ``MTTR [min]``, ...);
* ``Buffers`` and ``Pools`` (when there are any);
* ``Parts``: one row per part: product, release and exit [h], lead time [min], outcome;
* ``Events``: the state log: time [h], resource, station, item state, operation mode, reason, part
  (at most ``max_events`` rows; the sheet says so when it was cut).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .kpidefs import _SCALE, KPIS, unit

__all__ = ["write_xlsx"]


def _value(level: str, name: str, v: Any) -> Any:
    """A KPI value in its display unit (a number Excel can compute with), text as is."""
    if v is None:
        return None
    if isinstance(v, list):
        return "; ".join(map(str, v))
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return None
    k = KPIS.get((level, name))
    return v * _SCALE.get(k.display, 1.0) if k is not None else v


def _header(level: str, name: str, currency: str | None) -> str:
    label = name[:-2] if name.endswith(("_s", "_J")) else name  # the unit goes in brackets
    u = unit(level, name, currency)
    return f"{label} [{u}]" if u else label


def write_xlsx(res, path: str | Path, max_events: int = 1_000_000) -> dict[str, int]:
    """Write ``res`` to an XLSX workbook; returns rows written per sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    path = Path(path)
    k = res.kpis
    line = k["line"]
    cur = line.get("currency")
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    counts: dict[str, int] = {}

    def sheet(title: str, header: list[str]):
        ws = wb.create_sheet(title)
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for h in header:
            c = WriteOnlyCell(ws, value=h)
            c.font = bold
            cells.append(c)
        ws.append(cells)
        return ws

    ws = sheet("KPIs", ["KPI", "key", "value", "unit", "meaning", "ISO 22400-2"])
    n = 0
    for name, v in line.items():
        if name in ("flags",):
            continue
        kd = KPIS.get(("line", name))
        ws.append([kd.label.strip() if kd else name, f"line.{name}", _value("line", name, v), unit("line", name, cur),
                   kd.description if kd else "", kd.iso if kd else ""])
        n += 1
    ws.append([])
    ws.append(["scenario", res.scenario_name])
    ws.append(["seed", res.seed])
    ws.append(["replication", res.replication])
    ws.append(["KPI window [h]", f"{res.warmup / 3600:g} to {res.horizon / 3600:g}"])
    for f in line.get("flags") or []:
        ws.append(["note", f])
    counts["KPIs"] = n

    st = k["stations"]
    names = list(dict.fromkeys(c for v in st.values() for c in v if c != "flags"))
    ws = sheet("Stations", ["station"] + [_header("stations", c, cur) for c in names] + ["bottleneck"])
    for s, v in st.items():
        ws.append([s] + [_value("stations", c, v.get(c)) for c in names] + ["yes" if s == line.get("bottleneck") else ""])
    counts["Stations"] = len(st)

    if k.get("buffers"):
        ws = sheet("Buffers", ["buffer", _header("buffers", "mean_level", cur), _header("buffers", "max_level", cur)])
        for b, v in k["buffers"].items():
            ws.append([b, v.get("mean_level"), v.get("max_level")])
        counts["Buffers"] = len(k["buffers"])
    if k.get("pools"):
        cols = list(dict.fromkeys(c for v in k["pools"].values() for c in v))
        ws = sheet("Pools", ["pool"] + [_header("pools", c, cur) for c in cols])
        for p, v in k["pools"].items():
            ws.append([p] + [_value("pools", c, v.get(c)) for c in cols])
        counts["Pools"] = len(k["pools"])

    p = res.parts
    ws = sheet("Parts", ["part", "product", "release [h]", "exit [h]", "lead time [min]", "outcome", "due [h]"])
    outcome = ["wip", "complete", "scrap"]
    for i in range(len(p["part"])):
        rel, ex, due = float(p["t_release"][i]), float(p["t_exit"][i]), float(p["due"][i])
        ws.append([int(p["part"][i]), res.products[int(p["product"][i])], _h(rel), _h(ex),
                   (ex - rel) / 60.0 if math.isfinite(ex) and math.isfinite(rel) else None, outcome[int(p["outcome"][i])],
                   _h(due)])
    counts["Parts"] = len(p["part"])

    ev = res.events
    m = min(ev.num_rows, max_events)
    ws = sheet("Events", ["time [h]", "time [s]", "resource", "station", "item state", "operation mode", "reason", "part"])
    cols = {c: ev.column(c).slice(0, m).to_pylist() for c in ("t", "resource", "station", "item_state", "op_mode", "reason", "part")}
    for i in range(m):
        t = cols["t"][i]
        part = cols["part"][i]
        ws.append([t / 3600.0, t, cols["resource"][i], cols["station"][i], cols["item_state"][i], cols["op_mode"][i],
                   cols["reason"][i], None if part is None or part < 0 else part])
    if m < ev.num_rows:
        ws.append([f"cut at {m:,} of {ev.num_rows:,} rows (--max-events); the whole log is in events.parquet"])
    counts["Events"] = m
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    tmp.replace(path)
    return counts


def _h(t: float) -> float | None:
    return t / 3600.0 if math.isfinite(t) else None
