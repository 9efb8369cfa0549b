"""Independent reference for the chatter kernels: stability of the delay-differential equation of
regenerative cutting by the semi-discretisation method (zeroth order; Insperger & Stepan,
"Semi-discretization method for delayed systems", Int. J. Numer. Meth. Engng 55 (2002) 503-518;
Insperger & Stepan, Semi-Discretization for Time-Delay Systems, Springer 2011, ch. 3).

Modal equations (mode j: stiffness k_j, damping ratio zeta_j, natural frequency f_j, direction
d_j in the x-y plane, modal mass k_j / omega_j^2):

    q_j'' + 2 zeta_j omega_j q_j' + omega_j^2 q_j = d_j . F(t) / m_j,
    F(t) = b H(t) (r(t) - r(t - tau)),   r = sum_j d_j q_j,

with H(t) the (periodic or constant) 2x2 directional force matrix per unit depth b. The
monodromy matrix over one delay tau = m dt is the product of the one-step maps
y_{i+1} = P_i y_i + R_i (q_{i-m+1} + q_{i-m}) / 2, P_i = exp(A_i dt), R_i = int exp(A_i s) ds B_i;
the cut is stable when its spectral radius is below 1, and the critical depth is found by
bisection. Two step counts m and 2m are extrapolated (Richardson, error ~ 1/m^2).

This file is run in a subprocess by the tests with one BLAS thread (on the 2-core test machines
a second OpenBLAS thread competing with a busy core made the 100x100 eigenvalue problems 200
times slower). Input: JSON on stdin; output: JSON on stdout.
"""

import json
import math
import sys

import numpy as np
from scipy.linalg import expm


def _monodromy(b, tau, ks, zetas, fns, dirs, H_at, m, sub):
    n = len(ks)
    wn = 2 * np.pi * np.asarray(fns, float)
    mass = np.asarray(ks, float) / wn ** 2
    D = np.asarray(dirs, float).T  # 2 x n
    dt = tau / m
    dim = 2 * n + m * n
    Phi = np.eye(dim)
    zero = np.zeros((n, n))
    for i in range(m):
        H = sum(H_at((i + (s + 0.5) / sub) * dt) for s in range(sub)) / sub
        Kc = (D.T @ (b * H) @ D) / mass[:, None]
        A = np.block([[zero, np.eye(n)], [-np.diag(wn ** 2) + Kc, -np.diag(2 * np.asarray(zetas) * wn)]])
        Bq = np.vstack([zero, -Kc])
        E = expm(np.block([[A * dt, Bq * dt], [np.zeros((n, 3 * n))]]))
        P, R = E[:2 * n, :2 * n], E[:2 * n, 2 * n:]
        top = P @ Phi[:2 * n] + 0.5 * R @ (Phi[2 * n + (m - 2) * n:2 * n + (m - 1) * n] + Phi[2 * n + (m - 1) * n:])
        new = np.empty_like(Phi)
        new[:2 * n] = top
        new[2 * n:3 * n] = Phi[:n]
        new[3 * n:] = Phi[2 * n:2 * n + (m - 1) * n]
        Phi = new
    return Phi


def stable(b, tau, ks, zetas, fns, dirs, H_at, m, sub):
    return np.max(np.abs(np.linalg.eigvals(_monodromy(b, tau, ks, zetas, fns, dirs, H_at, m, sub)))) < 1.0


def critical_depth(tau, ks, zetas, fns, dirs, H_at, lo, hi, m, sub, iters=18):
    if not stable(lo, tau, ks, zetas, fns, dirs, H_at, m, sub) or stable(hi, tau, ks, zetas, fns, dirs, H_at, m, sub):
        return float("nan")  # the bracket does not contain the boundary
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if stable(mid, tau, ks, zetas, fns, dirs, H_at, m, sub):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def turning_H(Kf, beta):
    """Force Kf b h along beta from the chip-thickness direction n = +y; h_dyn = -(r - r_tau) . n."""
    uF = np.array([math.sin(beta), math.cos(beta)])
    H = -Kf * np.outer(uF, [0.0, 1.0])
    return lambda t: H


def milling_H(Kt, Kr, teeth, omega, phi_st, phi_ex):
    """Altintas' milling forces: tooth j at phi_j = omega t + 2 pi j / N (clockwise from +y), chip
    h = (r - r_tau) . (sin phi, cos phi), Fx = -Ft cos phi - Fr sin phi, Fy = Ft sin phi - Fr cos phi."""
    def H(t):
        out = np.zeros((2, 2))
        for j in range(teeth):
            p = (omega * t + 2 * math.pi * j / teeth) % (2 * math.pi)
            if phi_st <= p <= phi_ex:
                f = np.array([-math.cos(p) - Kr * math.sin(p), math.sin(p) - Kr * math.cos(p)])
                out += Kt * np.outer(f, [math.sin(p), math.cos(p)])
        return out
    return H


def run(spec):
    out = []
    for job in spec:
        if job["kind"] == "turning":
            dirs = [(math.sin(t), math.cos(t)) for t in job["thetas"]]
            H_at = turning_H(job["Kf"], job["beta"])
            sub = 1
        else:
            dirs = job["dirs"]
            H_at = milling_H(job["Kt"], job["Kr"], job["teeth"], 2 * math.pi * job["speed"], job["phi_st"], job["phi_ex"])
            sub = job.get("sub", 8)
        tau = 1.0 / (job["speed"] * job.get("teeth", 1))
        vals = [critical_depth(tau, job["ks"], job["zetas"], job["fns"], dirs, H_at, job["lo"], job["hi"], m, sub) for m in (job["m"], 2 * job["m"])]
        out.append({"m": vals[0], "2m": vals[1], "extrapolated": vals[1] + (vals[1] - vals[0]) / 3.0})
    return out


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
