"""``twin forecast``, ``twin fit``, ``twin snapshot``: the live twin's commands.

Exit status: 0 done, 1 a check that failed (fit validation flags), 2 bad input (naming it).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer


def _bad(what: str, msg: str):
    from .cli import _bad as bad

    bad(what, msg)


def _acquire(source: str, scenario, mapping: Optional[Path], timeout: float):
    """A snapshot from a file path or a server URL (mtconnect http(s)://..., opc.tcp://...)."""
    from .snapshot import SnapshotError, load_snapshot

    if source.startswith(("http://", "https://", "opc.tcp://")):
        from .acquire import AcquireError, acquire

        try:
            return acquire(source, scenario, mapping=mapping, timeout=timeout)
        except AcquireError as e:
            _bad("--source", str(e))
    try:
        return load_snapshot(source)
    except SnapshotError as e:
        from .cli import _snapshot_error

        _snapshot_error(e)


def _print_forecast(f, format: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from twin.cli import console

    if format == "json":
        sys.stdout.write(json.dumps(f.to_dict()) + "\n")
        sys.stdout.flush()
        return
    t = Table(title=f"forecast from {f.snapshot_time} to {f.until} ({f.replications} runs)", show_header=False)
    lo, hi = f.output_interval
    t.add_row(escape("expected output [parts]"), f"{f.output_mean:.1f}")
    t.add_row(f"prediction interval (>= {f.coverage:.0%})", f"{lo:.0f} .. {hi:.0f}")
    t.add_row("expected bottleneck", escape(f"{f.bottleneck} ({f.bottleneck_share.get(f.bottleneck, 0):.0%} of runs)"
                                            if f.bottleneck else "-"))
    console.print(t)
    if f.orders:
        o = Table(title="open orders")
        for c in ("order", "product", "qty", "due", "P(late)", "median completion"):
            o.add_column(c)
        for r in f.orders:
            risk = "-" if r.p_late is None else f"{r.p_late:.0%}"
            if not r.assessed:
                risk = "beyond 14 d"
            o.add_row(escape(r.name), escape(r.product), str(r.quantity), escape(r.due or "-"), risk, escape(r.completion_p50 or "not in most runs"))
        console.print(o)


def register(app: typer.Typer) -> None:
    from twin.cli import _load, parse_time

    register_fit(app)
    register_snapshot(app)

    @app.command()
    def forecast(
        scenario: Path = typer.Argument(..., help="scenario file"),
        from_: Optional[str] = typer.Option(None, "--from", help="plant snapshot file (YAML/JSON)"),
        source: Optional[str] = typer.Option(None, "--source", help="read the snapshot from a server: an MTConnect agent "
                                             "(http://host:port) or an OPC UA server (opc.tcp://host:port)"),
        mapping: Optional[Path] = typer.Option(None, help="with --source: YAML mapping of the plant's names to the scenario's"),
        until: str = typer.Option(..., help="'22:00' (next), '+8 h' or a date-time"),
        replications: int = typer.Option(30, help="runs from the snapshot"),
        level: float = typer.Option(0.9, help="prediction interval level"),
        seed: Optional[int] = typer.Option(None, help="random seed (default: the scenario's)"),
        every: Optional[str] = typer.Option(None, help="shadow mode: re-read the source and forecast again this often (e.g. '15 min')"),
        count: Optional[int] = typer.Option(None, help="with --every: stop after this many forecasts"),
        out: Optional[Path] = typer.Option(None, help="write the (latest) forecast as JSON here (atomically)"),
        format: str = typer.Option("table", "--format", help="table | json"),
        timeout: float = typer.Option(10.0, help="with --source: seconds to wait for the server"),
    ):
        """Forecast output by a time (with a prediction interval), due-date risk of open orders and the bottleneck."""
        from .forecast import MAX_REPLICATIONS, forecast as run_forecast

        if format not in ("table", "json"):
            _bad("--format", f"expected 'table' or 'json', got {format!r}")
        if (from_ is None) == (source is None):
            _bad("--from", "give a snapshot file (--from) or a server (--source), one of them")
        if not (1 <= replications <= MAX_REPLICATIONS):
            _bad("--replications", f"1 .. {MAX_REPLICATIONS}")
        if not (0.5 <= level < 1):
            _bad("--level", "0.5 <= level < 1")
        period = parse_time(every, "--every")
        if period is not None and period <= 0:
            _bad("--every", "must be > 0")
        if count is not None and (period is None or count < 1):
            _bad("--count", "goes with --every and must be >= 1")
        if mapping is not None and source is None:
            _bad("--mapping", "goes with --source")
        sc = _load(scenario, seed, None, 0.0)
        n = 0
        while True:
            snap = _acquire(from_ or source, sc, mapping, timeout)
            try:
                f = run_forecast(sc, snap, until, replications=replications, level=level, seed=seed)
            except ValueError as e:
                _bad("--until", str(e))
            if out is not None:
                from .checkpoint import _json_default

                tmp = out.with_name(f".{out.name}.tmp")
                tmp.write_text(json.dumps(f.to_dict(), default=_json_default))
                tmp.replace(out)
            _print_forecast(f, format)
            n += 1
            if period is None or (count is not None and n >= count):
                return
            time.sleep(period)


def register_fit(app: typer.Typer) -> None:
    @app.command()
    def fit(
        log: Path = typer.Argument(..., help="state log: a twin result directory / events.parquet, or a CSV/Parquet table "
                                   "(time, station, state[, reason, part, product, unit])"),
        scenario: Path = typer.Option(..., help="the scenario whose distributions are fitted"),
        out: Path = typer.Option(..., help="write the fitted scenario here (YAML, comments kept)"),
        criterion: str = typer.Option("aic", help="aic | bic: how the family is chosen"),
        validate_runs: int = typer.Option(5, "--validate", help="replications re-simulating the fitted model against the log (0: none)"),
        report: Optional[Path] = typer.Option(None, help="write the fit and validation report as JSON here"),
        format: str = typer.Option("table", "--format", help="table | json"),
    ):
        """Fit a scenario's process times, failures (censored MLE), setups and scrap to a plant's state log."""
        from rich.markup import escape
        from rich.table import Table

        from twin.cli import console, fail_scenario
        from twin.scenario import ScenarioError

        from .fit import LogError, fit_scenario, read_log, validate

        if criterion not in ("aic", "bic"):
            _bad("--criterion", f"expected aic or bic, got {criterion!r}")
        if format not in ("table", "json"):
            _bad("--format", f"expected 'table' or 'json', got {format!r}")
        if not (0 <= validate_runs <= 1000):
            _bad("--validate", "0 .. 1000 replications")
        if out.suffix.lower() not in (".yaml", ".yml"):
            _bad("--out", "the fitted scenario is written as YAML (.yaml or .yml)")
        if scenario.suffix.lower() not in (".yaml", ".yml"):
            _bad("--scenario", "fitting writes into a YAML scenario (.yaml or .yml)")
        try:
            lg = read_log(log)
            rep = fit_scenario(lg, scenario, out, criterion=criterion)
            val = validate(lg, out, replications=validate_runs) if validate_runs else None
        except LogError as e:
            _bad("LOG", str(e))
        except ScenarioError as e:
            fail_scenario(e)
        doc = {"fits": [{"where": f["where"], "what": f["what"], "distribution": f["fit"].dist, "family": f["fit"].family,
                         "n": f["fit"].n, "censored": f["fit"].censored, "mean": f["fit"].mean, "ks": f["fit"].ks,
                         "ks_p": f["fit"].ks_p, "aic": f["fit"].candidates, "note": f["fit"].note} for f in rep.fits],
               "notes": rep.notes, "validation": val}
        if report is not None:
            from .checkpoint import _json_default

            report.write_text(json.dumps(doc, indent=1, default=_json_default))
        if format == "json":
            from .checkpoint import _json_default

            sys.stdout.write(json.dumps(doc, default=_json_default) + "\n")
            return
        t = Table(title=f"fitted into {escape(str(out))}")
        for c in ("where", "what", "family", "n", "censored", "mean", "KS D"):
            t.add_column(c)
        for f in rep.fits:
            x = f["fit"]
            t.add_row(escape(f["where"]), escape(f["what"]), escape(x.family or "-"), str(x.n), str(x.censored),
                      "-" if x.mean != x.mean else f"{x.mean:.4g}", "-" if x.ks != x.ks else f"{x.ks:.3f}")
        console.print(t)
        for n in rep.notes:
            console.print(f"note: {escape(n)}")
        if val is not None:
            v = Table(title=f"validation: the fitted model ({val['replications']} runs) against the log")
            for c in ("KPI", "log", "model", "95 % prediction interval", ""):
                v.add_column(c)
            for r in val["rows"]:
                v.add_row(escape(r["kpi"]), f"{r['log']:.4g}", f"{r['model']:.4g}", f"{r['low']:.4g} .. {r['high']:.4g}",
                          "[bold red]disagrees[/]" if r["disagree"] else "ok")
            console.print(v)


def register_snapshot(app: typer.Typer) -> None:
    from twin.cli import _load

    @app.command()
    def snapshot(
        scenario: Path = typer.Argument(..., help="scenario the plant's names map to"),
        mtconnect: Optional[str] = typer.Option(None, help="MTConnect agent, e.g. http://host:5000 (reads /current)"),
        opcua: Optional[str] = typer.Option(None, help="OPC UA server with the OPC 40001 Machines folder, e.g. opc.tcp://host:4840"),
        mapping: Optional[Path] = typer.Option(None, help="YAML mapping of plant names to the scenario's (docs/live.md)"),
        out: Optional[Path] = typer.Option(None, help="write the snapshot (YAML) here; default: print it"),
        timeout: float = typer.Option(10.0, help="seconds to wait for the server"),
    ):
        """Read the plant's current state from an MTConnect agent or an OPC UA server as a snapshot (YAML)."""
        import yaml

        from .acquire import AcquireError, acquire

        if (mtconnect is None) == (opcua is None):
            _bad("--mtconnect", "give one server: --mtconnect URL or --opcua URL")
        url = mtconnect or opcua
        if mtconnect is not None and not mtconnect.startswith(("http://", "https://")):
            _bad("--mtconnect", "expected an http:// or https:// URL")
        if opcua is not None and not opcua.startswith("opc.tcp://"):
            _bad("--opcua", "expected an opc.tcp:// URL")
        sc = _load(scenario, None, None, 0.0)
        try:
            snap = acquire(url, sc, mapping=mapping, timeout=timeout)
        except AcquireError as e:
            _bad("--mtconnect" if mtconnect else "--opcua", str(e))
        text = yaml.safe_dump(snap.dump(), sort_keys=False)
        if out is None:
            sys.stdout.write(text)
        else:
            tmp = out.with_name(f".tmp.{out.name}")
            tmp.write_text(text)
            tmp.replace(out)
