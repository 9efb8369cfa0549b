"""``twin fit``, ``twin forecast``, ``twin snapshot`` (filled in as the live twin grows)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
