"""Experiments: interval coverage, CRN variance reduction, MSER-5, gates, sweeps, executors, CLI exit codes."""

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import twin
from twin import experiments as E

MM1 = {
    "name": "mm1", "horizon": 3000, "warmup": 300, "seed": 0,
    "release": {"kind": "arrivals", "interarrival": {"dist": "exponential", "mean": 2.0}},
    "stations": {"M": {"process_time": {"dist": "exponential", "mean": 1.0}}},
    "products": {"p": {"routing": [{"station": "M"}]}},
}


def test_confidence_interval_coverage_mm1():
    """95 % intervals from 5 replications cover the true L = rho/(1-rho) = 1 in about 95 % of
    independent experiments (binomial noise allowed: 120 experiments, 3 sigma)."""
    n_exp, reps = 120, 5
    sc = twin.parse_scenario(MM1)
    covered = 0
    with E.Executor(workers=2) as ex:
        jobs = [{"body": sc.dump(), "seed": 1000 + e, "replication": r, "index": e * reps + r} for e in range(n_exp) for r in range(reps)]
        outs = ex.map(jobs)
    for e in range(n_exp):
        s = E.summarize(outs[e * reps:(e + 1) * reps])["line.wip_mean"]
        covered += s["low"] <= 1.0 <= s["high"]
    rate = covered / n_exp
    sigma = np.sqrt(0.95 * 0.05 / n_exp)
    assert abs(rate - 0.95) <= 3 * sigma, rate


def test_an_executor_block_keeps_its_worker_processes_across_maps():
    """An optimiser or a precision loop calls ``map`` many times in one block: the workers start
    once (the same processes serve every call), each ``map`` gives the same outcomes as a
    serial run, and the pool is gone when the block ends."""
    sc = twin.parse_scenario(MM1)
    jobs = [{"body": sc.dump(), "seed": 7, "replication": r, "index": r} for r in range(4)]
    serial = [o.kpis["line"]["parts_completed"] for o in E.Executor(workers=1).map(jobs)]
    with E.Executor(workers=2) as ex:
        first = ex.map(jobs)
        pids = set(ex._pool._processes)
        second = ex.map(jobs)
        assert set(ex._pool._processes) == pids and len(pids) == 2
    assert ex._pool is None
    assert [o.kpis["line"]["parts_completed"] for o in first] == serial
    assert [o.kpis["line"]["parts_completed"] for o in second] == serial


def test_crn_pairing_narrows_the_interval():
    base = twin.load("examples/ci/baseline.yaml", horizon=3 * 86400.0)
    d = base.dump()
    d["buffers"]["B_SAW"]["capacity"] = 10
    cand = twin.parse_scenario(d)
    rep = E.compare(base, cand, n=8)
    r = rep["kpis"]["line.throughput_per_hour"]
    assert r["half_width"] < 0.5 * r["half_width_independent"]
    assert r["variance_reduction"] > 0.5


def test_mser5_finds_known_transient():
    rng = np.random.default_rng(4)
    t = np.arange(1000)
    series = 10 * np.exp(-t / 40.0) + rng.normal(0, 0.3, len(t))  # transient dies out by ~200
    cut = E.mser5(series)
    assert 100 <= cut <= 300
    assert E.mser5(rng.normal(0, 1, 1000)) < 100  # stationary: cut near the start


def test_gate_and_expectation_parsing():
    g = E.parse_gate("oee >= -0.5pt")
    assert (g.key, g.op, g.value, g.mode) == ("line.oee", ">=", -0.005, "pt")
    g = E.parse_gate("stations.L1.availability >= -2%")
    assert (g.key, g.value, g.mode) == ("stations.L1.availability", -0.02, "rel")
    g = E.parse_gate("lead_time_mean_s <= 5 min")
    assert (g.value, g.mode) == (300.0, "abs")
    with pytest.raises(ValueError):
        E.parse_gate("oee about 3")
    assert E.parse_expectation("line.throughput_per_hour >= 40").value == 40


def test_sweep_factorial_and_lhs_points():
    v1 = E.parse_vary("buffers.B1.capacity=2..4")
    v2 = E.parse_vary("stations.A.process_time.value=1..2min", levels=3)
    assert v1[1] == [2, 3, 4] and v2[1] == pytest.approx([60, 90, 120])
    assert len(E.sweep_points([v1, v2])) == 9
    pts = E.sweep_points([v1, v2], lhs=20, seed=1)
    assert len(pts) == 20 and all(2 <= p["buffers.B1.capacity"] <= 4 for p in pts)
    # Latin hypercube: each fifth of the continuous range holds 4 of the 20 points
    x = np.array([p["stations.A.process_time.value"] for p in pts])
    assert np.all(np.histogram(x, bins=5, range=(60, 120))[0] == 4)
    with pytest.raises(KeyError):
        E.apply_overrides({"buffers": {}}, {"buffers.B9.capacity": 3})


LINE = {
    "name": "two", "horizon": 2000, "seed": 3,
    "stations": {"A": {"process_time": {"dist": "exponential", "mean": 1.0}}, "B": {"process_time": {"dist": "exponential", "mean": 1.0}}},
    "buffers": {"B1": {"capacity": 1, "between": ["A", "B"]}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


def test_sweep_same_table_local_processes_and_dask():
    sc = twin.parse_scenario(LINE)
    pts = E.sweep_points([E.parse_vary("buffers.B1.capacity=0..3")])
    with E.Executor(workers=1) as ex:
        serial = E.sweep(sc, pts, executor=ex)
    with E.Executor(workers=2) as ex:
        local = E.sweep(sc, pts, executor=ex)
    with E.Executor(workers=2, dask="local") as ex:
        dask = E.sweep(sc, pts, executor=ex)
    t = [E.sweep_table(o).drop_columns(["elapsed_s"]).to_pylist() for o in (serial, local, dask)]
    assert t[0] == t[1] == t[2]
    thr = [o.kpis["line"]["throughput_per_hour"] for o in serial]
    assert thr == sorted(thr)  # more buffer, more throughput (common random numbers)


def test_failed_point_is_reported_not_fatal():
    sc = twin.parse_scenario(LINE)
    outs = E.sweep(sc, [{"buffers.B1.capacity": 2}, {"buffers.B1.capacity": -1}])
    assert outs[0].ok and not outs[1].ok and "capacity" in outs[1].error


def test_store_serves_repeated_runs(tmp_path):
    sc = twin.parse_scenario(LINE)
    db = str(tmp_path / "x.db")
    a = E.replicate(sc, 2, db=db)
    b = E.replicate(sc, 2, db=db)
    assert not any(o.cached for o in a) and all(o.cached for o in b)
    assert [o.kpis for o in a] == [o.kpis for o in b]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_check_and_compare_exit_codes(tmp_path):
    import yaml

    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(LINE))
    assert _cli("check", str(f), "--expect", "line.throughput_per_hour >= 2000", "--replications", "3").returncode == 0
    r = _cli("check", str(f), "--expect", "line.throughput_per_hour >= 4000", "--replications", "3")
    assert r.returncode == 1 and "FAIL" in r.stdout
    assert _cli("check", str(f), "--expect", "line.oee is great").returncode == 2
    (tmp_path / "bad.yaml").write_text("horizon: 3 kg\n")
    assert _cli("check", str(tmp_path / "bad.yaml"), "--expect", "oee >= 0").returncode == 2
    g = tmp_path / "g.yaml"
    d = dict(LINE, buffers={"B1": {"capacity": 4, "between": ["A", "B"]}})
    g.write_text(yaml.safe_dump(d))
    r = _cli("compare", str(f), str(g), "--replications", "4", "--gate", "throughput_per_hour >= 0", "--format", "json", "--workers", "1")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["gates"][0]["pass"] and rep["kpis"]["line.throughput_per_hour"]["delta"] > 0
    r = _cli("compare", str(g), str(f), "--replications", "4", "--gate", "throughput_per_hour >= 0", "--workers", "1", "--quiet")
    assert r.returncode == 1
    r = _cli("sweep", str(f), "--vary", "buffers.B1.capacity=0..2", "--out", str(tmp_path / "sw.parquet"), "--workers", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert pq.read_table(tmp_path / "sw.parquet").num_rows == 3
    assert _cli("sweep", str(f), "--vary", "buffers.NOPE.capacity=0..2", "--quiet").returncode == 2


def test_run_replications_cli(tmp_path):
    r = _cli("run", "examples/shaft_line.yaml", "--replications", "3", "--format", "json", "--horizon", "3 d")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["replications"] == 3 and rep["kpis"]["line.oee"]["n"] == 3
    assert rep["mser5_warmup_s"] is not None


@pytest.mark.parametrize("cmd", [["sweep", "examples/shaft_line.yaml", "--vary", "buffers.B_L1.capacity=2..6"],
                                 ["compare", "examples/shaft_line.yaml", "examples/shaft_line.yaml"]])
def test_zero_workers_are_refused_with_exit_2_naming_the_option(cmd):
    r = subprocess.run([sys.executable, "-m", "twin", *cmd, "--workers", "0", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 2 and "--workers" in r.stderr and "Traceback" not in r.stderr, r.stderr
    with pytest.raises(ValueError, match="workers must be at least 1"):
        E.Executor(workers=0)
