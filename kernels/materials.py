"""Material and tool data with their sources.

``MATERIALS``: Kienzle constants by VDI 3323 material group (kc1.1 at h = b = 1 mm, converted
from N/mm^2 to Pa, and mc) as printed in tool-maker catalogue tables (ISCAR turning catalogue
2017 p. 558, "Material groups according to DIN/ISO 513 and VDI 3323"); thermophysical
properties at 300 K from Incropera & DeWitt, Fundamentals of Heat and Mass Transfer, Table A.1;
linear expansion coefficients and strengths from typical handbook values (steel 12e-6 1/K,
aluminium 23e-6 1/K). Published tables for the same steel family differ by up to ~25 % in
kc1.1: pass your own values where you have them.

``TAYLOR_TOOLS``: Taylor n and C [m/min, T in min] for steel, Groover, Fundamentals of Modern
Manufacturing, Table 22.2. ``taylor_C_si`` converts C once to SI (v in m/s, T in s).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Material", "MATERIALS", "get_material", "TAYLOR_TOOLS", "taylor_C_si", "get_tool"]


class Material(NamedTuple):
    kc11: float  # [Pa] specific cutting force at h = b = 1 mm
    mc: float  # [-] Kienzle exponent
    rho: float  # [kg/m^3]
    cp: float  # [J/(kg K)]
    k: float  # [W/(m K)]
    alpha: float  # [1/K] linear expansion
    uts: float  # [Pa] ultimate tensile strength
    shear: float  # [Pa] shear strength (blanking)
    group: str
    source: str


_VDI = "VDI 3323 group table (ISCAR turning catalogue 2017 p.558); Incropera Table A.1"
MATERIALS: dict[str, Material] = {
    "S235": Material(1350e6, 0.21, 7854, 434, 60.5, 12e-6, 400e6, 0.8 * 400e6, "non-alloy steel <0.25 %C annealed", _VDI),
    "C45": Material(1500e6, 0.22, 7850, 434, 50.0, 12e-6, 650e6, 0.8 * 650e6, "non-alloy steel >=0.25 %C annealed", _VDI),
    "C45_QT": Material(1675e6, 0.24, 7850, 434, 48.0, 12e-6, 800e6, 0.8 * 800e6, "non-alloy steel <0.55 %C Q&T", _VDI),
    "42CrMo4": Material(1725e6, 0.24, 7850, 460, 42.6, 12.5e-6, 1000e6, 0.8 * 1000e6, "low-alloy steel Q&T", _VDI),
    "16MnCr5": Material(1775e6, 0.24, 7850, 460, 44.0, 12e-6, 600e6, 0.8 * 600e6, "low-alloy steel annealed", _VDI),
    "X5CrNi18-10": Material(2150e6, 0.20, 7900, 477, 14.9, 17.3e-6, 600e6, 0.8 * 600e6, "austenitic stainless (AISI 304)", _VDI),
    "GJL-250": Material(1150e6, 0.20, 7200, 510, 46.0, 10.5e-6, 250e6, 1.1 * 250e6, "grey cast iron", _VDI),
    "GJS-500": Material(1225e6, 0.25, 7100, 515, 36.0, 11e-6, 500e6, 0.9 * 500e6, "nodular cast iron", _VDI),
    "AlMg3": Material(750e6, 0.25, 2660, 900, 140.0, 23.8e-6, 220e6, 0.6 * 220e6, "wrought aluminium", _VDI),
    "AlSi10Mg": Material(725e6, 0.25, 2680, 900, 150.0, 21e-6, 250e6, 0.6 * 250e6, "cast aluminium", _VDI),
    "DC04": Material(1350e6, 0.21, 7850, 434, 60.0, 12e-6, 350e6, 0.8 * 350e6, "deep-drawing sheet steel", _VDI),
}


def get_material(name: str) -> Material:
    try:
        return MATERIALS[name]
    except KeyError:
        raise KeyError(f"unknown material {name!r}; known: {', '.join(sorted(MATERIALS))} (twin.kernels.materials.MATERIALS)") from None


#: tool material -> (n, C [m/min with T in min]) for steel, Groover Table 22.2
TAYLOR_TOOLS: dict[str, tuple[float, float]] = {
    "HSS": (0.125, 70.0),
    "carbide": (0.25, 500.0),
    "coated_carbide": (0.25, 700.0),
    "cermet": (0.25, 600.0),
    "ceramic": (0.6, 3000.0),
}


def taylor_C_si(C_m_per_min: float, n: float) -> float:
    """Taylor constant for v [m/s] and T [s]: ``C_SI = C * 60**(n - 1)``.

    >>> round(taylor_C_si(70.0, 0.125), 6)
    1.946327
    """
    return C_m_per_min * 60.0 ** (n - 1.0)


def get_tool(name: str) -> tuple[float, float]:
    """(n, C_SI) of a tool material in ``TAYLOR_TOOLS``."""
    try:
        n, c = TAYLOR_TOOLS[name]
    except KeyError:
        raise KeyError(f"unknown tool material {name!r}; known: {', '.join(sorted(TAYLOR_TOOLS))} (twin.kernels.materials.TAYLOR_TOOLS)") from None
    return n, taylor_C_si(c, n)
