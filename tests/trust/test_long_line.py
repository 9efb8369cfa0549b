"""Trial item 4: hand-over between stations without recursion. A part leaving the last station
of a full, blocked line frees every station upstream; that used to ripple up the line as nested
calls, and a serial line of ~250 stations died with RecursionError."""

import pytest

import twin


def _line(n, horizon, cap=0, last=2.0):
    names = [f"M{i}" for i in range(n)]
    return {"horizon": horizon, "seed": 1,
            "stations": {s: {"process_time": last if i == n - 1 else 0.001} for i, s in enumerate(names)},
            "buffers": {f"B{i}": {"capacity": cap, "between": [names[i], names[i + 1]]} for i in range(n - 1)},
            "products": {"p": {"routing": [{"station": s} for s in names]}}}


def test_a_full_blocked_line_of_800_stations_runs():
    """The line fills behind its slow last station (every station blocked), then each part the
    last one takes frees all 799 stations upstream at once (250 used to raise RecursionError)."""
    n = 800
    res = twin.simulate(_line(n, horizon=n * 0.001 * 2 + 20.0))
    k = res.kpis
    assert k["line"]["parts_completed"] >= 9
    # every station but the last was blocked most of the time
    assert k["stations"]["M0"]["blocked_share"] > 0.8
    # conservation: every released part is done or still in the line
    line = k["line"]
    assert line["parts_released"] == line["parts_completed_total"] + line["wip_end"]
    assert line["wip_end"] == n  # one part per station, the line is full


def test_ten_thousand_station_line_assembles_and_runs():
    d = _line(10_000, horizon=2.5, cap=1)
    for s in d["stations"].values():
        s["process_time"] = 1.0
    res = twin.simulate(d)
    assert len(res.resources) == 10_000 and res.kpis["line"]["parts_released"] > 0


def test_throughput_of_a_long_blocked_line_is_that_of_its_slowest_station():
    """The iterative hand-over keeps the physics (and stays deterministic): a full line paced by
    its 2 s last station delivers one part per 2 s after it filled."""
    a = twin.simulate(_line(300, horizon=200.0))
    b = twin.simulate(_line(300, horizon=200.0))
    assert a.event_log_hash() == b.event_log_hash()
    assert a.kpis["line"]["parts_completed"] == pytest.approx((200.0 - 300 * 0.001) / 2.0, abs=1)
