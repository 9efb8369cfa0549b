"""``twin view``: pictures of a saved result."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def view(
        result_dir: Path = typer.Argument(..., help="a result directory (twin run --out DIR, twin demo)"),
        png: Optional[Path] = typer.Option(None, help="write an off-screen picture of the plant"),
        kpi: str = typer.Option("utilization", help="colour stations by: utilization, oee, availability, blocked_share, starved_share, down_share"),
        width: int = typer.Option(1600, help="image width [px]"),
        height: int = typer.Option(900, help="image height [px]"),
    ):
        """Show a result: a PNG of the plant coloured by a KPI, or an interactive window."""
        import os

        from twin.cli import console, err
        from twin.result import Result

        from .scene import KPI_CHOICES

        if kpi not in KPI_CHOICES:
            err.print(f"[bold red]--kpi[/]: unknown KPI {kpi!r}; choose one of {', '.join(KPI_CHOICES)}")
            raise typer.Exit(2)
        try:
            res = Result.load(result_dir)
        except FileNotFoundError as e:
            err.print(f"[bold red]{result_dir}[/]: {e}")
            raise typer.Exit(2)
        if png is not None:
            from .scene import render_png

            render_png(res, png, kpi=kpi, window_size=(width, height))
            console.print(f"plant picture: [bold]{png}[/]")
            return
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            err.print("no display for an interactive window: use --png FILE")
            raise typer.Exit(2)
        from .scene import plot_plant

        plot_plant(res, kpi=kpi, window_size=(width, height), off_screen=False).show()
