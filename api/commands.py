"""Commands at the server's edge. The request body is strict JSON with the shape of
:class:`~twin.api.models.CommandRequest` (no ``source``: the command's source is the caller's
identity); the command itself is validated by ``twin.commands`` (typed models, then against the
run), which logs refusals in the run's command log too. Its refusals (``CommandError``, message
``field: why``) become a 422 naming the field."""

from __future__ import annotations

import re

_FIELD = r"[A-Za-z_][\w.\[\]]*"


def command_error_detail(exc: Exception) -> list[dict]:
    """``[{"path", "message"}]`` of a :class:`twin.commands.CommandError` (``"value: ..."``)."""
    items = []
    for part in re.split(rf"; (?={_FIELD}: )", str(exc)):
        m = re.match(rf"({_FIELD}): (.*)", part, re.S)
        items.append({"path": m.group(1), "message": m.group(2)} if m else {"path": "command", "message": part})
    return items
