"""Trial item 3 and the command checks: rule commands are typed at load (a field the command
does not take is a scenario error, not a TypeError in the middle of a run); commands aimed at a
station that cannot honour them, and values that cannot be meant, are refused with a message
naming the field, and logged as rejected."""

import math

import pytest

import twin
from twin.commands import COMMANDS, CommandError, apply_command

LINE = {"horizon": "2 h", "seed": 1,
        "crews": {"fitters": {"size": 1}},
        "stations": {"S": {"process_time": 10}, "M1": {"process_time": 30}, "M2": {"process_time": 30},
                     "F": {"kind": "furnace", "set_temperature": "860 degC", "radius": "20 mm", "batch_size": 4}},
        "buffers": {"B1": {"capacity": 10, "between": ["S", "M1"]}, "B2": {"capacity": 10, "between": ["S", "M2"]}},
        "products": {"p": {"routing": [{"station": "S"}, {"station": ["M1", "M2"]}, {"station": "F"}]}}}


def _rule_error(then):
    sc = dict(LINE, rules=[{"when": "plant.wip >= 3", "then": then}])
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(sc)
    return e.value.errors


def test_rule_command_with_a_field_it_does_not_take_is_a_scenario_error():
    errs = _rule_error({"command": "hold", "target": "M1", "duration": 10})
    assert errs == [("rules[0].then.duration", "unknown field (check the spelling; `twin schema` lists the fields)")]


def test_rule_feed_override_out_of_range_or_on_a_furnace():
    assert _rule_error({"command": "feed_override", "target": "M1", "value": 5})[0][0] == "rules[0].then.value"
    errs = _rule_error({"command": "feed_override", "target": "F", "value": 1.2})
    assert errs[0][0] == "rules[0].then.command" and "does not take feed_override" in errs[0][1]


def test_rule_target_of_the_wrong_sort():
    errs = _rule_error({"command": "buffer_limit", "target": "M1", "value": 3})
    assert errs[0][0] == "rules[0].then.target" and "not a buffer" in errs[0][1]


def test_a_valid_rule_runs_through_the_command_layer():
    sc = dict(LINE, rules=[{"name": "maint", "when": "plant.parts_completed >= 1",
                            "then": {"command": "request_maintenance", "target": "M1", "value": {"duration": "10 min", "crew": "fitters"}}}])
    res = twin.simulate(twin.parse_scenario(sc))
    ok = [c for c in res.commands if c[5]]
    assert ok and ok[0][1] == "rule:maint" and ok[0][3] == "request_maintenance"


@pytest.fixture
def run():
    r = twin.Run(twin.parse_scenario(LINE))
    r.run_until(100.0)
    return r


@pytest.mark.parametrize("value,field", [
    (math.nan, "value"), (math.inf, "value"), (1e308, "value"), (-5, "value"), (0, "value"),
    ({"duration": 60, "crew": [1]}, "value.crew"), ({"duration": math.nan}, "value.duration"),
    ({"duration": 60, "crew": "nobody"}, "value.crew"), ({"plan": 3}, "value.plan"), ("forever", "value"),
])
def test_request_maintenance_values_that_cannot_be_meant(run, value, field):
    with pytest.raises(CommandError) as e:
        apply_command(run, {"command": "request_maintenance", "target": "M1", "value": value, "source": "mes"})
    assert field in str(e.value)
    assert run.command_log.rows[-1][5] is False  # logged as rejected


def test_feed_override_on_a_furnace_is_refused_not_ignored(run):
    with pytest.raises(CommandError, match="does not take feed_override"):
        apply_command(run, {"command": "feed_override", "target": "F", "value": 1.5, "source": "mes"})


@pytest.mark.parametrize("value", [math.nan, math.inf, "fast", True, 0.05, 3])
def test_feed_override_values(run, value):
    with pytest.raises(CommandError, match="value"):
        apply_command(run, {"command": "feed_override", "target": "M1", "value": value, "source": "mes"})


def test_hold_takes_no_value(run):
    with pytest.raises(CommandError, match="value: not a field of this command"):
        apply_command(run, {"command": "hold", "target": "M1", "value": 10, "source": "mes"})


def test_route_only_parts_in_the_line_and_only_where_there_is_a_choice(run):
    live = sorted(run.live_parts)
    # a part waiting for S: its next step offers M1 or M2
    waiting = [p for p in live if run.live_parts[p].step == 0]
    apply_command(run, {"command": "route", "target": "M2", "value": waiting[-1], "source": "mes"})
    with pytest.raises(CommandError, match="offers M1, M2"):
        apply_command(run, {"command": "route", "target": "F", "value": waiting[-1], "source": "mes"})
    with pytest.raises(CommandError, match="not in the line"):
        apply_command(run, {"command": "route", "target": "M1", "value": 10_000, "source": "mes"})
    run.run_until(3000.0)
    later = [p for p in run.live_parts.values() if p.step >= 1]
    assert later
    with pytest.raises(CommandError, match="no choice"):
        apply_command(run, {"command": "route", "target": "M1", "value": later[0].id, "source": "other"})
    run.run_until(7000.0)
    finished = next(p for p in range(run.next_part_id) if p not in run.live_parts)
    with pytest.raises(CommandError, match="not in the line"):
        apply_command(run, {"command": "route", "target": "M1", "value": finished, "source": "mes"})


def test_route_and_maintenance_take_ownership(run):
    waiting = [p for p, part in run.live_parts.items() if part.step == 0]
    apply_command(run, {"command": "route", "target": "M2", "value": waiting[0], "source": "mes"})
    with pytest.raises(CommandError, match="one writer per target"):
        apply_command(run, {"command": "request_maintenance", "target": "M2", "value": 60, "source": "plc"})
    apply_command(run, {"command": "release", "target": "M2", "source": "mes"})
    apply_command(run, {"command": "request_maintenance", "target": "M2", "value": 60, "source": "plc"})


def test_every_command_is_registered_with_a_model_and_doc():
    for name, d in COMMANDS.items():
        assert d.model.model_fields["command"] and d.doc and d.target in ("station", "buffer", "release", "any")
