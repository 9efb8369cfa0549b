"""Registry of station and buffer kinds.

The core never imports a concrete process module by name: it asks the registry for the kind
named in the scenario (``kind: machine``). Kinds register themselves when ``twin.processes``
is imported; third-party packages add kinds through the ``twin.kinds`` entry-point group
(each entry point is a module to import).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Literal

from pydantic import BaseModel

__all__ = ["Kind", "Registry", "registry", "register", "register_operation"]


@dataclass(frozen=True)
class Kind:
    name: str
    spec: type[BaseModel]
    runtime: type
    category: Literal["station", "buffer", "source", "sink"]
    doc: str = ""


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, Kind] = {}
        self._operations: dict[str, type] = {}
        self.version = 0
        self._loaded = False
        self._loading = threading.RLock()
        self._local = threading.local()

    def register(self, name: str, spec: type[BaseModel] | None, runtime: type, category: str = "station") -> None:
        if name in self._kinds and self._kinds[name].runtime is not runtime:
            raise ValueError(f"kind {name!r} is already registered by {self._kinds[name].runtime.__module__}")
        if category in ("station", "buffer") and (spec is None or "kind" not in spec.model_fields):
            raise TypeError(f"spec for kind {name!r} needs a 'kind' Literal field")
        self._kinds[name] = Kind(name, spec, runtime, category, (runtime.__doc__ or "").strip())
        self.version += 1

    def ensure_loaded(self) -> None:
        """Import the built-in kinds and the ``twin.kinds`` entry points, once.

        Atomic for other threads: a thread that arrives while another is loading waits until
        every kind is registered, so nobody sees a half-filled registry (a server parsing
        scenarios in several threads at once used to get an empty kind union). The loading
        thread itself may re-enter (a kind module can ask the registry while it is imported).
        A failed import leaves the registry unloaded, so the next call tries again."""
        if self._loaded:
            return
        with self._loading:
            if self._loaded or getattr(self._local, "busy", False):
                return
            self._local.busy = True
            try:
                importlib.import_module("twin.processes")
                for ep in entry_points(group="twin.kinds"):
                    importlib.import_module(ep.value)
                self._loaded = True
            finally:
                self._local.busy = False

    def get(self, name: str) -> Kind:
        self.ensure_loaded()
        try:
            return self._kinds[name]
        except KeyError:
            raise KeyError(f"unknown kind {name!r}; known kinds: {', '.join(sorted(self._kinds))}") from None

    def operations(self) -> dict[str, type]:
        """Operation types (``type:`` of a routing step's ``operations``) the kinds registered."""
        self.ensure_loaded()
        return dict(self._operations)

    def kinds(self, category: str | None = None) -> list[Kind]:
        self.ensure_loaded()
        return [k for k in self._kinds.values() if category is None or k.category == category]


    def register_operation(self, model: type[BaseModel]) -> None:
        """An operation type of routing steps (``operations: [{type: ...}]``): a model whose
        ``type`` field is a Literal of its name(s)."""
        field = model.model_fields.get("type")
        names = getattr(field.annotation, "__args__", ()) if field is not None else ()
        if not names:
            raise TypeError(f"operation model {model.__name__} needs a 'type' Literal field")
        for n in names:
            if n in self._operations and self._operations[n] is not model:
                raise ValueError(f"operation type {n!r} is already registered by {self._operations[n].__module__}")
            self._operations[n] = model
        self.version += 1


registry = Registry()


def register(name: str, spec: type[BaseModel] | None, runtime: type, category: str = "station") -> None:
    """Register a kind (called at import time by process modules)."""
    registry.register(name, spec, runtime, category)


def register_operation(model: type[BaseModel]) -> None:
    """Register an operation type (called at import time by process modules)."""
    registry.register_operation(model)
