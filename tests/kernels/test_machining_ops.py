"""Facing, grooving, boring, threading and hole patterns (issue 18): each kernel against a
published value or formula in its source's own units, and against an independent computation
(revolution-by-revolution stepping, polygon areas, hole coordinates)."""

import math

import numpy as np
import pytest

import twin.kernels as K


# ---- facing / grooving: Kyocera "Basic formulas: cutting time (facing, grooving)" -----------
def kyocera_facing_s(D1_mm, D2_mm, f_mm, vc_m_min, nmax_rpm=None):
    """The catalogue's formula as printed (mm, mm/rev, m/min, min^-1 -> s): T1 until the maximum
    spindle speed at constant Vc, then 60 (D1 - D2) / (2 f n) at n_max."""
    if nmax_rpm is not None:
        Dc = 1000 * vc_m_min / (math.pi * nmax_rpm)  # diameter where the spindle reaches n_max
        if Dc >= D1_mm:  # at n_max all the way
            return 60 * (D1_mm - D2_mm) / (2 * f_mm * nmax_rpm)
        if Dc > D2_mm:
            T1 = 60 * math.pi * (D1_mm + Dc) * (D1_mm - Dc) / (4000 * f_mm * vc_m_min)
            return T1 + 60 * (Dc - D2_mm) / (2 * f_mm * nmax_rpm)
    return 60 * math.pi * (D1_mm + D2_mm) * (D1_mm - D2_mm) / (4000 * f_mm * vc_m_min)


def stepped_facing_s(d_out, d_in, f, vc, n_max):
    """Revolution by revolution: the tool moves f inwards per revolution, each revolution takes
    1/n at its mid radius (n = vc / (2 pi r), clamped); the last, partial revolution pro rata."""
    revs = (d_out - d_in) / 2 / f
    k = np.arange(math.ceil(revs))
    share = np.minimum(1.0, revs - k)
    r = d_out / 2 - f * (k + share / 2)
    n = vc / (2 * math.pi * r)
    if n_max > 0:
        n = np.minimum(n, n_max)
    return float(np.sum(share / n))


@pytest.mark.parametrize("D1,D2,f,vc,nmax", [(100, 0, 0.2, 200, None), (100, 0, 0.2, 200, 3000), (215, 110, 0.25, 250, 2500),
                                              (60, 40, 0.08, 120, 4000), (40, 0, 0.1, 300, 1500)])
def test_facing_time_matches_the_catalogue_formula_and_a_stepped_cut(D1, D2, f, vc, nmax):
    t = K.facing_time(D1 / 1e3, D2 / 1e3, f / 1e3, vc / 60, 0.0 if nmax is None else nmax / 60)
    assert t == pytest.approx(kyocera_facing_s(D1, D2, f, vc, nmax), rel=1e-12)
    assert t == pytest.approx(stepped_facing_s(D1 / 1e3, D2 / 1e3, f / 1e3, vc / 60, 0.0 if nmax is None else nmax / 60), rel=1e-3)


def test_facing_at_constant_speed_takes_half_the_time_of_constant_rpm_set_at_the_outer_diameter():
    d, f, vc = 0.2, 2e-4, 3.0
    n0 = vc / (math.pi * d)
    assert K.facing_time(d, 0.0, f, vc, 0.0) == pytest.approx(0.5 * (d / 2) / (f * n0), rel=1e-12)
    # a clamp below the outer diameter's speed: constant rpm all the way
    assert K.facing_time(d, 0.0, f, vc, 0.5 * n0) == pytest.approx((d / 2) / (f * 0.5 * n0), rel=1e-12)


def test_grooving_force_is_kienzle_with_h_equal_feed_and_b_equal_width():
    m = K.get_material("C45")
    f, w = 0.12e-3, 4e-3
    kc = m.kc11 * (f / 1e-3) ** (-m.mc)  # catalogue form: kc = kc1.1 h^-mc, h in mm
    assert K.grooving_force(f, w, m.kc11, m.mc) == pytest.approx(kc * w * f, rel=1e-12)
    # a straight plunge is a turning chip at kappa_r = 90 deg with ap = insert width
    assert K.grooving_force(f, w, m.kc11, m.mc) == pytest.approx(K.turning_force(f, w, math.pi / 2, m.kc11, m.mc), rel=1e-12)


# ---- boring: Isakov, Cutting Tool Engineering, July 2019 -------------------------------------
def test_boring_bar_deflection_reproduces_isakovs_worked_examples():
    # metric: F = 911.1 N, L = 101.6 mm, E = 20.6e4 N/mm^2, D = 25.4 mm -> I = 20,432 mm^4, y = 0.0757 mm
    assert K.boring_bar_deflection(911.1, 0.1016, 0.0254, 206e9) == pytest.approx(0.0757e-3, rel=1e-3)
    assert math.pi * 25.4 ** 4 / 64 == pytest.approx(20432, rel=1e-4)
    # US units: F = 207.84 lbf, L = 4 in, E = 30e6 psi, D = 1 in -> y = 0.003 in
    lbf, inch, psi = 4.4482216, 0.0254, 6894.757
    assert K.boring_bar_deflection(207.84 * lbf, 4 * inch, 1 * inch, 30e6 * psi) / inch == pytest.approx(0.003, rel=0.01)
    # y ~ L^3 / d^4
    y = K.boring_bar_deflection(500.0, 0.1, 0.02, 210e9)
    assert K.boring_bar_deflection(500.0, 0.2, 0.02, 210e9) == pytest.approx(8 * y, rel=1e-12)
    assert K.boring_bar_deflection(500.0, 0.1, 0.04, 210e9) == pytest.approx(y / 16, rel=1e-12)


def test_bore_deviation_mirrors_the_turned_diameter():
    vb, cl, D, a, dT = 0.15e-3, math.radians(7), 0.06, 12e-6, 5.0
    turned = K.dimensional_deviation(vb, cl, D, a, dT)
    bored = K.bore_deviation(vb, cl, D, a, dT, 0.0)
    assert turned - a * D * dT == pytest.approx(-(bored - a * D * dT), rel=1e-12)  # wear: shaft grows, bore shrinks
    assert K.bore_deviation(0.0, cl, D, a, 0.0, 20e-6) == pytest.approx(-40e-6)


# ---- threading: ISO 68-1 / ISO 724, Sandvik infeed ------------------------------------------
@pytest.mark.parametrize("d,P,d3,D1", [(10, 1.5, 8.160, 8.376), (16, 2.0, 13.546, 13.835), (6, 1.0, 4.773, 4.917)])
def test_thread_depth_matches_the_iso_724_minor_diameters(d, P, d3, D1):
    """ISO 724 tabulates the minor diameters: external d3, internal D1 (mm)."""
    assert K.thread_depth(P / 1e3, True) * 1e3 == pytest.approx((d - d3) / 2, abs=5e-4)
    assert K.thread_depth(P / 1e3, False) * 1e3 == pytest.approx((d - D1) / 2, abs=5e-4)


def v_area(a, half_angle):
    """Area of the V groove of depth a (shoelace over its corners), independent of the kernel's formula."""
    w = a * math.tan(half_angle)
    x, y = np.array([-w, w, 0.0]), np.array([0.0, 0.0, -a])
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


@pytest.mark.parametrize("passes", [2, 4, 6, 10])
def test_thread_infeed_removes_equal_areas_and_reaches_the_depth(passes):
    ap, half = 0.92e-3, math.radians(30)
    a = [0.0] + [K.thread_infeed(ap, passes, x) for x in range(1, passes + 1)]
    assert a[-1] == pytest.approx(ap, rel=1e-12)
    areas = np.diff([v_area(x, half) for x in a])
    assert areas.sum() == pytest.approx(v_area(ap, half), rel=1e-12)
    # Sandvik's phi: the first pass takes 0.3 of a unit chip area, the second 0.7, every later one 1
    unit = v_area(ap, half) / (passes - 1)
    assert areas[0] == pytest.approx(0.3 * unit, rel=1e-9) and areas[1] == pytest.approx(0.7 * unit, rel=1e-9)
    assert np.allclose(areas[2:], unit, rtol=1e-9)


def test_threading_force_is_kienzle_on_each_passs_chip():
    m = K.get_material("42CrMo4")
    ap, passes, half = K.thread_depth(2e-3, True), 8, math.radians(30)
    a = [0.0] + [K.thread_infeed(ap, passes, x) for x in range(1, passes + 1)]
    forces = []
    for x in range(1, passes + 1):
        area = v_area(a[x], half) - v_area(a[x - 1], half)
        h = (a[x] - a[x - 1]) * math.sin(half)
        forces.append(m.kc11 * (h / 1e-3) ** (-m.mc) * area)
    assert K.threading_force(ap, passes, 2 * half, m.kc11, m.mc) == pytest.approx(max(forces), rel=1e-12)
    # more passes: thinner chips, smaller areas: a lower peak force
    assert K.threading_force(ap, 12, 2 * half, m.kc11, m.mc) < K.threading_force(ap, 6, 2 * half, m.kc11, m.mc)


def test_threading_time_is_passes_times_length_over_pitch_and_rpm():
    # M20 x 2.5, 40 mm long, 8 passes at 100 m/min: n = 1591.5 rpm, 8 x 40 / (2.5 x 1591.5) min
    t = K.threading_time(0.04, 2.5e-3, 8, 100 / 60, 0.02)
    n_rpm = 100e3 / (math.pi * 20)
    assert t == pytest.approx(60 * 8 * 40 / (2.5 * n_rpm), rel=1e-12)


# ---- hole patterns -------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 3, 4, 8, 12])
def test_bolt_circle_path_from_hole_coordinates(n):
    pcd = 0.17
    ang = 2 * math.pi * np.arange(n) / n
    xy = np.c_[pcd / 2 * np.cos(ang), pcd / 2 * np.sin(ang)]
    path = float(np.linalg.norm(np.diff(xy, axis=0), axis=1).sum())
    assert K.bolt_circle_path(pcd, n) == pytest.approx(path, rel=1e-12, abs=1e-15)
    assert K.hole_pattern_time(n, 3.0, path, 0.5) == pytest.approx(3.0 * n + path / 0.5, rel=1e-12)


@pytest.mark.parametrize("call", [
    lambda: K.facing_time(0.05, 0.06, 1e-4, 2.0, 0.0), lambda: K.facing_time(0.05, 0.0, 0.0, 2.0, 0.0),
    lambda: K.grooving_force(0.0, 3e-3, 1.5e9, 0.2), lambda: K.boring_bar_deflection(100.0, 0.0, 0.02, 2e11),
    lambda: K.thread_infeed(1e-3, 1, 1), lambda: K.thread_infeed(1e-3, 5, 6), lambda: K.thread_depth(0.0, True),
    lambda: K.threading_time(0.02, 1e-3, 0, 2.0, 0.02), lambda: K.bolt_circle_path(0.1, 0),
    lambda: K.hole_pattern_time(4, 1.0, 0.1, 0.0), lambda: K.bore_deviation(-1e-4, 0.1, 0.05, 1e-5, 0.0, 0.0),
])
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
