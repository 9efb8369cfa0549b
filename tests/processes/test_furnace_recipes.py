"""Batch furnace with recipes, loaded by count and mass, heating from the load: only parts of one
recipe share a load; the load's mass from the parts' geometry and density stays within
max_load; a full load heats more slowly than a part alone (the heating power spread over the
load's surface); the lumped model is refused where Bi >= 0.1; every setting counts or is refused."""

import copy
import math

import numpy as np
import pytest

import twin
import twin.kernels as K

RING = {"shape": "ring", "outer_diameter": "215 mm", "inner_diameter": "110 mm", "thickness": "22 mm"}
SHAFT = {"shape": "cylinder", "diameter": "40 mm", "length": "300 mm"}


def ring_mass_area(do=0.215, di=0.110, t=0.022, rho=7850.0):
    face = math.pi / 4 * (do ** 2 - di ** 2)
    return rho * face * t, 2 * face + math.pi * (do + di) * t, face * t


def scen(ht=None, products=None, pt=60, horizon="2 d", mix=None):
    furnace = {"kind": "furnace", "batch_size": 30, "max_load": "100 kg", "max_wait": "2 h", "heating": "lumped",
               "heating_power": "60 kW", "quench": "10 min",
               "recipes": {"normalise": {"set_temperature": "900 degC", "soak": "30 min"},
                           "temper": {"set_temperature": "600 degC", "soak": "1 h"}}}
    furnace.update(ht or {})
    prods = products or {
        "F100": {"routing": [{"station": "M"}, {"station": "HT", "operations": [
            {"type": "heat_treatment", "recipe": "normalise", "material": "P265GH", "geometry": RING}]}, {"station": "G"}]},
        "SH": {"routing": [{"station": "M"}, {"station": "HT", "operations": [
            {"type": "heat_treatment", "recipe": "temper", "material": "42CrMo4", "geometry": SHAFT}]}, {"station": "G"}]}}
    prods = copy.deepcopy(prods)
    if mix:
        for k, v in mix.items():
            prods[k]["mix"] = v
    if products is not None:  # only the recipes these products use
        used = {op["recipe"] for p in prods.values() for st in p["routing"] for op in st.get("operations", []) if "recipe" in op}
        furnace["recipes"] = {k: v for k, v in furnace["recipes"].items() if k in used}
    return {"horizon": horizon, "seed": 5, "stations": {"M": {"process_time": pt}, "HT": furnace, "G": {"process_time": 5}},
            "products": prods}


def _ops_by_batch(res):
    ops = res.operations.to_pandas()
    return ops[ops["resource"] == "HT"].groupby("t_start")


def test_only_parts_of_one_recipe_share_a_load_and_the_mass_stays_within_max_load():
    res = twin.simulate(scen())
    recipe_of = {"F100": "normalise", "SH": "temper"}
    batches = _ops_by_batch(res)
    assert len(batches) > 10
    for _t, g in batches:
        assert len({recipe_of[str(p)] for p in g["product"]}) == 1
    phys = res.extra_tables["physics_HT"].to_pandas()
    m_ring, _a, _v = ring_mass_area()
    m_shaft = 7850 * math.pi * 0.04 ** 2 / 4 * 0.3
    assert (phys["load_kg"] <= 100 + 1e-9).all()
    full_rings, full_shafts = int(100 // m_ring), int(100 // m_shaft)
    assert full_rings == 21 and full_shafts == 33
    rings = phys[phys["recipe"] == "normalise"]
    shafts = phys[phys["recipe"] == "temper"]
    # rings fill by mass (21 x 4.64 kg); the 2.96 kg shafts fill by count (30 < 33)
    assert rings["parts"].max() == full_rings and rings["load_kg"].max() == pytest.approx(full_rings * m_ring, rel=1e-9)
    assert shafts["parts"].max() == 30
    # the set temperature tag follows the recipe
    run = twin.Run(scen())
    run.run_until(30 * 3600)
    tags = run.tags()
    assert tags["HT.recipe"] in ("normalise", "temper")
    assert tags["HT.temperature_set_K"] == pytest.approx({"normalise": 1173.15, "temper": 873.15}[tags["HT.recipe"]])


def test_a_full_load_heats_more_slowly_than_a_part_alone_heating_from_the_load():
    d = scen(products={"F100": scen()["products"]["F100"]})
    run = twin.Run(d)
    res = run.run()
    phys = res.extra_tables["physics_HT"].to_pandas()
    full = phys[phys["parts"] == 21]
    assert len(full) > 5
    m, A, V = ring_mass_area()
    cp, h = 440.0, 150.0
    q_full = 60e3 / (21 * A)
    t_full = K.load_heating_time(m * cp / A, h, q_full, 293.15, 1173.15, 1163.15)
    assert np.allclose(full["heating_s"], t_full, rtol=1e-12)
    assert np.allclose(full["q_max_W_m2"], q_full, rtol=1e-12)
    # power limited at first: the load heats more slowly than one part alone would
    t_one = K.load_heating_time(m * cp / A, h, 60e3 / A, 293.15, 1173.15, 1163.15)
    assert t_full > 1.2 * t_one
    assert t_full >= 21 * m * cp * (1163.15 - 293.15 - q_full / h) / 60e3
    # cycle and PRI: heating + soak + quench, a full load's cycle shared by its 21 parts
    assert np.allclose(full["t_end"] - full["t_start"], t_full + 1800 + 600, rtol=1e-12)
    assert res.pri_table["HT"][(0, 1)] == pytest.approx((t_full + 2400) / 21, rel=1e-12)
    # energy: heating power while heating, holding power while soaking
    assert run.stations["HT"].extra_energy_J == pytest.approx(sum(60e3 * phys["heating_s"] + 20e3 * 1800), rel=1e-9)


def test_partial_loads_heat_faster_and_exposure_slows_the_heating():
    slow = scen(products={"F100": scen()["products"]["F100"]}, pt=900, ht={"max_wait": "1 h"})
    phys = twin.simulate(slow).extra_tables["physics_HT"].to_pandas()
    m, A, _ = ring_mass_area()
    for n, t in zip(phys["parts"], phys["heating_s"]):
        assert t == pytest.approx(K.load_heating_time(m * 440 / A, 150.0, 60e3 / (n * A), 293.15, 1173.15, 1163.15), rel=1e-12)
    assert phys["parts"].max() < 21
    half = copy.deepcopy(slow)
    half["stations"]["HT"]["exposure"] = 0.5
    ph2 = twin.simulate(half).extra_tables["physics_HT"].to_pandas()
    n = ph2["parts"].iloc[0]
    assert ph2["heating_s"].iloc[0] == pytest.approx(
        K.load_heating_time(m * 440 / A, 75.0, 0.5 * 60e3 / (0.5 * n * A), 293.15, 1173.15, 1163.15), rel=1e-12)
    assert ph2["heating_s"].iloc[0] > phys[phys["parts"] == n]["heating_s"].iloc[0]


def test_conduction_heating_uses_the_parts_thinnest_dimension():
    d = scen(products={"F100": scen()["products"]["F100"]}, ht={"heating": "conduction"})
    phys = twin.simulate(d).extra_tables["physics_HT"].to_pandas()
    m, A, _ = ring_mass_area()
    mat = K.get_material("P265GH")
    full = phys[phys["parts"] == 21]
    # a ring of 52.5 mm wall and 22 mm thickness: a plate of half-thickness 11 mm, its flux scaled by
    # (V/A of the plate) / (V/A of the ring) so that heat enters through the ring's whole surface
    V = ring_mass_area()[2]
    scale = 0.011 / (V / A)
    t = K.core_heating_time(K.heat.SLAB, 0.011, mat.k, mat.rho, mat.cp, scale * 150.0, scale * 60e3 / (21 * A), 293.15,
                            1173.15, 1163.15)
    assert np.allclose(full["heating_s"], t, rtol=1e-12)
    lumped = K.load_heating_time(m * 440 / A, 150.0, 60e3 / (21 * A), 293.15, 1173.15, 1163.15)
    assert t == pytest.approx(lumped, rel=0.02)  # Bi = 0.02: conduction and lumped agree


def _errs(d):
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    return {p: m for p, m in e.value.errors}


def test_the_lumped_model_is_refused_for_a_thick_part_and_conduction_accepted():
    thick = {"shape": "cylinder", "diameter": "200 mm", "length": "400 mm"}
    d = scen(products={"R": {"routing": [{"station": "M"}, {"station": "HT", "operations": [
        {"type": "heat_treatment", "recipe": "temper", "material": "42CrMo4", "geometry": thick}]}]}},
        ht={"max_load": "1000 kg"})
    errs = _errs(d)
    msg = errs["products.R.routing[1].operations[0].geometry"]
    assert "Bi = h (V/A) / k = 0.141" in msg and "heating: conduction" in msg
    d["stations"]["HT"]["heating"] = "conduction"
    twin.parse_scenario(d)


@pytest.mark.parametrize("change,path,text", [
    (lambda d: d["stations"]["HT"].update(set_temperature="850 degC"), "stations.HT", "give set_temperature in each recipe"),
    (lambda d: d["products"]["F100"]["routing"][1]["operations"][0].update(recipe="anneal"),
     "products.F100.routing[1].operations[0].recipe", "has no recipe 'anneal'"),
    (lambda d: d["products"]["F100"]["routing"][1]["operations"][0].pop("recipe"),
     "products.F100.routing[1].operations[0].recipe", "name one of furnace 'HT''s recipes"),
    (lambda d: d["products"]["F100"]["routing"][1].pop("operations"), "products.F100.routing[1].operations", "has recipes"),
    (lambda d: d["stations"]["HT"]["recipes"].update(anneal={"set_temperature": "700 degC"}), "stations.HT.recipes.anneal",
     "no routing step"),
    (lambda d: d["stations"]["HT"].update(max_load="3 kg"), "products.F100.routing[1].operations[0].geometry", "more than"),
    (lambda d: d["stations"]["HT"].update(radius="20 mm"), "stations.HT.radius", "is not used"),
    (lambda d: d["stations"]["HT"].update(material="C45"), "stations.HT.material", "is not used"),
    (lambda d: d["stations"]["HT"].update(heating_power=0), "stations.HT.heating_power", "must be > 0"),
    (lambda d: d["products"]["F100"]["routing"][1]["operations"][0]["geometry"].update(diameter="10 mm"),
     "products.F100.routing[1].operations[0].geometry", "not diameter"),
    (lambda d: d["products"]["F100"]["routing"][1]["operations"][0]["geometry"].pop("thickness"),
     "products.F100.routing[1].operations[0].geometry", "missing: thickness"),
    (lambda d: d["products"]["F100"]["routing"][1]["operations"][0].update(material="unobtainium"),
     "products.F100.routing[1].operations[0].material", "unknown material"),
])
def test_furnace_settings_are_honoured_or_refused_with_their_path(change, path, text):
    d = scen()
    change(d)
    errs = _errs(d)
    assert path in errs, errs
    assert text in errs[path]


LEGACY = {"kind": "furnace", "set_temperature": "860 degC", "radius": "20 mm", "batch_size": 4}


@pytest.mark.parametrize("field,value", [("max_load", "100 kg"), ("exposure", 0.5)])
def test_geometry_settings_without_part_geometry_are_refused(field, value):
    d = {"horizon": "1 d", "stations": {"M": {"process_time": 60}, "HT": {**LEGACY, field: value}},
         "products": {"p": {"routing": [{"station": "M"}, {"station": "HT"}]}}}
    assert "needs part geometry" in _errs(d)[f"stations.HT.{field}"]


def test_lumped_heating_of_legacy_parts_is_the_lumped_cylinder():
    d = {"horizon": "1 d", "stations": {"M": {"process_time": 60}, "HT": {**LEGACY, "heating": "lumped"}},
         "products": {"p": {"routing": [{"station": "M"}, {"station": "HT"}]}}}
    run = twin.Run(d)
    m = K.get_material("42CrMo4")
    assert run.stations["HT"].heating_time == pytest.approx(
        K.lumped_time_to_temperature(1123.15, 293.15, 1133.15, 150.0, m.rho, m.cp, 0.01, 1.0), rel=1e-12)
    d["stations"]["HT"]["radius"] = "150 mm"
    assert "Bi" in _errs(d)["stations.HT.heating"]


def test_a_heavy_part_closes_the_batch_and_opens_the_next():
    """Two ring sizes of one recipe: a heavy ring that does not fit what is left of the load
    starts the next batch; loads stay under max_load and mix sizes."""
    big = {"shape": "ring", "outer_diameter": "300 mm", "inner_diameter": "100 mm", "thickness": "30 mm"}  # 14.8 kg
    prods = {k: {"routing": [{"station": "M"}, {"station": "HT", "operations": [
        {"type": "heat_treatment", "recipe": "normalise", "material": "P265GH", "geometry": g}]}]}
        for k, g in (("F100", RING), ("F300", big))}
    d = scen(products=prods)
    res = twin.simulate(d)
    phys = res.extra_tables["physics_HT"].to_pandas()
    m_small, _, _ = ring_mass_area()
    m_big, _, _ = ring_mass_area(0.3, 0.1, 0.03)
    assert (phys["load_kg"] <= 100 + 1e-9).all()
    # a load is closed when the next part would not fit: at most one big ring's worth of room is left
    assert (phys["load_kg"] > 100 - m_big).mean() > 0.9
    mixed = [g for _t, g in _ops_by_batch(res) if g["product"].nunique() == 2]
    assert mixed
