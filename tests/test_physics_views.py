"""Physics views render: lobe diagram with operating points, wear/roughness over a run, part
temperature field; colours follow the physics."""

import numpy as np
import pytest

import twin

pytest.importorskip("pyvista")


def test_physics_views(tmp_path):
    import imageio.v3 as iio

    from twin.viewer.physics import plot_part_temperature, plot_stability_lobes, plot_tool_wear

    lobes = plot_stability_lobes(tmp_path / "l.png", 2e8, 0.03, 800.0, 2.5e9, points=[(4000, 2.0, "stable"), (4000, 20.0, "chatter")],
                                 window_size=(640, 400))
    img = iio.imread(lobes)
    red = (img[..., 0] > 200) & (img[..., 1] < 60) & (img[..., 2] < 60)
    green = (img[..., 1] > 100) & (img[..., 0] < 60) & (img[..., 2] < 60)
    assert red.sum() > 20 and green.sum() > 20  # one point each side of the lobes
    res = twin.simulate(twin.load("examples/shaft_line_physics.yaml"), horizon=86400.0)
    wear = iio.imread(plot_tool_wear(res, "L1", tmp_path / "w.png", window_size=(640, 400)))
    assert wear.std() > 10
    with pytest.raises(KeyError):
        plot_tool_wear(res, "SAW", tmp_path / "x.png")
    temp = iio.imread(plot_part_temperature(tmp_path / "t.png", 0.03, 0.2, 40.0, 7850.0, 600.0, 2000.0, 1123.15, 293.15,
                                            times=(10.0, 60.0), window_size=(640, 300)))
    assert temp.std() > 10
