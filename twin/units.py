"""Units at the scenario boundary.

Scenario files may write quantities with units (``90 s``, ``2.5 min``, ``8 h``, ``0.2 mm``,
``4 kW``, ``200 m/min``, ``450 degC``). They are converted to SI exactly once, when the
scenario is validated; everything inside the twin is a plain float in SI units
(s, m, W, J, K, Pa, kg). Bare numbers are taken to be in SI already.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

__all__ = [
    "ureg",
    "to_si",
    "Seconds",
    "Watts",
    "Meters",
    "MetersPerSecond",
    "Kelvin",
    "Pascal",
    "Newton",
    "Probability",
]


@functools.cache
def ureg():
    """The one pint registry (created on first use; immutable afterwards)."""
    import pint

    reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    reg.define("shift = 8 * hour")
    return reg


_PAIR = re.compile(r"([-+]?\d+(?:\.\d*)?)\s*([a-zA-Z]+)")
_COMPOUND = re.compile(r"^(\s*[-+]?\d+(?:\.\d*)?\s*[a-zA-Z]+)+\s*$")

_SI = {
    "time": "second",
    "power": "watt",
    "length": "meter",
    "velocity": "meter / second",
    "temperature": "kelvin",
    "pressure": "pascal",
    "force": "newton",
    "energy": "joule",
    "mass": "kilogram",
    "frequency": "hertz",
    "dimensionless": "dimensionless",
}


def to_si(value: Any, quantity: str) -> float:
    """Convert ``value`` (number or string with unit) to a float in the SI unit of ``quantity``.

    >>> to_si("2.5 min", "time")
    150.0
    >>> to_si("200 m/min", "velocity")
    3.3333333333333335
    >>> to_si(7, "time")
    7.0
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a {quantity} (number or string with unit), got a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a {quantity} as a number or a string with unit, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError(f"empty {quantity}")
    if text.endswith("%") and quantity == "dimensionless":
        try:
            return float(text[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"cannot read {value!r} as a percentage") from None
    if quantity == "time":
        pairs = _PAIR.findall(text)
        if len(pairs) > 1 and _COMPOUND.match(text):  # '2 d 6 h', '1 h 30 min'
            return sum(to_si(f"{n} {u}", "time") for n, u in pairs)
    reg = ureg()
    try:
        q = reg.Quantity(text)
    except Exception as exc:  # pint raises several unrelated types
        raise ValueError(f"cannot read {value!r} as a {quantity}: {exc}") from None
    target = _SI[quantity]
    if not hasattr(q, "to"):
        return float(q)
    if q.dimensionless and quantity != "dimensionless":
        return float(q.magnitude)
    try:
        return float(q.to(target).magnitude)
    except Exception:
        raise ValueError(
            f"{value!r} is not a {quantity} (has dimension {q.dimensionality}; expected {target})"
        ) from None


def _annotated(quantity: str, example: str):
    schema = {
        "anyOf": [
            {"type": "number"},
            {"type": "string", "description": f"{quantity} with unit, e.g. '{example}'"},
        ]
    }
    return Annotated[
        float,
        BeforeValidator(lambda v: to_si(v, quantity)),
        WithJsonSchema(schema),
    ]


Seconds = _annotated("time", "90 s")
Watts = _annotated("power", "4 kW")
Meters = _annotated("length", "0.2 mm")
MetersPerSecond = _annotated("velocity", "200 m/min")
Kelvin = _annotated("temperature", "450 degC")
Pascal = _annotated("pressure", "600 MPa")
Newton = _annotated("force", "250 kN")
Probability = Annotated[
    float,
    BeforeValidator(lambda v: to_si(v, "dimensionless")),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "string"}]}),
]
