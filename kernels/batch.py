"""Batch kernels over many cuts: force, power, tool life, life-fraction accumulation per tool
and roughness in one fused pass (numba, parallel over fixed chunks of cuts).

Per cut (Kienzle, Taylor, kinematic roughness; see machining, tool_wear, surface), with the
material constants taken from a material table and the tool data (cutting-edge angle, nose
radius, Taylor n and C) from a tool table, as in a real plant (a few materials, a tool
magazine):
``Fc = kc11 ap f exp(-mc ln(f sin(kappa_r) / h0))`` (b h = ap f), ``Pc = Fc vc``,
``T = (C / vc)**(1/n)`` (an integer power when 1/n is an integer, e.g. n = 0.25 or 0.125,
else ``exp(ln(C / vc) / n)``), ``Ra = f^2 / (32 r)``, life fraction ``t / T``.
Life fractions are summed per tool inside fixed chunks of cuts and the chunk sums added in
chunk order, so the result does not depend on the number of threads. Invalid inputs are
counted in the same pass and raise afterwards.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .machining import H0

__all__ = ["cuts_batch", "cuts_scalar", "tool_tables", "CHUNK"]

CHUNK = 65536


@njit(cache=True)
def _life(vc, inv_n, C, k_int):
    x = C / vc
    if k_int == 4:
        x2 = x * x
        return x2 * x2
    if k_int == 8:
        x2 = x * x
        x4 = x2 * x2
        return x4 * x4
    return math.exp(math.log(x) * inv_n)


@njit(cache=True)
def cuts_scalar(f, ap, vc, kc11, mc, kappa_r, n, C, r_nose, t_cut):
    """(Fc [N], Pc [W], T [s], Ra [m], life fraction) of one cut (same algebra as the batch)."""
    if f <= 0.0 or ap <= 0.0 or vc <= 0.0 or r_nose <= 0.0 or t_cut < 0.0 or n <= 0.0:
        raise ValueError("need f, ap, vc, r_nose, n > 0 and t_cut >= 0")
    s = math.sin(kappa_r)
    fc = kc11 * ap * f * math.exp(-mc * math.log(f * s / H0))
    inv_n = 1.0 / n
    k = int(round(inv_n))
    T = _life(vc, inv_n, C, k if abs(inv_n - k) < 1e-12 else 0)
    return fc, fc * vc, T, f * f / (32.0 * r_nose), t_cut / T


def tool_tables(kappa_r, r_nose, n, C):
    """Per-tool arrays for :func:`cuts_batch`: (sin kappa_r, nose radius, 1/n, C, integer 1/n or 0)."""
    kappa_r, r_nose, n, C = (np.asarray(x, dtype=float) for x in (kappa_r, r_nose, n, C))
    if np.any(r_nose <= 0) or np.any(n <= 0) or np.any(C <= 0):
        raise ValueError("tool nose radius, Taylor n and C must be > 0")
    inv_n = 1.0 / n
    k = np.rint(inv_n)
    k_int = np.where((np.abs(inv_n - k) < 1e-12) & np.isin(k, (4, 8)), k, 0).astype(np.int64)
    return np.sin(kappa_r), r_nose, inv_n, C, k_int


@njit(cache=True, parallel=True)
def cuts_batch(f, ap, vc, t_cut, material, tool, kc11, mc, sin_kr, r_nose, inv_n, C, k_int, Fc, Pc, T, Ra):
    """Fused pass over cuts. Per cut: f [m/rev], ap [m], vc [m/s], t_cut [s], material index,
    tool index; material table kc11 [Pa], mc; tool tables from :func:`tool_tables`. Fills Fc, Pc,
    T, Ra and returns the life-fraction sum per tool."""
    m = len(f)
    n_tools = len(inv_n)
    n_mat = len(kc11)
    n_chunks = (m + CHUNK - 1) // CHUNK
    part = np.zeros((n_chunks, n_tools))
    bad = 0
    for c in prange(n_chunks):
        lo = c * CHUNK
        hi = min(m, lo + CHUNK)
        for i in range(lo, hi):
            fi = f[i]
            v = vc[i]
            j = tool[i]
            q = material[i]
            if fi <= 0.0 or ap[i] <= 0.0 or v <= 0.0 or t_cut[i] < 0.0 or j < 0 or j >= n_tools or q < 0 or q >= n_mat:
                bad += 1
                continue
            fc = kc11[q] * ap[i] * fi * math.exp(-mc[q] * math.log(fi * sin_kr[j] / H0))
            life = _life(v, inv_n[j], C[j], k_int[j])
            Fc[i] = fc
            Pc[i] = fc * v
            T[i] = life
            Ra[i] = fi * fi / (32.0 * r_nose[j])
            part[c, j] += t_cut[i] / life
    if bad > 0:
        raise ValueError("invalid cut: need f, ap, vc > 0, t_cut >= 0 and valid material and tool indices")
    wear = np.zeros(n_tools)
    for c in range(n_chunks):
        for j in range(n_tools):
            wear[j] += part[c, j]
    return wear
