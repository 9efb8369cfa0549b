"""Heat transfer for heat treatment, quenching and thermal growth.

Lumped capacitance (Incropera & DeWitt, Fundamentals of Heat and Mass Transfer, 6th ed.,
sec. 5.1-5.2): ``T = Tinf + (T0 - Tinf) exp(-h A t / (rho cp V))``, valid for
``Bi = h Lc / k < 0.1`` with ``Lc = V / A``. One-term and series solutions of the plane wall
and infinite cylinder with convection (Incropera sec. 5.5-5.6): eigenvalues from
``z tan z = Bi`` (wall) and ``z J1(z) / J0(z) = Bi`` (cylinder), valid for Fo > 0.2 (one term).
Transient 1-D conduction by an implicit (backward Euler) finite-volume scheme on a uniform
grid (slab or cylinder), symmetry / Dirichlet / convective boundaries, unconditionally stable,
first order in time, second order in space; used for furnace heating to a core temperature
and quenching. Thermal expansion: ``dL = alpha L dT`` (linear, alpha constant).
Units: m, s, K (or degC for differences), W/(m K), W/(m^2 K), kg/m^3, J/(kg K).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["biot_number", "lumped_temperature", "lumped_time_to_temperature", "wall_eigenvalues",
           "cylinder_eigenvalues", "wall_series", "one_term_wall", "one_term_cylinder", "fd_transient",
           "slab_fd_transient", "cylinder_fd_transient", "time_to_core_temperature", "thermal_expansion",
           "bessel_j0", "bessel_j1", "INSULATED", "DIRICHLET", "CONVECTIVE", "SLAB", "CYLINDER"]

INSULATED, DIRICHLET, CONVECTIVE = 0, 1, 2
SLAB, CYLINDER = 0, 1


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
def lumped_temperature(t, T0, Tinf, h, rho, cp, V, A):
    """Lumped-capacitance temperature at time t [s] (check Bi < 0.1 with :func:`biot_number`).

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
    """Time [s] for a lumped body to go from T0 to T in surroundings at Tinf.

    >>> D = 6 * 400.0 * 1.0 / (8500.0 * 400.0)   # sphere with tau = 1 s
    >>> round(lumped_time_to_temperature(472.15, 298.15, 473.15, 400.0, 8500.0, 400.0, D / 6, 1.0), 4)
    5.1648
    """
    if h <= 0.0:
        raise ValueError("h must be > 0")
    r = (T - Tinf) / (T0 - Tinf)
    if r <= 0.0 or r > 1.0:
        raise ValueError("T must lie between T0 and Tinf (and differ from Tinf)")
    return -rho * cp * V / (h * A) * math.log(r)


@njit(cache=True)
def bessel_j0(x):
    """Bessel J0 (Abramowitz & Stegun 9.4.1 / 9.4.3), |error| < 5e-8."""
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
    """Bessel J1 (Abramowitz & Stegun 9.4.4 / 9.4.6), |error| < 4e-8."""
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
    """First n roots of z tan z = Bi (plane wall with convection), by bisection."""
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
    """First n roots of z J1(z) / J0(z) = Bi (infinite cylinder with convection), by bisection
    between consecutive zeros of J1 and J0."""
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
def wall_series(x_over_L, Fo, Bi, n_terms=20):
    """Dimensionless temperature theta = (T - Tinf)/(Ti - Tinf) of a plane wall (half-thickness L,
    convection on both faces) by the eigenfunction series; x measured from the mid-plane.

    >>> round(773.15 + (293.15 - 773.15) * wall_series(1.0, 35.595, 0.0218182), 3)
    552.734
    """
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = wall_eigenvalues(Bi, n_terms)
    th = 0.0
    for i in range(n_terms):
        c = 4.0 * math.sin(z[i]) / (2.0 * z[i] + math.sin(2.0 * z[i]))
        th += c * math.exp(-z[i] * z[i] * Fo) * math.cos(z[i] * x_over_L)
    return th


@njit(cache=True)
def one_term_wall(x_over_L, Fo, Bi):
    """One-term approximation of :func:`wall_series` (Incropera eq. 5.43; Fo > 0.2)."""
    return wall_series(x_over_L, Fo, Bi, 1)


@njit(cache=True)
def one_term_cylinder(r_over_R, Fo, Bi):
    """One-term solution for an infinite cylinder (Incropera eq. 5.49; Fo > 0.2):
    theta = C1 exp(-z1^2 Fo) J0(z1 r/R), C1 = 2 J1(z1) / (z1 (J0^2 + J1^2))."""
    if Fo < 0.0:
        raise ValueError("Fo must be >= 0")
    z = cylinder_eigenvalues(Bi, 1)[0]
    j0 = bessel_j0(z)
    j1 = bessel_j1(z)
    c1 = 2.0 / z * j1 / (j0 * j0 + j1 * j1)
    return c1 * math.exp(-z * z * Fo) * bessel_j0(z * r_over_R)


@njit(cache=True)
def _volumes(geometry, L, nx):
    dx = L / (nx - 1)
    vol = np.empty(nx)
    area = np.empty(nx - 1)  # face between i and i+1
    for i in range(nx - 1):
        xf = (i + 0.5) * dx
        area[i] = 1.0 if geometry == SLAB else xf
    for i in range(nx):
        a = max(0.0, (i - 0.5) * dx)
        b = min(L, (i + 0.5) * dx)
        vol[i] = (b - a) if geometry == SLAB else 0.5 * (b * b - a * a)
    return dx, vol, area


@njit(cache=True)
def fd_transient(geometry, L, k, rho, cp, T_init, dt, n_steps, left_type, left_values, right_type, right_values, h_right):
    """Implicit finite-volume solution of rho cp dT/dt = div(k grad T) in 1-D on [0, L].

    geometry: SLAB (0) or CYLINDER (1, x = radius, symmetry at 0). T_init: array of nx node
    temperatures (nodes at x = i L/(nx-1)). Left (x = 0): INSULATED (symmetry) or DIRICHLET with
    ``left_values[step]`` applied at the end of each step. Right (x = L): INSULATED, DIRICHLET
    (``right_values[step]``) or CONVECTIVE with ``h_right`` and ambient ``right_values[step]``.
    Returns (final field, history of node 0, history of node nx-1) with n_steps + 1 entries.
    """
    nx = len(T_init)
    if nx < 3:
        raise ValueError("need at least 3 nodes")
    if L <= 0.0 or k <= 0.0 or rho <= 0.0 or cp <= 0.0 or dt <= 0.0:
        raise ValueError("need positive L, k, rho, cp, dt")
    if geometry == CYLINDER and left_type != INSULATED:
        raise ValueError("a solid cylinder has symmetry at r = 0")
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
    A_R = 1.0 if geometry == SLAB else L
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
def time_to_core_temperature(geometry, L, k, rho, cp, h, T0, Tinf, T_target, nx=31):
    """Time [s] until the core (mid-plane / axis) of a slab (half-thickness L) or cylinder
    (radius L) reaches T_target when heated or quenched by convection to Tinf (implicit FD,
    step 1/400 of the slower of the conduction and convection time scales, linear interpolation
    within the crossing step).

    >>> t = time_to_core_temperature(1, 0.03, 40.0, 7850.0, 600.0, 200.0, 293.15, 1123.15, 1103.15)
    >>> 1300 < t < 1450
    True
    """
    if not (min(T0, Tinf) < T_target < max(T0, Tinf)):
        raise ValueError("T_target must lie strictly between T0 and Tinf")
    if h <= 0.0:
        raise ValueError("h must be > 0")
    alpha = k / (rho * cp)
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
