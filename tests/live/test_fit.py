"""Learning a scenario from a state log (twin.live.fit)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twin
from twin.live.fit import LogError, fit_distribution, fit_scenario, read_log, validate
from twin.states import EXECUTION, Code

ROOT = Path(__file__).resolve().parents[2]
LINE = Path(__file__).parent / "data" / "fit_line.yaml"


@pytest.fixture(scope="module")
def plant_log(tmp_path_factory):
    d = tmp_path_factory.mktemp("plant")
    res = twin.simulate(twin.load(LINE))
    res.save(d / "result")
    return d / "result", res


@pytest.fixture(scope="module")
def fitted_file(plant_log, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "fitted.yaml"
    rep = fit_scenario(read_log(plant_log[0] / "events.parquet"), LINE, out)
    return out, rep


def test_fit_recovers_the_known_scenario(plant_log, fitted_file):
    path, res = plant_log
    out, rep = fitted_file
    true = twin.load(LINE)
    fitted = twin.load(out)
    pairs = [
        (true.stations["A"].process_time, fitted.stations["A"].process_time),
        (true.products["p"].routing[1].process_time, fitted.products["p"].routing[1].process_time),
        (true.products["q"].routing[1].process_time, fitted.products["q"].routing[1].process_time),
        (true.stations["C"].process_time, fitted.stations["C"].process_time),
    ]
    for s in "ABC":
        for a, b in zip(true.stations[s].failures, fitted.stations[s].failures):
            pairs += [(a.resolved()[0], b.tbf), (a.resolved()[1], b.ttr)]
    for a, b in pairs:
        assert b.mean() == pytest.approx(a.mean(), rel=0.10), (a, b)
    assert fitted.stations["B"].setup.changes == {"p": {"q": 120.0}, "q": {"p": 90.0}}
    assert fitted.stations["C"].scrap == pytest.approx(0.02, rel=0.15)
    # each fitted value carries its sample size and fit quality
    text = out.read_text()
    assert text.count("# fitted: n=") >= 10 and "KS D=" in text and "by AIC" in text
    assert text.startswith("# a known line for fitting tests")  # the file's own comments are kept
    # right-censored intervals counted, not dropped
    assert any(f["fit"].censored for f in rep.fits)
    # the fitted model reproduces the plant's throughput within 3 %
    thr = [twin.simulate(fitted, replication=r).kpis["line"]["throughput_per_hour"] for r in range(3)]
    assert np.mean(thr) == pytest.approx(res.kpis["line"]["throughput_per_hour"], rel=0.03)


def test_validation_flags_a_model_that_disagrees(plant_log, fitted_file, tmp_path):
    log = read_log(plant_log[0])
    out = fitted_file[0]
    ok = validate(log, out, replications=4)
    assert ok["disagreements"] == []
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(out.read_text().replace("station: B\n      process_time: {dist: triangular", "station: B\n      process_time: {dist: triangular, low: 80, mode: 90, high: 100} #", 1))
    bad = validate(log, wrong, replications=4)
    assert "throughput_per_hour" in bad["disagreements"] and "B.utilization" in bad["disagreements"]


def test_censored_mle_is_not_the_naive_mean():
    """Heavy right-censoring (an exponential life of mean 10 h watched for 8 h): dropping the
    censored lives would estimate the mean far too low; the censored MLE (total exposure /
    failures for the exponential) recovers it."""
    rng = np.random.default_rng(4)
    life = rng.exponential(36000.0, 600)
    seen = np.minimum(life, 28800.0)
    done = life <= 28800.0
    f = fit_distribution(seen[done], seen[~done], families=("exponential",))
    assert f.censored == (~done).sum() > 200
    assert f.dist["mean"] == pytest.approx(seen.sum() / done.sum(), rel=1e-3)  # the closed-form MLE
    assert f.dist["mean"] == pytest.approx(36000.0, rel=0.10)
    assert seen[done].mean() < 0.5 * 36000.0  # what dropping them would give
    w = fit_distribution(seen[done], seen[~done])  # every family: the exponential's relatives win
    assert w.family in ("exponential", "weibull", "gamma") and w.mean == pytest.approx(36000.0, rel=0.15)


def test_csv_log_with_mtconnect_vocabulary(plant_log, tmp_path):
    """A plant table (ISO times, MTConnect Execution values, products by name) gives the same
    process-time fits as the twin's own result."""
    path, res = plant_log
    ev = res.events.to_pandas()
    prod = dict(zip(res.part_table.to_pandas()["part"], res.part_table.to_pandas()["product"].astype(str)))
    ex = {int(c): EXECUTION[Code(c)] for c in Code}
    t0 = pd.Timestamp("2026-11-30 00:00")
    csv = pd.DataFrame({"time": (t0 + pd.to_timedelta(ev["t"], unit="s")).dt.strftime("%Y-%m-%d %H:%M:%S.%f"),
                        "station": ev["station"].astype(str), "state": [ex[int(c)] for c in ev["code"]],
                        "part": ev["part"].where(ev["part"] >= 0), "product": [prod.get(p) for p in ev["part"]]})
    csv.loc[ev["code"].to_numpy() == Code.SETUP, "state"] = "setup"  # MTConnect says ACTIVE; the log names setups
    f = tmp_path / "plant.csv"
    csv.to_csv(f, index=False)
    out = tmp_path / "fitted.yaml"
    fit_scenario(read_log(f), LINE, out)
    fitted = twin.load(out)
    assert fitted.stations["A"].process_time.mean() == pytest.approx(50.0, rel=0.03)
    assert fitted.products["q"].routing[1].process_time.mean() == pytest.approx(70.0, rel=0.03)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,station,state\n0,A,ACTIVE\n5,A,dancing\n")
    with pytest.raises(LogError, match=r"row 1: state 'dancing'"):
        read_log(bad)
    bad.write_text("time,station,state\n0,Z,ACTIVE\n")
    with pytest.raises(LogError, match="Z"):
        fit_scenario(read_log(bad), LINE, tmp_path / "x.yaml")


def test_cli_fit(plant_log, tmp_path):
    from typer.testing import CliRunner

    from twin.cli import _register_extensions, app

    _register_extensions()
    path, _ = plant_log
    out, rep = tmp_path / "f.yaml", tmp_path / "r.json"
    args = ["fit", str(path), "--scenario", str(LINE), "--out", str(out), "--validate", "1", "--report", str(rep)]
    a = CliRunner().invoke(app, args)
    assert a.exit_code == 0, a.output
    assert "validation" in a.output and out.exists()
    doc = json.loads(rep.read_text())
    assert doc["validation"]["replications"] == 1 and len(doc["fits"]) >= 10
    b = CliRunner().invoke(app, args[:4] + ["--out", str(tmp_path / "f.toml")])
    assert b.exit_code == 2 and "--out" in b.output
    c = CliRunner().invoke(app, ["fit", str(tmp_path / "nope.csv"), "--scenario", str(LINE), "--out", str(out)])
    assert c.exit_code == 2 and "no such file" in c.output
