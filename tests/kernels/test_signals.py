"""The vibration generator against a sample-by-sample reference written independently in numpy:
which cut a sample belongs to (edges on sample instants, back-to-back cuts, a cut shorter than
one sample period, chunk boundaries), the harmonic and chatter content, the noise and the labels."""

from __future__ import annotations

import numpy as np
import pytest

import twin.kernels as K
from twin.kernels.signals import gauss_hash


def _reference(k0, n, fs, cs, ce, hz, teeth, vb, vb_crit, unstable, chz, a0, noise, seed):
    k = k0 + np.arange(n)
    t = k / fs
    j = np.searchsorted(cs, t, side="right") - 1
    jc = np.clip(j, 0, len(cs) - 1)
    inside = (j >= 0) & (t < ce[jc])
    cyc = hz[jc] * teeth[jc] * t
    w = 2 * np.pi * (cyc - np.round(cyc))  # phase reduced exactly, as any accurate generator must
    a = a0 * (1 + 2 * vb[jc] / vb_crit)
    x = a * (np.sin(w) + np.sin(2 * w) / 2 + np.sin(3 * w) / 3)
    cch = chz[jc] * t
    x += np.where(unstable[jc] > 0, 3 * a0 * np.sin(2 * np.pi * (cch - np.round(cch))), 0.0)
    g = np.array([gauss_hash(seed, int(i)) for i in k])
    sig = np.where(inside, x, 0.0) + noise * g
    lab_vb = np.where(inside, vb[jc], 0.0)
    lab_st = np.where(inside, np.where(unstable[jc] > 0, 0, 1), -1)
    return sig, lab_vb, lab_st


FS = 10_000.0
# cut 0 starts and ends on sample instants; cut 1 starts where cut 0 ends; cut 2 lasts less than a
# sample period and holds no sample instant; cut 3 holds one; cut 4 crosses a 16384-sample chunk
CS = np.array([0.2, 0.5, 0.70001, 0.80000, 1.5])
CE = np.array([0.5, 0.65, 0.70004, 0.80005, 2.4])
ARGS = (CS, CE, np.array([50.0, 40.0, 50.0, 60.0, 133.3]), np.array([4.0, 6.0, 2.0, 3.0, 5.0]),
        np.array([0.0, 1e-4, 2e-4, 0.0, 2.9e-4]), 3e-4, np.array([0, 1, 0, 0, 1]), np.array([610.0, 700.0, 0.0, 0.0, 1234.5]))


@pytest.mark.parametrize("t0,n", [(0.0, 30_000), (0.1234, 20_000), (1.6, 9_000)])
def test_signal_matches_sample_by_sample_reference(t0, n):
    sig, lab_vb, lab_st = K.vibration_signal(t0, n, FS, *ARGS, 1.5, 0.3, 17)
    k0 = int(round(t0 * FS))
    ref, ref_vb, ref_st = _reference(k0, n, FS, *ARGS, 1.5, 0.3, 17)
    assert np.array_equal(lab_st, ref_st)
    assert np.array_equal(lab_vb, ref_vb.astype(np.float32))
    assert np.allclose(sig, ref, rtol=0, atol=2e-6)  # float32 output of values up to ~10
    assert (lab_st == -1).any() and (lab_st >= 0).any()  # every window has idle and cutting samples


def test_cut_edges_follow_the_sample_instants():
    sig, _, st = K.vibration_signal(0.0, 25_000, FS, *ARGS, 1.0, 0.0, 1)
    assert st[1999] == -1 and st[2000] == 1  # t = 0.2 s exactly is in cut 0
    assert st[4999] == 1 and st[5000] == 0  # cut 1 (unstable) takes over at 0.5 s
    assert (st[7000:7002] == -1).all()  # 0.70001-0.70004 s holds no sample instant
    assert st[8000] == 1 and st[7999] == -1 and st[8001] == -1  # 0.8 s is the only sample of cut 3
    assert np.abs(sig[st == -1]).max() == 0.0  # without noise, idle samples are zero


def test_noise_is_standard_normal():
    g = np.array([gauss_hash(5, i) for i in range(200_000)])
    assert abs(g.mean()) < 0.01 and abs(g.std() - 1.0) < 0.01
    assert abs(((g - g.mean()) ** 4).mean() / g.var() ** 2 - 3.0) < 0.06  # kurtosis of a normal
    assert 4.0 < np.abs(g).max() < 6.5
