"""The material table: every material has every field with a recorded source, values in plausible
ranges, the named issue-18 materials exist, and the machining, forming and heat kernels run on
each of them."""

import math

import numpy as np
import pytest

import twin.kernels as K
from twin.kernels.materials import FIELDS

NAMES = sorted(K.MATERIALS)

# plausible ranges near room temperature (SI); steels, cast irons and aluminium alloys
RANGES = {"kc11": (5e8, 3e9), "mc": (0.1, 0.4), "rho": (2500.0, 8100.0), "cp": (380.0, 1000.0), "k": (10.0, 250.0),
          "alpha": (8e-6, 3e-5), "uts": (1e8, 1.5e9)}


def test_issue18_materials_exist():
    for name in ("S355", "P265GH", "C45", "16MnCr5", "EN-GJL-250", "AlSi10Mg"):
        assert name in K.MATERIALS, name
    assert K.get_material("GJL-250") is K.get_material("EN-GJL-250")  # the old short name still works
    assert len({id(m) for m in K.MATERIALS.values()}) >= 13


@pytest.mark.parametrize("name", NAMES)
def test_every_field_present_sourced_and_plausible(name):
    m = K.get_material(name)
    assert m.group and m.source
    for f in FIELDS:
        v = getattr(m, f)
        assert isinstance(v, float | int) and math.isfinite(v) and v > 0, (name, f)
        assert m.refs.get(f, "").strip(), f"{name}.{f} has no source"
        if f in RANGES:
            lo, hi = RANGES[f]
            assert lo <= v <= hi, (name, f, v)
    assert 0.5 * m.uts <= m.shear <= 1.2 * m.uts, name
    a = K.thermal_diffusivity(m.k, m.rho, m.cp)
    assert 3e-6 <= a <= 1e-4, (name, a)
    if m.rho < 4000:  # aluminium: light, conductive, large expansion
        assert m.k > 100 and m.alpha > 2e-5
    else:
        assert m.k < 70 and m.alpha < 1.8e-5


def test_sourced_values_match_their_sources():
    """Spot checks of values against the documents named in refs."""
    s355 = K.get_material("S355")
    assert s355.k == pytest.approx(54 - 3.33e-2 * 20, abs=0.05)  # EN 1993-1-2 at 20 C
    assert s355.cp == pytest.approx(425 + 0.773 * 20 - 1.69e-3 * 20 ** 2 + 2.22e-6 * 20 ** 3, abs=0.5)
    assert 470e6 <= s355.uts <= 630e6 and 410e6 <= K.get_material("P265GH").uts <= 530e6
    gjl = K.get_material("EN-GJL-250")
    assert (gjl.rho, gjl.cp, gjl.k, gjl.shear) == (7200, 460, 48.5, 290e6)  # EN 1561 annex
    assert K.get_material("16MnCr5")[:6] == (1775e6, 0.24, 7760, 431, 44.0, 11.5e-6)  # VDI 3323 group 6; DEW 1.7131
    # a VDI 3323 group shares one pair of Kienzle constants
    assert {(K.get_material(n).kc11, K.get_material(n).mc) for n in ("S235", "S355", "P265GH", "DC04")} == {(1350e6, 0.21)}


@pytest.mark.parametrize("name", NAMES)
def test_kernels_run_on_every_material(name):
    m = K.get_material(name)
    fc = K.turning_force(2.5e-4, 2e-3, math.radians(95), m.kc11, m.mc)
    assert 200.0 < fc < 3000.0
    assert K.cutting_power(fc, 3.0) == pytest.approx(3 * fc)
    assert K.milling_force_mean(1e-4, 3e-3, 8e-3, 16e-3, 4, math.radians(90), m.kc11, m.mc) > 0
    assert K.drilling_force(2e-4, 10e-3, m.kc11, m.mc, math.radians(118)) > 0
    assert K.blanking_force(math.pi * 0.05, 2e-3, m.shear) == pytest.approx(math.pi * 0.05 * 2e-3 * m.shear)
    t = K.time_to_core_temperature(K.heat.CYLINDER, 0.02, m.k, m.rho, m.cp, 150.0, 293.15, 1123.15, 1103.15)
    assert 60.0 < t < 3600.0
    dL = K.thermal_expansion(0.1, m.alpha, 100.0)
    assert 8e-5 < dL < 3e-4
    # and through the batch kernel with a one-material table
    n = 4
    tt = K.batch.tool_tables([math.radians(95)], [8e-4], [0.25], [K.taylor_C_si(500.0, 0.25)])
    out = [np.empty(n) for _ in range(4)]
    K.cuts_batch(np.full(n, 2.5e-4), np.full(n, 2e-3), np.full(n, 3.0), np.full(n, 10.0), np.zeros(n, np.int64), np.zeros(n, np.int64),
                 np.array([m.kc11]), np.array([m.mc]), *tt, *out)
    assert out[0][0] == pytest.approx(fc, rel=1e-12)
