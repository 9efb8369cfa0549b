"""Trial item 5: equipment that runs unattended finishes its cycle through breaks and shift ends;
stations keep their own working time; holidays and shutdowns close the plant; the calendar
starts on a date. (A furnace batch stopped for a 15-minute break and "resumed" after the night.)"""

import datetime as dt

import numpy as np
import pytest

import twin
from twin.calendar import total
from twin.states import Code

TWO_SHIFTS = {"start": "mon 06:00",
              "shifts": [{"name": "early", "start": "06:00", "end": "14:00"}, {"name": "late", "start": "14:00", "end": "22:00"}],
              "breaks": [{"start": "10:00", "duration": "15 min"}]}


def _furnace_line(**ht):
    return {"horizon": "2 d", "seed": 1, "calendar": TWO_SHIFTS,
            "stations": {"M": {"process_time": 60},
                         "HT": {"kind": "furnace", "set_temperature": "860 degC", "radius": "20 mm", "batch_size": 20,
                                "soak": "2 h", "max_wait": "4 h", **ht}},
            "products": {"p": {"routing": [{"station": "M"}, {"station": "HT"}]}}}


def _batches(res):
    ops = res.operations.to_pandas()
    return ops[ops["resource"] == "HT"].groupby("t_start")["t_end"].first()


def test_a_furnace_batch_runs_through_the_break_and_the_night():
    run = twin.Run(_furnace_line())
    res = run.run()
    cycle = run.stations["HT"].cycle
    b = _batches(res)
    assert len(b) >= 3
    # every batch takes exactly its cycle: neither the 10:00 break nor the 22:00 shift end stretch it
    assert np.allclose(b.to_numpy() - b.index.to_numpy(), cycle)
    # a batch started before 22:00 ended in the night, not the next morning
    assert any((e % 86400) > 16 * 3600 for s, e in b.items())
    # no batch starts off shift (the furnace runs unattended, but nobody loads it at night)
    on = twin.parse_scenario(_furnace_line()).calendar.on_shift(2 * 86400)
    assert all(any(a <= s < z for a, z in on) for s in b.index)


def test_pause_holds_the_batch_like_an_attended_machine():
    run = twin.Run(_furnace_line(shift_end="pause"))
    res = run.run()
    b = _batches(res)
    stretched = b.to_numpy() - b.index.to_numpy() - run.stations["HT"].cycle
    assert (stretched >= -1e-6).all() and stretched.max() > 3600  # a batch waited (at least) through a night
    k = res.kpis["stations"]["HT"]
    assert k["PDOT"] > 0


def test_work_through_a_break_is_production_time_not_planned_down_time():
    unattended = twin.simulate(_furnace_line()).kpis["stations"]["HT"]
    attended = twin.simulate(_furnace_line(shift_end="pause")).kpis["stations"]["HT"]
    assert unattended["APT"] > attended["APT"]
    assert unattended["availability"] <= 1.0 and unattended["APT"] <= unattended["PBT"]


def test_a_three_shift_bottleneck_in_a_two_shift_plant():
    d = {"horizon": "1 week", "seed": 2, "calendar": {k: v for k, v in TWO_SHIFTS.items() if k != "breaks"},
         "calendars": {"three_shift": {"shifts": [{"start": "06:00", "end": "14:00"}, {"start": "14:00", "end": "22:00"},
                                                  {"start": "22:00", "end": "06:00"}]}},
         "stations": {"A": {"process_time": 60}, "B": {"process_time": 120, "calendar": "three_shift"}},
         "buffers": {"AB": {"capacity": None, "between": ["A", "B"]}},
         "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}
    res = twin.simulate(d)
    k = res.kpis["stations"]
    sc = twin.parse_scenario(d)
    plant_on = total(sc.calendar.on_shift(sc.horizon), 0, sc.horizon)
    b_on = total(sc.calendar_of("B").on_shift(sc.horizon), 0, sc.horizon)
    assert k["A"]["POT"] == pytest.approx(plant_on) and k["B"]["POT"] == pytest.approx(b_on)
    assert b_on == pytest.approx(5 * 86400)  # mon 06:00 .. sat 06:00 (the night shift of friday ends saturday morning)
    # B works through the night on what A built up in the day
    ops = res.operations.to_pandas()
    b_night = ops[(ops["resource"] == "B") & ((ops["t_start"] % 86400) >= 22 * 3600)]
    assert len(b_night) > 100


def test_holidays_and_shutdowns_close_the_plant_on_a_dated_calendar():
    cal = {"start": "2026-12-21 06:00", "shifts": [{"start": "06:00", "end": "14:00"}],
           "holidays": ["2026-12-24", "2026-12-25"], "shutdowns": [{"from": "2026-12-28", "to": "2027-01-01"}]}
    d = {"horizon": "15 d", "calendar": cal, "stations": {"M": {"process_time": 60}},
         "products": {"p": {"routing": [{"station": "M"}]}}}
    res = twin.simulate(d)
    ops = res.operations.to_pandas()
    t0 = dt.datetime(2026, 12, 21, 6, 0)
    days = {(t0 + dt.timedelta(seconds=float(t))).date() for t in ops["t_start"]}
    worked = sorted(days)
    assert dt.date(2026, 12, 21) in days and dt.date(2026, 12, 23) in days and dt.date(2027, 1, 4) in days
    for closed in [dt.date(2026, 12, 24), dt.date(2026, 12, 25), *[dt.date(2026, 12, 28) + dt.timedelta(days=k) for k in range(5)]]:
        assert closed not in days, closed
    # 7 working days (21-23 Dec, 4 Jan) x 8 h at one part a minute
    assert res.kpis["stations"]["M"]["POT"] == pytest.approx(4 * 8 * 3600, rel=1e-9)
    assert len(worked) == 4


def test_holidays_need_a_dated_start():
    d = {"horizon": "1 d", "calendar": {"holidays": ["2026-12-24"]}, "stations": {"M": {"process_time": 60}},
         "products": {"p": {"routing": [{"station": "M"}]}}}
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    assert "dated start" in str(e.value)


def test_dated_start_sets_the_weekday():
    """2026-12-05 is a Saturday: a weekday-only plant starting then works its first part on Monday."""
    d = {"horizon": "3 d", "calendar": {"start": "2026-12-05 00:00", "shifts": [{"start": "06:00", "end": "14:00"}]},
         "stations": {"M": {"process_time": 60}}, "products": {"p": {"routing": [{"station": "M"}]}}}
    res = twin.simulate(d)
    assert res.ops["t_start"].min() == pytest.approx(2 * 86400 + 6 * 3600)


def test_station_calendar_must_exist_and_be_used():
    d = {"horizon": "1 d", "calendars": {"night": {"shifts": [{"start": "22:00", "end": "06:00"}]}},
         "stations": {"M": {"process_time": 60, "calendar": "nite"}}, "products": {"p": {"routing": [{"station": "M"}]}}}
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    paths = {p for p, _ in e.value.errors}
    assert paths == {"stations.M.calendar", "calendars.night"}
