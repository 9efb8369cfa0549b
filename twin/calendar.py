"""Shift calendar: weekly shift pattern, breaks and planned maintenance windows.

Simulation time 0 is the weekday and clock time given by ``calendar.start`` (default
Monday 00:00). The calendar yields, for a horizon, the merged intervals during which the plant
is off shift, on a break, or (per station) in planned maintenance. These feed the ISO 22400
time elements: POT = horizon minus off-shift time; PDOT = breaks + planned maintenance inside
shifts; PBT = POT - PDOT.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .units import Seconds

__all__ = ["Calendar", "Shift", "Break", "MaintenanceWindow", "merge", "intersect", "complement"]

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
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


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


class Calendar(_M):
    start: str = Field(default="mon 00:00", description="weekday and clock time at sim time 0")
    shifts: list[Shift] = Field(default_factory=list, description="empty: the plant runs around the clock")
    breaks: list[Break] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        parts = v.split()
        if len(parts) != 2 or parts[0].lower() not in WEEKDAYS:
            raise ValueError(f"expected e.g. 'mon 06:00', got {v!r}")
        clock_seconds(parts[1])
        return v

    def offset(self) -> float:
        day, clock = self.start.split()
        return WEEKDAYS.index(day.lower()) * DAY + clock_seconds(clock)

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
            return [(0.0, horizon)] if horizon > 0 else []
        items = []
        for s in self.shifts:
            a, b = clock_seconds(s.start), clock_seconds(s.end)
            if b <= a:
                b += DAY
            items.append((a, b, s.days))
        return self._weekly(horizon, items)

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
