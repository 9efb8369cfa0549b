"""Batch kernel over many cuts: force, power, tool life, life-fraction accumulation per tool
and roughness in one fused pass (numba, parallel over fixed chunks of cuts, vectorised).

Per cut ``i`` with material ``q`` and tool ``j`` (Kienzle, Taylor, kinematic roughness; see
:mod:`machining`, :mod:`tool_wear`, :mod:`surface`):

* ``Fc = kc11_q ap f exp(-mc_q (ln f + ln(sin(kappa_r_j) / h0)))`` [N] (turning, ``b h = ap f``,
  ``h = f sin kappa_r``, ``h0 = 1e-3 m``), ``Pc = Fc vc`` [W];
* ``T = exp((ln C_j - ln vc) / n_j)`` [s] (Taylor ``vc T**n = C`` in SI, C in ``m s**(n-1)``);
* ``Ra = f**2 / (32 r_j)`` [m] (``RA_CONST_TEXTBOOK``); life fraction ``t_cut / T``, summed per tool.

Units: f [m/rev], ap [m], vc [m/s], t_cut [s], kc11 [Pa], r [m], kappa_r [rad]. Validity as
the underlying models (Kienzle for h ~ 0.05-1.5 mm, Taylor inside the tested speed range).
Sources: Kienzle & Victor (1957); Taylor (1907), Groover, Fundamentals of Modern Manufacturing
ch. 23; Groover ch. 24 for the ideal roughness.

Speed: one log of f, one log of vc and two exps per cut, written in the vectorisable
fdlibm algorithms of :mod:`vecmath` (< 1 ulp; libm calls do not vectorise), the tool
constants ``ln(sin kappa_r / h0)``, ``1/n`` and ``ln C`` precomputed once per tool by
:func:`tool_tables`, and the per-tool sum done from a small cache-resident block buffer after
each vectorised block. Each block of cuts takes its two logs in a first loop and the rest in a
second: the out-of-order core then overlaps more cuts than one long loop body allows (a third
faster on one thread). Life fractions are summed per tool inside fixed chunks of cuts and the
chunk sums added in chunk order, so results are bit-identical for any number of threads.
Inputs are checked in the first loop of each block; a block with an invalid cut is not
computed further (its table indices cannot be trusted) and the call raises ``ValueError``
afterwards (the output arrays are then partly written).

Floating point: compiled with ``fastmath={"contract"}`` only, so LLVM may fuse a multiply and
an add into one FMA (one rounding instead of two; no reassociation, no finite-math
assumptions). :mod:`vecmath` stays within 1 ulp of libm that way (tested), and the scalar
twin is compiled with the same flag.
"""

from __future__ import annotations

import math

import numpy as np  # noqa: F401  (doctests)
from numba import njit, prange

from .machining import H0
from .surface import RA_CONST_TEXTBOOK
from .vecmath import exp_v, log_v

__all__ = ["cuts_batch", "cuts_scalar", "tool_tables", "CHUNK", "BLOCK"]

CHUNK = 65536  # cuts per parallel work item (fixed: the per-tool sums do not depend on threads)
BLOCK = 1024  # cuts per vectorised block inside a chunk


@njit(cache=True)
def _tool_row(kappa_r, r_nose, n, C):
    if r_nose <= 0.0:
        raise ValueError("tool nose radius r_nose must be > 0")
    if n <= 0.0 or C <= 0.0:
        raise ValueError("Taylor n and C of a tool must be > 0")
    s = math.sin(kappa_r)
    if s <= 0.0:
        raise ValueError("tool kappa_r must be in (0, pi)")
    return math.log(s / H0), r_nose, 1.0 / n, math.log(C)


@njit(cache=True, inline="always", error_model="numpy", fastmath={"contract"})
def _cut(f, ap, vc, t_cut, ln_f, ln_vc, kc11, mc, lsh, r_nose, inv_n, lnC):
    """One cut from its inputs and the logs of f and vc (the batch takes those in a first pass)."""
    fc = kc11 * ap * f * exp_v(-mc * (ln_f + lsh))
    life = exp_v((lnC - ln_vc) * inv_n)
    return fc, fc * vc, life, RA_CONST_TEXTBOOK * f * f / r_nose, t_cut / life


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def cuts_scalar(f, ap, vc, kc11, mc, kappa_r, n, C, r_nose, t_cut):
    """One cut through the batch algebra: (Fc [N], Pc [W], T [s], Ra [m], life fraction [-]).

    f [m/rev], ap [m], vc [m/s], kc11 [Pa], mc [-], kappa_r [rad], Taylor n [-] and C [SI],
    r_nose [m], t_cut [s]. Formulas, validity and sources: module docstring. Bit-identical to
    one element of :func:`cuts_batch`; equal to :func:`turning_force`, :func:`taylor_life` and
    :func:`ra_theoretical` to ~1e-15 relative.

    >>> Fc, Pc, T, Ra, D = cuts_scalar(3e-4, 3e-3, 2.0, 1.5e9, 0.22, math.pi / 2, 0.25, 500 * 60 ** -0.75, 8e-4, 60.0)
    >>> round(Fc, 2), round(T, 1), round(Ra * 1e6, 4)
    (1759.41, 18084.5, 3.5156)
    """
    if not (f > 0.0):
        raise ValueError("feed f must be > 0")
    if not (ap > 0.0):
        raise ValueError("depth of cut ap must be > 0")
    if not (vc > 0.0):
        raise ValueError("cutting speed vc must be > 0")
    if not (t_cut >= 0.0):
        raise ValueError("cutting time t_cut must be >= 0")
    lsh, r, inv_n, lnC = _tool_row(kappa_r, r_nose, n, C)
    return _cut(f, ap, vc, t_cut, log_v(f), log_v(vc), kc11, mc, lsh, r, inv_n, lnC)


@njit(cache=True)
def tool_tables(kappa_r, r_nose, n, C):
    """Per-tool constants for :func:`cuts_batch` from arrays of kappa_r [rad], nose radius
    r_nose [m], Taylor n [-] and C [SI, m s**(n-1)]: (ln(sin kappa_r / h0), r_nose, 1/n, ln C).

    >>> lsh, r, inv_n, lnC = tool_tables(np.array([math.pi / 2]), np.array([8e-4]), np.array([0.25]), np.array([10.0]))
    >>> round(float(lsh[0]), 6), float(inv_n[0])
    (6.907755, 4.0)
    """
    m = len(kappa_r)
    if len(r_nose) != m or len(n) != m or len(C) != m:
        raise ValueError("tool tables kappa_r, r_nose, n and C must have the same length")
    lsh = np.empty(m)
    r = np.empty(m)
    inv_n = np.empty(m)
    lnC = np.empty(m)
    for j in range(m):
        lsh[j], r[j], inv_n[j], lnC[j] = _tool_row(kappa_r[j], r_nose[j], n[j], C[j])
    return lsh, r, inv_n, lnC


@njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract"})
def cuts_batch(f, ap, vc, t_cut, material, tool, kc11, mc, lsh, r_nose, inv_n, lnC, Fc, Pc, T, Ra):
    """Fused pass over cuts; fills Fc [N], Pc [W], T [s], Ra [m] and returns the life-fraction
    sum per tool [-] (a tool is worn out at 1).

    Per cut: f [m/rev], ap [m], vc [m/s], t_cut [s], material index into kc11 [Pa] / mc [-],
    tool index into the tables of :func:`tool_tables`. Formulas and sources: module docstring.

    >>> lsh, r, inv_n, lnC = tool_tables(np.array([math.pi / 2]), np.array([8e-4]), np.array([0.25]),
    ...                                  np.array([500 * 60 ** -0.75]))
    >>> out = [np.empty(2) for _ in range(4)]
    >>> wear = cuts_batch(np.array([3e-4, 3e-4]), np.array([3e-3, 3e-3]), np.array([2.0, 2.0]),
    ...                   np.array([1875.0, 1875.0]), np.zeros(2, np.int64), np.zeros(2, np.int64),
    ...                   np.array([1.5e9]), np.array([0.22]), lsh, r, inv_n, lnC, *out)
    >>> round(float(out[0][0]), 2), round(float(wear[0]), 5)   # two 1875 s cuts of an 18084.5 s life
    (1759.41, 0.20736)
    """
    m = len(f)
    if len(ap) != m or len(vc) != m or len(t_cut) != m or len(material) != m or len(tool) != m:
        raise ValueError("cut arrays f, ap, vc, t_cut, material and tool must have the same length")
    if len(Fc) != m or len(Pc) != m or len(T) != m or len(Ra) != m:
        raise ValueError("output arrays Fc, Pc, T and Ra must have the length of the cuts")
    n_tools = len(inv_n)
    n_mat = len(kc11)
    if len(mc) != n_mat or n_mat < 1:
        raise ValueError("material tables kc11 and mc must be non-empty and of the same length")
    if len(lsh) != n_tools or len(r_nose) != n_tools or len(lnC) != n_tools or n_tools < 1:
        raise ValueError("tool tables must be non-empty and of the same length (see tool_tables)")
    n_chunks = (m + CHUNK - 1) // CHUNK
    part = np.zeros((n_chunks, n_tools))
    bad = 0
    for c in prange(n_chunks):
        lo = c * CHUNK
        hi = min(m, lo + CHUNK)
        frac = np.empty(BLOCK)
        ln_f = np.empty(BLOCK)
        ln_vc = np.empty(BLOCK)
        nb = 0
        for b0 in range(lo, hi, BLOCK):
            # unsigned loop and table indices: numba adds no negative-index wraparound to them
            u0 = np.uint64(b0)
            u1 = np.uint64(min(hi, b0 + BLOCK))
            n_bad = 0
            for i in range(u0, u1):  # checks and the two logs (a short body keeps more cuts in flight)
                fi = f[i]
                v = vc[i]
                q = material[i]
                j = tool[i]
                ok = (fi > 0.0) & (ap[i] > 0.0) & (v > 0.0) & (t_cut[i] >= 0.0) & (q >= 0) & (q < n_mat) & (j >= 0) & (j < n_tools)
                n_bad += 0 if ok else 1
                ln_f[i - u0] = log_v(fi)
                ln_vc[i - u0] = log_v(v)
            nb += n_bad
            if n_bad == 0:  # every table index of the block is valid (else it is skipped and we raise)
                for i in range(u0, u1):  # vectorised: no calls, no branches, no scatter
                    q = np.uint64(material[i])
                    j = np.uint64(tool[i])
                    fc, pc, life, ra, fr = _cut(f[i], ap[i], vc[i], t_cut[i], ln_f[i - u0], ln_vc[i - u0], kc11[q], mc[q],
                                                lsh[j], r_nose[j], inv_n[j], lnC[j])
                    Fc[i] = fc
                    Pc[i] = pc
                    T[i] = life
                    Ra[i] = ra
                    frac[i - u0] = fr
                for i in range(u0, u1):  # per-tool sums from the block buffer (in L1)
                    part[c, np.uint64(tool[i])] += frac[i - u0]
        bad += nb
    if bad > 0:
        raise ValueError("invalid cut: need f, ap, vc > 0, t_cut >= 0 and material/tool indices inside the tables")
    wear = np.zeros(n_tools)
    for c in range(n_chunks):
        for j in range(n_tools):
            wear[j] += part[c, j]
    return wear
