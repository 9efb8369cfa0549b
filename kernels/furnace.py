"""Heating a furnace load: parts heated by the furnace atmosphere through their exposed surface,
with the heat flux limited by the furnace's heating power.

A batch furnace holds its atmosphere at the set point T_f once it can; right after loading, a
cold load takes more heat than the burners or elements deliver, and the furnace is *power
limited*. Per exposed area of the load, the heat flux into a part is

    q = min(h (T_f - T_s), q_max),   q_max = P / A_load

with h [W/(m^2 K)] the heat-transfer coefficient of the atmosphere (convection and radiation
together), T_s the part's surface temperature, P [W] the heating power available for the load
and A_load [m^2] the load's exposed area (all parts together). The load enters through q_max: a
fuller furnace spreads the same power over more area and heats more slowly.

* Lumped parts (Bi = h (V/A) / k < 0.1, Incropera & DeWitt, Fundamentals of Heat and Mass
  Transfer, 6th ed., sec. 5.1-5.3, the general lumped-capacitance energy balance eq. 5.2 with a
  prescribed surface flux): :func:`load_heating_time`, closed form in two phases. While
  h (T_f - T) > q_max the part heats linearly, dT/dt = q_max / c_A, up to T_1 = T_f - q_max / h;
  then exponentially, T_f - T = (T_f - T_1) exp(-h t / c_A), with c_A = m c_p / A [J/(m^2 K)] the
  part's heat capacity per exposed area. Without a power limit (q_max = inf) it is the lumped
  model of :func:`twin.kernels.heat.lumped_time_to_temperature`.
* Any Bi: :func:`core_heating_time` solves 1-D conduction inside the part (implicit finite
  volumes as :func:`twin.kernels.heat.fd_transient`; slab, cylinder or sphere) with the same
  flux-limited surface condition, until the core reaches the target. Without a power limit it
  is :func:`twin.kernels.heat.time_to_core_temperature`; for small Bi it tends to
  :func:`load_heating_time`.

Units: m, s, K, W, J, kg. Validity: constant properties (take them at the mean temperature of
the heating), h constant over the heating, the flux shared evenly over the exposed area of the
load (parts that shade each other are handled by the exposed share of their surface).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .heat import CYLINDER, SLAB, SPHERE, _volumes, thermal_diffusivity

__all__ = ["load_heating_time", "core_heating_time", "heat_flux_limit"]


@njit(cache=True)
def heat_flux_limit(power, area):
    """Heat flux [W/m^2] the furnace can deliver to a load of exposed ``area`` [m^2] with the
    heating ``power`` [W]: q_max = P / A (``power`` <= 0: no limit, inf).

    >>> heat_flux_limit(60e3, 12.0)
    5000.0
    """
    if area <= 0.0:
        raise ValueError("the load's exposed area must be > 0")
    if power <= 0.0:
        return np.inf
    return power / area


@njit(cache=True)
def load_heating_time(c_area, h, q_max, T0, Tf, T_target):
    """Time [s] for a lumped part to heat from ``T0`` to ``T_target`` [K] in a furnace at
    ``Tf`` [K] whose flux into the part is min(h (Tf - T), q_max).

    c_area = m cp / A [J/(m^2 K)] (heat capacity per exposed area, e.g. rho cp V / A), h
    [W/(m^2 K)], q_max [W/m^2] (np.inf: no power limit). Phase 1 (power limited, while
    h (Tf - T) > q_max): t_1 = c_A (T_1 - T0) / q_max up to T_1 = Tf - q_max / h; phase 2:
    t_2 = (c_A / h) ln((Tf - max(T0, T_1)) / (Tf - T_target)). Validity: Bi < 0.1 (check with
    :func:`twin.kernels.heat.check_lumped`), T0 < T_target < Tf. Source: Incropera & DeWitt,
    6th ed., sec. 5.3 (general lumped capacitance analysis with a surface heat flux).

    A 20 kg steel part (cp 470, A = 0.2 m^2) in a furnace at 880 C with h = 150 and a flux limit
    of 10 kW/m^2, from 20 C until 870 C:

    >>> round(load_heating_time(20 * 470 / 0.2, 150.0, 1e4, 293.15, 1153.15, 1143.15), 1)
    4323.1
    >>> round(load_heating_time(20 * 470 / 0.2, 150.0, np.inf, 293.15, 1153.15, 1143.15), 1)  # no limit
    1395.7
    """
    if c_area <= 0.0 or h <= 0.0 or q_max <= 0.0:
        raise ValueError("need c_area > 0, h > 0 and q_max > 0")
    if not (T0 < T_target < Tf):
        raise ValueError("need T0 < T_target < Tf (heating)")
    T1 = Tf - q_max / h  # below T1 the furnace is power limited
    t = 0.0
    start = T0
    if T1 > T0:
        if T_target <= T1:
            return c_area * (T_target - T0) / q_max
        t = c_area * (T1 - T0) / q_max
        start = T1
    return t + c_area / h * math.log((Tf - start) / (Tf - T_target))


@njit(cache=True)
def _step(geometry, T, cap, g, A_R, h, Tf, q_max, flux_bc, a, b, c, d, cp_, dp_):
    nx = len(T)
    for i in range(nx):
        gl = g[i - 1] if i > 0 else 0.0
        gr = g[i] if i < nx - 1 else 0.0
        a[i] = -gl
        c[i] = -gr
        b[i] = cap[i] + gl + gr
        d[i] = cap[i] * T[i]
    if flux_bc:
        d[nx - 1] += q_max * A_R
    else:
        b[nx - 1] += h * A_R
        d[nx - 1] += h * A_R * Tf
    cp_[0] = c[0] / b[0]
    dp_[0] = d[0] / b[0]
    for i in range(1, nx):
        m = b[i] - a[i] * cp_[i - 1]
        cp_[i] = c[i] / m
        dp_[i] = (d[i] - a[i] * dp_[i - 1]) / m
    out = np.empty(nx)
    out[nx - 1] = dp_[nx - 1]
    for i in range(nx - 2, -1, -1):
        out[i] = dp_[i] - cp_[i] * out[i + 1]
    return out


@njit(cache=True)
def core_heating_time(geometry, L, k, rho, cp, h, q_max, T0, Tf, T_target, nx=31):
    """Time [s] until the core of a slab (half-thickness L [m]), long cylinder or sphere
    (radius L) reaches ``T_target`` [K], heated from ``T0`` in a furnace at ``Tf`` with the
    surface flux min(h (Tf - T_s), q_max) [W/m^2] (q_max = np.inf: convection only).

    Implicit finite volumes (backward Euler, ``nx`` nodes, symmetry at the core); each step
    takes the convective surface condition unless it would draw more than q_max, then the
    prescribed flux q_max. Step: 1/400 of the larger of the conduction time L^2/alpha and the
    lumped estimate :func:`load_heating_time`; linear interpolation in the crossing step.
    geometry: SLAB (0), CYLINDER (1), SPHERE (2) as in :mod:`twin.kernels.heat`. Valid at any
    Bi; k [W/(m K)], rho [kg/m^3], cp [J/(kg K)], h [W/(m^2 K)].

    >>> t = core_heating_time(1, 0.03, 40.0, 7850.0, 600.0, 200.0, np.inf, 293.15, 1123.15, 1103.15)
    >>> 1300 < t < 1450            # no power limit: as time_to_core_temperature
    True
    >>> core_heating_time(1, 0.03, 40.0, 7850.0, 600.0, 200.0, 2e4, 293.15, 1123.15, 1103.15) > 2 * t
    True
    """
    if not (T0 < T_target < Tf):
        raise ValueError("need T0 < T_target < Tf (heating)")
    if h <= 0.0 or q_max <= 0.0 or L <= 0.0:
        raise ValueError("need h > 0, q_max > 0 and L > 0")
    if geometry != SLAB and geometry != CYLINDER and geometry != SPHERE:
        raise ValueError("geometry must be SLAB (0), CYLINDER (1) or SPHERE (2)")
    if nx < 3:
        raise ValueError("need at least 3 nodes")
    alpha = thermal_diffusivity(k, rho, cp)
    c_area = rho * cp * L / (geometry + 1.0)  # V/A of slab, cylinder, sphere: L, L/2, L/3
    est = max(L * L / alpha, load_heating_time(c_area, h, q_max, T0, Tf, T_target))
    dt = est / 400.0
    dx, vol, area = _volumes(geometry, L, nx)
    cap = rho * cp * vol / dt
    g = k * area / dx
    A_R = 1.0 if geometry == SLAB else (L if geometry == CYLINDER else L * L)
    a = np.zeros(nx)
    b = np.zeros(nx)
    c = np.zeros(nx)
    d = np.zeros(nx)
    cp_ = np.zeros(nx)
    dp_ = np.zeros(nx)
    T = np.full(nx, T0)
    t = 0.0
    for _ in range(400 * 200):
        Tn = _step(geometry, T, cap, g, A_R, h, Tf, q_max, False, a, b, c, d, cp_, dp_)
        if h * (Tf - Tn[nx - 1]) > q_max:
            Tn = _step(geometry, T, cap, g, A_R, h, Tf, q_max, True, a, b, c, d, cp_, dp_)
        if Tn[0] >= T_target:
            return t + dt * (T_target - T[0]) / (Tn[0] - T[0])
        T = Tn
        t += dt
    raise ValueError("core temperature not reached (check parameters)")
