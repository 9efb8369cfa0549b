"""Published worked examples for the semi-infinite solid, the one-term energy solutions, the
sphere series and multi-mode oriented chatter (tests/kernels/reference/issue18_cases.json: data
with its source). Each kernel result is checked twice: against an independent computation with
scipy (erf/erfc/erfinv, Bessel functions, root finding of the eigenvalue equations, quadrature,
vectorised complex FRFs) to a tight tolerance, and against the source's printed answer to
published_rel_tol."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, optimize, special

import twin.kernels as K

CASES = json.loads((Path(__file__).resolve().parent / "reference" / "issue18_cases.json").read_text())["cases"]
TIGHT = 1e-9
TIGHT_BESSEL = 2e-7  # the cylinder goes through the A&S polynomial J0/J1 (|error| < 5e-8)


def z_wall(Bi):
    return optimize.brentq(lambda z: z * math.tan(z) - Bi, 1e-12, math.pi / 2 - 1e-12, xtol=1e-15)


def z_cyl(Bi):
    return optimize.brentq(lambda z: z * special.j1(z) / special.j0(z) - Bi, 1e-9, special.jn_zeros(0, 1)[0] - 1e-9, xtol=1e-15)


def z_sph(Bi, n=1):
    return [optimize.brentq(lambda z: 1 - z / math.tan(z) - Bi, i * math.pi + 1e-9, (i + 1) * math.pi - 1e-9, xtol=1e-15) for i in range(n)]


def semi_infinite_step_depth(i):
    frac = (i["Tm_K"] - i["Ti_K"]) / (i["Ts_K"] - i["Ti_K"])
    xm = K.penetration_depth(i["t_s"], i["alpha_m2_per_s"], frac)
    assert K.semi_infinite_step(xm, i["t_s"], i["Ti_K"], i["Ts_K"], i["alpha_m2_per_s"]) == pytest.approx(i["Tm_K"], abs=1e-9)
    ref = 2 * math.sqrt(i["alpha_m2_per_s"] * i["t_s"]) * special.erfcinv(frac)
    return {"xm_m": xm}, {"xm_m": ref}


def semi_infinite_step_point(i):
    T = K.semi_infinite_step(i["x_m"], i["t_s"], i["Ti_K"], i["Ts_K"], i["alpha_m2_per_s"])
    ref = i["Ts_K"] + (i["Ti_K"] - i["Ts_K"]) * special.erf(i["x_m"] / (2 * math.sqrt(i["alpha_m2_per_s"] * i["t_s"])))
    return {"T_K": T}, {"T_K": ref}


def semi_infinite_flux_surface(i):
    out, ref = {}, {}
    for m in ("wood", "al"):
        k, a = i[f"k_{m}_W_per_mK"], i[f"alpha_{m}_m2_per_s"]
        out[f"Ts_{m}_K"] = K.semi_infinite_flux(0.0, i["t_s"], i["Ti_K"], i["q0_W_per_m2"], k, a)
        ref[f"Ts_{m}_K"] = i["Ti_K"] + 2 * i["q0_W_per_m2"] * math.sqrt(a * i["t_s"] / math.pi) / k
    return out, ref


def semi_infinite_flux_linear_initial(i):
    x, t, k, a, b = i["x_m"], i["t_s"], i["k_W_per_mK"], i["alpha_m2_per_s"], i["b_K_per_m"]
    q = i["q_W_per_m2"] + k * b  # the linear initial profile carries -k b
    T = i["Ts_i_K"] + b * x + (K.semi_infinite_flux(x, t, 0.0, q, k, a) - 0.0)
    s = math.sqrt(a * t)
    ref = i["Ts_i_K"] + b * x + 2 * q * s / (math.sqrt(math.pi) * k) * math.exp(-(x / (2 * s)) ** 2) - q * x / k * special.erfc(x / (2 * s))
    return {"T_K": T}, {"T_K": ref}


def semi_infinite_convection_point(i):
    x, t, k, a, h = i["x_m"], i["t_s"], i["k_W_per_mK"], i["alpha_m2_per_s"], i["h_W_per_m2K"]
    T = K.semi_infinite_convection(x, t, i["Ti_K"], i["Tinf_K"], h, k, a)
    xi, beta = x / (2 * math.sqrt(a * t)), h * math.sqrt(a * t) / k
    th = special.erfc(xi) - math.exp(h * x / k + beta ** 2) * special.erfc(xi + beta)
    return {"T_K": T}, {"T_K": i["Ti_K"] + th * (i["Tinf_K"] - i["Ti_K"])}


def one_term_cylinder_energy(i):
    ro, k, h = i["ro_m"], i["k_W_per_mK"], i["h_W_per_m2K"]
    Bi = K.biot_number(h, ro, k)
    Fo = K.fourier_number(i["alpha_m2_per_s"], i["t_s"], ro)
    th0 = K.one_term_cylinder(0.0, Fo, Bi)
    qq = K.one_term_energy_cylinder(Fo, Bi)
    Qmax = i["rho_kg_per_m3"] * i["cp_J_per_kgK"] * math.pi * ro ** 2 * (i["Ti_K"] - i["Tinf_K"])
    out = {"Bi": Bi, "Fo": Fo, "T0_K": i["Tinf_K"] + th0 * (i["Ti_K"] - i["Tinf_K"]), "QQ": qq, "Q_J_per_m": qq * Qmax}
    z = z_cyl(Bi)
    C1 = 2 / z * special.j1(z) / (special.j0(z) ** 2 + special.j1(z) ** 2)
    r_th0 = C1 * math.exp(-z * z * Fo)
    # Q/Qmax = 1 - mean theta over the cross-section: quadrature of the one-term profile
    r_qq = 1 - 2 * integrate.quad(lambda r: r_th0 * special.j0(z * r) * r, 0, 1, epsabs=1e-14)[0]
    assert r_qq == pytest.approx(1 - 2 * r_th0 * special.j1(z) / z, rel=1e-12)
    ref = {"Bi": h * ro / k, "Fo": i["alpha_m2_per_s"] * i["t_s"] / ro ** 2, "T0_K": i["Tinf_K"] + r_th0 * (i["Ti_K"] - i["Tinf_K"]),
           "QQ": r_qq, "Q_J_per_m": r_qq * Qmax}
    return out, ref


def one_term_wall_energy(i):
    L, k, h = i["L_m"], i["k_W_per_mK"], i["h_W_per_m2K"]
    Bi = K.biot_number(h, L, k)
    Fo = K.fourier_number(i["alpha_m2_per_s"], i["t_s"], L)
    th0 = K.one_term_wall(0.0, Fo, Bi)
    qq = K.one_term_energy_wall(Fo, Bi)
    Q0 = i["rho_kg_per_m3"] * i["c_J_per_kgK"] * math.pi * i["D_m"] * L * (i["Ti_K"] - i["Tinf_K"])
    out = {"Bi": Bi, "Fo": Fo, "T0_K": i["Tinf_K"] + th0 * (i["Ti_K"] - i["Tinf_K"]), "Q_J_per_m": qq * Q0}
    z = z_wall(Bi)
    r_th0 = 4 * math.sin(z) / (2 * z + math.sin(2 * z)) * math.exp(-z * z * Fo)
    r_qq = 1 - integrate.quad(lambda x: r_th0 * math.cos(z * x), 0, 1, epsabs=1e-14)[0]
    ref = {"Bi": Bi, "Fo": Fo, "T0_K": i["Tinf_K"] + r_th0 * (i["Ti_K"] - i["Tinf_K"]), "Q_J_per_m": r_qq * Q0}
    return out, ref


def one_term_sphere_time(i):
    ro = i["ro_m"]
    Bi = K.biot_number(i["h_W_per_m2K"], ro, i["k_W_per_mK"])
    th0 = (i["T0_K"] - i["Tinf_K"]) / (i["Ti_K"] - i["Tinf_K"])
    z = K.sphere_eigenvalues(Bi, 1)[0]
    C1 = K.one_term_sphere(0.0, 0.0, Bi)
    Fo = math.log(C1 / th0) / z ** 2
    assert K.one_term_sphere(0.0, Fo, Bi) == pytest.approx(th0, rel=1e-12)
    out = {"Bi": Bi, "t_s": Fo * ro ** 2 / i["alpha_m2_per_s"]}
    rz = z_sph(Bi)[0]
    rC1 = 4 * (math.sin(rz) - rz * math.cos(rz)) / (2 * rz - math.sin(2 * rz))
    ref = {"Bi": Bi, "t_s": math.log(rC1 / th0) / rz ** 2 * ro ** 2 / i["alpha_m2_per_s"]}
    return out, ref


def sphere_series_point(i):
    th = K.sphere_series(i["r_over_R"], i["Fo"], i["Bi"], 20)
    zs = np.array(z_sph(i["Bi"], 20))
    C = 4 * (np.sin(zs) - zs * np.cos(zs)) / (2 * zs - np.sin(2 * zs))
    ref = float(np.sum(C * np.exp(-zs ** 2 * i["Fo"]) * np.sinc(zs * i["r_over_R"] / np.pi)))
    return {"theta": th}, {"theta": ref}


def chatter_two_oriented_modes(i):
    ks, zs, fns = (np.array(i[k], float) for k in ("k_N_per_m", "zeta", "fn_Hz"))
    th, beta, Kf = np.radians(i["theta_deg"]), math.radians(i["beta_deg"]), i["Kf_Pa"]
    f = np.linspace(240.0, 275.0, 70001)
    S, B = K.oriented_lobes(f, ks, zs, fns, th, beta, Kf, 4, 1)
    j = int(np.nanargmin(B[0]))
    out = {"b_lim_min_m": B[0, j], **{f"Omega_N{N}_rev_per_s": S[N, j] for N in (1, 2, 3)}}
    # independent: complex FRFs with numpy, the oriented sum, the Tlusty limit and phase
    w = 2 * np.pi * f[:, None]
    wn = 2 * np.pi * fns[None, :]
    G = (np.cos(th) * np.cos(th - beta))[None, :] / (ks[None, :] * (1 - (w / wn) ** 2 + 2j * zs[None, :] * w / wn))
    phi = G.sum(axis=1)
    b = np.where(phi.real < 0, -1 / (2 * Kf * phi.real), np.inf)
    jr = int(np.argmin(b))
    assert phi.imag[jr] < 0
    eps = 2 * np.pi - 2 * np.arctan(phi.real[jr] / phi.imag[jr])  # Altintas sec. 3.3: eps = 2 pi - 2 atan(G/H) for H < 0
    ref = {"b_lim_min_m": b[jr], **{f"Omega_N{N}_rev_per_s": f[jr] / (N + eps / (2 * np.pi)) for N in (1, 2, 3)}}
    assert jr == j
    return out, ref


MODELS = {f.__name__: f for f in (semi_infinite_step_depth, semi_infinite_step_point, semi_infinite_flux_surface,
                                  semi_infinite_flux_linear_initial, semi_infinite_convection_point, one_term_cylinder_energy,
                                  one_term_wall_energy, one_term_sphere_time, sphere_series_point, chatter_two_oriented_modes)}


def test_every_case_has_a_model_and_a_source():
    assert {c["model"] for c in CASES} <= set(MODELS)
    for c in CASES:
        assert c["source"] and c["published"] and c["authority"] == "published_worked_example", c["id"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_published_case(case):
    got, ref = MODELS[case["model"]](case["inputs"])
    for key, want in ref.items():
        tol = TIGHT_BESSEL if "cylinder" in case["model"] else TIGHT
        assert got[key] == pytest.approx(want, rel=tol, abs=1e-12), (case["id"], "independent", key)
    tol_by = case.get("published_rel_tol_by_key", {})
    for key, want in case["published"].items():
        assert got[key] == pytest.approx(want, rel=tol_by.get(key, case["published_rel_tol"])), (case["id"], "published", key, got[key], want)
