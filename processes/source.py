"""Release of parts into the line: saturated, random arrivals, an order list, lots, or lots
from a demand per period.

* ``saturated``: the first station of each routing always finds a part; the part is released
  (and its lead time starts) when the station takes it. The product is drawn by ``mix``.
* ``arrivals``: parts arrive after random inter-arrival times; an arrival that finds the first
  buffer full waits at the source (it counts as released and in WIP).
* ``orders``: each order releases ``quantity`` parts of its product at its release time, with
  its due date.
* ``lots``: each lot of the list releases its ``size`` parts together at its release time (never
  before the lot before it), in list order, with its due date.
* ``demand``: the lots a lot-sizing rule makes of each product's demand per period, released at
  the start of the period, due at its end (:class:`twin.scenario.DemandRelease`).

Released parts that find the first buffer full wait at the source in release order (they are
released: in WIP, their lead time runs). With lots, the source writes the result's ``lots``
table (lot, product, size, first part id, release time, due date; a lot's parts have
consecutive ids), from which the per-lot KPIs are computed.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from twin.distributions import make_sampler
from twin.registry import register


class Source:
    """Creates parts according to the scenario's ``release`` section."""

    def __init__(self, run, name: str, release, products: list[int]):
        self.run = run
        self.name = self.station_name = name
        self.release = release
        self.products = products
        self.kind = release.kind
        sc = run.scenario
        w = np.array([sc.products[run.products[p]].mix for p in products], dtype=float)
        self._cum = np.cumsum(w / w.sum()).tolist() if w.sum() > 0 else [1.0]
        self._mix_rng = run.streams.generator(name, "mix") if len(products) > 1 else None
        self._mix = make_sampler_uniform(self._mix_rng) if self._mix_rng is not None else None
        self.backlog: deque = deque()
        self.part = None  # the part held while blocked
        self.dest = None
        self.count = 0
        self.held = False
        self._waiting: list = []  # stations waiting for a saturated source held by a command

    # ---- saturated: acts as an always-full input buffer -------------------------------------
    def _product(self) -> int:
        if self._mix is None:
            return self.products[0]
        u = self._mix()
        for i, c in enumerate(self._cum):
            if u < c:
                return self.products[i]
        return self.products[-1]

    def get(self):
        if self.held:
            return None
        return self.run.new_part(self._product())

    def peek(self):
        return None if self.held else _SOURCE_HEAD

    def queued(self):
        """Parts waiting here for a station to take them: none (a saturated source makes them on
        demand; released orders and arrivals wait in the first buffer)."""
        return ()

    def wait(self, consumer) -> None:
        self._waiting.append(consumer)

    def unwait(self, consumer) -> None:
        if consumer in self._waiting:
            self._waiting.remove(consumer)

    def free(self) -> float:
        return 0.0

    def set_held(self, held: bool) -> None:
        """Stop / resume release (a command of the automation layer)."""
        self.held = held
        if not held:
            if self.kind == "saturated":
                waiting, self._waiting = self._waiting, []
                for c in waiting:
                    c.receive(self.get())
            else:
                self._push()

    # ---- arrivals and orders --------------------------------------------------------------------
    def start(self) -> None:
        if self.kind == "arrivals":
            self._ia = make_sampler(self.release.interarrival, self.run.streams.generator(self.name, "interarrival"))
            self.run.at(self._ia(), self._arrive)
        elif self.kind == "orders":
            for o in sorted(self.release.orders, key=lambda o: o.release):
                self.run.at(o.release, lambda ev, o=o: self._order(o))
        elif self.kind in ("lots", "demand"):
            self._plan_lots()

    def _plan_lots(self) -> None:
        """Schedule the lots (in sequence; release times never decrease) and write the lots table:
        parts get consecutive ids in release order (only the source makes parts), so lot k's
        first part is the sum of the sizes before it."""
        import pyarrow as pa

        lots = self.release.planned_lots(self.run.horizon)
        first, n = [], self.run.next_part_id
        for lot in lots:
            first.append(n)
            n += lot.size
        self.run.extra_tables["lots"] = pa.table({
            "lot": pa.array([x.name for x in lots], pa.string()), "product": pa.array([x.product for x in lots], pa.string()),
            "size": pa.array([x.size for x in lots], pa.int64()), "first_part": pa.array(first, pa.int64()),
            "t_release": pa.array([x.release for x in lots], pa.float64()), "due": pa.array([x.due for x in lots], pa.float64())})
        for lot, f in zip(lots, first):
            self.run.at(lot.release, lambda ev, lot=lot, f=f: self._lot(lot, f))

    def _lot(self, lot, first: int) -> None:
        p = self.run.product_index[lot.product]
        if self.run.next_part_id != first:  # the lots table would name the wrong parts
            raise RuntimeError(f"lot {lot.name}: first part {self.run.next_part_id}, planned {first}")
        for _ in range(lot.size):
            self.count += 1
            self.backlog.append(self.run.new_part(p, lot.due))
        self._push()

    def _arrive(self, ev) -> None:
        lim = self.release.limit
        if lim is not None and self.count >= lim:
            return
        self.count += 1
        self.backlog.append(self.run.new_part(self._product()))
        self._push()
        if lim is None or self.count < lim:
            self.run.at(self.run.clock.now + self._ia(), self._arrive)

    def _order(self, o) -> None:
        p = self.run.product_index[o.product]
        due = math.inf if o.due is None else o.due
        for _ in range(o.quantity):
            self.count += 1
            self.backlog.append(self.run.new_part(p, due))
        self._push()

    def _push(self) -> None:
        while self.part is None and self.backlog and not self.held:
            part = self.backlog.popleft()
            dest = self.run.destination(part, "source")
            if not dest.put(part, self):
                self.part = part
                self.dest = dest
                return

    def handed_over(self) -> None:
        """Called by the buffer that took the blocked part."""
        self.part = None
        self.dest = None
        self._push()

    def tags(self) -> dict:
        return {"backlog": len(self.backlog) + (self.part is not None), "released": self.count, "held": self.held}


_SOURCE_HEAD = type("_Head", (), {"t_enter": math.inf, "product": -1, "due": math.inf, "step": 0})()


def make_sampler_uniform(rng):
    def blocks():
        while True:
            yield from rng.random(512).tolist()

    return blocks().__next__


register("source", None, Source, "source")
