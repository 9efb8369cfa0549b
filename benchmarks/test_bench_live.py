"""The live twin's costs, measured in the same run against their natural baselines.

Run: ``python -m pytest benchmarks/test_bench_live.py --benchmark-enable -s``

* **Restore = replay.** ``Run.restore`` rebuilds the run and replays it to the checkpoint's time;
  its baseline is running the same scenario to that time from scratch (the work a restore cannot
  avoid). Reported: restore time / run-to-T time (about 1 plus the digest), checkpoint size.
* **Forecast calibration, heavy.** The default suite checks the 90 % interval over 60 trials
  (tests/live/test_forecast.py); here 200 trials of an 8 h forecast with 39 runs each (the
  interval of order statistics 2 and 38: nominal coverage 36/40 = 90 %), reporting the hit rate
  with its binomial 99.9 % band; a rate outside the band is reported as a miss.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import twin
from twin.engine import Run

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
DAY = 86400.0


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_restore_costs_a_rerun_to_t(path, benchmark):
    sc = twin.load(path)
    T = min(sc.horizon, 7 * DAY)
    warm = Run(sc, horizon=T)  # kernels compiled, caches warm
    warm.run_until(T)
    rows = []
    for _ in range(3):
        t0 = time.perf_counter()
        a = Run(sc, horizon=T)
        a.run_until(T)
        base = time.perf_counter() - t0
        data = a.checkpoint()
        t0 = time.perf_counter()
        b = Run.restore(data)
        rest = time.perf_counter() - t0
        rows.append((base, rest, len(data)))
        assert b.now == T
    base, rest = min(r[0] for r in rows), min(r[1] for r in rows)
    print(f"\n{path.name}: run to {T / DAY:g} d {base * 1e3:.0f} ms, restore {rest * 1e3:.0f} ms "
          f"(ratio {rest / base:.2f}), checkpoint {rows[0][2]} bytes")
    benchmark.extra_info.update(run_to_t_s=base, restore_s=rest, ratio=rest / base, checkpoint_bytes=rows[0][2])
    benchmark.pedantic(lambda: Run.restore(data), rounds=1, iterations=1)


def test_forecast_calibration_heavy(benchmark):
    from scipy import stats

    from twin.live.forecast import forecast
    from twin.live.snapshot import snapshot_of

    sc = twin.load(ROOT / "examples/shaft_line.yaml")
    M, hits = 200, 0
    t0 = time.perf_counter()
    for k in range(M):
        plant = twin.Run(sc, seed=5000 + k)
        plant.run_until(30 * 3600 + 1800 * (k % 16) + 41 * k)
        c0 = plant.sink.completed
        f = forecast(sc, snapshot_of(plant), "+8 h", replications=39, bottleneck=False)
        plant.run_until(plant.now + 8 * 3600)
        hits += f.output_interval[0] <= plant.sink.completed - c0 <= f.output_interval[1]
    lo, hi = stats.binom.ppf(0.0005, M, 0.9), stats.binom.ppf(0.9995, M, 0.9)
    print(f"\ncoverage {hits}/{M} = {hits / M:.3f} (band {lo:.0f} .. {hi:.0f}), {time.perf_counter() - t0:.0f} s")
    benchmark.extra_info.update(hits=hits, trials=M, band=(lo, hi))
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    assert lo <= hits <= hi
