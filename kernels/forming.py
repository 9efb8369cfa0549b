"""Sheet-metal forming forces (Groover, Fundamentals of Modern Manufacturing, ch. 20).

Blanking / punching: ``F = S t L`` with shear strength S (or ``0.7 UTS`` when only the tensile
strength is known), thickness t, cut perimeter L. Clearance ``c = Ac t`` (Ac = 0.045-0.075 by
material); a blank's die opening equals the blank size and the punch is ``Db - 2c``.
V-die bending: ``F = Kbf TS w t^2 / D`` with Kbf = 1.33 (V-bending) or 0.33 (edge bending),
w bend length, D die opening. Validity: quasi-static, sharp tools (worn tools need 10-20 %
more force).
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["blanking_force", "blanking_force_uts", "blanking_clearance", "press_tonnage_ok", "bending_force", "SHEAR_FROM_UTS"]

SHEAR_FROM_UTS = 0.7


@njit(cache=True)
def blanking_force(perimeter, thickness, shear_strength):
    """Blanking / punching force F = S t L [N]; perimeter L [m], thickness t [m], S [Pa].

    >>> round(blanking_force(math.pi * 0.15, 0.0032, 310e6))
    467469
    """
    if perimeter <= 0.0 or thickness <= 0.0:
        raise ValueError("perimeter and thickness must be > 0")
    if shear_strength <= 0.0:
        raise ValueError("shear strength must be > 0")
    return shear_strength * thickness * perimeter


@njit(cache=True)
def blanking_force_uts(perimeter, thickness, uts):
    """Blanking force from the tensile strength, S = 0.7 UTS [N].

    >>> round(blanking_force_uts(0.1, 0.002, 500e6))
    70000
    """
    return blanking_force(perimeter, thickness, SHEAR_FROM_UTS * uts)


@njit(cache=True)
def blanking_clearance(thickness, Ac, blank_diameter):
    """(clearance c [m], die diameter [m], punch diameter [m]) for a round blank: c = Ac t,
    die = Db, punch = Db - 2c.

    >>> [round(x, 6) for x in blanking_clearance(0.0032, 0.075, 0.15)]
    [0.00024, 0.15, 0.14952]
    """
    if thickness <= 0.0 or Ac <= 0.0 or blank_diameter <= 0.0:
        raise ValueError("thickness, Ac and diameter must be > 0")
    c = Ac * thickness
    return c, blank_diameter, blank_diameter - 2.0 * c


@njit(cache=True)
def press_tonnage_ok(force, capacity, margin=0.8):
    """True when the required force stays within ``margin`` of the press capacity [N]
    (presses are usually loaded to at most ~80 % of nominal force).

    >>> press_tonnage_ok(467469.0, 1e6)
    True
    """
    if capacity <= 0.0 or not (0.0 < margin <= 1.0):
        raise ValueError("capacity must be > 0 and margin in (0, 1]")
    return force <= margin * capacity


@njit(cache=True)
def bending_force(uts, width, thickness, die_opening, Kbf=1.33):
    """Bending force F = Kbf TS w t^2 / D [N] (Groover eq. 20.11).

    >>> round(bending_force(400e6, 0.1, 0.002, 0.016))
    13300
    """
    if uts <= 0.0 or width <= 0.0 or thickness <= 0.0 or die_opening <= 0.0:
        raise ValueError("uts, width, thickness and die opening must be > 0")
    return Kbf * uts * width * thickness * thickness / die_opening
