"""``--engine simpy|compiled|auto`` on run, compare, check and sweep, ``engine=`` in the Python
API (simulate, replicate, compare, check, sweep, local processes and Dask) and the run service's
entry point (``twin.engine.execute``): the compiled engine gives the same numbers, a scenario
outside its subset is refused naming why (exit 2), and ``auto`` says why it fell back."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
import yaml

import twin
from twin import experiments as E
from twin.engine import execute

LINE = {
    "name": "two", "horizon": 3000, "seed": 3,
    "stations": {"A": {"process_time": {"dist": "exponential", "mean": 1.0},
                       "failures": [{"basis": "operating", "tbf": {"dist": "exponential", "mean": 200},
                                     "ttr": {"dist": "exponential", "mean": 10}}]},
                 "B": {"process_time": {"dist": "gamma", "shape": 2, "mean": 1.1}, "scrap": 0.02}},
    "buffers": {"B1": {"capacity": 2, "between": ["A", "B"]}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], capture_output=True, text=True)


@pytest.fixture
def line_file(tmp_path):
    f = tmp_path / "line.yaml"
    f.write_text(yaml.safe_dump(LINE))
    return f


def test_run_cli_engines_agree_and_refusal_names_the_reasons(line_file, tmp_path):
    r = _cli("run", str(line_file), "--engine", "compiled", "--format", "json", "--out", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr
    ref = twin.simulate(twin.load(line_file), engine="simpy")
    assert json.loads(r.stdout) == json.loads(ref.to_json())
    assert json.loads((tmp_path / "c" / "meta.json").read_text())["event_log_hash"] == ref.event_log_hash()
    r = _cli("run", "examples/flex_cell.yaml", "--engine", "compiled")
    assert r.returncode == 2 and "station MC1 is a cnc_mill (physics)" in r.stderr and "operators" in r.stderr
    r = _cli("run", "examples/shaft_line_physics.yaml", "--engine", "auto", "--horizon", "2 h", "--warmup", "0",
             "--format", "json")
    assert r.returncode == 0, r.stderr
    assert "engine: simpy (the compiled engine does not fit: station L1 is a cnc_lathe (physics)" in r.stderr
    r = _cli("run", str(line_file), "--engine", "numba")
    assert r.returncode == 2 and "--engine" in r.stderr


def test_compare_check_sweep_cli_with_the_compiled_engine(line_file, tmp_path):
    g = tmp_path / "g.yaml"
    g.write_text(yaml.safe_dump(dict(LINE, buffers={"B1": {"capacity": 6, "between": ["A", "B"]}})))
    r = _cli("compare", str(line_file), str(g), "--replications", "3", "--gate", "throughput_per_hour >= 0",
             "--format", "json", "--workers", "1", "--engine", "compiled")
    assert r.returncode == 0, r.stderr
    b, c = twin.load(line_file), twin.load(g)
    ref = E.compare(b, c, 3, gates=[E.parse_gate("throughput_per_hour >= 0", b, c)], engine="simpy")
    assert json.loads(r.stdout)["kpis"] == json.loads(json.dumps(ref["kpis"]))
    r = _cli("check", str(line_file), "--expect", "line.throughput_per_hour >= 1000", "--replications", "3",
             "--engine", "compiled", "--workers", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    path = tmp_path / "sw.parquet"
    r = _cli("sweep", str(line_file), "--vary", "buffers.B1.capacity=0..2", "--out", str(path), "--workers", "1",
             "--quiet", "--engine", "compiled")
    assert r.returncode == 0, r.stderr
    ref = E.sweep_table(E.sweep(b, E.sweep_points([E.parse_vary("buffers.B1.capacity=0..2")])))
    got = pq.read_table(path).drop_columns(["elapsed_s"]).to_pylist()
    assert got == ref.drop_columns(["elapsed_s"]).to_pylist() and len(got) == 3
    r = _cli("sweep", "examples/flex_cell.yaml", "--vary", "buffers.TO_MC1.capacity=1..2", "--engine", "compiled", "--quiet")
    assert r.returncode == 2 and "cnc_mill" in r.stderr


def test_python_api_engines_local_processes_and_dask():
    sc = twin.parse_scenario(LINE)
    pts = E.sweep_points([E.parse_vary("buffers.B1.capacity=0..2")])
    ref = E.sweep(sc, pts)
    with E.Executor(workers=2) as ex:
        local = E.sweep(sc, pts, executor=ex, engine="compiled")
    with E.Executor(workers=2, dask="local") as ex:
        dask = E.sweep(sc, pts, executor=ex, engine="compiled")
    assert [o.kpis for o in ref] == [o.kpis for o in local] == [o.kpis for o in dask]
    a = E.replicate(sc, 2, engine="compiled")
    b = E.replicate(sc, 2)
    assert [o.kpis for o in a] == [o.kpis for o in b]
    rep = E.check(sc, [E.parse_expectation("line.throughput_per_hour >= 1000", sc)], n=3, engine="auto")
    assert rep["pass"]


def test_run_service_entry_point_progress_and_cancel():
    sc = twin.parse_scenario(LINE)
    seen = []
    res = execute(sc, seed=4, engine="compiled", chunks=10, progress=seen.append)
    assert res.engine == "compiled" and seen == pytest.approx([k / 10 for k in range(1, 11)])
    assert res.event_log_hash() == execute(sc, seed=4, engine="simpy").event_log_hash()
    assert execute(sc, engine="compiled", chunks=10, progress=lambda f: f < 0.3) is None
    auto = execute(twin.load("examples/shaft_line_physics.yaml", horizon=600.0, warmup=0.0), engine="auto", chunks=2)
    assert auto.engine == "simpy" and any("cnc_lathe" in r for r in auto.engine_reasons)
