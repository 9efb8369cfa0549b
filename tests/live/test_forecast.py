"""Forecast from a snapshot (twin.live.forecast): calibration of the prediction interval with the
twin playing the plant, due-date risk, the CLI."""

import datetime as dt
import json
from pathlib import Path

import pytest
from scipy import stats

import twin
from twin.live.forecast import forecast, parse_until
from twin.live.snapshot import snapshot_of

ROOT = Path(__file__).resolve().parents[2]


def test_prediction_interval_covers_the_plant_about_90_percent_of_the_time():
    """The plant is the twin on other seeds; it is observed at different times (snapshot_of: what
    an observer sees, not the exact state), forecast 4 h ahead with 19 runs (the 90 % interval of
    19 runs is their range of order statistics 1..19: coverage 18/20), and the realised output
    compared. Over M trials the hit count must be a plausible Binomial(M, 0.9) draw."""
    sc = twin.load(ROOT / "examples/shaft_line.yaml")
    M, hits = 60, 0
    for k in range(M):
        plant = twin.Run(sc, seed=1000 + k)
        plant.run_until(30 * 3600 + 3600 * (k % 8) + 37 * k)
        snap = snapshot_of(plant)
        c0 = plant.sink.completed
        f = forecast(sc, snap, "+4 h", replications=19, bottleneck=False)
        assert f.coverage == pytest.approx(0.9)
        plant.run_until(plant.now + 4 * 3600)
        y = plant.sink.completed - c0
        hits += f.output_interval[0] <= y <= f.output_interval[1]
    print("hits", hits, "of", M)
    assert stats.binom.cdf(hits, M, 0.9) > 1e-3, hits  # not under-covering
    assert stats.binom.sf(hits - 1, M, 0.9) > 1e-3, hits  # not over-covering


ORDERS = {
    "horizon": 86400, "seed": 2,
    "stations": {"A": {"process_time": {"dist": "uniform", "low": 50, "high": 70}},
                 "B": {"process_time": {"dist": "exponential", "mean": 40}}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
    "release": {"kind": "orders", "orders": [{"product": "p", "quantity": 10}]},
}


def test_due_date_risk_of_open_orders():
    sc = twin.parse_scenario(ORDERS)
    snap = {"time": "2026-11-30 06:00",
            "buffers": {"A": [{"product": "p", "count": 4, "order": "W-1", "due": "2026-11-30 06:10"}]},
            "orders": [{"name": "soon", "product": "p", "quantity": 30, "due": "2026-11-30 06:20"},
                       {"name": "later", "product": "p", "quantity": 30, "release": "2026-11-30 07:00", "due": "2026-11-30 12:00"},
                       {"name": "tight", "product": "p", "quantity": 30, "release": "2026-11-30 08:00", "due": "2026-11-30 08:31"}]}
    f = forecast(sc, snap, "10:00", replications=40)
    risk = {o.name: o for o in f.orders}
    assert risk["soon"].p_late == 1.0  # 30 parts at >= 50 s each cannot be done in 20 min
    assert risk["W-1"].p_late == 0.0  # 4 parts waiting at A: about 4 min of work, due in 10
    assert risk["later"].p_late == 0.0
    # 'tight': 30 parts released at 08:00 behind 'soon' and 'later' (done by then): the last part
    # needs about 30 x 60 s + its B time = ~30.7 min: due at 08:31 it is a coin toss
    assert 0.15 < risk["tight"].p_late < 0.85
    assert f.until == "2026-11-30 10:00"
    assert f.bottleneck == "A"
    assert f.output_interval[0] <= f.output_mean <= f.output_interval[1]


def test_until_forms():
    t = dt.datetime(2026, 11, 30, 14, 35)
    assert parse_until("22:00", t) == 7 * 3600 + 25 * 60
    assert parse_until("06:00", t) == 15 * 3600 + 25 * 60  # the next 06:00
    assert parse_until("+8 h", t) == 8 * 3600
    assert parse_until("2026-12-01 14:35", t) == 86400
    for bad in ("25:00", "+ -1 h", "2026-11-30 10:00", "soon"):
        with pytest.raises(ValueError):
            parse_until(bad, t)


def test_cli_forecast_and_shadow_mode(tmp_path):
    from typer.testing import CliRunner

    from twin.cli import _register_extensions, app

    _register_extensions()
    snap = tmp_path / "snap.yaml"
    snap.write_text("time: '2026-11-30 14:35'\nbuffers:\n  B_SAW: [{product: shaft_A, count: 3}]\n")
    out = tmp_path / "f.json"
    base = ["forecast", str(ROOT / "examples/shaft_line.yaml"), "--from", str(snap)]
    a = CliRunner().invoke(app, base + ["--until", "22:00", "--replications", "5", "--format", "json", "--every", "0.2 s",
                                        "--count", "2", "--out", str(out)])
    assert a.exit_code == 0, a.output
    lines = [json.loads(x) for x in a.output.splitlines()]
    assert len(lines) == 2 and lines[0] == lines[1]  # same snapshot, same seed: the same forecast
    assert json.loads(out.read_text())["until"] == "2026-11-30 22:00"
    b = CliRunner().invoke(app, base + ["--until", "yesterday"])
    assert b.exit_code == 2 and "--until" in b.output
    c = CliRunner().invoke(app, base[:2] + ["--until", "22:00", "--count", "3"])
    assert c.exit_code == 2 and "--from" in c.output
