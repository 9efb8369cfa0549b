"""Commands at the server's edge: shape checks before ``twin.commands`` (which validates again
against the run), and the identity as the command's source.

The edge refuses what no run could accept: non-numbers and non-finite numbers (``"nan"``,
``"inf"``, ``1e308`` durations), lists where a name is expected, a value for a command that
takes none. Every refusal names the field. ``twin.commands.CommandError`` (checked against the
run: unknown station, not the owner, part not waiting, ...) becomes the same 422 shape.
"""

from __future__ import annotations

import math
from typing import Any

NO_VALUE = ("hold", "stop", "start", "release", "release_hold", "release_resume")


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_command(cmd: str, target: str, value: Any, horizon: float) -> list[tuple[str, str]]:
    """(path, message) for each shape error of a command (empty when it may go to the run)."""
    errs: list[tuple[str, str]] = []
    if cmd in NO_VALUE:
        if value is not None:
            errs.append(("value", f"{cmd} takes no value"))
    elif cmd == "feed_override":
        if not _num(value) or not math.isfinite(value):
            errs.append(("value", f"feed_override needs a finite number (0.1 .. 2.0), got {value!r}"))
    elif cmd == "buffer_limit":
        if value is not None and (not _int(value) or value < 0):
            errs.append(("value", f"buffer_limit needs an integer >= 0 or null, got {value!r}"))
    elif cmd in ("dispatch", "route"):
        if not _int(value) or value < 0:
            errs.append(("value", f"{cmd} needs a part id (integer >= 0), got {value!r}"))
    elif cmd == "request_maintenance":
        errs += _maintenance(value, horizon)
    return errs


def _duration(path: str, v: Any, horizon: float) -> list[tuple[str, str]]:
    if not _num(v) or not math.isfinite(v):
        return [(path, f"needs a finite number of seconds, got {v!r}")]
    if not 0 < v <= horizon:
        return [(path, f"must be > 0 and at most the run's horizon ({horizon:g} s), got {v:g}")]
    return []


def _maintenance(v: Any, horizon: float) -> list[tuple[str, str]]:
    if isinstance(v, dict):
        extra = sorted(set(v) - {"duration", "crew", "plan"})
        if extra:
            return [(f"value.{extra[0]}", "unknown field (use duration and crew, or plan)")]
        if "plan" in v:
            if set(v) != {"plan"}:
                return [("value", "give either {plan} or {duration, crew}")]
            if not _int(v["plan"]) or v["plan"] < 0:
                return [("value.plan", f"needs a plan index (integer >= 0), got {v['plan']!r}")]
            return []
        if "duration" not in v:
            return [("value.duration", "required")]
        errs = _duration("value.duration", v["duration"], horizon)
        if "crew" in v and v["crew"] is not None and not isinstance(v["crew"], str):
            errs.append(("value.crew", f"needs the name of a crew (a string), got {v['crew']!r}"))
        return errs
    return _duration("value", v, horizon)


def command_error_detail(exc: Exception) -> list[dict]:
    """The 422 body of a :class:`twin.commands.CommandError`."""
    path = getattr(exc, "field", None) or getattr(exc, "path", None) or "command"
    return [{"path": str(path), "message": str(exc)}]
