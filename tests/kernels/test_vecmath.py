"""The vectorisable exp/log used by the batch kernels agree with the C library to 1 ulp over
their documented ranges (the batch results depend on it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from twin.kernels.vecmath import exp_v, log_v, pow_v


def _loop(x, which):
    out = np.empty_like(x)
    for i in range(len(x)):
        out[i] = exp_v(x[i]) if which == 0 else log_v(x[i])
    return out


# as compiled plainly, and inside a caller that lets LLVM fuse multiply-adds (the batch kernel)
APPLY = {"plain": njit(cache=True)(_loop), "fma": njit(cache=True, fastmath={"contract"})(_loop)}


def _ulps(a, b):
    """Distance in units in the last place between float64 arrays of the same sign."""
    ia = a.view(np.int64)
    ib = b.view(np.int64)
    return np.abs(ia - ib)


@pytest.mark.parametrize("mode", APPLY)
def test_exp_within_one_ulp_of_libm(mode):
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-707.9, 708.9, 200_000), rng.uniform(-1, 1, 50_000), [0.0, 1.0, -1.0, 0.5 * math.log(2)]])
    got = APPLY[mode](x, 0)
    ref = np.exp(x)
    assert _ulps(got, ref).max() <= 1
    assert got[-4] == 1.0


@pytest.mark.parametrize("mode", APPLY)
def test_log_within_one_ulp_of_libm(mode):
    rng = np.random.default_rng(8)
    x = np.concatenate([10.0 ** rng.uniform(-307, 308, 200_000), rng.uniform(0.5, 2.0, 50_000), [1.0, 2.0, math.e]])
    got = APPLY[mode](x, 1)
    ref = np.log(x)
    nz = ref != 0
    assert _ulps(got[nz], ref[nz]).max() <= 1
    assert got[-3] == 0.0


def test_pow_matches_builtin_power():
    assert abs(pow_v(3.7, -0.22) / 3.7 ** -0.22 - 1.0) < 1e-14
