"""Names become tag names, KPI keys, OPC UA browse names and page text: they are restricted at
load to a safe pattern, with a field-path error naming the offending name (no markup can reach a
page through a station name). Seeds are bounded so every store can keep them."""

import pytest

import twin

BASE = {"horizon": 60, "stations": {"A": {"process_time": 1}}, "products": {"p": {"routing": [{"station": "A"}]}}}


@pytest.mark.parametrize("section,name", [
    ("stations", "<img src=x onerror=alert(1)>"), ("stations", "L.1"), ("stations", "drill press"), ("stations", ""),
    ("stations", "plant"), ("stations", "x" * 65), ("products", "shaft<script>"), ("buffers", "B 1"),
    ("crews", "fit'ters"), ("operators", "op\u202eerator"), ("groups", "G/1"),
])
def test_unsafe_names_are_refused_with_their_path(section, name):
    d = {**BASE, section: {**BASE.get(section, {}), name: {"process_time": 1} if section == "stations" else
                           {"routing": [{"station": "A"}]} if section == "products" else
                           {"between": ["A", "sink"]} if section == "buffers" else
                           ["A"] if section == "groups" else {"size": 1}}}
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    assert (f"{section}.{name}", ) == tuple(p for p, m in e.value.errors if "name" in m)[:1]


@pytest.mark.parametrize("name", ["L1", "lathe_2", "MC-3", "_tmp", "7th", "Drehmaschine"])
def test_ordinary_names_load(name):
    d = {**BASE, "stations": {name: {"process_time": 1}}, "products": {"p": {"routing": [{"station": name}]}}}
    assert name in twin.parse_scenario(d).stations


@pytest.mark.parametrize("seed", [2 ** 63, 2 ** 70, -1])
def test_seed_out_of_range(seed):
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario({**BASE, "seed": seed})
    assert e.value.errors[0][0] == "seed"


def test_largest_seed_runs_deterministically():
    a = twin.simulate({**BASE, "seed": 2 ** 63 - 1})
    b = twin.simulate({**BASE, "seed": 2 ** 63 - 1})
    assert a.event_log_hash() == b.event_log_hash()


@pytest.mark.parametrize("field,value", [("horizon", float("nan")), ("horizon", float("inf")), ("warmup", float("nan"))])
def test_nan_and_inf_are_refused(field, value):
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario({**BASE, field: value})
    assert e.value.errors[0][0] == field


def test_nan_inside_a_distribution():
    d = {**BASE, "stations": {"A": {"process_time": {"dist": "exponential", "mean": float("nan")}}}}
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    assert e.value.errors[0][0] == "stations.A.process_time.mean"
