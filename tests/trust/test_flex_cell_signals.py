"""Trial item 10: the flex cell writes the signals file the README promises (its recording window
used to end before the first shift), and a recording window outside the working time is a
scenario error, not an empty result."""

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import twin
from twin.scenario import ScenarioError, load_data

ROOT = Path(__file__).resolve().parents[2]


def test_flex_cell_writes_signals_of_mc1(tmp_path):
    out = tmp_path / "flex"
    r = subprocess.run([sys.executable, "-m", "twin.cli", "run", str(ROOT / "examples/flex_cell.yaml"), "--horizon", "1 d",
                        "--warmup", "0 h", "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    t = pq.read_table(out / "signals_MC1.parquet")
    assert t.num_rows > 100
    assert "signals_MC1.parquet" in (ROOT / "README.md").read_text()


def test_recording_window_outside_the_shifts_is_refused():
    d = load_data(ROOT / "examples/flex_cell.yaml")
    d["recording"] = {**d["recording"], "start": 0, "stop": "4 h"}
    with pytest.raises(ScenarioError) as e:
        twin.parse_scenario(d)
    assert e.value.errors[0][0] == "recording.stop" and "next shift starts at 6 h" in e.value.errors[0][1]
