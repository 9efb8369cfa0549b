import math

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def warm_kernels():
    """Compile (or load from cache) the kernels once per session, not per test."""
    import twin.kernels as K

    K.turning_force(2e-4, 2e-3, math.pi / 2, 1.5e9, 0.22)
    K.taylor_life(3.0, 0.25, 10.0)
    K.is_stable(100.0, 1e-3, 2e8, 0.02, 300.0, 1e9)
    K.wall_series(0.5, 0.3, 1.0)
    a = np.ones(4)
    tt = K.batch.tool_tables([1.5], [8e-4], [0.25], [10.0])
    K.cuts_batch(a * 2e-4, a * 2e-3, a * 3, a, np.zeros(4, np.int64), np.zeros(4, np.int64), np.array([1.5e9]), np.array([0.22]),
                 *tt, np.empty(4), np.empty(4), np.empty(4), np.empty(4))
    # heat: properties, series / one-term / energy of the three geometries, sphere FD
    K.thermal_effusivity(40.0, 7800.0, 500.0)
    K.fourier_number(1e-5, 1.0, 0.01)
    K.lumped_biot(10.0, 1.0, 1.0, 40.0)
    K.lumped_time_constant(7800.0, 500.0, 1.0, 10.0, 1.0)
    for Bi in (0.5,):
        K.one_term_energy_wall(0.5, Bi), K.one_term_energy_cylinder(0.5, Bi), K.one_term_energy_sphere(0.5, Bi)
        K.one_term_sphere(0.2, 0.5, Bi), K.cylinder_series(0.2, 0.5, Bi), K.sphere_series(0.2, 0.5, Bi)
    K.sphere_fd_transient(0.01, 40.0, 7800.0, 500.0, 100.0, 300.0, 400.0, 10.0, 5, 5)
    # semi-infinite solid
    K.semi_infinite_step(0.001, 1.0, 300.0, 400.0, 1e-5)
    K.semi_infinite_flux(0.001, 1.0, 300.0, 1e5, 40.0, 1e-5)
    K.semi_infinite_convection(0.001, 1.0, 300.0, 400.0, 100.0, 40.0, 1e-5)
    K.penetration_depth(1.0, 1e-5, 0.01)
    K.erfinv(0.3)
    # chatter: oriented modes and the zero-order milling solution
    f = np.linspace(200.0, 300.0, 8)
    m = np.array([2e8]), np.array([0.02]), np.array([250.0])
    K.oriented_is_stable(100.0, 1e-3, f, *m, np.array([0.3]), 0.0, 1e9)
    K.milling_is_stable(100.0, 1e-3, f, *m, *m, 6e8, 0.3, 4, 0.0, math.pi)
