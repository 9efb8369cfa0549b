"""Shift calendar: weekly shift pattern, breaks, holidays, shutdowns and planned maintenance windows.

Simulation time 0 is the moment ``calendar.start`` names: a weekday and clock time
(``mon 06:00``, the default being Monday 00:00) or a date and time (``2026-11-30 06:00``). With
a date, ``holidays`` (whole days) and ``shutdowns`` (date ranges, both days included) close
the plant. The calendar yields, for a horizon, the merged intervals during which the plant is
off shift (outside its shifts, or closed), on a break, or (per station) in planned maintenance.
These feed the ISO 22400 time elements: POT = horizon minus off-shift time; PDOT = breaks +
planned maintenance inside shifts; PBT = POT - PDOT.

Stations that keep other hours (an unattended furnace, a three-shift bottleneck in a two-shift
plant) name a working-time pattern of the scenario's ``calendars`` (:class:`WorkingTime`):
its own shifts and breaks on the plant's clock, and the plant's holidays and shutdowns unless it
lists its own.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .units import Seconds

__all__ = ["Calendar", "WorkingTime", "Shift", "Break", "Shutdown", "MaintenanceWindow", "merge", "intersect", "complement"]

DAY = 86400.0
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def clock_seconds(text: str) -> float:
    m = _CLOCK.match(text)
    if not m:
        raise ValueError(f"expected a clock time HH:MM, got {text!r}")
    h, mi = int(m.group(1)), int(m.group(2))
    if h > 24 or mi > 59 or (h == 24 and mi):
        raise ValueError(f"clock time out of range: {text!r}")
    return h * 3600.0 + mi * 60.0


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)


class Shift(_M):
    name: str = "shift"
    days: list[Weekday] = Field(default_factory=lambda: WEEKDAYS[:5], min_length=1)
    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        clock_seconds(v)
        return v


class Break(_M):
    name: str = "break"
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))
    start: str
    duration: Seconds = Field(gt=0)

    @field_validator("start")
    @classmethod
    def _clock(cls, v: str) -> str:
        clock_seconds(v)
        return v


class MaintenanceWindow(_M):
    """Planned maintenance of some stations: first at ``at`` (sim time), then every ``every``."""

    stations: list[str] = Field(min_length=1)
    at: Seconds = Field(ge=0)
    duration: Seconds = Field(gt=0)
    every: Seconds | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _fits(self):
        if self.every is not None and self.every <= self.duration:
            raise ValueError("every must be longer than duration")
        return self


class Shutdown(_M):
    """The plant (or the stations on a working-time pattern) closed from ``from`` to ``to``, both days included."""

    from_: dt.date = Field(alias="from")
    to: dt.date

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    @model_validator(mode="after")
    def _order(self):
        if self.to < self.from_:
            raise ValueError(f"to ({self.to}) is before from ({self.from_})")
        return self


def _parse_start(v: str) -> tuple[float, dt.datetime | None]:
    """(seconds after Monday 00:00 of its week, the date-time or None) of a calendar start."""
    text = str(v).strip()
    parts = text.split()
    if len(parts) == 2 and parts[0].lower() in WEEKDAYS:
        return WEEKDAYS.index(parts[0].lower()) * DAY + clock_seconds(parts[1]), None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a weekday and time ('mon 06:00') or a date and time ('2026-11-30 06:00'), got {v!r}") from None
    if when.tzinfo is not None:
        raise ValueError(f"give the plant's local time without a time zone, got {v!r}")
    return when.weekday() * DAY + when.hour * 3600.0 + when.minute * 60.0 + when.second, when


class WorkingTime(_M):
    """A working-time pattern for stations that keep other hours than the plant (``calendars``).
    Empty ``shifts``: around the clock. ``holidays`` / ``shutdowns``: the plant's unless given."""

    shifts: list[Shift] = Field(default_factory=list, description="empty: around the clock")
    breaks: list[Break] = Field(default_factory=list)
    holidays: list[dt.date] | None = Field(default=None, description="whole days closed; default: the plant's")
    shutdowns: list[Shutdown] | None = Field(default=None, description="closed date ranges; default: the plant's")


class Calendar(_M):
    start: str = Field(default="mon 00:00", description="sim time 0: weekday and clock time ('mon 06:00') or date and time ('2026-11-30 06:00')")
    shifts: list[Shift] = Field(default_factory=list, description="empty: the plant runs around the clock")
    breaks: list[Break] = Field(default_factory=list)
    holidays: list[dt.date] = Field(default_factory=list, description="whole days the plant is closed (needs a dated start)")
    shutdowns: list[Shutdown] = Field(default_factory=list, description="closed date ranges, both days included (needs a dated start)")
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        _parse_start(v)
        return v

    @model_validator(mode="after")
    def _dated(self):
        if (self.holidays or self.shutdowns) and self.start_datetime() is None:
            raise ValueError("holidays and shutdowns need a dated start, e.g. start: '2026-11-30 06:00'")
        return self

    def offset(self) -> float:
        """Seconds from Monday 00:00 of the start's week to sim time 0."""
        return _parse_start(self.start)[0]

    def start_datetime(self) -> dt.datetime | None:
        """The date-time of sim time 0, when the start is dated."""
        return _parse_start(self.start)[1]

    def with_pattern(self, w: WorkingTime) -> "Calendar":
        """This calendar's clock (start) with the shifts and breaks of ``w``; closures are ``w``'s or these."""
        return Calendar.model_construct(
            start=self.start, shifts=list(w.shifts), breaks=list(w.breaks),
            holidays=list(self.holidays if w.holidays is None else w.holidays),
            shutdowns=list(self.shutdowns if w.shutdowns is None else w.shutdowns), maintenance=[])

    def closures(self, horizon: float | None = None) -> list[tuple[float, float]]:
        """Holidays and shutdowns as sim-time intervals (clipped to [0, horizon] when given)."""
        t0 = self.start_datetime()
        if t0 is None or not (self.holidays or self.shutdowns):
            return []
        out = []

        def at(day: dt.date) -> float:
            return (dt.datetime.combine(day, dt.time()) - t0).total_seconds()

        for d in self.holidays:
            out.append((at(d), at(d) + DAY))
        for sd in self.shutdowns:
            out.append((at(sd.from_), at(sd.to) + DAY))
        hi = math.inf if horizon is None else horizon
        return merge(out, 0.0, hi)

    def _weekly(self, horizon: float, items) -> list[tuple[float, float]]:
        off = self.offset()
        out = []
        n_days = int(math.ceil((horizon + off) / DAY)) + 1
        for k in range(-1, n_days):
            wd = WEEKDAYS[k % 7]
            for a, b, days in items:
                if wd in days:
                    out.append((k * DAY + a - off, k * DAY + b - off))
        return merge(out, 0.0, horizon)

    def on_shift(self, horizon: float) -> list[tuple[float, float]]:
        if not self.shifts:
            on = [(0.0, horizon)] if horizon > 0 else []
        else:
            items = []
            for s in self.shifts:
                a, b = clock_seconds(s.start), clock_seconds(s.end)
                if b <= a:
                    b += DAY
                items.append((a, b, s.days))
            on = self._weekly(horizon, items)
        closed = self.closures(horizon)
        if closed:
            on = intersect(on, complement(closed, 0.0, horizon))
        return on

    def off_shift(self, horizon: float) -> list[tuple[float, float]]:
        return complement(self.on_shift(horizon), 0.0, horizon)

    def breaks_in_shift(self, horizon: float) -> list[tuple[float, float]]:
        items = [(clock_seconds(b.start), clock_seconds(b.start) + b.duration, b.days) for b in self.breaks]
        return intersect(self._weekly(horizon, items), self.on_shift(horizon))

    def maintenance_for(self, station: str, horizon: float) -> list[tuple[float, float]]:
        out = []
        for w in self.maintenance:
            if station not in w.stations:
                continue
            t = w.at
            while t < horizon:
                out.append((t, t + w.duration))
                if w.every is None:
                    break
                t += w.every
        return merge(out, 0.0, horizon)


def merge(intervals, lo: float, hi: float) -> list[tuple[float, float]]:
    """Union of intervals clipped to [lo, hi], sorted, without empty pieces."""
    iv = sorted((max(a, lo), min(b, hi)) for a, b in intervals)
    out: list[tuple[float, float]] = []
    for a, b in iv:
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def complement(intervals, lo: float, hi: float) -> list[tuple[float, float]]:
    out, t = [], lo
    for a, b in merge(intervals, lo, hi):
        if a > t:
            out.append((t, a))
        t = max(t, b)
    if t < hi:
        out.append((t, hi))
    return out


def intersect(xs, ys) -> list[tuple[float, float]]:
    out, i, j = [], 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if b > a:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def total(intervals, lo: float, hi: float) -> float:
    return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in intervals)


#: a Monday: the date of sim time 0 for scenarios whose calendar names only a weekday (or has none)
REF_MONDAY = dt.datetime(2024, 1, 1)


def sim_epoch(calendar: "Calendar | None") -> dt.datetime:
    """The plant-local date-time of sim time 0 (naive): the calendar's dated start; else its
    weekday start ('mon 06:00') in the week of Monday 2024-01-01; without a calendar Monday
    2024-01-01 00:00. One clock for everything that shows sim time as a date (the servers'
    timestamps, snapshots, forecasts), so the weekday and time of day agree with the calendar."""
    if calendar is None:
        return REF_MONDAY
    when = calendar.start_datetime()
    if when is not None:
        return when.replace(tzinfo=None) if when.tzinfo is None else when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return REF_MONDAY + dt.timedelta(seconds=calendar.offset())
