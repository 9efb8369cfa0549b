"""Gates and expectations may name pool KPIs (crews, operators, robots)."""

import twin
from twin.experiments import check, parse_expectation, parse_gate


def test_pool_kpis_in_gates_and_checks():
    assert parse_gate("pools.fitters.mean_wait_s <= 5 min").key == "pools.fitters.mean_wait_s"
    sc = twin.parse_scenario({
        "name": "crew check", "horizon": "200 h", "crews": {"fitters": {"size": 1}},
        "stations": {"A": {"process_time": "1 h", "failures": [{"basis": "calendar", "tbf": {"dist": "exponential", "mean": "10 h"},
                                                              "ttr": {"dist": "constant", "value": "1 h"}, "crew": "fitters"}]}},
        "products": {"p": {"routing": [{"station": "A"}]}}})
    out = check(sc, [parse_expectation("pools.fitters.utilisation <= 0.2"), parse_expectation("pools.fitters.utilisation >= 0.02")], n=3)
    # one machine, no queue: utilisation = MTTR / (MTBF + MTTR) = 1 / 11
    assert out["pass"] and all(r["pass"] for r in out["results"]), out
