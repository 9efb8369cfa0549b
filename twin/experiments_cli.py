"""``twin compare``, ``twin sweep``, ``twin check``: experiments from the command line.

Exit status: 0 pass, 1 fail (a gate or expectation not met, or a run failed), 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer


def _executor(workers, dask):
    from .experiments import Executor

    return Executor(workers=workers, dask=dask)


def _progress(label: str, quiet: bool):
    if quiet:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .cli import err

    prog = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=err, transient=True)
    task = prog.add_task(label, total=None)
    return prog, (lambda done, n: prog.update(task, completed=done, total=n))


def _bad(msg: str):
    from rich.markup import escape

    from .cli import err

    err.print(f"[bold red]error[/]: {escape(msg)}")
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    from .cli import ENGINE_HELP, _load, console, resolve_engine

    @app.command()
    def compare(
        baseline: Path = typer.Argument(..., help="baseline scenario"),
        candidate: Path = typer.Argument(..., help="candidate scenario"),
        replications: int = typer.Option(10, help="paired replications (common random numbers)"),
        gate: List[str] = typer.Option([], help="e.g. 'oee >= -0.5pt', 'throughput_per_hour >= -2%', 'lead_time_mean_s <= 5 min'"),
        confidence: float = typer.Option(0.95, help="confidence level of the intervals"),
        seed: Optional[int] = typer.Option(None, help="seed for both (default: the baseline's)"),
        workers: Optional[int] = typer.Option(None, help="local worker processes (default: all cores)"),
        dask: Optional[str] = typer.Option(None, help="Dask scheduler address, or 'local' for a LocalCluster"),
        format: str = typer.Option("table", "--format", help="table | json"),
        db: Optional[str] = typer.Option(None, help="record runs in this store (SQLite path or postgresql:// URL)"),
        quiet: bool = typer.Option(False, help="no progress bar"),
        engine: str = typer.Option("simpy", "--engine", help=ENGINE_HELP),
    ):
        """Paired comparison of two scenarios with a verdict (exit 0 pass, 1 fail, 2 bad input)."""
        from .experiments import compare as run_compare, parse_gate

        if replications < 2:
            _bad("--replications must be at least 2 for a confidence interval")
        b = _load(baseline, seed, None)
        c = _load(candidate, b.seed, None)
        eb, ec = resolve_engine(b, engine), resolve_engine(c, engine)
        engine = eb if eb == ec else "simpy"  # a paired comparison runs both on one engine
        try:  # KPI names checked against both scenarios before anything runs
            gates = [parse_gate(g, b, c) for g in gate]
        except ValueError as e:
            _bad(f"--gate: {e}")
        prog, cb = _progress("comparing", quiet or format == "json")
        if prog:
            prog.start()
        try:
            with _executor(workers, dask) as ex:
                rep = run_compare(b, c, replications, confidence, gates, executor=ex, db=db, progress=cb,
                                  engine=engine)
        finally:
            if prog:
                prog.stop()
        if format == "json":
            sys.stdout.write(json.dumps(rep, indent=2, sort_keys=True) + "\n")
        else:
            _print_compare(rep, console)
        raise typer.Exit(0 if rep["pass"] else 1)

    @app.command()
    def check(
        scenario: Path = typer.Argument(..., help="scenario file"),
        expect: List[str] = typer.Option(..., help="e.g. 'line.oee >= 0.65' (repeatable)"),
        replications: int = typer.Option(5, help="replications"),
        confidence: float = typer.Option(0.95, help="the whole interval must satisfy each expectation"),
        workers: Optional[int] = typer.Option(None, help="local worker processes"),
        format: str = typer.Option("table", "--format", help="table | json"),
        engine: str = typer.Option("simpy", "--engine", help=ENGINE_HELP),
    ):
        """Assert KPIs of a scenario for CI (exit 0 pass, 1 fail, 2 bad input)."""
        from rich.table import Table

        from .experiments import check as run_check, parse_expectation

        sc = _load(scenario, None, None)
        engine = resolve_engine(sc, engine)
        try:  # KPI names checked before any replication runs
            exps = [parse_expectation(e, sc) for e in expect]
        except ValueError as e:
            _bad(f"--expect: {e}")
        with _executor(workers, None) as ex:
            rep = run_check(sc, exps, replications, confidence, executor=ex, engine=engine)
        if format == "json":
            sys.stdout.write(json.dumps(rep, indent=2, sort_keys=True) + "\n")
        else:
            t = Table(title=f"{sc.name}: {replications} replications, {confidence:.0%} intervals")
            for col in ("expectation", "mean", "interval", "result"):
                t.add_column(col)
            for r in rep["results"]:
                iv = r.get("interval")
                t.add_row(r["expect"], f"{r['mean']:.4g}" if "mean" in r else "-",
                          f"[{iv[0]:.4g}, {iv[1]:.4g}]" if iv else r.get("reason", "-"),
                          "[green]pass[/]" if r["pass"] else "[red]FAIL[/]")
            console.print(t)
            for e in rep["failed"]:
                console.print(f"[red]run failed[/]: {e}")
        raise typer.Exit(0 if rep["pass"] else 1)

    @app.command()
    def sweep(
        scenario: Path = typer.Argument(..., help="scenario file"),
        vary: List[str] = typer.Option(..., help="PATH=LOW..HIGH[unit] or PATH=a,b,c, e.g. buffers.B3.capacity=2..10"),
        levels: int = typer.Option(5, help="levels per continuous range (full factorial)"),
        lhs: Optional[int] = typer.Option(None, help="Latin hypercube with this many points instead of the full factorial"),
        replications: int = typer.Option(1, help="replications per point"),
        objective: str = typer.Option("line.throughput_per_hour", help="KPI to rank the points by"),
        minimize: bool = typer.Option(False, help="rank ascending"),
        top: int = typer.Option(10, help="best rows to print"),
        out: Optional[Path] = typer.Option(None, help="write the table as Parquet here (default sweep.parquet)"),
        workers: Optional[int] = typer.Option(None, help="local worker processes"),
        dask: Optional[str] = typer.Option(None, help="Dask scheduler address, or 'local'"),
        db: Optional[str] = typer.Option(None, help="record runs in this store"),
        quiet: bool = typer.Option(False, help="no progress bar"),
        engine: str = typer.Option("simpy", "--engine", help=ENGINE_HELP + "; auto decides per point"),
    ):
        """Run a full-factorial or Latin-hypercube sweep; one table of every point's KPIs."""
        import pyarrow.parquet as pq
        from rich.table import Table

        from .experiments import apply_overrides, parse_vary, sweep as run_sweep, sweep_points, sweep_table
        from .scenario import ScenarioError, parse_scenario

        try:
            varies = [parse_vary(v, levels) for v in vary]
        except (ValueError, KeyError) as e:
            _bad(str(e))
        sc = _load(scenario, None, None)
        from .experiments import _key
        from .kpidefs import KPIKeyError

        try:
            objective = _key(objective, (sc,))
        except KPIKeyError as e:
            _bad(f"--objective: {e}")
        points = sweep_points(varies, lhs, seed=sc.seed)
        try:  # every path must exist and the first point must validate before anything runs
            first = parse_scenario(apply_overrides(sc.dump(), points[0]))
        except KeyError as e:
            _bad(str(e.args[0]))
        except ScenarioError as e:
            _bad(f"the sweep's first point is invalid: {e}")
        resolve_engine(first, engine)
        prog, cb = _progress(f"sweeping {len(points)} points", quiet)
        if prog:
            prog.start()
        try:
            with _executor(workers, dask) as ex:
                outs = run_sweep(sc, points, replications, executor=ex, db=db, progress=cb, engine=engine)
        finally:
            if prog:
                prog.stop()
        table = sweep_table(outs)
        path = out or Path("sweep.parquet")
        pq.write_table(table, path)
        ok = [o for o in outs if o.ok]
        ranked = sorted(ok, key=lambda o: _get(o.kpis, objective), reverse=not minimize)
        t = Table(title=f"best {min(top, len(ranked))} of {len(outs)} runs by {objective}")
        for k in varies:
            t.add_column(k[0])
        t.add_column(objective)
        for o in ranked[:top]:
            t.add_row(*[f"{o.point[k[0]]:.4g}" if isinstance(o.point[k[0]], float) else str(o.point[k[0]]) for k in varies],
                      f"{_get(o.kpis, objective):.4g}")
        console.print(t)
        for o in outs:
            if not o.ok:
                console.print(f"[red]point {o.point} failed[/]: {o.error}")
        console.print(f"table: [bold]{path}[/] ({table.num_rows} rows)")
        raise typer.Exit(0 if len(ok) == len(outs) else 1)


def _get(kpis: dict, dotted: str) -> float:
    from .experiments import flatten

    return flatten(kpis).get(dotted, float("nan"))


def _print_compare(rep: dict, console) -> None:
    from rich.table import Table

    t = Table(title=f"paired comparison, {rep['replications']} replications on common random numbers, {rep['confidence']:.0%} CI")
    for col in ("KPI", "baseline", "candidate", "delta ± CI", "independent ±", "variance reduction"):
        t.add_column(col, justify="left" if col == "KPI" else "right")
    for k, r in rep["kpis"].items():
        if k.startswith("line.") and k.split(".")[1] in ("throughput_per_hour", "oee", "wip_mean", "lead_time_mean_s", "quality_ratio",
                                                          "scrap_ratio", "energy_per_good_part_J", "availability"):
            vr = r["variance_reduction"]
            t.add_row(k, f"{r['baseline']:.4g}", f"{r['candidate']:.4g}", f"{r['delta']:+.4g} ± {r['half_width']:.3g}",
                      f"± {r['half_width_independent']:.3g}", "-" if vr is None else f"{vr:.0%}")
    console.print(t)
    for g in rep["gates"]:
        iv = g.get("interval")
        ivs = f" interval [{iv[0]:+.4g}, {iv[1]:+.4g}]" if iv else f" ({g.get('reason')})"
        console.print(f"gate {g['gate']}:{ivs} -> {'[green]pass[/]' if g['pass'] else '[red]FAIL[/]'}")
    for f in rep["failed"]:
        console.print(f"[red]run {f['index']} failed[/]: {f['error']}")
    console.print("[bold green]PASS[/]" if rep["pass"] else "[bold red]FAIL[/]")
