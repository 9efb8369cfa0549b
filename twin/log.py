"""Event logs.

Each log is a table with typed columns (``schema``: name -> ``array`` typecode), no lists of
dicts. The logs written on every event or part (state, operations, buffer levels, parts: about 7.4 M
rows for 200k parts on a 10-station line) are :class:`Rows`: each row is packed once (``struct``,
no padding: 21 bytes per state row) onto one ``bytearray``, one call per row instead of one per
value (about 2.5x cheaper for an operation row). The others are :class:`Columns` of
``array.array``. Both give numpy columns (``numpy()``) and Arrow tables for export.
"""

from __future__ import annotations

from array import array
from struct import Struct

import numpy as np

__all__ = ["Columns", "Rows", "StateLog", "OpsLog", "PartLog", "LevelLog", "FailureLog", "CommandLog", "FeatureLog", "MaintenanceLog"]


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


_NP = {"d": "<f8", "i": "<i4", "b": "i1", "q": "<i8"}


class Rows(Columns):
    """A table whose rows are packed with ``struct`` onto one ``bytearray``. Writers bind
    ``writer()`` once and write a row with ``extend(pack(*values))``; readers use ``numpy()``,
    ``rows()`` and ``len()`` (there are no per-column arrays to index). ``numpy(copy=False)``
    (a finished run) moves the rows into contiguous columns once and frees the packed bytes."""

    def __init__(self) -> None:
        self.struct = Struct("<" + "".join(self.schema.values()))
        self.dtype = np.dtype([(n, _NP[tc]) for n, tc in self.schema.items()])  # packed, as the struct
        self.raw = bytearray()
        self.cols = {}
        self._done: dict[str, np.ndarray] | None = None  # rows already moved into columns
        self._n_done = 0

    def writer(self):
        """``(extend, pack)``: ``extend(pack(*row))`` appends a row (values in ``schema`` order)."""
        return self.raw.extend, self.struct.pack

    def append(self, *row) -> None:
        self.raw.extend(self.struct.pack(*row))

    def __len__(self) -> int:
        return self._n_done + len(self.raw) // self.struct.size

    def _packed(self) -> dict[str, np.ndarray]:
        """The rows still packed, as contiguous column copies (no view of ``raw`` is left)."""
        if not self.raw:
            return {name: np.zeros(0, dtype=_NP[tc]) for name, tc in self.schema.items()}
        a = np.frombuffer(self.raw, dtype=self.dtype)
        out = {name: a[name].copy() for name in self.schema}
        del a
        return out

    def numpy(self, copy: bool = True) -> dict[str, np.ndarray]:
        """Columns as numpy arrays. ``copy=False`` hands out the log's own columns (use it only
        when the run is over: they are not copied again)."""
        tail = self._packed()
        if copy:
            done = self._done
            return tail if done is None else {k: np.concatenate([done[k], tail[k]]) for k in tail}
        if self.raw:
            self._done = tail if self._done is None else {k: np.concatenate([self._done[k], tail[k]]) for k in tail}
            self._n_done += len(tail[next(iter(tail))])
            self.raw.clear()
        return dict(self._done) if self._done is not None else tail

    def rows(self, start: int = 0, stop: int | None = None) -> list[tuple]:
        """Rows ``start:stop`` as tuples (values in ``schema`` order)."""
        stop = len(self) if stop is None else min(stop, len(self))
        out: list[tuple] = []
        nd = self._n_done
        if start < min(stop, nd):
            d = self._done
            out += zip(*(d[k][start:min(stop, nd)].tolist() for k in self.schema))
        a, b = max(start, nd) - nd, stop - nd
        if a < b:
            size = self.struct.size
            out += self.struct.iter_unpack(bytes(self.raw[a * size:b * size]))
        return out

    def nbytes(self) -> int:
        return len(self.raw) + (sum(v.nbytes for v in self._done.values()) if self._done is not None else 0)


class StateLog(Rows):
    """One row per state change of a resource: time, resource id, state code, part id (-1: none)."""

    schema = {"t": "d", "resource": "i", "code": "b", "part": "q"}


class OpsLog(Rows):
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


class PartLog(Rows):
    """Part events: release (with product and due date), completion, scrap."""

    schema = {"t": "d", "part": "q", "event": "b", "product": "i", "due": "d"}


class LevelLog(Rows):
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
