"""Thermal properties as functions, the refactor of heat.py (numbers unchanged), Bessel functions
and eigenvalues against scipy, Incropera's Table 5.1, the sphere, the one-term energy Q/Q0 against
quadrature of the exact series and against the finite-volume solution, and the lumped-model guard.
(The published worked examples are in test_issue18_published.py.)"""

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special

import twin.kernels as K
from twin.kernels import heat

# printed by heat.py at commit 8cbbd3b (before properties were factored out into functions)
BEFORE_REFACTOR = {
    "biot": (lambda: K.biot_number(120.0, 0.02, 110.0), 0.021818181818181816),
    "lumped_T": (lambda: K.lumped_temperature(420.0, 293.15, 773.15, 120.0, 8530.0, 380.0, 0.02, 1.0), 552.551510891581),
    "lumped_t": (lambda: K.lumped_time_to_temperature(700.0, 293.15, 773.15, 120.0, 8530.0, 380.0, 0.02, 1.0), 1016.326911203169),
    "wall_series": (lambda: K.wall_series(0.3, 0.7, 2.5, 20), 0.452175029499246),
    "one_term_wall": (lambda: K.one_term_wall(1.0, 0.5, 0.8), 0.5664597692337249),
    "one_term_cyl": (lambda: K.one_term_cylinder(0.4, 0.6, 3.0), 0.18234173637862058),
    "core_cyl_heat": (lambda: K.time_to_core_temperature(1, 0.03, 40.0, 7850.0, 600.0, 200.0, 293.15, 1123.15, 1103.15), 1380.8653288146727),
    "core_slab_quench": (lambda: K.time_to_core_temperature(0, 0.02, 45.0, 7850.0, 470.0, 2000.0, 1123.15, 333.15, 473.15), 88.79054072509501),
    "slab_fd_core_end": (lambda: K.slab_fd_transient(0.02, 45.0, 7850.0, 470.0, 800.0, 293.15, 1123.15, 900.0)[1][-1], 1123.0022374714124),
    "cyl_fd_surf_end": (lambda: K.cylinder_fd_transient(0.05, 30.0, 7800.0, 500.0, 300.0, 1100.0, 300.0, 1200.0)[2][-1], 326.9144465468941),
    "wall_eig_3": (lambda: heat.wall_eigenvalues(1.5, 3)[2], 6.509659028718289),
    "cyl_eig_3": (lambda: heat.cylinder_eigenvalues(1.5, 3)[2], 7.223283164182247),
}


@pytest.mark.parametrize("name", sorted(BEFORE_REFACTOR))
def test_refactor_leaves_results_unchanged(name):
    call, before = BEFORE_REFACTOR[name]
    assert call() == pytest.approx(before, rel=1e-14, abs=0)


def test_property_functions():
    # Incropera & DeWitt 6th ed. Table A.1 (300 K): rho, cp, k and the printed alpha * 1e6
    for rho, cp, k, alpha6 in ((7854, 434, 60.5, 17.7), (7832, 434, 63.9, 18.8), (7900, 477, 14.9, 3.95), (2702, 903, 237, 97.1), (2770, 875, 177, 73.0)):
        assert K.thermal_diffusivity(k, rho, cp) * 1e6 == pytest.approx(alpha6, rel=0.003)
        e = K.thermal_effusivity(k, rho, cp)
        assert e == pytest.approx(k / math.sqrt(K.thermal_diffusivity(k, rho, cp)), rel=1e-14)  # e = k / sqrt(alpha)
    assert K.fourier_number(2e-5, 50.0, 0.01) == pytest.approx(10.0)
    assert K.lumped_time_constant(7800.0, 450.0, 2.0, 100.0, 4.0) == pytest.approx(7800 * 450 * 2 / 400)
    assert K.lumped_biot(50.0, 1e-3, 0.1, 40.0) == pytest.approx(50 * 0.01 / 40)
    for bad in (lambda: K.thermal_diffusivity(0.0, 1.0, 1.0), lambda: K.thermal_effusivity(1.0, -1.0, 1.0),
                lambda: K.fourier_number(1e-5, -1.0, 0.1), lambda: K.fourier_number(1e-5, 1.0, 0.0),
                lambda: K.lumped_time_constant(7800.0, 450.0, 1.0, 0.0, 1.0), lambda: K.lumped_biot(10.0, 0.0, 1.0, 1.0)):
        with pytest.raises(ValueError):
            bad()


def test_bessel_against_scipy():
    x = np.linspace(0.0, 40.0, 4001)
    assert np.max(np.abs([heat.bessel_j0(v) - special.j0(v) for v in x])) < 1e-7
    assert np.max(np.abs([heat.bessel_j1(v) - special.j1(v) for v in x])) < 1e-7
    assert heat.bessel_j1(-1.3) == pytest.approx(-special.j1(1.3), abs=1e-7)


@pytest.mark.parametrize("Bi", [0.01, 0.1, 0.537, 1.0, 5.0, 47.85, 200.0])
def test_eigenvalues_against_root_finding(Bi):
    def roots(f, brackets):
        return [optimize.brentq(f, a, b, xtol=1e-15) for a, b in brackets]
    wall = roots(lambda z: z * math.tan(z) - Bi, [(i * math.pi + 1e-12, i * math.pi + math.pi / 2 - 1e-12) for i in range(5)])
    j0z, j1z = special.jn_zeros(0, 5), np.r_[0.0, special.jn_zeros(1, 4)]
    cyl = roots(lambda z: z * special.j1(z) / special.j0(z) - Bi, [(j1z[i] + 1e-9, j0z[i] - 1e-9) for i in range(5)])
    sph = roots(lambda z: 1 - z / math.tan(z) - Bi, [(i * math.pi + 1e-9, (i + 1) * math.pi - 1e-9) for i in range(5)])
    np.testing.assert_allclose(K.wall_eigenvalues(Bi, 5), wall, rtol=1e-13)
    np.testing.assert_allclose(K.cylinder_eigenvalues(Bi, 5), cyl, rtol=2e-7)  # A&S polynomial Bessel functions
    np.testing.assert_allclose(K.sphere_eigenvalues(Bi, 5), sph, rtol=1e-13)


# Incropera & DeWitt 6th ed., Table 5.1: (Bi, wall z1, C1, cylinder z1, C1, sphere z1, C1)
TABLE_5_1 = [(0.1, 0.3111, 1.0161, 0.4417, 1.0246, 0.5423, 1.0298),
             (1.0, 0.8603, 1.1191, 1.2558, 1.2071, 1.5708, 1.2732),
             (10.0, 1.4289, 1.2620, 2.1795, 1.5677, 2.8363, 1.9249)]


@pytest.mark.parametrize("row", TABLE_5_1, ids=lambda r: f"Bi={r[0]}")
def test_one_term_coefficients_match_incropera_table_5_1(row):
    Bi, zw, cw, zc, cc, zs, cs = row
    assert K.wall_eigenvalues(Bi, 1)[0] == pytest.approx(zw, abs=1e-4)
    assert K.cylinder_eigenvalues(Bi, 1)[0] == pytest.approx(zc, abs=1e-4)
    assert K.sphere_eigenvalues(Bi, 1)[0] == pytest.approx(zs, abs=1e-4)
    # C1 is theta at the centre at Fo = 0 of the one-term form
    assert K.one_term_wall(0.0, 0.0, Bi) == pytest.approx(cw, abs=1e-4)
    assert K.one_term_cylinder(0.0, 0.0, Bi) == pytest.approx(cc, abs=1e-4)
    assert K.one_term_sphere(0.0, 0.0, Bi) == pytest.approx(cs, abs=1e-4)


def _series_mean(geometry, Fo, Bi, n=60):
    """Volume-mean theta of the exact series by quadrature (independent of the closed forms)."""
    if geometry == heat.SLAB:
        return integrate.quad(lambda x: K.wall_series(x, Fo, Bi, n), 0, 1, limit=200)[0]
    if geometry == heat.CYLINDER:
        return 2 * integrate.quad(lambda r: K.cylinder_series(r, Fo, Bi, 8) * r, 0, 1, limit=200)[0]
    return 3 * integrate.quad(lambda r: K.sphere_series(r, Fo, Bi, n) * r * r, 0, 1, limit=200)[0]


ENERGY = {heat.SLAB: K.one_term_energy_wall, heat.CYLINDER: K.one_term_energy_cylinder, heat.SPHERE: K.one_term_energy_sphere}
ONE_TERM = {heat.SLAB: K.one_term_wall, heat.CYLINDER: K.one_term_cylinder, heat.SPHERE: K.one_term_sphere}


@pytest.mark.parametrize("geometry", [heat.SLAB, heat.CYLINDER, heat.SPHERE], ids=["wall", "cylinder", "sphere"])
@pytest.mark.parametrize("Bi", [0.2, 1.0, 10.0])
def test_one_term_energy_against_series_and_fd(geometry, Bi):
    """Q/Q0 = 1 - mean theta. The one-term value equals the quadrature of the one-term profile,
    is within 1 % of the exact series at Fo >= 0.2 and within 0.1 % at Fo = 1, and the
    finite-volume solution (81 nodes) stores the same energy."""
    one = ONE_TERM[geometry]
    weight = {heat.SLAB: lambda r: 1.0, heat.CYLINDER: lambda r: 2 * r, heat.SPHERE: lambda r: 3 * r * r}[geometry]
    for Fo in (0.2, 0.5, 1.0):
        q1 = ENERGY[geometry](Fo, Bi)
        tol = 1e-7 if geometry == heat.CYLINDER else 1e-9  # J1 and the integral of J0 agree to the A&S accuracy
        assert q1 == pytest.approx(1 - integrate.quad(lambda r: one(r, Fo, Bi) * weight(r), 0, 1)[0], rel=tol)
        exact = 1 - _series_mean(geometry, Fo, Bi)
        assert q1 == pytest.approx(exact, abs=0.01 if Fo < 1 else 1e-3)
    # finite volumes: L = 0.05 m steel, heated from 300 K in 1100 K air for Fo = 0.5
    L, k, rho, cp, Fo = 0.05, 40.0, 7800.0, 500.0, 0.5
    h = Bi * k / L
    t = Fo * L * L * rho * cp / k
    n = 800
    T, _, _ = heat.fd_transient(geometry, L, k, rho, cp, np.full(81, 300.0), t / n, n, heat.INSULATED, np.zeros(n), heat.CONVECTIVE,
                                np.full(n, 1100.0), h)
    _, vol, _ = heat._volumes(geometry, L, 81)
    q_fd = (vol * (T - 300.0)).sum() / (vol.sum() * 800.0)
    assert q_fd == pytest.approx(1 - _series_mean(geometry, Fo, Bi), abs=2e-3)


def test_sphere_fd_converges_to_series_and_conserves_energy():
    L, k, rho, cp, Bi, Fo = 0.04, 30.0, 7800.0, 480.0, 2.0, 0.3
    h = Bi * k / L
    t = Fo * L * L * rho * cp / k
    exact = K.sphere_series(0.0, Fo, Bi, 40)
    errs = []
    for nx, steps in ((11, 100), (21, 400), (41, 1600)):
        _, core, _ = heat.fd_transient(heat.SPHERE, L, k, rho, cp, np.full(nx, 1.0), t / steps, steps, heat.INSULATED, np.zeros(steps),
                                       heat.CONVECTIVE, np.zeros(steps), h)
        errs.append(abs(core[-1] - exact))
    assert errs[2] < errs[1] < errs[0] and errs[2] < 1e-3
    times, core, surf = K.sphere_fd_transient(L, k, rho, cp, h, 1.0, 0.0, t, 41, 1600)
    assert core[-1] == pytest.approx(exact, abs=1e-3) and surf[-1] < core[-1]
    T0 = np.where(np.arange(51) < 25, 400.0, 300.0)
    z = np.zeros(100)
    T, _, _ = heat.fd_transient(heat.SPHERE, 0.1, 30.0, rho, cp, T0, 1.0, 100, heat.INSULATED, z, heat.INSULATED, z, 0.0)
    _, vol, _ = heat._volumes(heat.SPHERE, 0.1, 51)
    assert (vol * T).sum() == pytest.approx((vol * T0).sum(), rel=1e-12)
    # time to core temperature also works for spheres, and a sphere heats faster than a cylinder of the same radius
    ts = K.time_to_core_temperature(heat.SPHERE, 0.03, 40.0, 7850.0, 600.0, 200.0, 293.15, 1123.15, 1103.15)
    tc = K.time_to_core_temperature(heat.CYLINDER, 0.03, 40.0, 7850.0, 600.0, 200.0, 293.15, 1123.15, 1103.15)
    assert ts < tc


def test_series_start_from_the_initial_condition():
    assert K.wall_series(0.5, 0.0, 2.0, 400) == pytest.approx(1.0, abs=2e-3)
    assert K.sphere_series(0.5, 0.0, 2.0, 400) == pytest.approx(1.0, abs=5e-3)
    assert K.sphere_series(0.0, 1e-3, 2.0, 100) == pytest.approx(1.0, abs=1e-6)


def test_lumped_guard_warns_raises_or_stays_silent():
    args = (420.0, 293.15, 773.15, 120.0, 8530.0, 380.0, 0.02, 1.0)  # brass plates, Bi = 0.022
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert K.lumped_temperature_checked(*args, 110.0) == K.lumped_temperature(*args)
        assert K.lumped_time_to_temperature_checked(552.0, *args[1:], 110.0) == K.lumped_time_to_temperature(552.0, *args[1:])
    # the 200 mm AISI 304 shaft of Cengel & Ghajar Ex. 4-5 (Bi = h (V/A) / k = 0.27): warned, or refused when strict
    shaft = (2700.0, 873.15, 473.15, 80.0, 7900.0, 477.0, math.pi * 0.1 ** 2, 2 * math.pi * 0.1)
    with pytest.warns(K.LumpedValidityWarning, match=r"Bi = 0\.268"):
        T_lumped = K.lumped_temperature_checked(*shaft, 14.9)
    with pytest.raises(K.LumpedValidityError, match="Bi = 0.268"):
        K.lumped_temperature_checked(*shaft, 14.9, strict=True)
    with pytest.raises(K.LumpedValidityError):
        K.lumped_time_to_temperature_checked(700.0, *shaft[1:], 14.9, strict=True)
    with pytest.warns(K.LumpedValidityWarning):
        K.lumped_time_to_temperature_checked(700.0, *shaft[1:], 14.9)
    # ...because it is wrong there: the mean temperature of the exact solution differs by > 10 K
    Fo = K.fourier_number(K.thermal_diffusivity(14.9, 7900.0, 477.0), 2700.0, 0.1)
    T_mean = 473.15 + 400.0 * (1 - K.one_term_energy_cylinder(Fo, 80 * 0.1 / 14.9))
    assert abs(T_lumped - T_mean) > 10.0
    assert issubclass(K.LumpedValidityError, ValueError)
    assert K.check_lumped(1.0, 1.0, 1.0, 100.0) == pytest.approx(0.01)
    with pytest.raises(K.LumpedValidityError):
        K.check_lumped(1.0, 1.0, 1.0, 100.0, strict=True, limit=0.005)
