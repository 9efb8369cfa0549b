"""Spec base models: what every station honours, and the pieces several kinds share.

A station kind's spec subclasses :class:`StationSpec` and adds only the fields its runtime
reads (``tests/trust/test_every_field_counts.py`` proves, field by field, that setting any field
of any registered kind changes the simulation or is rejected at load). Every spec model refuses
unknown fields, NaN and infinity.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .distributions import Distribution
from .units import Seconds, Watts

__all__ = ["is_set", "SpecModel", "Layout", "BufferLayout", "PowerSpec", "FailureProfile", "StationSpec", "BASE_TAGS"]


def is_set(model: BaseModel, field: str) -> bool:
    """True when ``field`` of ``model`` differs from its default (a setting that must have an
    effect; a value equal to the default changes nothing, however it was written)."""
    return getattr(model, field) != type(model).model_fields[field].get_default(call_default_factory=True)


class SpecModel(BaseModel):
    """Base of every scenario model: unknown fields, NaN and infinity are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class Layout(SpecModel):
    """Floor position of a station or buffer [m] and its orientation [deg]."""

    x: float
    y: float
    rotation: float = 0.0


class BufferLayout(SpecModel):
    """Floor position of a buffer [m] (where the viewer draws its queue)."""

    x: float
    y: float


class PowerSpec(SpecModel):
    """Electrical power draw per state [W] (units allowed: '4 kW'), per unit (resource)."""

    processing: Watts = Field(default=0.0, ge=0)
    setup: Watts | None = Field(default=None, ge=0, description="default: idle")
    idle: Watts = Field(default=0.0, ge=0, description="starved, blocked, held, break")
    down: Watts = Field(default=0.0, ge=0, description="failure and planned maintenance")
    off: Watts = Field(default=0.0, ge=0, description="off shift")

    @model_validator(mode="before")
    @classmethod
    def _yaml_off(cls, data):
        # YAML 1.1 reads a bare `off:` key as the boolean false
        if isinstance(data, dict) and (False in data or "false" in data):  # "false" once JSON-encoded
            data = {("off" if (k is False or k == "false") else k): v for k, v in data.items()}
        return data

    def by_code(self) -> list[float]:
        """Power [W] by state code (twin.states.Code order)."""
        su = self.idle if self.setup is None else self.setup
        return [self.processing, su, self.idle, self.idle, self.idle, self.down, self.down, self.idle, self.off]


class FailureProfile(SpecModel):
    """One failure mode of every unit of a station: TBF + TTR distributions, or availability + MTTR.

    ``basis``: what the time between failures counts: ``calendar`` (wall-clock time, whatever
    the unit does), ``operating`` (time without any stop: idle, blocked and busy time count),
    ``processing`` (time processing parts) or ``cycles`` (processed parts; the TBF distribution
    gives a count)."""

    name: str = "failure"
    basis: Literal["calendar", "operating", "processing", "cycles"] = "operating"
    tbf: Distribution | None = Field(default=None, description="time (or cycles) between failures")
    ttr: Distribution | None = Field(default=None, description="time to repair")
    availability: float | None = Field(default=None, gt=0, lt=1)
    mttr: Seconds | None = Field(default=None, gt=0)
    crew: str | None = Field(default=None, description="repair crew (`crews`): the repair starts when a member is free")

    @model_validator(mode="after")
    def _spec(self):
        if self.availability is not None:
            if self.tbf is not None:
                raise ValueError("give either tbf or availability, not both")
            if self.mttr is None and self.ttr is None:
                raise ValueError("availability needs mttr (or a ttr distribution)")
            if self.basis == "cycles":
                raise ValueError("availability + mttr needs a time basis, not cycles")
        else:
            if self.tbf is None or self.ttr is None:
                raise ValueError("give tbf and ttr, or availability and mttr")
            if self.mttr is not None:
                raise ValueError("mttr goes with availability; with tbf give a ttr distribution")
        return self

    def resolved(self):
        """(tbf, ttr) distributions: ``availability`` + ``mttr`` is shorthand for exponential TBF
        with mean A x MTTR / (1 - A) and exponential TTR with mean MTTR (or the given ttr)."""
        from .distributions import Exponential

        if self.availability is None:
            return self.tbf, self.ttr
        mttr = self.mttr if self.mttr is not None else self.ttr.mean()
        ttr = self.ttr if self.ttr is not None else Exponential(dist="exponential", mean=mttr)
        mtbf = self.availability * mttr / (1.0 - self.availability)
        return Exponential(dist="exponential", mean=mtbf), ttr


#: tags every station publishes
BASE_TAGS: tuple[str, ...] = ("item_state", "operation_mode", "reason", "execution", "units_busy", "power_W", "alarm")


class StationSpec(SpecModel):
    """What every station honours: where it stands (``layout``), the power it draws per state,
    its failure profiles, and the working-time calendar it keeps (``calendar``: a name of the
    scenario's ``calendars``; default: the plant calendar)."""

    kind: str
    layout: Layout | None = Field(default=None, description="floor position [m] and rotation [deg]")
    power: PowerSpec = Field(default_factory=PowerSpec, description="electrical power per state, per unit")
    failures: list[FailureProfile] = Field(default_factory=list, description="failure modes of every unit")
    calendar: str | None = Field(default=None, description="working-time calendar (a name of `calendars`); default: the plant's")

    #: tags the kind publishes (condition-based maintenance plans and rules may read them)
    TAGS: ClassVar[tuple[str, ...]] = BASE_TAGS
    #: the kind can record machine signals for AI work (``recording.stations``)
    RECORDABLE: ClassVar[bool] = False
    #: the kind's resources ever work in a setup state (else ``power.setup`` is refused)
    SETS_UP: ClassVar[bool] = True

    def tag_names(self) -> tuple[str, ...]:
        return self.TAGS

    def features(self, sc: Any, step: Any) -> dict[str, str]:
        """Per-part features this station records for a routing ``step`` it runs (name ->
        description with unit); an inspection downstream may measure them (``measures``)."""
        return {}

    def cross_check(self, name: str, sc: Any) -> list[tuple[str, str]]:
        """Checks against the whole scenario: ``[(field path, message)]``. Kinds extend it (and
        call this one)."""
        errs = []
        if not self.SETS_UP and self.power.setup is not None:
            errs.append((f"stations.{name}.power.setup", f"is not used: a {self.kind} never sets up"))
        return errs
