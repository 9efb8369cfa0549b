"""Signal recording: features follow the signal model, labels are the ground truth, files are
written, and a recording is deterministic."""

import copy
import math
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

import twin

from .test_machining import BASE


def _scenario(**rec):
    d = copy.deepcopy(BASE)
    d["horizon"] = "4 h"
    d["stations"]["L1"]["dynamics"] = {"k": 2e7, "zeta": 0.03, "fn": 600}  # the roughing cut chatters, the finishing cut does not
    d["stations"]["L1"]["tools"]["T1"]["breakage_rate"] = 1e-3
    d["recording"] = {"stations": ["L1"], "window": "1 s", "snippet": "0.1 s", **rec}
    return d


@pytest.fixture(scope="module")
def recorded():
    return twin.simulate(_scenario(raw="1 s"))


def test_rms_follows_the_wear_model(recorded):
    """A stable cut's vibration is a (1 + 2 VB/VBcrit) times the three tooth-passing harmonics
    (1, 1/2, 1/3) plus noise: RMS = sqrt(a^2 (1 + 1/4 + 1/9) / 2 + noise^2)."""
    f = recorded.extra_tables["signals_L1"].to_pandas()
    cut_end = f.groupby("part")["t"].transform("max")  # windows well inside a cut
    full = f[(f["stable"] == 1) & (f["t"] + 0.1 < cut_end)]
    assert len(full) > 500
    a = 1.0 * (1 + 2 * full["wear_frac"])
    theory = np.sqrt(a ** 2 * (1 + 1 / 4 + 1 / 9) / 2 + 0.2 ** 2)
    assert np.median(np.abs(full["vib_rms"] / theory - 1)) < 0.03
    assert np.corrcoef(full["wear_frac"], full["vib_rms"])[0, 1] > 0.9


def test_chatter_shows_in_its_band(recorded):
    f = recorded.extra_tables["signals_L1"].to_pandas()
    unstable, stable = f[f["stable"] == 0], f[f["stable"] == 1]
    assert len(unstable) > 100 and len(stable) > 100
    assert unstable["chatter_band"].median() > 10 * stable["chatter_band"].median()
    # every window belongs to a cut that started before it
    assert (f["spindle_load_pct"] >= 0).all() and f["wear_frac"].between(0, 1.0 + 1e-9).all()


def test_failure_onset_label(recorded):
    f = recorded.extra_tables["signals_L1"].to_pandas()
    fails = np.sort(recorded.failures["t"])
    assert len(fails) >= 1
    lab = f["next_failure_s"].to_numpy()
    finite = np.isfinite(lab)
    assert finite.any() and (lab[finite] >= 0).all()
    # the label is the distance to the next failure time
    t = f["t"].to_numpy()[finite]
    k = np.searchsorted(fails, t)
    assert np.allclose(lab[finite], fails[k] - t)


def test_raw_vibration_and_determinism(recorded):
    raw = recorded.extra_tables["signals_L1_raw"]
    assert raw.num_rows == 10_000
    again = twin.simulate(_scenario(raw="1 s"))
    a, b = again.extra_tables["signals_L1"].to_pandas(), recorded.extra_tables["signals_L1"].to_pandas()
    assert a.equals(b)  # NaN labels compare equal here


def test_cli_writes_parquet(tmp_path):
    p = tmp_path / "rec.yaml"
    d = _scenario(stop="1 h")
    p.write_text(yaml.safe_dump(d))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "twin", "run", str(p), "--out", str(out), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    t = pq.read_table(out / "signals_L1.parquet")
    assert t.num_rows > 100 and t.column("t").to_numpy().max() < 3600 + 200
    assert {"vib_rms", "wear_frac", "stable", "next_failure_s"} <= set(t.column_names)


def test_recording_names_a_machining_station():
    d = _scenario()
    d["recording"]["stations"] = ["NOPE"]
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    assert "recording.stations[0]" in str(e.value)
