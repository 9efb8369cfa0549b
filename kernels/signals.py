"""Synthetic machine signals with ground truth, for developing condition-monitoring models.

Vibration acceleration during a sequence of cuts, sampled at ``fs``: the tooth-passing
frequency ``f_tp = n z`` and its 2nd and 3rd harmonics (amplitudes 1, 1/2, 1/3), amplitude
growing with flank wear ``a = a0 (1 + 2 VB / VB_crit)`` (the trend of e.g. Dimla 2000), a
chatter component at the chatter frequency (3 a0) when the cut is unstable, and Gaussian noise.
Spindle load [%] = Pc / P_rated plus noise; temperature: first-order response to the cutting
power (time constant tau). Noise comes from a counter-based generator (SplitMix64 of seed and
sample index, Box-Muller), so a sample's value does not depend on chunking or thread count.
Labels: flank wear and stability per sample. The model is phenomenological: it reproduces the
spectral signatures that wear and chatter monitoring relies on, not a structural simulation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["vibration_signal", "vibration_windows", "spindle_load_signal", "temperature_trace", "gauss_hash", "vibration_numpy"]

_M64 = (1 << 64) - 1


@njit(cache=True)
def _splitmix(x):
    x = (x + np.uint64(0x9E3779B97F4A7C15))
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def gauss_hash(seed, i):
    """Standard normal number for (seed, index) (SplitMix64 + Box-Muller)."""
    a = _splitmix(np.uint64(seed) * np.uint64(0x100000001B3) + np.uint64(2 * i))
    b = _splitmix(a ^ np.uint64(2 * i + 1))
    u1 = ((a >> np.uint64(11)) + np.uint64(1)) * (1.0 / 9007199254740993.0)
    u2 = (b >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True, inline="always")
def _sample(k, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit, unstable, chatter_hz, a0, noise, seed):
    """Acceleration of absolute sample k (t = k / fs) and the index of the cut it falls in (-1: idle)."""
    t = k / fs
    j = np.searchsorted(cut_start, t, side="right") - 1
    x = noise * gauss_hash(seed, k)
    if j >= 0 and j < len(cut_start) and t < cut_end[j]:
        a = a0 * (1.0 + 2.0 * vb[j] / vb_crit)
        w = 2.0 * math.pi * spindle_hz[j] * teeth[j] * t
        x += a * (math.sin(w) + 0.5 * math.sin(2.0 * w) + (1.0 / 3.0) * math.sin(3.0 * w))
        if unstable[j]:
            x += 3.0 * a0 * math.sin(2.0 * math.pi * chatter_hz[j] * t)
        return x, j
    return x, -1


@njit(cache=True, parallel=True)
def vibration_signal(t0, n_samples, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit, unstable, chatter_hz,
                     a0, noise, seed):
    """Acceleration [m/s^2] for samples t = (round(t0 fs) + i)/fs, i < n_samples, and labels.

    Cuts: arrays cut_start, cut_end [s] (sorted, non-overlapping), spindle_hz [rev/s], teeth,
    vb [m] (flank wear during the cut), unstable (0/1), chatter_hz [Hz]. Returns
    (signal float32, vb label float32, stable label int8 (1 stable / 0 chatter / -1 idle)).
    """
    if fs <= 0.0 or n_samples < 0:
        raise ValueError("need fs > 0 and n_samples >= 0")
    if vb_crit <= 0.0:
        raise ValueError("vb_crit must be > 0")
    sig = np.empty(n_samples, dtype=np.float32)
    lab_vb = np.zeros(n_samples, dtype=np.float32)
    lab_st = np.full(n_samples, -1, dtype=np.int8)
    i0 = int(round(t0 * fs))
    for i in prange(n_samples):
        x, j = _sample(i0 + i, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit, unstable, chatter_hz, a0, noise, seed)
        if j >= 0:
            lab_st[i] = 0 if unstable[j] else 1
            lab_vb[i] = vb[j]
        sig[i] = x
    return sig, lab_vb, lab_st


def vibration_numpy(t0, n_samples, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit, unstable, chatter_hz, a0, noise, seed):
    """The same model vectorised in numpy (baseline for the benchmark; its noise comes from
    numpy's generator, so values differ from :func:`vibration_signal` by the noise only)."""
    t = (int(round(t0 * fs)) + np.arange(n_samples)) / fs
    j = np.searchsorted(cut_start, t, side="right") - 1
    jc = np.clip(j, 0, len(cut_start) - 1)
    inside = (j >= 0) & (t < cut_end[jc])
    a = a0 * (1.0 + 2.0 * vb[jc] / vb_crit)
    w = 2.0 * np.pi * spindle_hz[jc] * teeth[jc] * t
    x = a * (np.sin(w) + 0.5 * np.sin(2 * w) + np.sin(3 * w) / 3.0)
    x += np.where(unstable[jc] > 0, 3.0 * a0 * np.sin(2 * np.pi * chatter_hz[jc] * t), 0.0)
    x = np.where(inside, x, 0.0) + noise * np.random.default_rng(seed).standard_normal(n_samples)
    return x.astype(np.float32)


@njit(cache=True, parallel=True)
def vibration_windows(starts, n_samples, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit, unstable, chatter_hz,
                      a0, noise, seed):
    """Batch of :func:`vibration_signal` snippets: row r holds the n_samples samples from
    ``starts[r]`` (same model, same per-sample noise, so a row equals the single-signal call
    at that start). Parallel over rows; returns float32 [len(starts), n_samples].

    >>> cs, ce = np.array([0.0]), np.array([1.0])
    >>> one = np.ones(1)
    >>> X = vibration_windows(np.array([0.1, 0.5]), 64, 1000.0, cs, ce, 50 * one, 4 * one, 0 * one, 1.0, np.zeros(1, np.int64), 600 * one, 1.0, 0.1, 3)
    >>> s, _, _ = vibration_signal(0.5, 64, 1000.0, cs, ce, 50 * one, 4 * one, 0 * one, 1.0, np.zeros(1, np.int64), 600 * one, 1.0, 0.1, 3)
    >>> bool(np.array_equal(X[1], s))
    True
    """
    if fs <= 0.0 or n_samples < 0:
        raise ValueError("need fs > 0 and n_samples >= 0")
    if vb_crit <= 0.0:
        raise ValueError("vb_crit must be > 0")
    m = len(starts)
    out = np.empty((m, n_samples), dtype=np.float32)
    for r in prange(m):
        i0 = int(round(starts[r] * fs))
        for i in range(n_samples):
            out[r, i] = _sample(i0 + i, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit, unstable, chatter_hz, a0, noise, seed)[0]
    return out


@njit(cache=True, parallel=True)
def spindle_load_signal(t0, n_samples, fs, cut_start, cut_end, power, rated_power, noise_pct, seed):
    """Spindle load [% of rated power] per sample: Pc / P_rated * 100 during cuts, plus noise."""
    if rated_power <= 0.0:
        raise ValueError("rated power must be > 0")
    out = np.empty(n_samples, dtype=np.float32)
    i0 = int(round(t0 * fs))
    for i in prange(n_samples):
        t = (i0 + i) / fs
        j = np.searchsorted(cut_start, t, side="right") - 1
        v = 0.0
        if j >= 0 and t < cut_end[j]:
            v = 100.0 * power[j] / rated_power
        out[i] = v + noise_pct * gauss_hash(seed + 7, i0 + i)
    return out


@njit(cache=True)
def temperature_trace(n_samples, fs, cut_start, cut_end, power, T_amb, K_per_W, tau):
    """Spindle / part temperature [K]: first-order lag (time constant tau [s]) towards
    T_amb + K_per_W * P during cuts and back to T_amb between them (exact discretisation)."""
    if tau <= 0.0 or fs <= 0.0:
        raise ValueError("tau and fs must be > 0")
    out = np.empty(n_samples)
    T = T_amb
    decay = math.exp(-1.0 / (fs * tau))
    for i in range(n_samples):
        t = i / fs
        j = np.searchsorted(cut_start, t, side="right") - 1
        target = T_amb
        if j >= 0 and t < cut_end[j]:
            target = T_amb + K_per_W * power[j]
        T = target + (T - target) * decay
        out[i] = T
    return out
