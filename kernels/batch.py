"""Batch kernels over many cuts: force, power, tool life, life-fraction accumulation per tool
and roughness in one fused pass (numba, parallel over cuts).

Per cut (Kienzle, Taylor, kinematic roughness; see machining, tool_wear, surface):
``Fc = kc11 ap f exp(-mc ln(f sin kappa_r / h0))`` (b h = ap f), ``Pc = Fc vc``,
``T = exp(ln(C / vc) / n)``, ``Ra = f^2 / (32 r)``, life fraction ``t / T``. The per-tool sum of
life fractions is accumulated in a second, sequential pass so the result does not depend on the
number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .machining import H0

__all__ = ["cuts_batch", "cuts_scalar"]


@njit(cache=True)
def cuts_scalar(f, ap, vc, kc11, mc, kappa_r, n, C, r_nose, t_cut):
    """(Fc [N], Pc [W], T [s], Ra [m], life fraction) of one cut (same algebra as the batch)."""
    if f <= 0.0 or ap <= 0.0 or vc <= 0.0 or r_nose <= 0.0 or t_cut < 0.0:
        raise ValueError("need f, ap, vc, r_nose > 0 and t_cut >= 0")
    s = math.sin(kappa_r)
    fc = kc11 * ap * f * math.exp(-mc * math.log(f * s / H0))
    lt = math.log(C / vc) / n
    T = math.exp(lt)
    return fc, fc * vc, T, f * f / (32.0 * r_nose), t_cut * math.exp(-lt)


@njit(cache=True, parallel=True, fastmath=False)
def cuts_batch(f, ap, vc, kc11, mc, kappa_r, n, C, r_nose, t_cut, tool, n_tools, Fc, Pc, T, Ra):
    """Fill Fc, Pc, T, Ra (arrays of len(f)) and return the life-fraction sum per tool
    (array of n_tools). Material constants kc11, mc and Taylor n, C per cut (arrays)."""
    m = len(f)
    for i in range(m):  # validation pass (cheap, sequential, raises before any work)
        if f[i] <= 0.0 or ap[i] <= 0.0 or vc[i] <= 0.0 or r_nose[i] <= 0.0 or t_cut[i] < 0.0:
            raise ValueError("need f, ap, vc, r_nose > 0 and t_cut >= 0 for every cut")
        if tool[i] < 0 or tool[i] >= n_tools:
            raise ValueError("tool index out of range")
    frac = np.empty(m)
    for i in prange(m):
        fi = f[i]
        s = math.sin(kappa_r[i])
        fc = kc11[i] * ap[i] * fi * math.exp(-mc[i] * math.log(fi * s / H0))
        lt = math.log(C[i] / vc[i]) / n[i]
        Fc[i] = fc
        Pc[i] = fc * vc[i]
        T[i] = math.exp(lt)
        Ra[i] = fi * fi / (32.0 * r_nose[i])
        frac[i] = t_cut[i] * math.exp(-lt)
    wear = np.zeros(n_tools)
    for i in range(m):
        wear[tool[i]] += frac[i]
    return wear
