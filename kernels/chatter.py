"""Regenerative chatter in orthogonal cutting (turning, boring, shaping), after Tlusty and
Altintas (Altintas, Manufacturing Automation, 2nd ed., ch. 3.2-3.3).

Frequency response of a mode (stiffness k [N/m], damping ratio zeta, natural frequency
omega_n [rad/s]) oriented at theta to the cut: ``G = 1 / (k_eff (1 - r^2 + 2 j zeta r))``,
``r = omega / omega_n``, ``k_eff = k / cos^2(theta)``; several modes add. Stability limit
``b_lim(omega) = -1 / (2 Ks Re G(omega))`` where Re G < 0; the absolute limit (one mode)
``b_lim_min = 2 k_eff zeta (1 + zeta) / Ks`` at ``omega_c = omega_n sqrt(1 + 2 zeta)``. Lobes:
``eps = 3 pi + 2 psi``, ``psi = atan2(Im G, Re G)``, spindle speeds
``Omega_N = f_c / (N + eps / 2 pi)`` [rev/s] (one tooth; divide by the number of teeth for
milling-like multi-tooth cutters). Ks [Pa] is the cutting coefficient in the vibration direction.
Validity: linear model, single regeneration, constant Ks, no process damping (low speeds are
more stable in practice than predicted).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["frf_single_mode", "frf_multi_mode", "b_lim_min", "chatter_frequency", "stability_lobes",
           "critical_depth", "is_stable", "lobe_speeds"]


@njit(cache=True)
def frf_single_mode(omega, k, zeta, omega_n):
    """(Re G, Im G) [m/N] of one mode at angular frequency omega [rad/s].

    >>> re, im = frf_single_mode(2 * math.pi * 500 * math.sqrt(1.1), 2e7, 0.05, 2 * math.pi * 500)
    >>> round(re * 1e7, 5)
    -2.38095
    """
    if k <= 0.0 or zeta <= 0.0 or omega_n <= 0.0:
        raise ValueError("k, zeta and omega_n must be > 0")
    r = omega / omega_n
    a = 1.0 - r * r
    b = 2.0 * zeta * r
    d = k * (a * a + b * b)
    return a / d, -b / d


@njit(cache=True)
def frf_multi_mode(omega, ks, zetas, omegas):
    """Sum of modes (arrays of k [N/m], zeta, omega_n [rad/s]) -> (Re G, Im G) [m/N]."""
    re = 0.0
    im = 0.0
    for i in range(len(ks)):
        a, b = frf_single_mode(omega, ks[i], zetas[i], omegas[i])
        re += a
        im += b
    return re, im


@njit(cache=True)
def b_lim_min(k, zeta, Ks, theta=0.0):
    """Absolute (minimum) stable depth of cut [m]: 2 k_eff zeta (1 + zeta) / Ks, k_eff = k / cos^2 theta.

    >>> round(b_lim_min(2.26e8, 0.012, 1e9, math.radians(30)) * 1e3, 5)
    7.31878
    """
    if Ks <= 0.0:
        raise ValueError("cutting coefficient Ks must be > 0")
    if k <= 0.0 or zeta <= 0.0:
        raise ValueError("k and zeta must be > 0")
    c = math.cos(theta)
    if c == 0.0:
        raise ValueError("theta = 90 deg: the mode does not see the cutting force")
    return 2.0 * (k / (c * c)) * zeta * (1.0 + zeta) / Ks


@njit(cache=True)
def chatter_frequency(fn, zeta):
    """Chatter frequency at the most unstable point [Hz]: fn sqrt(1 + 2 zeta).

    >>> round(chatter_frequency(250.0, 0.012), 3)
    252.982
    """
    if fn <= 0.0 or zeta <= 0.0:
        raise ValueError("fn and zeta must be > 0")
    return fn * math.sqrt(1.0 + 2.0 * zeta)


@njit(cache=True)
def _lobe_point(fc_hz, k_eff, zeta, omega_n, Ks, N):
    w = 2.0 * math.pi * fc_hz
    re, im = frf_single_mode(w, k_eff, zeta, omega_n)
    if re >= 0.0:
        return np.nan, np.nan
    psi = math.atan2(im, re)
    eps = 3.0 * math.pi + 2.0 * psi
    return fc_hz / (N + eps / (2.0 * math.pi)), -1.0 / (2.0 * Ks * re)


@njit(cache=True)
def lobe_speeds(fn, zeta, n_lobes):
    """Spindle speeds [rev/s] of the lobe bottoms N = 0..n_lobes-1 (one tooth) and eps [rad].

    >>> s, eps = lobe_speeds(250.0, 0.012, 4)
    >>> round(float(s[1]), 3), round(eps, 5)
    (144.406, 4.72425)
    """
    fc = chatter_frequency(fn, zeta)
    re, im = frf_single_mode(2.0 * math.pi * fc, 1.0, zeta, 2.0 * math.pi * fn)
    eps = 3.0 * math.pi + 2.0 * math.atan2(im, re)
    out = np.empty(n_lobes)
    for N in range(n_lobes):
        out[N] = fc / (N + eps / (2.0 * math.pi))
    return out, eps


@njit(cache=True, parallel=True)
def stability_lobes(k, zeta, fn, Ks, theta=0.0, n_lobes=5, n_points=400, teeth=1):
    """Stability lobe diagram of one mode: arrays (spindle speed [rev/s], critical depth [m]),
    shape (n_lobes, n_points), sweeping the chatter frequency from fn to 1.5 fn on each lobe.
    For a cutter with ``teeth`` teeth the spindle speed is divided by ``teeth``.

    >>> S, B = stability_lobes(2.26e8, 0.012, 250.0, 1e9, math.radians(30), 3, 200, 1)
    >>> round(float(np.nanmin(B)) * 1e3, 2)
    7.33
    """
    if n_lobes < 1 or n_points < 2 or teeth < 1:
        raise ValueError("need n_lobes >= 1, n_points >= 2, teeth >= 1")
    if Ks <= 0.0 or k <= 0.0 or zeta <= 0.0 or fn <= 0.0:
        raise ValueError("k, zeta, fn and Ks must be > 0")
    c = math.cos(theta)
    k_eff = k / (c * c)
    wn = 2.0 * math.pi * fn
    speed = np.empty((n_lobes, n_points))
    depth = np.empty((n_lobes, n_points))
    for idx in prange(n_lobes * n_points):
        N = idx // n_points
        i = idx % n_points
        fc = fn * (1.0 + 1e-6 + 0.5 * i / (n_points - 1))
        s, b = _lobe_point(fc, k_eff, zeta, wn, Ks, N)
        speed[N, i] = s / teeth
        depth[N, i] = b
    return speed, depth


@njit(cache=True)
def critical_depth(spindle_speed, k, zeta, fn, Ks, theta=0.0, teeth=1, n_lobes=60, n_points=600):
    """Critical depth of cut [m] at a spindle speed [rev/s]: the lowest lobe at that speed
    (interpolated on each lobe's curve); above all lobes' speed range it returns the depth on
    lobe 0."""
    if spindle_speed <= 0.0:
        raise ValueError("spindle speed must be > 0")
    c = math.cos(theta)
    k_eff = k / (c * c)
    wn = 2.0 * math.pi * fn
    best = np.inf
    s_tooth = spindle_speed * teeth
    for N in range(n_lobes):
        prev_s = np.nan
        prev_b = np.nan
        for i in range(n_points):
            fc = fn * (1.0 + 1e-6 + 0.5 * i / (n_points - 1))
            s, b = _lobe_point(fc, k_eff, zeta, wn, Ks, N)
            if i > 0 and not math.isnan(prev_s):
                lo = min(prev_s, s)
                hi = max(prev_s, s)
                if lo <= s_tooth <= hi and hi > lo:
                    t = (s_tooth - prev_s) / (s - prev_s)
                    d = prev_b + t * (b - prev_b)
                    if d < best:
                        best = d
            prev_s = s
            prev_b = b
    if best == np.inf:
        best = b_lim_min(k, zeta, Ks, theta)
    return best


@njit(cache=True)
def is_stable(spindle_speed, depth, k, zeta, fn, Ks, theta=0.0, teeth=1):
    """True if cutting ``depth`` [m] at ``spindle_speed`` [rev/s] lies below the stability lobes.
    Depths below b_lim_min are stable at every speed.

    >>> is_stable(100.0, 0.005, 2.26e8, 0.012, 250.0, 1e9, math.radians(30))
    True
    """
    if depth < 0.0:
        raise ValueError("depth must be >= 0")
    if depth < b_lim_min(k, zeta, Ks, theta):
        return True
    return depth < critical_depth(spindle_speed, k, zeta, fn, Ks, theta, teeth, 60, 600)
