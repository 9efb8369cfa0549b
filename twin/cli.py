"""Command line: ``twin run``, ``twin validate``, ``twin schema``, ``twin demo``, ``twin report``,
``twin export`` (and the commands other modules add: ``view``, ``serve``, ``compare``, ``sweep``,
``check``, and the live twin's ``fit``, ``forecast``, ``snapshot``).

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
    """The line and station tables, in the units people read (%, min, h, kWh, parts/h), from
    the KPI registry (:mod:`twin.kpidefs`)."""
    from rich.markup import escape
    from rich.table import Table

    from .kpidefs import fmt, kpi

    line = kpis["line"]
    L = lambda name: fmt("line", name, line.get(name), unit=True)
    t = Table(title=f"{escape(title)}: line", show_header=False,
              caption="OEE = A x E x QR of the pacing step (largest planned load; ISO 22400-2), "
                      "QR at the line's exit. See docs/kpis.md.", caption_justify="left")
    rows = [
        ("parts completed (good)", L("parts_completed")),
        ("throughput", L("throughput_per_hour")),
        ("OEE", L("oee")),
        ("  availability A = APT/PBT", f"{L('availability')}  (of {line.get('pacing_station') or '-'})"),
        ("  effectiveness E", L("effectiveness")),
        ("  quality ratio QR", L("quality_ratio")),
        ("WIP mean [parts]", fmt("line", "wip_mean", line.get("wip_mean"))),
        ("lead time mean / p95", f"{L('lead_time_mean_s')} / {L('lead_time_p95_s')}"),
        ("scrapped", L("parts_scrapped")),
        ("energy per good part", L("energy_per_good_part_J")),
        ("bottleneck (active periods)", str(line.get("bottleneck") or "-")),
    ]
    from .tables import cost_rows

    rows += cost_rows(line)
    for a, b in rows:
        t.add_row(escape(a), escape(b))
    for f in line.get("flags") or []:
        t.add_row("note", escape(f))
    st = Table(title=f"{escape(title)}: stations (* bottleneck)")
    cols = [("station", None), ("availability", "A"), ("effectiveness", "E"), ("quality_ratio", "QR"), ("oee", "OEE"),
            ("utilization", "util"), ("setup_share", "setup"), ("blocked_share", "blocked"), ("starved_share", "starved"),
            ("down_share", "down"), ("mtbf_s", "MTBF"), ("mttr_s", "MTTR"), ("energy_J", "energy")]
    for key, label in cols:
        if key == "station":
            st.add_column("station", justify="left")
        else:
            d = kpi("stations", key).display
            st.add_column(escape(f"{label} [{d}]") if d else label, justify="right")
    for name, k in kpis["stations"].items():
        mark = " *" if name == line["bottleneck"] else ""
        st.add_row(escape(name) + mark, *[fmt("stations", key, k.get(key)) for key, _ in cols[1:]])
    return t, st


def _load(path: Path, seed, horizon, warmup=None):
    import twin

    try:
        return twin.load(path, seed=seed, horizon=horizon, warmup=warmup)
    except ScenarioError as exc:
        fail_scenario(exc)


ENGINE_HELP = ("simpy (every feature) | compiled (numba event loop for the flow-line subset: same logs, much faster) | "
               "auto (compiled where the scenario fits, else simpy, saying why)")


def resolve_engine(sc, engine: str, show: bool = True) -> str:
    """The engine that plays ``sc``: exit 2 naming the reasons when ``compiled`` does not fit or
    the name is unknown; with ``auto``, say on stderr why the compiled engine was not used."""
    from rich.markup import escape

    from .compiled import ENGINES, EngineError, choose

    if engine not in ENGINES:
        err.print(f"[bold red]--engine[/]: expected one of {', '.join(ENGINES)}, got {escape(repr(engine))}")
        raise typer.Exit(2)
    try:
        which, why = choose(sc, engine)
    except EngineError as exc:
        err.print("[bold red]--engine compiled[/]: this scenario is outside the compiled engine's subset:")
        for r in exc.reasons:
            err.print(f"  - {escape(r)}")
        err.print("use --engine simpy (or auto)")
        raise typer.Exit(2)
    if why and show:
        err.print("engine: simpy (the compiled engine does not fit: " + escape("; ".join(why)) + ")")
    return which


@app.command()
def run(
    scenario: Optional[Path] = typer.Argument(None, help="scenario file (.yaml, .toml, .json); not with --resume"),
    seed: Optional[int] = typer.Option(None, help="random seed (default: the scenario's)"),
    horizon: Optional[str] = typer.Option(None, help="override the horizon, e.g. '8 h'"),
    warmup: Optional[str] = typer.Option(None, help="override the warm-up, e.g. '1 h'"),
    format: str = typer.Option("table", "--format", help="table | json"),
    out: Optional[Path] = typer.Option(None, help="write kpis.json, Parquet event logs and the resolved scenario here"),
    replications: int = typer.Option(1, help="independent replications (KPIs with confidence intervals)"),
    precision: Optional[str] = typer.Option(None, help="add replications until every key KPI's CI half-width is below this (e.g. '2%')"),
    quiet: bool = typer.Option(False, help="no progress bar"),
    engine: str = typer.Option("simpy", "--engine", help=ENGINE_HELP),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="write the run's state at the horizon to this file (twin.live)"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="continue a checkpointed run to --horizon (no SCENARIO)"),
    from_: Optional[Path] = typer.Option(None, "--from", help="start from this plant snapshot (YAML/JSON, docs/live.md)"),
):
    """Simulate a scenario and print its KPIs (or continue a checkpoint, or start from a plant snapshot)."""
    import twin

    if format not in ("table", "json"):
        err.print(f"[bold red]--format[/]: expected 'table' or 'json', got {format!r}")
        raise typer.Exit(2)
    if checkpoint is not None or resume is not None or from_ is not None:
        if engine != "simpy":
            err.print("[bold red]--engine[/]: --checkpoint, --resume and --from play on the SimPy engine only (leave --engine out)")
            raise typer.Exit(2)
        from .live.cli import run_live

        run_live(scenario=scenario, seed=seed, horizon=horizon, warmup=warmup, format=format, out=out,
                 replications=replications, precision=precision, quiet=quiet, checkpoint=checkpoint, resume=resume,
                 snapshot=from_)
        return
    if scenario is None:
        err.print("[bold red]SCENARIO[/]: give a scenario file (or --resume CHECKPOINT)")
        raise typer.Exit(2)
    sc = _load(scenario, seed, parse_time(horizon, "--horizon"), parse_time(warmup, "--warmup"))
    engine = resolve_engine(sc, engine)
    if replications > 1 or precision is not None:
        try:
            from . import experiments
        except ImportError:
            err.print("replications need the experiments module (twin.experiments), which is not installed")
            raise typer.Exit(2)
        experiments.cli_replications(sc, replications, precision, format, out, quiet, engine=engine)
        return
    if engine == "compiled":
        from .compiled import SimulationStalled

        try:
            r = twin.simulate(sc, engine="compiled")
        except SimulationStalled as e:
            err.print(f"error: {e}", markup=False, highlight=False)
            raise typer.Exit(1)
    else:
        r = _run_with_progress(twin.Run(sc), show=not quiet and format == "table")
    print_result(r, sc.name, format, out)


def print_result(r, name: str, format: str, out: Optional[Path]) -> None:
    """Save (``out``) and print a result as the KPI tables or JSON."""
    if out is not None:
        r.save(out)
    if format == "json":
        sys.stdout.write(r.to_json() + "\n")
    else:
        line, stations = kpi_table(r.kpis, name)
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


@app.command()
def report(
    result_dir: Path = typer.Argument(..., help="a result (twin run --out DIR), comparison (twin compare --out DIR) or "
                                                "sweep (twin sweep --out DIR) directory"),
    out: Optional[Path] = typer.Option(None, help="the HTML file (default: RESULT_DIR/report.html)"),
    png_dir: Optional[Path] = typer.Option(None, "--png-dir", help="also write every chart as a PNG file here (for slides)"),
    t_from: Optional[str] = typer.Option(None, "--from", help="start of the state Gantt window (sim time, e.g. '30 h'); "
                                                              "default: end of the warm-up"),
    t_to: Optional[str] = typer.Option(None, "--to", help="end of the Gantt window; default: 8 h after its start"),
    picture: bool = typer.Option(True, help="embed the plant picture (rendered off-screen by the viewer)"),
):
    """Write one self-contained HTML report (charts with plotly.js inline: opens offline) of a
    run, a comparison or a sweep; --png-dir writes the charts as PNG too."""
    from .report import write_report

    if not result_dir.is_dir():
        err.print(f"[bold red]{result_dir}[/]: not a directory")
        raise typer.Exit(2)
    a, b = parse_time(t_from, "--from"), parse_time(t_to, "--to")
    if a is not None and b is not None and b <= a:
        err.print("[bold red]--to[/]: must be after --from")
        raise typer.Exit(2)
    if b is not None and a is None:
        a = max(0.0, b - 8 * 3600.0)
    try:
        info = write_report(result_dir, out, png_dir, (a, b), picture=picture)
    except FileNotFoundError as e:
        err.print(f"[bold red]{result_dir}[/]: {e}; expected a directory written by twin run --out, twin compare --out "
                  "or twin sweep --out")
        raise typer.Exit(2)
    console.print(f"{info['kind']} report: [bold]{info['html']}[/] ({len(info['charts'])} charts)")
    for pth in info["pngs"]:
        console.print(f"  {pth}")


@app.command()
def export(
    result_dir: Path = typer.Argument(..., help="a result directory (twin run --out DIR)"),
    xlsx: Path = typer.Option(..., help="the Excel workbook to write, e.g. results.xlsx"),
    max_events: int = typer.Option(1_000_000, help="at most this many state-log rows on the events sheet (Excel holds 1,048,576)"),
):
    """Write a result to an Excel workbook: KPIs, stations, buffers, parts and events on sheets
    with units in the headers."""
    from .export import write_xlsx
    from .result import Result

    if xlsx.suffix.lower() != ".xlsx":
        err.print(f"[bold red]--xlsx[/]: use a .xlsx file name, got {xlsx.name!r}")
        raise typer.Exit(2)
    try:
        res = Result.load(result_dir)
    except FileNotFoundError as e:
        err.print(f"[bold red]{result_dir}[/]: {e}")
        raise typer.Exit(2)
    info = write_xlsx(res, xlsx, max_events=max_events)
    console.print(f"workbook: [bold]{xlsx}[/] (" + ", ".join(f"{k}: {v} rows" for k, v in info.items()) + ")")


def _register_extensions() -> None:
    """Commands that live with their features (viewer, API, experiments)."""
    import importlib

    for mod in ("twin.viewer.cli", "twin.api.cli", "twin.experiments_cli", "twin.live.cli"):
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
