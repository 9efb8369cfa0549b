"""The end of every routing: records each part's completion."""

from __future__ import annotations

from twin.registry import register
from twin.states import PartEvent

COMPLETE = int(PartEvent.COMPLETE)


class Sink:
    """Accepts every part and logs its completion."""

    name = "sink"

    def __init__(self, run):
        self.run = run
        self.completed = 0
        self._lx, self._lk = run.part_log.writer()
        self._clock = run.clock

    def put(self, part, producer=None) -> bool:
        self.completed += 1
        self._lx(self._lk(self._clock.now, part.id, COMPLETE, part.product, part.due))
        self.run.wip -= 1
        del self.run.live_parts[part.id]
        return True

    force_put = put

    def free(self) -> float:
        return float("inf")


register("sink", None, Sink, "sink")
