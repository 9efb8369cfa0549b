"""Command line of the live twin: ``twin run --checkpoint/--resume/--from``, ``twin fit``,
``twin forecast``, ``twin snapshot``.

Exit status: 0 done, 1 a run or fit that failed its own check, 2 bad input (with the field).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer


def _bad(what: str, msg: str):
    from rich.markup import escape

    from twin.cli import err

    err.print(f"[bold red]{escape(what)}[/]: {escape(msg)}")
    raise typer.Exit(2)


def _snapshot_error(exc) -> None:
    from rich.markup import escape

    from twin.cli import err

    err.print(f"[bold red]invalid snapshot[/] {escape(exc.source or '')}: {len(exc.errors)} error(s)")
    for path, msg in exc.errors:
        err.print(f"  [yellow]{escape(path or '<root>')}[/]: {escape(msg)}")
    raise typer.Exit(2)


def run_live(*, scenario, seed, horizon, warmup, format, out, replications, precision, quiet, checkpoint, resume,
             snapshot) -> None:
    """``twin run`` with --checkpoint, --resume or --from."""
    from twin.cli import _load, _run_with_progress, parse_time, print_result

    from .checkpoint import CheckpointError, read, restore, write

    if replications != 1 or precision is not None:
        _bad("--replications", "checkpoints and snapshots run one replication (use `twin forecast` for many from a snapshot)")
    if resume is not None:
        if scenario is not None:
            _bad("SCENARIO", "--resume continues the checkpoint's own scenario; give no scenario file")
        if snapshot is not None:
            _bad("--from", "--resume and --from exclude each other")
        for opt, v in (("--seed", seed), ("--warmup", warmup)):
            if v is not None:
                _bad(opt, "a checkpoint fixes it; it cannot change on --resume")
        H = parse_time(horizon, "--horizon")
        try:
            run = restore(read(resume), horizon=H)
        except CheckpointError as e:
            _bad(f"--resume {resume}", str(e))
    else:
        if scenario is None:
            _bad("SCENARIO", "give a scenario file (or --resume CHECKPOINT)")
        W = parse_time(warmup, "--warmup")
        # from a snapshot the line is not empty: no warm-up unless asked for
        sc = _load(scenario, seed, parse_time(horizon, "--horizon"), W if W is not None or snapshot is None else 0.0)
        if snapshot is not None:
            from .snapshot import SnapshotError, load_snapshot, start_run

            try:
                snap = load_snapshot(snapshot)
                run = start_run(sc, snap, warmup=parse_time(warmup, "--warmup"))
            except SnapshotError as e:
                _snapshot_error(e)
        else:
            import twin

            run = twin.Run(sc)
    r = _run_with_progress(run, show=not quiet and format == "table")
    if checkpoint is not None:
        try:
            write(run, checkpoint)
        except (CheckpointError, OSError) as e:
            _bad("--checkpoint", str(e))
    print_result(r, run.scenario.name, format, out)
    if checkpoint is not None and format == "table":
        from twin.cli import console

        console.print(f"checkpoint at t = {run.now:g} s written to [bold]{checkpoint}[/]")


def register(app: typer.Typer) -> None:
    """Add ``fit``, ``forecast`` and ``snapshot`` to the ``twin`` command."""
    from . import cli_commands

    cli_commands.register(app)
