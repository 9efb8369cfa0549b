"""Arc welding heat input and cooling time.

Arc power ``P = U I``; arc energy per length ``E = U I / v``; heat input ``Q = k E`` with the
EN 1011-1 thermal efficiency factor k (SAW 1.0; MMA, MAG/MIG, FCAW 0.8; TIG, plasma 0.6) — these
factors are not arc-to-work transfer efficiencies. Power balance (Groover ch. 30):
``R_H = f1 f2 I E`` and melting rate ``R_WV = R_H / Um`` with unit melting energy Um [J/m^3].
Cooling time t8/5 (EN 1011-2 Annex D, Rosenthal-based), steels, T0 preheat [degC], Q [kJ/mm] in
the formulas and SI here:
  thick plate (3-D flow):  t85 = (6700 - 5 T0) Q (1/(500 - T0) - 1/(800 - T0)) F3
  thin plate (2-D flow):   t85 = (4300 - 4.3 T0) 1e5 (Q/d)^2 (1/(500 - T0)^2 - 1/(800 - T0)^2) F2
with d in mm, shape factors F2, F3 (butt weld 1 / 0.9 fillet ...); transition thickness where
both agree. Validity: T0 < 500 degC, C-Mn and low-alloy steels.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["arc_power", "heat_input", "arc_energy", "power_balance", "t85_thick", "t85_thin", "t85",
           "unit_melting_energy", "EN1011_PROCESS_FACTORS"]

EN1011_PROCESS_FACTORS = {"SAW": 1.0, "MMA": 0.8, "MAG": 0.8, "MIG": 0.8, "FCAW": 0.8, "TIG": 0.6, "plasma": 0.6}


@njit(cache=True)
def arc_power(U, I):
    """Arc power P = U I [W]; U [V], I [A].

    >>> arc_power(24.0, 180.0)
    4320.0
    """
    if U <= 0.0 or I <= 0.0:
        raise ValueError("voltage and current must be > 0")
    return U * I


@njit(cache=True)
def arc_energy(U, I, travel_speed):
    """Arc energy per length E = U I / v [J/m]; v [m/s].

    >>> arc_energy(24.0, 180.0, 0.005)
    864000.0
    """
    if travel_speed <= 0.0:
        raise ValueError("travel speed must be > 0")
    return arc_power(U, I) / travel_speed


@njit(cache=True)
def heat_input(U, I, travel_speed, k_process):
    """Heat input Q = k U I / v [J/m] (EN 1011-1).

    >>> round(heat_input(24.0, 180.0, 0.005, 0.8))
    691200
    """
    if not (0.0 < k_process <= 1.0):
        raise ValueError("process factor k must be in (0, 1]")
    return k_process * arc_energy(U, I, travel_speed)


@njit(cache=True)
def power_balance(U, I, f1, f2, Um):
    """(P [W], heat to melting R_H [W], melting rate R_WV [m^3/s]) with heat-transfer factor f1 and
    melting factor f2 (Groover eq. 30.1-30.3).

    >>> power_balance(20.0, 300.0, 0.7, 0.5, 1e10)
    (6000.0, 2100.0, 2.1e-07)
    """
    if Um <= 0.0:
        raise ValueError("unit melting energy must be > 0")
    P = arc_power(U, I)
    rh = f1 * f2 * P
    return P, rh, rh / Um


@njit(cache=True)
def unit_melting_energy(T_melt_K):
    """Unit melting energy Um = K Tm^2 [J/m^3] with K = 3.33e-6 J/(mm^3 K^2) (Groover eq. 30.2).

    >>> round(unit_melting_energy(1760.0) / 1e9, 2)
    10.32
    """
    if T_melt_K <= 0.0:
        raise ValueError("melting temperature must be > 0")
    return 3.33e-6 * 1e9 * T_melt_K * T_melt_K


@njit(cache=True)
def t85_thick(Q, T0, F3=1.0):
    """Cooling time 800 -> 500 degC [s] for 3-D heat flow; Q heat input [J/m], T0 preheat [degC].

    >>> round(t85_thick(1.5e6, 20.0), 2)
    7.93
    """
    if Q <= 0.0 or T0 >= 500.0:
        raise ValueError("need Q > 0 and T0 < 500 degC")
    q = Q / 1e6  # kJ/mm
    return (6700.0 - 5.0 * T0) * q * (1.0 / (500.0 - T0) - 1.0 / (800.0 - T0)) * F3


@njit(cache=True)
def t85_thin(Q, thickness, T0, F2=1.0):
    """Cooling time 800 -> 500 degC [s] for 2-D heat flow; thickness [m].

    >>> round(t85_thin(1.5e6, 0.01, 20.0), 2)
    25.57
    """
    if Q <= 0.0 or thickness <= 0.0 or T0 >= 500.0:
        raise ValueError("need Q > 0, thickness > 0 and T0 < 500 degC")
    q = Q / 1e6
    d = thickness * 1e3
    return (4300.0 - 4.3 * T0) * 1e5 * (q / d) ** 2 * (1.0 / (500.0 - T0) ** 2 - 1.0 / (800.0 - T0) ** 2) * F2


@njit(cache=True)
def t85(Q, thickness, T0, F2=1.0, F3=1.0):
    """EN 1011-2 rule: the 2-D (thin) formula below the transition thickness, the 3-D above;
    equivalently the larger of the two.

    >>> round(t85(1.5e6, 0.01, 20.0), 2)
    25.57
    """
    return max(t85_thick(Q, T0, F3), t85_thin(Q, thickness, T0, F2))
