"""Answers with units and intervals: compare, sweep, check and replication tables in engineering
units (never SI e-notation), relative gates in percent, no verdict without a gate, station deltas
with a significant column and each side's bottleneck; sweep prints mean and interval per point, the
bottleneck per point and a status column (the Parquet table's column is `status`, as documented)."""

import copy
import re
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml

LINE = {
    "name": "two step", "horizon": "3 h", "warmup": "30 min", "seed": 2,
    "products": {"A": {"routing": [{"station": "M1"}, {"station": "M2"}]}},
    "stations": {"M1": {"process_time": {"dist": "exponential", "mean": "60 s"}, "power": {"processing": "4 kW"}},
                 "M2": {"process_time": {"dist": "exponential", "mean": "50 s"}}},
    "buffers": {"B1": {"capacity": 2, "between": ["M1", "M2"]}},
}
ENOTATION = re.compile(r"\d[eE][+-]?\d")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], capture_output=True, text=True, timeout=600,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    a = d / "a.yaml"
    a.write_text(yaml.safe_dump(LINE))
    c = copy.deepcopy(LINE)
    c["stations"]["M1"]["capacity"] = 2
    b = d / "b.yaml"
    b.write_text(yaml.safe_dump(c))
    return d, a, b


def test_compare_without_gate_has_no_verdict_and_shows_stations_and_bottlenecks(files):
    d, a, b = files
    r = _cli("compare", str(a), str(b), "--replications", "4", "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "PASS" not in out and "FAIL" not in out and "no gate given" in out
    assert "significant" in out and "throughput [parts/h]" in out and "OEE [%]" in out and "pt" in out
    assert re.search(r"bottleneck: baseline M1 \(\d+% of replications\)\s+->\s+candidate M2", out), out
    assert "stations: candidate - baseline" in out and "utilization" in out and "[pt]" in out
    assert not ENOTATION.search(out), out


def test_relative_gate_prints_percent_and_gives_a_verdict(files):
    d, a, b = files
    r = _cli("compare", str(a), str(b), "--replications", "4", "--workers", "1", "--quiet", "--gate", "throughput_per_hour >= 5%",
             "--gate", "oee >= -50pt")
    assert r.returncode == 0, r.stdout
    line = next(l for l in r.stdout.splitlines() if l.startswith("gate throughput_per_hour"))
    assert re.search(r"\[\+\d+\.\d %, \+\d+\.\d %\] relative -> pass", line), line
    assert re.search(r"gate oee >= -50pt: \[[+-]\d+\.\d pt, [+-]\d+\.\d pt\] -> pass", r.stdout), r.stdout
    assert "PASS" in r.stdout


def test_check_and_replications_in_engineering_units(files):
    d, a, b = files
    r = _cli("check", str(a), "--expect", "lead_time_mean_s <= 10 h", "--replications", "3", "--workers", "1")
    assert r.returncode == 0, r.stdout
    assert re.search(r"lead_time_mean_s <= 10 h\s+│\s+[\d.]+ min\s+│\s+\[[\d.]+, [\d.]+ min\]", r.stdout), r.stdout
    r = _cli("run", str(a), "--replications", "3", "--quiet")
    assert r.returncode == 0, r.stderr
    assert re.search(r"line\.lead_time_mean_s\s+│\s+[\d.]+ ± [\d.]+\s+│\s+min", r.stdout), r.stdout
    assert re.search(r"line\.oee\s+│\s+[\d.]+ ± [\d.]+\s+│\s+%", r.stdout), r.stdout
    assert not ENOTATION.search(r.stdout)


def test_sweep_prints_mean_interval_bottleneck_and_status(files):
    d, a, b = files
    r = _cli("sweep", str(a), "--vary", "stations.M1.capacity=1..2", "--replications", "3", "--workers", "1", "--quiet",
             "--out", str(d / "sw"))
    assert r.returncode == 0, r.stderr
    rows = [l for l in r.stdout.splitlines() if re.match(r"│\s+[12]\s+│", l)]
    assert len(rows) == 2
    for l in rows:
        assert re.search(r"[\d.]+ ± [\d.]+", l) and ("M1" in l or "M2" in l) and "ok" in l, l
    assert "status" in r.stdout and "bottleneck" in r.stdout
    t = pq.read_table(d / "sw" / "sweep.parquet")
    assert "status" in t.column_names and set(t.column("status").to_pylist()) == {"ok"}
    assert t.num_rows == 6
    # the table's rank 1 is the point with two M1 units (more throughput)
    assert re.match(r"│\s+1\s+│\s+2\s+│", rows[0]), rows
    assert not ENOTATION.search(r.stdout)
