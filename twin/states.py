"""The machine state model (OPC 40001-1 MachineryItemState x MachineryOperationMode + reason).

Each resource logs one small integer *state code* per change; the code expands to the three
logged fields. ISO 22400 time elements, MTConnect-style execution values and busy / idle /
blocked / down shares all derive from these codes.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Code", "ITEM_STATES", "OP_MODES", "REASONS", "CODE_FIELDS", "EXECUTION", "state_tags", "Outcome", "PartEvent"]

ITEM_STATES = ["NotAvailable", "OutOfService", "NotExecuting", "Executing"]
OP_MODES = ["None", "Maintenance", "Setup", "Processing"]
REASONS = ["", "starved", "blocked", "held", "failure", "planned_maintenance", "break", "off_shift"]


class Code(IntEnum):
    PROCESSING = 0
    SETUP = 1
    STARVED = 2
    BLOCKED = 3
    HELD = 4
    FAILURE = 5
    PLANNED_MAINTENANCE = 6
    BREAK = 7
    OFF_SHIFT = 8


N_CODES = len(Code)

#: code -> (item_state, op_mode, reason)
CODE_FIELDS = {
    Code.PROCESSING: ("Executing", "Processing", ""),
    Code.SETUP: ("Executing", "Setup", ""),
    Code.STARVED: ("NotExecuting", "Processing", "starved"),
    Code.BLOCKED: ("NotExecuting", "Processing", "blocked"),
    Code.HELD: ("NotExecuting", "Processing", "held"),
    Code.FAILURE: ("OutOfService", "Maintenance", "failure"),
    Code.PLANNED_MAINTENANCE: ("OutOfService", "Maintenance", "planned_maintenance"),
    Code.BREAK: ("NotAvailable", "None", "break"),
    Code.OFF_SHIFT: ("NotAvailable", "None", "off_shift"),
}

#: MTConnect EXECUTION value per code
EXECUTION = {
    Code.PROCESSING: "ACTIVE",
    Code.SETUP: "ACTIVE",
    Code.STARVED: "WAIT",
    Code.BLOCKED: "WAIT",
    Code.HELD: "FEED_HOLD",
    Code.FAILURE: "INTERRUPTED",
    Code.PLANNED_MAINTENANCE: "STOPPED",
    Code.BREAK: "STOPPED",
    Code.OFF_SHIFT: "STOPPED",
}



def state_tags(code: int) -> dict[str, str]:
    """The state tags of a logged code: item_state, operation_mode, reason (ISO 22400 / OPC UA
    machine-tool names) and execution (MTConnect). (A new dict from a table made once: tags are
    read on every lockstep step.)"""
    return dict(STATE_TAGS[code])


#: code -> its state tags (see state_tags; read-only)
STATE_TAGS = {int(c): {"item_state": CODE_FIELDS[c][0], "operation_mode": CODE_FIELDS[c][1], "reason": CODE_FIELDS[c][2],
                        "execution": EXECUTION[c]} for c in Code}


#: Stop reasons in priority order: when several hold, the first is what the log shows.
STOP_PRIORITY = [Code.OFF_SHIFT, Code.BREAK, Code.PLANNED_MAINTENANCE, Code.FAILURE, Code.HELD]


class Outcome(IntEnum):
    GOOD = 0
    SCRAP = 1
    REWORK = 2


class PartEvent(IntEnum):
    RELEASE = 0
    COMPLETE = 1
    SCRAP = 2


OUTCOMES = ["good", "scrap", "rework"]
