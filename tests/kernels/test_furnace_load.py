"""Heating a furnace load with a power limit (twin.kernels.furnace): the closed form against an
ODE solver, the limits against the existing lumped and finite-volume kernels, and the FD with a
flux-limited surface against the lumped closed form at small Bi."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import twin.kernels as K
from twin.kernels.heat import CYLINDER, SLAB, SPHERE


def ode_time(c_area, h, q_max, T0, Tf, Tt):
    """Integrate c_A dT/dt = min(h (Tf - T), q_max) until T = Tt (independent of the closed form)."""
    ev = lambda t, y: y[0] - Tt
    ev.terminal = True
    sol = solve_ivp(lambda t, y: [min(h * (Tf - y[0]), q_max) / c_area], (0, 1e7), [T0], events=ev, rtol=1e-11, atol=1e-9,
                    max_step=50.0)
    return float(sol.t_events[0][0])


@pytest.mark.parametrize("q_max", [2e3, 1e4, 5e4, 2e5])
@pytest.mark.parametrize("Tt", [900.0, 1143.15])
def test_lumped_load_heating_matches_the_ode(q_max, Tt):
    c_area, h, T0, Tf = 20 * 470 / 0.2, 150.0, 293.15, 1153.15
    assert K.load_heating_time(c_area, h, q_max, T0, Tf, Tt) == pytest.approx(ode_time(c_area, h, q_max, T0, Tf, Tt), rel=1e-6)


def test_without_a_power_limit_it_is_the_lumped_model():
    rho, cp, V, A, h = 7850.0, 470.0, 1e-3, 0.06, 120.0
    t = K.load_heating_time(rho * cp * V / A, h, np.inf, 293.15, 1133.15, 1123.15)
    assert t == pytest.approx(K.lumped_time_to_temperature(1123.15, 293.15, 1133.15, h, rho, cp, V, A), rel=1e-12)


def test_fully_power_limited_heating_is_the_energy_over_the_power():
    """A load of mass M heated by P throughout (q_max << h (Tf - T)): t = M cp dT / P."""
    M, cp, A, P = 600.0, 480.0, 8.0, 40e3
    t = K.load_heating_time(M * cp / A, 1e6, K.heat_flux_limit(P, A), 293.15, 1200.0, 1150.0)
    assert t == pytest.approx(M * cp * (1150.0 - 293.15) / P, rel=1e-4)


def test_a_fuller_furnace_heats_slower():
    one_part = dict(c_area=7850 * 470 * 0.01, h=150.0, T0=293.15, Tf=1153.15, T_target=1143.15)
    times = [K.load_heating_time(q_max=K.heat_flux_limit(60e3, n * 0.25), **one_part) for n in (4, 16, 64)]
    assert times[0] < times[1] < times[2]


@pytest.mark.parametrize("geometry,L", [(SLAB, 0.02), (CYLINDER, 0.025), (SPHERE, 0.03)])
def test_fd_without_a_limit_agrees_with_time_to_core_temperature(geometry, L):
    args = (geometry, L, 42.0, 7850.0, 470.0, 200.0)
    t = K.core_heating_time(*args, np.inf, 293.15, 1133.15, 1123.15)
    ref = K.time_to_core_temperature(*args, 293.15, 1133.15, 1123.15)
    assert t == pytest.approx(ref, rel=0.01)


@pytest.mark.parametrize("geometry", [SLAB, CYLINDER, SPHERE])
@pytest.mark.parametrize("q_max", [5e3, 3e4])
def test_fd_at_small_biot_tends_to_the_lumped_closed_form(geometry, q_max):
    L, k, rho, cp, h = 0.01, 5000.0, 7850.0, 470.0, 150.0  # Bi = h L / k = 3e-4
    t = K.core_heating_time(geometry, L, k, rho, cp, h, q_max, 293.15, 1153.15, 1143.15)
    ref = K.load_heating_time(rho * cp * L / (geometry + 1), h, q_max, 293.15, 1153.15, 1143.15)
    assert t == pytest.approx(ref, rel=5e-3)


def test_fd_core_lags_the_lumped_model_at_large_biot():
    L, k, rho, cp, h, q = 0.05, 20.0, 7850.0, 470.0, 300.0, 3e4  # Bi = 0.75
    t_fd = K.core_heating_time(CYLINDER, L, k, rho, cp, h, q, 293.15, 1153.15, 1143.15)
    t_lumped = K.load_heating_time(rho * cp * L / 2, h, q, 293.15, 1153.15, 1143.15)
    assert t_fd > 1.05 * t_lumped
    # and converges under grid refinement
    fine = K.core_heating_time(CYLINDER, L, k, rho, cp, h, q, 293.15, 1153.15, 1143.15, 81)
    assert t_fd == pytest.approx(fine, rel=0.01)


@pytest.mark.parametrize("call", [
    lambda: K.load_heating_time(1e4, 150.0, 1e4, 900.0, 1100.0, 800.0),
    lambda: K.load_heating_time(1e4, 0.0, 1e4, 300.0, 1100.0, 1000.0),
    lambda: K.load_heating_time(1e4, 150.0, 0.0, 300.0, 1100.0, 1000.0),
    lambda: K.heat_flux_limit(1e3, 0.0),
    lambda: K.core_heating_time(3, 0.01, 40.0, 7850.0, 470.0, 150.0, 1e4, 300.0, 1100.0, 1000.0),
    lambda: K.core_heating_time(0, 0.01, 40.0, 7850.0, 470.0, 150.0, 1e4, 300.0, 1100.0, 1200.0),
])
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()
