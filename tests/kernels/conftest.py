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
