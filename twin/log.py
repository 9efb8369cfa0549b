"""Columnar event logs.

Each log is a set of typed ``array.array`` columns appended in place (amortised
preallocation, a few tens of nanoseconds per value, 22 bytes per state-log row); they become
numpy arrays without copying and Arrow tables for export. No lists of dicts.
"""

from __future__ import annotations

from array import array

import numpy as np

__all__ = ["Columns", "StateLog", "OpsLog", "PartLog", "LevelLog", "FailureLog", "CommandLog", "FeatureLog", "MaintenanceLog"]


class Columns:
    """A table of typed columns. Subclasses set ``schema``: name -> array typecode."""

    schema: dict[str, str] = {}

    def __init__(self) -> None:
        self.cols = {name: array(tc) for name, tc in self.schema.items()}
        for name, col in self.cols.items():
            setattr(self, name, col)

    def __len__(self) -> int:
        return len(next(iter(self.cols.values()))) if self.cols else 0

    def numpy(self, copy: bool = True) -> dict[str, np.ndarray]:
        """Columns as numpy arrays. ``copy=False`` shares the memory (the log then cannot grow
        any more: use it only when the run is over)."""
        out = {}
        for name, col in self.cols.items():
            a = np.frombuffer(col, dtype=col.typecode) if len(col) else np.zeros(0, dtype=col.typecode)
            out[name] = a.copy() if copy else a
        return out

    def nbytes(self) -> int:
        return sum(c.itemsize * c.buffer_info()[1] for c in self.cols.values())


class StateLog(Columns):
    """One row per state change of a resource: time, resource id, state code, part id (-1: none)."""

    schema = {"t": "d", "resource": "i", "code": "b", "part": "q"}


class OpsLog(Columns):
    """One row per finished operation."""

    schema = {"part": "q", "resource": "i", "step": "i", "t_start": "d", "t_end": "d", "outcome": "b"}


class FeatureLog(Columns):
    """Per-part records of the process models: one row per (part, routing step, feature); station
    and feature names are indices into ``stations`` / ``features``."""

    schema = {"t": "d", "part": "q", "step": "i", "station": "i", "feature": "i", "value": "d"}

    def __init__(self) -> None:
        super().__init__()
        self.stations: dict[str, int] = {}
        self.features: dict[str, int] = {}

    def table(self):
        """As an Arrow table (station and feature dictionary-encoded), or None when empty."""
        if not len(self):
            return None  # (before importing pyarrow: a run without records does not pay its import)
        import pyarrow as pa

        cols = self.numpy()
        st = pa.DictionaryArray.from_arrays(pa.array(cols["station"]), pa.array(list(self.stations), pa.string()))
        ft = pa.DictionaryArray.from_arrays(pa.array(cols["feature"]), pa.array(list(self.features), pa.string()))
        return pa.table({"t": cols["t"], "part": cols["part"], "step": cols["step"], "station": st, "feature": ft,
                         "value": cols["value"]})


class PartLog(Columns):
    """Part events: release (with product and due date), completion, scrap."""

    schema = {"t": "d", "part": "q", "event": "b", "product": "i", "due": "d"}


class LevelLog(Columns):
    """Buffer level after each change."""

    schema = {"t": "d", "buffer": "i", "level": "i"}


class MaintenanceLog(Columns):
    """Planned maintenance started: time, resource, plan (index into ``plans``: a plan's name, or
    'command' for a commanded one), duration of the work [s]."""

    schema = {"t": "d", "resource": "i", "plan": "i", "duration": "d"}

    def __init__(self) -> None:
        super().__init__()
        self.plans: dict[str, int] = {}

    def add(self, t: float, resource: int, plan: str, duration: float) -> None:
        self.t.append(t)
        self.resource.append(resource)
        self.plan.append(self.plans.setdefault(plan, len(self.plans)))
        self.duration.append(duration)

    def table(self, resources: list[str]):
        """As an Arrow table (resource and plan names), or None when empty."""
        if not len(self):
            return None  # (before importing pyarrow)
        import pyarrow as pa

        cols = self.numpy()
        res = pa.DictionaryArray.from_arrays(pa.array(cols["resource"]), pa.array(resources, pa.string()))
        plan = pa.DictionaryArray.from_arrays(pa.array(cols["plan"]), pa.array(list(self.plans), pa.string()))
        return pa.table({"t": cols["t"], "resource": res, "plan": plan, "duration": cols["duration"]})


class FailureLog(Columns):
    """Failure events: time, resource, failure profile index, time to repair drawn."""

    schema = {"t": "d", "resource": "i", "profile": "i", "ttr": "d"}


class CommandLog:
    """Commands written by automation: (t, source, target, command, value, accepted, message)."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def append(self, *row) -> None:
        self.rows.append(row)
