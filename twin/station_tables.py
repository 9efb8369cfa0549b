"""Station data from a table (CSV or XLSX), because that is where engineers keep it.

A scenario names its tables in ``station_tables``; paths are relative to the scenario file:

.. code-block:: yaml

    station_tables:
      - {file: stations.xlsx, sheet: Stations}
      - {file: failures.csv}

Format: the first row is the header. The column ``station`` names the station (it must be
declared under ``stations``, where the kind and everything not in the table stay); every other
column is a field path inside that station, as in ``docs/fields.md``: ``capacity``,
``process_time.dist``, ``process_time.mean``, ``setup.default``, ``scrap``,
``failures[0].availability``, ``failures[0].mttr``, ``power.processing``. A cell holds what the
YAML would (numbers are SI, text may carry units: ``80 s``, ``4 kW``, ``1.5%``); an empty cell
sets nothing. A field may be set in the table or in the scenario file, not in both.

Every problem is reported with the file, the row (as the spreadsheet numbers it, header = row 1)
and the column, e.g. ``stations.xlsx row 4, column process_time.mean: cannot read '8O s' as a
time``.
"""

from __future__ import annotations

import copy
import csv
import re
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from .specs import SpecModel

__all__ = ["StationTable", "apply_station_tables", "read_table"]

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\d{1,3}\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[\d{1,3}\])?)*$")
MAX_ROWS = 10_000


class StationTable(SpecModel):
    """A CSV or XLSX table of station data (see :mod:`twin.station_tables`)."""

    file: str = Field(description="CSV or XLSX file, relative to the scenario file")
    sheet: str | None = Field(default=None, description="XLSX sheet (default: the first); not for CSV")


def read_table(path: Path, sheet: str | None = None) -> list[list[Any]]:
    """Rows of a CSV (UTF-8, comma or semicolon separated) or XLSX sheet, header first."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        if sheet is not None:
            raise ValueError("sheet is only for .xlsx files")
        text = path.read_text(encoding="utf-8-sig")
        try:
            dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = [r for r in csv.reader(text.splitlines(), dialect)]
    elif suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            if sheet is not None and sheet not in wb.sheetnames:
                raise ValueError(f"no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})")
            ws = wb[sheet] if sheet is not None else wb.worksheets[0]
            rows = []
            for r in ws.iter_rows(values_only=True):
                rows.append(list(r))
                if len(rows) > MAX_ROWS + 1:
                    break
        finally:
            wb.close()
    else:
        raise ValueError(f"unknown table format {suffix!r}: use .csv or .xlsx")
    if len(rows) > MAX_ROWS + 1:
        raise ValueError(f"more than {MAX_ROWS:,} rows")
    return rows


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str):
        v = v.strip()
        if v == "":
            return None
        try:
            return int(v)
        except ValueError:
            pass
        try:
            return float(v)
        except ValueError:
            return v
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return v  # keep floats as floats (a capacity of 2.0 is refused by the schema as it would be in YAML)
    return v


def _set(node: dict, path: str, value: Any) -> bool:
    """Set a dotted path with list indices in a nested dict; False if it is already set."""
    parts = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?", path)
    for i, (key, idx) in enumerate(parts):
        last = i == len(parts) - 1
        if idx == "":
            if last:
                if key in node:
                    return False
                node[key] = value
                return True
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                return False
        else:
            lst = node.setdefault(key, [])
            if not isinstance(lst, list):
                return False
            k = int(idx)
            while len(lst) <= k:
                lst.append({})
            if last:
                if lst[k] not in ({}, None):
                    return False
                lst[k] = value
                return True
            node = lst[k]
            if not isinstance(node, dict):
                return False
    return True


def apply_station_tables(data: dict, base: Path) -> dict:
    """``data`` with the rows of its ``station_tables`` merged into ``stations`` (and the key
    removed). Raises :class:`twin.scenario.ScenarioError` naming file, row and column."""
    from .scenario import ScenarioError

    tables = data.get("station_tables")
    if not tables:
        data.pop("station_tables", None)
        return data
    errs: list[tuple[str, str]] = []
    if not isinstance(tables, list):
        raise ScenarioError([("station_tables", "expected a list of {file, sheet}")])
    out = copy.deepcopy(data)
    out.pop("station_tables")
    stations = out.get("stations")
    if not isinstance(stations, dict):
        raise ScenarioError([("station_tables", "the scenario declares no stations to fill")])
    origin: dict[tuple[str, str], str] = {}  # (station, path) -> where it came from
    for i, spec in enumerate(tables):
        try:
            t = StationTable.model_validate(spec)
        except ValidationError as e:
            errs.extend((f"station_tables[{i}].{'.'.join(map(str, x['loc']))}", x["msg"]) for x in e.errors())
            continue
        p = Path(t.file)
        full = p if p.is_absolute() else base / p
        where = p.name
        if not full.exists():
            errs.append((f"station_tables[{i}].file", f"file not found: {full}"))
            continue
        try:
            rows = read_table(full, t.sheet)
        except Exception as e:  # unreadable file, wrong sheet, wrong format
            errs.append((f"station_tables[{i}].file", f"{where}: {e}"))
            continue
        if not rows:
            errs.append((f"station_tables[{i}].file", f"{where}: the table is empty"))
            continue
        head = [("" if h is None else str(h).strip()) for h in rows[0]]
        if "station" not in head:
            errs.append((f"station_tables[{i}].file", f"{where} row 1: no 'station' column (header: {', '.join(head)})"))
            continue
        for c, h in enumerate(head):
            if h and h != "station" and not _PATH.match(h):
                errs.append((f"{where} row 1, column {_col(c)}", f"{h!r} is not a field path such as process_time.mean "
                                                                  "or failures[0].mttr"))
            if h == "kind":
                errs.append((f"{where} row 1, column {h}", "the kind stays in the scenario file (stations.NAME.kind)"))
        if any(e_path.startswith(f"{where} row 1") for e_path, _ in errs):
            continue
        sc_col = head.index("station")
        for r, row in enumerate(rows[1:], start=2):
            row = list(row) + [None] * (len(head) - len(row))
            if all(_cell(v) is None for v in row):
                continue
            name = _cell(row[sc_col])
            if name is None:
                errs.append((f"{where} row {r}, column station", "empty: name the station"))
                continue
            name = str(name)
            if name not in stations or not isinstance(stations[name], dict):
                errs.append((f"{where} row {r}, column station", f"{name!r} is not declared under stations "
                                                                 f"(stations: {', '.join(sorted(stations))})"))
                continue
            for c, h in enumerate(head):
                if not h or h == "station":
                    continue
                v = _cell(row[c])
                if v is None:
                    continue
                if (name, h) in origin:
                    errs.append((f"{where} row {r}, column {h}", f"station {name!r} {h} is already set in {origin[(name, h)]}"))
                    continue
                if not _set(stations[name], h, v):
                    errs.append((f"{where} row {r}, column {h}", f"stations.{name}.{h} is also set in the scenario file: "
                                                                 "set it in one place"))
                    continue
                origin[(name, h)] = f"{where} row {r}"
    # validate each filled station on its own, so a bad cell is named by file, row and column
    from .registry import registry

    cell_errs = errs
    for name, spec in stations.items():
        mine = {p: o for (s, p), o in origin.items() if s == name}
        if not mine or not isinstance(spec, dict):
            continue
        try:
            kind = registry.get(spec.get("kind", "machine"))
        except KeyError:
            continue  # the scenario's own validation names the kind
        try:
            kind.spec.model_validate(spec)
        except ValidationError as e:
            for x in e.errors(include_url=False):
                loc = _loc_path(x["loc"])
                src = next((o + f", column {p}" for p, o in mine.items() if loc == p or loc.startswith(p + ".")
                            or loc.startswith(p + "[") or p.startswith(loc + ".") or p.startswith(loc + "[")), None)
                if src is not None:
                    msg = ("unknown field here (check the spelling; docs/fields.md lists the fields)"
                           if x["type"] == "extra_forbidden" else x["msg"])
                    cell_errs.append((src, msg))
    if cell_errs:
        raise ScenarioError(cell_errs)
    return out


def _loc_path(loc: tuple) -> str:
    from .scenario import _union_tags

    tags = _union_tags()
    out = ""
    for part in loc:
        if isinstance(part, str) and part in tags:
            continue  # a distribution or kind tag pydantic puts in the location
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and (part in ("float", "int", "str", "bool", "none", "list", "dict")
                                        or part.startswith(("function-", "constrained-", "json-or-python"))):
            continue
        else:
            out += ("." if out else "") + part
    return out


def _col(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s
