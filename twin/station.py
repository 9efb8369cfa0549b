"""The station contract: everything the core, the KPIs, the command layer, the results and the
servers call on a station, declared in one place.

A station kind is a pair registered under its ``kind:`` name (:func:`twin.registry.register`):
a pydantic *spec* (a subclass of :class:`twin.specs.StationSpec` that adds only the fields its
runtime reads) and a *runtime* class that subclasses :class:`Station`. The core never probes a
station with ``hasattr``/``getattr`` and never names a concrete kind: what a kind can do is
declared here, and what it does not support it declares too (:attr:`Station.accepts`), so a
command it cannot honour is refused with a message instead of being accepted and ignored.

Buffers talk to the *units* of a station (the resources that take and hand over parts) through
two small ports, :class:`Consumer` and :class:`Producer`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, NamedTuple, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Part, Run

__all__ = ["Station", "RoutedStation", "Consumer", "Producer", "BufferPort", "ToolLife", "Outlook"]


class Consumer(Protocol):
    """A unit waiting (starved) at a buffer; the buffer hands it a part."""

    def receive(self, part: "Part") -> None: ...


class Producer(Protocol):
    """A unit blocked at a full buffer with ``part`` in hand; the buffer calls :meth:`handed_over`
    once it took the part (the call may come a moment later, never nested in the buffer's own call)."""

    part: "Part | None"
    #: the station the producer belongs to (transports pick parts up there)
    station_name: str

    def handed_over(self) -> None: ...


class BufferPort(Protocol):
    """What stations call on their inputs and destinations (buffers, the source, the sink)."""

    def put(self, part: "Part", producer: Producer) -> bool: ...
    def get(self) -> "Part | None": ...
    def peek(self) -> "Part | None": ...
    def wait(self, consumer: Consumer) -> None: ...
    def unwait(self, consumer: Consumer) -> None: ...
    def unblock_wait(self, producer: Producer) -> None: ...
    def queued(self) -> Iterable["Part"]: ...


class ToolLife(NamedTuple):
    """One tool in the magazine of a station's first unit, with its wear (read-only; OPC 40501
    ``Equipment/Tools`` and ``ToolChangePrognosis``)."""

    name: str  #: the tool's name in the scenario
    number: int  #: magazine position, 1-based
    policy: str  #: ``"wear"`` (replaced at its Taylor life) or ``"count"`` (after ``max_parts``)
    used: float  #: wear: cutting time used at the planned cuts [s]; count: parts made with it
    limit: float  #: wear: tool life at the planned cuts [s]; count: ``max_parts``
    change_at: float | None  #: predicted sim time [s] of its next replacement (None: not used by the planned part)


class Outlook(NamedTuple):
    """What a station predicts from its own state about its first unit (read-only; OPC 40501
    ``PartLoadPrognosis``, ``PartUnloadPrognosis``, ``MaintenancePrognosis``). Times are sim
    times [s], assuming the station keeps working at its ideal pace from now."""

    unload_at: float | None = None  #: end of the cycle in hand (None: no cycle running)
    part: int | None = None  #: id of the part in hand
    product: str | None = None  #: product of the part in hand
    load_at: float | None = None  #: when the next part is loaded (None: none waiting)
    next_product: str | None = None  #: product of the next part waiting
    maintenance: tuple = ()  #: ((sim time [s], plan name), ...) of the station's own preventive plans


class Station(ABC):
    """Base class of every station runtime (machines, furnaces, robots, AGV fleets, ...).

    Construction: ``Runtime(run, name, spec)``. After every station and buffer exists, the
    engine calls :meth:`add_input` for each buffer that feeds the station, then :meth:`start`.
    """

    #: the ``kind:`` name
    kind: ClassVar[str] = ""
    #: the commands of :data:`twin.commands.COMMANDS` this kind honours; any other command aimed
    #: at it is refused (CommandError, or a scenario error for a rule)
    accepts: ClassVar[frozenset[str]] = frozenset({"hold", "stop", "start", "request_maintenance", "release"})

    run: "Run"
    name: str
    spec: Any

    # ---- assembly ------------------------------------------------------------------------------
    def add_input(self, buf: BufferPort) -> None:
        """A buffer (or the source) that feeds this station. Stations off the routings (robots,
        AGV fleets) have no inputs and refuse one."""
        raise TypeError(f"station {self.name!r} ({self.kind}) takes no parts from buffers")

    @abstractmethod
    def start(self) -> None:
        """Called once, after the whole plant is assembled, at time 0."""

    # ---- stops ---------------------------------------------------------------------------------
    @abstractmethod
    def set_stop(self, code: int, delta: int) -> None:
        """Add (``delta`` = +1) or remove (-1) one stop of ``code`` (:class:`twin.states.Code`:
        off shift, break, planned maintenance, hold) on every resource of the station. Stops
        stack: the station works again when the last one is removed."""

    # ---- what the results and KPIs read --------------------------------------------------------
    @abstractmethod
    def resource_count(self) -> int:
        """Resources (units, arms, vehicles) the station logs in the state log."""

    def ideal_cycle_times(self) -> dict[tuple[int, int], float]:
        """PRI (ISO 22400) per (product index, routing step) that runs here; empty off the routings."""
        return {}

    @abstractmethod
    def power_by_state(self) -> list[float]:
        """Electrical power [W] of one resource in each state code (index = code)."""

    def process_energy_J(self) -> float:
        """Energy of the process itself [J] (cutting, heating, arc), added to the state-based energy."""
        return 0.0

    def tables(self) -> dict[str, Any]:
        """Arrow tables the station adds to the result (``physics_<name>``, ``signals_<name>``, ...)."""
        return {}

    # ---- tags ------------------------------------------------------------------------------------
    @abstractmethod
    def tags(self) -> dict[str, Any]:
        """The station's signals (MTConnect / OPC 40501 style names), see docs/api.md."""

    def tag(self, key: str) -> Any:
        """One tag (kinds may compute single tags cheaply for rule scans)."""
        return self.tags().get(key)

    # ---- prognoses (read-only; the OPC UA server shows them) --------------------------------------
    def tool_life(self) -> list[ToolLife]:
        """The tools of the first unit with their wear; empty for kinds without tools."""
        return []

    def outlook(self) -> Outlook:
        """Predicted unload, load and preventive maintenance times; empty where the kind predicts none."""
        return Outlook()

    # ---- commands (only those in :attr:`accepts` are ever called) --------------------------------
    #: the feed override in force (1.0 = 100 %), or None where the kind has none
    feed_override: float | None = None

    def set_feed_override(self, value: float) -> None:
        raise NotImplementedError

    def queued_parts(self) -> list["Part"]:
        """Parts waiting at this station's inputs (for ``dispatch``)."""
        return []

    def set_next_part(self, part_id: int | None) -> None:
        raise NotImplementedError

    def maintenance_plan(self, index: int) -> tuple[float, str | None, str]:
        """(duration [s], crew, name) of the station's maintenance plan ``index`` (KeyError if none)."""
        raise KeyError(index)

    def start_maintenance(self, duration: float, crew: str | None = None, name: str = "command") -> None:
        """Planned maintenance now: stop, wait for a crew member (if any), work ``duration``, then
        restart as good as new; logged (the result's ``maintenance`` table) under ``name``."""
        raise NotImplementedError


class RoutedStation(Station):
    """A station on the routings: it takes parts from its inputs, has an ideal cycle time per
    (product, step) it runs (``pri``), a power draw per state (``power_by_code``) and process
    energy (``extra_energy_J``). Machines and furnaces share these parts of the contract."""

    inputs: list
    pri: dict
    power_by_code: list
    extra_energy_J: float = 0.0

    def add_input(self, buf: BufferPort) -> None:
        if buf not in self.inputs:
            self.inputs.append(buf)

    def ideal_cycle_times(self) -> dict[tuple[int, int], float]:
        return dict(self.pri)

    def power_by_state(self) -> list[float]:
        return list(self.power_by_code)

    def process_energy_J(self) -> float:
        return self.extra_energy_J

    def queued_parts(self) -> list["Part"]:
        return [p for b in self.inputs for p in b.queued()]
