"""The end of every routing: records each part's completion."""

from __future__ import annotations

from twin.registry import register
from twin.states import PartEvent


class Sink:
    """Accepts every part and logs its completion."""

    name = "sink"

    def __init__(self, run):
        self.run = run
        self.completed = 0
        pl = run.part_log
        self._t, self._p, self._e, self._pr, self._d = pl.t.append, pl.part.append, pl.event.append, pl.product.append, pl.due.append
        self._clock = run.clock

    def put(self, part, producer=None) -> bool:
        self.completed += 1
        self._t(self._clock.now)
        self._p(part.id)
        self._e(PartEvent.COMPLETE)
        self._pr(part.product)
        self._d(part.due)
        self.run.wip -= 1
        del self.run.live_parts[part.id]
        return True

    force_put = put

    def free(self) -> float:
        return float("inf")


register("sink", None, Sink, "sink")
