"""Kernel speed, with baselines measured in the same run.

Run: ``python -m pytest benchmarks/test_bench_kernels.py --benchmark-enable -s``

* The batch cut kernel (``kernels/batch.py`` ``cuts_batch``: force, power, Taylor life,
  per-tool life fraction and roughness of 10 M cuts) against the fair numpy baseline
  (``kernel_baselines.BlockedNumpyCuts``: cache-sized blocks, reused temporaries, constants
  folded into tables once, one log and one exp per law), at 1 and 2 threads each (numba
  threads; numpy on as many Python threads, each with its own block). Target (issue 17):
  >= 3x at equal thread count; asserted as stated.
* The per-part kernel the simulation calls (``kernels/part.py`` ``machined_part``, once per
  machined part) against its plain-Python twin, both called once per part from Python.
* Against pure Python and the memory bus: 10 M cuts vs pure Python (timed on a subsample,
  scaled), achieved bytes/s vs numpy copying the same bytes, and the floor of the access pattern.
* Vibration synthesis: samples/s of the numba generator vs a numpy version.
* First-call compile time, and a second process that loads the kernels from numba's cache.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import kernel_baselines as KB  # noqa: E402
import measure  # noqa: E402

import twin.kernels as K  # noqa: E402

N = int(os.environ.get("TWIN_BENCH_CUTS", 10_000_000))
KC, MC, N_TOOLS = KB.KC, KB.MC, KB.N_TOOLS


def test_batch_kernel_vs_fair_numpy(benchmark):
    r = measure.batch_kernel(N)
    assert r["agree"], "the kernel and the fair numpy must give the same numbers"
    print(f"\nbatch cut kernel, {N} cuts, best of {r['rounds']} interleaved rounds [range], numba threading layer "
          f"{r['threading_layer']}, numpy block {r['block']}:")
    n1 = r["numpy_1"][0]
    print(f"  numpy, full-size temporaries (old baseline), 1 thread: {r['numpy_naive_1'][0]:.3f} s "
          f"({r['numpy_naive_1'][0] / N * 1e9:.1f} ns/cut)")
    for k in r["threads"]:
        nk, kk = r[f"numpy_{k}"], r[f"kernel_{k}"]
        print(f"  {k} thread{'s' if k > 1 else ' '}: fair numpy {nk[0]:.3f} s [{nk[0]:.3f}-{nk[1]:.3f}] ({nk[0] / N * 1e9:.1f} ns/cut), "
              f"kernel {kk[0]:.3f} s [{kk[0]:.3f}-{kk[1]:.3f}] ({kk[0] / N * 1e9:.1f} ns/cut): "
              f"{r[f'speedup_{k}']:.2f}x (target >= {measure.TARGET_BATCH_OVER_NUMPY})")
    print(f"  fair numpy vs the old baseline: {r['numpy_naive_1'][0] / n1:.2f}x")
    benchmark.extra_info.update({k: v for k, v in r.items()})
    benchmark.pedantic(lambda: None, rounds=1)  # the figures are in extra_info
    missed = {k: round(r[f"speedup_{k}"], 2) for k in r["threads"] if r[f"speedup_{k}"] < measure.TARGET_BATCH_OVER_NUMPY}
    assert not missed, f"target missed: batch kernel / fair numpy speed-up below {measure.TARGET_BATCH_OVER_NUMPY} at threads {missed}"


def test_part_kernel_vs_plain_python(benchmark):
    r = measure.part_kernel()
    assert r["agree"], "the per-part kernel and its plain-Python twin must give the same records"
    assert r["breakages"] > 0 and r["tool_changes"] > 0  # every branch of the kernel ran
    n = r["n_parts"]
    print(f"\nper-part kernel machined_part, {n} parts, 1 thread, best of {r['rounds']} [range]: plain Python "
          f"{r['python'][0] / n * 1e6:.2f} us/part [{r['python'][0] / n * 1e6:.2f}-{r['python'][1] / n * 1e6:.2f}], "
          f"kernel {r['kernel'][0] / n * 1e6:.2f} us/part [{r['kernel'][0] / n * 1e6:.2f}-{r['kernel'][1] / n * 1e6:.2f}]: "
          f"{r['speedup']:.2f}x")
    benchmark.extra_info.update(r)
    benchmark.pedantic(lambda: None, rounds=1)


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


def test_cuts_vs_python_and_memory_bus(benchmark):
    cuts, tools = KB.cut_inputs(N)
    tt = K.batch.tool_tables(*tools)
    outs = [np.empty(N) for _ in range(4)]
    run = lambda: K.cuts_batch(*cuts, KC, MC, *tt, *outs)
    run()
    _stream(*cuts, *outs)
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
    benchmark.pedantic(run, rounds=3, iterations=1)
    t_nb = benchmark.stats.stats.min
    Fc, Pc, T, Ra, wear = python_cuts([a[:1000].tolist() for a in cuts], stools)
    assert np.allclose(outs[0][:1000], Fc, rtol=1e-12) and np.allclose(outs[2][:1000], T, rtol=1e-12)
    info = {"cuts": N, "numba_s": t_nb, "python_scaled_s": t_py, "speedup_vs_python": t_py / t_nb,
            "ns_per_cut": t_nb / N * 1e9, "GB_per_s": nbytes / t_nb / 1e9, "copy_GB_per_s": 2 * big.nbytes / t_copy / 1e9,
            "fraction_of_copy_bandwidth": (nbytes / t_nb) / (2 * big.nbytes / t_copy),
            "stream_floor_ns_per_cut": t_stream / N * 1e9, "stream_fraction_of_copy_bandwidth": (nbytes / t_stream) / (2 * big.nbytes / t_copy),
            "threads": numba.get_num_threads()}
    benchmark.extra_info.update(info)
    print("\ncuts:", {k: round(v, 3) if isinstance(v, float) else v for k, v in info.items()})
    # targets of the first kernel round: >= 100x pure Python, aim at >= half the copy bandwidth.
    # The copy is numpy copying into an existing buffer; a kernel that only streams the same 6
    # arrays in and 4 out with one operation each (_stream) reaches about 0.45-0.67 of it, so half
    # the copy rate is about the floor of this access pattern. The asserts guard what is achieved.
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
