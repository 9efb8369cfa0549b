"""Run control, tags and stops as automation code sees them."""

import numpy as np
import pytest

import twin
from twin.states import Code

SC = {
    "horizon": 3600, "seed": 1,
    "stations": {"A": {"process_time": 30, "power": {"processing": "5 kW", "idle": "1 kW"}},
                 "B": {"process_time": 20, "capacity": 2}},
    "buffers": {"AB": {"capacity": 2, "between": ["A", "B"]}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


def test_step_reports_changed_tags():
    run = twin.Run(twin.parse_scenario(SC))
    t0 = run.tags()
    assert t0["A.execution"] == "ACTIVE" and t0["B.execution"] == "WAIT" and t0["A.power_W"] == 5000
    ch = run.step(31.0)
    assert ch["plant.sim_time"] == 31.0
    assert ch["A.part_count_all"] == 1 and ch["B.units_busy"] == 1
    assert "A.execution" not in ch  # A kept processing
    ch = run.step(0.0)
    assert ch == {}
    assert run.now == 31.0


def test_step_event_advances_to_next_event_time():
    run = twin.Run(twin.parse_scenario(SC))
    run.step_event()
    assert run.now == 30.0
    run.step_event()
    assert run.now == 50.0  # B finishes its first part


def test_hold_stop_and_resume_keeps_remaining_time():
    run = twin.Run(twin.parse_scenario(SC))
    run.run_until(10.0)
    a = run.stations["A"]
    a.set_stop(Code.HELD, +1)
    run.run_until(100.0)
    assert run.tags()["A.execution"] == "FEED_HOLD" and run.tags()["A.reason"] == "held"
    assert a.parts_all == 0
    a.set_stop(Code.HELD, -1)
    run.run_until(119.0)
    assert a.parts_all == 0
    run.run_until(120.01)
    assert a.parts_all == 1  # 10 s done before the hold, 20 s after it
    k = run.run().kpis["stations"]["A"]
    assert k["ADOT"] >= 90.0


def test_many_runs_in_one_process_are_independent():
    sc = twin.parse_scenario(SC)
    a, b = twin.Run(sc, seed=1), twin.Run(sc, seed=1)
    a.run_until(1000)
    b.run_until(500)
    a.run_until(3600)
    b.run_until(3600)
    assert a.result().event_log_hash() == b.result().event_log_hash()


def test_buffer_capacity_change_releases_blocked_producer():
    d = dict(SC, stations={"A": {"process_time": 1}, "B": {"process_time": 100}})
    run = twin.Run(twin.parse_scenario(d))
    run.run_until(50)
    assert run.tags()["A.reason"] == "blocked" and run.tags()["AB.level"] == 2
    run.buffers["AB"].set_capacity(5)
    run.run_until(60)
    assert run.tags()["AB.level"] == 5


def test_rules_with_hysteresis_and_delay_act_through_the_command_layer():
    d = dict(SC, stations={"A": {"process_time": 1}, "B": {"process_time": 2}},
             buffers={"AB": {"capacity": None, "between": ["A", "B"]}},
             rules=[{"name": "limit", "when": "AB.level >= 10", "then": {"command": "hold", "target": "A"},
                     "otherwise": {"command": "start", "target": "A"}, "hysteresis": 6, "delay": "3 s", "scan": "1 s"}])
    res = twin.simulate(twin.parse_scenario(d))
    cmds = [(t, src, target, c) for t, src, target, c, v, ok, msg in res.commands if ok]
    assert cmds[0][1:] == ("rule:limit", "A", "hold") and cmds[1][3] == "start"
    # the buffer fills at 0.5 parts/s: level 10 at ~20 s, held after the 3 s delay, released once level < 10 - 6
    assert 22 <= cmds[0][0] <= 25
    lv = res.levels
    assert lv["level"].max() <= 13
    assert len(cmds) > 20  # the rule keeps cycling the hold
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(dict(d, rules=[{"when": "A.level >= 1", "then": {"command": "fly"}}]))
    assert [p for p, _ in e.value.errors] == ["rules[0].then.command"]
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(dict(d, rules=[{"when": "Q.level >= 1", "then": {"command": "hold", "target": "Q"}}]))
    assert {p for p, _ in e.value.errors} == {"rules[0].when", "rules[0].then.target"}


@pytest.mark.parametrize("rule", ["fifo", "spt", "edd"])
def test_dispatch_rules_order_the_queue(rule):
    d = {"horizon": 2000, "seed": 1,
         "release": {"kind": "orders", "orders": [{"product": "long", "quantity": 3, "release": 0, "due": 900},
                                                   {"product": "short", "quantity": 3, "release": 1, "due": 300}]},
         "stations": {"M": {"dispatch": rule}},
         "products": {"long": {"routing": [{"station": "M", "process_time": 100}]}, "short": {"routing": [{"station": "M", "process_time": 10}]}}}
    res = twin.simulate(twin.parse_scenario(d))
    order = [res.products[res.part_product[p]] for p in res.ops["part"]]
    if rule == "fifo":
        assert order == ["long"] * 3 + ["short"] * 3
    else:  # both take the short (and earlier due) jobs as soon as they wait
        assert order == ["long"] + ["short"] * 3 + ["long"] * 2
    mean_flow = (res.parts["t_exit"] - res.parts["t_release"]).mean()
    if rule != "fifo":
        fifo = twin.simulate(twin.parse_scenario(dict(d, stations={"M": {}})))
        assert mean_flow < (fifo.parts["t_exit"] - fifo.parts["t_release"]).mean()


def test_dispatch_command_takes_the_named_part_next():
    from twin.commands import CommandError, apply_command

    d = {"horizon": 2000, "seed": 1, "release": {"kind": "orders", "orders": [{"product": "p", "quantity": 5}]},
         "stations": {"M": {"process_time": 10}}, "products": {"p": {"routing": [{"station": "M"}]}}}
    run = twin.Run(twin.parse_scenario(d))
    run.run_until(1)
    apply_command(run, {"command": "dispatch", "target": "M", "value": 4, "source": "mes"})
    with pytest.raises(CommandError):
        apply_command(run, {"command": "dispatch", "target": "M", "value": 0, "source": "mes"})  # in process, not waiting
    res = run.run()
    assert list(res.ops["part"]) == [0, 4, 1, 2, 3]


def test_signal_non_idealities_change_what_automation_sees():
    d = dict(SC, signals={"AB.level": {"delay": "100 s"}, "A.power_W": {"noise": 50.0}, "B.execution": {"stuck_at": "ACTIVE"},
                          "plant.wip": {"dropout": 1.0}})
    run = twin.Run(twin.parse_scenario(d))
    seen = []
    for _ in range(30):
        run.step(20.0)
        seen.append((run.now, run.tags()["AB.level"], run.observed_tags()))
    true_by_t = {t: lv for t, lv, _ in seen}
    for t, _, obs in seen:
        if t >= 120:
            assert obs["AB.level"] == true_by_t[t - 100]  # delayed by 100 s
        assert obs["B.execution"] == "ACTIVE" and obs["plant.wip"] is None
    powers = [obs["A.power_W"] for _, _, obs in seen]
    assert len(set(powers)) > 20 and abs(np.mean(powers) - 5000) < 50
    assert twin.Run(twin.parse_scenario(SC)).observed_tags() == twin.Run(twin.parse_scenario(SC)).tags()
    with pytest.raises(twin.ScenarioError):
        twin.parse_scenario(dict(SC, signals={"ZZ.level": {"delay": 1}}))


def test_route_command_sends_a_part_to_the_chosen_parallel_machine():
    from twin.commands import apply_command

    d = {"horizon": 500, "seed": 1, "release": {"kind": "orders", "orders": [{"product": "p", "quantity": 6}]},
         "stations": {"S": {"process_time": 10}, "M1": {"process_time": 30}, "M2": {"process_time": 30}},
         "buffers": {"B1": {"capacity": 10, "between": ["S", "M1"]}, "B2": {"capacity": 10, "between": ["S", "M2"]}},
         "products": {"p": {"routing": [{"station": "S"}, {"station": ["M1", "M2"]}]}}}
    base = twin.simulate(twin.parse_scenario(d))
    res_of = lambda r: {int(p): r.resources[int(x)][0] for p, x in zip(r.ops["part"], r.ops["resource"]) if r.resources[int(x)][0] != "S"}
    run = twin.Run(twin.parse_scenario(d))
    run.run_until(1)
    for pid in range(6):
        apply_command(run, {"command": "route", "target": "M2", "value": pid, "source": "mes"})
    routed = res_of(run.run())
    assert set(res_of(base).values()) == {"M1", "M2"}
    assert set(routed.values()) == {"M2"}


def test_simpy_internals_are_used_in_the_engine_module_only():
    """SimPy's private scheduler layout (``_queue``, ``_eid``, ``_now``) is relied on in
    twin/engine.py alone; every process kind uses the clock API (``now``, ``after``, ``at``, ``soon``)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pat = re.compile(r"\._queue\b|\._eid\b|\._now\b|import simpy|from simpy")
    offenders = []
    for folder in ("twin", "processes", "kernels", "viewer", "api"):
        for f in (root / folder).rglob("*.py"):
            if f.relative_to(root).as_posix() == "twin/engine.py":
                continue
            for n, line in enumerate(f.read_text().splitlines(), 1):
                if pat.search(line):
                    offenders.append(f"{f.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == []


def test_the_simpy_layout_the_clock_relies_on():
    """Pin of SimPy's scheduler internals used by twin.engine.Clock and _drive: a heap of
    (time, priority, id, event), an id counter, and ``_now`` written by SimPy's own step()."""
    import heapq
    import itertools

    import simpy

    from twin.engine import Clock, Wake, _drive

    assert simpy.__version__.split(".")[0] == "4"
    c = Clock()
    assert isinstance(c._queue, list) and isinstance(c._eid, itertools.count)
    seen = []
    c.after(2.0, lambda ev: seen.append(("a", c.now)))
    c.at(1.0, lambda ev: seen.append(("b", c.now)))
    t, prio, eid, ev = heapq.nsmallest(1, c._queue)[0]
    assert (t, prio) == (1.0, simpy.core.NORMAL) and isinstance(eid, int) and type(ev) is Wake
    simpy.Timeout(c, 1.5).callbacks.append(lambda ev: seen.append(("simpy", c.now)))  # SimPy's own events mix in
    c.step()  # SimPy's own loop writes _now; the clock reads it as now
    assert c.now == 1.0 and c._now == 1.0 and seen == [("b", 1.0)]
    _drive(c, 5.0)
    assert seen == [("b", 1.0), ("simpy", 1.5), ("a", 2.0)] and c.now == 5.0


def test_soon_runs_work_in_order_without_nesting():
    from twin.engine import Clock

    c = Clock()
    depth, order = [0], []

    def job(k):
        def run():
            depth[0] += 1
            order.append((k, depth[0]))
            if k < 5000:
                c.soon(job(k + 1))
            depth[0] -= 1
        return run

    c.soon(job(0))
    assert len(order) == 5001 and max(d for _, d in order) == 1


def test_run_until_with_a_deadline_stops_after_one_event_and_resumes_to_the_same_run():
    """A deadline already past: each call processes exactly one event and says it is not there
    yet; calling again until it is gives the event log of one uninterrupted run_until."""
    sc = twin.load("examples/shaft_line.yaml", horizon=10 * 3600.0, warmup=0.0)
    whole = twin.Run(sc)
    assert whole.run_until(8 * 3600.0) is True
    sliced = twin.Run(sc)
    calls, last = 0, sliced.clock.now
    while not sliced.run_until(8 * 3600.0, deadline=0.0):
        calls += 1
        assert sliced.clock.now >= last  # never past an event, never backwards
        last = sliced.clock.now
    assert calls > 100 and sliced.clock.now == whole.clock.now == 8 * 3600.0
    for log in ("state_log", "ops_log", "level_log", "part_log"):
        a, b = getattr(whole, log).numpy(), getattr(sliced, log).numpy()
        assert all(np.array_equal(a[k], b[k]) for k in a), log
