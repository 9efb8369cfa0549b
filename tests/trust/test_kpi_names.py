"""Trial item 9: a typo in a KPI name is a usage error (exit 2) before anything runs, not a
FAIL after the replications, nor a column of NaN. Every KPI a result carries is in the one
registry (twin.kpidefs), and every registry entry is produced."""

import sqlite3
import subprocess
import sys

import pytest
import yaml

import twin
from twin.experiments import parse_expectation, parse_gate
from twin.kpidefs import KPIS, KPIKeyError, check_key, fmt, keys_of

LINE = {"horizon": "4 h", "seed": 2,
        "stations": {"A": {"process_time": {"dist": "exponential", "mean": 30}}, "B": {"process_time": 25}},
        "buffers": {"B1": {"capacity": 2, "between": ["A", "B"]}},
        "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "twin.cli", *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture
def line_file(tmp_path):
    f = tmp_path / "line.yaml"
    f.write_text(yaml.safe_dump(LINE))
    return f


def test_check_with_a_misspelt_kpi_exits_2_and_suggests(line_file):
    r = _cli("check", line_file, "--expect", "line.oeee >= 0.5", "--replications", "3")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "line.oeee" in r.stderr and "did you mean line.oee" in r.stderr
    assert "FAIL" not in r.stdout


def test_check_with_an_unknown_station_exits_2(line_file):
    r = _cli("check", line_file, "--expect", "stations.C.availability >= 0.5")
    assert r.returncode == 2 and "no station named 'C'" in r.stderr


def test_compare_gate_typo_exits_2_before_any_run(line_file, tmp_path):
    db = tmp_path / "runs.db"
    r = _cli("compare", line_file, line_file, "--replications", "3", "--gate", "throughput_per_hr >= 0", "--db", db, "--workers", "1")
    assert r.returncode == 2 and "did you mean line.throughput_per_hour" in r.stderr
    if db.exists():  # nothing ran: no run recorded
        with sqlite3.connect(db) as c:
            tables = [t for (t,) in c.execute("select name from sqlite_master where type='table'")]
            assert all(c.execute(f"select count(*) from {t}").fetchone()[0] == 0 for t in tables if t.startswith("run"))


def test_sweep_objective_typo_exits_2_and_writes_nothing(line_file, tmp_path):
    out = tmp_path / "sw.parquet"
    r = _cli("sweep", line_file, "--vary", "buffers.B1.capacity=1..3", "--objective", "line.throughput", "--out", out, "--quiet")
    assert r.returncode == 2 and "--objective" in r.stderr and not out.exists()


def test_text_kpis_are_refused_where_a_number_is_needed():
    with pytest.raises(KPIKeyError, match="not a number"):
        parse_expectation("line.bottleneck >= 1")


def test_python_api_checks_names_too():
    sc = twin.parse_scenario(LINE)
    with pytest.raises(ValueError, match="did you mean line.oee"):
        parse_gate("line.oe >= -1pt", sc)
    assert parse_gate("stations.A.availability >= -1pt", sc).key == "stations.A.availability"
    with pytest.raises(ValueError, match="must be finite"):
        parse_expectation("line.oee >= nan")


def test_every_kpi_of_a_result_is_registered_and_every_registered_kpi_is_produced():
    sc = {**LINE, "crews": {"fitters": {"size": 1}},
          "stations": {**LINE["stations"], "B": {"process_time": 25, "failures": [
              {"basis": "calendar", "availability": 0.9, "mttr": 300, "crew": "fitters"}]}},
          # the cost KPIs appear with a cost model (twin/costs.py)
          "costs": {"stations": {"A": {"hour_rate": 50, "investment": 1000}}, "labour": {"fitters": 40},
                    "energy": {"price": 0.2}, "products": {"p": {"material": 3, "price": 20}}}}
    lots = {**sc, "release": {"kind": "lots", "lots": [{"product": "p", "size": 20, "due": "2 h"}, {"product": "p", "size": 10}]}}
    seen = set()
    for d in (sc, lots):  # the lots level comes with release by lots
        k = twin.simulate(d).kpis
        for level, entity, name in keys_of(k):
            assert (level, name) in KPIS, f"{level}.{name} is produced but not in twin.kpidefs"
            seen.add((level, name))
            if KPIS[(level, name)].numeric:  # every numeric KPI of the result can be gated on by its name
                check_key(f"{level}.{entity}.{name}" if entity else f"line.{name}", twin.parse_scenario(d))
    assert set(KPIS) - seen == set(), f"registered but never produced: {sorted(set(KPIS) - seen)}"


@pytest.mark.parametrize("level,name,value,text", [
    ("line", "oee", 0.8123, "81.2%"), ("stations", "mtbf_s", 36000.0, "10.0 h"), ("stations", "mttr_s", 90.0, "1.50 min"),
    ("line", "energy_per_good_part_J", 1.2e6, "0.33 kWh"), ("line", "parts_completed", 12345, "12,345"),
    ("line", "lead_time_mean_s", 12960.0, "216 min"),
])
def test_values_are_shown_in_engineering_units(level, name, value, text):
    assert fmt(level, name, value, unit=True) == text


def test_cli_table_has_no_e_notation_and_explains_availability(line_file):
    r = _cli("run", line_file, "--quiet")
    assert r.returncode == 0
    assert "e+" not in r.stdout and "e-0" not in r.stdout
    assert "APT/PBT" in r.stdout and "pacing step" in r.stdout
