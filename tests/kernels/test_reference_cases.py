"""Every published case in shared/reference/physics_cases.json that a kernel covers, to its
tolerance, and to published_rel_tol against the printed answer."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import twin.kernels as K

import os

# the published cases: TWIN_REFERENCE_DIR, else the workspace's shared/reference, else the copy
# kept with the tests (so a clone anywhere runs them; test_vendored_copy_is_current checks it)
SHARED_FILE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "physics_cases.json"
VENDORED_FILE = Path(__file__).resolve().parent / "reference" / "physics_cases.json"
if os.environ.get("TWIN_REFERENCE_DIR"):
    CASES_FILE = Path(os.environ["TWIN_REFERENCE_DIR"]) / "physics_cases.json"
else:
    CASES_FILE = SHARED_FILE if SHARED_FILE.exists() else VENDORED_FILE
CASES = json.loads(CASES_FILE.read_text())["cases"]


def kienzle(i):
    kr = math.radians(i["kappa_r_deg"])
    h = i["f_m_per_rev"] * math.sin(kr)
    fc = K.turning_force(i["f_m_per_rev"], i["ap_m"], kr, i["kc11_Pa"], i["mc"])
    return {"h_m": h, "b_m": i["ap_m"] / math.sin(kr), "kc_Pa": K.kienzle_specific_force(h, i["kc11_Pa"], i["mc"]),
            "Fc_N": fc, "Pc_W": K.cutting_power(fc, i["vc_m_per_s"])}


def power_specific(i):
    q = K.mrr_turning(i["vc_m_per_s"], i["f_m_per_rev"], i["ap_m"])
    pc = i["kc_Pa"] * q
    return {"Pc_cut_W": pc, "P_motor_W": K.motor_power(pc, i["eta_machine"])}


def mrr_turning(i):
    return {"Tm_s": K.turning_time_vc(i["L_m"], i["D0_m"], i["f_m_per_rev"], i["v_m_per_s"]),
            "MRR_m3_per_s": K.mrr_turning(i["v_m_per_s"], i["f_m_per_rev"], i["d_m"])}


def mrr_milling(i):
    N, fr, A, T, Q = K.peripheral_milling(i["v_m_per_s"], i["D_m"], i["n_teeth"], i["f_m_per_tooth"], i["d_m"], i["w_m"], i["L_m"])
    assert K.milling_time(i["L_m"], i["f_m_per_tooth"], i["n_teeth"], N, A) == pytest.approx(T, rel=1e-12)
    return {"N_rev_per_s": N, "fr_m_per_s": fr, "A_m": A, "Tm_s": T, "MRR_m3_per_s": Q}


def taylor_fit(i):
    n, c_si = K.taylor_from_two_points(i["v1_m_per_s"], i["T1_s"], i["v2_m_per_s"], i["T2_s"])
    c_min = c_si / 60 ** (n - 1)  # back to m/min, min
    return {"n": n, "C_m_per_min_min_units": c_min, "C_SI": c_si}


def taylor_life(i):
    c = K.taylor_C_si(i["C_m_per_min_min_units"], i["n"])
    assert c == pytest.approx(i["C_SI"], rel=1e-9)
    return {"T_a_s": K.taylor_life(i["v_a_m_per_s"], i["n"], c), "T_b_s": K.taylor_life(i["v_b_m_per_s"], i["n"], c)}


def taylor_ratio(i):
    c = K.taylor_C_si(i["C_m_per_min_min_units"], i["n"])
    v1 = 2.0
    r = K.taylor_life(v1 * i["speed_ratio_v2_over_v1"], i["n"], c) / K.taylor_life(v1, i["n"], c)
    return {"T2_over_T1": r, "percent_increase": 100 * (r - 1)}


def roughness(i):
    ra = K.ra_theoretical(i["f_m_per_rev"], i["r_nose_m"], K.RA_CONST_TEXTBOOK)
    return {"Ra_ideal_1over32_m": ra, "Ra_est_m": i["r_ai"] * ra, "Rz_f2over8r_m": K.rz_theoretical(i["f_m_per_rev"], i["r_nose_m"])}


def chatter(i):
    th = math.radians(i.get("theta_deg", 0.0))
    k_eff = i["k_N_per_m"] / math.cos(th) ** 2
    speeds, eps = K.lobe_speeds(i["fn_Hz"], i["zeta"], 4)
    out = {"k_eff_N_per_m": k_eff, "b_lim_min_m": K.b_lim_min(i["k_N_per_m"], i["zeta"], i["Ks_Pa"], th),
           "f_chatter_Hz": K.chatter_frequency(i["fn_Hz"], i["zeta"]), "eps_rad": eps}
    for N in range(4):
        out[f"Omega_N{N}_rev_per_s"] = speeds[N]
    # the lobe diagram's minimum is the absolute limit, at the lobe-bottom speeds
    S, B = K.stability_lobes(i["k_N_per_m"], i["zeta"], i["fn_Hz"], i["Ks_Pa"], th, 4, 2000, 1)
    assert np.nanmin(B) == pytest.approx(out["b_lim_min_m"], rel=2e-3)
    return out


def chatter_identity(i):
    k, z = i["k_N_per_m"], i["zeta"]
    wn = 2 * math.pi * i["fn_Hz"]
    r = math.sqrt(1 + 2 * z)
    re, _ = K.frf_single_mode(r * wn, k, z, wn)
    # brute-force minimum of Re G over frequency
    w = np.linspace(0.5, 1.5, 200001) * wn
    res = [K.frf_single_mode(x, k, z, wn)[0] for x in w[::100]]
    assert min(res) == pytest.approx(re, rel=1e-4)
    return {"ReG_min_m_per_N": re, "r_at_min": r, "b_lim_min_m": K.b_lim_min(k, z, i["Ks_Pa"])}


def lumped_sphere(i):
    D = 6 * i["h_W_per_m2K"] * i["tau_s"] / (i["rho_kg_per_m3"] * i["c_J_per_kgK"])
    Lc = D / 6
    t = K.lumped_time_to_temperature(i["T_target_K"], i["Ti_K"], i["Tinf_K"], i["h_W_per_m2K"], i["rho_kg_per_m3"], i["c_J_per_kgK"], Lc, 1.0)
    return {"D_m": D, "Bi": K.biot_number(i["h_W_per_m2K"], Lc, i["k_W_per_mK"]), "t_s": t}


def lumped_plate(i):
    L = i["L_half_thickness_m"]
    Bi = K.biot_number(i["h_W_per_m2K"], L, i["k_W_per_mK"])
    Fo = i["alpha_m2_per_s"] * i["t_s"] / L ** 2
    T_l = K.lumped_temperature(i["t_s"], i["Ti_K"], i["Tinf_K"], i["h_W_per_m2K"], i["rho_kg_per_m3"], i["cp_J_per_kgK"], L, 1.0)
    T_s = i["Tinf_K"] + (i["Ti_K"] - i["Tinf_K"]) * K.wall_series(1.0, Fo, Bi, 30)
    return {"Bi": Bi, "Fo": Fo, "T_lumped_K": T_l, "T_surface_exact_K": T_s}


def nafems_t3(i):
    L, nx, dt = i["L_m"], 201, 0.002
    n = int(round(i["t_eval_s"] / dt))
    ts = np.arange(1, n + 1) * dt
    left = i["amplitude_K"] * np.sin(np.pi * ts / i["period_param_s"])
    T, _, _ = K.fd_transient(K.heat.SLAB, L, i["k_W_per_mK"], i["rho_kg_per_m3"], i["c_J_per_kgK"], np.zeros(nx), dt, n,
                             K.heat.DIRICHLET, left, K.heat.DIRICHLET, np.zeros(n), 0.0)
    v = float(np.interp(i["x_eval_m"], np.linspace(0, L, nx), T))
    return {"T_minus_Tref_K": v, "T_K": v + i["T_ref_K"]}


def expansion(i):
    dT = (i["D2_target_m"] / i["D1_m"] - 1.0) / i["alpha_per_K"]
    assert K.thermal_expansion(i["D1_m"], i["alpha_per_K"], dT) == pytest.approx(i["D2_target_m"] - i["D1_m"], rel=1e-9)
    return {"dT_K": dT, "T2_K": i["T1_K"] + dT}


def blanking(i):
    c, die, punch = K.blanking_clearance(i["t_m"], i["Ac"], i["Db_m"])
    L = math.pi * i["Db_m"]
    return {"c_m": c, "D_die_m": die, "D_punch_m": punch, "L_m": L, "F_N": K.blanking_force(L, i["t_m"], i["S_shear_Pa"])}


def weld_balance(i):
    P, rh, rwv = K.power_balance(i["E_V"], i["I_A"], i["f1_heat_transfer"], i["f2_melting"], i["Um_J_per_m3"])
    return {"P_W": P, "R_Hw_W": rh, "R_WV_m3_per_s": rwv}


def weld_en1011(i):
    return {"arc_power_W": K.arc_power(i["U_V"], i["I_A"]), "arc_energy_J_per_m": K.arc_energy(i["U_V"], i["I_A"], i["v_m_per_s"]),
            "Q_J_per_m": K.heat_input(i["U_V"], i["I_A"], i["v_m_per_s"], i["k_thermal_efficiency"])}


def energy_states(i):
    st = i["states"]
    out = {f"E_{s}_J": K.state_energy(np.array([v["P_W"]]), np.array([v["t_s"]])) for s, v in st.items()}
    tot = K.state_energy(np.array([v["P_W"] for v in st.values()]), np.array([v["t_s"] for v in st.values()]))
    out["E_total_J"] = tot
    out["E_total_kWh"] = tot / 3.6e6
    return out


MODELS = {
    "kienzle_cutting_force": kienzle, "cutting_power_specific_force": power_specific, "mrr_turning": mrr_turning,
    "mrr_peripheral_milling": mrr_milling, "taylor_fit_two_points": taylor_fit, "taylor_tool_life": taylor_life,
    "taylor_speed_ratio": taylor_ratio, "roughness_theoretical": roughness, "chatter_sdof": chatter,
    "chatter_sdof_identity": chatter_identity, "lumped_capacitance_sphere": lumped_sphere, "lumped_plate_furnace": lumped_plate,
    "transient_1d_slab_dirichlet": nafems_t3, "thermal_expansion_linear": expansion, "blanking_force": blanking,
    "weld_arc_power_balance": weld_balance, "weld_heat_input_en1011": weld_en1011, "machine_energy_states": energy_states,
}


@pytest.mark.skipif(not SHARED_FILE.exists(), reason="no shared/reference next to this clone")
def test_vendored_copy_is_current():
    assert json.loads(VENDORED_FILE.read_text()) == json.loads(SHARED_FILE.read_text())


def test_every_case_has_a_kernel():
    missing = sorted({c["model"] for c in CASES} - set(MODELS))
    assert not missing, f"cases without a kernel: {missing}"
    assert len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_reference_case(case):
    got = MODELS[case["model"]](case["inputs"])
    tol_by = case.get("rel_tol_by_key", {})
    for key, want in case["expected"].items():
        tol = tol_by.get(key, case["rel_tol"])
        assert got[key] == pytest.approx(want, rel=tol), (case["id"], key, got[key], want)
    for key, want in case.get("published", {}).items():
        assert got[key] == pytest.approx(want, rel=case["published_rel_tol"]), (case["id"], "published", key, got[key], want)
