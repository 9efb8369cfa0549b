"""The command layer: the one door through which automation writes to a running twin.

Commands are typed models (pydantic), validated, applied at the current simulated time and
logged with their time, source, target, value and result (``run.command_log``). The same models
type the ``then``/``otherwise`` of scenario rules, so a rule with a field its command does not
take is a scenario error at load, not a crash in the middle of a run. One writer per target: the
first source that writes a target owns it until it releases it (``release``), so two controllers
cannot fight over the same signal unnoticed. ``source`` is who writes (the HTTP and OPC UA
servers pass the authenticated identity; rules are ``rule:NAME``).

:data:`COMMANDS` is the registry the CLI docs, the HTTP API, OPC UA and the rule checks read:

* ``hold`` / ``start`` a station (a commanded stop: NotExecuting/held; work in progress keeps
  its remaining time); ``stop`` is an alias of hold;
* ``feed_override`` of a station (0.1 .. 2.0; divides processing times of parts started later);
* ``buffer_limit`` of a buffer (CONWIP; null for unbounded);
* ``release_hold`` / ``release_resume`` of the part release (sources);
* ``request_maintenance`` of a station: a duration, ``{duration, crew}`` or ``{plan: i}`` (the
  station's maintenance plan i); a planned maintenance stop now, after which the station is as
  good as new;
* ``dispatch``: the part (id) a station takes next from its queue;
* ``route``: send a part (id) still in the line to a given station at its next step where the
  routing offers several buffers (e.g. one per parallel machine);
* ``release`` (give up ownership of a target).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, ValidationError, field_validator

from .states import Code
from .units import Seconds

__all__ = ["CommandError", "apply_command", "COMMANDS", "CommandDef", "Command", "RuleCommand", "parse_command",
           "MAX_MAINTENANCE_S"]

#: the longest maintenance a command may ask for [s] (a year)
MAX_MAINTENANCE_S = 366 * 86400.0


class CommandError(ValueError):
    """A command that is refused; the message names the field and why."""


class _C(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HoldCmd(_C):
    """Stop a station (NotExecuting, reason held); work in progress keeps its remaining time."""

    command: Literal["hold", "stop"]
    target: str = Field(min_length=1, description="station")


class StartCmd(_C):
    """End a commanded hold."""

    command: Literal["start"]
    target: str = Field(min_length=1, description="station")


class FeedOverrideCmd(_C):
    """Feed override of a station; divides the processing time of parts started later."""

    command: Literal["feed_override"]
    target: str = Field(min_length=1, description="station")
    value: float = Field(ge=0.1, le=2.0, allow_inf_nan=False, description="0.1 .. 2.0 (1.0 = 100 %)")

    @field_validator("value", mode="before")
    @classmethod
    def _number(cls, v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"a number within 0.1 .. 2.0 is needed, got {v!r}")
        return v


class BufferLimitCmd(_C):
    """Change a buffer's capacity at run time (CONWIP); null for unbounded."""

    command: Literal["buffer_limit"]
    target: str = Field(min_length=1, description="buffer")
    value: StrictInt | None = Field(ge=0, le=1_000_000, description="parts, or null for unbounded")


class ReleaseCmd(_C):
    """Hold or resume the release of new parts into the line."""

    command: Literal["release_hold", "release_resume"]
    target: Literal["", "release"] = Field(default="", description="(the part release; leave empty)")


class MaintenanceValue(_C):
    duration: Seconds = Field(gt=0, le=MAX_MAINTENANCE_S, allow_inf_nan=False, description="e.g. 1800 or '30 min'")
    crew: str | None = Field(default=None, min_length=1, description="crew that does it (`crews`)")


class MaintenancePlan(_C):
    plan: StrictInt = Field(ge=0, description="index of the station's maintenance plan")


class MaintenanceCmd(_C):
    """Planned maintenance of a station now; afterwards it is as good as new."""

    command: Literal["request_maintenance"]
    target: str = Field(min_length=1, description="station")
    value: Annotated[float, Field(gt=0, le=MAX_MAINTENANCE_S, allow_inf_nan=False)] | MaintenanceValue | MaintenancePlan = Field(
        description="duration [s], {duration, crew} or {plan}")

    @field_validator("value", mode="before")
    @classmethod
    def _units(cls, v):
        if isinstance(v, bool):
            raise ValueError(f"a duration is needed, got {v!r}")
        if isinstance(v, str):  # '30 min'
            from .units import to_si

            return to_si(v, "time")
        return v


class DispatchCmd(_C):
    """The part (id) a station takes next from its queue."""

    command: Literal["dispatch"]
    target: str = Field(min_length=1, description="station")
    value: StrictInt = Field(ge=0, description="part id waiting at the station")


class RouteCmd(_C):
    """Send a part (id) in the line to this station at its next step where the routing offers a choice."""

    command: Literal["route"]
    target: str = Field(min_length=1, description="station")
    value: StrictInt = Field(ge=0, description="part id")


class OwnershipCmd(_C):
    """Give up ownership of a target (one writer per target)."""

    command: Literal["release"]
    target: str = Field(min_length=1, description="station, buffer or 'release'")


Command = Annotated[Union[HoldCmd, StartCmd, FeedOverrideCmd, BufferLimitCmd, ReleaseCmd, MaintenanceCmd, DispatchCmd,
                          RouteCmd, OwnershipCmd], Field(discriminator="command")]
#: the typed ``then`` / ``otherwise`` of a rule (the same models: a field a command does not take
#: is an error at load)
RuleCommand = Command
_ADAPTER: TypeAdapter = TypeAdapter(Command)


@dataclass(frozen=True)
class CommandDef:
    name: str
    model: type
    target: Literal["station", "buffer", "release", "any"]
    doc: str


COMMANDS: dict[str, CommandDef] = {
    "hold": CommandDef("hold", HoldCmd, "station", HoldCmd.__doc__),
    "stop": CommandDef("stop", HoldCmd, "station", "alias of hold"),
    "start": CommandDef("start", StartCmd, "station", StartCmd.__doc__),
    "feed_override": CommandDef("feed_override", FeedOverrideCmd, "station", FeedOverrideCmd.__doc__),
    "buffer_limit": CommandDef("buffer_limit", BufferLimitCmd, "buffer", BufferLimitCmd.__doc__),
    "release_hold": CommandDef("release_hold", ReleaseCmd, "release", ReleaseCmd.__doc__),
    "release_resume": CommandDef("release_resume", ReleaseCmd, "release", ReleaseCmd.__doc__),
    "request_maintenance": CommandDef("request_maintenance", MaintenanceCmd, "station", MaintenanceCmd.__doc__),
    "dispatch": CommandDef("dispatch", DispatchCmd, "station", DispatchCmd.__doc__),
    "route": CommandDef("route", RouteCmd, "station", RouteCmd.__doc__),
    "release": CommandDef("release", OwnershipCmd, "any", OwnershipCmd.__doc__),
}


def _errors(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in exc.errors(include_url=False):
        loc = [str(x) for x in e["loc"] if not (isinstance(x, str) and (x in COMMANDS or x.startswith(("function-", "constrained-"))))]
        # pydantic names union members (float, MaintenanceValue, ...) in the path: keep the field names
        loc = [x for x in loc if x not in ("float", "MaintenanceValue", "MaintenancePlan", "int", "none")]
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "not a field of this command"
        out.append((".".join(loc), msg))
    return out


def parse_command(data: Any) -> BaseModel:
    """A command dict (without ``source``) as its typed model; CommandError names the field."""
    if not isinstance(data, dict):
        raise CommandError(f"a command is an object with 'command', 'target' and 'value', got {type(data).__name__}")
    name = data.get("command")
    if name not in COMMANDS:
        raise CommandError(f"command: unknown command {name!r}; commands: {', '.join(COMMANDS)}")
    fields = COMMANDS[name].model.model_fields
    # an empty value or target where the command takes none (the HTTP body's defaults) is no setting
    data = {k: v for k, v in data.items() if k in fields or v not in (None, "")}
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        errs = _errors(exc)
        # a union of value shapes reports every alternative: keep the most specific messages
        raise CommandError("; ".join(f"{p}: {m}" if p else m for p, m in dict.fromkeys(errs))) from None


def _owners(run) -> dict:
    return run.command_owners


def apply_command(run, cmd: dict | BaseModel, source: str | None = None) -> dict:
    """Validate and apply one command; returns ``{"accepted": True, "message": str, "t": sim time}``.

    ``cmd`` is a dict (``command``, ``target``, ``value``; a ``source`` key is the writer unless
    ``source`` is given) or a command model. Invalid commands raise :class:`CommandError` and are
    logged as rejected."""
    if isinstance(cmd, dict):
        data = dict(cmd)
        src = data.pop("source", None)
        source = source if source is not None else (src if src is not None else "api")
    else:
        data = cmd.model_dump()
        source = source or "api"
    t = run.now
    if not run._advancing:  # from outside the event loop (API, OPC UA, Python): journalled for exact replay
        run.journal.append(("command", t, run.clock.peek() > t, dict(cmd) if isinstance(cmd, dict) else
                            cmd.model_dump(mode="json"), source))
    name, target, value = data.get("command"), data.get("target", ""), data.get("value")
    try:
        if not isinstance(source, str) or not source:
            raise CommandError("source: the writer must be named")
        model = parse_command(data) if isinstance(cmd, dict) else cmd
        msg = _apply(run, model, source)
    except CommandError as e:
        run.command_log.append(t, str(source), str(target), str(name), value, False, str(e))
        raise
    run.command_log.append(t, source, model.target, model.command, getattr(model, "value", None), True, msg)
    return {"accepted": True, "message": msg, "t": t}


def _own(run, target: str, source: str) -> None:
    owners = _owners(run)
    holder = owners.get(target)
    if holder is not None and holder != source:
        raise CommandError(f"target: {target!r} is written by {holder!r}; one writer per target (it must release it first)")
    owners[target] = source


def _station(run, cmd, acting: bool = True) -> Any:
    """The target station; ``acting``: the command acts on the station, which must take it."""
    st = run.stations.get(cmd.target)
    if st is None:
        raise CommandError(f"target: unknown station {cmd.target!r} (stations: {', '.join(run.stations)})")
    if acting and cmd.command not in st.accepts:
        raise CommandError(f"target: station {cmd.target!r} ({st.kind}) does not take {cmd.command}"
                           f" (it takes: {', '.join(sorted(st.accepts))})")
    return st


def _apply(run, cmd, source: str) -> str:
    c = cmd.command
    if run.finished:
        raise CommandError("the run has reached its horizon")
    if c == "release":
        owners = _owners(run)
        if owners.get(cmd.target) == source:
            del owners[cmd.target]
            return f"{source} released {cmd.target}"
        raise CommandError(f"target: {source!r} does not own {cmd.target!r}")
    if c in ("hold", "stop", "start"):
        st = _station(run, cmd)
        _own(run, cmd.target, source)
        held = run.command_held
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
        st = _station(run, cmd)
        _own(run, cmd.target, source)
        st.set_feed_override(cmd.value)
        return f"{cmd.target} feed override {cmd.value:.2f}"
    if c == "buffer_limit":
        b = run.buffers.get(cmd.target)
        if b is None:
            raise CommandError(f"target: unknown buffer {cmd.target!r} (buffers: {', '.join(run.buffers)})")
        _own(run, cmd.target, source)
        b.set_capacity(cmd.value)
        return f"{cmd.target} limit {cmd.value}"
    if c in ("release_hold", "release_resume"):
        _own(run, "release", source)
        for s in run.sources:
            s.set_held(c == "release_hold")
        return "release held" if c == "release_hold" else "release resumed"
    if c == "dispatch":
        st = _station(run, cmd)
        queued = {p.id for p in st.queued_parts()}
        if cmd.value not in queued:
            raise CommandError(f"value: part {cmd.value} is not waiting at {cmd.target} (waiting: {sorted(queued)[:20]})")
        _own(run, cmd.target, source)
        st.set_next_part(cmd.value)
        return f"{cmd.target} takes part {cmd.value} next"
    if c == "route":  # the target is where the part goes, whatever its kind
        st = _station(run, cmd, acting=False)
        part = run.live_parts.get(cmd.value)
        if part is None:
            raise CommandError(f"value: part {cmd.value} is not in the line (never released, finished or scrapped)")
        choices = run.route_choices(part)
        if cmd.target not in choices:
            where = (f"its next step offers {', '.join(sorted(choices))}" if choices
                     else "its next step offers no choice of station")
            raise CommandError(f"target: part {cmd.value} cannot be routed to {cmd.target}: {where}")
        _own(run, cmd.target, source)
        run.routes[cmd.value] = cmd.target
        return f"part {cmd.value} goes to {st.name} next"
    if c == "request_maintenance":
        st = _station(run, cmd)
        v = cmd.value
        crew, name = None, "command"
        if isinstance(v, MaintenancePlan):
            try:
                dur, crew, name = st.maintenance_plan(v.plan)
            except (KeyError, IndexError):
                raise CommandError(f"value.plan: {cmd.target} has no maintenance plan {v.plan}") from None
        elif isinstance(v, MaintenanceValue):
            dur, crew = float(v.duration), v.crew
        else:
            dur = float(v)
        if crew is not None and (crew not in run.pools or run.pools[crew].kind != "crew"):
            crews = sorted(n for n, p in run.pools.items() if p.kind == "crew")
            raise CommandError(f"value.crew: no crew named {crew!r} (crews: {', '.join(crews) or 'none'})")
        if not (math.isfinite(dur) and 0 < dur <= MAX_MAINTENANCE_S):
            raise CommandError(f"value.duration: must be > 0 and at most {MAX_MAINTENANCE_S:g} s, got {dur!r}")
        _own(run, cmd.target, source)
        st.start_maintenance(dur, crew, name)
        return f"{cmd.target} maintenance for {dur:.0f} s" + (f" by crew {crew}" if crew else "")
    raise CommandError(f"command: unhandled command {c!r}")  # pragma: no cover (every command is handled above)
