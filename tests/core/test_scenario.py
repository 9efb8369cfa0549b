"""Scenario loading: units, distributions, all errors at once with field paths, cross-references, CLI exit codes."""

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

import twin
from twin.distributions import make_sampler
from twin.units import to_si

BASE = {
    "horizon": "8 h",
    "stations": {"A": {"process_time": "90 s"}, "B": {"process_time": {"dist": "uniform", "low": "1 min", "high": "2 min"}}},
    "buffers": {"AB": {"capacity": 3, "between": ["A", "B"]}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


@pytest.mark.parametrize("text,quantity,si", [
    ("90 s", "time", 90.0), ("8 h", "time", 28800.0), ("2.5 min", "time", 150.0), ("2 d 6 h", "time", 194400.0),
    ("0.2 mm", "length", 2e-4), ("4 kW", "power", 4000.0), ("200 m/min", "velocity", 200 / 60),
    ("450 degC", "temperature", 723.15), ("1.5%", "dimensionless", 0.015), (7, "time", 7.0),
])
def test_units_convert_once_to_si(text, quantity, si):
    assert to_si(text, quantity) == pytest.approx(si, rel=1e-12)


def test_scenario_values_are_si_after_load():
    sc = twin.parse_scenario(BASE)
    assert sc.horizon == 28800.0
    assert sc.stations["A"].process_time.value == 90.0
    assert sc.stations["B"].process_time.high == 120.0


DISTS = [
    ({"dist": "constant", "value": "3 s"}, 3.0, 0.0),
    ({"dist": "uniform", "low": 1, "high": 3}, 2.0, np.sqrt(4 / 12)),
    ({"dist": "triangular", "low": 1, "mode": 2, "high": 6}, 3.0, np.sqrt((1 + 4 + 36 - 2 - 6 - 12) / 18)),
    ({"dist": "exponential", "mean": 2}, 2.0, 2.0),
    ({"dist": "normal", "mean": 10, "sd": 1}, 10.0, 1.0),
    ({"dist": "lognormal", "mean": 5, "sd": 2}, 5.0, 2.0),
    ({"dist": "gamma", "shape": 3, "scale": 2}, 6.0, np.sqrt(12)),
    ({"dist": "erlang", "k": 4, "mean": 8}, 8.0, 4.0),
    ({"dist": "weibull", "shape": 2, "scale": 10}, 10 * 0.886226925, 10 * np.sqrt(1 - 0.886226925 ** 2)),
    ({"dist": "empirical", "values": [1, 2, 4], "probabilities": [0.5, 0.25, 0.25]}, 2.0, np.sqrt(0.5 + 1 + 4 - 4 + 0.25 * 0 + 0)),
    ({"dist": "empirical", "values": [0, 10], "interpolate": True}, 5.0, np.sqrt(100 / 12)),
]


@pytest.mark.parametrize("spec,mean,sd", DISTS, ids=[d[0]["dist"] + str(i) for i, d in enumerate(DISTS)])
def test_distribution_sample_moments(spec, mean, sd):
    from pydantic import TypeAdapter

    from twin.distributions import Distribution

    d = TypeAdapter(Distribution).validate_python(spec)
    assert d.mean() == pytest.approx(mean, rel=1e-6)
    draw = make_sampler(d, np.random.default_rng(3))
    x = np.array([draw() for _ in range(40000)])
    assert x.min() >= 0
    assert x.mean() == pytest.approx(mean, abs=4 * sd / np.sqrt(len(x)) + 1e-12)
    if spec["dist"] == "empirical" and not spec.get("interpolate"):
        sd = np.sqrt(np.dot([0.5, 0.25, 0.25], (np.array([1, 2, 4]) - 2.0) ** 2))
    assert x.std() == pytest.approx(sd, rel=0.05, abs=1e-12)


def test_all_errors_at_once_with_field_paths():
    bad = {
        "horizon": "8 kg",
        "stations": {
            "A": {"process_time": {"dist": "normal", "mean": 10}, "capcity": 2},
            "B": {"process_time": {"dist": "weibul", "shape": 1, "scale": 2}, "scrap": 1.5},
        },
        "products": {"p": {"routing": []}},
    }
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(bad)
    paths = {p for p, _ in e.value.errors}
    msgs = " | ".join(f"{p}: {m}" for p, m in e.value.errors)
    assert "horizon" in paths and "not a time" in msgs
    assert "stations.A.process_time.sd" in paths
    assert "stations.A.capcity" in paths and "unknown field" in msgs
    assert "stations.B.process_time.dist" in paths and "weibul" in msgs
    assert "stations.B.scrap" in paths
    assert "products.p.routing" in paths
    assert len(e.value.errors) >= 6


def test_cross_references_name_both_ends():
    d = json.loads(json.dumps(BASE))
    d["products"]["p"]["routing"].append({"station": "C"})
    d["buffers"]["BA"] = {"capacity": 1, "between": ["B", "A"]}
    d["buffers"]["AX"] = {"capacity": 1, "between": ["A", "X"]}
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    errs = dict(e.value.errors)
    assert "products.p.routing[2].station" in errs and "'C'" in errs["products.p.routing[2].station"]
    assert "buffers.BA.between" in errs and "not adjacent" in errs["buffers.BA.between"]
    assert "buffers.AX.between" in errs and "'X'" in errs["buffers.AX.between"]


def test_formats_yaml_toml_json_equivalent(tmp_path):
    import tomli_w

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "s.json").write_text(json.dumps(BASE))
    (tmp_path / "s.toml").write_text(tomli_w.dumps(BASE))
    dumps = [twin.load(tmp_path / f"s.{ext}").dump() for ext in ("yaml", "json", "toml")]
    assert dumps[0] == dumps[1] == dumps[2]
    assert twin.parse_scenario(dumps[0]).dump() == dumps[0]  # the resolved scenario loads again


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_bad_scenario_exit_2_no_traceback_nothing_written(tmp_path):
    bad = dict(BASE, horizon="-3 h")
    bad["stations"] = {"A": {"process_time": "90 s", "failures": [{"availability": 1.2, "mttr": "5 min"}]},
                       "B": {"process_time": "1 min"}}
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(bad))
    out = tmp_path / "out"
    r = _cli("run", str(f), "--out", str(out))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    assert "horizon" in r.stderr and "stations.A.failures[0].availability" in r.stderr
    assert not out.exists()
    assert _cli("validate", str(f)).returncode == 2
    r = _cli("run", str(f), "--horizon", "3 kg")
    assert r.returncode == 2 and "[mass]" in r.stderr  # messages are printed verbatim, not as markup
    assert _cli("validate", str(tmp_path / "missing.yaml")).returncode == 2
    (tmp_path / "broken.yaml").write_text("stations: [unclosed\n")
    r = _cli("validate", str(tmp_path / "broken.yaml"))
    assert r.returncode == 2 and "cannot parse YAML" in r.stderr


def test_cli_run_json_out_and_schema(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(BASE))
    r = _cli("run", str(f), "--format", "json", "--seed", "4", "--horizon", "2 h", "--out", str(tmp_path / "res"))
    assert r.returncode == 0, r.stderr
    k = json.loads(r.stdout)
    for key in ("throughput_per_hour", "parts_completed", "wip_mean", "lead_time_mean_s", "oee", "bottleneck"):
        assert key in k["line"]
    for key in ("availability", "effectiveness", "quality_ratio", "oee", "utilization", "blocked_share", "starved_share", "down_share"):
        assert key in k["stations"]["A"]
    assert k["meta"]["seed"] == 4 and k["meta"]["horizon_s"] == 7200.0
    files = {p.name for p in (tmp_path / "res").iterdir()}
    assert {"kpis.json", "events.parquet", "operations.parquet", "parts.parquet", "scenario.yaml"} <= files
    assert json.loads((tmp_path / "res" / "kpis.json").read_text()) == k
    # B (uniform 60..120 s, mean 90 s) and A (90 s) are balanced: about 40 parts/h
    assert 30 < k["line"]["throughput_per_hour"] <= 40
    s = _cli("schema")
    schema = json.loads(s.stdout)
    assert "stations" in schema["properties"] and "horizon" in schema["properties"]
    assert _cli("run", str(f), "--format", "xml").returncode == 2
