"""Command line: ``twin run``, ``twin validate``, ``twin schema``, ``twin demo`` (and the
commands other modules add: ``view``, ``serve``, ``compare``, ``sweep``, ``check``).

Errors in a scenario print every problem with its field path and exit with status 2, without
a traceback and without writing anything.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .scenario import ScenarioError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False, help="twin: digital twin and automation testbed for metalworking lines.")
console = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def fail_scenario(exc: ScenarioError) -> None:
    from rich.markup import escape

    src = " " + escape(exc.source) if exc.source else ""
    err.print(f"[bold red]invalid scenario[/]{src}: {len(exc.errors)} error(s)")
    for path, msg in exc.errors:
        err.print(f"  [yellow]{escape(path or '<root>')}[/]: {escape(msg)}")
    raise typer.Exit(2)


def parse_time(text: Optional[str], what: str) -> Optional[float]:
    if text is None:
        return None
    from .units import to_si

    try:
        v = to_si(text, "time")
    except ValueError as e:
        from rich.markup import escape

        err.print(f"[bold red]{what}[/]: {escape(str(e))}")
        raise typer.Exit(2)
    return v


def _run_with_progress(run, show: bool):
    """Run to the horizon; a progress bar appears when the run takes longer than a second."""
    if not show:
        return run.run()
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    start = time.perf_counter()
    chunks = 200
    progress = None
    task = None
    for k in range(1, chunks + 1):
        run.run_until(run.horizon * k / chunks)
        if progress is None and time.perf_counter() - start > 1.0 and k < chunks:
            progress = Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                                TimeRemainingColumn(), console=err, transient=True)
            progress.start()
            task = progress.add_task("run", total=chunks)
        if progress is not None:
            progress.update(task, completed=k)
    if progress is not None:
        progress.stop()
    return run.result()


def kpi_table(kpis: dict, title: str = "KPIs"):
    from rich.table import Table

    line = kpis["line"]

    def f(v, fmt="{:.3f}"):
        return "-" if v is None else (fmt.format(v) if isinstance(v, float) else str(v))

    from rich.markup import escape

    t = Table(title=f"{escape(title)}: line", show_header=False)
    rows = [
        ("parts completed", f(line["parts_completed"])),
        ("throughput [parts/h]", f(line["throughput_per_hour"], "{:.2f}")),
        ("OEE", f(line["oee"])),
        ("quality ratio", f(line["quality_ratio"])),
        ("WIP mean", f(line["wip_mean"], "{:.2f}")),
        ("lead time mean / p95 [min]", f"{f(_min(line['lead_time_mean_s']), '{:.1f}')} / {f(_min(line['lead_time_p95_s']), '{:.1f}')}"),
        ("scrapped", f(line["parts_scrapped"])),
        ("energy per good part [kWh]", f(None if line["energy_per_good_part_J"] is None else line["energy_per_good_part_J"] / 3.6e6, "{:.3f}")),
        ("bottleneck", f(line["bottleneck"])),
    ]
    from rich.markup import escape

    for a, b in rows:
        t.add_row(escape(a), escape(b))
    st = Table(title=f"{escape(title)}: stations (* bottleneck)")
    cols = ["station", "A", "E", "QR", "OEE", "util", "blocked", "starved", "down", "MTBF h", "MTTR min", "kWh"]
    for c in cols:
        st.add_column(c, justify="right" if c != "station" else "left")
    for name, k in kpis["stations"].items():
        mark = " *" if name == line["bottleneck"] else ""
        st.add_row(
            escape(name) + mark, f(k["availability"]), f(k["effectiveness"]), f(k["quality_ratio"]), f(k["oee"]),
            f(k["utilization"]), f(k["blocked_share"]), f(k["starved_share"]), f(k["down_share"]),
            f(None if k["mtbf_s"] is None else k["mtbf_s"] / 3600, "{:.1f}"), f(None if k["mttr_s"] is None else k["mttr_s"] / 60, "{:.1f}"),
            f(k["energy_kWh"], "{:.1f}"),
        )
    return t, st


def _min(v):
    return None if v is None else v / 60.0


def _load(path: Path, seed, horizon, warmup=None):
    import twin

    try:
        return twin.load(path, seed=seed, horizon=horizon, warmup=warmup)
    except ScenarioError as exc:
        fail_scenario(exc)


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="scenario file (.yaml, .toml, .json)"),
    seed: Optional[int] = typer.Option(None, help="random seed (default: the scenario's)"),
    horizon: Optional[str] = typer.Option(None, help="override the horizon, e.g. '8 h'"),
    warmup: Optional[str] = typer.Option(None, help="override the warm-up, e.g. '1 h'"),
    format: str = typer.Option("table", "--format", help="table | json"),
    out: Optional[Path] = typer.Option(None, help="write kpis.json, Parquet event logs and the resolved scenario here"),
    replications: int = typer.Option(1, help="independent replications (KPIs with confidence intervals)"),
    precision: Optional[str] = typer.Option(None, help="add replications until every key KPI's CI half-width is below this (e.g. '2%')"),
    quiet: bool = typer.Option(False, help="no progress bar"),
):
    """Simulate a scenario and print its KPIs."""
    import twin

    if format not in ("table", "json"):
        err.print(f"[bold red]--format[/]: expected 'table' or 'json', got {format!r}")
        raise typer.Exit(2)
    sc = _load(scenario, seed, parse_time(horizon, "--horizon"), parse_time(warmup, "--warmup"))
    if replications > 1 or precision is not None:
        try:
            from . import experiments
        except ImportError:
            err.print("replications need the experiments module (twin.experiments), which is not installed")
            raise typer.Exit(2)
        experiments.cli_replications(sc, replications, precision, format, out, quiet)
        return
    r = _run_with_progress(twin.Run(sc), show=not quiet and format == "table")
    if out is not None:
        r.save(out)
    if format == "json":
        sys.stdout.write(r.to_json() + "\n")
    else:
        line, stations = kpi_table(r.kpis, sc.name)
        console.print(line)
        console.print(stations)
        if out is not None:
            console.print(f"results written to [bold]{out}[/]")


@app.command()
def validate(scenario: Path = typer.Argument(..., help="scenario file")):
    """Check a scenario file; print every error with its field path (exit 2 when invalid)."""
    sc = _load(scenario, None, None)
    console.print(f"[green]ok[/]: {scenario} ({len(sc.stations)} stations, {len(sc.buffers)} buffers, {len(sc.products)} products)")


@app.command()
def schema():
    """Print the scenario JSON Schema (for editor autocompletion)."""
    from .scenario import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def demo(
    out: Path = typer.Option(Path("twin-demo"), help="output directory"),
    scenario: Path = typer.Option(EXAMPLES / "shaft_line.yaml", help="scenario to demonstrate"),
):
    """Simulate the example shaft line, print its KPIs and write a picture of the plant."""
    import twin

    sc = _load(scenario, None, None)
    r = _run_with_progress(twin.Run(sc), show=True)
    r.save(out)
    line, stations = kpi_table(r.kpis, sc.name)
    console.print(line)
    console.print(stations)
    png = out / "plant.png"
    try:
        from .viewer import render_png
    except ImportError:
        render_png = None
    if render_png is not None:
        render_png(r, png)
        console.print(f"plant picture: [bold]{png}[/]")
    console.print(f"results: [bold]{out}[/]")


def _register_extensions() -> None:
    """Commands that live with their features (viewer, API, experiments)."""
    import importlib

    for mod in ("twin.viewer.cli", "twin.api.cli", "twin.experiments_cli"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and (e.name == mod or mod.startswith(e.name + ".")):
                continue
            raise
        m.register(app)


def main() -> None:
    _register_extensions()
    try:
        app()
    except ScenarioError as exc:  # raised outside a command's own handling
        fail_scenario(exc)


if __name__ == "__main__":
    main()
