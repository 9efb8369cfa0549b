"""Fair baselines for the kernel benchmarks: the best numpy for the batch cut kernel
(``twin.kernels.batch.cuts_batch``) and a plain-Python twin of the per-part kernel
(``twin.kernels.part.machined_part``).

Both compute what the kernels compute, with the same precomputed constants, and are checked
against them (``test_bench_kernels.py``).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from twin.kernels.machining import H0
from twin.kernels.surface import RA_CONST_TEXTBOOK, dimensional_deviation, ra_with_wear
from twin.kernels.tool_wear import flank_wear_vb

BLOCK = 16384  # cuts per block: the five 128 kB temporaries and the block's inputs stay in L2

#: material tables of the benchmark (kc1.1 [Pa], mc [-]) and the magazine size
KC = np.array([1.5e9, 1.725e9, 2.15e9])
MC = np.array([0.22, 0.24, 0.2])
N_TOOLS = 64


def cut_inputs(m: int, seed: int = 1):
    """``m`` cuts over 3 materials and a 64-tool magazine (carbide n = 0.25, HSS n = 0.125):
    ((f, ap, vc, t_cut, material, tool), (kappa_r, r_nose, n, C))."""
    from twin.kernels import taylor_C_si

    rng = np.random.default_rng(seed)
    cuts = (rng.uniform(1e-4, 4e-4, m), rng.uniform(5e-4, 4e-3, m), rng.uniform(1.5, 5.0, m), rng.uniform(5, 60, m),
            rng.integers(0, 3, m), rng.integers(0, N_TOOLS, m))
    hss = np.arange(N_TOOLS) % 4 == 0
    tools = (np.full(N_TOOLS, math.radians(95)), rng.choice([4e-4, 8e-4, 1.2e-3], N_TOOLS), np.where(hss, 0.125, 0.25),
             np.where(hss, taylor_C_si(70, 0.125), taylor_C_si(500, 0.25)))
    return cuts, tools


def naive_numpy_cuts(cuts, tools):
    """Straightforward numpy over the whole arrays (full-size temporaries, constants gathered
    per cut): the numpy most people write, and the old baseline of the benchmark."""
    f, ap, vc, t, mat, tool = cuts
    kr, r, n, C = tools
    s = np.sin(kr)[tool]
    Fc = KC[mat] * ap * f * np.exp(-MC[mat] * np.log(f * s / H0))
    Pc = Fc * vc
    T = np.exp(np.log(C[tool] / vc) / n[tool])
    Ra = RA_CONST_TEXTBOOK * f * f / r[tool]
    wear = np.bincount(tool, weights=t / T, minlength=len(kr))
    return Fc, Pc, T, Ra, wear


class BlockedNumpyCuts:
    """``cuts_batch`` in numpy, as fast as numpy goes: cache-sized blocks, temporaries allocated
    once and reused with ``out=``, every per-material and per-tool constant folded into a
    table once, one ``log`` + one ``exp`` per exponential law.

    Per cut (``q`` material, ``j`` tool; the algebra of ``kernels/batch.py``):
    ``Fc = ap f exp(A_qj - mc_q ln f)`` with ``A_qj = ln kc11_q - mc_q ln(sin kappa_r_j / h0)``;
    ``Pc = Fc vc``; ``T = exp(inv_n_j (ln C_j - ln vc))``; ``Ra = f**2 R_j`` with ``R_j =
    RA_CONST / r_j``; life fraction ``t / T`` summed per tool with ``np.bincount``.
    """

    def __init__(self, kc11, mc, lsh, r_nose, inv_n, lnC, block: int = BLOCK):
        kc11, mc = np.asarray(kc11, float), np.asarray(mc, float)
        self.n_tools = len(inv_n)
        # one table over (material, tool): A_qj, and -mc per (material, tool) so one index gathers both
        self.A = (np.log(kc11)[:, None] - mc[:, None] * np.asarray(lsh)[None, :]).ravel()
        self.neg_mc = np.repeat(-mc, self.n_tools)
        self.inv_n = np.asarray(inv_n, float).copy()
        self.lnC = np.asarray(lnC, float).copy()
        self.R = RA_CONST_TEXTBOOK / np.asarray(r_nose, float)
        self.block = block

    def _scratch(self, n):
        return [np.empty(n) for _ in range(4)] + [np.empty(n, np.int64)]

    def run_range(self, f, ap, vc, t, mat, tool, Fc, Pc, T, Ra, lo, hi, scratch=None):
        """Fill ``[lo, hi)`` of the outputs; return the life-fraction sum per tool."""
        B = self.block
        a, b, c, d, idx = scratch or self._scratch(B)
        wear = np.zeros(self.n_tools)
        nt = self.n_tools
        for s in range(lo, hi, B):
            e = min(hi, s + B)
            n = e - s
            a_, b_, c_, d_, i_ = a[:n], b[:n], c[:n], d[:n], idx[:n]
            fs, vs, tl = f[s:e], vc[s:e], tool[s:e]
            # combined (material, tool) index
            np.multiply(mat[s:e], nt, out=i_)
            np.add(i_, tl, out=i_)
            # Fc = ap f exp(A_qj - mc_q ln f), Pc = Fc vc
            np.log(fs, out=a_)
            np.take(self.neg_mc, i_, out=b_, mode="clip")
            np.multiply(a_, b_, out=a_)
            np.take(self.A, i_, out=b_, mode="clip")
            np.add(a_, b_, out=a_)
            np.exp(a_, out=a_)
            np.multiply(fs, ap[s:e], out=b_)
            np.multiply(a_, b_, out=Fc[s:e])
            np.multiply(Fc[s:e], vs, out=Pc[s:e])
            # T = exp(inv_n_j (ln C_j - ln vc))
            np.log(vs, out=a_)
            np.take(self.lnC, tl, out=b_, mode="clip")
            np.subtract(b_, a_, out=a_)
            np.take(self.inv_n, tl, out=b_, mode="clip")
            np.multiply(a_, b_, out=a_)
            np.exp(a_, out=T[s:e])
            # Ra = f**2 R_j
            np.multiply(fs, fs, out=c_)
            np.take(self.R, tl, out=d_, mode="clip")
            np.multiply(c_, d_, out=Ra[s:e])
            # life fractions per tool
            np.divide(t[s:e], T[s:e], out=c_)
            wear += np.bincount(tl, weights=c_, minlength=nt)
        return wear

    def __call__(self, f, ap, vc, t, mat, tool, Fc, Pc, T, Ra, threads: int = 1):
        """All cuts on ``threads`` Python threads (numpy releases the GIL inside its loops);
        each thread takes a contiguous share and has its own temporaries."""
        m = len(f)
        if threads == 1:
            return self.run_range(f, ap, vc, t, mat, tool, Fc, Pc, T, Ra, 0, m, self._fixed_scratch())
        cuts = np.linspace(0, m, threads + 1).astype(int)
        pool = self._pool(threads)
        futs = [pool.submit(self.run_range, f, ap, vc, t, mat, tool, Fc, Pc, T, Ra, int(lo), int(hi), sc)
                for lo, hi, sc in zip(cuts[:-1], cuts[1:], self._thread_scratch(threads))]
        return sum(fu.result() for fu in futs)

    # temporaries and threads are made once, outside the timed calls
    def _fixed_scratch(self):
        if not hasattr(self, "_s1"):
            self._s1 = self._scratch(self.block)
        return self._s1

    def _thread_scratch(self, k):
        if getattr(self, "_sk", (0,))[0] != k:
            self._sk = (k, [self._scratch(self.block) for _ in range(k)])
        return self._sk[1]

    def _pool(self, k):
        if getattr(self, "_pk", (0,))[0] != k:
            self._pk = (k, ThreadPoolExecutor(k))
        return self._pk[1]


def part_inputs(n_parts: int, seed: int = 2):
    """A turning plan of 4 cuts on 3 tools (roughing tool with breakage, finishing tool, a
    count-policy tool) and the uniforms for ``n_parts`` parts: (cuts, pol, fin, u)."""
    cuts = np.array([[0, 40.0, 900.0, 2e-4, 10.0], [0, 35.0, 900.0, 2e-4, 55.0], [1, 20.0, 1500.0, 0.0, 95.0],
                     [2, 5.0, 3000.0, 0.0, 120.0]])
    pol = np.array([[0, 1.0, 0.0], [1, 1.0, 0.0], [2, 0.0, 150.0]])
    fin = np.array([1, 1500.0, 3e-4, 1.6e-6, 1.0, 1.0, math.radians(7), 0.04, 12e-6, 10.0])
    u = np.random.default_rng(seed).random(2 * len(cuts) * n_parts + 2)
    return cuts, pol, fin, u


# ---- the per-part kernel in plain Python -------------------------------------------------------
_vb = flank_wear_vb.py_func
_ra = ra_with_wear.py_func
_dev = dimensional_deviation.py_func


def machined_part_py(frac, used, k, cuts, pol, fin, now, pid, nominal, t_repl, fo, cut_time, energy, stable, u, ui, rec):
    """``machined_part`` in plain Python on Python lists (``frac[k]``, ``used[k]`` lists; ``cuts``,
    ``pol`` lists of tuples; ``fin`` a tuple; ``u`` a list of uniforms); appends the record row
    to the list ``rec``. Same formulas (the kernels' own ``py_func``), same draws, same result."""
    broken_at = -1.0
    fk, uk = frac[k], used[k]
    for j, t_cut, life, rate, t_start in cuts:
        if rate > 0.0:
            x0 = fk[j]
            x1 = x0 + t_cut / life
            p = -math.expm1(-rate * life * ((x1 - x0) + 3.0 * (x1 ** 3 - x0 ** 3)))
            v = u[ui]
            ui += 1
            if v < p:
                broken_at = t_start + t_cut * u[ui]
                ui += 1
                break
    for j, t_cut, life, _rate, _t0 in cuts:
        fk[j] += t_cut / life
    vb = ra = dev = 0.0
    jf = fin[0]
    if jf >= 0:
        _, life, vb_crit, ra0, k_vb, ra_factor, clearance, diameter, alpha, dT = fin
        vb = _vb(fk[jf] * life, life, vb_crit)
        ra = ra_factor * _ra(ra0, vb, vb_crit, k_vb)
        dev = _dev(vb, clearance, diameter, alpha, dT) if diameter > 0.0 else 0.0
    changes = 0
    for j, wear_policy, max_parts in pol:
        uk[j] += 1
        if (fk[j] >= 1.0 - 1e-12) if wear_policy else (uk[j] >= max_parts):
            fk[j] = 0.0
            uk[j] = 0
            changes += 1
    d = (nominal + changes * t_repl) / fo
    rec.append((now, pid, k, d, cut_time, ra, dev, vb, stable, 1.0 if broken_at >= 0.0 else 0.0, energy, changes))
    return ui, broken_at, ra, dev, d, changes
