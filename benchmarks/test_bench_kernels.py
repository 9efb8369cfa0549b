"""Kernel speed, with baselines measured in the same run.

Run: ``python -m pytest benchmarks/test_bench_kernels.py --benchmark-enable -s``

* 10 M cuts through force, power, Taylor life, per-tool life fraction and roughness: numba
  parallel vs the best numpy version vs pure Python (timed on a subsample, scaled); achieved
  bytes/s against numpy copying the same arrays into an existing buffer (the memory-bandwidth
  ceiling), and the floor of the access pattern (the same arrays streamed with no physics).
* Vibration synthesis: samples/s of the numba generator vs a numpy version; one hour of 10 kHz
  vibration for ten machines, generated in one-machine-hour chunks.
* First-call compile time, and a second process that loads the kernels from numba's cache.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
import pytest

import twin.kernels as K

N = int(os.environ.get("TWIN_BENCH_CUTS", 10_000_000))


KC = np.array([1.5e9, 1.725e9, 2.15e9])
MC = np.array([0.22, 0.24, 0.2])
N_TOOLS = 64


def _inputs(m, seed=1):
    """Cuts over 3 materials and a 64-tool magazine (carbide n = 0.25, HSS n = 0.125)."""
    rng = np.random.default_rng(seed)
    cuts = (rng.uniform(1e-4, 4e-4, m), rng.uniform(5e-4, 4e-3, m), rng.uniform(1.5, 5.0, m), rng.uniform(5, 60, m),
            rng.integers(0, 3, m), rng.integers(0, N_TOOLS, m))
    hss = np.arange(N_TOOLS) % 4 == 0
    tools = (np.full(N_TOOLS, math.radians(95)), rng.choice([4e-4, 8e-4, 1.2e-3], N_TOOLS), np.where(hss, 0.125, 0.25),
             np.where(hss, K.taylor_C_si(70, 0.125), K.taylor_C_si(500, 0.25)))
    return cuts, tools


def numpy_cuts(cuts, tools):
    """The best numpy version: same tables and algebra, vectorised (gathers + exp/log)."""
    f, ap, vc, t, mat, tool = cuts
    kr, r, n, C = tools
    s = np.sin(kr)[tool]
    Fc = KC[mat] * ap * f * np.exp(-MC[mat] * np.log(f * s / 1e-3))
    Pc = Fc * vc
    T = np.exp(np.log(C[tool] / vc) / n[tool])
    Ra = f * f / (32.0 * r[tool])
    wear = np.bincount(tool, weights=t / T, minlength=N_TOOLS)
    return Fc, Pc, T, Ra, wear


def python_cuts(cuts, tools):
    f, ap, vc, t, mat, tool = cuts
    kr, r, n, C = tools
    Fc, Pc, T, Ra = [], [], [], []
    wear = [0.0] * N_TOOLS
    kc, mc = KC.tolist(), MC.tolist()
    for i in range(len(f)):
        j, q = tool[i], mat[i]
        h = f[i] * math.sin(kr[j])
        fc = kc[q] * ap[i] * f[i] * (h / 1e-3) ** (-mc[q])
        Fc.append(fc)
        Pc.append(fc * vc[i])
        life = (C[j] / vc[i]) ** (1.0 / n[j])
        T.append(life)
        Ra.append(f[i] ** 2 / (32.0 * r[j]))
        wear[j] += t[i] / life
    return Fc, Pc, T, Ra, wear


@numba.njit(parallel=True)  # not cached: this file is imported under more than one module name
def _stream(f, ap, vc, t, mat, tool, A, B, C, D):
    """The floor for this access pattern: the same 6 arrays read and 4 written, on all threads,
    with one arithmetic operation per output (what any fused cuts kernel must at least move)."""
    for c in numba.prange((len(f) + 65535) // 65536):
        for i in range(c * 65536, min(len(f), c * 65536 + 65536)):
            A[i] = f[i] * ap[i]
            B[i] = vc[i] + mat[i]
            C[i] = t[i] * 2.0
            D[i] = tool[i] * 1.0


def _time(fn, rounds=3):
    best = math.inf
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def test_cuts_numba_vs_numpy_vs_python(benchmark):
    cuts, tools = _inputs(N)
    tt = K.batch.tool_tables(*tools)
    outs = [np.empty(N) for _ in range(4)]
    run = lambda: K.cuts_batch(*cuts, KC, MC, *tt, *outs)
    run()
    _stream(*cuts, *outs)
    t_np = _time(lambda: numpy_cuts(cuts, tools))
    sub = 100_000
    scuts = [a[:sub].tolist() for a in cuts]
    stools = [a.tolist() for a in tools]
    t_py = _time(lambda: python_cuts(scuts, stools), rounds=1) * N / sub
    nbytes = sum(a.nbytes for a in cuts) + sum(o.nbytes for o in outs)
    # the ceiling: numpy copying the same bytes into a buffer that already exists (as the outputs
    # do); ``big.copy()`` would time page faults on 800 MB of fresh memory, not the memory bus
    big = np.concatenate([a.astype(np.float64) for a in cuts] + outs)
    dst = np.zeros_like(big)
    t_copy = _time(lambda: np.copyto(dst, big), rounds=5)
    t_stream = _time(lambda: _stream(*cuts, *outs), rounds=5)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    t_1 = _time(run)
    numba.set_num_threads(before)
    benchmark.pedantic(run, rounds=3, iterations=1)
    t_nb = benchmark.stats.stats.min
    # results agree with the numpy version
    Fc, Pc, T, Ra, wear = numpy_cuts(cuts, tools)
    assert np.allclose(outs[0], Fc, rtol=1e-12) and np.allclose(outs[2], T, rtol=1e-12) and np.allclose(run(), wear, rtol=1e-9)
    info = {"cuts": N, "numba_s": t_nb, "numba_1thread_s": t_1, "numpy_s": t_np, "python_scaled_s": t_py,
            "speedup_vs_numpy": t_np / t_nb, "speedup_vs_python": t_py / t_nb, "parallel_speedup": t_1 / t_nb,
            "ns_per_cut": t_nb / N * 1e9, "GB_per_s": nbytes / t_nb / 1e9, "copy_GB_per_s": 2 * big.nbytes / t_copy / 1e9,
            "fraction_of_copy_bandwidth": (nbytes / t_nb) / (2 * big.nbytes / t_copy),
            "stream_floor_ns_per_cut": t_stream / N * 1e9, "stream_fraction_of_copy_bandwidth": (nbytes / t_stream) / (2 * big.nbytes / t_copy),
            "threads": before}
    benchmark.extra_info.update(info)
    print("\ncuts:", {k: round(v, 3) if isinstance(v, float) else v for k, v in info.items()})
    # issue targets: >= 3x numpy, >= 100x pure Python, aim at >= half the copy bandwidth.
    # Measured here (2 cores, kernels/batch.py: conversion-free fdlibm exp/log, logs in their
    # own loop per block, checks once per block, FMA contraction): 7-11x numpy, 120-190x Python,
    # 6.6-11 ns per cut, 0.30-0.51 of the copy bandwidth. The copy is numpy copying into an existing
    # buffer (22-25 GB/s); a kernel that only streams the same 6 arrays in and 4 out with one
    # operation each (_stream) reaches 0.45-0.67 of it, so half the copy rate is about the floor
    # of this access pattern (stores pay a read for ownership; streaming stores measured slower).
    # The shared 2-core machine varies by ~30 % between runs.
    # The asserts guard against regressions below what is achieved; the targets are in extra_info.
    info.update({"target_vs_numpy": 3.0, "target_vs_python": 100.0, "aim_fraction_of_copy_bandwidth": 0.5})
    assert info["speedup_vs_numpy"] >= 3.0
    assert info["speedup_vs_python"] >= 100.0
    assert info["fraction_of_copy_bandwidth"] >= 0.25


def test_vibration_synthesis(benchmark):
    fs = 10_000.0
    hour = 3600.0
    # one machine-hour of cuts: 45 s cuts with 15 s gaps
    cs = np.arange(0.0, hour, 60.0)
    ce = cs + 45.0
    m = len(cs)
    rng = np.random.default_rng(3)
    args = (cs, ce, np.full(m, 50.0), np.full(m, 4.0), np.linspace(0, 2.8e-4, m), 3e-4, (rng.random(m) < 0.1).astype(np.int64),
            np.full(m, 610.0), 1.0, 0.2, 11)
    n = int(hour * fs)
    K.vibration_signal(0.0, 1000, fs, *args)
    t_np = _time(lambda: K.signals.vibration_numpy(0.0, n // 10, fs, *args), rounds=2) * 10
    res = benchmark.pedantic(lambda: K.vibration_signal(0.0, n, fs, *args), rounds=2, iterations=1)
    t_nb = benchmark.stats.stats.min
    t = time.perf_counter()
    for machine in range(10):  # ten machines, one hour each, one chunk per machine (144 MB float32)
        sig, vb, st = K.vibration_signal(0.0, n, fs, *args[:-1], 100 + machine)
    t10 = time.perf_counter() - t
    info = {"samples_per_s": n / t_nb, "numpy_samples_per_s": n / t_np, "speedup_vs_numpy": t_np / t_nb,
            "ten_machine_hours_s": t10, "chunk_MB": sig.nbytes / 1e6}
    benchmark.extra_info.update(info)
    print("\nvibration:", {k: round(v, 3) for k, v in info.items()})
    assert res[0].dtype == np.float32


def test_compile_time_and_cache(tmp_path):
    """First call compiles; a second process with the same cache dir loads instead. The calls
    are timed apart from importing the package and setting up numba's JIT, which both
    processes pay alike."""
    # numba's one-off JIT set-up (~0.5 s) is paid first on a throw-away function in both processes
    code = ("import time, math, numba; t0=time.perf_counter(); import twin.kernels as K; numba.njit(lambda x: x + 1)(1); "
            "t=time.perf_counter(); "
            "K.turning_force(2e-4, 2e-3, math.pi/2, 1.5e9, 0.22); K.is_stable(100.0, 1e-3, 2e8, 0.02, 300.0, 1e9); "
            "K.wall_series(0.5, 0.3, 1.0); K.taylor_life(2.0, 0.25, 10.0); "
            "print(t-t0, time.perf_counter()-t)")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))

    def once():
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
        return float(out[-2]), float(out[-1])

    imp1, first = once()
    imp2, second = once()
    print(f"\ncompile: import + JIT set-up {imp1:.2f} s, then four kernels' first calls {first:.2f} s; second process: "
          f"{imp2:.2f} s, then {second:.3f} s (loaded from the cache)")
    assert second < first / 10
