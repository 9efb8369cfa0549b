"""The 10-station benchmark line, as a twin scenario and as idiomatic hand-written SimPy.

10 stations in series, buffers of 5 between them, exponential process times (mean 1),
each station failing on calendar time (exponential TBF mean 500, TTR mean 20), saturated
source, run until ``n_parts`` parts have left the line (the twin runs to the horizon that the
baseline needed, so both simulate the same amount of work).
"""

from __future__ import annotations

import numpy as np
import simpy


def scenario(horizon: float, n: int = 10, buffer: int = 5, seed: int = 1) -> dict:
    names = [f"S{i + 1:02d}" for i in range(n)]
    return {
        "name": "bench line",
        "horizon": horizon,
        "seed": seed,
        "stations": {
            s: {
                "process_time": {"dist": "exponential", "mean": 1.0},
                "failures": [{"basis": "calendar", "tbf": {"dist": "exponential", "mean": 500},
                              "ttr": {"dist": "exponential", "mean": 20}}],
            }
            for s in names
        },
        "buffers": {f"B{i + 1:02d}": {"capacity": buffer, "between": [names[i], names[i + 1]]} for i in range(n - 1)},
        "products": {"part": {"routing": [{"station": s} for s in names]}},
    }


def baseline(n_parts: int, n: int = 10, buffer: int = 5, seed: int = 1) -> tuple[float, int]:
    """Idiomatic SimPy: one process per station, Store buffers, a failure process that
    interrupts the station while it works. Returns (sim time at the n-th exit, events processed)."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    stores = [simpy.Store(env, capacity=buffer) for _ in range(n - 1)]
    done = env.event()
    count = [0]

    class Station:
        def __init__(self, i):
            self.i = i
            self.working = False
            self.repaired = None
            self.proc = env.process(self.run())
            env.process(self.breaker())

        def run(self):
            i = self.i
            while True:
                if i > 0:
                    part = yield stores[i - 1].get()
                else:
                    part = object()
                if self.repaired is not None:
                    yield self.repaired
                left = rng.exponential(1.0)
                while left > 0:
                    self.working = True
                    start = env.now
                    try:
                        yield env.timeout(left)
                        left = 0.0
                    except simpy.Interrupt:
                        left -= env.now - start
                        self.working = False
                        yield self.repaired
                self.working = False
                if i < n - 1:
                    yield stores[i].put(part)
                else:
                    count[0] += 1
                    if count[0] == n_parts:
                        done.succeed()

        def breaker(self):
            while True:
                yield env.timeout(rng.exponential(500.0))
                self.repaired = env.event()
                if self.working:
                    self.proc.interrupt()
                yield env.timeout(rng.exponential(20.0))
                ev, self.repaired = self.repaired, None
                ev.succeed()

    for i in range(n):
        Station(i)
    env.run(until=done)
    return env.now, count[0]
