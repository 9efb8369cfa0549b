"""GET /v1/sessions/{id}/line: the line in routing order, station states, buffer fill, alarms with
durations and the trend of throughput over planned time (what the monitoring page draws)."""

import math

import httpx
import numpy as np
import pytest

import twin
from twin.api.routers.line import TREND_STEP_S, line_view
from twin.states import PartEvent

from conftest_helpers import bearer

H = 3600.0
DAY = 86400.0



def _example():
    from twin.api.routers.sessions import EXAMPLE

    return twin.load(EXAMPLE)


def test_stages_follow_the_routing_with_parallel_groups_side_by_side():
    run = twin.Run(_example())
    run.run_until(10 * H)
    v = line_view(run)
    assert [(s["kind"], s["names"]) for s in v["stages"]] == [
        ("stations", ["SAW"]), ("buffers", ["B_SAW"]), ("stations", ["L1", "L2"]), ("buffers", ["B_L1", "B_L2"]),
        ("buffers", ["rework:MILL"]), ("stations", ["MILL"]), ("buffers", ["B_MILL"]), ("stations", ["DEBURR"]),
        ("buffers", ["B_DEB"]), ("stations", ["HT"]), ("buffers", ["B_HT"]), ("stations", ["GRIND"]), ("buffers", ["B_GR"]),
        ("stations", ["CMM"]), ("buffers", ["B_CMM"]), ("stations", ["PACK"])]
    tags = run.tags()
    for b, now in v["buffers"].items():
        assert (now["level"], now["capacity"]) == (tags[f"{b}.level"], tags[f"{b}.capacity"])
    assert v["buffers"]["rework:MILL"]["capacity"] is None and v["buffers"]["B_SAW"]["capacity"] == 8
    assert v["stations"]["HT"]["units"] == 6
    assert v["in_warmup"] is False and v["warmup"] == 8 * H


def test_setup_is_told_from_processing():
    run = twin.Run(_example())
    run.run_until(8 * H)
    seen = set()
    while run.now < 14 * H and not {"setup", "processing"} <= seen:
        run.step_event()
        v = line_view(run)
        tags = run.tags()
        for name, st in v["stations"].items():
            mode = tags[f"{name}.operation_mode"]
            if tags[f"{name}.item_state"] == "Executing":
                assert st["state"] == {"Setup": "setup", "Processing": "processing"}[mode]
                seen.add(st["state"])
    assert seen == {"setup", "processing"}


def test_a_commanded_maintenance_is_an_open_alarm_then_closed_with_its_duration():
    run = twin.Run(_example())
    run.run_until(10 * H)
    from twin.commands import apply_command

    apply_command(run, {"command": "request_maintenance", "target": "MILL", "value": 1800, "source": "t"})
    run.run_until(10 * H + 600)
    open_ = [a for a in line_view(run)["alarms"] if a["end"] is None and a["station"] == "MILL"]
    assert len(open_) == 1 and open_[0]["kind"] == "maintenance" and open_[0]["name"] == "command"
    assert open_[0]["start"] == 10 * H and open_[0]["duration_s"] == pytest.approx(600)
    run.run_until(11 * H)
    closed = [a for a in line_view(run)["alarms"] if a["station"] == "MILL" and a["kind"] == "maintenance"]
    assert [(a["start"], a["end"], a["duration_s"]) for a in closed] == [(10 * H, 10 * H + 1800, 1800)]


def test_failures_carry_their_profile_name_and_last_their_repair_time_across_breaks():
    """No crews in this plant: a failure is down for exactly its drawn time to repair (the failure
    log's ttr), also when a break falls inside it (the state log then shows the break, and the
    failure again after it: one alarm), unless the repair ends while the line is stopped anyway."""
    run = twin.Run(_example())
    run.run_until(4 * DAY)
    fl = run.failure_log.numpy()
    failures = [a for a in line_view(run)["alarms"] if a["kind"] == "failure"]
    names = {n: [f.name for f in run.scenario.stations[n].failures] for n in run.scenario.stations}
    rids = {r: i for i, (r, _) in enumerate(run.resources)}
    stops_begin = {t for t, code, _, delta in run.calendar_events() if delta == +1}
    checked = across_break = 0
    for a in failures:
        hit = (fl["resource"] == rids[a["resource"]]) & (fl["t"] == a["start"])
        if not hit.any():
            continue  # (one that began under a break shows from the break's end, unnamed)
        ttr = float(fl["ttr"][hit][0])
        assert a["name"] == names[a["station"]][int(fl["profile"][hit][0])]
        if a["end"] is not None and a["end"] not in stops_begin:
            assert a["duration_s"] == pytest.approx(ttr)
            checked += 1
            across_break += any(a["start"] < t < a["end"] for t in stops_begin)
        else:
            assert a["duration_s"] <= ttr + 1e-6
    assert checked >= 10 and across_break >= 1


def test_trend_counts_throughput_over_planned_time_only():
    """Monday 08:00 (end of warm-up) to Tuesday 10:00; off shift 22:00-06:00. A point is the hour
    before it: the night windows hold no planned time (null, not 0 parts/h), the 06:15 window holds
    15 planned minutes, so its throughput is its good parts / 0.25 h."""
    run = twin.Run(_example())
    run.run_until(DAY + 10 * H)
    pts = {p["t"]: p for p in line_view(run)["trend"]}
    assert min(pts) == DAY + 2 * H and max(pts) == DAY + 10 * H and len(pts) == 8 * H / TREND_STEP_S + 1
    pe = run.part_log.numpy()
    done = pe["t"][pe["event"] == PartEvent.COMPLETE]

    def good(a, b):
        return int(((done >= a) & (done < b)).sum())

    for t in np.arange(DAY + 3 * H, DAY + 6 * H + 1, TREND_STEP_S):
        assert pts[t]["throughput_per_planned_hour"] is None and pts[t]["oee"] is None
    t = DAY + 6 * H + 900
    assert pts[t]["throughput_per_planned_hour"] == pytest.approx(good(t - H, t) / 0.25)
    t = DAY + 9 * H
    assert pts[t]["throughput_per_planned_hour"] == pytest.approx(good(t - H, t) / 1.0) and good(t - H, t) > 5
    # off shift nothing moves: the WIP of a night window is the parts in the line then
    rel = pe["t"][pe["event"] == PartEvent.RELEASE]
    out = pe["t"][pe["event"] != PartEvent.RELEASE]
    in_line = int((rel < DAY + 4 * H).sum() - (out < DAY + 4 * H).sum())
    assert pts[DAY + 4 * H]["wip_mean"] == pytest.approx(in_line)
    assert 0 < pts[DAY + 9 * H]["oee"] <= 1


def test_line_over_http_needs_a_reader_and_a_session(live):
    with live(tokens=["op=op-secret"]) as srv:
        assert httpx.get(srv.url + "/v1/sessions/nope/line").status_code == 401
        assert httpx.get(srv.url + "/v1/sessions/nope/line", headers=bearer("op-secret")).status_code == 404
        sid = httpx.post(srv.url + "/v1/sessions/demo", headers=bearer("op-secret"), timeout=60).json()["id"]
        v = httpx.get(f"{srv.url}/v1/sessions/{sid}/line", headers=bearer("op-secret"), timeout=60).json()
        assert v["in_warmup"] is True and v["trend"] == [] and v["sim_time"] == 6 * H
        assert [n for s in v["stages"] for n in s["names"]][:3] == ["SAW", "B_SAW", "L1"]
        assert httpx.get(f"{srv.url}/v1/sessions/{sid}/kpis", headers=bearer("op-secret")).status_code == 409
