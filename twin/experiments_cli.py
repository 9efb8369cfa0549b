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
        workers: Optional[int] = typer.Option(None, min=1, help="local worker processes (default: all cores)"),
        dask: Optional[str] = typer.Option(None, help="Dask scheduler address, or 'local' for a LocalCluster"),
        format: str = typer.Option("table", "--format", help="table | json"),
        db: Optional[str] = typer.Option(None, help="record runs in this store (SQLite path or postgresql:// URL)"),
        quiet: bool = typer.Option(False, help="no progress bar"),
        out: Optional[Path] = typer.Option(None, help="save the comparison here (compare.json) for `twin report DIR`"),
        engine: str = typer.Option("simpy", "--engine", help=ENGINE_HELP),
    ):
        """Paired comparison of two scenarios: line and station deltas with intervals, a
        'significant' column, each side's bottleneck, cost delta and payback (with a cost model);
        a verdict only when --gate is given (exit 0 pass or no gate, 1 fail, 2 bad input)."""
        from .experiments import compare as run_compare, parse_gate

        if replications < 2:
            _bad("--replications must be at least 2 for a confidence interval")
        check_out(out, "compare")
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
        if out is not None:
            save_experiment(out, "compare", rep, {"baseline": b.dump(), "candidate": c.dump()})
        if format == "json":
            sys.stdout.write(json.dumps(rep, indent=2, sort_keys=True) + "\n")
        else:
            _print_compare(rep, console)
            if out is not None:
                console.print(f"comparison saved: [bold]{out}[/] (twin report {out})")
        raise typer.Exit(0 if rep["pass"] else 1)

    @app.command()
    def check(
        scenario: Path = typer.Argument(..., help="scenario file"),
        expect: List[str] = typer.Option(..., help="e.g. 'line.oee >= 0.65' (repeatable)"),
        replications: int = typer.Option(5, help="replications"),
        confidence: float = typer.Option(0.95, help="the whole interval must satisfy each expectation"),
        workers: Optional[int] = typer.Option(None, min=1, help="local worker processes"),
        format: str = typer.Option("table", "--format", help="table | json"),
        engine: str = typer.Option("simpy", "--engine", help=ENGINE_HELP),
    ):
        """Assert KPIs of a scenario for CI (exit 0 pass, 1 fail, 2 bad input)."""
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
            from .tables import check_table

            console.print(check_table(rep, sc.name))
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
        out: Optional[Path] = typer.Option(None, help="a directory (sweep.parquet, sweep.json: what `twin report DIR` needs) "
                                                       "or a .parquet file for the table alone (default: sweep.parquet)"),
        confidence: float = typer.Option(0.95, help="confidence level of the intervals per point"),
        workers: Optional[int] = typer.Option(None, min=1, help="local worker processes"),
        dask: Optional[str] = typer.Option(None, help="Dask scheduler address, or 'local'"),
        db: Optional[str] = typer.Option(None, help="record runs in this store"),
        quiet: bool = typer.Option(False, help="no progress bar"),
        engine: str = typer.Option("simpy", "--engine", help=ENGINE_HELP + "; auto decides per point"),
    ):
        """Run a full-factorial or Latin-hypercube sweep: mean and interval of the objective and key
        KPIs per point, the bottleneck per point, and a Parquet table of every run (column
        `status`: ok or failed)."""
        import pyarrow.parquet as pq

        from .experiments import apply_overrides, parse_vary, sweep as run_sweep, sweep_points, sweep_table
        from .scenario import ScenarioError, parse_scenario

        try:
            varies = [parse_vary(v, levels) for v in vary]
        except (ValueError, KeyError) as e:
            _bad(str(e))
        check_out(out, "sweep")
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
        from .experiments import sweep_summary
        from .tables import sweep_table as sweep_rich

        rows = sweep_summary(outs, objective, confidence, maximize=not minimize)
        if out is not None and out.suffix.lower() != ".parquet":
            meta = {"objective": objective, "minimize": minimize, "confidence": confidence, "replications": replications,
                    "varied": [v[0] for v in varies], "levels": {v[0]: v[1] for v in varies}, "lhs": lhs,
                    "currency": sc.costs.currency if sc.costs is not None else None, "points": rows, "name": sc.name}
            save_experiment(out, "sweep", meta, {"scenario": sc.dump()}, table=table)
            path = out / "sweep.parquet"
        else:
            path = out or Path("sweep.parquet")
            pq.write_table(table, path)
        ok = [o for o in outs if o.ok]
        console.print(sweep_rich(rows, [v[0] for v in varies], objective, top, confidence,
                                 sc.costs.currency if sc.costs is not None else None))
        for o in outs:
            if not o.ok:
                console.print(f"[red]point {o.point} replication {o.replication} failed[/]: {o.error}")
        console.print(f"table: [bold]{path}[/] ({table.num_rows} rows, one per run)"
                      + (f"; report: twin report {out}" if path.parent == out else ""))
        raise typer.Exit(0 if len(ok) == len(outs) else 1)


def _get(kpis: dict, dotted: str) -> float:
    from .experiments import flatten

    return flatten(kpis).get(dotted, float("nan"))


def _print_compare(rep: dict, console) -> None:
    from .tables import compare_tables

    for item in compare_tables(rep):
        console.print(item)


def check_out(out: Optional[Path], kind: str) -> None:
    """Refuse (exit 2) an ``--out`` directory that exists and holds something other than a saved
    experiment of this kind: it would be replaced."""
    if out is None or not out.exists() or (kind == "sweep" and out.suffix.lower() == ".parquet"):
        return
    if not out.is_dir() or (any(out.iterdir()) and not (out / f"{kind}.json").exists()):
        _bad(f"--out {out}: exists and is not a saved {kind} (it would be replaced); choose a new directory")


def save_experiment(out: Path, kind: str, rep: dict, scenarios: dict, table=None) -> Path:
    """Write an experiment's outcome to ``out`` atomically: ``<kind>.json`` (the report), the
    scenarios as YAML, and the run table as Parquet (sweeps). ``twin report DIR`` reads it."""
    import os
    import shutil
    import tempfile

    import yaml

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / f"{kind}.json").write_text(json.dumps({"kind": kind, **rep}, indent=1, sort_keys=True, allow_nan=True, default=str))
        for name, body in scenarios.items():
            (tmp / f"{name}.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
        if table is not None:
            import pyarrow.parquet as pq

            pq.write_table(table, tmp / f"{kind}.parquet")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
