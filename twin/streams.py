"""Named random streams.

Every random quantity in a run is drawn from its own stream, identified by
``(seed, replication, entity, purpose)``: for example ``("L1", "process:shaft")`` or
``("L1", "failure:spindle:tbf")``. Streams are derived from a ``numpy.random.SeedSequence``
whose spawn key is built from those *names* (not from creation order), so

* the same scenario and seed give the same draws, whatever else the plant contains;
* two scenarios that share a station share its streams (common random numbers): changing a
  downstream buffer does not move an upstream station's failure times.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["RandomStreams", "name_key"]


def name_key(name: str) -> tuple[int, int]:
    """Two 32-bit words from a stable hash of ``name`` (platform and process independent)."""
    d = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(d[:4], "little"), int.from_bytes(d[4:], "little")


class RandomStreams:
    """Factory of independent generators for one (seed, replication)."""

    def __init__(self, seed: int, replication: int = 0):
        if seed < 0:
            raise ValueError("seed must be >= 0")
        self.seed = int(seed)
        self.replication = int(replication)

    def seed_sequence(self, entity: str, purpose: str) -> np.random.SeedSequence:
        key = (self.replication, *name_key(entity), *name_key(purpose))
        return np.random.SeedSequence(self.seed, spawn_key=key)

    def generator(self, entity: str, purpose: str) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self.seed_sequence(entity, purpose)))
