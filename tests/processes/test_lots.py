"""Release by lots and from a weekly demand with a lot-sizing rule; per-lot KPIs (lead time,
due-date adherence) against hand computations and the part records."""

import math

import numpy as np
import pytest

import twin
from twin.kpidefs import KPIKeyError, check_key


def one_machine(release, pt=60, horizon="1 d", products=("x", "y"), **extra):
    return {"horizon": horizon, "seed": 1, "stations": {"M": {"process_time": pt}},
            "products": {p: {"routing": [{"station": "M"}]} for p in products}, "release": release, **extra}


def test_lots_are_released_in_sequence_with_consecutive_parts_and_their_due_dates():
    rel = {"kind": "lots", "lots": [{"product": "x", "size": 10, "due": "700 s"},
                                    {"product": "y", "size": 5, "release": "2 h", "due": "3 h"},
                                    {"product": "x", "size": 8, "release": "1 h", "name": "rush"}]}  # never before the lot before it
    res = twin.simulate(one_machine(rel))
    lots = res.extra_tables["lots"].to_pandas()
    assert list(lots["lot"]) == ["x-1", "y-1", "rush"]
    assert list(lots["first_part"]) == [0, 10, 15]
    assert list(lots["t_release"]) == [0.0, 7200.0, 7200.0]
    parts = res.part_table.to_pandas()
    assert (parts["t_release"].iloc[:10] == 0).all() and (parts["t_release"].iloc[10:] == 7200).all()
    assert list(parts["product"].iloc[10:15]) == ["y"] * 5 and list(parts["product"].iloc[15:]) == ["x"] * 8
    assert (parts["due"].iloc[:10] == 700).all() and (parts["due"].iloc[10:15] == 3 * 3600).all()
    assert np.isinf(parts["due"].iloc[15:]).all()


def test_per_lot_kpis_by_hand():
    """One machine, 60 s per part, three lots at time 0: lot 1 (10 parts) is complete at 600 s,
    lot 2 (5) at 900 s, lot 3 (8) at 1380 s; due 700 s (on time), 800 s (100 s late), none."""
    rel = {"kind": "lots", "lots": [{"product": "x", "size": 10, "due": "700 s"}, {"product": "y", "size": 5, "due": "800 s"},
                                    {"product": "x", "size": 8}]}
    k = twin.simulate(one_machine(rel)).kpis
    lots = k["lots"]
    assert [lots[n]["completion_s"] for n in ("x-1", "y-1", "x-2")] == [600.0, 900.0, 1380.0]
    assert [lots[n]["lead_time_s"] for n in ("x-1", "y-1", "x-2")] == [600.0, 900.0, 1380.0]
    assert lots["x-1"]["lateness_s"] == -100.0 and lots["x-1"]["on_time"] == 1.0
    assert lots["y-1"]["lateness_s"] == 100.0 and lots["y-1"]["on_time"] == 0.0
    assert lots["x-2"]["on_time"] is None and lots["x-2"]["due_s"] is None
    assert lots["x-1"]["good"] == 10 and lots["y-1"]["size"] == 5 and lots["y-1"]["product"] == "y"
    line = k["line"]
    assert line["lots_released"] == 3 and line["lots_completed"] == 3
    assert line["lot_lead_time_mean_s"] == pytest.approx((600 + 900 + 1380) / 3)
    assert line["lot_lead_time_max_s"] == 1380.0
    assert line["lot_on_time_share"] == 0.5  # of the two lots due in the window, one was on time
    assert line["lot_tardiness_mean_s"] == 50.0


def test_an_open_lot_past_its_due_date_is_late_and_scrap_closes_a_lot():
    rel = {"kind": "lots", "lots": [{"product": "x", "size": 10, "due": "300 s"}, {"product": "x", "size": 10, "due": "2 h"}]}
    k = twin.simulate(one_machine(rel, horizon="400 s", products=("x",))).kpis
    assert k["lots"]["x-1"]["completion_s"] is None and k["lots"]["x-1"]["on_time"] == 0.0
    assert k["lots"]["x-2"]["on_time"] is None  # not due yet
    assert k["line"]["lot_on_time_share"] == 0.0 and k["line"]["lots_completed"] == 0
    scrap = one_machine({"kind": "lots", "lots": [{"product": "x", "size": 200}]}, products=("x",), horizon="1 d")
    scrap["stations"]["M"]["scrap"] = 0.2
    res = twin.simulate(scrap)
    lot = res.kpis["lots"]["x-1"]
    parts = res.part_table.to_pandas()
    assert lot["good"] == int((parts["outcome"] == "complete").sum()) and lot["scrapped"] == int((parts["outcome"] == "scrap").sum())
    assert lot["good"] + lot["scrapped"] == 200 and lot["scrapped"] > 10
    assert lot["completion_s"] == parts["t_exit"].max()


def test_lot_kpis_survive_save_and_load(tmp_path):
    rel = {"kind": "lots", "lots": [{"product": "x", "size": 10, "due": "700 s"}, {"product": "y", "size": 5}]}
    res = twin.simulate(one_machine(rel))
    back = twin.Result.load(res.save(tmp_path / "r"))
    assert back.kpis["lots"] == res.kpis["lots"]


def test_the_pacing_step_weighs_products_by_their_lot_sizes():
    d = {"horizon": "1 d", "seed": 1, "stations": {"A": {"process_time": 100}, "B": {"process_time": 150}},
         "products": {"x": {"routing": [{"station": "A"}]}, "y": {"routing": [{"station": "B"}]}},
         "release": {"kind": "lots", "lots": [{"product": "x", "size": 90}, {"product": "y", "size": 10}]}}
    # planned load: A 0.9 x 100 s, B 0.1 x 150 s (with equal mix it would be B)
    assert twin.simulate(d).kpis["line"]["pacing_station"] == "A"


def test_earliest_due_date_dispatching_works_with_lot_due_dates():
    d = {"horizon": "1 d", "seed": 1, "stations": {"M1": {"process_time": 10}, "M2": {"process_time": 100, "dispatch": "edd"}},
         "buffers": {"B": {"capacity": None, "between": ["M1", "M2"]}},
         "products": {"x": {"routing": [{"station": "M1"}, {"station": "M2"}]}},
         "release": {"kind": "lots", "lots": [{"product": "x", "size": 5, "due": "10 h", "name": "late"},
                                              {"product": "x", "size": 5, "due": "1 h", "name": "urgent"}]}}
    lots = twin.simulate(d).kpis["lots"]
    # the urgent lot overtakes at M2 once its parts arrive: it is complete before the first lot
    assert lots["urgent"]["completion_s"] < lots["late"]["completion_s"]


# ---- demand and lot sizing ---------------------------------------------------------------------
def _plan(release, horizon="4 d", products=("x", "y")):
    sc = twin.parse_scenario(one_machine(release, horizon=horizon, products=products))
    return sc.release.planned_lots(sc.horizon)


def test_economic_order_quantity_reproduces_the_textbook_example():
    """Heizer & Render, Operations Management: D = 1,000 units, S = $10 per order, H = $0.50 per
    unit -> Q* = sqrt(2 D S / H) = 200."""
    lots = _plan({"kind": "demand", "period": "1 d", "demand": {
        "x": {"quantity": 1000, "rule": "eoq", "setup_cost": 10, "holding_cost": 0.5}}}, horizon="1 d", products=("x",))
    assert [lot.size for lot in lots] == [200] * 5
    assert all(lot.release == 0.0 and lot.due == 86400.0 for lot in lots)


def test_fixed_lots_net_the_stock_left_from_the_last_period():
    lots = _plan({"kind": "demand", "period": "1 d", "demand": {"x": {"quantity": 70, "rule": "fixed", "size": 30}}},
                 products=("x",))
    per_period = [sum(1 for lot in lots if lot.release == k * 86400.0) for k in range(4)]
    # stock after each period: 90-70=20, 20+60-70=10, 10+60-70=0, 0+90-70=20
    assert per_period == [3, 2, 2, 3]
    assert {lot.size for lot in lots} == {30}
    made = sum(lot.size for lot in lots)
    assert made - 4 * 70 == 20  # what is left in stock


def test_lot_for_lot_and_the_campaign_and_interleaved_sequences():
    demand = {"x": {"quantity": 50, "rule": "fixed", "size": 20}, "y": {"quantity": 35}}
    camp = _plan({"kind": "demand", "period": "1 d", "demand": demand}, horizon="1 d")
    inter = _plan({"kind": "demand", "period": "1 d", "demand": demand, "sequence": "interleave"}, horizon="1 d")
    assert [(lot.product, lot.size) for lot in camp] == [("x", 20), ("x", 20), ("x", 20), ("y", 35)]
    assert [(lot.product, lot.size) for lot in inter] == [("x", 20), ("y", 35), ("x", 20), ("x", 20)]
    assert [lot.name for lot in camp] == ["x-p1-1", "x-p1-2", "x-p1-3", "y-p1-1"]
    # the run releases them at the period start in that order, and reports them
    res = twin.simulate(one_machine({"kind": "demand", "period": "1 d", "demand": demand, "sequence": "interleave"}, horizon="2 d"))
    assert list(res.extra_tables["lots"].to_pandas()["lot"][:4]) == ["x-p1-1", "y-p1-1", "x-p1-2", "x-p1-3"]
    k = res.kpis
    # day 2: x nets 50 - 10 in stock = 40 -> two lots of 20; y one lot of 35
    assert k["line"]["lots_released"] == 7 and k["lots"]["y-p2-1"]["due_s"] == 2 * 86400.0
    assert k["line"]["lot_on_time_share"] == 1.0  # 95 parts a day at 60 s each: every lot done within its day


def test_kpi_names_of_lots_are_checked():
    sc = twin.parse_scenario(one_machine({"kind": "lots", "lots": [{"product": "x", "size": 3}]}))
    assert check_key("lots.x-1.lead_time_s", sc) == "lots.x-1.lead_time_s"
    assert check_key("line.lot_on_time_share", sc) == "line.lot_on_time_share"
    with pytest.raises(KPIKeyError, match="no lot named 'x-9'"):
        check_key("lots.x-9.lead_time_s", sc)
    with pytest.raises(KPIKeyError, match="not a number"):
        check_key("lots.x-1.product", sc)


def _errs(d):
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    return {p: m for p, m in e.value.errors}


@pytest.mark.parametrize("release,path,text", [
    ({"kind": "lots", "lots": [{"product": "x", "size": 2}, {"product": "z", "size": 2}]}, "release.lots[1].product", "does not exist"),
    ({"kind": "lots", "lots": [{"product": "x", "size": 2, "name": "A"}, {"product": "y", "size": 2, "name": "A"}]},
     "release.lots[1].name", "used twice"),
    ({"kind": "lots", "lots": [{"product": "x", "size": 0}]}, "release.lots[0].size", "greater than or equal to 1"),
    ({"kind": "lots", "lots": [{"product": "x", "size": 2, "name": "a.b"}]}, "release.lots[0].name", "not allowed"),
    ({"kind": "demand", "demand": {"x": {"quantity": 10, "rule": "fixed"}}}, "release.demand.x", "needs size"),
    ({"kind": "demand", "demand": {"x": {"quantity": 10, "rule": "eoq", "setup_cost": 5}}}, "release.demand.x", "needs setup_cost and holding_cost"),
    ({"kind": "demand", "demand": {"x": {"quantity": 10, "size": 5}}}, "release.demand.x", "use rule: fixed"),
    ({"kind": "demand", "demand": {"z": {"quantity": 10}}}, "release.demand.z", "does not exist"),
    ({"kind": "demand", "demand": {"x": {"quantity": 0}}}, "release.demand", "every quantity is 0"),
    ({"kind": "demand", "period": "1 h", "demand": {"x": {"quantity": 10000, "rule": "fixed", "size": 1}}}, "release.demand",
     "more than 10,000 lots"),
    ({"kind": "lots", "lots": [{"product": "x", "size": 2}], "every": "1 h"}, "release.every", "unknown field"),
])
def test_bad_release_settings_name_their_field(release, path, text):
    errs = _errs(one_machine(release))
    assert path in errs, errs
    assert text in errs[path]


def test_mix_is_refused_where_lots_set_the_quantities():
    d = one_machine({"kind": "lots", "lots": [{"product": "x", "size": 2}]})
    d["products"]["x"]["mix"] = 3
    assert "is not used" in _errs(d)["products.x.mix"]


def test_the_flange_line_example_shows_lots_recipes_loads_by_mass_a_bolt_circle_and_a_measured_bore():
    from pathlib import Path

    sc = twin.load(Path(__file__).resolve().parents[2] / "examples" / "flange_line.yaml")
    res = twin.simulate(sc, horizon=3 * 86400.0)
    k = res.kpis
    assert set(k["lots"]) == {"DN100-1", "DN150-1", "DN100-2", "DN150-2"} and k["line"]["lots_completed"] >= 2
    ht = res.extra_tables["physics_HT"].to_pandas()
    assert set(ht["recipe"]) == {"normalise_P265", "normalise_C45"} and (ht["load_kg"] <= 450 + 1e-9).all()
    assert ht[ht["recipe"] == "normalise_C45"]["parts"].max() == 45  # 9.8 kg rings: the mass fills the load
    ops = res.operations.to_pandas()
    recipe = {"DN100": "normalise_P265", "DN150": "normalise_C45"}
    for _t, g in ops[ops["resource"] == "HT"].groupby("t_start"):
        assert len({recipe[str(p)] for p in g["product"]}) == 1
    f = res.extra_tables["features"].to_pandas()
    cmm = f[(f["station"] == "CMM") & (f["feature"] == "true")].set_index("part")["value"]
    bore = f[(f["station"] == "L1") & (f["feature"] == "bore")].set_index("part")["value"]
    assert len(cmm) > 100 and np.array_equal(cmm.to_numpy(), bore.loc[cmm.index].to_numpy())
    assert sc.products["DN100"].routing[3].operations[0].pattern.holes == 8  # the bolt circle is one line
