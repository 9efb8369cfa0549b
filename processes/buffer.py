"""Finite buffers between stations (blocking after service).

A buffer holds parts in FIFO order up to ``capacity`` (``null``: unbounded; ``0``: no buffer,
direct hand-over). A station that finishes a part and finds the buffer full keeps the part
and is *blocked* until a downstream station takes a part; a station that finds its input
empty is *starved* until a part arrives. Both wait in the buffer's waiting lists and are called
back; nothing polls.
"""

from __future__ import annotations

from collections import deque
from typing import Literal

from pydantic import Field, model_validator

from twin.registry import register
from twin.specs import BufferLayout, SpecModel

__all__ = ["BufferSpec", "Buffer", "TransitBuffer"]


class BufferSpec(SpecModel):
    """``kind: buffer``: a FIFO between stations.

    ``between: [SAW, LATHES]`` (or ``from:`` / ``to:``) names the upstream and downstream
    station or group; ``source`` and ``sink`` may stand at either end.
    """

    kind: Literal["buffer"] = "buffer"
    capacity: int | None = Field(default=None, ge=0, description="parts; null = unbounded, 0 = direct hand-over")
    between: tuple[str | list[str], str | list[str]] | None = None
    from_: str | list[str] | None = Field(default=None, alias="from")
    to: str | list[str] | None = None
    layout: BufferLayout | None = Field(default=None, description="floor position [m] where the viewer draws the queue")

    @model_validator(mode="after")
    def _ends(self):
        if self.between is None and (self.from_ is None or self.to is None):
            raise ValueError("give 'between: [upstream, downstream]' or both 'from' and 'to'")
        if self.between is not None and (self.from_ is not None or self.to is not None):
            raise ValueError("give either 'between' or 'from'/'to', not both")
        return self

    def cross_check(self, name: str, sc) -> list[tuple[str, str]]:
        return []

    def ends(self) -> tuple[list[str], list[str]]:
        a, b = self.between if self.between is not None else (self.from_, self.to)
        as_list = lambda x: [x] if isinstance(x, str) else list(x)
        return as_list(a), as_list(b)


class Buffer:
    """Runtime FIFO with waiting consumers (starved units) and blocked producers."""

    kind = "buffer"
    #: stations this buffer feeds (set at assembly for declared buffers)
    to_stations: frozenset = frozenset()

    def __init__(self, run, name: str, spec: BufferSpec | None):
        self.run = run
        self.name = name
        self.spec = spec
        cap = None if spec is None else spec.capacity
        self.capacity = float("inf") if cap is None else cap
        self.q: deque = deque()
        self.consumers: deque = deque()
        self.producers: deque = deque()
        self.bid = run.new_buffer_id(name)
        self.explicit = spec is not None
        self._lx, self._lk = run.level_log.writer()  # a level row: self._lx(self._lk(t, buffer, level))
        self._clock = run.clock
        self._lx(self._lk(0.0, self.bid, 0))

    def _level(self) -> None:
        self._lx(self._lk(self._clock.now, self.bid, len(self.q)))

    def free(self) -> float:
        return self.capacity - len(self.q)

    def put(self, part, producer) -> bool:
        """Offer a part. Hands it to a waiting consumer, queues it, or registers the producer as blocked."""
        if self.consumers:
            part.t_enter = self._clock.now
            self.consumers.popleft().receive(part)
            return True
        q = self.q
        if len(q) < self.capacity:
            part.t_enter = now = self._clock.now
            q.append(part)
            self._lx(self._lk(now, self.bid, len(q)))
            return True
        self.producers.append(producer)
        return False

    def force_put(self, part, producer=None) -> bool:
        """Queue regardless of capacity (rework returning to its station)."""
        if self.consumers:
            part.t_enter = self._clock.now
            self.consumers.popleft().receive(part)
            return True
        part.t_enter = self._clock.now
        self.q.append(part)
        self._level()
        return True

    def queued(self):
        """Parts waiting here (in order)."""
        return self.q

    def peek(self):
        if self.q:
            return self.q[0]
        if self.producers:
            return self.producers[0].part
        return None

    def get(self):
        """Take the head part, or None. Space freed lets the first blocked producer hand over."""
        q = self.q
        if q:
            part = q.popleft()
            if self.producers:
                prod = self.producers.popleft()
                p2 = prod.part
                p2.t_enter = self._clock.now
                q.append(p2)
                self._level()
                self._clock.soon(prod.handed_over)
            else:
                self._lx(self._lk(self._clock.now, self.bid, len(q)))
            return part
        if self.producers:  # capacity 0: direct hand-over from a blocked producer
            prod = self.producers.popleft()
            part = prod.part
            part.t_enter = self._clock.now
            self._clock.soon(prod.handed_over)
            return part
        return None

    def take(self, part):
        """Remove a given queued part (dispatching rules); space freed lets a blocked producer in."""
        self.q.remove(part)
        if self.producers:
            prod = self.producers.popleft()
            p2 = prod.part
            p2.t_enter = self._clock.now
            self.q.append(p2)
            self._level()
            self._clock.soon(prod.handed_over)
        else:
            self._level()
        return part

    def wait(self, consumer) -> None:
        self.consumers.append(consumer)

    def unwait(self, consumer) -> None:
        try:
            self.consumers.remove(consumer)
        except ValueError:
            pass

    def unblock_wait(self, producer) -> None:
        try:
            self.producers.remove(producer)
        except ValueError:
            pass

    def set_capacity(self, capacity: int | None) -> None:
        """Change the limit at run time (CONWIP); a larger limit lets blocked producers in."""
        self.capacity = float("inf") if capacity is None else capacity
        while self.producers and len(self.q) < self.capacity:
            prod = self.producers.popleft()
            part = prod.part
            part.t_enter = self._clock.now
            if self.consumers:
                self.consumers.popleft().receive(part)
            else:
                self.q.append(part)
                self._level()
            self._clock.soon(prod.handed_over)

    def tags(self) -> dict:
        cap = None if self.capacity == float("inf") else int(self.capacity)
        return {"level": len(self.q), "capacity": cap, "blocked_producers": len(self.producers)}

    def tag(self, key: str):
        return self.tags().get(key)


class TransitBuffer(Buffer):
    """A buffer whose parts travel before they can be taken (conveyor belt, AGV transport).

    ``capacity`` counts the parts in transit and those waiting at the end; a producer finding it
    full is blocked until a part is taken at the end. Subclasses start the travel in
    :meth:`_dispatch` and call :meth:`_arrived` when a part reaches the end."""

    def _in_transit(self) -> int:
        raise NotImplementedError

    def _dispatch(self, part, producer) -> None:
        raise NotImplementedError

    def _n(self) -> int:
        return self._in_transit() + len(self.q)

    def free(self) -> float:
        return self.capacity - self._n()

    def _level(self) -> None:
        self._lx(self._lk(self._clock.now, self.bid, self._n()))

    def put(self, part, producer) -> bool:
        if self._n() >= self.capacity:
            self.producers.append(producer)
            return False
        self._dispatch(part, producer)
        return True

    def force_put(self, part, producer=None) -> bool:
        self._dispatch(part, producer)
        return True

    def _arrived(self, part) -> None:
        part.t_enter = self._clock.now
        if self.consumers:
            self.consumers.popleft().receive(part)
            self._level()
            self._admit()
        else:
            self.q.append(part)
            self._level()

    def _admit(self) -> None:
        while self.producers and self._n() < self.capacity:
            prod = self.producers.popleft()
            self._dispatch(prod.part, prod)
            self._clock.soon(prod.handed_over)

    def get(self):
        if not self.q:
            return None
        part = self.q.popleft()
        self._level()
        self._admit()
        return part

    def take(self, part):
        self.q.remove(part)
        self._level()
        self._admit()
        return part

    def peek(self):
        return self.q[0] if self.q else None

    def set_capacity(self, capacity: int | None) -> None:
        self.capacity = float("inf") if capacity is None else capacity
        self._admit()


register("buffer", BufferSpec, Buffer, "buffer")
