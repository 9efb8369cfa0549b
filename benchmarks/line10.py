"""The 10-station benchmark line: as a twin scenario, as idiomatic SimPy and as lean SimPy.

10 stations in series, buffers of 5 between them, exponential process times (mean 1 s), each
station failing on calendar time (exponential TBF mean 500 s, TTR mean 20 s), saturated
release at the first station, a sink after the last. All three models run to a fixed horizon;
:func:`horizon_for` gives the horizon in which the line completes a given number of parts on
average.

The two hand-written SimPy models follow the twin's semantics (``processes/machine.py``,
``processes/buffer.py``, ``processes/source.py``) exactly:

* the first station always finds a part (saturated release); the last hands to a sink that
  never blocks;
* blocking after service: a station that finishes a part and finds the buffer full keeps the
  part and waits until the downstream station takes one;
* calendar-basis failures hit a station whatever it does. A part in process keeps its
  remaining time and resumes after the repair. A starved station takes no part while down; a
  blocked station hands nothing over while down (it retries after the repair). The next time
  between failures is drawn at the end of the repair and counts from there;
* every random quantity has its own stream per (station, purpose): process time, TBF, TTR.

The models record, per station, processing, blocked, starved and down time (the twin's
``utilization``, ``blocked_share``, ``starved_share`` and ``down_share``) and the number of
failures, and report them with the parts completed and the throughput: the KPIs a user of
such a model reads. With ``draws=twin_draws(seed)`` they draw the twin's own random streams and
then reproduce its parts completed and state shares (checked in ``test_bench_engine.py``); with
the default ``stdlib_draws`` each stream is a ``random.Random`` (what an idiomatic model uses).
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from functools import partial

import simpy

PT_MEAN, TBF_MEAN, TTR_MEAN = 1.0, 500.0, 20.0
#: replication study (``python benchmarks/line10.py``: 40 replications of 339,000 s of the lean
#: model, seeds 100-139): mean throughput 0.58950 parts/s (95 % half-width 0.00074), sd of the
#: parts completed 807 (95 % confidence interval 661-1036, chi-square with 39 df)
THROUGHPUT = 0.5895
THROUGHPUT_HALF_WIDTH_95 = 0.00074
BUSY, BLOCKED, STARVED, DOWN = range(4)


def names(n: int = 10) -> list[str]:
    return [f"S{i + 1:02d}" for i in range(n)]


def horizon_for(n_parts: int) -> float:
    """Horizon [s] in which the 10-station line completes ``n_parts`` parts on average."""
    return round(n_parts / THROUGHPUT, -3)


def scenario(horizon: float, n: int = 10, buffer: int = 5, seed: int = 1) -> dict:
    st = names(n)
    return {
        "name": "bench line",
        "horizon": horizon,
        "seed": seed,
        "stations": {
            s: {
                "process_time": {"dist": "exponential", "mean": PT_MEAN},
                "failures": [{"basis": "calendar", "tbf": {"dist": "exponential", "mean": TBF_MEAN},
                              "ttr": {"dist": "exponential", "mean": TTR_MEAN}}],
            }
            for s in st
        },
        "buffers": {f"B{i + 1:02d}": {"capacity": buffer, "between": [st[i], st[i + 1]]} for i in range(n - 1)},
        "products": {"part": {"routing": [{"station": s} for s in st]}},
    }


# ---- random streams ------------------------------------------------------------------------------
def stdlib_draws(seed: int):
    """Samplers from the standard library: one ``random.Random`` per (station, purpose)."""

    def make(station: str, step: int, purpose: str, mean: float):
        return partial(random.Random(f"{seed}:{station}:{purpose}").expovariate, 1.0 / mean)

    return make


def twin_draws(seed: int):
    """Samplers drawing the twin's own streams (same seeds, same order of values): a model
    using them must reproduce the twin's run if its semantics are the twin's."""
    from twin.streams import RandomStreams

    streams = RandomStreams(seed, 0)

    def make(station: str, step: int, purpose: str, mean: float):
        key = {"process": f"process:part:{step}", "tbf": "failure:failure:tbf", "ttr": "failure:failure:ttr"}[purpose]
        rng = streams.generator(station, key)
        return itertools.chain.from_iterable(iter(lambda: rng.exponential(mean, 512).tolist(), None)).__next__

    return make


def _kpis(stations, horizon: float) -> dict:
    out = {}
    for s in stations:
        s.time[s.doing] += horizon - s.since  # close the state open at the horizon
        out[s.name] = {"utilization": s.time[BUSY] / horizon, "blocked_share": s.time[BLOCKED] / horizon,
                       "starved_share": s.time[STARVED] / horizon, "down_share": s.time[DOWN] / horizon,
                       "failures": s.failures}
    done = stations[-1].done
    return {"parts_completed": done, "throughput_per_hour": done / horizon * 3600.0, "stations": out}


# ---- idiomatic SimPy: a process per station and per failure mode, Store buffers, interrupts ----
class _Station:
    def __init__(self, env, name, step, inbox, outbox, draws, ids):
        self.env, self.name, self.inbox, self.outbox, self.ids = env, name, inbox, outbox, ids
        self.pt = draws(name, step, "process", PT_MEAN)
        self.tbf = draws(name, step, "tbf", TBF_MEAN)
        self.ttr = draws(name, step, "ttr", TTR_MEAN)
        self.time = [0.0, 0.0, 0.0, 0.0]  # busy, blocked, starved, down [s]
        self.doing, self.since = STARVED, 0.0  # the state in progress and since when
        self.done = self.failures = 0
        self.repaired = None
        self.proc = env.process(self.work())
        env.process(self.breakdowns())

    def _enter(self, state):
        now = self.env.now
        self.time[self.doing] += now - self.since
        self.doing, self.since = state, now

    def _down(self):
        """Interrupted by a failure: wait for the repair."""
        self._enter(DOWN)
        yield self.repaired

    def work(self):
        env, inbox, outbox = self.env, self.inbox, self.outbox
        while True:
            # take a part: the first station always finds one (saturated release)
            if inbox is None:
                part = next(self.ids)
            else:
                part = None
                while part is None:
                    get = inbox.get()
                    if not get.triggered:
                        self._enter(STARVED)
                    try:
                        part = yield get
                    except simpy.Interrupt:
                        if get.triggered:  # the part came at the instant of the failure
                            part = get.value
                        else:
                            get.cancel()  # a station under repair takes no part
                        yield from self._down()
            # process it; a failure suspends the part, which keeps its remaining time
            self._enter(BUSY)
            t_end = env.now + self.pt()
            while True:
                try:
                    yield env.timeout(t_end - env.now)
                    break
                except simpy.Interrupt:
                    left = t_end - env.now
                    yield from self._down()
                    self._enter(BUSY)
                    t_end = env.now + left
            # hand it over (blocking after service); the sink never blocks
            if outbox is None:
                self.done += 1
                continue
            while True:
                put = outbox.put(part)
                if not put.triggered:  # the buffer is full
                    self._enter(BLOCKED)
                try:
                    yield put
                    break
                except simpy.Interrupt:
                    if not put.triggered:
                        put.cancel()  # a station under repair hands nothing over
                    yield from self._down()
                    if put.triggered:
                        break

    def breakdowns(self):
        env = self.env
        while True:
            yield env.timeout(self.tbf())  # calendar basis: counts whatever the station does
            ttr = self.ttr()
            self.failures += 1
            self.repaired = env.event()
            self.proc.interrupt()
            yield env.timeout(ttr)
            self.repaired.succeed()


def idiomatic(horizon: float, n: int = 10, buffer: int = 5, seed: int = 1, draws=None) -> dict:
    """Idiomatic SimPy model of the line run to ``horizon`` [s]; returns its KPIs."""
    env = simpy.Environment()
    draws = draws or stdlib_draws(seed)
    stores = [simpy.Store(env, capacity=buffer) for _ in range(n - 1)]
    ids = itertools.count()
    stations = [_Station(env, name, i, stores[i - 1] if i > 0 else None, stores[i] if i < n - 1 else None, draws, ids)
                for i, name in enumerate(names(n))]
    env.run(until=horizon)
    return _kpis(stations, horizon)


# ---- lean event-style SimPy: callbacks on timeouts, plain deques as buffers ------------------
class _Buffer:
    __slots__ = ("items", "capacity", "consumer", "producer")

    def __init__(self, capacity):
        self.items = deque()
        self.capacity = capacity
        self.consumer = None  # the starved station waiting for a part (a serial line has one)
        self.producer = None  # the blocked station waiting for space


class _LeanStation:
    __slots__ = ("env", "name", "inbox", "outbox", "ids", "pt", "tbf", "ttr", "time", "doing", "since", "done",
                 "failures", "part", "pending", "t_end", "left", "resume")

    def __init__(self, env, name, step, inbox, outbox, draws, ids):
        self.env, self.name, self.inbox, self.outbox, self.ids = env, name, inbox, outbox, ids
        self.pt = draws(name, step, "process", PT_MEAN)
        self.tbf = draws(name, step, "tbf", TBF_MEAN)
        self.ttr = draws(name, step, "ttr", TTR_MEAN)
        self.time = [0.0, 0.0, 0.0, 0.0]
        self.doing, self.since = STARVED, 0.0
        self.done = self.failures = 0
        self.part = self.pending = None
        self.t_end = self.left = 0.0
        self.resume = STARVED

    def _after(self, delay, callback):
        ev = self.env.timeout(delay)
        ev.callbacks.append(callback)
        return ev

    def _enter(self, state):
        now = self.env.now
        self.time[self.doing] += now - self.since
        self.doing, self.since = state, now

    def start(self):
        self._after(self.tbf(), self._fail)
        self._take()

    def _take(self):
        inbox = self.inbox
        if inbox is None:
            self._begin(next(self.ids))
            return
        if not inbox.items:
            inbox.consumer = self
            self._enter(STARVED)
            return
        part = inbox.items.popleft()
        prod = inbox.producer
        if prod is not None:  # space freed: the blocked upstream station hands over
            inbox.producer = None
            inbox.items.append(prod.part)
            prod.part = None
            prod._take()
        self._begin(part)

    def _begin(self, part):
        self.part = part
        self.left = self.pt()
        self._run()

    def _run(self):
        self._enter(BUSY)
        self.t_end = self.env.now + self.left
        self.pending = self._after(self.left, self._finished)

    def _finished(self, ev):
        if ev is self.pending:  # else abandoned by a failure
            self.pending = None
            self._push()

    def _push(self):
        out = self.outbox
        if out is None:
            self.done += 1
        elif out.consumer is not None:
            c, out.consumer = out.consumer, None
            c._begin(self.part)
        elif len(out.items) < out.capacity:
            out.items.append(self.part)
        else:
            out.producer = self
            self._enter(BLOCKED)
            return
        self.part = None
        self._take()

    def _fail(self, ev):
        self.failures += 1
        d = self.resume = self.doing
        if d == BUSY:
            self.left = self.t_end - self.env.now
            self.pending = None
        elif d == STARVED:
            self.inbox.consumer = None
        elif d == BLOCKED:
            self.outbox.producer = None
        self._enter(DOWN)
        self._after(self.ttr(), self._repaired)

    def _repaired(self, ev):
        self._after(self.tbf(), self._fail)
        d = self.resume
        if d == BUSY:
            self._run()
        elif d == STARVED:
            self._take()
        else:
            self._push()


def lean(horizon: float, n: int = 10, buffer: int = 5, seed: int = 1, draws=None) -> dict:
    """Lean event-style SimPy model (no generator per station) run to ``horizon`` [s]; returns its KPIs."""
    env = simpy.Environment()
    draws = draws or stdlib_draws(seed)
    bufs = [_Buffer(buffer) for _ in range(n - 1)]
    ids = itertools.count()
    stations = [_LeanStation(env, name, i, bufs[i - 1] if i > 0 else None, bufs[i] if i < n - 1 else None, draws, ids)
                for i, name in enumerate(names(n))]
    for s in stations:
        s.start()
    env.run(until=horizon)
    return _kpis(stations, horizon)


def twin_model(horizon: float, n: int = 10, buffer: int = 5, seed: int = 1) -> dict:
    """The twin on the same line (full state log and every KPI); returns the twin's KPIs."""
    import twin

    return twin.simulate(scenario(horizon, n, buffer, seed)).kpis


MODELS = {"idiomatic": idiomatic, "lean": lean, "twin": twin_model}


def replication_study(reps: int = 40, horizon: float = 339_000.0, first_seed: int = 100) -> dict:
    """Parts completed in ``horizon`` over ``reps`` independent replications of the lean model:
    the throughput and the run-to-run noise the engine benchmark's tolerance is derived from."""
    import statistics

    from scipy.stats import chi2

    n = [lean(horizon, seed=first_seed + r)["parts_completed"] for r in range(reps)]
    sd = statistics.stdev(n)
    df = reps - 1
    return {"reps": reps, "horizon": horizon, "throughput": statistics.fmean(n) / horizon,
            "throughput_half_width_95": 1.96 * sd / math.sqrt(reps) / horizon, "sd_parts": sd,
            "sd_parts_95": (sd * math.sqrt(df / chi2.ppf(0.975, df)), sd * math.sqrt(df / chi2.ppf(0.025, df)))}


if __name__ == "__main__":
    print(replication_study())
