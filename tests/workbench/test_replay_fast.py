"""Replay frames composed in numpy from a few renders (twin.viewer.animate.Compositor) look like
the frames VTK renders one by one: same colours where stations and parts are, a failure red, parts
on the racks as the buffer holds them; the CLI shows a progress bar and ffmpeg stays quiet."""

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
                       "failures": [{"basis": "calendar", "tbf": {"dist": "constant", "value": 1000},
                                     "ttr": {"dist": "constant", "value": 500}}]}},
    "buffers": {"AB": {"capacity": 6, "between": ["A", "B"], "layout": {"x": 5, "y": 0}}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


@pytest.fixture(scope="module")
def res():
    return twin.simulate(twin.parse_scenario(SC))


def test_composed_frames_match_rendered_frames(res):
    from twin.viewer.animate import Compositor, Replay

    rp = Replay(res, window_size=(640, 360))
    rp.plotter.ren_win.SetMultiSamples(0)
    comp = Compositor(rp)
    for t in (500.0, 1200.0, 1450.0, 2000.0):  # before, during and after a failure, a filling buffer
        img, codes = comp.frame(t)
        rp.update(t)
        ref = rp.frame()[..., :3].astype(int)
        diff = np.abs(img.astype(int) - ref).max(axis=2)
        # the clock and counter are drawn with another font: leave the text rows out
        body = diff[int(0.2 * ref.shape[0]):]
        assert (body > 40).mean() < 0.003, (t, (body > 40).mean())
        x, y = rp.scene.pixel("B")
        r, g, b = img[y, x]
        assert (codes["B"] == Code.FAILURE) == (1000 <= t < 1500)
        if codes["B"] == Code.FAILURE:
            assert r > 150 and g < 90
    rp.close()


def test_cli_video_shows_progress_and_no_encoder_warnings(res, tmp_path):
    res.save(tmp_path / "res")
    r = subprocess.run([sys.executable, "-m", "twin.cli", "view", str(tmp_path / "res"), "--video", str(tmp_path / "r.mp4"),
                        "--speed", "100x", "--fps", "10", "--from", "0 s", "--to", "1000 s", "--width", "330", "--height", "200"],
                       capture_output=True, text=True, env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "TERM": "xterm"})
    assert r.returncode == 0, r.stderr
    assert "100 frames" in r.stdout
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert not [l for l in lines if "pix_fmt" in l or "WARNING" in l or "libx264" in l], lines
    import imageio.v2 as i2

    rd = i2.get_reader(tmp_path / "r.mp4")
    assert rd.count_frames() == 100 and rd.get_meta_data()["size"] == (320, 192)


def test_progress_callback_counts_every_frame(res, tmp_path):
    from twin.viewer import animate

    seen = []
    out = animate(res, tmp_path / "r.gif", speed=200.0, fps=2, t0=0.0, t1=2000.0, window_size=(320, 180),
                  progress=lambda d, n: seen.append((d, n)))
    assert out["composed"] and out["frames"] == 20
    assert seen[0] == (0, 20) and seen[-1] == (20, 20) and len(seen) == 21
