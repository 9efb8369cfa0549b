"""The live twin: checkpoint and restore a run exactly, start from a plant snapshot, learn the
model from plant data, forecast the shift, and read snapshots from OPC UA and MTConnect servers.

See ``docs/live.md``. Modules:

* :mod:`twin.live.checkpoint`: ``Run.checkpoint()`` / ``Run.restore()`` (exact, by replay);
* :mod:`twin.live.residual`: remaining-life sampling of every distribution family;
* :mod:`twin.live.snapshot`: the snapshot format and the start of a run from it;
* :mod:`twin.live.fit`: fitting a scenario's distributions to a state log;
* :mod:`twin.live.forecast`: output, due-date risk and bottleneck by a time, with intervals;
* :mod:`twin.live.acquire`: snapshots from an MTConnect agent or an OPC 40001 server.
"""

from .checkpoint import CheckpointError, checkpoint, restore  # noqa: F401
