"""Experiment execution: replications on 1 vs 2 local workers, Dask overhead per task, and a
1,000-point sweep of the 10-station line.

Run: ``python -m pytest benchmarks/test_bench_experiments.py --benchmark-enable -s``
Target: two workers >= 1.7x one (this machine has 2 cores; the second is often busy).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import line10  # noqa: E402

import twin  # noqa: E402
from twin import experiments as E  # noqa: E402


def _t(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def test_replication_scaling_and_dask_overhead(benchmark):
    sc = twin.parse_scenario(line10.scenario(20000.0))
    n = 8
    with E.Executor(workers=1) as ex:
        t1, o1 = _t(lambda: E.replicate(sc, n, executor=ex))
    with E.Executor(workers=2) as ex:
        t2, o2 = _t(lambda: E.replicate(sc, n, executor=ex))
    assert [o.kpis for o in o1] == [o.kpis for o in o2]
    tiny = twin.parse_scenario(line10.scenario(10.0))
    with E.Executor(workers=2, dask="local") as ex:
        ex.map([{"body": tiny.dump(), "seed": 1, "replication": 0}])  # warm the workers
        td, _ = _t(lambda: ex.map([{"body": tiny.dump(), "seed": 1, "replication": r, "index": r} for r in range(100)]))
    with E.Executor(workers=1) as ex:
        tl, _ = _t(lambda: ex.map([{"body": tiny.dump(), "seed": 1, "replication": r, "index": r} for r in range(100)]))
    benchmark.pedantic(lambda: None, rounds=1)
    info = {"one_worker_s": t1, "two_workers_s": t2, "speedup": t1 / t2, "dask_overhead_ms_per_task": (td - tl / 2) / 100 * 1e3,
            "dask_100_tiny_tasks_s": td, "serial_100_tiny_tasks_s": tl}
    benchmark.extra_info.update(info)
    print("\nreplications:", {k: round(v, 3) for k, v in info.items()})


def test_thousand_point_sweep(benchmark):
    sc = twin.parse_scenario(line10.scenario(2000.0))
    varies = [E.parse_vary("buffers.B03.capacity=1..10"), E.parse_vary("buffers.B07.capacity=1..10"),
              E.parse_vary("stations.S05.process_time.mean=0.8..1.2", levels=10)]
    pts = E.sweep_points(varies)
    assert len(pts) == 1000
    with E.Executor(workers=2) as ex:
        t, outs = _t(lambda: E.sweep(sc, pts, executor=ex))
    ok = sum(o.ok for o in outs)
    benchmark.pedantic(lambda: None, rounds=1)
    benchmark.extra_info.update({"points": len(pts), "ok": ok, "seconds": t, "points_per_s": len(pts) / t})
    print(f"\nsweep: {len(pts)} points ({ok} ok) in {t:.1f} s = {len(pts) / t:.1f} points/s")
    assert ok == 1000


def test_compiled_sweep(benchmark):
    """A sweep of the 10-station line at 20k parts per point on two local workers with the
    compiled engine; the time of 10,000 points is extrapolated from the points run
    (``TWIN_BENCH_SWEEP_POINTS``, default 200). Target: < 10 minutes on two cores."""
    sys.path.insert(0, os.path.dirname(__file__))
    import measure

    n = int(os.environ.get("TWIN_BENCH_SWEEP_POINTS", 200))
    r = measure.sweep(n, engine="compiled")
    benchmark.pedantic(lambda: None, rounds=1)
    benchmark.extra_info.update(r)
    print(f"\ncompiled sweep: {r['points']} points ({r['ok']} ok) at {r['parts']} parts in {r['wall_s']:.1f} s on "
          f"{r['workers']} workers = {r['points_per_s']:.1f} points/s; {measure.TARGET_SWEEP_POINTS} points: "
          f"{r['extrapolated_s'] / 60:.1f} min (target < {measure.TARGET_SWEEP_S / 60:.0f} min); "
          f"{r['cpu_s_per_point'] * 1e3:.0f} ms CPU per point: {r['extrapolated_free_cores_s'] / 60:.1f} min on two free cores")
    assert r["ok"] == n
    assert abs(r["parts_completed_mean"] - r["parts"]) < 0.1 * r["parts"]  # the points are the line at ~20k parts
    assert r["extrapolated_s"] < measure.TARGET_SWEEP_S, "target missed"
