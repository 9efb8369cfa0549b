"""Declarative automation rules, evaluated like a PLC scan.

.. code-block:: yaml

    rules:
      - name: conwip
        when: "plant.wip >= 30"          # TAG OP NUMBER
        then: {command: release_hold}
        otherwise: {command: release_resume}
        hysteresis: 5                    # switch back only when the tag is 5 below the threshold
        delay: 2 min                     # the condition must hold this long before acting
      scan: 10 s                         # (per rule) scan period, like a PLC cycle

Every rule reads the tag table and writes through the command layer (source ``rule:NAME``), so
rules, API clients and OPC UA obey the same validation, logging and one-writer rule. Rules add
one scheduled event per scan period, and only when the scenario has rules.
"""

from __future__ import annotations

import operator
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .commands import RuleCommand
from .units import Seconds

__all__ = ["Rule", "install_rules", "parse_condition"]

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}
_COND = re.compile(r"^\s*([A-Za-z0-9_.#|:-]+)\s*(>=|<=|==|!=|>|<)\s*(-?[\d.]+|\w+)\s*$")


def parse_condition(text: str) -> tuple[str, str, Any]:
    """``'B1.level >= 5'`` -> ``('B1.level', '>=', 5.0)``; ValueError naming what it expected."""
    m = _COND.match(text)
    if not m:
        raise ValueError(f"cannot read condition {text!r}: expected TAG OP VALUE, e.g. 'B1.level >= 5'")
    tag, op, val = m.groups()
    try:
        val = float(val)
    except ValueError:
        pass
    return tag, op, val


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = "rule"
    when: str = Field(description="TAG OP VALUE, e.g. 'B1.level >= 5' or 'L1.execution == INTERRUPTED'")
    then: RuleCommand = Field(description="the command when the condition becomes true (see twin.commands)")
    otherwise: RuleCommand | None = Field(default=None, description="the command when it becomes false again")
    hysteresis: float = Field(default=0.0, ge=0)
    delay: Seconds = Field(default=0.0, ge=0)
    scan: Seconds = Field(default=1.0, gt=0)

    @field_validator("when")
    @classmethod
    def _cond(cls, v: str) -> str:
        parse_condition(v)
        return v

    def parts(self):
        return parse_condition(self.when)


def install_rules(run, rules: list[Rule]) -> None:
    """Schedule each rule's scan on the run."""
    from .commands import CommandError, apply_command

    for rule in rules:
        tag, op, val = rule.parts()
        state = {"active": False, "since": None}
        fn = _OPS[op]

        def cond(v, active, rule=rule, fn=fn, val=val, op=op):
            if isinstance(val, float) and rule.hysteresis and active:
                # stay active until the value has moved hysteresis beyond the threshold
                if op in (">=", ">"):
                    return v > val - rule.hysteresis
                if op in ("<=", "<"):
                    return v < val + rule.hysteresis
            return fn(v, val)

        def scan(ev, rule=rule, tag=tag, state=state, cond=cond):
            v = run.observed_tag(tag)
            if v is None:
                if run.now + rule.scan < run.horizon:
                    run.at(run.now + rule.scan, scan)
                return
            now = run.now
            met = bool(cond(v, state["active"]))
            if met != state["active"]:
                if state["since"] is None:
                    state["since"] = now
                if now - state["since"] >= rule.delay:
                    state["active"] = met
                    state["since"] = None
                    cmd = rule.then if met else rule.otherwise
                    if cmd is not None:
                        try:
                            apply_command(run, cmd, source=f"rule:{rule.name}")
                        except CommandError:
                            pass  # logged as rejected by the command layer
            else:
                state["since"] = None
            if now + rule.scan < run.horizon:
                run.at(now + rule.scan, scan)

        run.at(rule.scan, scan)
