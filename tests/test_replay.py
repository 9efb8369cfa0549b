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


def test_agv_moves_along_the_aisles():
    """A vehicle in the replay is on its aisle network: mid-way through A -> W -> B (an L, not
    the diagonal) it stands on one of the two legs."""
    from twin.viewer import Replay

    sc = {"name": "agv replay", "horizon": 3600,
          "stations": {"A": {"process_time": 120, "layout": {"x": 0, "y": 0}}, "B": {"process_time": 100, "layout": {"x": 10, "y": 10}},
                       "AGV": {"kind": "agv_fleet", "vehicles": 1, "speed": 1.0, "load_time": 5, "unload_time": 5, "home": "W",
                               "network": {"nodes": {"W": [0, 10]}, "edges": [["A", "W"], ["W", "B"]]}}},
          "buffers": {"T": {"kind": "agv", "fleet": "AGV", "between": ["A", "B"], "capacity": 3}},
          "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}
    res = twin.simulate(twin.parse_scenario(sc))
    tr = res.extra_tables["physics_AGV"].to_pandas().iloc[0]
    rp = Replay(res, window_size=(320, 180))
    ab = rp.scene.agv_actors["AGV"][0][0]
    seen = []
    for f in (0.25, 0.5, 0.75):  # fractions of the loaded 20 m leg (after 5 s of loading)
        t = tr["t_pickup"] + 5 + f * 20.0
        rp.update(t)
        x, y, _ = ab.position
        seen.append((x, y))
        on_leg1 = abs(x) < 1e-6 and 0 <= y <= 10
        on_leg2 = abs(y - 10) < 1e-6 and 0 <= x <= 10
        assert on_leg1 or on_leg2, (t, x, y)
    assert seen[0] == pytest.approx((0.0, 5.0)) and seen[2] == pytest.approx((5.0, 10.0))
    rp.close()
