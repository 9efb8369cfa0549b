"""The semi-infinite solid: special functions against scipy, each solution checked to be an exact
solution (heat equation, initial and boundary condition, energy balance) by independent numerics,
against the implicit finite-volume solver on a thick slab (heating and quenching), limits, and the
validity statement for plates. Published worked examples: test_issue18_published.py."""

import math

import numpy as np
import pytest
from scipy import integrate, special

import twin.kernels as K
from twin.kernels import heat

STEEL = dict(k=40.0, rho=7850.0, cp=510.0)
ALPHA = K.thermal_diffusivity(STEEL["k"], STEEL["rho"], STEEL["cp"])


def test_erfcx_and_erfinv_against_scipy():
    x = np.r_[np.linspace(-3.0, 30.0, 3301), np.geomspace(30.0, 1e6, 200)]
    got = np.array([K.erfcx(v) for v in x])
    np.testing.assert_allclose(got, special.erfcx(x), rtol=3e-13)
    y = np.r_[np.linspace(-0.999999, 0.999999, 2001), 1 - np.geomspace(1e-12, 1e-2, 50)]
    np.testing.assert_allclose([K.erfinv(v) for v in y], special.erfinv(y), rtol=1e-13, atol=1e-15)
    p = np.r_[np.geomspace(1e-300, 1.0, 400), np.linspace(1.0, 1.999999, 200)]
    np.testing.assert_allclose([K.erfcinv(v) for v in p], special.erfcinv(p), rtol=1e-13, atol=1e-15)
    for bad in (lambda: K.erfinv(1.0), lambda: K.erfcinv(0.0), lambda: K.erfcinv(2.0)):
        with pytest.raises(ValueError):
            bad()


def _pde_residual(T, x, t, alpha, dx=1e-5, dt=1e-3):
    """dT/dt - alpha d2T/dx2 by central differences, relative to the size of dT/dt."""
    dTdt = (T(x, t + dt) - T(x, t - dt)) / (2 * dt)
    d2 = (T(x + dx, t) - 2 * T(x, t) + T(x - dx, t)) / dx ** 2
    return abs(dTdt - alpha * d2) / max(abs(dTdt), 1e-9)


@pytest.mark.parametrize("Ts", [1123.15, 333.15], ids=["heating", "quench"])
def test_step_solution_is_exact(Ts):
    Ti, a, k = 573.15, ALPHA, STEEL["k"]
    T = lambda x, t: K.semi_infinite_step(x, t, Ti, Ts, a)
    for x, t in ((0.002, 5.0), (0.01, 30.0), (0.02, 60.0)):
        assert _pde_residual(T, x, t, a) < 1e-4
    assert T(0.0, 10.0) == Ts and T(0.01, 0.0) == Ti and T(0.0, 0.0) == Ts
    assert T(1.0, 10.0) == pytest.approx(Ti, abs=1e-9)
    # surface flux = -k dT/dx at the surface; the energy taken up is its time integral and the stored heat
    t = 40.0
    q = K.semi_infinite_step_flux(t, Ti, Ts, k, a)
    assert q == pytest.approx(-k * (T(1e-6, t) - T(0.0, t)) / 1e-6, rel=1e-4)
    Q = K.semi_infinite_step_energy(t, Ti, Ts, k, STEEL["rho"], STEEL["cp"])
    assert Q == pytest.approx(integrate.quad(lambda s: K.semi_infinite_step_flux(s, Ti, Ts, k, a), 0, t)[0], rel=1e-7)
    stored = STEEL["rho"] * STEEL["cp"] * integrate.quad(lambda x: T(x, t) - Ti, 0, 0.5, limit=200)[0]
    assert Q == pytest.approx(stored, rel=1e-7)
    assert math.copysign(1, Q) == math.copysign(1, Ts - Ti)


@pytest.mark.parametrize("q0", [2e5, -1.5e5], ids=["heating", "extraction"])
def test_flux_solution_is_exact(q0):
    Ti, a, k = 293.15, ALPHA, STEEL["k"]
    T = lambda x, t: K.semi_infinite_flux(x, t, Ti, q0, k, a)
    for x, t in ((0.003, 5.0), (0.01, 30.0)):
        assert _pde_residual(T, x, t, a) < 1e-4
    t = 25.0
    assert -k * (T(1e-6, t) - T(0.0, t)) / 1e-6 == pytest.approx(q0, rel=1e-4)  # boundary condition
    stored = STEEL["rho"] * STEEL["cp"] * integrate.quad(lambda x: T(x, t) - Ti, 0, 0.5, limit=200)[0]
    assert stored == pytest.approx(q0 * t, rel=1e-7)  # all the flux is stored
    assert T(0.01, 0.0) == Ti


@pytest.mark.parametrize("Tinf", [1123.15, 333.15], ids=["heating", "quench"])
def test_convection_solution_is_exact_and_has_the_right_limits(Tinf):
    Ti, a, k, h = 573.15, ALPHA, STEEL["k"], 3000.0
    T = lambda x, t: K.semi_infinite_convection(x, t, Ti, Tinf, h, k, a)
    for x, t in ((0.002, 5.0), (0.01, 30.0)):
        assert _pde_residual(T, x, t, a) < 1e-4
    t = 20.0
    Ts = T(0.0, t)
    dTdx = (T(1e-6, t) - Ts) / 1e-6
    assert -k * dTdx == pytest.approx(h * (Tinf - Ts), rel=1e-4)  # convective boundary
    assert K.semi_infinite_convection_flux(t, Ti, Tinf, h, k, a) == pytest.approx(h * (Tinf - Ts), rel=1e-12)
    assert T(0.01, 0.0) == Ti
    assert K.semi_infinite_convection(0.01, t, Ti, Tinf, 0.0, k, a) == Ti  # no convection, no change
    # h -> infinity: the surface takes Tinf at once (the step solution); no overflow for huge h, t
    for x in (0.0, 0.003, 0.01):
        assert K.semi_infinite_convection(x, t, Ti, Tinf, 1e12, k, a) == pytest.approx(K.semi_infinite_step(x, t, Ti, Tinf, a), abs=1e-6)
    assert math.isfinite(K.semi_infinite_convection(0.05, 1e7, Ti, Tinf, 1e9, k, a))
    # quench and heating mirror each other about Ti
    assert T(0.004, t) - Ti == pytest.approx(-(K.semi_infinite_convection(0.004, t, Ti, 2 * Ti - Tinf, h, k, a) - Ti), rel=1e-12)


@pytest.mark.parametrize("Tinf,h", [(333.15, 3000.0), (1173.15, 300.0), (293.15, 1e9)], ids=["water-quench", "furnace", "step"])
def test_against_finite_volumes_on_a_thick_slab(Tinf, h):
    """Implicit finite volumes (0.1 mm cells, 10 ms steps) on a 0.2 m slab insulated at the back:
    the first 30 s of a quench or heat-up agree with the semi-infinite solution within 0.2 K."""
    Ti, L, t, nx, n = 873.15, 0.2, 30.0, 2001, 3000
    T, _, _ = heat.fd_transient(heat.SLAB, L, STEEL["k"], STEEL["rho"], STEEL["cp"], np.full(nx, Ti), t / n, n, heat.INSULATED, np.zeros(n),
                                heat.CONVECTIVE, np.full(n, Tinf), h)
    x = np.linspace(0, L, nx)
    for depth in (0.0, 0.001, 0.003, 0.01, 0.02):
        fd = np.interp(L - depth, x, T)
        assert fd == pytest.approx(K.semi_infinite_convection(depth, t, Ti, Tinf, h, STEEL["k"], ALPHA), abs=0.2), depth


def test_penetration_depth_and_plate_validity():
    t = 50.0
    d = K.penetration_depth(t, ALPHA, 0.01)
    assert d == pytest.approx(2 * math.sqrt(ALPHA * t) * special.erfcinv(0.01), rel=1e-14)
    assert (K.semi_infinite_step(d, t, 300.0, 1300.0, ALPHA) - 300.0) / 1000.0 == pytest.approx(0.01, rel=1e-10)
    # a plate of thickness L heated at one face follows the semi-infinite solution while the 1 %
    # penetration depth is below L (Fo < 0.075) and not later
    L, nx = 0.02, 401
    x = np.linspace(0, L, nx)
    depths = np.linspace(0, L / 2, 11)
    for Fo, within in ((0.075, True), (0.5, False)):
        t = Fo * L * L / ALPHA
        n = 2000
        T, _, _ = heat.fd_transient(heat.SLAB, L, STEEL["k"], STEEL["rho"], STEEL["cp"], np.full(nx, 300.0), t / n, n, heat.INSULATED,
                                    np.zeros(n), heat.DIRICHLET, np.full(n, 1300.0), 0.0)
        err = max(abs(np.interp(L - dd, x, T) - K.semi_infinite_step(dd, t, 300.0, 1300.0, ALPHA)) for dd in depths) / 1000.0
        assert (err < 0.01) == within, (Fo, err)
    assert K.penetration_depth(1.0, 1.0, 0.01) / 3.643 == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("call", [
    lambda: K.semi_infinite_step(-0.001, 1.0, 300.0, 400.0, 1e-5),
    lambda: K.semi_infinite_step(0.001, -1.0, 300.0, 400.0, 1e-5),
    lambda: K.semi_infinite_step(0.001, 1.0, 300.0, 400.0, 0.0),
    lambda: K.semi_infinite_step_flux(0.0, 300.0, 400.0, 40.0, 1e-5),
    lambda: K.semi_infinite_flux(0.0, 1.0, 300.0, 1e5, 0.0, 1e-5),
    lambda: K.semi_infinite_convection(0.0, 1.0, 300.0, 400.0, -1.0, 40.0, 1e-5),
    lambda: K.penetration_depth(1.0, 1e-5, 1.0),
])
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
