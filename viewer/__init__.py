"""Plant views: ``plot_plant`` (a PyVista plotter), ``render_png`` (off-screen picture),
``animate`` (replay video), ``export_html`` (browser scene); physics views in
:mod:`twin.viewer.physics`."""

from .animate import Replay, animate
from .scene import KPI_CHOICES, STATE_COLOURS, build_scene, export_html, plot_plant, render_png

__all__ = ["plot_plant", "render_png", "animate", "export_html", "build_scene", "Replay", "KPI_CHOICES", "STATE_COLOURS"]
