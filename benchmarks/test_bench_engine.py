"""Engine speed against fair SimPy baselines, measured in the same run.

Run: ``python -m pytest benchmarks/test_bench_engine.py --benchmark-enable -s``
(``TWIN_BENCH_PARTS`` and ``TWIN_BENCH_ROUNDS`` change the size and the rounds.)

The line of ``line10.py`` (10 stations, buffers of 5, Exp(1) processing, calendar failures
Exp(500) / Exp(20), saturated release) as

* the fair idiomatic SimPy model: a process per station and per failure mode, ``simpy.Store``
  buffers, failures by ``Process.interrupt``, ``random.Random`` streams; the baseline (1.00);
* the lean event-style SimPy model (callbacks on timeouts, no generators);
* the twin (SimPy engine, full state log and every KPI);
* the compiled engine (``twin.simulate(..., engine="compiled")``: the same run as the twin, same
  streams, same logs), in-process against the twin SimPy engine (target >= 20x) and whole
  process against the idiomatic model (target <= 0.1).

Before any time is compared: the two SimPy models reproduce the twin exactly when they draw the
twin's own random streams (same parts, same state shares: the semantics are the twin's), and on
the timed runs (independent streams) every model's parts completed agree within 4 sigma of the
replication noise (``measure.parts_tolerance``; sd from 40 replications, its 95 % upper bound).

Target (issue 17): twin SimPy engine <= 0.5 x the idiomatic model, whole process (a fresh
``python -c``: import + build + run + KPIs), full state log and KPIs, 200,000 parts; memory per
logged state row stated and not worse. The assertion is the target as stated; when it fails,
the target is missed.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import line10  # noqa: E402
import measure  # noqa: E402

N_PARTS = int(os.environ.get("TWIN_BENCH_PARTS", 200_000))
ROUNDS = int(os.environ.get("TWIN_BENCH_ROUNDS", 3))
KEYS = ("utilization", "blocked_share", "starved_share", "down_share", "failures")


@pytest.mark.parametrize("model", ["idiomatic", "lean"])
def test_simpy_models_reproduce_the_twin_on_its_own_streams(model):
    """Same draws in, same run out: parts completed equal, every station's state shares equal
    to rounding. A model with another failure semantics (e.g. a blocked station that hands its
    part over while down, or an idle station that does not fail) does not pass."""
    H, seed = 50_000.0, 7
    ref = line10.twin_model(H, seed=seed)
    got = line10.MODELS[model](H, seed=seed, draws=line10.twin_draws(seed))
    assert got["parts_completed"] == ref["line"]["parts_completed"]
    for s in line10.names():
        for k in KEYS:
            assert got["stations"][s][k] == pytest.approx(ref["stations"][s][k], rel=1e-9, abs=1e-12), (s, k)


def test_engine_vs_fair_simpy(benchmark):
    r = measure.engine(N_PARTS, rounds=ROUNDS)
    parts, tol, H = r["parts"], r["tolerance"], r["horizon"]
    # 1. same work: the idiomatic and lean models draw the same stdlib streams -> the same run;
    #    the twin (its own streams) within the replication noise; all near the long-run mean
    assert parts["idiomatic"] == parts["lean"], parts
    assert r["parts_whole"] == parts, "a fresh process must give the same run"
    for m in r["models"]:
        assert abs(parts[m] - parts["idiomatic"]) <= tol, (m, parts, tol)
        assert abs(parts[m] - r["expected_parts"]) <= r["mean_tolerance"], (m, parts, r["expected_parts"])
    # 2. times
    wp, ip = r["whole_process"], r["in_process"]
    ratio_wp = {m: wp[m][0] / wp["idiomatic"][0] for m in r["models"]}
    ratio_ip = {m: ip[m][0] / ip["idiomatic"][0] for m in r["models"]}
    mem = r["memory"]
    print(f"\nengine, {N_PARTS} parts (horizon {H:.0f} s), wall time, best of {ROUNDS} interleaved rounds [range], "
          f"ratio to idiomatic SimPy; load average {measure.environment()['load'][0]:.2f}:")
    wc, ic = r["whole_process_cpu"], r["in_process_cpu"]
    for m in r["models"]:
        print(f"  {m:10s} parts {parts[m]:7d}  whole process {wp[m][0]:6.2f} s [{wp[m][0]:.2f}-{wp[m][1]:.2f}] "
              f"ratio {ratio_wp[m]:.2f}   in-process {ip[m][0]:6.2f} s [{ip[m][0]:.2f}-{ip[m][1]:.2f}] ratio {ratio_ip[m]:.2f}"
              f"   (CPU-time ratios: whole {wc[m] / wc['idiomatic']:.2f}, in-process {ic[m] / ic['idiomatic']:.2f})")
    if "compiled" not in r["models"]:
        print("  compiled   not built")
    else:
        print(f"  compiled engine in-process: {r['compiled_speedup']:.1f}x the twin SimPy engine (CPU time "
              f"{r['compiled_speedup_cpu']:.1f}x; target >= {measure.TARGET_COMPILED_SPEEDUP:.0f}x); "
              f"whole process {ratio_wp['compiled']:.2f} of idiomatic (target <= {measure.TARGET_COMPILED_OVER_IDIOMATIC}); "
              f"the engines alone (no KPIs) {r['run_only_speedup']:.1f}x (CPU {r['run_only_speedup_cpu']:.1f}x)")
    print(f"  parts tolerance (4 sigma of a difference): {tol:.0f}; long-run mean {r['expected_parts']:.0f}")
    print(f"  twin memory per logged state row ({mem['state_rows']} rows): state log {mem['state_log_B_per_row']:.1f} B, "
          f"everything the run holds {mem['run_B_per_row']:.1f} B, peak with result + KPIs {mem['peak_with_kpis_B_per_row']:.1f} B")
    print(f"  target: twin / idiomatic whole process <= {measure.TARGET_TWIN_OVER_IDIOMATIC}: measured {ratio_wp['twin']:.2f}")
    benchmark.extra_info.update({"parts": parts, "whole_process_s": wp, "in_process_s": ip, "ratio_whole": ratio_wp,
                                 "ratio_in_process": ratio_ip, "memory": mem, "tolerance": tol})
    benchmark.pedantic(lambda: None, rounds=1)  # the figures are in extra_info; the timings above
    # 3. memory per state row: not worse than the reference
    for k, ref in measure.MEMORY_REF.items():
        assert mem[k] <= ref * 1.05, (k, mem[k], ref)
    # 4. the targets, as stated
    if "compiled" in r["models"]:
        assert parts["compiled"] == parts["twin"], "the compiled engine plays the twin's run (same streams)"
        assert r["compiled_speedup"] >= measure.TARGET_COMPILED_SPEEDUP, (
            f"target missed: compiled engine {r['compiled_speedup']:.1f}x the SimPy engine in-process")
        assert ratio_wp["compiled"] <= measure.TARGET_COMPILED_OVER_IDIOMATIC, ratio_wp
    assert ratio_wp["twin"] <= measure.TARGET_TWIN_OVER_IDIOMATIC, (
        f"target missed: twin / idiomatic SimPy whole-process ratio {ratio_wp['twin']:.2f} > {measure.TARGET_TWIN_OVER_IDIOMATIC}")
