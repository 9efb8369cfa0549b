"""Plant views: ``plot_plant`` (a PyVista plotter), ``render_png`` (off-screen picture)."""

from .animate import animate
from .scene import KPI_CHOICES, export_html, plot_plant, render_png

__all__ = ["plot_plant", "render_png", "animate", "export_html", "KPI_CHOICES"]
