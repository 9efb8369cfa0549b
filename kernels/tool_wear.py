"""Tool life and flank wear.

Taylor (1907): ``v T**n = C``. Books give C in m/min with T in min; these kernels use SI
(v [m/s], T [s]) with ``C_SI = C * 60**(n - 1)`` converted once (``materials.taylor_C_si``).
Extended Taylor: ``T = T_ref (v_ref/v)**(1/n) (f_ref/f)**(1/nf) (ap_ref/ap)**(1/na)``
(Groover 23.3; exponents from tool-maker data). Cumulative damage over changing conditions:
the life-fraction rule ``D = sum(t_i / T_i)``, tool worn at D = 1 (Miner-type rule as used for
tool life, e.g. Stephenson & Agapiou, Metal Cutting Theory and Practice, ch. 9).
Flank wear VB(t): three stages (break-in, steady, accelerated) after the classical wear curve
(ISO 3685 criterion VB_B = 0.3 mm), calibrated so VB reaches the criterion exactly at the
Taylor life. Economic cutting speed: Gilbert (1950), Groover 23.5.
Validity: Taylor's law within the tested speed range of the tool/work pair (usually a factor
~2-3 around the test speeds).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["taylor_life", "taylor_speed", "taylor_extended_life", "taylor_from_two_points", "life_fraction",
           "cumulative_damage", "flank_wear_vb", "time_to_vb", "economic_speed_min_cost", "economic_speed_max_production",
           "VB_CRIT"]

VB_CRIT = 0.3e-3  # [m] ISO 3685 average flank wear criterion
VB_BREAKIN = 0.05e-3  # [m] wear at the end of break-in
T_BREAKIN = 0.05  # break-in lasts this fraction of the life
T_ACCEL = 0.85  # accelerated wear starts at this fraction of the life
VB_ACCEL = 0.22e-3  # [m] wear when accelerated wear starts (for VB_CRIT = 0.3 mm; scaled with it)


@njit(cache=True)
def taylor_life(vc, n, C):
    """Tool life T = (C / vc)**(1/n) [s]; vc [m/s], C in SI [m s^(n-1)].

    >>> round(taylor_life(50 / 60, 0.125, 1.946326500687), 2)
    885.47
    """
    if vc <= 0.0:
        raise ValueError("cutting speed vc must be > 0")
    if n <= 0.0 or C <= 0.0:
        raise ValueError("Taylor n and C must be > 0")
    return math.exp(math.log(C / vc) / n)


@njit(cache=True)
def taylor_speed(T, n, C):
    """Cutting speed for a tool life T [s]: v = C / T**n [m/s].

    >>> round(taylor_speed(885.473, 0.125, 1.946326500687) * 60, 3)
    50.0
    """
    if T <= 0.0:
        raise ValueError("tool life T must be > 0")
    return C * math.exp(-n * math.log(T))


@njit(cache=True)
def taylor_extended_life(vc, f, ap, T_ref, v_ref, f_ref, ap_ref, n, nf, na):
    """Extended Taylor life [s]: T = T_ref (v_ref/v)^(1/n) (f_ref/f)^(1/nf) (ap_ref/ap)^(1/na).

    >>> round(taylor_extended_life(4.0, 2e-4, 2e-3, 900.0, 4.0, 2e-4, 2e-3, 0.25, 0.5, 0.75), 6)
    900.0
    """
    if vc <= 0.0 or f <= 0.0 or ap <= 0.0:
        raise ValueError("vc, f and ap must be > 0")
    if n <= 0.0 or nf <= 0.0 or na <= 0.0:
        raise ValueError("exponents must be > 0")
    return T_ref * math.exp(math.log(v_ref / vc) / n + math.log(f_ref / f) / nf + math.log(ap_ref / ap) / na)


@njit(cache=True)
def taylor_from_two_points(v1, T1, v2, T2):
    """Fit Taylor n and C_SI from two tests (v [m/s], T [s]): n = ln(v1/v2)/ln(T2/T1), C = v1 T1^n.

    >>> n, C = taylor_from_two_points(160 / 60, 300.0, 100 / 60, 2460.0)
    >>> round(n, 6), round(C, 5)
    (0.223372, 9.53426)
    """
    if v1 <= 0.0 or v2 <= 0.0 or T1 <= 0.0 or T2 <= 0.0:
        raise ValueError("speeds and lives must be > 0")
    if v1 == v2 or T1 == T2:
        raise ValueError("the two test points must differ in speed and life")
    n = math.log(v1 / v2) / math.log(T2 / T1)
    if n <= 0.0:
        raise ValueError("faster cutting must shorten tool life (got n <= 0)")
    return n, v1 * math.exp(n * math.log(T1))


@njit(cache=True)
def life_fraction(t, vc, n, C):
    """Share of the tool life used by cutting for t [s] at vc: t / T(vc).

    >>> round(life_fraction(88.5473, 50 / 60, 0.125, 1.946326500687), 6)
    0.1
    """
    if t < 0.0:
        raise ValueError("cutting time must be >= 0")
    return t / taylor_life(vc, n, C)


@njit(cache=True, parallel=True)
def cumulative_damage(times, speeds, n, C):
    """Life-fraction sum D = sum(t_i / T(v_i)) over a sequence of cuts (tool worn at D >= 1).

    >>> import numpy as np
    >>> round(cumulative_damage(np.array([442.7365, 1786.125]), np.array([50/60, 42/60]), 0.125, 1.946326500687), 4)
    1.0
    """
    if len(times) != len(speeds):
        raise ValueError("times and speeds must have the same length")
    if n <= 0.0 or C <= 0.0:
        raise ValueError("Taylor n and C must be > 0")
    for i in range(len(times)):
        if times[i] < 0.0 or speeds[i] <= 0.0:
            raise ValueError("times must be >= 0 and speeds > 0")
    tot = 0.0
    inv_n = 1.0 / n
    for i in prange(len(times)):
        tot += times[i] * math.exp(-math.log(C / speeds[i]) * inv_n)
    return tot


@njit(cache=True)
def flank_wear_vb(t, T_life, vb_crit=VB_CRIT):
    """Flank wear VB(t) [m] of a tool with Taylor life T_life [s]: piecewise curve with
    break-in (0 -> 0.05 mm over the first 5 % of life, concave), steady linear wear, and
    accelerated wear (quadratic) after 85 % of life, reaching ``vb_crit`` exactly at T_life.
    Stage values scale with vb_crit. Valid for 0 <= t <= ~1.2 T_life (extrapolates quadratically).

    >>> round(flank_wear_vb(900.0, 900.0) * 1e3, 6)
    0.3
    """
    if T_life <= 0.0:
        raise ValueError("tool life must be > 0")
    if t < 0.0:
        raise ValueError("time must be >= 0")
    s = vb_crit / VB_CRIT
    x = t / T_life
    vb1, vb2 = VB_BREAKIN * s, VB_ACCEL * s
    if x <= T_BREAKIN:
        u = x / T_BREAKIN
        return vb1 * (2.0 * u - u * u)
    if x <= T_ACCEL:
        return vb1 + (vb2 - vb1) * (x - T_BREAKIN) / (T_ACCEL - T_BREAKIN)
    # accelerated: continuous slope at T_ACCEL, hits vb_crit at x = 1
    m = (vb2 - vb1) / (T_ACCEL - T_BREAKIN)
    d = 1.0 - T_ACCEL
    a = (vb_crit - vb2 - m * d) / (d * d)
    y = x - T_ACCEL
    return vb2 + m * y + a * y * y


@njit(cache=True)
def time_to_vb(vb, T_life, vb_crit=VB_CRIT):
    """Inverse of :func:`flank_wear_vb`: cutting time [s] at which the flank wear reaches vb.

    >>> round(time_to_vb(0.3e-3, 900.0), 6)
    900.0
    """
    if vb < 0.0:
        raise ValueError("vb must be >= 0")
    s = vb_crit / VB_CRIT
    vb1, vb2 = VB_BREAKIN * s, VB_ACCEL * s
    if vb <= vb1:
        u = 1.0 - math.sqrt(max(0.0, 1.0 - vb / vb1))
        return u * T_BREAKIN * T_life
    if vb <= vb2:
        return (T_BREAKIN + (vb - vb1) / (vb2 - vb1) * (T_ACCEL - T_BREAKIN)) * T_life
    m = (vb2 - vb1) / (T_ACCEL - T_BREAKIN)
    d = 1.0 - T_ACCEL
    a = (vb_crit - vb2 - m * d) / (d * d)
    y = (-m + math.sqrt(m * m + 4.0 * a * (vb - vb2))) / (2.0 * a) if a != 0.0 else (vb - vb2) / m
    return (T_ACCEL + y) * T_life


@njit(cache=True)
def economic_speed_min_cost(n, C, Co, Ct, Tt):
    """Cutting speed for minimum cost per piece [m/s] (Gilbert; Groover eq. 23.16):
    v = C / ((1/n - 1) (Co Tt + Ct) / Co)**n. Co: machine+operator cost rate [$/s], Ct: tool cost
    per edge [$], Tt: tool change time [s].

    >>> round(economic_speed_min_cost(0.25, 500 * 60 ** -0.75, 0.5 / 60, 2.5, 120.0) * 60, 1)
    233.6
    """
    if not (0.0 < n < 1.0):
        raise ValueError("n must be in (0, 1)")
    if Co <= 0.0:
        raise ValueError("Co must be > 0")
    T = (1.0 / n - 1.0) * (Co * Tt + Ct) / Co
    return C * math.exp(-n * math.log(T))


@njit(cache=True)
def economic_speed_max_production(n, C, Tt):
    """Cutting speed for maximum production rate [m/s] (Groover eq. 23.14): v = C / ((1/n - 1) Tt)**n.

    >>> round(economic_speed_max_production(0.25, 500 * 60 ** -0.75, 120.0) * 60, 1)
    319.5
    """
    if not (0.0 < n < 1.0):
        raise ValueError("n must be in (0, 1)")
    if Tt <= 0.0:
        raise ValueError("tool change time must be > 0")
    return C * math.exp(-n * math.log((1.0 / n - 1.0) * Tt))
