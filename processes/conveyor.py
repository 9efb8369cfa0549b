"""Accumulating conveyor: a buffer whose parts take ``length / speed`` to travel and queue up
at its end.

Capacity = floor(length / pitch) parts (on the belt plus accumulated). A part put on the belt
arrives after the transit time, but never sooner than ``pitch / speed`` after the part ahead of
it (accumulation); an arriving part goes straight to a waiting station, else it waits at the
end. One scheduled event per arrival. ``length`` may be omitted when both ends have layout
coordinates: it is then the straight distance between the upstream and downstream stations.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from pydantic import Field, field_validator

from twin.registry import register
from twin.units import Meters, MetersPerSecond

from .buffer import BufferSpec, TransitBuffer


class ConveyorSpec(BufferSpec):
    kind: Literal["conveyor"] = "conveyor"  # type: ignore[assignment]
    length: Meters | None = Field(default=None, gt=0, description="belt length; default: distance between the two stations' layouts")
    speed: MetersPerSecond = Field(gt=0)
    pitch: Meters = Field(default=0.5, gt=0, description="space one part takes on the belt")

    @field_validator("capacity")
    @classmethod
    def _cap(cls, v):
        if v is not None:
            raise ValueError("a conveyor's capacity follows from length / pitch; do not give capacity")
        return v

    def cross_check(self, name, sc):
        return []


def _distance(sc, spec) -> float | None:
    a, b = spec.ends()
    pos = []
    for names in (a, b):
        n = names[0]
        n = sc.groups.get(n, [n])[0]
        st = sc.stations.get(n)
        if st is None or st.layout is None:
            return None
        pos.append((st.layout.x, st.layout.y))
    return math.dist(*pos)


class Conveyor(TransitBuffer):
    """Accumulating belt conveyor with transit time."""

    kind = "conveyor"

    def __init__(self, run, name, spec: ConveyorSpec):
        super().__init__(run, name, spec)
        length = spec.length if spec.length is not None else _distance(run.scenario, spec)
        if length is None:
            raise ValueError(f"conveyor {name!r}: give length, or layouts on both end stations")
        self.length = length
        self.transit = length / spec.speed
        self.gap = spec.pitch / spec.speed
        self.capacity = max(1, int(length // spec.pitch))
        self.on_belt = 0
        self._last_arrival = -math.inf
        self.transits: list[tuple[int, float, float]] = []  # (part, put, arrival) for inspection

    def _in_transit(self) -> int:
        return self.on_belt

    def _dispatch(self, part, producer) -> None:
        now = self._clock.now
        arrive = max(now + self.transit, self._last_arrival + self.gap)
        self._last_arrival = arrive
        self.on_belt += 1
        self._level()
        self.transits.append((part.id, now, arrive))
        self._clock.after(arrive - now, lambda ev, part=part: self._arrive(part))

    def _arrive(self, part) -> None:
        self.on_belt -= 1
        self._arrived(part)

    def tags(self) -> dict:
        return {"level": self.on_belt + len(self.q), "on_belt": self.on_belt, "accumulated": len(self.q), "capacity": self.capacity}


register("conveyor", ConveyorSpec, Conveyor, "buffer")
