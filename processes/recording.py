"""Signal recording for condition-monitoring work: features with ground-truth labels.

For each recorded machining station (scenario ``recording:``) the station notes, for every
cut it starts, the cut's time span, spindle frequency, teeth, flank wear VB at the start of the
cut, stability and cutting power. After the run, per unit and per ``window`` of cutting time, a
``snippet`` of vibration is synthesised with :func:`twin.kernels.vibration_signal` (tooth-passing
frequency and harmonics growing with wear, a chatter tone when unstable, seeded noise) and
reduced to features:

* ``vib_rms``, ``vib_peak`` [m/s^2], ``vib_kurtosis`` [-];
* ``tooth_band`` and ``chatter_band``: share of the snippet's spectral energy (Hann window)
  within +-5 % of the tooth-passing frequency and of the chatter frequency
  (:func:`twin.kernels.chatter_frequency`; NaN without ``dynamics``);
* ``spindle_load_pct``: mean cutting load over the snippet, 100 Pc / P_rated (the noise-free mean
  of :func:`twin.kernels.spindle_load_signal`);
* ``spindle_temp_K`` (:func:`twin.kernels.temperature_trace` at 1 Hz: 293.15 K ambient,
  2 mK/W, 300 s time constant).

Labels (ground truth the model knows and a real plant does not): ``vb_m`` (flank wear),
``wear_frac`` (VB / VB criterion), ``stable`` (1 stable / 0 chatter), ``next_failure_s`` (time
from the window to the unit's next failure or tool breakage; NaN if none follows). The noise of
a sample depends only on (seed, station, unit, sample index), so recordings are deterministic.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

import twin.kernels as K

__all__ = ["signal_features"]

_T_AMB, _K_PER_W, _TAU = 293.15, 2e-3, 300.0


def _band(power, freqs, f0) -> np.ndarray:
    """Share of energy within +-5 % (at least +-2 bins) of f0, per row."""
    df = freqs[1] - freqs[0]
    half = np.maximum(0.05 * f0, 2 * df)
    m = np.abs(freqs[None, :] - f0[:, None]) <= half[:, None]
    tot = power.sum(axis=1)
    return np.where(tot > 0, (power * m).sum(axis=1) / np.where(tot > 0, tot, 1.0), 0.0)


def signal_features(st):
    """(features table, raw table or None) for a recorded machining station, or None."""
    import pyarrow as pa

    rec = st.recording
    a = np.frombuffer(st._cuts_rec, dtype=np.float64).reshape(-1, 10) if len(st._cuts_rec) else np.zeros((0, 10))
    if not len(a):
        return None
    run = st.run
    fs = float(rec.sample_rate)
    n_snip = max(8, int(round(rec.snippet * fs)))
    dyn = st.spec.dynamics
    f_ch = K.chatter_frequency(dyn.fn, dyn.zeta) if dyn is not None else 0.0
    fl = run.failure_log
    f_t = np.frombuffer(fl.t, dtype=np.float64) if len(fl.t) else np.zeros(0)
    f_r = np.frombuffer(fl.resource, dtype=np.int32) if len(fl.resource) else np.zeros(0, np.int32)
    cols: dict[str, list] = {k: [] for k in ("t", "unit", "part", "vib_rms", "vib_peak", "vib_kurtosis", "tooth_band",
                                             "chatter_band", "spindle_load_pct", "spindle_temp_K", "vb_m", "wear_frac",
                                             "stable", "next_failure_s")}
    raw = None
    freqs = np.fft.rfftfreq(n_snip, 1.0 / fs)
    hann = np.hanning(n_snip).astype(np.float32)
    for u in np.unique(a[:, 7]).astype(int):
        c = a[a[:, 7] == u]
        c = c[np.argsort(c[:, 0], kind="stable")]
        t0, t1, hz, teeth, vb, unst, power, _, part, vbm = c.T
        wear = vb / vbm
        unstable = unst.astype(np.int64)
        chz = np.full(len(c), f_ch)
        seed = (zlib.crc32(st.name.encode()) + 7919 * u + 104729 * run.seed) % (2 ** 31)
        # window starts within each cut
        n_win = np.maximum(1, np.ceil((t1 - t0) / rec.window - 1e-9).astype(np.int64))
        idx = np.repeat(np.arange(len(c)), n_win)
        starts = t0[idx] + (np.arange(len(idx)) - np.repeat(np.cumsum(n_win) - n_win, n_win)) * rec.window
        # spindle temperature at 1 Hz from t = 0 over the recorded span
        n_temp = int(math.ceil(t1.max())) + 2
        temp = K.temperature_trace(n_temp, 1.0, t0, t1, power, _T_AMB, _K_PER_W, _TAU)
        rid = st.units[u].rid
        fails = np.sort(f_t[f_r == rid])
        rated = st.spec.rated_power
        for lo in range(0, len(starts), 4096):
            ws = starts[lo:lo + 4096]
            ci = idx[lo:lo + 4096]
            X = K.vibration_windows(ws, n_snip, fs, t0, t1, hz, teeth, wear, 1.0, unstable, chz, rec.a0, rec.noise, seed)
            # mean spindle load over the snippet: the cut's load times the share of the snippet inside the cut
            inside = np.clip((np.minimum(ws + n_snip / fs, t1[ci]) - ws) / (n_snip / fs), 0.0, 1.0)
            load = 100.0 * power[ci] / rated * inside
            Xd = X.astype(np.float64)
            mean = Xd.mean(axis=1)
            var = Xd.var(axis=1)
            P = np.abs(np.fft.rfft(X * hann, axis=1)) ** 2
            cols["t"].append(ws)
            cols["unit"].append(np.full(len(ws), u))
            cols["part"].append(part[ci].astype(np.int64))
            cols["vib_rms"].append(np.sqrt((Xd ** 2).mean(axis=1)))
            cols["vib_peak"].append(np.abs(Xd).max(axis=1))
            cols["vib_kurtosis"].append(((Xd - mean[:, None]) ** 4).mean(axis=1) / np.where(var > 0, var ** 2, 1.0))
            cols["tooth_band"].append(_band(P, freqs, hz[ci] * teeth[ci]))
            cols["chatter_band"].append(_band(P, freqs, chz[ci]) if f_ch > 0 else np.full(len(ws), np.nan))
            cols["spindle_load_pct"].append(load)
            cols["spindle_temp_K"].append(temp[np.minimum(ws.astype(np.int64), n_temp - 1)])
            cols["vb_m"].append(vb[ci])
            cols["wear_frac"].append(wear[ci])
            cols["stable"].append((1 - unstable[ci]).astype(np.int8))
            if len(fails):
                k = np.searchsorted(fails, ws, side="left")
                nxt = np.where(k < len(fails), fails[np.minimum(k, len(fails) - 1)] - ws, np.nan)
            else:
                nxt = np.full(len(ws), np.nan)
            cols["next_failure_s"].append(nxt)
        if raw is None and rec.raw > 0:
            n_raw = int(round(rec.raw * fs))
            sig, lab_vb, lab_st = K.vibration_signal(t0[0], n_raw, fs, t0, t1, hz, teeth, wear, 1.0, unstable, chz, rec.a0, rec.noise, seed)
            i0 = int(round(t0[0] * fs))
            raw = pa.table({"t": (i0 + np.arange(n_raw)) / fs, "unit": np.full(n_raw, u, dtype=np.int32), "accel": sig,
                            "wear_frac": lab_vb, "stable": lab_st})
    feats = pa.table({k: np.concatenate(v) for k, v in cols.items()})
    return feats, raw
