"""The semi-infinite solid (error-function solutions): surface heating and quenching of thick
parts, the first seconds of any quench, and how deep a surface treatment reaches.

A solid at uniform Ti occupying x >= 0 is disturbed at its surface x = 0 from t = 0 on
(Incropera & DeWitt, Fundamentals of Heat and Mass Transfer, 6th ed., sec. 5.7; Cengel & Ghajar,
Heat and Mass Transfer, sec. 4-3; Carslaw & Jaeger, Conduction of Heat in Solids, 2nd ed., sec. 2.4-2.9).
With ``xi = x / (2 sqrt(alpha t))``:

* constant surface temperature Ts:  ``(T - Ts) / (Ti - Ts) = erf(xi)``; surface heat flux into
  the solid ``q_s = k (Ts - Ti) / sqrt(pi alpha t) = e (Ts - Ti) / sqrt(pi t)`` with effusivity
  ``e = sqrt(k rho cp)``; energy taken up per area ``Q = 2 e (Ts - Ti) sqrt(t / pi)``;
* constant surface heat flux q0 (into the solid; negative for extraction):
  ``T - Ti = 2 q0 sqrt(alpha t / pi) / k exp(-xi^2) - q0 x / k erfc(xi)``;
* convection to a fluid at Tinf with coefficient h:
  ``(T - Ti) / (Tinf - Ti) = erfc(xi) - exp(h x / k + h^2 alpha t / k^2) erfc(xi + h sqrt(alpha t) / k)``,
  evaluated as ``erfc(xi) - exp(-xi^2) erfcx(xi + beta)``, ``beta = h sqrt(alpha t) / k``
  (``erfcx(y) = exp(y^2) erfc(y)``), which neither overflows nor cancels for large h or t.

Heating (Ts, Tinf above Ti) and quenching (below Ti) use the same formulas. Penetration depth:
the depth at which the temperature change of the constant-surface-temperature problem is a
``fraction`` of the surface change, ``delta = 2 sqrt(alpha t) erfcinv(fraction)`` (3.64
sqrt(alpha t) for 1 %). Validity: constant properties, 1-D; a plate of thickness L heated from
one face behaves as semi-infinite while delta(1 %) < L (Fo = alpha t / L^2 below about 0.075).
Units: m, s, K, W/(m K), W/(m^2 K), m^2/s, W/m^2, J/m^2.
"""

from __future__ import annotations

import math

from numba import njit

from .heat import thermal_effusivity

__all__ = ["erfcx", "erfinv", "erfcinv", "semi_infinite_step", "semi_infinite_step_flux", "semi_infinite_step_energy",
           "semi_infinite_flux", "semi_infinite_convection", "semi_infinite_convection_flux", "penetration_depth"]

_SQRT_PI = math.sqrt(math.pi)


@njit(cache=True)
def erfcx(x):
    """Scaled complementary error function exp(x^2) erfc(x).

    Direct product below x = 25 (relative error < 1e-13: exp(x^2) carries the rounding of x^2),
    above it the asymptotic series 1/(x sqrt(pi)) sum (-1)^n (2n-1)!! / (2 x^2)^n (Abramowitz &
    Stegun 7.1.23; 8 terms, error < 1e-16); negative x by erfcx(-x) = 2 exp(x^2) - erfcx(x).

    >>> round(erfcx(30.0) * 30.0 * math.sqrt(math.pi), 6)
    0.999445
    """
    if x < 0.0:
        return 2.0 * math.exp(x * x) - erfcx(-x)
    if x < 25.0:
        return math.exp(x * x) * math.erfc(x)
    inv = 1.0 / (2.0 * x * x)
    term = 1.0
    s = 1.0
    for n in range(1, 9):
        term *= -(2.0 * n - 1.0) * inv
        s += term
    return s / (x * _SQRT_PI)


@njit(cache=True)
def erfcinv(p):
    """Inverse complementary error function for 0 < p < 2 (erfc(x) = p). Start: Winitzki's
    closed form (relative error ~2e-3) or, for p < 1e-8, sqrt(-ln p); then Newton steps on
    ln erfc(x) - ln p, whose slope -2 / (sqrt(pi) erfcx(x)) keeps full relative precision in the
    tail (erfinv(1 - p) would lose it to the rounding of 1 - p).

    >>> round(erfcinv(0.01), 6)   # 3.643 / 2
    1.821386
    """
    if not (0.0 < p < 2.0):
        raise ValueError("erfcinv needs 0 < p < 2")
    if p > 1.0:
        return -erfcinv(2.0 - p)
    if p == 1.0:
        return 0.0
    if p < 1e-8:
        x = math.sqrt(-math.log(p))
    else:
        y = 1.0 - p
        a = 0.147
        ln = math.log(1.0 - y * y)
        t = 2.0 / (math.pi * a) + 0.5 * ln
        x = math.sqrt(math.sqrt(t * t - ln / a) - t)
    lp = math.log(p)
    for _ in range(60):
        step = (math.log(math.erfc(x)) - lp) * _SQRT_PI * erfcx(x) / 2.0
        x += step
        if abs(step) <= 1e-16 * x:
            break
    return x


@njit(cache=True)
def erfinv(y):
    """Inverse error function for -1 < y < 1: Newton on erf near 0, :func:`erfcinv` (1 - |y|)
    beyond |y| = 0.5 (1 - |y| is exact there).

    >>> round(erfinv(0.4), 4)   # erf(0.3708) = 0.4
    0.3708
    """
    if not (-1.0 < y < 1.0):
        raise ValueError("erfinv needs -1 < y < 1")
    if y < 0.0:
        return -erfinv(-y)
    if y > 0.5:
        return erfcinv(1.0 - y)
    if y == 0.0:
        return 0.0
    x = 0.5 * _SQRT_PI * y  # erf(x) ~ 2 x / sqrt(pi)
    for _ in range(40):
        step = (math.erf(x) - y) / (2.0 / _SQRT_PI * math.exp(-x * x))
        x -= step
        if abs(step) <= 1e-16 * x:
            break
    return x


@njit(cache=True)
def _check(x, t, k, alpha):
    if x < 0.0:
        raise ValueError("depth x must be >= 0")
    if t < 0.0:
        raise ValueError("time must be >= 0")
    if alpha <= 0.0 or k <= 0.0:
        raise ValueError("need k > 0 and alpha > 0")


@njit(cache=True)
def semi_infinite_step(x, t, Ti, Ts, alpha):
    """Temperature [K] at depth x [m] and time t [s] after the surface of a solid at Ti is set to
    Ts: T = Ts + (Ti - Ts) erf(x / (2 sqrt(alpha t))). alpha [m^2/s].

    >>> round(semi_infinite_step(0.677, 60 * 86400.0, 20.0, -15.0, 0.138e-6), 2)   # Incropera: water main, 0 C at 0.68 m
    0.0
    """
    _check(x, t, 1.0, alpha)
    if t == 0.0:
        return Ts if x == 0.0 else Ti
    return Ts + (Ti - Ts) * math.erf(x / (2.0 * math.sqrt(alpha * t)))


@njit(cache=True)
def semi_infinite_step_flux(t, Ti, Ts, k, alpha):
    """Surface heat flux into the solid [W/m^2] t seconds after the surface step to Ts:
    q_s = k (Ts - Ti) / sqrt(pi alpha t) (negative when quenching). k [W/(m K)].

    >>> round(semi_infinite_step_flux(60.0, 20.0, 520.0, 60.5, 17.7e-6))   # carbon steel, 1 min after the step
    523707
    """
    _check(0.0, t, k, alpha)
    if t == 0.0:
        raise ValueError("the surface flux is infinite at t = 0")
    return k * (Ts - Ti) / math.sqrt(math.pi * alpha * t)


@njit(cache=True)
def semi_infinite_step_energy(t, Ti, Ts, k, rho, cp):
    """Energy per surface area taken up by the solid [J/m^2] during t seconds of a surface step
    to Ts: Q = 2 e (Ts - Ti) sqrt(t / pi), e = sqrt(k rho cp) the effusivity (the time integral
    of :func:`semi_infinite_step_flux`).

    >>> round(semi_infinite_step_energy(60.0, 20.0, 520.0, 60.5, 7854.0, 434.0) / 1e6, 2)
    62.76
    """
    if t < 0.0:
        raise ValueError("time must be >= 0")
    return 2.0 * thermal_effusivity(k, rho, cp) * (Ts - Ti) * math.sqrt(t / math.pi)


@njit(cache=True)
def semi_infinite_flux(x, t, Ti, q0, k, alpha):
    """Temperature [K] at depth x and time t under a constant surface heat flux q0 [W/m^2] into
    the solid (negative for extraction): T = Ti + 2 q0 sqrt(alpha t / pi) / k exp(-xi^2)
    - q0 x / k erfc(xi), xi = x / (2 sqrt(alpha t)).

    >>> round(semi_infinite_flux(0.0, 1200.0, 20.0, 1250.0, 0.159, 1.75e-7))   # Cengel & Ghajar: wood block in the sun
    149
    """
    _check(x, t, k, alpha)
    if t == 0.0:
        return Ti
    s = math.sqrt(alpha * t)
    xi = x / (2.0 * s)
    return Ti + 2.0 * q0 * s / (_SQRT_PI * k) * math.exp(-xi * xi) - q0 * x / k * math.erfc(xi)


@njit(cache=True)
def semi_infinite_convection(x, t, Ti, Tinf, h, k, alpha):
    """Temperature [K] at depth x and time t of a solid at Ti whose surface meets a fluid at Tinf
    with heat transfer coefficient h [W/(m^2 K)] from t = 0 (heating or quenching):
    (T - Ti)/(Tinf - Ti) = erfc(xi) - exp(-xi^2) erfcx(xi + h sqrt(alpha t)/k).
    h -> infinity gives :func:`semi_infinite_step` with Ts = Tinf.

    >>> round(semi_infinite_convection(0.003, 100.0, 393.0, 355.0, 50.0, 10.0, 4.029e-6), 1)   # Nellis & Klein EES semiinf3
    389.5
    """
    _check(x, t, k, alpha)
    if h < 0.0:
        raise ValueError("h must be >= 0")
    if t == 0.0:
        return Ti
    s = math.sqrt(alpha * t)
    xi = x / (2.0 * s)
    beta = h * s / k
    theta = math.erfc(xi) - math.exp(-xi * xi) * erfcx(xi + beta)
    return Ti + (Tinf - Ti) * theta


@njit(cache=True)
def semi_infinite_convection_flux(t, Ti, Tinf, h, k, alpha):
    """Surface heat flux into the solid [W/m^2] under convection: q_s = h (Tinf - Ts(t)),
    Ts(t) = Ti + (Tinf - Ti) (1 - erfcx(h sqrt(alpha t) / k)).

    >>> round(semi_infinite_convection_flux(0.0, 1123.0, 333.0, 3000.0, 40.0, 1.0e-5))   # quench: h (Tinf - Ti) at t = 0
    -2370000
    """
    _check(0.0, t, k, alpha)
    if h < 0.0:
        raise ValueError("h must be >= 0")
    return h * (Tinf - Ti) * erfcx(h * math.sqrt(alpha * t) / k)


@njit(cache=True)
def penetration_depth(t, alpha, fraction=0.01):
    """Depth [m] at which the temperature change after a surface temperature step is
    ``fraction`` of the surface change: delta = 2 sqrt(alpha t) erfcinv(fraction).

    >>> round(penetration_depth(1.0, 1.0, 0.01), 3)   # 3.643 sqrt(alpha t) for 1 %
    3.643
    """
    if t < 0.0 or alpha <= 0.0:
        raise ValueError("need t >= 0 and alpha > 0")
    if not (0.0 < fraction < 1.0):
        raise ValueError("fraction must lie in (0, 1)")
    return 2.0 * math.sqrt(alpha * t) * erfcinv(fraction)
