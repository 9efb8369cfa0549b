"""``twin view``: pictures of a saved result."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def quiet_bar(console) -> bool:
    """Keep the finished bar on a terminal (it says how long the replay took); elsewhere it goes."""
    return bool(console.is_terminal)


def register(app: typer.Typer) -> None:
    @app.command()
    def view(
        result_dir: Path = typer.Argument(..., help="a result directory (twin run --out DIR, twin demo)"),
        png: Optional[Path] = typer.Option(None, help="write an off-screen picture of the plant"),
        kpi: str = typer.Option("utilization", help="colour stations by a station ratio of the KPI registry: utilization, oee, availability, effectiveness, quality_ratio, blocked_share, starved_share, down_share, setup_share, ..."),
        width: int = typer.Option(1600, help="image width [px]"),
        height: int = typer.Option(900, help="image height [px]"),
        video: Optional[Path] = typer.Option(None, help="write a replay: .mp4 or .gif (a progress bar with ETA on stderr)"),
        html: Optional[Path] = typer.Option(None, help="write a self-contained HTML scene (needs twin[html])"),
        speed: str = typer.Option("600x", help="replay speed, simulated seconds per second (e.g. 600x)"),
        fps: float = typer.Option(10.0, help="replay frames per second"),
        t_from: Optional[str] = typer.Option(None, "--from", help="replay start (sim time, e.g. '6 h'); default: end of warm-up"),
        t_to: Optional[str] = typer.Option(None, "--to", help="replay end (sim time); default: horizon"),
    ):
        """Show a result: a PNG of the plant coloured by a KPI, a replay video, or an interactive window."""
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
        if html is not None:
            from .scene import export_html

            try:
                export_html(res, html, kpi=kpi, window_size=(width, height))
            except ImportError as e:
                err.print(f"[bold red]--html[/]: {e}")
                raise typer.Exit(2)
            console.print(f"HTML scene: [bold]{html}[/]")
            if png is None and video is None:
                return
        if video is not None:
            from twin.cli import parse_time

            from .animate import animate

            if video.suffix.lower() not in (".mp4", ".gif"):
                err.print(f"[bold red]--video[/]: use a .mp4 or .gif file name, got {video.name!r}")
                raise typer.Exit(2)
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            from .animate import parse_speed

            try:
                sp = parse_speed(speed)
                a, b = parse_time(t_from, "--from"), parse_time(t_to, "--to")
            except ValueError as e:
                err.print(f"[bold red]--speed[/]: {e}")
                raise typer.Exit(2)
            bar = Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"), TimeElapsedColumn(),
                           TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=not quiet_bar(err))
            task = bar.add_task("replay", total=None)
            try:
                with bar:
                    out = animate(res, video, speed=sp, fps=fps, t0=a, t1=b, window_size=(width, height),
                                  progress=lambda done, n: bar.update(task, completed=done, total=n))
            except ValueError as e:
                err.print(f"[bold red]replay[/]: {e}")
                raise typer.Exit(2)
            console.print(f"replay: [bold]{video}[/] ({out['frames']} frames, {out['duration_s']:.1f} s)")
            if png is None:
                return
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
