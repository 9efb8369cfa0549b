"""The vectorisable exp/log used by the batch kernels agree with the C library to 1 ulp over
their documented ranges (the batch results depend on it)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from twin.kernels.vecmath import exp_v, int_to_float, log_v, pow_v, sincos_cycles


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


@njit(cache=True)
def _sincos(c):
    s = np.empty_like(c)
    co = np.empty_like(c)
    for i in range(len(c)):
        s[i], co[i] = sincos_cycles(c[i])
    return s, co


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs an extended-precision long double for the reference")
def test_sincos_cycles_within_two_ulp_of_exact_phase():
    """Reference: the phase reduced exactly to a quarter turn in long double, then sinl/cosl."""
    L = np.longdouble
    two_pi = L(2) * np.arccos(L(-1))
    rng = np.random.default_rng(9)
    c = np.concatenate([rng.uniform(-1, 1, 300_000), rng.integers(0, 10 ** 9, 100_000) + rng.uniform(-0.5, 0.5, 100_000),
                        [0.0, 0.125, 0.25, 0.5, -0.75, 1e6 + 0.125]])
    r = c.astype(L) - np.round(c).astype(L)
    q = np.round(4 * r)
    th = two_pi * (r - q / 4)
    sn, cs = np.sin(th), np.cos(th)
    q = q.astype(int) % 4
    ref = (np.choose(q, [sn, cs, -sn, -cs]), np.choose(q, [cs, -sn, -cs, sn]))
    for got, exact in zip(_sincos(c), ref):
        err = np.abs(got.astype(L) - exact).astype(np.float64)
        assert (err <= 2 * np.spacing(np.abs(exact.astype(np.float64)))).all()
    s, co = _sincos(np.array([0.25, 0.5]))
    assert s[0] == 1.0 and co[0] == 0.0 and s[1] == 0.0 and co[1] == -1.0


def test_int_to_float_is_exact():
    k = np.array([0, 1, -1, 2 ** 50, -(2 ** 50) + 3, 123456789], dtype=np.int64)
    assert [int_to_float(int(v)) for v in k] == [float(v) for v in k]
