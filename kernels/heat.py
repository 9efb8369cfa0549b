"""Heat transfer for heat treatment, quenching and thermal growth.

Thermal properties as functions (Incropera & DeWitt, Fundamentals of Heat and Mass Transfer,
6th ed., sec. 2.2, 5.1, 5.4, 5.7): diffusivity ``alpha = k / (rho cp)`` [m^2/s], effusivity
``e = sqrt(k rho cp)`` [W s^0.5/(m^2 K)], Biot ``Bi = h Lc / k``, Fourier ``Fo = alpha t / L^2``
and the lumped time constant ``tau = rho cp V / (h A)`` [s].

Lumped capacitance (Incropera sec. 5.1-5.2): ``T = Tinf + (T0 - Tinf) exp(-t / tau)``, valid for
``Bi = h Lc / k < 0.1`` with ``Lc = V / A``. The raw kernels do not check Bi (numba kernels cannot
warn); Python callers use :func:`lumped_temperature_checked` /
:func:`lumped_time_to_temperature_checked`, which warn (:class:`LumpedValidityWarning`) or, with
``strict=True``, raise (:class:`LumpedValidityError`) when Bi >= 0.1.

Series and one-term solutions of the plane wall, infinite cylinder and sphere with convection
(Incropera sec. 5.5-5.6; Cengel & Ghajar, Heat and Mass Transfer, sec. 4-2): eigenvalues from
``z tan z = Bi`` (wall, half-thickness L), ``z J1(z) / J0(z) = Bi`` (cylinder, radius R) and
``1 - z cot z = Bi`` (sphere, radius R); one term valid for Fo > 0.2 (error below ~2 %). The energy
transferred up to Fo (one term, Incropera sec. 5.5.3 / 5.6.3): ``Q/Q0 = 1 - sin(z1)/z1 theta0``
(wall), ``1 - 2 theta0 J1(z1)/z1`` (cylinder), ``1 - 3 theta0 (sin z1 - z1 cos z1)/z1^3``
(sphere), with ``Q0 = rho cp V (Ti - Tinf)`` and theta0 the centre temperature ratio.

Transient 1-D conduction by an implicit (backward Euler) finite-volume scheme on a uniform
grid (slab, cylinder or sphere), symmetry / Dirichlet / convective boundaries, unconditionally
stable, first order in time, second order in space; used for furnace heating to a core
temperature and quenching. Thermal expansion: ``dL = alpha L dT`` (linear, alpha constant).
Units: m, s, K (or degC for differences), W/(m K), W/(m^2 K), kg/m^3, J/(kg K).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import njit

__all__ = ["thermal_diffusivity", "thermal_effusivity", "fourier_number", "biot_number", "lumped_time_constant",
           "lumped_biot", "lumped_temperature", "lumped_time_to_temperature", "check_lumped", "lumped_temperature_checked",
           "lumped_time_to_temperature_checked", "LumpedValidityWarning", "LumpedValidityError", "BI_LUMPED_MAX",
           "wall_eigenvalues", "cylinder_eigenvalues", "sphere_eigenvalues", "wall_series", "cylinder_series",
           "sphere_series", "one_term_wall", "one_term_cylinder", "one_term_sphere", "one_term_energy_wall",
           "one_term_energy_cylinder", "one_term_energy_sphere", "fd_transient", "slab_fd_transient",
           "cylinder_fd_transient", "sphere_fd_transient", "time_to_core_temperature", "thermal_expansion",
           "bessel_j0", "bessel_j1", "INSULATED", "DIRICHLET", "CONVECTIVE", "SLAB", "CYLINDER", "SPHERE"]

INSULATED, DIRICHLET, CONVECTIVE = 0, 1, 2
SLAB, CYLINDER, SPHERE = 0, 1, 2

#: upper Biot number for the lumped-capacitance model (Incropera & DeWitt, 6th ed., sec. 5.2)
BI_LUMPED_MAX = 0.1


# --- thermal properties -------------------------------------------------------------------------

@njit(cache=True)
def thermal_diffusivity(k, rho, cp):
    """Thermal diffusivity alpha = k / (rho cp) [m^2/s].

    k [W/(m K)], rho [kg/m^3], cp [J/(kg K)]. Source: Incropera & DeWitt, 6th ed., sec. 2.2.
    Valid for constant properties (take them at the mean temperature of the process).

    >>> round(thermal_diffusivity(14.9, 7900.0, 477.0) * 1e6, 3)   # AISI 304 at 300 K (Table A.1: 3.95)
    3.954
    """
    if k <= 0.0 or rho <= 0.0 or cp <= 0.0:
        raise ValueError("need k, rho, cp > 0")
    return k / (rho * cp)


@njit(cache=True)
def thermal_effusivity(k, rho, cp):
    """Thermal effusivity e = sqrt(k rho cp) [W s^0.5 / (m^2 K)]: how strongly a surface exchanges
    heat with what touches it (semi-infinite surface flux ``q = e dT / sqrt(pi t)``; contact
    temperature of two bodies weighted by e). Source: Incropera & DeWitt, 6th ed., sec. 5.7.

    >>> round(thermal_effusivity(60.5, 7854.0, 434.0))   # plain carbon steel, Table A.1
    14360
    """
    if k <= 0.0 or rho <= 0.0 or cp <= 0.0:
        raise ValueError("need k, rho, cp > 0")
    return math.sqrt(k * rho * cp)


@njit(cache=True)
def fourier_number(alpha, t, L):
    """Fo = alpha t / L^2 [-]; alpha [m^2/s], t [s], L [m] (half-thickness or radius).
    Source: Incropera & DeWitt, 6th ed., sec. 5.5.

    >>> round(fourier_number(3.95e-6, 2700.0, 0.1), 4)   # Cengel & Ghajar Example 4-5: tau = 1.07
    1.0665
    """
    if alpha <= 0.0 or L <= 0.0:
        raise ValueError("need alpha > 0 and L > 0")
    if t < 0.0:
        raise ValueError("time must be >= 0")
    return alpha * t / (L * L)


@njit(cache=True)
def biot_number(h, Lc, k):
    """Bi = h Lc / k; h [W/(m^2 K)], Lc [m] (V/A for lumped analysis), k [W/(m K)].

    >>> round(biot_number(120.0, 0.02, 110.0), 7)
    0.0218182
    """
    if h < 0.0 or Lc <= 0.0 or k <= 0.0:
        raise ValueError("need h >= 0, Lc > 0, k > 0")
    return h * Lc / k


@njit(cache=True)
def lumped_time_constant(rho, cp, V, h, A):
    """Thermal time constant of a lumped body tau = rho cp V / (h A) [s] (Incropera & DeWitt, 6th ed., sec. 5.1).

    >>> round(lumped_time_constant(8530.0, 380.0, 0.02, 120.0, 1.0), 1)   # 40 mm brass plate, per m^2
    540.2
    """
    if h <= 0.0 or rho <= 0.0 or cp <= 0.0 or V <= 0.0 or A <= 0.0:
        raise ValueError("need h > 0 and positive rho, cp, V, A")
    return rho * cp * V / (h * A)


@njit(cache=True)
def lumped_biot(h, V, A, k):
    """Biot number of a lumped body, Bi = h (V/A) / k [-] (the lumped model needs Bi < 0.1).

    >>> round(lumped_biot(80.0, math.pi * 0.1 ** 2, 2 * math.pi * 0.1, 14.9), 4)   # 200 mm 304 shaft, per m
    0.2685
    """
    if V <= 0.0 or A <= 0.0:
        raise ValueError("need V > 0 and A > 0")
    return biot_number(h, V / A, k)


# --- lumped capacitance -------------------------------------------------------------------------

@njit(cache=True)
def lumped_temperature(t, T0, Tinf, h, rho, cp, V, A):
    """Lumped-capacitance temperature at time t [s] (raw kernel: no Bi check; from Python use
    :func:`lumped_temperature_checked`).

    >>> round(lumped_temperature(420.0, 293.15, 773.15, 120.0, 8530.0, 380.0, 0.02, 1.0), 3)
    552.552
    """
    if t < 0.0:
        raise ValueError("time must be >= 0")
    if h < 0.0 or rho <= 0.0 or cp <= 0.0 or V <= 0.0 or A <= 0.0:
        raise ValueError("need h >= 0 and positive rho, cp, V, A")
    return Tinf + (T0 - Tinf) * math.exp(-h * A * t / (rho * cp * V))


@njit(cache=True)
def lumped_time_to_temperature(T, T0, Tinf, h, rho, cp, V, A):
    """Time [s] for a lumped body to go from T0 to T in surroundings at Tinf (raw kernel: no Bi
    check; from Python use :func:`lumped_time_to_temperature_checked`).

    >>> D = 6 * 400.0 * 1.0 / (8500.0 * 400.0)   # sphere with tau = 1 s
    >>> round(lumped_time_to_temperature(472.15, 298.15, 473.15, 400.0, 8500.0, 400.0, D / 6, 1.0), 4)
    5.1648
    """
    if h <= 0.0:
        raise ValueError("h must be > 0")
    r = (T - Tinf) / (T0 - Tinf)
    if r <= 0.0 or r > 1.0:
        raise ValueError("T must lie between T0 and Tinf (and differ from Tinf)")
    return -lumped_time_constant(rho, cp, V, h, A) * math.log(r)


class LumpedValidityWarning(UserWarning):
    """The lumped-capacitance model was used at Bi >= 0.1 (conduction inside the body matters)."""


class LumpedValidityError(ValueError):
    """Raised instead of :class:`LumpedValidityWarning` when ``strict=True``."""


def check_lumped(h, V, A, k, strict=False, limit=BI_LUMPED_MAX):
    """Biot number h (V/A)/k of a body about to be treated as lumped; warns
    (:class:`LumpedValidityWarning`) or, with ``strict``, raises (:class:`LumpedValidityError`)
    when it is not below ``limit`` (0.1, Incropera & DeWitt, 6th ed., sec. 5.2).

    >>> round(check_lumped(120.0, 0.02, 1.0, 110.0), 4)
    0.0218
    >>> check_lumped(80.0, math.pi * 0.01, 2 * math.pi * 0.1, 14.9, strict=True)
    Traceback (most recent call last):
    ...
    twin.kernels.heat.LumpedValidityError: lumped-capacitance model at Bi = 0.268 >= 0.1 ...
    """
    bi = float(lumped_biot(h, V, A, k))
    if not bi < limit:
        msg = (f"lumped-capacitance model at Bi = {bi:.3g} >= {limit:g} (Bi = h Lc / k, Lc = V/A = {V / A:.4g} m): "
               "the temperature inside the body is not uniform; use one_term_*, *_series or time_to_core_temperature")
        if strict:
            raise LumpedValidityError(msg)
        warnings.warn(msg, LumpedValidityWarning, stacklevel=3)
    return bi


def lumped_temperature_checked(t, T0, Tinf, h, rho, cp, V, A, k, strict=False):
    """:func:`lumped_temperature` after :func:`check_lumped` (k [W/(m K)] of the body).

    >>> round(lumped_temperature_checked(420.0, 293.15, 773.15, 120.0, 8530.0, 380.0, 0.02, 1.0, 110.0), 3)
    552.552
    """
    check_lumped(h, V, A, k, strict)
    return lumped_temperature(t, T0, Tinf, h, rho, cp, V, A)


def lumped_time_to_temperature_checked(T, T0, Tinf, h, rho, cp, V, A, k, strict=False):
    """:func:`lumped_time_to_temperature` after :func:`check_lumped` (k [W/(m K)] of the body)."""
    check_lumped(h, V, A, k, strict)
    return lumped_time_to_temperature(T, T0, Tinf, h, rho, cp, V, A)


# --- Bessel functions and eigenvalues -----------------------------------------------------------

@njit(cache=True)
def bessel_j0(x):
    """Bessel J0 (Abramowitz & Stegun 9.4.1 / 9.4.3), |error| < 5e-8 (checked against
    scipy.special.j0 on [0, 40] in the tests).

    >>> abs(bessel_j0(2.404826)) < 1e-6   # first zero of J0
    True
    """
    ax = abs(x)
    if ax <= 3.0:
        y = (x / 3.0) ** 2
        return (1.0 + y * (-2.2499997 + y * (1.2656208 + y * (-0.3163866 + y * (0.0444479 + y * (-0.0039444 + y * 0.0002100))))))
    y = 3.0 / ax
    f0 = 0.79788456 + y * (-0.00000077 + y * (-0.00552740 + y * (-0.00009512 + y * (0.00137237 + y * (-0.00072805 + y * 0.00014476)))))
    t0 = ax - 0.78539816 + y * (-0.04166397 + y * (-0.00003954 + y * (0.00262573 + y * (-0.00054125 + y * (-0.00029333 + y * 0.00013558)))))
    return f0 * math.cos(t0) / math.sqrt(ax)


@njit(cache=True)
def bessel_j1(x):
    """Bessel J1 (Abramowitz & Stegun 9.4.4 / 9.4.6), |error| < 4e-8 (checked against
    scipy.special.j1 on [0, 40] in the tests).

    >>> round(bessel_j1(0.970), 4)   # Cengel & Ghajar Table 4-3: J1(0.97) ~ 0.4301
    0.4302
    """
    ax = abs(x)
    if ax <= 3.0:
        y = (x / 3.0) ** 2
        return x * (0.5 + y * (-0.56249985 + y * (0.21093573 + y * (-0.03954289 + y * (0.00443319 + y * (-0.00031761 + y * 0.00001109))))))
    y = 3.0 / ax
    f1 = 0.79788456 + y * (0.00000156 + y * (0.01659667 + y * (0.00017105 + y * (-0.00249511 + y * (0.00113653 + y * -0.00020033)))))
    t1 = ax - 2.35619449 + y * (0.12499612 + y * (0.00005650 + y * (-0.00637879 + y * (0.00074348 + y * (0.00079824 + y * -0.00029166)))))
    v = f1 * math.cos(t1) / math.sqrt(ax)
    return v if x >= 0 else -v


@njit(cache=True)
def wall_eigenvalues(Bi, n):
    """First n roots of z tan z = Bi (plane wall with convection), by bisection.

    >>> round(float(wall_eigenvalues(1.0, 1)[0]), 4)   # Incropera Table 5.1: 0.8603
    0.8603
    """
    if Bi <= 0.0:
        raise ValueError("Bi must be > 0")
    out = np.empty(n)
    for i in range(n):
        lo = i * math.pi + 1e-12
        hi = i * math.pi + math.pi / 2 - 1e-12
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if mid * math.tan(mid) - Bi > 0.0:
                hi = mid
            else:
                lo = mid
        out[i] = 0.5 * (lo + hi)
    return out


@njit(cache=True)
def cylinder_eigenvalues(Bi, n):
    """First n (at most 8) roots of z J1(z) / J0(z) = Bi (infinite cylinder with convection), by
    bisection between consecutive zeros of J1 and J0.

    >>> round(float(cylinder_eigenvalues(1.0, 1)[0]), 4)   # Incropera Table 5.1: 1.2558
    1.2558
    """
    if Bi <= 0.0:
        raise ValueError("Bi must be > 0")
    out = np.empty(n)
    # brackets: root i lies between the i-th zero of J1 (0 for i=0) and the i-th zero of J0
    j1z = np.array([0.0, 3.831706, 7.015587, 10.173468, 13.323692, 16.470630, 19.615859, 22.760084])
    j0z = np.array([2.404826, 5.520078, 8.653728, 11.791534, 14.930918, 18.071064, 21.211637, 24.352472])
    if n > 8:
        raise ValueError("at most 8 eigenvalues")
    for i in range(n):
        lo = j1z[i] + 1e-9
        hi = j0z[i] - 1e-9
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            g = mid * bessel_j1(mid) / bessel_j0(mid) - Bi
            if g > 0.0:
                hi = mid
            else:
                lo = mid
        out[i] = 0.5 * (lo + hi)
    return out


@njit(cache=True)
def sphere_eigenvalues(Bi, n):
    """First n roots of 1 - z cot z = Bi (sphere with convection), by bisection: root i lies in
    (i pi, (i + 1) pi), where 1 - z cot z - Bi rises from -inf (0 - Bi for i = 0) to +inf.

    >>> round(float(sphere_eigenvalues(1.0, 1)[0]), 4)   # Incropera Table 5.1: 1.5708
    1.5708
    """
    if Bi <= 0.0:
        raise ValueError("Bi must be > 0")
    out = np.empty(n)
    for i in range(n):
        lo = i * math.pi + 1e-12
        hi = (i + 1) * math.pi - 1e-12
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if 1.0 - mid / math.tan(mid) - Bi > 0.0:
                hi = mid
            else:
                lo = mid
        out[i] = 0.5 * (lo + hi)
    return out


# --- series and one-term solutions --------------------------------------------------------------

@njit(cache=True)
def _wall_coefficient(z):
    return 4.0 * math.sin(z) / (2.0 * z + math.sin(2.0 * z))


@njit(cache=True)
def _cylinder_coefficient(z):
    j0 = bessel_j0(z)
    j1 = bessel_j1(z)
    return 2.0 / z * j1 / (j0 * j0 + j1 * j1)


@njit(cache=True)
def _sphere_coefficient(z):
    return 4.0 * (math.sin(z) - z * math.cos(z)) / (2.0 * z - math.sin(2.0 * z))


@njit(cache=True)
def _sphere_shape(z, r):
    x = z * r
    return 1.0 if x == 0.0 else math.sin(x) / x


@njit(cache=True)
def wall_series(x_over_L, Fo, Bi, n_terms=20):
    """Dimensionless temperature theta = (T - Tinf)/(Ti - Tinf) of a plane wall (half-thickness L,
    convection on both faces) by the eigenfunction series; x measured from the mid-plane.
    theta = sum C_n exp(-z_n^2 Fo) cos(z_n x/L), C_n = 4 sin z_n / (2 z_n + sin 2 z_n)
    (Incropera sec. 5.5.1).

    >>> round(773.15 + (293.15 - 773.15) * wall_series(1.0, 35.595, 0.0218182), 3)
    552.734
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = wall_eigenvalues(Bi, n_terms)
    th = 0.0
    for i in range(n_terms):
        th += _wall_coefficient(z[i]) * math.exp(-z[i] * z[i] * Fo) * math.cos(z[i] * x_over_L)
    return th


@njit(cache=True)
def cylinder_series(r_over_R, Fo, Bi, n_terms=8):
    """theta of an infinite cylinder (radius R) by the eigenfunction series (at most 8 terms):
    theta = sum C_n exp(-z_n^2 Fo) J0(z_n r/R), C_n = 2 J1(z_n) / (z_n (J0^2 + J1^2))
    (Incropera sec. 5.6.1). Eight terms are exact to ~1e-6 for Fo >= 0.02.

    >>> round(cylinder_series(0.0, 1.0665, 0.537, 8), 3)   # Cengel & Ghajar Ex. 4-5: theta0 = 0.41
    0.411
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = cylinder_eigenvalues(Bi, n_terms)
    th = 0.0
    for i in range(n_terms):
        th += _cylinder_coefficient(z[i]) * math.exp(-z[i] * z[i] * Fo) * bessel_j0(z[i] * r_over_R)
    return th


@njit(cache=True)
def sphere_series(r_over_R, Fo, Bi, n_terms=20):
    """theta of a sphere (radius R) by the eigenfunction series:
    theta = sum C_n exp(-z_n^2 Fo) sin(z_n r*)/(z_n r*), C_n = 4 (sin z_n - z_n cos z_n) /
    (2 z_n - sin 2 z_n) (Incropera sec. 5.6.1).

    >>> round(sphere_series(0.3, 0.23, 1.02), 4)   # Nellis & Klein EES library sphere_T_ND example: 0.6895
    0.6895
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = sphere_eigenvalues(Bi, n_terms)
    th = 0.0
    for i in range(n_terms):
        th += _sphere_coefficient(z[i]) * math.exp(-z[i] * z[i] * Fo) * _sphere_shape(z[i], r_over_R)
    return th


@njit(cache=True)
def one_term_wall(x_over_L, Fo, Bi):
    """One-term approximation of :func:`wall_series` (Incropera sec. 5.5.2; Fo > 0.2).

    >>> round(60 - 80 * one_term_wall(0.0, 5.64, 0.313), 1)   # Incropera Example 5.4: 42.9 C (table z1)
    43.0
    """
    return wall_series(x_over_L, Fo, Bi, 1)


@njit(cache=True)
def one_term_cylinder(r_over_R, Fo, Bi):
    """One-term solution for an infinite cylinder (Incropera sec. 5.6.2; Fo > 0.2):
    theta = C1 exp(-z1^2 Fo) J0(z1 r/R), C1 = 2 J1(z1) / (z1 (J0^2 + J1^2)).

    >>> round(200 + (600 - 200) * one_term_cylinder(0.0, 1.0665, 0.537))   # Cengel & Ghajar Ex. 4-5: 364 C
    364
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = cylinder_eigenvalues(Bi, 1)[0]
    return _cylinder_coefficient(z) * math.exp(-z * z * Fo) * bessel_j0(z * r_over_R)


@njit(cache=True)
def one_term_sphere(r_over_R, Fo, Bi):
    """One-term solution for a sphere (Incropera sec. 5.6.2; Fo > 0.2):
    theta = C1 exp(-z1^2 Fo) sin(z1 r*)/(z1 r*), C1 = 4 (sin z1 - z1 cos z1) / (2 z1 - sin 2 z1).

    >>> round(one_term_sphere(0.0, 0.2083, 47.85), 3)   # Cengel & Ghajar Ex. 4-3 (egg): theta0 = 0.278
    0.278
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = sphere_eigenvalues(Bi, 1)[0]
    return _sphere_coefficient(z) * math.exp(-z * z * Fo) * _sphere_shape(z, r_over_R)


@njit(cache=True)
def one_term_energy_wall(Fo, Bi):
    """Fraction Q/Q0 of the maximum energy a plane wall has exchanged by Fo (one term, Fo > 0.2):
    Q/Q0 = 1 - sin(z1)/z1 theta0, Q0 = rho cp V (Ti - Tinf) [J] (Incropera sec. 5.5.3).

    >>> round(one_term_energy_wall(5.64, 0.313), 3)   # Incropera Example 5.4 (pipe wall, 8 min)
    0.798
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = wall_eigenvalues(Bi, 1)[0]
    th0 = _wall_coefficient(z) * math.exp(-z * z * Fo)
    return 1.0 - math.sin(z) / z * th0


@njit(cache=True)
def one_term_energy_cylinder(Fo, Bi):
    """Q/Q0 of an infinite cylinder (one term, Fo > 0.2): 1 - 2 theta0 J1(z1)/z1 (Incropera sec. 5.6.3).

    >>> round(one_term_energy_cylinder(1.0665, 0.537), 3)   # Cengel & Ghajar Ex. 4-5
    0.636
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = cylinder_eigenvalues(Bi, 1)[0]
    th0 = _cylinder_coefficient(z) * math.exp(-z * z * Fo)
    return 1.0 - 2.0 * th0 * bessel_j1(z) / z


@njit(cache=True)
def one_term_energy_sphere(Fo, Bi):
    """Q/Q0 of a sphere (one term, Fo > 0.2): 1 - 3 theta0 (sin z1 - z1 cos z1)/z1^3 (Incropera sec. 5.6.3).

    >>> round(one_term_energy_sphere(0.5, 1.0), 4)
    0.713
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = sphere_eigenvalues(Bi, 1)[0]
    th0 = _sphere_coefficient(z) * math.exp(-z * z * Fo)
    return 1.0 - 3.0 * th0 * (math.sin(z) - z * math.cos(z)) / (z * z * z)


# --- finite-volume transient --------------------------------------------------------------------

@njit(cache=True)
def _volumes(geometry, L, nx):
    """Node spacing, control volumes and face areas per unit length (slab: per m^2; cylinder:
    per radian and m; sphere: per steradian)."""
    dx = L / (nx - 1)
    vol = np.empty(nx)
    area = np.empty(nx - 1)  # face between i and i+1
    for i in range(nx - 1):
        xf = (i + 0.5) * dx
        if geometry == SLAB:
            area[i] = 1.0
        elif geometry == CYLINDER:
            area[i] = xf
        else:
            area[i] = xf * xf
    for i in range(nx):
        a = max(0.0, (i - 0.5) * dx)
        b = min(L, (i + 0.5) * dx)
        if geometry == SLAB:
            vol[i] = b - a
        elif geometry == CYLINDER:
            vol[i] = 0.5 * (b * b - a * a)
        else:
            vol[i] = (b * b * b - a * a * a) / 3.0
    return dx, vol, area


@njit(cache=True)
def fd_transient(geometry, L, k, rho, cp, T_init, dt, n_steps, left_type, left_values, right_type, right_values, h_right):
    """Implicit finite-volume solution of rho cp dT/dt = div(k grad T) in 1-D on [0, L].

    geometry: SLAB (0), CYLINDER (1) or SPHERE (2) (x = radius, symmetry at 0). T_init: array
    of nx node temperatures (nodes at x = i L/(nx-1)). Left (x = 0): INSULATED (symmetry) or
    DIRICHLET with ``left_values[step]`` applied at the end of each step. Right (x = L):
    INSULATED, DIRICHLET (``right_values[step]``) or CONVECTIVE with ``h_right`` and ambient
    ``right_values[step]``. Returns (final field, history of node 0, history of node nx-1) with
    n_steps + 1 entries.
    """
    nx = len(T_init)
    if nx < 3:
        raise ValueError("need at least 3 nodes")
    if L <= 0.0 or k <= 0.0 or rho <= 0.0 or cp <= 0.0 or dt <= 0.0:
        raise ValueError("need positive L, k, rho, cp, dt")
    if geometry != SLAB and geometry != CYLINDER and geometry != SPHERE:
        raise ValueError("geometry must be SLAB (0), CYLINDER (1) or SPHERE (2)")
    if geometry != SLAB and left_type != INSULATED:
        raise ValueError("a solid cylinder or sphere has symmetry at r = 0")
    if len(left_values) < n_steps or len(right_values) < n_steps:
        raise ValueError("boundary value arrays need n_steps entries")
    dx, vol, area = _volumes(geometry, L, nx)
    cap = rho * cp * vol / dt
    g = k * area / dx
    a = np.zeros(nx)
    b = np.zeros(nx)
    c = np.zeros(nx)
    d = np.zeros(nx)
    cp_ = np.zeros(nx)
    dp_ = np.zeros(nx)
    T = T_init.copy()
    h0 = np.empty(n_steps + 1)
    h1 = np.empty(n_steps + 1)
    h0[0] = T[0]
    h1[0] = T[nx - 1]
    A_R = 1.0 if geometry == SLAB else (L if geometry == CYLINDER else L * L)
    for s in range(n_steps):
        for i in range(nx):
            gl = g[i - 1] if i > 0 else 0.0
            gr = g[i] if i < nx - 1 else 0.0
            a[i] = -gl
            c[i] = -gr
            b[i] = cap[i] + gl + gr
            d[i] = cap[i] * T[i]
        if left_type == DIRICHLET:
            a[0] = 0.0
            b[0] = 1.0
            c[0] = 0.0
            d[0] = left_values[s]
        if right_type == DIRICHLET:
            a[nx - 1] = 0.0
            b[nx - 1] = 1.0
            c[nx - 1] = 0.0
            d[nx - 1] = right_values[s]
        elif right_type == CONVECTIVE:
            b[nx - 1] += h_right * A_R
            d[nx - 1] += h_right * A_R * right_values[s]
        # Thomas algorithm
        cp_[0] = c[0] / b[0]
        dp_[0] = d[0] / b[0]
        for i in range(1, nx):
            m = b[i] - a[i] * cp_[i - 1]
            cp_[i] = c[i] / m
            dp_[i] = (d[i] - a[i] * dp_[i - 1]) / m
        T[nx - 1] = dp_[nx - 1]
        for i in range(nx - 2, -1, -1):
            T[i] = dp_[i] - cp_[i] * T[i + 1]
        h0[s + 1] = T[0]
        h1[s + 1] = T[nx - 1]
    return T, h0, h1


@njit(cache=True)
def _convective_transient(geometry, L, k, rho, cp, h, T0, Tinf, t_end, nx, n_steps):
    if t_end <= 0.0 or n_steps < 1:
        raise ValueError("need t_end > 0 and n_steps >= 1")
    amb = np.full(n_steps, Tinf)
    _, core, surf = fd_transient(geometry, L, k, rho, cp, np.full(nx, T0), t_end / n_steps, n_steps, INSULATED, amb, CONVECTIVE, amb, h)
    return np.linspace(0.0, t_end, n_steps + 1), core, surf


@njit(cache=True)
def slab_fd_transient(L_half, k, rho, cp, h, T0, Tinf, t_end, nx=41, n_steps=2000):
    """Plate of half-thickness L_half heated (or quenched) by convection on both faces:
    returns (times, core temperature, surface temperature) [s, K, K] (implicit FD)."""
    return _convective_transient(SLAB, L_half, k, rho, cp, h, T0, Tinf, t_end, nx, n_steps)


@njit(cache=True)
def cylinder_fd_transient(R, k, rho, cp, h, T0, Tinf, t_end, nx=41, n_steps=2000):
    """Long cylinder (radius R) heated or quenched by convection: (times, core T, surface T)."""
    return _convective_transient(CYLINDER, R, k, rho, cp, h, T0, Tinf, t_end, nx, n_steps)


@njit(cache=True)
def sphere_fd_transient(R, k, rho, cp, h, T0, Tinf, t_end, nx=41, n_steps=2000):
    """Sphere (radius R) heated or quenched by convection: (times, core T, surface T)."""
    return _convective_transient(SPHERE, R, k, rho, cp, h, T0, Tinf, t_end, nx, n_steps)


@njit(cache=True)
def time_to_core_temperature(geometry, L, k, rho, cp, h, T0, Tinf, T_target, nx=31):
    """Time [s] until the core (mid-plane / axis / centre) of a slab (half-thickness L),
    cylinder or sphere (radius L) reaches T_target when heated or quenched by convection to Tinf
    (implicit FD, step 1/400 of the slower of the conduction time L^2/alpha and the lumped time
    constant rho cp (V/A) / h, V/A = L / (geometry + 1), linear interpolation within the crossing
    step). Valid at any Bi.

    >>> t = time_to_core_temperature(1, 0.03, 40.0, 7850.0, 600.0, 200.0, 293.15, 1123.15, 1103.15)
    >>> 1300 < t < 1450
    True
    """
    if not (min(T0, Tinf) < T_target < max(T0, Tinf)):
        raise ValueError("T_target must lie strictly between T0 and Tinf")
    if h <= 0.0:
        raise ValueError("h must be > 0")
    alpha = thermal_diffusivity(k, rho, cp)
    tau = max(L * L / alpha, rho * cp * L / ((geometry + 1.0) * h))
    dt = tau / 400.0
    chunk = 400
    T = np.full(nx, T0)
    amb = np.full(chunk, Tinf)
    t = 0.0
    heating = Tinf > T0
    for _ in range(1000):
        Tn, core, _s = fd_transient(geometry, L, k, rho, cp, T, dt, chunk, INSULATED, amb, CONVECTIVE, amb, h)
        for i in range(1, chunk + 1):
            reached = core[i] >= T_target if heating else core[i] <= T_target
            if reached:
                f = (T_target - core[i - 1]) / (core[i] - core[i - 1])
                return t + (i - 1 + f) * dt
        t += chunk * dt
        T = Tn
    raise ValueError("core temperature not reached (check parameters)")


@njit(cache=True)
def thermal_expansion(L, alpha, dT):
    """Length change dL = alpha L dT [m]; alpha [1/K], dT [K].

    >>> round(thermal_expansion(0.030015, 1.2e-5, -124.938) * 1e6, 2)
    -45.0
    """
    if L < 0.0:
        raise ValueError("length must be >= 0")
    return alpha * L * dT
