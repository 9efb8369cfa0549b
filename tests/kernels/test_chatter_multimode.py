"""Multi-mode chatter with directional factors (turning/shaping) and the zero-order milling
solution: reductions to the single-mode kernel, the published two-mode example (see
test_issue18_published.py for its printed numbers), and an independent check of the stability
limits by semi-discretisation of the delay-differential equation (sdm_reference.py, run in a
subprocess with one BLAS thread)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate

import twin.kernels as K

E = np.empty(0)
ALT_K, ALT_Z, ALT_F = np.array([2.26e8, 2.13e8]), np.array([0.012, 0.010]), np.array([250.0, 150.0])
ALT_TH = np.radians([30.0, -45.0])  # Altintas, Manufacturing Automation 2nd ed., two-mode shaping example
MILL = dict(kx=np.array([8e6]), zx=np.array([0.03]), fx=np.array([600.0]), ky=np.array([1e7]), zy=np.array([0.02]), fy=np.array([660.0]),
            Kt=6e8, Kr=0.3, teeth=4)
MILL_F = np.linspace(500.0, 1000.0, 20001)


def _single_grid(fn, n=400):
    return fn * (1.0 + 1e-6 + 0.5 * np.arange(n) / (n - 1))  # the sweep stability_lobes uses


@pytest.mark.parametrize("theta_deg,teeth", [(0.0, 1), (30.0, 1), (-60.0, 3)])
def test_one_mode_oriented_lobes_equal_single_mode_kernel(theta_deg, teeth):
    k, z, fn, Ks = 2.26e8, 0.012, 250.0, 1e9
    th = math.radians(theta_deg)
    S0, B0 = K.stability_lobes(k, z, fn, Ks, th, 5, 400, teeth)
    S1, B1 = K.oriented_lobes(_single_grid(fn), np.array([k]), np.array([z]), np.array([fn]), np.array([th]), 0.0, Ks, 5, teeth)
    np.testing.assert_allclose(S1, S0, rtol=1e-12)
    np.testing.assert_allclose(B1, B0, rtol=1e-12)
    grid = _single_grid(fn, 600)
    for speed in (40.0, 70.0, 100.0, 144.4 / teeth, 200.0 / teeth):
        want = K.critical_depth(speed, k, z, fn, Ks, th, teeth, 60, 600)
        got = K.oriented_critical_depth(speed, grid, np.array([k]), np.array([z]), np.array([fn]), np.array([th]), 0.0, Ks, teeth, 60)
        assert got == pytest.approx(want, rel=1e-10)


def test_directional_factor_and_frf():
    assert K.directional_factor(0.3) == pytest.approx(math.cos(0.3) ** 2, rel=1e-15)
    assert K.directional_factor(math.pi / 2, 0.4) == pytest.approx(0.0, abs=1e-16)  # mode across the chip: invisible
    # a mode at 90 deg from the force direction sees no force
    assert K.directional_factor(0.2 + math.pi / 2, 0.2) == pytest.approx(0.0, abs=1e-16)
    # the oriented FRF is the weighted sum of the single-mode FRFs
    w = 2 * math.pi * 240.0
    re, im = K.oriented_frf(w, ALT_K, ALT_Z, 2 * math.pi * ALT_F, ALT_TH, 0.25)
    want = sum(K.directional_factor(t, 0.25) * complex(*K.frf_single_mode(w, k, z, 2 * math.pi * f)) for k, z, f, t in zip(ALT_K, ALT_Z, ALT_F, ALT_TH))
    assert complex(re, im) == pytest.approx(want, rel=1e-14)


def test_negative_directional_factor_moves_chatter_below_resonance():
    # u < 0: the mode destabilises below its natural frequency, where its own Re G > 0
    th, beta = math.radians(60.0), math.radians(170.0)
    assert K.directional_factor(th, beta) < 0
    f = np.linspace(150.0, 350.0, 4001)
    _, B = K.oriented_lobes(f, np.array([2e8]), np.array([0.02]), np.array([250.0]), np.array([th]), beta, 1e9, 1)
    unstable_band = f[~np.isnan(B[0])]
    assert unstable_band.max() < 250.0 and unstable_band.min() == f[0]


def test_milling_reduces_to_single_mode_kernel():
    """One flexible direction: the zero-order solution is Tlusty's single-mode limit with the mean
    directional coefficient, Ks = -N Kt a_dd / (4 pi), and the same lobe speeds (teeth = N)."""
    m = MILL
    fn = 600.0
    grid = _single_grid(fn)
    for phi_st, phi_ex in ((0.0, math.pi), (math.pi / 2, math.pi), (0.0, 1.2)):
        axx, _, _, ayy = K.milling_directional_coefficients(phi_st, phi_ex, m["Kr"])
        for direction, a in (("x", axx), ("y", ayy)):
            if a >= 0:
                continue  # the single-mode kernel assumes a destabilising (negative) mean coefficient
            modes = (np.array([5e6]), np.array([0.02]), np.array([fn]))
            args = modes + (E, E, E) if direction == "x" else (E, E, E) + modes
            S, B = K.milling_lobes(grid, *args, m["Kt"], m["Kr"], m["teeth"], phi_st, phi_ex, 4)
            Ks = -m["teeth"] * m["Kt"] * a / (4 * math.pi)
            S0, B0 = K.stability_lobes(5e6, 0.02, fn, Ks, 0.0, 4, 400, m["teeth"])
            np.testing.assert_allclose(S[0], S0, rtol=1e-11)
            np.testing.assert_allclose(B[0], B0, rtol=1e-11)
            np.testing.assert_allclose(S[1], S0, rtol=1e-11)  # a rigid direction leaves one eigenvalue


def test_directional_coefficients_are_the_average_of_the_periodic_force_matrix():
    """a_ij is the integral of Altintas' one-tooth directional matrix A(phi) over the immersion
    (so that the tooth-period average is N/(2 pi) a_ij), checked by quadrature against the closed
    forms."""
    Kr, N = 0.3, 4
    for phi_st, phi_ex in ((0.0, math.pi), (math.pi / 2, math.pi), (0.0, 1.0), (2.0, math.pi)):
        def a_elem(r, c):
            def f(p):
                if not (phi_st <= p <= phi_ex):
                    return 0.0
                A = [[-(math.sin(2 * p) + Kr * (1 - math.cos(2 * p))), -((1 + math.cos(2 * p)) + Kr * math.sin(2 * p))],
                     [(1 - math.cos(2 * p)) - Kr * math.sin(2 * p), math.sin(2 * p) - Kr * (1 + math.cos(2 * p))]]
                return A[r][c]
            return integrate.quad(f, phi_st, phi_ex, epsabs=1e-13)[0]
        want = [a_elem(0, 0), a_elem(0, 1), a_elem(1, 0), a_elem(1, 1)]
        got = K.milling_directional_coefficients(phi_st, phi_ex, Kr)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_zoa_eigenvalues_solve_the_2x2_eigenproblem():
    m = MILL
    a = K.milling_directional_coefficients(math.pi / 3, math.pi, m["Kr"])
    for f in (560.0, 640.0, 700.0):
        w = 2 * math.pi * f
        pxx = complex(*K.frf_single_mode(w, m["kx"][0], m["zx"][0], 2 * math.pi * m["fx"][0]))
        pyy = complex(*K.frf_single_mode(w, m["ky"][0], m["zy"][0], 2 * math.pi * m["fy"][0]))
        M = np.array([[a[0], a[1]], [a[2], a[3]]]) @ np.diag([pxx, pyy])  # det(I + Lambda M) = 0 -> Lambda = -1/eig(M)
        want = sorted(-1 / np.linalg.eigvals(M), key=lambda c: (c.real, c.imag))
        got = sorted(K.milling_zoa_eigenvalues(w, m["kx"], m["zx"], 2 * math.pi * m["fx"], m["ky"], m["zy"], 2 * math.pi * m["fy"], *a),
                     key=lambda c: (c.real, c.imag))
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_immersion_angles():
    assert K.milling_immersion_angles(0.02, 0.02, True) == pytest.approx((0.0, math.pi))
    assert K.milling_immersion_angles(0.02, 0.02, False) == pytest.approx((0.0, math.pi))
    st, ex = K.milling_immersion_angles(0.005, 0.02, False)  # quarter immersion up-milling
    assert st == 0.0 and ex == pytest.approx(math.acos(0.5))
    st, ex = K.milling_immersion_angles(0.005, 0.02, True)
    assert ex == pytest.approx(math.pi) and st == pytest.approx(math.pi - math.acos(0.5))


def test_lobe_envelope_and_is_stable_agree():
    grid = K.chatter_frequency_grid(ALT_F, ALT_Z, 400)
    args = (grid, ALT_K, ALT_Z, ALT_F, ALT_TH, 0.0, 1e9)
    S, B = K.oriented_lobes(*args, 60, 1)
    for speed in (50.0, 93.0, 120.0, 145.0, 300.0):
        d = K.oriented_critical_depth(speed, *args)
        assert d == pytest.approx(K.lobe_envelope(S, B, speed), rel=1e-15)
        assert d >= np.nanmin(B) * (1 - 1e-12)
        assert K.oriented_is_stable(speed, 0.99 * d, *args) and not K.oriented_is_stable(speed, 1.01 * d, *args)
    m = MILL
    margs = (MILL_F, m["kx"], m["zx"], m["fx"], m["ky"], m["zy"], m["fy"], m["Kt"], m["Kr"], m["teeth"], 0.0, math.pi)
    d = K.milling_critical_depth(130.0, *margs)
    assert K.milling_is_stable(130.0, 0.99 * d, *margs) and not K.milling_is_stable(130.0, 1.01 * d, *margs)


@pytest.mark.parametrize("call", [
    lambda: K.oriented_lobes(np.array([250.0]), ALT_K, ALT_Z[:1], ALT_F, ALT_TH, 0.0, 1e9),
    lambda: K.oriented_lobes(np.array([250.0]), ALT_K, ALT_Z, ALT_F, ALT_TH, 0.0, 0.0),
    lambda: K.chatter_frequency_grid(np.array([250.0]), np.array([0.0])),
    lambda: K.milling_directional_coefficients(2.0, 1.0, 0.3),
    lambda: K.milling_immersion_angles(0.03, 0.02, True),
    lambda: K.milling_lobes(MILL_F[:10], E, E, E, E, E, E, 6e8, 0.3, 4, 0.0, math.pi),
    lambda: K.oriented_critical_depth(0.0, MILL_F, ALT_K, ALT_Z, ALT_F, ALT_TH, 0.0, 1e9),
])
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()


@pytest.fixture(scope="module")
def sdm_results():
    """Critical depths by semi-discretisation for the turning and milling cases below."""
    jobs, kernel = [], []
    grid = K.chatter_frequency_grid(ALT_F, ALT_Z, 800)
    for speed in (144.6, 120.0, 60.0):  # a lobe bottom, a lobe peak, a low-speed lobe
        d = K.oriented_critical_depth(speed, grid, ALT_K, ALT_Z, ALT_F, ALT_TH, 0.0, 1e9)
        kernel.append(("turning", speed, d))
        jobs.append(dict(kind="turning", speed=speed, ks=ALT_K.tolist(), zetas=ALT_Z.tolist(), fns=ALT_F.tolist(), thetas=ALT_TH.tolist(),
                         beta=0.0, Kf=1e9, lo=0.8 * d, hi=1.25 * d, m=30))
    m = MILL
    for label, phi_st in (("slot", 0.0), ("half", math.pi / 2)):
        for speed in (100.0, 160.0):
            d = K.milling_critical_depth(speed, MILL_F, m["kx"], m["zx"], m["fx"], m["ky"], m["zy"], m["fy"], m["Kt"], m["Kr"], m["teeth"], phi_st, math.pi)
            kernel.append((label, speed, d))
            jobs.append(dict(kind="milling", speed=speed, ks=[8e6, 1e7], zetas=[0.03, 0.02], fns=[600.0, 660.0], dirs=[[1, 0], [0, 1]],
                             Kt=m["Kt"], Kr=m["Kr"], teeth=m["teeth"], phi_st=phi_st, phi_ex=math.pi, lo=0.5 * d, hi=1.6 * d, m=30))
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    r = subprocess.run([sys.executable, str(Path(__file__).with_name("sdm_reference.py"))], input=json.dumps(jobs), capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return list(zip(kernel, json.loads(r.stdout)))


def test_turning_lobes_match_semi_discretisation(sdm_results):
    """Altintas' two-mode example: the oriented-FRF limit equals the DDE's stability boundary
    (semi-discretisation, extrapolated) within 0.2 % at a lobe bottom, a lobe peak and low speed."""
    rows = [(k, s) for k, s in sdm_results if k[0] == "turning"]
    assert len(rows) == 3
    for (_, speed, d), sdm in rows:
        assert sdm["2m"] == pytest.approx(sdm["extrapolated"], rel=0.02)  # the discretisation has converged
        assert d == pytest.approx(sdm["extrapolated"], rel=2e-3), speed


def test_milling_zero_order_matches_semi_discretisation(sdm_results):
    """Slotting with 4 teeth: two teeth always cut, 90 deg apart, so the directional matrix is
    constant and the zero-order solution is exact (agreement 1e-4). Half immersion: the
    time-varying matrix is only approximated by its mean (Altintas: acceptable at wide immersion),
    agreement within 10 %."""
    rows = {(k[0], k[1]): (k[2], s) for k, s in sdm_results if k[0] != "turning"}
    for speed in (100.0, 160.0):
        d, sdm = rows[("slot", speed)]
        assert d == pytest.approx(sdm["extrapolated"], rel=1e-4)
        d, sdm = rows[("half", speed)]
        assert d == pytest.approx(sdm["extrapolated"], rel=0.10)
