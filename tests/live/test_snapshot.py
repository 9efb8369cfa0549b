"""Starting from a plant snapshot (twin.live.snapshot)."""

import json
from pathlib import Path

import numpy as np
import pytest

import twin
from twin.live.residual import mean_residual
from twin.live.snapshot import SnapshotError, load_snapshot, parse_snapshot, snapshot_of, start_run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["examples/shaft_line.yaml", "examples/flex_cell.yaml", "examples/shaft_line_physics.yaml",
            "examples/bracket_line.yaml"]
WATCH = ("level", "execution", "reason", "units_busy", "queue", "tool_wear_max", "part_count_good", "operation_mode", "alarm")


@pytest.mark.parametrize("path", EXAMPLES)
def test_round_trip_reproduces_wip_and_states(path):
    sc = twin.load(ROOT / path)
    for T in (30 * 3600 + 1234.5, 52 * 3600 + 77.0):
        plant = twin.Run(sc, seed=3)
        plant.run_until(T)
        run = start_run(sc, snapshot_of(plant), horizon=8 * 3600)
        a, b = plant.tags(), run.tags()
        diff = {k: (a[k], b.get(k)) for k in a if k.rsplit(".", 1)[-1] in WATCH and a[k] != b.get(k)}
        assert diff == {}
        assert a["plant.wip"] == b["plant.wip"] > 0
        assert sorted((p.product, p.step) for p in plant.live_parts.values()) == \
            sorted((p.product, p.step) for p in run.live_parts.values())


ONE = {
    "horizon": 3600, "seed": 1,
    "stations": {"M": {"process_time": {"dist": "weibull", "shape": 3, "scale": 600},
                       "failures": [{"name": "motor", "basis": "operating", "tbf": {"dist": "exponential", "mean": 1e9},
                                     "ttr": {"dist": "lognormal", "mean": 600, "sd": 300}}]}},
    "products": {"p": {"routing": [{"station": "M"}]}},
}


def _first_completion(sc, snap, seeds):
    out = []
    for s in seeds:
        r = start_run(sc, snap, seed=s).run()
        out.append(r.part_events["t"][r.part_events["event"] == 1][0])
    return np.array(out)


def test_remaining_time_is_the_residual_life_not_a_fresh_draw():
    sc = twin.parse_scenario(ONE)
    d = sc.stations["M"].process_time
    snap = {"time": "2026-11-30 10:00", "stations": {"M": {"state": "processing", "part": {"product": "p"}, "elapsed": 500}}}
    t = _first_completion(sc, snap, range(300))
    m = mean_residual(d, 500)
    assert m < 0.5 * d.mean()  # a worn-in Weibull step has much less left than a new one
    assert abs(t.mean() - m) < 4 * t.std() / np.sqrt(len(t))
    down = {"time": "2026-11-30 10:00", "stations": {"M": {"state": "down", "failure": "motor", "since": "2026-11-30 09:45"}}}
    t = _first_completion(sc, down, range(300))  # repair left (residual of the lognormal at 900 s), then a part
    ttr = sc.stations["M"].failures[0].ttr
    expect = mean_residual(ttr, 900) + d.mean()
    assert abs(t.mean() - expect) < 4 * t.std() / np.sqrt(len(t))


def test_snapshot_moves_the_calendar_to_its_time():
    sc = twin.load(ROOT / "examples/shaft_line.yaml")
    # Saturday 10:00: the line is off shift until Monday 06:00
    run = start_run(sc, {"time": "2026-12-05 10:00"}, horizon=3 * 86400)
    r = run.run()
    first = r.part_events["t"][r.part_events["event"] == 0].min()
    assert first == pytest.approx(44 * 3600)  # Monday 06:00
    assert run.scenario.calendar.start == "2026-12-05 10:00:00"
    # the weekly grinder maintenance (scenario: Wednesday 06:00-08:00) keeps its place on the clock
    maint = run.scenario.calendar.maintenance_for("GRIND", 7 * 86400)
    assert maint[0] == pytest.approx((3 * 86400 + 20 * 3600, 3 * 86400 + 22 * 3600))  # Sat 10:00 -> Wed 06:00


BAD = [
    ({"time": "yesterday"}, "time"),
    ({"time": "2026-11-30 10:00", "stations": {"NOPE": {"state": "idle"}}}, "stations.NOPE"),
    ({"time": "2026-11-30 10:00", "stations": {"L1": {"state": "processing"}}}, "stations.L1"),
    ({"time": "2026-11-30 10:00", "stations": {"L1": {"state": "processing", "part": {"product": "x"}}}},
     "stations.L1.part.product"),
    ({"time": "2026-11-30 10:00", "stations": {"L1": {"state": "down", "failure": "gearbox"}}}, "stations.L1.failure"),
    ({"time": "2026-11-30 10:00", "stations": {"L1": {"tools": {"T": {"wear": 0.5}}}}}, "stations.L1.tools"),
    ({"time": "2026-11-30 10:00", "stations": {"HT": {"units": [{"state": "idle"}] * 7}}}, "stations.HT.units"),
    ({"time": "2026-11-30 10:00", "buffers": {"B_L1": [{"product": "shaft_A", "count": 5}]}}, "buffers.B_L1"),
    ({"time": "2026-11-30 10:00", "buffers": {"B_L1": [{"product": "shaft_A", "step": 5}]}}, "buffers.B_L1[0].step"),
    ({"time": "2026-11-30 10:00", "stations": {"PACK": {"state": "off"}}}, "stations.PACK.state"),
    ({"time": "2026-11-30 10:00", "stations": {"SAW": {"state": "idle", "elapsed": 5}}}, "stations.SAW"),
    ({"time": "2026-11-30 10:00", "orders": [{"product": "shaft_A", "quantity": 3}]}, "orders"),
    ({"time": "2026-11-30 10:00", "colour": "red"}, "colour"),
]


@pytest.mark.parametrize("snap,path", BAD, ids=[p for _, p in BAD])
def test_bad_snapshots_name_the_field(snap, path):
    sc = twin.load(ROOT / "examples/shaft_line.yaml")
    with pytest.raises(SnapshotError) as e:
        start_run(sc, parse_snapshot(snap) if "colour" not in snap and snap["time"] != "yesterday" else snap)
    assert any(p == path or p.startswith(path) for p, _ in e.value.errors), e.value.errors


def test_cli_run_from_snapshot(tmp_path):
    f = tmp_path / "snap.yaml"
    f.write_text("time: '2026-11-30 14:35'\nbuffers:\n  B_SAW: [{product: shaft_A, count: 6}]\n"
                 "stations:\n  GRIND: {state: down, since: '2026-11-30 14:20', failure: wheel}\n  PACK: {state: off, until: '2026-11-30 15:00'}\n")
    snap = load_snapshot(f)
    assert snap.stations["PACK"].state == "off"  # YAML's bare `off` is not the boolean false here
    from typer.testing import CliRunner

    from twin.cli import _register_extensions, app

    _register_extensions()
    cli = ["run", str(ROOT / "examples/shaft_line.yaml"), "--from", str(f), "--horizon", "8 h", "--format", "json"]
    a = CliRunner().invoke(app, cli)
    assert a.exit_code == 0, a.output
    assert json.loads(a.output)["line"]["parts_completed"] > 0
    f.write_text("time: '2026-11-30 14:35'\nstations:\n  GRIND: {state: down, failure: belt}\n")
    b = CliRunner().invoke(app, cli)
    assert b.exit_code == 2 and "stations.GRIND.failure" in b.output and "Traceback" not in b.output
