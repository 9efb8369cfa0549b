"""Machining mechanics: Kienzle cutting force for turning, milling and drilling, power,
torque, material removal rate and machining times. SI units throughout.

Kienzle (Kienzle & Victor 1957; as in Degner, Lutze, Smejkal, Spanende Formung): specific
cutting force ``kc = kc11 * (h / h0) ** -mc`` with ``h0 = 1 mm = 1e-3 m``; main cutting force
``Fc = kc * b * h``. For turning ``h = f sin(kappa_r)``, ``b = ap / sin(kappa_r)``. Validity:
chip thickness roughly 0.05-1.5 mm (the power law is fitted there), continuous chips, sharp tool
(wear raises the force; apply a wear factor separately).
Machining times and removal rates follow Groover, Fundamentals of Modern Manufacturing, ch. 21.

Operations beyond turning, milling and drilling (issue 18), each with its force and time model:

* Facing, grooving and parting (radial cuts): Kienzle force with the turning chip (facing) or
  h = f, b = insert width (a straight plunge, kappa_r = 90 deg); time at constant cutting speed
  with the spindle clamped at n_max (:func:`facing_time`, Kyocera technical information "Basic
  formulas: cutting time (facing, grooving)", catalogue 2021-2022; the integral of dr / (f n(r))).
* Boring: the turning chip and time at the bore diameter; the boring bar bends as a cantilever
  under the radial force, y = F L^3 / (3 E I), I = pi d^4 / 64 (:func:`boring_bar_deflection`;
  Isakov, "Boring: calculating deflection", Cutting Tool Engineering, July 2019); a bore comes
  out undersize by twice the deflection and twice the radial wear (:func:`bore_deviation`).
* Single-point threading: ISO 68-1 basic profile depth (:func:`thread_depth`), radial infeed
  per pass for a constant chip area (:func:`thread_infeed`, Sandvik Coromant threading
  formulas), Kienzle force of the V-shaped chip of every pass (:func:`threading_force`) and
  time = passes x L / (P n) (:func:`threading_time`).
* Hole patterns: the rapid path between the holes of a bolt circle,
  (n - 1) x PCD sin(pi / n) (:func:`bolt_circle_path`), and the pattern's time
  (:func:`hole_pattern_time`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

H0 = 1e-3  # [m] reference chip thickness of kc1.1

__all__ = [
    "kienzle_specific_force", "turning_force", "cutting_power", "spindle_torque", "motor_power",
    "mrr_turning", "turning_time", "turning_time_vc", "milling_mean_chip_thickness", "milling_force_mean",
    "milling_engaged_teeth", "milling_time", "peripheral_milling", "drilling_force", "drilling_torque",
    "drilling_time", "spindle_speed", "H0", "facing_time", "grooving_force", "boring_bar_deflection", "bore_deviation",
    "thread_depth", "thread_infeed", "threading_force", "threading_time", "bolt_circle_path", "hole_pattern_time",
]


@njit(cache=True)
def kienzle_specific_force(h, kc11, mc):
    """Specific cutting force kc [Pa] at uncut chip thickness ``h`` [m].

    kc = kc11 * (h / h0) ** (-mc), h0 = 1e-3 m; kc11 [Pa], mc [-].

    >>> round(kienzle_specific_force(3e-4, 1.5e9, 0.22) / 1e6, 1)
    1954.9
    """
    if h <= 0.0:
        raise ValueError("chip thickness h must be > 0")
    if kc11 <= 0.0:
        raise ValueError("kc11 must be > 0")
    return kc11 * math.exp(-mc * math.log(h / H0))


@njit(cache=True)
def turning_force(f, ap, kappa_r, kc11, mc):
    """Main cutting force Fc [N] in turning (Kienzle).

    h = f sin(kappa_r), b = ap / sin(kappa_r), Fc = kc11 * b * h * (h/h0)^-mc.
    f: feed [m/rev], ap: depth of cut [m], kappa_r: tool cutting-edge angle [rad].
    Source: Kienzle & Victor (1957); constants VDI 3323 tables.

    >>> round(turning_force(3e-4, 3e-3, math.pi / 2, 1.5e9, 0.22), 2)
    1759.41
    """
    if f <= 0.0:
        raise ValueError("feed f must be > 0")
    if ap <= 0.0:
        raise ValueError("depth of cut ap must be > 0")
    s = math.sin(kappa_r)
    if s <= 0.0:
        raise ValueError("kappa_r must be in (0, pi)")
    h = f * s
    b = ap / s
    return kc11 * b * h * math.exp(-mc * math.log(h / H0))


@njit(cache=True)
def cutting_power(Fc, vc):
    """Cutting power Pc = Fc * vc [W]; Fc [N], vc [m/s].

    >>> cutting_power(1000.0, 2.0)
    2000.0
    """
    if vc < 0.0:
        raise ValueError("cutting speed vc must be >= 0")
    return Fc * vc


@njit(cache=True)
def spindle_torque(Fc, diameter):
    """Spindle torque M = Fc * D / 2 [N m]; diameter [m].

    >>> spindle_torque(1000.0, 0.05)
    25.0
    """
    if diameter <= 0.0:
        raise ValueError("diameter must be > 0")
    return Fc * diameter / 2.0


@njit(cache=True)
def motor_power(Pc, efficiency):
    """Motor (electrical) power P = Pc / eta [W]; eta in (0, 1].

    >>> motor_power(3720.0, 0.8)
    4650.0
    """
    if efficiency <= 0.0 or efficiency > 1.0:
        raise ValueError("efficiency must be in (0, 1]")
    return Pc / efficiency


@njit(cache=True)
def spindle_speed(vc, diameter):
    """Spindle speed n = vc / (pi D) [rev/s].

    >>> round(spindle_speed(0.5, 0.065), 5)
    2.44854
    """
    if diameter <= 0.0:
        raise ValueError("diameter must be > 0")
    return vc / (math.pi * diameter)


@njit(cache=True)
def mrr_turning(vc, f, ap):
    """Material removal rate in turning Q = vc f ap [m^3/s] (Groover eq. 21.4).

    >>> mrr_turning(2.0, 2.5e-4, 2.2e-3)
    1.1e-06
    """
    if vc < 0.0 or f <= 0.0 or ap <= 0.0:
        raise ValueError("need vc >= 0, f > 0, ap > 0")
    return vc * f * ap


@njit(cache=True)
def turning_time(length, f, n_rev_per_s):
    """Time of one turning pass t = L / (f n) [s]; length [m], f [m/rev], n [rev/s].

    >>> turning_time(0.1, 2e-4, 10.0)
    50.0
    """
    if length < 0.0 or f <= 0.0 or n_rev_per_s <= 0.0:
        raise ValueError("need length >= 0, f > 0, n > 0")
    return length / (f * n_rev_per_s)


@njit(cache=True)
def turning_time_vc(length, diameter, f, vc):
    """Turning pass time at constant cutting speed t = pi D L / (vc f) [s] (Groover eq. 21.3).

    >>> round(turning_time_vc(0.45, 0.12, 2.5e-4, 2.0), 3)
    339.292
    """
    if vc <= 0.0 or f <= 0.0 or diameter <= 0.0 or length < 0.0:
        raise ValueError("need vc > 0, f > 0, diameter > 0, length >= 0")
    return math.pi * diameter * length / (vc * f)


@njit(cache=True)
def milling_engaged_teeth(ae, D, z):
    """Mean number of teeth in the cut: z * phi_e / (2 pi), phi_e = acos(1 - 2 ae / D) (slot: z/2).

    >>> milling_engaged_teeth(0.1, 0.1, 4)   # slot: half the teeth cut
    2.0
    """
    if ae <= 0.0 or ae > D:
        raise ValueError("radial engagement ae must be in (0, D]")
    phi = math.acos(1.0 - 2.0 * ae / D)
    return z * phi / (2.0 * math.pi)


@njit(cache=True)
def milling_mean_chip_thickness(fz, ae, D, kappa_r):
    """Mean uncut chip thickness in peripheral/face milling [m]:
    hm = fz sin(kappa_r) * 2 (ae/D) / phi_e, phi_e = acos(1 - 2 ae/D) [rad] (Sandvik / Degner).

    >>> round(milling_mean_chip_thickness(1e-4, 0.05, 0.1, math.pi / 2) * 1e6, 3)
    63.662
    """
    if fz <= 0.0:
        raise ValueError("feed per tooth fz must be > 0")
    if ae <= 0.0 or ae > D:
        raise ValueError("radial engagement ae must be in (0, D]")
    phi = math.acos(1.0 - 2.0 * ae / D)
    return fz * math.sin(kappa_r) * 2.0 * (ae / D) / phi


@njit(cache=True)
def milling_force_mean(fz, ap, ae, D, z, kappa_r, kc11, mc):
    """Mean tangential cutting force of a milling cut [N]: force per engaged tooth at the mean
    chip thickness times the mean number of engaged teeth,
    F = kc(hm) * (ap / sin kappa_r) * hm * z * phi_e / (2 pi).

    >>> round(milling_force_mean(1e-4, 2e-3, 0.05, 0.1, 4, math.pi / 2, 1.5e9, 0.22), 1)
    350.1
    """
    if ap <= 0.0:
        raise ValueError("axial depth ap must be > 0")
    hm = milling_mean_chip_thickness(fz, ae, D, kappa_r)
    b = ap / math.sin(kappa_r)
    kc = kc11 * math.exp(-mc * math.log(hm / H0))
    return kc * b * hm * milling_engaged_teeth(ae, D, z)


@njit(cache=True)
def milling_time(length, fz, z, n_rev_per_s, approach):
    """Milling pass time t = (L + approach) / (fz z n) [s] (Groover eq. 21.11).

    >>> round(milling_time(0.32, 2.4e-4, 4, 2.44854, 0.0188149), 2)
    144.14
    """
    if fz <= 0.0 or z < 1 or n_rev_per_s <= 0.0:
        raise ValueError("need fz > 0, z >= 1, n > 0")
    return (length + approach) / (fz * z * n_rev_per_s)


@njit(cache=True)
def peripheral_milling(vc, D, z, fz, depth, width, length):
    """Slab milling (Groover 21.2.4): returns (N [rev/s], feed rate [m/s], approach A [m],
    time [s], MRR [m^3/s]) with A = sqrt(d (D - d)), t = (L + A)/fr, MRR = w d fr.

    >>> [round(x, 8) for x in peripheral_milling(0.5, 0.065, 4, 2.4e-4, 0.006, 0.06, 0.32)][:2]
    [2.44853759, 0.0023506]
    """
    if depth <= 0.0 or depth > D:
        raise ValueError("depth must be in (0, D]")
    N = vc / (math.pi * D)
    fr = N * z * fz
    A = math.sqrt(depth * (D - depth))
    return N, fr, A, (length + A) / fr, width * depth * fr


@njit(cache=True)
def drilling_force(f, D, kc11, mc, point_angle):
    """Cutting force per lip in drilling [N] (Kienzle with two lips):
    h = (f/2) sin(sigma/2), b = (D/2) / sin(sigma/2), F_lip = kc(h) b h.

    >>> round(drilling_force(2e-4, 0.01, 1.5e9, 0.22, math.radians(118)), 1)
    1287.6
    """
    if f <= 0.0 or D <= 0.0:
        raise ValueError("need f > 0 and D > 0")
    s = math.sin(point_angle / 2.0)
    h = f / 2.0 * s
    b = D / 2.0 / s
    return kc11 * b * h * math.exp(-mc * math.log(h / H0))


@njit(cache=True)
def drilling_torque(f, D, kc11, mc, point_angle):
    """Drilling torque M = F_lip * D / 2 [N m] (two lips at lever D/4 each).

    >>> round(drilling_torque(2e-4, 0.01, 1.5e9, 0.22, math.radians(118)), 3)
    6.438
    """
    return drilling_force(f, D, kc11, mc, point_angle) * D / 2.0


@njit(cache=True)
def drilling_time(depth, D, f, vc, point_angle):
    """Drilling time t = (depth + A) / (f n), A = D / (2 tan(sigma/2)), n = vc/(pi D) [s].

    >>> round(drilling_time(0.03, 0.01, 2e-4, 1.0, math.radians(118)), 3)
    5.184
    """
    if vc <= 0.0 or f <= 0.0 or D <= 0.0 or depth < 0.0:
        raise ValueError("need vc > 0, f > 0, D > 0, depth >= 0")
    n = vc / (math.pi * D)
    A = D / (2.0 * math.tan(point_angle / 2.0))
    return (depth + A) / (f * n)


# --- facing, grooving, boring, threading, hole patterns (issue 18) ---------------------------------

@njit(cache=True)
def facing_time(d_out, d_in, f, vc, n_max):
    """Time [s] of a radial cut (facing, grooving, parting) from diameter ``d_out`` to ``d_in``
    [m] at feed ``f`` [m/rev] and constant cutting speed ``vc`` [m/s], the spindle clamped at
    ``n_max`` [rev/s] (``n_max <= 0``: no clamp).

    At constant cutting speed the spindle turns n(r) = vc / (2 pi r), so dr/dt = f n(r) and
    t = pi (d_out^2 - d_in^2) / (4 f vc). Below the radius r_c = vc / (2 pi n_max) the spindle
    stays at n_max: t = (r_c - r_in) / (f n_max) for that part. Source: Kyocera, technical
    information "Basic formulas: cutting time, facing and grooving" (catalogue 2021-2022):
    T1 = 60 pi (D1 + D2)(D1 - D2) / (4000 f Vc) [s, mm, m/min] until the maximum spindle speed,
    then 60 (D1 - D2) / (2 f n). Validity: one pass, feed constant, no dwell at the bottom.

    >>> round(facing_time(0.1, 0.0, 2e-4, 200 / 60, 0.0), 3)       # 100 mm face, 0.2 mm, 200 m/min
    11.781
    >>> round(facing_time(0.1, 0.0, 2e-4, 200 / 60, 50.0), 3)      # clamped at 3000 rpm
    12.311
    """
    if f <= 0.0 or vc <= 0.0:
        raise ValueError("need f > 0 and vc > 0")
    if d_in < 0.0 or d_out <= d_in:
        raise ValueError("need 0 <= d_in < d_out")
    r_out, r_in = d_out / 2.0, d_in / 2.0
    if n_max <= 0.0:
        return math.pi * (d_out * d_out - d_in * d_in) / (4.0 * f * vc)
    r_c = vc / (2.0 * math.pi * n_max)
    if r_c <= r_in:
        return math.pi * (d_out * d_out - d_in * d_in) / (4.0 * f * vc)
    if r_c >= r_out:
        return (r_out - r_in) / (f * n_max)
    return math.pi * (r_out * r_out - r_c * r_c) / (f * vc) + (r_c - r_in) / (f * n_max)


@njit(cache=True)
def grooving_force(f, width, kc11, mc):
    """Main cutting force [N] of a straight plunge (grooving, parting): Kienzle with the chip
    thickness h = f [m/rev] (radial feed, kappa_r = 90 deg) and width b = ``width`` [m] of the
    insert: Fc = kc11 (h / h0)^-mc b h. Validity: that of Kienzle (h about 0.05 mm and up; at
    very small feeds the force is underestimated), a full-width plunge.

    >>> round(grooving_force(1e-4, 3e-3, 1.5e9, 0.22), 1)
    746.8
    """
    if f <= 0.0 or width <= 0.0:
        raise ValueError("need f > 0 and width > 0")
    return kc11 * width * f * math.exp(-mc * math.log(f / H0))


@njit(cache=True)
def boring_bar_deflection(F, overhang, bar_diameter, E):
    """Deflection [m] of a solid round boring bar of diameter ``bar_diameter`` [m] and modulus
    ``E`` [Pa] at its tip under a force ``F`` [N] at the ``overhang`` [m] from the clamp: the
    cantilever y = F L^3 / (3 E I), I = pi d^4 / 64 (Euler-Bernoulli beam; Isakov, "Boring:
    calculating deflection", Cutting Tool Engineering, July 2019, eq. 1 and 6). Validity:
    elastic bending, overhang >> bar diameter, rigid clamp (a real clamp adds compliance).

    Isakov's metric example: F = 911.1 N, L = 101.6 mm, E = 206 GPa, d = 25.4 mm:

    >>> round(boring_bar_deflection(911.1, 0.1016, 0.0254, 206e9) * 1e3, 4)
    0.0757
    """
    if overhang <= 0.0 or bar_diameter <= 0.0 or E <= 0.0:
        raise ValueError("need overhang, bar_diameter and E > 0")
    inertia = math.pi * bar_diameter ** 4 / 64.0
    return F * overhang ** 3 / (3.0 * E * inertia)


@njit(cache=True)
def bore_deviation(vb, clearance_angle, diameter, alpha, dT, deflection):
    """Deviation [m] of a bored diameter from nominal: -2 VB tan(clearance) (the worn tool
    cuts less deep: the bore comes out smaller) - 2 y (the boring bar, deflected by ``deflection``
    [m] towards the axis) + alpha D dT (the part measured ``dT`` [K] warmer than the reference,
    alpha [1/K]). The mirror of :func:`twin.kernels.surface.dimensional_deviation` for an
    inner diameter; the static deflection is not compensated (the program is written to nominal).

    >>> round(bore_deviation(0.2e-3, math.radians(7), 0.06, 12e-6, 0.0, 10e-6) * 1e6, 3)
    -69.114
    """
    if vb < 0.0 or diameter <= 0.0 or deflection < 0.0:
        raise ValueError("need vb >= 0, diameter > 0, deflection >= 0")
    return -2.0 * vb * math.tan(clearance_angle) - 2.0 * deflection + alpha * diameter * dT


@njit(cache=True)
def thread_depth(pitch, external):
    """Radial depth [m] of an ISO metric 60 deg thread of ``pitch`` P [m] (ISO 68-1 basic
    profile, H = sqrt(3)/2 P): external h3 = 17/24 H = 0.61343 P, internal H1 = 5/8 H = 0.54127 P.

    >>> round(thread_depth(1.5e-3, True) * 1e3, 4), round(thread_depth(1.5e-3, False) * 1e3, 4)
    (0.9202, 0.8119)
    """
    if pitch <= 0.0:
        raise ValueError("pitch must be > 0")
    H = math.sqrt(3.0) / 2.0 * pitch
    return 17.0 / 24.0 * H if external else 5.0 / 8.0 * H


@njit(cache=True)
def thread_infeed(ap, passes, x):
    """Total radial infeed [m] after pass ``x`` (1..passes) of a thread of depth ``ap`` [m] cut
    in ``passes`` (>= 2) passes with a constant chip area (Sandvik Coromant threading formulas):
    a_x = ap sqrt(phi / (passes - 1)), phi = 0.3 for the first pass, x - 1 for the others.

    >>> [round(thread_infeed(0.92e-3, 6, x) * 1e3, 3) for x in (1, 2, 6)]
    [0.225, 0.411, 0.92]
    """
    if ap <= 0.0 or passes < 2 or x < 1 or x > passes:
        raise ValueError("need ap > 0, passes >= 2 and 1 <= x <= passes")
    phi = 0.3 if x == 1 else x - 1.0
    return ap * math.sqrt(phi / (passes - 1.0))


@njit(cache=True)
def threading_force(ap, passes, profile_angle, kc11, mc):
    """Largest main cutting force [N] over the passes of a single-point thread (radial infeed,
    :func:`thread_infeed`), Kienzle on the V-shaped chip: pass x removes the area
    A = tan(eps/2) (a_x^2 - a_(x-1)^2) between the profiles of depths a_(x-1) and a_x (profile
    angle eps [rad], 60 deg for ISO metric); each flank takes a layer of thickness
    h = (a_x - a_(x-1)) sin(eps/2), so Fc = kc(h) A. Validity: radial infeed, sharp full-profile
    insert, Kienzle constants of the work material. With a constant chip area the last pass,
    with the thinnest chip, has the largest specific force and so the largest Fc; its chip
    (a few hundredths of a mm) lies below Kienzle's fitted range, so treat the value as an
    estimate.

    >>> round(threading_force(0.92e-3, 6, math.radians(60), 1.5e9, 0.22), 1)
    285.2
    """
    if profile_angle <= 0.0 or profile_angle >= math.pi:
        raise ValueError("profile_angle must be in (0, pi)")
    t = math.tan(profile_angle / 2.0)
    s = math.sin(profile_angle / 2.0)
    best = 0.0
    prev = 0.0
    for x in range(1, passes + 1):
        a = thread_infeed(ap, passes, x)
        area = t * (a * a - prev * prev)
        h = (a - prev) * s
        fc = kc11 * area * math.exp(-mc * math.log(h / H0))
        if fc > best:
            best = fc
        prev = a
    return best


@njit(cache=True)
def threading_time(length, pitch, passes, vc, diameter):
    """Time [s] of a single-point thread: ``passes`` x L / (P n) with the spindle at
    n = vc / (pi D) [rev/s] (threading runs at constant spindle speed: the feed per revolution
    is the pitch P [m]); L [m] the threaded length including the run-in.

    >>> round(threading_time(0.03, 1.5e-3, 6, 120 / 60, 0.02), 3)
    3.77
    """
    if length <= 0.0 or pitch <= 0.0 or passes < 1 or vc <= 0.0 or diameter <= 0.0:
        raise ValueError("need length, pitch, vc, diameter > 0 and passes >= 1")
    n = vc / (math.pi * diameter)
    return passes * length / (pitch * n)


@njit(cache=True)
def bolt_circle_path(pitch_diameter, holes):
    """Rapid path [m] between the ``holes`` (>= 1) equally spaced holes of a bolt circle of
    ``pitch_diameter`` [m], hole to neighbouring hole: (n - 1) chords of PCD sin(pi / n).

    >>> round(bolt_circle_path(0.17, 8) * 1e3, 3)     # 8 holes on a 170 mm circle
    455.393
    """
    if pitch_diameter <= 0.0 or holes < 1:
        raise ValueError("need pitch_diameter > 0 and holes >= 1")
    if holes == 1:
        return 0.0
    return (holes - 1) * pitch_diameter * math.sin(math.pi / holes)


@njit(cache=True)
def hole_pattern_time(holes, t_hole, path, v_rapid):
    """Time [s] of a hole pattern: ``holes`` x the time of one hole ``t_hole`` [s] plus the
    rapid ``path`` [m] between them at the rapid traverse ``v_rapid`` [m/s] (point-to-point
    positioning, Groover, Fundamentals of Modern Manufacturing, NC point-to-point systems).

    >>> round(hole_pattern_time(8, 4.0, 0.455, 0.5), 2)
    32.91
    """
    if holes < 1 or t_hole < 0.0 or path < 0.0 or v_rapid <= 0.0:
        raise ValueError("need holes >= 1, t_hole >= 0, path >= 0, v_rapid > 0")
    return holes * t_hole + path / v_rapid
