"""The plant picture: not blank, stations coloured by their KPI where they are drawn, legend
range equal to the data range, and the demo command writes it."""

import subprocess
import sys

import numpy as np
import pytest

import twin

pv = pytest.importorskip("pyvista")


@pytest.fixture(scope="module")
def result():
    return twin.simulate(twin.load("examples/shaft_line.yaml"), horizon=3 * 86400.0)


def _project(plotter, xyz):
    ren = plotter.renderer
    ren.SetWorldPoint(*xyz, 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    return int(round(x)), int(round(y))


def test_station_pixels_follow_kpi_colour(result):
    from twin.viewer.scene import plot_plant, quiet_vtk

    quiet_vtk()
    p = plot_plant(result, kpi="utilization", window_size=(1200, 700))
    img = p.screenshot(return_img=True)
    h = img.shape[0]
    assert img.std() > 10  # not blank
    lay = p._twin_layout
    util = {s: result.kpis["stations"][s]["utilization"] for s in lay.stations}
    lo, hi = p._twin_kpi_range
    assert (lo, hi) == pytest.approx((min(util.values()), max(util.values())))
    checked = 0
    for s, (x, y, _) in lay.stations.items():
        dx, dy = _project(p, (x, y - 0.9, 0.4))  # front face of the machine base
        r, g, b = img[h - 1 - dy, dx, :3].astype(int)
        frac = (util[s] - lo) / (hi - lo)
        if frac > 0.8:
            assert g > r + 20, (s, util[s], (r, g, b))  # green end of RdYlGn
            checked += 1
        elif frac < 0.2:
            assert r > g + 20, (s, util[s], (r, g, b))  # red end
            checked += 1
    p.close()
    assert checked >= 3


def test_demo_command_writes_picture_and_results(tmp_path):
    out = tmp_path / "demo"
    r = subprocess.run([sys.executable, "-m", "twin.cli", "demo", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "OEE" in r.stdout and "bottleneck" in r.stdout
    png = out / "plant.png"
    assert png.exists() and png.stat().st_size > 20000
    import imageio.v3 as iio

    img = iio.imread(png)
    assert img.shape[:2] == (900, 1600) and img.std() > 10
    assert (out / "kpis.json").exists() and (out / "events.parquet").exists()


def test_html_export_opens_in_chromium(result, tmp_path):
    import shutil

    pytest.importorskip("trame_vtk")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    from twin.viewer import export_html

    path = export_html(result, tmp_path / "plant.html", window_size=(640, 360))
    assert path.stat().st_size > 100_000
    out = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'chr'}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                          "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120)
    assert "<canvas" in out.stdout  # vtk.js built the scene
    errors = [l for l in out.stderr.splitlines() if "CONSOLE" in l and ("Uncaught" in l or ":ERROR:" in l)]
    assert not errors, errors
