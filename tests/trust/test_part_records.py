"""Trial item 1: an inspection measures the feature it names, recorded on the part by the station
that made it, whatever happened to the part in between. On lathe -> drill -> CMM the drill used
to overwrite the part's data with its zero deviation: 4 % rejects were measured while 81 % of the
parts were really out of a 20 um tolerance."""

import copy

import numpy as np
import pytest

import twin

LINE = {"horizon": "2 d", "seed": 3,
        "stations": {
            "L": {"kind": "cnc_lathe", "tools": {"R": {"tool_material": "coated_carbide"},
                                                  "F": {"tool_material": "cermet", "nose_radius": "0.8 mm"}},
                  "quality": {"thermal_dT": 8}},
            "D": {"kind": "drill", "tools": {"DR": {"tool_material": "carbide"}}},
            "CMM": {"kind": "inspection", "measures": "L.diameter", "tolerance": "20 um", "process_time": 30,
                    "rework_oversize": False}},
        "products": {"shaft": {"routing": [
            {"station": "L", "operations": [
                {"type": "turning", "tool": "R", "material": "C45", "vc": "200 m/min", "f": "0.3 mm", "ap": "2 mm",
                 "length": "100 mm", "diameter": "50 mm"},
                {"type": "turning", "tool": "F", "material": "C45", "vc": "250 m/min", "f": "0.1 mm", "ap": "0.3 mm",
                 "length": "100 mm", "diameter": "46 mm", "finishing": True}]},
            {"station": "D", "operations": [{"type": "drilling", "tool": "DR", "material": "C45", "vc": "70 m/min",
                                             "f": "0.12 mm", "cutter_diameter": "8 mm", "depth": "20 mm"}]},
            {"station": "CMM"}]}}}


def _verdicts(res):
    ops = res.operations.to_pandas()
    cmm = ops[ops["resource"] == "CMM"].set_index("part")["outcome"]
    phys = res.extra_tables["physics_L"].to_pandas().set_index("part")["dev_m"]  # the lathe's own physics record
    return cmm, phys


def test_inspection_measures_the_lathe_diameter_not_the_drills():
    res = twin.simulate(LINE)
    cmm, dev = _verdicts(res)
    assert len(cmm) > 1000
    truly_bad = dev.loc[cmm.index].abs() > 20e-6
    # without uncertainty the CMM's verdict is exactly the lathe's deviation against the tolerance
    assert ((cmm == "scrap") == truly_bad).all()
    assert truly_bad.mean() > 0.5  # most parts are really out of tolerance here, and the CMM sees it
    assert res.kpis["stations"]["CMM"]["scrap_ratio"] == pytest.approx(truly_bad.mean())


def test_the_features_table_keeps_every_stations_record():
    res = twin.simulate(LINE)
    f = res.extra_tables["features"].to_pandas()
    recorded = f.groupby("station", observed=True)["feature"].agg(lambda x: set(x.astype(str)))
    assert recorded["L"] == {"ra", "vb", "stable", "broken", "diameter"}
    assert recorded["D"] == {"ra", "vb", "stable", "broken"}  # a drilled hole has no finished diameter
    assert recorded["CMM"] == {"measured", "true"}
    piv = f.pivot_table(index="part", columns=["station", "feature"], values="value", observed=True)
    # the CMM's true value is the lathe's diameter record, part by part
    both = piv[[("L", "diameter"), ("CMM", "true")]].dropna()
    assert np.array_equal(both[("L", "diameter")].to_numpy(), both[("CMM", "true")].to_numpy())


def test_uncertainty_gives_false_accepts_and_rejects_against_the_true_value():
    d = copy.deepcopy(LINE)
    d["stations"]["CMM"]["uncertainty"] = "5 um"
    res = twin.simulate(d)
    f = res.extra_tables["features"].to_pandas()
    cmm = f[f["station"] == "CMM"].pivot(index="part", columns="feature", values="value")
    bad_true = cmm["true"].abs() > 20e-6
    bad_meas = cmm["measured"].abs() > 20e-6
    st = res.kpis["stations"]["CMM"]
    run_tags = twin.Run(d)
    run_tags.run_until(2 * 86400.0)
    tags = run_tags.tags()
    assert tags["CMM.false_rejects"] == int((bad_meas & ~bad_true).sum())
    assert tags["CMM.false_accepts"] == int((~bad_meas & bad_true).sum())
    assert (cmm["measured"] - cmm["true"]).std() == pytest.approx(5e-6, rel=0.1)
    assert st["scrap_ratio"] == pytest.approx(bad_meas.mean())


@pytest.mark.parametrize("measures,msg", [
    ("D.diameter", "records broken, ra, stable, vb, not 'diameter'"),
    ("X.diameter", "no step before the inspection"),
    ("CMM.measured", "no step before the inspection"),
    ("L", "expected STATION.FEATURE"),
])
def test_measures_must_name_a_feature_recorded_upstream(measures, msg):
    d = copy.deepcopy(LINE)
    d["stations"]["CMM"]["measures"] = measures
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    assert any(p == "stations.CMM.measures" and msg in m for p, m in e.value.errors), e.value.errors


def test_measures_a_group_of_parallel_lathes():
    d = copy.deepcopy(LINE)
    d["stations"]["L2"] = copy.deepcopy(d["stations"]["L"])
    d["groups"] = {"LATHES": ["L", "L2"]}
    d["products"]["shaft"]["routing"][0]["station"] = "LATHES"
    d["stations"]["CMM"]["measures"] = "LATHES.diameter"
    res = twin.simulate(d)
    f = res.extra_tables["features"].to_pandas()
    lat = f[(f["feature"] == "diameter")].set_index("part")["value"]
    true = f[(f["station"] == "CMM") & (f["feature"] == "true")].set_index("part")["value"]
    assert set(f[f["feature"] == "diameter"]["station"].astype(str)) == {"L", "L2"}
    assert np.array_equal(lat.loc[true.index].to_numpy(), true.to_numpy())
