"""Machining mechanics: Kienzle cutting force for turning, milling and drilling, power,
torque, material removal rate and machining times. SI units throughout.

Kienzle (Kienzle & Victor 1957; as in Degner, Lutze, Smejkal, Spanende Formung): specific
cutting force ``kc = kc11 * (h / h0) ** -mc`` with ``h0 = 1 mm = 1e-3 m``; main cutting force
``Fc = kc * b * h``. For turning ``h = f sin(kappa_r)``, ``b = ap / sin(kappa_r)``. Validity:
chip thickness roughly 0.05-1.5 mm (the power law is fitted there), continuous chips, sharp tool
(wear raises the force; apply a wear factor separately).
Machining times and removal rates follow Groover, Fundamentals of Modern Manufacturing, ch. 21.
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
    "drilling_time", "spindle_speed", "H0",
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
