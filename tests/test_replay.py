"""Replay animation: frame count and duration follow speed and interval; a failure turns its
station red in the frames that cover it."""

import subprocess
import sys

import numpy as np
import pytest

import twin
from twin.states import Code

pytest.importorskip("pyvista")

SC = {
    "name": "replay", "horizon": 4000, "seed": 1,
    "stations": {"A": {"process_time": 10, "layout": {"x": 0, "y": 0}},
                 "B": {"process_time": 12, "layout": {"x": 10, "y": 0},
                       "failures": [{"basis": "calendar", "tbf": {"dist": "constant", "value": 1000}, "ttr": {"dist": "constant", "value": 500}}]}},
    "buffers": {"AB": {"capacity": 4, "between": ["A", "B"], "layout": {"x": 5, "y": 0}}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


def test_frames_duration_and_failure_red(tmp_path):
    from twin.viewer import animate
    from twin.viewer.animate import frame_times

    res = twin.simulate(twin.parse_scenario(SC))
    assert list(res.failures["t"][:2]) == [1000.0, 2500.0]
    out = animate(res, tmp_path / "r.gif", speed=200.0, fps=5, t0=0.0, t1=4000.0, window_size=(480, 270))
    assert out["frames"] == 100 and out["duration_s"] == pytest.approx(20.0)  # 4000 s at 200x = 20 s at 5 fps
    assert len(frame_times(0, 4000, 200, 5)) == 100
    import imageio.v3 as iio

    frames = iio.imread(tmp_path / "r.gif", index=None)
    assert frames.shape[0] == 100
    bx, by = out["pixels"]["B"]
    for i, t in enumerate(out["times"]):
        failing = 1000 <= t < 1500 or 2500 <= t < 3000
        assert (out["codes"][i]["B"] == Code.FAILURE) == failing
        r, g, b = frames[i][by, bx, :3].astype(int)
        if failing:
            assert r > 150 and g < 90, (t, (r, g, b))
        else:
            assert not (r > 150 and g < 90), (t, (r, g, b))


def test_cli_video(tmp_path):
    res = twin.simulate(twin.parse_scenario(SC))
    res.save(tmp_path / "res")
    r = subprocess.run([sys.executable, "-m", "twin.cli", "view", str(tmp_path / "res"), "--video", str(tmp_path / "r.mp4"),
                        "--speed", "400x", "--fps", "4", "--from", "0 s", "--to", "2000 s", "--width", "320", "--height", "192"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "20 frames" in r.stdout
    import imageio.v2 as i2

    rd = i2.get_reader(tmp_path / "r.mp4")
    assert rd.count_frames() == 20 and rd.get_meta_data()["fps"] == 4
    bad = subprocess.run([sys.executable, "-m", "twin.cli", "view", str(tmp_path / "res"), "--video", str(tmp_path / "r.avi")],
                         capture_output=True, text=True)
    assert bad.returncode == 2
