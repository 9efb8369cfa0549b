"""Request and response bodies. Requests are strict: unknown fields (``source`` included: the
command source is the caller's identity), wrong types, ``null`` where a value is expected and
non-finite numbers are refused with a 422 naming the field."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from twin.commands import COMMANDS
from twin.store import STATUSES

SEED_MAX = 2**63 - 1
from .schema import EXAMPLE  # noqa: E402
SCENARIO_REF = {"allOf": [{"$ref": "#/components/schemas/Scenario"}]}  # allOf: pydantic resolves a bare $ref next to a description

ScenarioJSON = Annotated[dict[str, Any], WithJsonSchema(SCENARIO_REF)]
OptScenarioJSON = Annotated[dict[str, Any] | None, WithJsonSchema(SCENARIO_REF)]
Seed = Annotated[int | None, Field(ge=0, le=SEED_MAX),
                 WithJsonSchema({"type": "integer", "minimum": 0, "maximum": SEED_MAX, "description": "overrides the scenario's seed"})]
Id = Annotated[str | None, Field(min_length=1, max_length=64), WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 64})]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _no_null(v):
    if v is None:
        raise ValueError("null is not allowed here: leave the field out")
    return v


class ScenarioBody(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"scenario": EXAMPLE, "name": "two machines"}]})
    scenario: ScenarioJSON = Field(description="the scenario as JSON (same schema as the files)")
    name: Annotated[str | None, Field(min_length=1, max_length=200),
                    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200, "description": "default: the scenario's name"})] = None

    _nn = field_validator("name", mode="before")(_no_null)


class RunRequest(Strict):
    """A scenario (inline or a stored ``scenario_id``, exactly one of them) and an optional seed."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["scenario"]}, {"required": ["scenario_id"]}],
                                                 "examples": [{"scenario": EXAMPLE, "seed": 7}]})
    scenario: OptScenarioJSON = None
    scenario_id: Id = None
    seed: Seed = None
    engine: Literal["simpy", "compiled", "auto"] = Field(
        default="simpy", description="simpy (every feature), compiled (the numba flow-line engine: 422 naming what does not fit) "
                                     "or auto (compiled where the scenario fits); same logs and KPIs")

    _nn = field_validator("scenario", "scenario_id", "seed", "engine", mode="before")(_no_null)


class SessionRequest(Strict):
    """A scenario (inline or a stored ``scenario_id``, exactly one of them) and an optional seed;
    a lockstep session always plays on the SimPy engine (commands and tags between steps)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["scenario"]}, {"required": ["scenario_id"]}],
                                                 "examples": [{"scenario": EXAMPLE, "seed": 7}]})
    scenario: OptScenarioJSON = None
    scenario_id: Id = None
    seed: Seed = None

    _nn = field_validator("scenario", "scenario_id", "seed", mode="before")(_no_null)


class CompareRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"baseline": EXAMPLE, "candidate": {**EXAMPLE, "buffers": {"AB": {"capacity": 6, "between": ["A", "B"]}}},
                                                               "replications": 3, "gates": ["throughput_per_hour >= 0"]}]})
    baseline: ScenarioJSON
    candidate: ScenarioJSON
    replications: int = Field(default=10, ge=2, le=50)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    engine: Literal["simpy", "compiled", "auto"] = Field(
        default="simpy", description="engine of both sides' replications (see POST /v1/runs)")
    gates: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20, description="e.g. 'oee >= -0.5pt', 'throughput_per_hour >= -2%'")


class StepRequest(Strict):
    """Exactly one of ``dt``, ``until`` or ``event``."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1, "examples": [{"dt": 60}, {"event": True}]})
    dt: Annotated[float | None, Field(ge=0), WithJsonSchema({"type": "number", "minimum": 0, "description": "advance by this many seconds"})] = None
    until: Annotated[float | None, Field(ge=0), WithJsonSchema({"type": "number", "minimum": 0, "description": "advance to this sim time (not in the past)"})] = None
    event: Annotated[Literal[True] | None, WithJsonSchema({"const": True, "description": "advance to the next event time"})] = None

    _nn = field_validator("dt", "until", "event", mode="before")(_no_null)

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("dt", "until", "event") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of dt, until, event" + (f" (got {', '.join(given)})" if given else ""))
        return self


class CommandRequest(Strict):
    """A command; its source is the caller's identity (a ``source`` field is refused)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"command": "hold", "target": "A"}, {"command": "feed_override", "target": "B", "value": 1.2}]})
    command: Literal[tuple(COMMANDS)]  # type: ignore[valid-type]
    target: str = Field(default="", max_length=200)
    value: Any = None


class RealtimeRequest(Strict):
    realtime: float = Field(gt=0, le=1e6, description="simulated seconds per wall second")
    dt: float = Field(default=1.0, gt=0, le=1e7, description="simulated seconds per step")
    steps: int = Field(default=100, ge=1, le=1_000_000)


class StopRequest(Strict):
    stop: Literal[True]


class TokenMessage(Strict):
    token: str = Field(min_length=1, max_length=4096)


# ---- responses -------------------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"]
    version: str
    sessions: int
    runs_active: int
    auth: bool


class Validated(BaseModel):
    valid: Literal[True]
    name: str
    stations: list[str]
    buffers: list[str]
    resolved: dict[str, Any]


class StoredScenario(BaseModel):
    id: str
    name: str


class ScenarioRow(BaseModel):
    id: str
    name: str
    created_at: float


class ScenarioFull(ScenarioRow):
    body: dict[str, Any]


class RunAccepted(BaseModel):
    id: str
    status: Literal["queued"]
    engine: Literal["simpy", "compiled"] = Field(description="the engine that plays the run")
    engine_reasons: list[str] = Field(default_factory=list, description="with engine auto: why not the compiled engine")


class RunRow(BaseModel):
    id: str
    key: str
    kind: str
    parent: str | None
    scenario_id: str | None
    scenario_name: str
    seed: int
    replication: int
    status: Literal[STATUSES]  # type: ignore[valid-type]
    progress: float
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None


class CancelReply(BaseModel):
    id: str
    status: Literal[STATUSES]  # type: ignore[valid-type]


class Page(BaseModel):
    total: int
    offset: int
    limit: int
    rows: list[dict[str, Any]]


class TableInfo(BaseModel):
    rows: int
    columns: list[str]


class Tables(BaseModel):
    tables: dict[str, TableInfo]


class SessionCreated(BaseModel):
    id: str
    sim_time: float
    horizon: float
    tags: dict[str, Any]


class SessionInfo(BaseModel):
    id: str
    kind: str
    owner: str
    scenario: str
    sim_time: float
    horizon: float
    finished: bool
    created_at: float
    paced: float | None = Field(None, description="runs by itself at this many simulated seconds per wall second "
                                                  "(twin serve --realtime); Step is then refused")


class StepReply(BaseModel):
    sim_time: float
    finished: bool
    changed: dict[str, Any] = Field(description="tags that changed since this client's last reply")
    wall_ms: float
    interrupted: bool | None = Field(default=None, description="true when the step was stopped before its end")


class CommandReply(BaseModel):
    accepted: bool
    message: str
    t: float


class CommandLogRow(BaseModel):
    t: float
    source: str
    target: str
    command: str
    value: Any
    accepted: bool
    message: str


class Closed(BaseModel):
    id: str
    closed: Literal[True]


class RestoreRequest(Strict):
    """A checkpoint (``GET /v1/sessions/{id}/checkpoint``, ``twin run --checkpoint``) to continue
    as a new lockstep session, optionally to a later horizon."""

    checkpoint: Annotated[dict[str, Any], WithJsonSchema({"type": "object", "description": "the checkpoint document (format twin-checkpoint)"})]
    horizon: Annotated[float | None, Field(gt=0), WithJsonSchema({"type": "number", "exclusiveMinimum": 0,
                                                                    "description": "continue to this sim time [s] (default: the checkpoint's horizon)"})] = None

    _nn = field_validator("checkpoint", "horizon", mode="before")(_no_null)


class ForecastRequest(Strict):
    """What the plant will deliver by ``until``, starting from a plant snapshot (docs/live.md)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["scenario"]}, {"required": ["scenario_id"]}]})
    scenario: OptScenarioJSON = None
    scenario_id: Id = None
    snapshot: Annotated[dict[str, Any], WithJsonSchema({"type": "object", "description": "a plant snapshot (time, buffers, stations, orders)"})]
    until: Annotated[str, Field(min_length=1, max_length=64),
                     WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 64,
                                     "description": "a clock time ('22:00'), a duration ('+8 h') or a date-time"})]
    replications: int = Field(default=30, ge=2, le=200)
    level: float = Field(default=0.9, ge=0.5, lt=1.0)
    seed: Seed = None

    _nn = field_validator("scenario", "scenario_id", "snapshot", "until", "seed", mode="before")(_no_null)
