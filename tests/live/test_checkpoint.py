"""Checkpoint and restore (twin.live.checkpoint): exact continuation, by replay verified against a
digest of the state."""

import json
from pathlib import Path

import pytest

import twin
from twin.commands import CommandError, apply_command
from twin.engine import Run
from twin.live.checkpoint import CheckpointError, checkpoint, restore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").rglob("*.yaml"))
DAY = 86400.0


@pytest.mark.parametrize("path", EXAMPLES)
def test_one_day_resumed_to_two_days_equals_a_two_day_run(path):
    sc = twin.load(ROOT / path)
    whole = Run(sc, horizon=2 * DAY).run()
    first = Run(sc, horizon=DAY)
    first.run()
    resumed = Run.restore(first.checkpoint(), horizon=2 * DAY)
    assert resumed.now == DAY
    r = resumed.run()
    assert r.event_log_hash() == whole.event_log_hash()
    assert r.kpis["line"]["parts_completed"] == whole.kpis["line"]["parts_completed"] > 0


SIG = {
    "horizon": 4 * 3600, "seed": 5,
    "stations": {"A": {"process_time": {"dist": "exponential", "mean": 30},
                       "failures": [{"basis": "operating", "availability": 0.9, "mttr": 300}]},
                 "B": {"process_time": {"dist": "uniform", "low": 20, "high": 40}, "capacity": 2},
                 "C": {"process_time": {"dist": "exponential", "mean": 25}}},
    "buffers": {"AB": {"capacity": 3, "between": ["A", "B"]}, "BC": {"capacity": 2, "between": ["B", "C"]}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}, {"station": "C"}]}},
    "rules": [{"name": "conwip", "when": "plant.wip >= 6", "then": {"command": "release_hold"},
               "otherwise": {"command": "release_resume"}, "scan": 7}],
    "signals": {"plant.wip": {"noise": 1.5, "delay": 20}},
}


def _session(run, upto: int, start: int = 0):
    """A lockstep client: event steps, time steps, noisy reads, commands (some refused) at the
    positions each leaves the clock in."""
    for k in range(start, upto):
        if k % 5 == 0:
            run.step_event()
            apply_command(run, {"command": "feed_override", "target": "B", "value": 0.5 + 0.1 * (k % 7)})
        elif k % 5 == 1:
            run.step(13.0)
            apply_command(run, {"command": "hold" if k % 2 else "start", "target": "C", "source": "op"})
        elif k % 5 == 2:
            run.observed_tags()
            with pytest.raises(CommandError):
                apply_command(run, {"command": "feed_override", "target": "B", "value": 9})
        elif k % 5 == 3:
            run.run_until(run.now + 41.0)
            apply_command(run, {"command": "buffer_limit", "target": "AB", "value": 1 + k % 3})
        else:
            run.step_event()
            run.step_event()
            run.observed_tag("plant.wip")


def test_lockstep_session_with_commands_noise_and_rules_resumes_exactly():
    sc = twin.parse_scenario(SIG)
    whole = Run(sc)
    _session(whole, 60)
    mid = whole.now
    _session(whole, 120, 60)
    whole.run_until(sc.horizon)

    first = Run(sc)
    _session(first, 60)
    data = first.checkpoint()
    assert first.now == mid
    again = Run.restore(data)
    assert again.now == mid and again.journal == first.journal
    _session(again, 120, 60)
    again.run_until(sc.horizon)
    assert again.result().event_log_hash() == whole.result().event_log_hash()
    assert again.command_log.rows == whole.command_log.rows
    assert any(r[1] == "rule:conwip" for r in whole.command_log.rows)  # the rule acted (replayed, not journalled)
    assert len([e for e in first.journal if e[0] == "observe"]) > 50


def test_ignoring_positions_is_caught_by_the_digest():
    """Commands after step_event() come after the events at their time: replaying them before
    those events is another run, and the digest says so."""
    sc = twin.parse_scenario(SIG)
    run = Run(sc)
    _session(run, 40)
    doc = json.loads(run.checkpoint())
    assert any(e[2] for e in doc["journal"])
    for e in doc["journal"]:
        e[2] = False
    with pytest.raises(CheckpointError, match="digest"):
        restore(doc)


def test_a_changed_scenario_or_a_tampered_file_is_refused():
    sc = twin.parse_scenario(SIG)
    run = Run(sc)
    _session(run, 20)
    doc = json.loads(checkpoint(run))
    other = json.loads(json.dumps(doc))
    other["scenario"]["stations"]["C"]["process_time"]["mean"] = 26.0
    with pytest.raises(CheckpointError, match="digest"):
        restore(other)
    bad = json.loads(json.dumps(doc))
    bad["scenario"]["stations"]["C"]["capacity"] = 0
    with pytest.raises(CheckpointError, match=r"(?s)scenario.*stations.C.capacity"):
        restore(bad)
    with pytest.raises(CheckpointError, match="format"):
        restore(b'{"format": "x"}')
    with pytest.raises(CheckpointError, match="JSON"):
        restore(b"\x00garbage")
    with pytest.raises(CheckpointError, match=r"journal\[0\]"):
        restore(dict(doc, journal=[["command", 1e12, False, {}, "x"]]))
    with pytest.raises(CheckpointError, match="horizon"):
        restore(doc, horizon=1.0)


def test_a_run_started_from_a_snapshot_checkpoints_and_resumes():
    from twin.live.snapshot import start_run

    sc = twin.load(ROOT / "examples/shaft_line.yaml")
    snap = {"time": "2026-11-30 14:35", "buffers": {"B_SAW": [{"product": "shaft_A", "count": 4}]},
            "stations": {"L1": {"state": "processing", "part": {"product": "shaft_B"}, "elapsed": 100},
                         "MILL": {"state": "down", "failure": "hydraulics", "elapsed": 600}}}
    whole = start_run(sc, snap, horizon=DAY).run()
    first = start_run(sc, snap, horizon=DAY)
    first.run_until(8 * 3600)
    apply_command(first, {"command": "feed_override", "target": "GRIND", "value": 1.2})
    again = Run.restore(first.checkpoint())
    assert again.now == 8 * 3600 and again.tags()["GRIND.feed_override"] == 1.2
    ref = start_run(sc, snap, horizon=DAY)
    ref.run_until(8 * 3600)
    apply_command(ref, {"command": "feed_override", "target": "GRIND", "value": 1.2})
    assert again.run().event_log_hash() == ref.run().event_log_hash() != whole.event_log_hash()


def test_a_command_value_that_is_not_json_is_refused_at_checkpoint():
    run = Run(twin.parse_scenario(SIG))
    with pytest.raises(CommandError):
        apply_command(run, {"command": "feed_override", "target": "B", "value": object()})
    with pytest.raises(CheckpointError, match="journal"):
        run.checkpoint()


def _cli(*args):
    from typer.testing import CliRunner

    from twin.cli import _register_extensions, app

    _register_extensions()
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_checkpoint_and_resume(tmp_path):
    ck = tmp_path / "ck.json"
    a = _cli("run", ROOT / "examples/bracket_line.yaml", "--horizon", "1 d", "--checkpoint", ck, "--format", "json")
    assert a.exit_code == 0, a.output
    b = _cli("run", "--resume", ck, "--horizon", "2 d", "--out", tmp_path / "res", "--format", "json")
    assert b.exit_code == 0, b.output
    whole = twin.simulate(twin.load(ROOT / "examples/bracket_line.yaml"), horizon=2 * DAY)
    meta = json.loads((tmp_path / "res" / "meta.json").read_text())
    assert meta["event_log_hash"] == whole.event_log_hash()
    c = _cli("run", "--resume", ck, "--seed", "3")
    assert c.exit_code == 2 and "--seed" in c.output
    ck.write_text("{}")
    d = _cli("run", "--resume", ck)
    assert d.exit_code == 2 and "format" in d.output and "Traceback" not in d.output
