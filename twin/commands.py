"""The command layer: the one door through which automation writes to a running twin.

Commands are validated, applied at the current simulated time and logged with their time,
source, target, value and result (``run.command_log``). One writer per target: the first
source that writes a target owns it until it releases it (``release``), so two controllers
cannot fight over the same signal unnoticed.

Commands:

* ``hold`` / ``start`` a station (a commanded stop: NotExecuting/held; work in progress keeps
  its remaining time), ``stop`` is an alias of hold;
* ``feed_override`` of a station (0.1 .. 2.0; divides processing times of parts started later);
* ``buffer_limit`` of a buffer (CONWIP; null for unbounded);
* ``release_hold`` / ``release_resume`` of the part release (sources);
* ``request_maintenance`` of a station for a duration, optionally by a crew (``{duration, crew}``):
  a planned maintenance stop now, after which the station is as good as new;
* ``dispatch``: the part (id) a station takes next from its queue;
* ``route``: send a part (id) to a given station at its next step where the routing offers
  several buffers (e.g. one per parallel machine);
* ``release`` (give up ownership of a target).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .states import Code

__all__ = ["CommandError", "apply_command", "COMMANDS", "Command"]

COMMANDS = ("hold", "stop", "start", "feed_override", "buffer_limit", "release_hold", "release_resume",
            "request_maintenance", "dispatch", "route", "release")


class CommandError(ValueError):
    pass


@dataclass
class Command:
    command: str
    target: str = ""
    value: Any = None
    source: str = "api"


def _owners(run) -> dict:
    if not hasattr(run, "_owners"):
        run._owners = {}
        run._held = set()
    return run._owners


def apply_command(run, cmd: Command | dict) -> dict:
    """Validate and apply one command; returns ``{"accepted": bool, "message": str, "t": sim time}``.
    Invalid commands raise :class:`CommandError` (and are logged as rejected)."""
    if isinstance(cmd, dict):
        cmd = Command(**cmd)
    t = run.now
    try:
        msg = _apply(run, cmd)
    except CommandError as e:
        run.command_log.append(t, cmd.source, cmd.target, cmd.command, cmd.value, False, str(e))
        raise
    run.command_log.append(t, cmd.source, cmd.target, cmd.command, cmd.value, True, msg)
    return {"accepted": True, "message": msg, "t": t}


def _own(run, cmd: Command) -> None:
    owners = _owners(run)
    key = cmd.target
    holder = owners.get(key)
    if holder is not None and holder != cmd.source:
        raise CommandError(f"{key!r} is written by {holder!r}; one writer per target (it must release it first)")
    owners[key] = cmd.source


def _station(run, name):
    st = run.stations.get(name)
    if st is None:
        raise CommandError(f"unknown station {name!r} (stations: {', '.join(run.stations)})")
    return st


def _apply(run, cmd: Command) -> str:
    c = cmd.command
    if c not in COMMANDS:
        raise CommandError(f"unknown command {c!r}; commands: {', '.join(COMMANDS)}")
    if run.finished:
        raise CommandError("the run has reached its horizon")
    if c == "release":
        owners = _owners(run)
        if owners.get(cmd.target) == cmd.source:
            del owners[cmd.target]
            return f"{cmd.source} released {cmd.target}"
        raise CommandError(f"{cmd.source!r} does not own {cmd.target!r}")
    if c in ("hold", "stop", "start"):
        st = _station(run, cmd.target)
        _own(run, cmd)
        held = run._held
        if c in ("hold", "stop"):
            if cmd.target in held:
                return f"{cmd.target} already held"
            held.add(cmd.target)
            st.set_stop(Code.HELD, +1)
            return f"{cmd.target} held"
        if cmd.target not in held:
            return f"{cmd.target} was not held"
        held.discard(cmd.target)
        st.set_stop(Code.HELD, -1)
        return f"{cmd.target} started"
    if c == "feed_override":
        st = _station(run, cmd.target)
        try:
            v = float(cmd.value)
        except (TypeError, ValueError):
            raise CommandError(f"feed_override needs a number, got {cmd.value!r}") from None
        if not 0.1 <= v <= 2.0:
            raise CommandError(f"feed_override must be within 0.1 .. 2.0, got {v}")
        _own(run, cmd)
        st.feed_override = v
        return f"{cmd.target} feed override {v:.2f}"
    if c == "buffer_limit":
        b = run.buffers.get(cmd.target)
        if b is None:
            raise CommandError(f"unknown buffer {cmd.target!r} (buffers: {', '.join(run.buffers)})")
        if cmd.value is not None and (not isinstance(cmd.value, int) or isinstance(cmd.value, bool) or cmd.value < 0):
            raise CommandError(f"buffer_limit needs an integer >= 0 or null, got {cmd.value!r}")
        _own(run, cmd)
        b.set_capacity(cmd.value)
        return f"{cmd.target} limit {cmd.value}"
    if c in ("release_hold", "release_resume"):
        _own(run, Command(c, "release", None, cmd.source))
        for s in run.sources:
            s.set_held(c == "release_hold")
        return "release held" if c == "release_hold" else "release resumed"
    if c == "dispatch":
        st = _station(run, cmd.target)
        if not isinstance(cmd.value, int) or isinstance(cmd.value, bool):
            raise CommandError(f"dispatch needs a part id (integer), got {cmd.value!r}")
        queued = {p.id for b in st.inputs for p in getattr(b, "q", ())}
        if cmd.value not in queued:
            raise CommandError(f"part {cmd.value} is not waiting at {cmd.target} (waiting: {sorted(queued)[:20]})")
        _own(run, cmd)
        st.set_next_part(cmd.value)
        return f"{cmd.target} takes part {cmd.value} next"
    if c == "route":
        st = _station(run, cmd.target)
        if not isinstance(cmd.value, int) or isinstance(cmd.value, bool) or not 0 <= cmd.value < run.next_part_id:
            raise CommandError(f"route needs the id of a released part, got {cmd.value!r}")
        run.routes[cmd.value] = cmd.target
        return f"part {cmd.value} goes to {st.name} next (where its routing offers a choice)"
    if c == "request_maintenance":
        st = _station(run, cmd.target)
        crew = None
        v = cmd.value
        if isinstance(v, dict) and "plan" in v:  # a condition-based plan of the station (see MaintenanceSpec)
            plans = getattr(st.spec, "maintenance", [])
            if not isinstance(v["plan"], int) or not 0 <= v["plan"] < len(plans):
                raise CommandError(f"{cmd.target} has no maintenance plan {v['plan']!r}")
            plan = plans[v["plan"]]
            dur, crew = float(plan.duration), plan.crew
        else:
            if isinstance(v, dict):
                crew = v.get("crew")
                v = v.get("duration")
            try:
                dur = float(v)
            except (TypeError, ValueError):
                raise CommandError(f"request_maintenance needs a duration in seconds (or {{duration, crew}}), got {cmd.value!r}") from None
            if crew is not None and crew not in run.pools:
                raise CommandError(f"no crew named {crew!r} (crews: {', '.join(sorted(run.pools)) or 'none'})")
        if dur <= 0:
            raise CommandError("maintenance duration must be > 0")
        if hasattr(st, "start_maintenance"):
            st.start_maintenance(dur, crew)
        else:
            st.set_stop(Code.PLANNED_MAINTENANCE, +1)
            run.at(run.now + dur, lambda ev: st.set_stop(Code.PLANNED_MAINTENANCE, -1))
        return f"{cmd.target} maintenance for {dur:.0f} s" + (f" by crew {crew}" if crew else "")
    raise CommandError(f"unhandled command {c!r}")
