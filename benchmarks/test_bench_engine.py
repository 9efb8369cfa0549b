"""Engine speed: the twin (full state log + KPIs) against idiomatic hand-written SimPy.

Run: ``python -m pytest benchmarks/test_bench_engine.py --benchmark-enable -s``

Both simulate the 10-station line of ``line10.py`` for the same amount of work: the baseline
runs until 200,000 parts have left the line; the twin runs to the simulated time the baseline
needed. Target: twin wall time (simulation + KPIs) <= 0.5 x baseline, measured in the same run.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import tracemalloc

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import line10  # noqa: E402

import twin  # noqa: E402

N_PARTS = int(os.environ.get("TWIN_BENCH_PARTS", 200_000))


def _best(fn, rounds=3):
    best = float("inf")
    out = None
    for _ in range(rounds):
        gc.collect()
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def test_engine_vs_idiomatic_simpy(benchmark):
    t_base, (horizon, parts) = _best(lambda: line10.baseline(N_PARTS))
    sc = twin.parse_scenario(line10.scenario(horizon))

    def twin_run():
        run = twin.Run(sc)
        res = run.run()
        res.kpis
        return res

    res = benchmark.pedantic(twin_run, rounds=3, iterations=1)
    t_twin = benchmark.stats.stats.min
    n_events = len(res.state["t"]) + len(res.ops["t_end"])
    ratio = t_twin / t_base
    info = {
        "baseline_s": t_base,
        "twin_s": t_twin,
        "ratio_twin_over_simpy": ratio,
        "parts_baseline": parts,
        "parts_twin": res.kpis["line"]["parts_completed"],
        "state_rows": len(res.state["t"]),
        "state_rows_per_s": len(res.state["t"]) / t_twin,
        "operations_per_s": len(res.ops["t_end"]) / t_twin,
    }
    benchmark.extra_info.update(info)
    print("\nengine:", {k: round(v, 4) if isinstance(v, float) else v for k, v in info.items()})
    assert ratio <= 0.5, f"twin/SimPy wall-time ratio {ratio:.2f} > 0.5"


def test_state_log_memory(benchmark):
    """Peak traced memory of a run and bytes per state-log row (1 M events must stay < 100 MB)."""
    sc = twin.parse_scenario(line10.scenario(50_000.0))

    def go():
        tracemalloc.start()
        run = twin.Run(sc)
        run.run_until(sc.horizon)
        cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return run, peak

    run, peak = benchmark.pedantic(go, rounds=1, iterations=1)
    rows = len(run.state_log)
    per_row = run.state_log.nbytes() / rows
    mb_per_million = per_row * 1e6 / 1e6
    benchmark.extra_info.update({"state_rows": rows, "bytes_per_row": per_row, "MB_per_million_rows": mb_per_million,
                                 "peak_traced_MB": peak / 1e6})
    print(f"\nstate log: {rows} rows, {per_row:.1f} B/row -> {mb_per_million:.1f} MB per million; peak traced {peak / 1e6:.1f} MB")
    assert mb_per_million < 100
