"""Material and tool data with their sources.

``MATERIALS``: name -> :class:`Material`: Kienzle constants (kc1.1 at h = b = 1 mm, converted from
N/mm^2 to Pa, and mc), thermophysical properties near room temperature (rho, cp, k, linear
expansion alpha) and strengths (ultimate tensile strength Rm, shear strength for blanking). Each
record names the source of every value in ``refs`` (field -> source); ``source`` summarises.

Sources used:

* Kienzle kc1.1 / mc by VDI 3323 material group, as printed in tool-maker catalogue tables
  (ISCAR turning catalogue 2017 p. 558, "Material groups according to DIN/ISO 513 and VDI 3323";
  same table in ``shared/reference/README.md``). Groups are by composition and heat treatment,
  so steels of one group (S235, S355, P265GH) share constants; published tables for one steel
  family differ by up to ~25 % in kc1.1: pass your own values where you have them.
* Steel thermal data: Incropera & DeWitt, Fundamentals of Heat and Mass Transfer, 6th ed.,
  Table A.1 (300 K); EN 1993-1-2:2005 sec. 3.2.2 and 3.4.1 (carbon steel at 20 C:
  rho = 7850 kg/m^3, lambda = 54 - 3.33e-2 T = 53.3 W/(m K), c = 425 + 0.773 T - 1.69e-3 T^2
  + 2.22e-6 T^3 = 440 J/(kg K)); EN 1993-1-1 sec. 3.2.6 (alpha = 12e-6 1/K); steel-maker data
  sheets where named.
* Strengths: the product standards (EN 10025-2, EN 10028-2, EN 10083-2/-3, EN 10088-2, EN 10130,
  EN 1561, EN 1706); where a standard gives a range, the value and the range are stated. Shear
  strength for blanking ~0.8 Rm for steel (Schuler, Metal Forming Handbook, Springer 1998,
  sec. 4.2) and 0.6 Rm for aluminium (Aluminum Association, Aluminum Design Manual: Fsu = 0.6 Ftu)
  unless the standard gives it (EN 1561 for grey iron).

Values marked "not verified" were in the table before their source was recorded; they are
typical for the material but no named document was checked.

``TAYLOR_TOOLS``: Taylor n and C [m/min, T in min] for steel, Groover, Fundamentals of Modern
Manufacturing, Table 22.2. ``taylor_C_si`` converts C once to SI (v in m/s, T in s).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, NamedTuple

__all__ = ["Material", "MATERIALS", "FIELDS", "get_material", "TAYLOR_TOOLS", "taylor_C_si", "get_tool"]

#: numeric fields of a :class:`Material`, each with a source in ``refs``
FIELDS = ("kc11", "mc", "rho", "cp", "k", "alpha", "uts", "shear")


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
    refs: Mapping[str, str] = MappingProxyType({})  # field -> source of its value


def _refs(**kw: str) -> Mapping[str, str]:
    out = {}
    for key, text in kw.items():
        for field in key.split("__"):
            out[field] = text
    return MappingProxyType(out)


_VDI = "VDI 3323 group table, ISCAR turning catalogue 2017 p. 558"
_INC = "Incropera & DeWitt 6th ed. Table A.1 (300 K)"
_EC3_RHO = "EN 1993-1-2 sec. 3.2.2: 7850 kg/m^3 for carbon steel"
_EC3_CP = "EN 1993-1-2 sec. 3.4.1.2 (carbon steel) at 20 C: 440 J/(kg K)"
_EC3_K = "EN 1993-1-2 sec. 3.4.1.3 (carbon steel) at 20 C: 53.3 W/(m K)"
_EC3_ALPHA = "EN 1993-1-1 sec. 3.2.6: 12e-6 1/K"
_SCHULER = "0.8 Rm (Schuler, Metal Forming Handbook 1998, sec. 4.2)"
_ADM = "0.6 Rm (Aluminum Design Manual: Fsu = 0.6 Ftu)"
_OLD = "typical value, not verified"

_EN1561 = "EN 1561 informative annex table for EN-GJL-250"
_GJL250 = Material(1150e6, 0.20, 7200, 460, 48.5, 11.7e-6, 250e6, 290e6, "grey cast iron (VDI 3323 grey cast iron)",
                   "EN 1561 (EN-GJL-250); VDI 3323 group table (ISCAR)",
                   _refs(kc11__mc=f"{_VDI}: grey cast iron 1150 N/mm^2, 0.20",
                         rho=f"{_EN1561}: 7.20 g/cm^3", cp=f"{_EN1561}: 460 J/(kg K), 20-200 C",
                         k=f"{_EN1561}: 48.5 W/(m K) at 100 C", alpha=f"{_EN1561}: 11.7e-6 1/K, 20-200 C",
                         uts="EN 1561: Rm 250-350 MPa (separately cast sample); minimum taken",
                         shear=f"{_EN1561}: shear strength 290 MPa"))

MATERIALS: dict[str, Material] = {
    "S235": Material(1350e6, 0.21, 7854, 434, 60.5, 12e-6, 400e6, 0.8 * 400e6, "non-alloy steel <0.25 %C annealed", f"{_VDI}; {_INC}",
                     _refs(kc11__mc=f"{_VDI}: group 1, 1350 N/mm^2, 0.21", rho__cp__k=f"{_INC}: plain carbon steel", alpha=_EC3_ALPHA,
                           uts="EN 10025-2 S235: Rm 360-510 MPa (3 <= t <= 100 mm)", shear=_SCHULER)),
    "S355": Material(1350e6, 0.21, 7850, 440, 53.3, 12e-6, 550e6, 0.8 * 550e6, "non-alloy structural steel <0.25 %C (S355J2, EN 10025-2)",
                     f"{_VDI}; EN 1993-1-2; EN 10025-2",
                     _refs(kc11__mc=f"{_VDI}: group 1 (unalloyed, C <= 0.24 %), 1350 N/mm^2, 0.21", rho=_EC3_RHO, cp=_EC3_CP, k=_EC3_K,
                           alpha=_EC3_ALPHA, uts="EN 10025-2 S355: Rm 470-630 MPa (3 <= t <= 100 mm); mid-range 550 MPa", shear=_SCHULER)),
    "P265GH": Material(1350e6, 0.21, 7850, 440, 53.3, 12e-6, 470e6, 0.8 * 470e6, "non-alloy pressure-vessel steel <0.25 %C (EN 10028-2)",
                       f"{_VDI}; EN 1993-1-2; EN 10028-2",
                       _refs(kc11__mc=f"{_VDI}: group 1 (unalloyed, C <= 0.20 %), 1350 N/mm^2, 0.21",
                             rho=f"{_EC3_RHO} (P265GH is an unalloyed C-Mn steel)", cp=_EC3_CP, k=_EC3_K, alpha=_EC3_ALPHA,
                             uts="EN 10028-2 P265GH: Rm 410-530 MPa (t <= 60 mm); mid-range 470 MPa", shear=_SCHULER)),
    "C45": Material(1500e6, 0.22, 7850, 434, 50.0, 12e-6, 650e6, 0.8 * 650e6, "non-alloy steel >=0.25 %C annealed", f"{_VDI}; {_INC}; data sheets",
                    _refs(kc11__mc=f"{_VDI}: group 2, 1500 N/mm^2, 0.22", rho="7.85 g/cm^3 (C45/1.0503 data sheets)",
                          cp=f"{_INC}: plain carbon steel", k="Meusburger data sheet 1.1730 (C45U): 50 W/(m K) at 20 C", alpha=_EC3_ALPHA,
                          uts="EN 10083-2 C45+N: Rm >= 620 MPa (d <= 16 mm)", shear=_SCHULER)),
    "C45_QT": Material(1675e6, 0.24, 7850, 434, 48.0, 12e-6, 800e6, 0.8 * 800e6, "non-alloy steel <0.55 %C Q&T", f"{_VDI}; {_INC}",
                       _refs(kc11__mc=f"{_VDI}: group 3, 1675 N/mm^2, 0.24", rho="7.85 g/cm^3 (C45/1.0503 data sheets)",
                             cp=f"{_INC}: plain carbon steel", k=_OLD, alpha=_EC3_ALPHA,
                             uts="EN 10083-2 C45+QT: Rm 650-800 MPa (16 < d <= 40 mm)", shear=_SCHULER)),
    "42CrMo4": Material(1725e6, 0.24, 7850, 460, 42.6, 12.5e-6, 1000e6, 0.8 * 1000e6, "low-alloy steel Q&T", f"{_VDI}; data sheets",
                        _refs(kc11__mc=f"{_VDI}: low-alloy Q&T 1675-1800 N/mm^2, 0.24", rho=_OLD, cp=_OLD, k=_OLD, alpha=_OLD,
                              uts="EN 10083-3 42CrMo4+QT: Rm 1000-1200 MPa (16 < d <= 40 mm)", shear=_SCHULER)),
    "16MnCr5": Material(1775e6, 0.24, 7760, 431, 44.0, 11.5e-6, 600e6, 0.8 * 600e6, "low-alloy case-hardening steel annealed",
                        f"{_VDI}; Deutsche Edelstahlwerke data sheet 1.7131",
                        _refs(kc11__mc=f"{_VDI}: group 6 (low-alloy annealed), 1775 N/mm^2, 0.24",
                              rho__cp__k="Deutsche Edelstahlwerke data sheet 1.7131/1.7139 (2008): 7.76 kg/dm^3, 431 J/(kg K), 44.0 W/(m K) at 20 C",
                              alpha="same data sheet: 11.5e-6 1/K, 20-100 C, soft annealed",
                              uts="soft annealed (+A) max. 207 HB (EN 10084 / DEW data sheet), i.e. Rm up to ~700 MPa; 600 MPa typical",
                              shear=_SCHULER)),
    "X5CrNi18-10": Material(2150e6, 0.20, 7900, 477, 14.9, 17.3e-6, 600e6, 0.8 * 600e6, "austenitic stainless (AISI 304)", f"{_VDI}; {_INC}",
                            _refs(kc11__mc=f"{_VDI}: group 14 (austenitic), 2150 N/mm^2, 0.20", rho__cp__k=f"{_INC}: AISI 304",
                                  alpha="ASM Handbook / AK Steel 304 data: 17.3e-6 1/K, 0-100 C",
                                  uts="EN 10088-2 1.4301: Rm 520-720 MPa (hot-rolled plate)", shear=_SCHULER)),
    "EN-GJL-250": _GJL250,
    "GJL-250": _GJL250,  # the earlier short name of the same record
    "GJS-500": Material(1225e6, 0.25, 7100, 515, 36.0, 11e-6, 500e6, 0.9 * 500e6, "nodular cast iron", f"{_VDI}; typical values",
                        _refs(kc11__mc=f"{_VDI}: nodular cast iron 1225 N/mm^2, 0.25", rho=_OLD, cp=_OLD, k=_OLD, alpha=_OLD,
                              uts="EN 1563 EN-GJS-500-7: Rm >= 500 MPa", shear=f"0.9 Rm, {_OLD}")),
    "AlMg3": Material(750e6, 0.25, 2660, 900, 140.0, 23.8e-6, 220e6, 0.6 * 220e6, "wrought aluminium", f"{_VDI}; typical values",
                      _refs(kc11__mc=f"{_VDI}: wrought aluminium 700-800 N/mm^2, 0.25; mid-range", rho=_OLD, cp=_OLD, k=_OLD, alpha=_OLD,
                            uts="EN 485-2 EN AW-5754 O: Rm 190-240 MPa", shear=_ADM)),
    "AlSi10Mg": Material(725e6, 0.25, 2650, 890, 150.0, 21e-6, 260e6, 0.6 * 260e6, "cast aluminium (EN AC-43000)", f"{_VDI}; EN 1706; data sheets",
                         _refs(kc11__mc=f"{_VDI}: cast aluminium 700-750 N/mm^2, 0.25; mid-range",
                               rho__k__alpha="Swedish alloy data sheet EN AB-43000 after SS-EN 1706:2010: 2.65 kg/dm^3, 150-170 W/(m K) (lower bound taken), 21e-6 1/K at 293-373 K",
                               cp="EOS Aluminium AlSi10Mg material data sheet (as reproduced by zare.it), heat-treated: 890 J/(kg K)",
                               uts="EN 1706 EN AC-43000, permanent mould T6: Rm >= 260 MPa", shear=_ADM)),
    "DC04": Material(1350e6, 0.21, 7850, 434, 60.0, 12e-6, 350e6, 0.8 * 350e6, "deep-drawing sheet steel", f"{_VDI}; {_INC}",
                     _refs(kc11__mc=f"{_VDI}: group 1, 1350 N/mm^2, 0.21", rho="7850 kg/m^3 (EN 1993-1-2 value for carbon steel)",
                           cp=f"{_INC}: plain carbon steel", k=f"{_INC}: plain carbon steel 60.5 W/(m K), rounded",
                           alpha=_EC3_ALPHA, uts="EN 10130 DC04: Rm 270-350 MPa; maximum taken", shear=_SCHULER)),
}


def get_material(name: str) -> Material:
    """The :class:`Material` called ``name`` in :data:`MATERIALS`, with the source of each value.

    >>> m = get_material("S355")
    >>> m.kc11 / 1e6, m.k, m.refs["uts"]
    (1350.0, 53.3, 'EN 10025-2 S355: Rm 470-630 MPa (3 <= t <= 100 mm); mid-range 550 MPa')
    """
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
