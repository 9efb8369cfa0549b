"""Synthetic machine signals with ground truth, for developing condition-monitoring models.

Vibration acceleration during a sequence of cuts, sampled at ``fs``: the tooth-passing
frequency ``f_tp = n z`` and its 2nd and 3rd harmonics (amplitudes 1, 1/2, 1/3), amplitude
growing with flank wear ``a = a0 (1 + 2 VB / VB_crit)`` (the trend of e.g. Dimla 2000), a
chatter component at the chatter frequency (3 a0) when the cut is unstable, and Gaussian noise.
Spindle load [%] = Pc / P_rated plus noise; temperature: first-order response to the cutting
power (time constant tau). Noise comes from a counter-based generator (SplitMix64 of seed and
sample index, Box-Muller), so a sample's value does not depend on chunking or thread count.

Speed: the generator walks the cuts once and fills each run of samples of one cut in a
vectorised loop (phases in cycles through :func:`vecmath.sincos_cycles`, the 2nd and 3rd
harmonics from the identities ``sin 2w = 2 sin w cos w`` and ``sin 3w = sin w (3 - 4 sin^2 w)``,
``log`` by :func:`vecmath.log_v`), instead of a binary search and four libm calls per sample.
Labels: flank wear and stability per sample. The model is phenomenological: it reproduces the
spectral signatures that wear and chatter monitoring relies on, not a structural simulation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .vecmath import _i2f, int_to_float, log_v, sincos_cycles

__all__ = ["vibration_signal", "vibration_windows", "spindle_load_signal", "temperature_trace", "gauss_hash", "vibration_numpy"]

_M64 = (1 << 64) - 1


@njit(cache=True)
def _splitmix(x):
    x = (x + np.uint64(0x9E3779B97F4A7C15))
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always", error_model="numpy")
def _gauss(seed, k):
    a = _splitmix(np.uint64(seed) * np.uint64(0x100000001B3) + np.uint64(2 * k))
    b = _splitmix(a ^ np.uint64(2 * k + 1))
    # 52 random bits as the mantissa of a number in [1, 2): uniforms without a uint64 -> float
    # conversion (none in AVX2), u1 in (0, 1] and u2 in [0, 1)
    u1 = 2.0 - _i2f(np.int64((a >> np.uint64(12)) | np.uint64(0x3FF0000000000000)))
    u2 = _i2f(np.int64((b >> np.uint64(12)) | np.uint64(0x3FF0000000000000))) - 1.0
    return math.sqrt(-2.0 * log_v(u1)) * sincos_cycles(u2)[1]


@njit(cache=True)
def gauss_hash(seed, i):
    """Standard normal number for (seed, index): SplitMix64 of both, Box-Muller on two 52-bit
    uniforms. The same (seed, i) always gives the same number, whatever the chunking.

    >>> gauss_hash(3, 10) == gauss_hash(3, 10) != gauss_hash(3, 11)
    True
    """
    return _gauss(seed, i)


@njit(cache=True, inline="always")
def _first_at_or_after(x, fs, lo, hi):
    """Smallest sample k in [lo, hi] with k / fs >= x (hi if none): the same test a sample makes."""
    if not (x * fs < hi):
        return hi
    k = max(lo, min(hi, int(math.ceil(x * fs))))
    while k > lo and (k - 1) / fs >= x:
        k -= 1
    while k < hi and k / fs < x:
        k += 1
    return k


@njit(cache=True, error_model="numpy")
def _fill(sig, lab_vb, lab_st, k0, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit, unstable, chatter_hz,
          a0, noise, seed):
    """Samples k0 .. k0 + len(sig) - 1 into sig (and the labels, if they have its length).

    Sample k (t = k / fs) belongs to cut j = the last cut with cut_start[j] <= t if t < cut_end[j],
    else it is idle. Walks the cuts once and fills each run of samples with the same cut in a
    loop without calls or branches (vectorised: sines by :func:`sincos_cycles`, noise by
    :func:`_gauss`), instead of a binary search per sample.
    """
    n = len(sig)
    labels = len(lab_vb) == n
    m = len(cut_start)
    hi = k0 + n
    j = np.searchsorted(cut_start, k0 / fs, side="right") - 1
    k = k0
    while k < hi:
        t = k / fs
        while j + 1 < m and cut_start[j + 1] <= t:
            j += 1
        nxt = cut_start[j + 1] if j + 1 < m else math.inf
        if j >= 0 and t < cut_end[j]:
            e = _first_at_or_after(min(cut_end[j], nxt), fs, k, hi)
            a = a0 * (1.0 + 2.0 * vb[j] / vb_crit)
            f_tp = spindle_hz[j] * teeth[j]
            ch = 3.0 * a0 if unstable[j] else 0.0
            f_ch = chatter_hz[j]
            for i in range(k, e):
                ti = int_to_float(i) / fs
                sn, cs = sincos_cycles(f_tp * ti)
                # sin w + sin(2w)/2 + sin(3w)/3 with sin 2w = 2 sin w cos w, sin 3w = sin w (3 - 4 sin^2 w)
                x = a * sn * (1.0 + cs + (1.0 - (4.0 / 3.0) * sn * sn))
                x += ch * sincos_cycles(f_ch * ti)[0]
                sig[i - k0] = x + noise * _gauss(seed, i)
            if labels:
                lab_vb[k - k0:e - k0] = vb[j]
                lab_st[k - k0:e - k0] = 0 if unstable[j] else 1
        else:
            e = _first_at_or_after(nxt, fs, k, hi)
            for i in range(k, e):
                sig[i - k0] = noise * _gauss(seed, i)
        k = e


_CHUNK = 16384  # samples per parallel work item of vibration_signal


@njit(cache=True, parallel=True)
def vibration_signal(t0, n_samples, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit, unstable, chatter_hz,
                     a0, noise, seed):
    """Acceleration [m/s^2] for samples t = (round(t0 fs) + i)/fs, i < n_samples, and labels.

    Cuts: arrays cut_start, cut_end [s] (sorted, non-overlapping), spindle_hz [rev/s], teeth,
    vb [m] (flank wear during the cut), unstable (0/1), chatter_hz [Hz]. Returns
    (signal float32, vb label float32, stable label int8 (1 stable / 0 chatter / -1 idle)).
    Each sample depends only on its index, so chunking and thread count do not change it.

    >>> one = np.ones(1)
    >>> sig, vb, st = vibration_signal(0.0, 20000, 10000.0, np.array([0.5]), np.array([1.5]), 50 * one, 4 * one,
    ...                                0 * one, 1.0, np.zeros(1, np.int64), 600 * one, 1.0, 0.0, 3)
    >>> float(abs(sig[:5000]).max()), int(st[4999]), int(st[5000]), int(st[15000])   # idle, cut, idle again
    (0.0, -1, 1, -1)
    >>> round(float(np.sqrt((sig[5000:15000].astype(float) ** 2).mean())), 4)   # sqrt((1 + 1/4 + 1/9) / 2)
    0.825
    """
    if fs <= 0.0 or n_samples < 0:
        raise ValueError("need fs > 0 and n_samples >= 0")
    if vb_crit <= 0.0:
        raise ValueError("vb_crit must be > 0")
    sig = np.empty(n_samples, dtype=np.float32)
    lab_vb = np.zeros(n_samples, dtype=np.float32)
    lab_st = np.full(n_samples, -1, dtype=np.int8)
    i0 = int(round(t0 * fs))
    for c in prange((n_samples + _CHUNK - 1) // _CHUNK):
        lo = c * _CHUNK
        hi = min(n_samples, lo + _CHUNK)
        _fill(sig[lo:hi], lab_vb[lo:hi], lab_st[lo:hi], i0 + lo, fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit,
              unstable, chatter_hz, a0, noise, seed)
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
    none_vb = np.empty(0, dtype=np.float32)
    none_st = np.empty(0, dtype=np.int8)
    for r in prange(m):
        _fill(out[r], none_vb, none_st, int(round(starts[r] * fs)), fs, cut_start, cut_end, spindle_hz, teeth, vb, vb_crit,
              unstable, chatter_hz, a0, noise, seed)
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
