"""Excel both ways: station data from CSV and XLSX tables (the same run as the same data written in
YAML; bad cells named by file, row and column), and `twin export --xlsx` (KPIs, stations, parts
and events on sheets, units in the headers, values in those units)."""

import subprocess
import sys

import pytest
import yaml

import twin

openpyxl = pytest.importorskip("openpyxl")

INLINE = {
    "name": "tabled", "horizon": "8 h", "seed": 5,
    "products": {"F": {"routing": [{"station": "SAW"}, {"station": "LATHE"}]}},
    "stations": {
        "SAW": {"process_time": {"dist": "constant", "value": 50}},
        "LATHE": {"capacity": 2, "process_time": {"dist": "normal", "mean": 150, "sd": 10}, "scrap": 0.01,
                  "failures": [{"availability": 0.95, "mttr": 1200}], "power": {"processing": 10000}},
    },
}
HEADER = ["station", "capacity", "process_time.dist", "process_time.value", "process_time.mean", "process_time.sd",
          "failures[0].availability", "failures[0].mttr", "scrap"]
ROWS = [["SAW", None, "constant", "50 s", None, None, None, None, None],
        ["LATHE", 2, "normal", None, "2.5 min", "10 s", 0.95, "20 min", "1%"]]


def _tabled(tmp_path, ref):
    d = {"name": "tabled", "horizon": "8 h", "seed": 5, "station_tables": [ref],
         "products": INLINE["products"], "stations": {"SAW": {}, "LATHE": {"power": {"processing": "10 kW"}}}}
    p = tmp_path / "line.yaml"
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    return p


def _csv(tmp_path, rows=ROWS, header=HEADER, name="stations.csv", sep=","):
    p = tmp_path / name
    p.write_text("\n".join(sep.join("" if c is None else str(c) for c in r) for r in [header, *rows]) + "\n")
    return p


def _xlsx(tmp_path, rows=ROWS, header=HEADER, name="stations.xlsx", sheet="Stations"):
    wb = openpyxl.Workbook()
    wb.active.title = "Intro"
    ws = wb.create_sheet(sheet)
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(tmp_path / name)
    return tmp_path / name


def test_csv_and_xlsx_tables_give_the_run_of_the_same_yaml(tmp_path):
    want = twin.simulate(twin.parse_scenario(INLINE)).event_log_hash()
    _csv(tmp_path)
    sc = twin.load(_tabled(tmp_path, {"file": "stations.csv"}))
    assert sc.stations["LATHE"].capacity == 2 and sc.stations["LATHE"].failures[0].mttr == 1200
    assert twin.simulate(sc).event_log_hash() == want
    _xlsx(tmp_path)
    sc = twin.load(_tabled(tmp_path, {"file": "stations.xlsx", "sheet": "Stations"}))
    assert twin.simulate(sc).event_log_hash() == want
    _csv(tmp_path, sep=";", name="semi.csv")  # a spreadsheet saved with semicolons
    assert twin.simulate(twin.load(_tabled(tmp_path, {"file": "semi.csv"}))).event_log_hash() == want
    # the resolved scenario carries the values: it runs again without the table
    assert "station_tables" not in sc.dump()
    assert twin.simulate(twin.parse_scenario(sc.dump())).event_log_hash() == want


@pytest.mark.parametrize("row,col,value,msg", [
    (3, "capacity", "two", "integer"),
    (3, "process_time.mean", "8O s", "cannot read"),
    (3, "scrap", "150%", "less than or equal to 1"),
    (2, "process_time.value", "-5 s", None),
])
def test_a_bad_cell_is_named_by_file_row_and_column(tmp_path, row, col, value, msg):
    rows = [list(r) for r in ROWS]
    rows[row - 2][HEADER.index(col)] = value
    _xlsx(tmp_path, rows)
    with pytest.raises(twin.ScenarioError) as e:
        twin.load(_tabled(tmp_path, {"file": "stations.xlsx", "sheet": "Stations"}))
    paths = [p for p, _ in e.value.errors]
    assert f"stations.xlsx row {row}, column {col}" in paths, e.value.errors
    if msg:
        assert any(msg in m for _, m in e.value.errors), e.value.errors


def test_table_errors_name_what_is_wrong(tmp_path):
    _csv(tmp_path, [["MILL", 1, "constant", "5 s", None, None, None, None, None]])
    with pytest.raises(twin.ScenarioError) as e:
        twin.load(_tabled(tmp_path, {"file": "stations.csv"}))
    assert e.value.errors[0][0] == "stations.csv row 2, column station" and "MILL" in e.value.errors[0][1]
    _csv(tmp_path, header=["station", "process time"], rows=[["SAW", "5 s"]])
    with pytest.raises(twin.ScenarioError) as e:
        twin.load(_tabled(tmp_path, {"file": "stations.csv"}))
    assert e.value.errors[0][0] == "stations.csv row 1, column B"
    _csv(tmp_path, header=["station", "power.processing"], rows=[["LATHE", "5 kW"]])
    with pytest.raises(twin.ScenarioError) as e:  # set in the YAML and in the table
        twin.load(_tabled(tmp_path, {"file": "stations.csv"}))
    assert "set it in one place" in e.value.errors[0][1]
    with pytest.raises(twin.ScenarioError) as e:
        twin.load(_tabled(tmp_path, {"file": "missing.xlsx"}))
    assert e.value.errors[0][0] == "station_tables[0].file"
    _xlsx(tmp_path)
    with pytest.raises(twin.ScenarioError) as e:
        twin.load(_tabled(tmp_path, {"file": "stations.xlsx", "sheet": "Nope"}))
    assert "no sheet 'Nope'" in e.value.errors[0][1]
    # given as data (HTTP body, Python dict) the relative path means nothing: refused
    d = yaml.safe_load(_tabled(tmp_path, {"file": "stations.csv"}).read_text())
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    assert "station_tables" in e.value.errors[0][0] + e.value.errors[0][1]


def test_cli_exits_2_on_a_bad_table(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[1][1] = "two"
    _csv(tmp_path, rows)
    r = subprocess.run([sys.executable, "-m", "twin.cli", "validate", str(_tabled(tmp_path, {"file": "stations.csv"}))],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "stations.csv row 3, column capacity" in r.stderr


def test_export_xlsx_sheets_units_and_values(tmp_path):
    d = dict(INLINE, warmup="1 h", costs={"stations": {"LATHE": {"hour_rate": 50}}})
    res = twin.simulate(twin.parse_scenario(d))
    res.save(tmp_path / "res")
    out = tmp_path / "r.xlsx"
    r = subprocess.run([sys.executable, "-m", "twin.cli", "export", str(tmp_path / "res"), "--xlsx", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames[:4] == ["KPIs", "Stations", "Parts", "Events"] or wb.sheetnames[:3] == ["KPIs", "Stations", "Buffers"]
    kp = {row[1]: row for row in wb["KPIs"].iter_rows(min_row=2, values_only=True) if row and row[1]}
    line = res.kpis["line"]
    assert kp["line.oee"][2] == pytest.approx(100 * line["oee"]) and kp["line.oee"][3] == "%"
    assert kp["line.lead_time_mean_s"][2] == pytest.approx(line["lead_time_mean_s"] / 60) and kp["line.lead_time_mean_s"][3] == "min"
    assert kp["line.cost_total"][3] == "EUR"
    st = list(wb["Stations"].iter_rows(values_only=True))
    head = st[0]
    assert "availability [%]" in head and "mttr [min]" in head and "energy [kWh]" in head and "cost_machine [EUR]" in head
    lathe = next(r for r in st if r[0] == "LATHE")
    assert lathe[head.index("mttr [min]")] == pytest.approx(res.kpis["stations"]["LATHE"]["mttr_s"] / 60)
    parts = list(wb["Parts"].iter_rows(values_only=True))
    assert parts[0] == ("part", "product", "release [h]", "exit [h]", "lead time [min]", "outcome", "due [h]")
    assert len(parts) - 1 == len(res.parts["part"])
    done = [p for p in parts[1:] if p[5] == "complete"]
    assert done[0][4] == pytest.approx((done[0][3] - done[0][2]) * 60)
    ev = list(wb["Events"].iter_rows(values_only=True))
    assert ev[0][:3] == ("time [h]", "time [s]", "resource") and len(ev) - 1 == res.events.num_rows
    r = subprocess.run([sys.executable, "-m", "twin.cli", "export", str(tmp_path / "res"), "--xlsx", str(tmp_path / "r.csv")],
                       capture_output=True, text=True)
    assert r.returncode == 2
