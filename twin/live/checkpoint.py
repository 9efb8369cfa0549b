"""Checkpoint and restore a run exactly.

Design: *deterministic replay, verified*. A run is a pure function of its scenario, its seed and
replication, and what reached it from outside its event loop (commands through
:func:`twin.commands.apply_command`, and reads of the tag table when ``signals`` draw noise),
each at a known position in simulated time. The run keeps that outside input in
``run.journal``. A checkpoint holds

* the resolved scenario, the seed, the replication and the checkpoint time ``t``;
* the journal: ``(kind, t, drained, ...)`` per entry, where ``drained`` tells whether the events
  at ``t`` itself had been processed when it came (``step_event`` leaves the clock after them,
  ``run_until`` before them);
* a SHA-256 digest of the state at ``t``: every log column (states, operations, parts, buffer
  levels, failures, features, pools, commands), the tag table, every part in the line (id,
  product, step, due date, reworks), the counters, command owners, holds and routes.

:func:`restore` builds the run again (to a new horizon if asked), replays the journal at the
same positions, advances to ``t`` and compares the digest: a mismatch (another twin version,
another scenario file, a non-deterministic extension) raises :class:`CheckpointError` instead
of continuing from a state that is not the one checkpointed. The continued run is then the very
run that never stopped, so its event log equals that run's byte for byte.

The SimPy heap holds closures (callbacks of stations, rules, crews) that cannot be pickled
robustly; replay avoids serialising them at all. Its cost is the simulation time up to ``t``
(measured in ``docs/live.md``: the time to run to ``t`` again, nothing more) and a journal entry
per outside command (and per noisy tag read).

What is *not* journalled: direct calls on stations or buffers from Python (``set_stop`` on a
station object, say). Lockstep sessions, servers and rules go through the command layer.

The file is JSON (UTF-8), written atomically by :func:`write`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CheckpointError", "checkpoint", "restore", "state_digest", "write", "read", "FORMAT"]

FORMAT = "twin-checkpoint"
VERSION = 1
_LOGS = ("state_log", "ops_log", "part_log", "level_log", "failure_log", "feature_log")


class CheckpointError(ValueError):
    """A checkpoint that cannot be restored; the message says why (field or digest)."""


def _json_default(o: Any):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    return repr(o)


def _strict(o: Any):
    """JSON for numpy numbers; anything else in a journal cannot be replayed as it was."""
    if isinstance(o, (np.integer, np.floating, np.ndarray)):
        return _json_default(o)
    raise TypeError(f"{type(o).__name__} is not JSON")


def _canon(x: Any) -> str:
    return json.dumps(x, sort_keys=True, default=_json_default, allow_nan=True, separators=(",", ":"))


def state_digest(run, command_rows_before: float | None = None) -> str:
    """SHA-256 of the state of ``run`` now (see the module docstring). ``command_rows_before``:
    count only command-log rows before this time (commands refused at the horizon)."""
    h = hashlib.sha256()
    for name in _LOGS:
        cols = getattr(run, name).numpy()
        for k in sorted(cols):
            h.update(f"{name}.{k}".encode())
            h.update(np.ascontiguousarray(cols[k]).tobytes())
    fl = run.feature_log
    h.update(_canon([list(fl.stations), list(fl.features)]).encode())
    for k in sorted(run.pool_log):
        h.update(f"pool.{k}".encode())
        h.update(bytes(run.pool_log[k]))
    rows = run.command_log.rows
    if command_rows_before is not None:
        rows = [r for r in rows if r[0] < command_rows_before]
    h.update(_canon(rows).encode())
    h.update(_canon(run.tags()).encode())
    parts = [(p.id, p.product, p.step, p.due if math.isfinite(p.due) else None, p.reworks, p.t_release, p.t_enter)
             for p in sorted(run.live_parts.values(), key=lambda p: p.id)]
    h.update(_canon(parts).encode())
    h.update(_canon([run.released, run.scrapped, run.wip, run.next_part_id, run.sink.completed,
                     sorted(run.command_owners.items()), sorted(run.command_held), sorted(run.routes.items())]).encode())
    return h.hexdigest()


def checkpoint(run) -> bytes:
    """The checkpoint of ``run`` at its current time, as JSON bytes."""
    from twin import __version__

    t = run.now
    finished = run.finished
    journal = []
    for e in run.journal:
        if finished and e[1] >= run.horizon:
            if e[0] == "command":
                continue  # refused (the run had reached its horizon): it changed nothing
            e = (e[0], e[1], False, *e[2 + 1:])  # the events at the horizon were never processed
        journal.append(list(e))
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "twin_version": __version__,
        "scenario": run.scenario.dump(),
        "seed": run.seed,
        "replication": run.replication,
        "t": t,
        "drained": (not finished) and run.clock.peek() > t,
        "horizon": run.horizon,
        "journal": journal,
        "digest": state_digest(run, command_rows_before=run.horizon if finished else None),
    }
    snap = getattr(run, "snapshot", None)  # a run started from a plant snapshot (twin.live.snapshot)
    if snap is not None:
        doc["snapshot"] = snap.dump()
    try:
        return json.dumps(doc, default=_strict, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (ValueError, TypeError) as e:  # a NaN, an infinity or an object in a command value
        raise CheckpointError(f"journal: cannot write a command value as JSON ({e})") from None


def _advance(run, t: float, drained: bool) -> None:
    """Bring ``run`` to position (t, drained): events before ``t`` processed, and those at ``t``
    too when ``drained``."""
    run.run_until(t)
    if drained and run.now == t:
        clock = run.clock
        run._advancing = True
        try:
            while clock.peek() == t:
                clock.step()
        finally:
            run._advancing = False


def _field(doc: dict, key: str, types, what: str):
    v = doc.get(key)
    if not isinstance(v, types) or (isinstance(v, bool) and types is not bool):
        raise CheckpointError(f"{key}: expected {what}, got {type(v).__name__}")
    return v


def load_doc(data: bytes | str | dict) -> dict:
    """Parse and check the checkpoint's fields (CheckpointError names the field)."""
    if isinstance(data, dict):
        doc = data
    else:
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise CheckpointError(f"not a twin checkpoint (cannot parse JSON: {e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"format: not a twin checkpoint (expected format {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise CheckpointError(f"version: this twin reads checkpoint version {VERSION}, got {doc.get('version')!r}")
    _field(doc, "scenario", dict, "the scenario as an object")
    _field(doc, "seed", int, "an integer")
    _field(doc, "replication", int, "an integer")
    t = _field(doc, "t", (int, float), "a time [s]")
    if not (math.isfinite(t) and t >= 0):
        raise CheckpointError(f"t: expected a finite time >= 0, got {t!r}")
    _field(doc, "drained", bool, "true or false")
    _field(doc, "digest", str, "a SHA-256 hex digest")
    journal = _field(doc, "journal", list, "a list")
    for i, e in enumerate(journal):
        if not (isinstance(e, list) and len(e) >= 3 and e[0] in ("command", "observe")
                and isinstance(e[1], (int, float)) and isinstance(e[2], bool)):
            raise CheckpointError(f"journal[{i}]: expected [kind, t, drained, ...] with kind command or observe")
        if e[0] == "command" and not (len(e) == 5 and isinstance(e[3], dict)):
            raise CheckpointError(f"journal[{i}]: a command entry is [\"command\", t, drained, command, source]")
        if not (0 <= e[1] <= t):
            raise CheckpointError(f"journal[{i}]: time {e[1]!r} is outside 0 .. t ({t})")
    return doc


def restore(data: bytes | str | dict, horizon: float | None = None, verify: bool = True):
    """The run of a checkpoint, continued to ``horizon`` (default: the checkpointed run's), at
    the checkpoint's time and bit-identical to the run that was checkpointed."""
    from twin.commands import CommandError, apply_command
    from twin.engine import Run
    from twin.scenario import ScenarioError, parse_scenario

    doc = load_doc(data)
    t = float(doc["t"])
    H = float(doc.get("horizon") or doc["scenario"].get("horizon") or 0.0)
    if horizon is not None:
        if not (math.isfinite(horizon) and horizon > 0):
            raise CheckpointError(f"horizon: expected a time > 0, got {horizon!r}")
        if horizon < t:
            raise CheckpointError(f"horizon: {horizon:g} s is before the checkpoint's time {t:g} s")
        H = float(horizon)
    try:
        sc = parse_scenario(doc["scenario"], source="checkpoint", horizon=H)
    except ScenarioError as e:
        raise CheckpointError(f"scenario: {e}") from None
    if doc.get("snapshot") is not None:
        from .snapshot import SnapshotError, start_run

        try:
            run = start_run(sc, doc["snapshot"], seed=doc["seed"], replication=doc["replication"], shifted=True)
        except SnapshotError as e:
            raise CheckpointError(f"snapshot: {e}") from None
    else:
        run = Run(sc, seed=doc["seed"], replication=doc["replication"])
    for e in doc["journal"]:
        kind, te, drained = e[0], float(e[1]), e[2]
        _advance(run, te, drained)
        if kind == "command":
            try:
                apply_command(run, dict(e[3]), source=e[4])
            except CommandError:
                pass  # refused then too (the digest checks the command log)
        else:
            run.observed_tags()
    _advance(run, t, doc["drained"])
    if verify:
        was_finished = doc.get("horizon") is not None and t >= float(doc["horizon"])
        got = state_digest(run, command_rows_before=t if was_finished else None)
        if got != doc["digest"]:
            raise CheckpointError(
                f"digest: the replayed state at t = {t:g} s differs from the checkpointed one (checkpoint written by twin "
                f"{doc.get('twin_version')!r}); the scenario, the twin version or an extension changed what the run does")
    return run


def write(run, path: str | Path) -> Path:
    """Write ``run``'s checkpoint to ``path`` atomically (a crash never leaves half a file)."""
    p = Path(path)
    data = checkpoint(run)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def read(path: str | Path) -> bytes:
    p = Path(path)
    try:
        return p.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read {p}: {e.strerror or e}") from None
