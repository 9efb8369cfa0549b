"""Station, buffer and handling kinds. Importing this package registers every kind."""

from . import buffer, conveyor, forming_welding, furnace, handling, inspection, machine, machining, sink, source  # noqa: F401  (registration side effects)
