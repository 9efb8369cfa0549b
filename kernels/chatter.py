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
           "critical_depth", "is_stable", "lobe_speeds", "directional_factor", "oriented_frf", "chatter_frequency_grid",
           "oriented_lobes", "lobe_envelope", "oriented_critical_depth", "oriented_is_stable", "milling_immersion_angles",
           "milling_directional_coefficients", "milling_zoa_eigenvalues", "milling_lobes", "milling_critical_depth",
           "milling_is_stable"]


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


# --- several modes with directional (orientation) factors: turning, boring, shaping -------------
#
# Tlusty's oriented transfer function (Tlusty, Manufacturing Processes and Equipment, 2000,
# ch. 9; Altintas, Manufacturing Automation, 2nd ed., sec. 3.3): the chip thickness is measured
# along the surface normal n; the resultant cutting force F = Kf b h acts at angle beta from n;
# mode i (stiffness k_i, damping ratio zeta_i, natural frequency f_i) vibrates along a direction at
# angle theta_i from n. The force component along mode i is F cos(theta_i - beta) and the mode's
# motion projects on n with cos(theta_i), so the oriented FRF is
#     Phi(omega) = sum_i u_i G_i(omega),   u_i = cos(theta_i) cos(theta_i - beta).
# Stability: b_lim = -1 / (2 Kf Re Phi) where Re Phi < 0; with Phi = G + jH the phase gives
# eps = pi + 2 atan(H / G) and spindle speeds Omega_N = f_c / (N + eps / 2 pi) (per tooth). One
# mode with beta = 0 is the single-mode model above (u = cos^2 theta, k_eff = k / cos^2 theta).


@njit(cache=True)
def directional_factor(theta, beta=0.0):
    """u = cos(theta) cos(theta - beta): share of a mode at angle theta [rad] from the chip-
    thickness direction that a force at angle beta [rad] from that direction excites and feeds
    back into the chip thickness (Tlusty; Altintas sec. 3.3). Negative u: the mode feeds back
    with the opposite sign (unstable below its resonance instead of above).

    >>> round(directional_factor(math.radians(30.0)), 4)   # cos^2 30 deg
    0.75
    >>> round(directional_factor(math.radians(60.0), math.radians(70.0)), 4)
    0.4924
    """
    return math.cos(theta) * math.cos(theta - beta)


@njit(cache=True)
def oriented_frf(omega, ks, zetas, omegas, thetas, beta=0.0):
    """Oriented FRF (Re Phi, Im Phi) [m/N] at omega [rad/s] of modes with stiffness ks [N/m],
    damping ratios zetas, natural frequencies omegas [rad/s] and directions thetas [rad] (from the
    chip-thickness direction); force at angle beta [rad]. Phi = sum u_i G_i.

    >>> th = np.array([math.radians(30.0), math.radians(-45.0)])
    >>> re, im = oriented_frf(2 * math.pi * 252.98, np.array([2.26e8, 2.13e8]), np.array([0.012, 0.01]),
    ...                       2 * math.pi * np.array([250.0, 150.0]), th)
    >>> round(re * 1e9, 2)   # Altintas' two-mode shaping example near the 250 Hz mode
    -69.59
    """
    n = len(ks)
    if len(zetas) != n or len(omegas) != n or len(thetas) != n:
        raise ValueError("ks, zetas, omegas and thetas need the same length")
    re = 0.0
    im = 0.0
    for i in range(n):
        a, b = frf_single_mode(omega, ks[i], zetas[i], omegas[i])
        u = directional_factor(thetas[i], beta)
        re += u * a
        im += u * b
    return re, im


@njit(cache=True)
def chatter_frequency_grid(fns, zetas, n_per_mode=400):
    """Sorted chatter-frequency grid [Hz] for lobe sweeps over several modes: per mode a band
    0.5 fn ... 1.5 fn (n_per_mode points) plus n_per_mode points within fn (1 +- 8 zeta), where
    the real part of the FRF has its minimum (fn sqrt(1 + 2 zeta)).

    >>> g = chatter_frequency_grid(np.array([250.0]), np.array([0.012]), 100)
    >>> len(g), round(float(g[0]), 1), round(float(g[-1]), 1)
    (200, 125.0, 375.0)
    """
    n = len(fns)
    if n < 1 or len(zetas) != n or n_per_mode < 2:
        raise ValueError("need at least one mode (fns and zetas of equal length) and n_per_mode >= 2")
    out = np.empty(2 * n * n_per_mode)
    j = 0
    for i in range(n):
        if fns[i] <= 0.0 or zetas[i] <= 0.0:
            raise ValueError("natural frequencies and damping ratios must be > 0")
        for p in range(n_per_mode):
            out[j] = fns[i] * (0.5 + p / (n_per_mode - 1.0))
            out[j + 1] = fns[i] * (1.0 + zetas[i] * (-8.0 + 16.0 * p / (n_per_mode - 1.0)))
            j += 2
    return np.sort(out)


@njit(cache=True, parallel=True)
def oriented_lobes(freqs, ks, zetas, fns, thetas, beta, Kf, n_lobes=5, teeth=1):
    """Stability lobes of several oriented modes (turning, boring, shaping): arrays (spindle
    speed [rev/s], critical depth [m]) of shape (n_lobes, len(freqs)), NaN where Re Phi >= 0.
    freqs: chatter frequencies [Hz] to sweep (e.g. :func:`chatter_frequency_grid`); fns [Hz];
    Kf [Pa]: resultant cutting force per chip area (F = Kf b h) at angle beta [rad]. For a cutter
    with ``teeth`` teeth the spindle speed is divided by ``teeth``.

    >>> f = np.linspace(250.0 * 1.000001, 375.0, 400)
    >>> S, B = oriented_lobes(f, np.array([2.26e8]), np.array([0.012]), np.array([250.0]), np.array([math.radians(30.0)]), 0.0, 1e9, 3)
    >>> round(float(np.nanmin(B)) * 1e3, 2)   # = stability_lobes / b_lim_min for one mode
    7.33
    """
    if n_lobes < 1 or teeth < 1:
        raise ValueError("need n_lobes >= 1 and teeth >= 1")
    if Kf <= 0.0:
        raise ValueError("cutting coefficient Kf must be > 0")
    n = len(ks)
    if n < 1 or len(zetas) != n or len(fns) != n or len(thetas) != n:
        raise ValueError("need at least one mode; ks, zetas, fns and thetas of the same length")
    for i in range(n):
        if ks[i] <= 0.0 or zetas[i] <= 0.0 or fns[i] <= 0.0:
            raise ValueError("k, zeta and fn of every mode must be > 0")
    m = len(freqs)
    wn = 2.0 * math.pi * fns
    speed = np.empty((n_lobes, m))
    depth = np.empty((n_lobes, m))
    for i in prange(m):
        fc = freqs[i]
        re, im = oriented_frf(2.0 * math.pi * fc, ks, zetas, wn, thetas, beta)
        for N in range(n_lobes):
            if re < 0.0:
                eps = math.pi + 2.0 * math.atan(im / re)
                speed[N, i] = fc / (N + eps / (2.0 * math.pi)) / teeth
                depth[N, i] = -1.0 / (2.0 * Kf * re)
            else:
                speed[N, i] = np.nan
                depth[N, i] = np.nan
    return speed, depth


@njit(cache=True)
def lobe_envelope(speeds, depths, spindle_speed):
    """Lowest critical depth [m] of any lobe curve at ``spindle_speed`` [rev/s], interpolating
    each curve (rows of ``speeds``/``depths``, any leading shape, points in sweep order; NaN points
    break a curve). Where no curve covers the speed, the lowest depth of all curves is returned
    (the conservative choice).

    >>> S = np.array([[1.0, 2.0, 3.0]]); B = np.array([[3.0, 1.0, 3.0]])
    >>> lobe_envelope(S, B, 1.5), lobe_envelope(S, B, 10.0)
    (2.0, 1.0)
    """
    s2 = speeds.reshape(-1, speeds.shape[-1])
    b2 = depths.reshape(-1, depths.shape[-1])
    best = np.inf
    lowest = np.inf
    for r in range(s2.shape[0]):
        for i in range(s2.shape[1]):
            b = b2[r, i]
            if not math.isnan(b) and b < lowest:
                lowest = b
            if i == 0:
                continue
            s0 = s2[r, i - 1]
            s1 = s2[r, i]
            b0 = b2[r, i - 1]
            if math.isnan(s0) or math.isnan(s1) or math.isnan(b0) or math.isnan(b):
                continue
            lo = min(s0, s1)
            hi = max(s0, s1)
            if hi > lo and lo <= spindle_speed <= hi:
                d = b0 + (spindle_speed - s0) / (s1 - s0) * (b - b0)
                if d < best:
                    best = d
    if best == np.inf:
        return lowest
    return best


@njit(cache=True)
def oriented_critical_depth(spindle_speed, freqs, ks, zetas, fns, thetas, beta, Kf, teeth=1, n_lobes=60):
    """Critical depth of cut [m] at ``spindle_speed`` [rev/s] for several oriented modes: the
    lowest of :func:`oriented_lobes` there (:func:`lobe_envelope`).

    >>> f = chatter_frequency_grid(np.array([250.0, 150.0]), np.array([0.012, 0.01]), 600)
    >>> d = oriented_critical_depth(144.4, f, np.array([2.26e8, 2.13e8]), np.array([0.012, 0.01]),
    ...                             np.array([250.0, 150.0]), np.radians(np.array([30.0, -45.0])), 0.0, 1e9)
    >>> round(d * 1e3, 2)   # Altintas' two-mode shaping example: lobe bottom near 8700 rpm
    7.19
    """
    if spindle_speed <= 0.0:
        raise ValueError("spindle speed must be > 0")
    S, B = oriented_lobes(freqs, ks, zetas, fns, thetas, beta, Kf, n_lobes, teeth)
    return lobe_envelope(S, B, spindle_speed)


@njit(cache=True)
def oriented_is_stable(spindle_speed, depth, freqs, ks, zetas, fns, thetas, beta, Kf, teeth=1, n_lobes=60):
    """True if cutting ``depth`` [m] at ``spindle_speed`` [rev/s] lies below the lobes of
    :func:`oriented_critical_depth`.

    >>> f = chatter_frequency_grid(np.array([250.0]), np.array([0.012]), 400)
    >>> oriented_is_stable(100.0, 0.005, f, np.array([2.26e8]), np.array([0.012]), np.array([250.0]),
    ...                    np.array([math.radians(30.0)]), 0.0, 1e9)
    True
    """
    if depth < 0.0:
        raise ValueError("depth must be >= 0")
    return depth < oriented_critical_depth(spindle_speed, freqs, ks, zetas, fns, thetas, beta, Kf, teeth, n_lobes)


# --- milling: Altintas-Budak zero-order (average) solution, two orthogonal directions -----------
#
# Altintas & Budak, Analytical prediction of stability lobes in milling, CIRP Annals 44/1 (1995)
# 357-362; Altintas, Manufacturing Automation, 2nd ed., sec. 3.4. Cutter with N teeth, tangential
# cutting coefficient Kt [Pa] and radial-to-tangential ratio Kr; immersion angles phi (clockwise
# from the +y axis, feed along +x) from phi_st to phi_ex. The time-averaged directional
# coefficients are
#     a_xx = 1/2 [cos 2phi - 2 Kr phi + Kr sin 2phi],   a_xy = 1/2 [-sin 2phi - 2 phi + Kr cos 2phi],
#     a_yx = 1/2 [-sin 2phi + 2 phi + Kr cos 2phi],     a_yy = 1/2 [-cos 2phi - 2 Kr phi - Kr sin 2phi],
# each evaluated between phi_st and phi_ex. With the direct FRFs Phi_xx, Phi_yy (sums of the
# modes in x and in y; cross FRFs neglected) the eigenvalue of the averaged system is
#     Lambda = -(a1 +- sqrt(a1^2 - 4 a0)) / (2 a0),  a0 = Phi_xx Phi_yy (a_xx a_yy - a_xy a_yx),
#     a1 = a_xx Phi_xx + a_yy Phi_yy   (Lambda = -1/a1 when a0 = 0),
# and with kappa = Lambda_I / Lambda_R: b_lim = -2 pi Lambda_R (1 + kappa^2) / (N Kt),
# eps = pi - 2 atan(kappa), spindle speed n = f_c / (N (k + eps / 2 pi)) [rev/s], k = 0, 1, ...
# Validity: the average of the periodic directional matrix (zero-order term) must dominate, i.e.
# wide radial immersion and/or several teeth in cut; at small immersion the period-doubling
# (flip) lobes of the time-varying system are missed (use semi-discretisation there).


@njit(cache=True)
def milling_immersion_angles(ae, D, down=True):
    """(phi_st, phi_ex) [rad] of a cutter of diameter D [m] at radial depth ae [m]; up-milling
    enters at 0 and leaves at acos(1 - 2 ae/D), down-milling enters at acos(2 ae/D - 1) and leaves
    at pi (angles clockwise from +y, Altintas sec. 2.2).

    >>> [round(a, 4) for a in milling_immersion_angles(0.01, 0.02, True)]   # half immersion, down
    [1.5708, 3.1416]
    """
    if D <= 0.0 or ae <= 0.0 or ae > D:
        raise ValueError("need 0 < ae <= D")
    if down:
        return math.acos(2.0 * ae / D - 1.0), math.pi
    return 0.0, math.acos(1.0 - 2.0 * ae / D)


@njit(cache=True)
def milling_directional_coefficients(phi_st, phi_ex, Kr):
    """Averaged directional coefficients (a_xx, a_xy, a_yx, a_yy) of the zero-order milling
    solution (Altintas & Budak 1995) for immersion phi_st..phi_ex [rad] and Kr = Kr/Kt [-].

    >>> [round(a, 4) for a in milling_directional_coefficients(0.0, math.pi, 0.3)]   # slotting
    [-0.9425, -3.1416, 3.1416, -0.9425]
    """
    if not (0.0 <= phi_st < phi_ex <= math.pi):
        raise ValueError("need 0 <= phi_st < phi_ex <= pi")

    def fxx(p):
        return 0.5 * (math.cos(2.0 * p) - 2.0 * Kr * p + Kr * math.sin(2.0 * p))

    def fxy(p):
        return 0.5 * (-math.sin(2.0 * p) - 2.0 * p + Kr * math.cos(2.0 * p))

    def fyx(p):
        return 0.5 * (-math.sin(2.0 * p) + 2.0 * p + Kr * math.cos(2.0 * p))

    def fyy(p):
        return 0.5 * (-math.cos(2.0 * p) - 2.0 * Kr * p - Kr * math.sin(2.0 * p))

    return (fxx(phi_ex) - fxx(phi_st), fxy(phi_ex) - fxy(phi_st), fyx(phi_ex) - fyx(phi_st), fyy(phi_ex) - fyy(phi_st))


@njit(cache=True)
def _modes_frf(omega, ks, zetas, wns):
    re = 0.0
    im = 0.0
    for i in range(len(ks)):
        a, b = frf_single_mode(omega, ks[i], zetas[i], wns[i])
        re += a
        im += b
    return complex(re, im)


@njit(cache=True)
def _zoa(omega, kx, zx, wx, ky, zy, wy, axx, axy, ayx, ayy):
    pxx = _modes_frf(omega, kx, zx, wx) if len(kx) > 0 else complex(0.0, 0.0)
    pyy = _modes_frf(omega, ky, zy, wy) if len(ky) > 0 else complex(0.0, 0.0)
    a0 = pxx * pyy * (axx * ayy - axy * ayx)
    a1 = axx * pxx + ayy * pyy
    if a1 == 0.0:
        return complex(np.nan, np.nan), complex(np.nan, np.nan)
    if a0 == 0.0:
        lam = -1.0 / a1
        return lam, lam
    r = np.sqrt(a1 * a1 - 4.0 * a0)
    return -(a1 + r) / (2.0 * a0), -(a1 - r) / (2.0 * a0)


@njit(cache=True)
def _check_modes(k, z, f):
    if len(z) != len(k) or len(f) != len(k):
        raise ValueError("mode arrays of one direction need the same length")
    for i in range(len(k)):
        if k[i] <= 0.0 or z[i] <= 0.0 or f[i] <= 0.0:
            raise ValueError("k, zeta and fn of every mode must be > 0")


@njit(cache=True)
def milling_zoa_eigenvalues(omega, kx, zx, wx, ky, zy, wy, axx, axy, ayx, ayy):
    """The two eigenvalues Lambda (complex) of the zero-order milling solution at chatter
    frequency omega [rad/s]; modes in x (kx [N/m], zx, wx [rad/s]) and in y (may be empty arrays
    for a rigid direction); directional coefficients from :func:`milling_directional_coefficients`.
    A rigid direction leaves one eigenvalue, returned twice; NaN when no mode is seen by the cut."""
    _check_modes(kx, zx, wx)
    _check_modes(ky, zy, wy)
    return _zoa(omega, kx, zx, wx, ky, zy, wy, axx, axy, ayx, ayy)


@njit(cache=True, parallel=True)
def milling_lobes(freqs, kx, zx, fx, ky, zy, fy, Kt, Kr, teeth, phi_st, phi_ex, n_lobes=5):
    """Zero-order (Altintas-Budak) stability lobes of milling with several modes in x and in y:
    arrays (spindle speed [rev/s], limiting axial depth [m]) of shape (2, n_lobes, len(freqs)),
    one sheet per eigenvalue, NaN where that eigenvalue gives no positive depth. freqs: chatter
    frequencies [Hz]; fx, fy [Hz]; Kt [Pa]; Kr = Krc/Ktc [-]; immersion phi_st..phi_ex [rad]
    (:func:`milling_immersion_angles`). The stability limit is the lower envelope of all
    curves (:func:`lobe_envelope`).

    >>> f = np.linspace(600.0, 750.0, 300)
    >>> e = np.empty(0)
    >>> S, B = milling_lobes(f, e, e, e, np.array([5e6]), np.array([0.02]), np.array([600.0]), 6e8, 0.3, 4, 0.0, math.pi, 2)
    >>> round(float(np.nanmin(B)) * 1e3, 3)   # y mode only: = single-mode b_lim_min with Ks = -N Kt a_yy / (4 pi)
    1.133
    """
    if teeth < 1 or n_lobes < 1:
        raise ValueError("need teeth >= 1 and n_lobes >= 1")
    if Kt <= 0.0:
        raise ValueError("Kt must be > 0")
    _check_modes(kx, zx, fx)
    _check_modes(ky, zy, fy)
    if len(kx) + len(ky) == 0:
        raise ValueError("need at least one mode in x or y")
    axx, axy, ayx, ayy = milling_directional_coefficients(phi_st, phi_ex, Kr)
    wx = 2.0 * math.pi * fx
    wy = 2.0 * math.pi * fy
    m = len(freqs)
    speed = np.full((2, n_lobes, m), np.nan)
    depth = np.full((2, n_lobes, m), np.nan)
    for i in prange(m):
        fc = freqs[i]
        l1, l2 = _zoa(2.0 * math.pi * fc, kx, zx, wx, ky, zy, wy, axx, axy, ayx, ayy)
        for e in range(2):
            lam = l1 if e == 0 else l2
            lr = lam.real
            if not lr < 0.0:
                continue
            kap = lam.imag / lr
            b = -2.0 * math.pi * lr * (1.0 + kap * kap) / (teeth * Kt)
            eps = math.pi - 2.0 * math.atan(kap)
            for N in range(n_lobes):
                speed[e, N, i] = fc / (teeth * (N + eps / (2.0 * math.pi)))
                depth[e, N, i] = b
    return speed, depth


@njit(cache=True)
def milling_critical_depth(spindle_speed, freqs, kx, zx, fx, ky, zy, fy, Kt, Kr, teeth, phi_st, phi_ex, n_lobes=60):
    """Limiting axial depth of cut [m] at ``spindle_speed`` [rev/s] by the zero-order milling
    solution (lower envelope of :func:`milling_lobes`)."""
    if spindle_speed <= 0.0:
        raise ValueError("spindle speed must be > 0")
    S, B = milling_lobes(freqs, kx, zx, fx, ky, zy, fy, Kt, Kr, teeth, phi_st, phi_ex, n_lobes)
    return lobe_envelope(S, B, spindle_speed)


@njit(cache=True)
def milling_is_stable(spindle_speed, depth, freqs, kx, zx, fx, ky, zy, fy, Kt, Kr, teeth, phi_st, phi_ex, n_lobes=60):
    """True if axial depth ``depth`` [m] at ``spindle_speed`` [rev/s] lies below the zero-order
    milling lobes."""
    if depth < 0.0:
        raise ValueError("depth must be >= 0")
    return depth < milling_critical_depth(spindle_speed, freqs, kx, zx, fx, ky, zy, fy, Kt, Kr, teeth, phi_st, phi_ex, n_lobes)
