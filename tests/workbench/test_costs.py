"""The cost model: every amount checked against a hand computation on a line whose states are
known exactly; every cost field has an effect or is refused with its field path; payback of a
change with an investment."""

import copy

import pytest

import twin
from twin import experiments as E

# M1 paces the line (60 s a part, always busy after the first part), M2 takes 50 s (busy 5/6 of
# the time, idle 1/6). Around the clock, no randomness: the state log is known exactly.
LINE = {
    "name": "costs", "horizon": "10 h", "warmup": "1 h", "seed": 1,
    "products": {"A": {"routing": [{"station": "M1"}, {"station": "M2"}]}},
    "stations": {"M1": {"process_time": 60, "power": {"processing": "10 kW", "idle": "1 kW"}},
                 "M2": {"process_time": 50, "power": {"processing": "5 kW", "idle": "1 kW"}}},
    "crews": {"fitters": {"size": 2}},
}
COSTS = {
    "currency": "EUR",
    "stations": {"M1": {"hour_rate": 60, "investment": 100000}},
    "labour": {"fitters": 40},
    "energy": {"price": 0.2, "tariff": [{"start": "00:00", "end": "05:00", "price": 0.1}]},
    "products": {"A": {"material": 5, "scrap": 2, "price": 30}},
}


def _sc(costs=COSTS, **stations):
    d = copy.deepcopy(LINE)
    d["costs"] = copy.deepcopy(costs)
    for k, v in stations.items():
        d["stations"][k].update(v)
    return d


def test_every_amount_matches_a_hand_computation():
    k = twin.simulate(_sc()).kpis
    line, st = k["line"], k["stations"]
    n = line["parts_completed"]
    assert n == 540  # 9 h window / 60 s
    # machine: 60 EUR/h x 9 planned hours (around the clock: POT = window)
    assert st["M1"]["cost_machine"] == pytest.approx(540.0)
    assert st["M2"]["cost_machine"] == 0.0
    # energy: M1 at 10 kW all window; the tariff charges 0.1 from 1 h to 5 h (sim time 0 is Monday
    # 00:00) and the flat 0.2 from 5 h to 10 h
    assert st["M1"]["cost_energy"] == pytest.approx(10 * (4 * 0.1 + 5 * 0.2), rel=1e-9)
    # M2: 5 kW for 50 s and 1 kW for 10 s of every minute -> 13/3 kW on average
    assert st["M2"]["cost_energy"] == pytest.approx(13 / 3 * (4 * 0.1 + 5 * 0.2), rel=1e-3)
    # labour: 2 fitters x 40 EUR/h x 9 h on shift
    assert line["cost_labour"] == pytest.approx(720.0)
    assert line["cost_material"] == pytest.approx(5.0 * n)
    assert line["cost_scrap"] == 0.0
    total = 540.0 + line["cost_energy"] + 720.0 + 5.0 * n
    assert line["cost_total"] == pytest.approx(total)
    assert line["cost_per_good_part"] == pytest.approx(total / n)
    parts = sum(line[f"cost_per_good_part_{x}"] for x in ("machine", "labour", "energy", "material", "scrap"))
    assert parts == pytest.approx(line["cost_per_good_part"])
    assert line["revenue"] == pytest.approx(30.0 * n) and line["profit"] == pytest.approx(30.0 * n - total)
    assert line["investment"] == 100000.0 and line["currency"] == "EUR"


def test_flat_price_equals_energy_times_price_and_scrap_costs_material_too():
    c = copy.deepcopy(COSTS)
    c["energy"] = {"price": 0.25}
    k = twin.simulate(_sc(c, M2={"scrap": 0.2})).kpis
    line = k["line"]
    assert line["cost_energy"] == pytest.approx(line["energy_kWh"] * 0.25, rel=1e-9)
    s = line["parts_scrapped"]
    assert s > 0
    assert line["cost_scrap"] == pytest.approx(2.0 * s)
    assert line["cost_material"] == pytest.approx(5.0 * (line["parts_completed"] + s))


def test_machine_rate_counts_planned_hours_only():
    d = _sc()
    d["calendar"] = {"shifts": [{"name": "day", "days": ["mon"], "start": "02:00", "end": "08:00"}]}
    k = twin.simulate(d).kpis
    # window 1 h..10 h, shift 2 h..8 h: 6 planned hours
    assert k["stations"]["M1"]["POT"] == pytest.approx(6 * 3600)
    assert k["stations"]["M1"]["cost_machine"] == pytest.approx(6 * 60.0)


@pytest.mark.parametrize("path,costs", [
    ("costs.stations.NOPE", {"stations": {"NOPE": {"hour_rate": 1}}}),
    ("costs.labour.nobody", {"labour": {"nobody": 30}}),
    ("costs.products.B", {"products": {"B": {"material": 1}}}),
    ("costs.stations.M1", {"stations": {"M1": {}}}),
    ("costs.products.A", {"products": {"A": {}}}),
    ("costs.energy.tariff", {"energy": {"price": 0.2, "tariff": [{"start": "06:00", "end": "22:00", "price": 0.2}]}}),
    ("costs.energy.tariff[0].end", {"energy": {"price": 0.2, "tariff": [{"start": "06:00", "end": "06:00", "price": 0.3}]}}),
    ("costs.stations.M1.hour_rat", {"stations": {"M1": {"hour_rat": 5}}}),
    ("costs.currency", {"currency": "<b>"}),
])
def test_cost_fields_without_effect_or_target_are_refused(path, costs):
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(_sc(costs))
    assert any(p == path for p, _ in e.value.errors), e.value.errors


@pytest.mark.parametrize("change", [
    ("stations", "M1", "hour_rate", 61.0, "cost_machine"),
    ("stations", "M1", "investment", 1.0, "investment"),
    ("products", "A", "material", 6.0, "cost_material"),
    ("products", "A", "price", 31.0, "revenue"),
    ("labour", None, "fitters", 41.0, "cost_labour"),
])
def test_each_cost_field_changes_its_kpi(change):
    sec, name, field, value, kpi = change
    base = twin.simulate(_sc()).kpis["line"]
    c = copy.deepcopy(COSTS)
    if name is None:
        c[sec][field] = value
    else:
        c[sec][name][field] = value
    assert twin.simulate(_sc(c)).kpis["line"][kpi] != base[kpi]


def test_no_costs_no_cost_kpis():
    k = twin.simulate(copy.deepcopy(LINE)).kpis
    assert "cost_total" not in k["line"] and "cost_machine" not in k["stations"]["M1"]


def test_payback_of_a_second_machine_from_profit():
    """M1 (60 s) paces; a second unit at M1 (investment per unit) lets M2 (50 s) pace: 72 instead
    of 60 parts/h. Profit rises by the margin of 12 parts/h less the extra hour rate; the payback
    is the extra investment over that, computed here by hand."""
    c = copy.deepcopy(COSTS)
    c["energy"] = {"price": 0.0}
    c["labour"] = {}
    c["products"]["A"] = {"material": 5, "price": 30}
    base = twin.parse_scenario(_sc(c))
    cand = twin.parse_scenario(_sc(c, M1={"capacity": 2}))
    rep = E.compare(base, cand, n=3)
    pb = rep["payback"]
    assert pb["basis"] == "profit" and pb["investment"] == pytest.approx(100000.0)
    kb = rep["kpis"]
    rate_b = kb["line.throughput_per_hour"]["baseline"]
    rate_c = kb["line.throughput_per_hour"]["candidate"]
    assert rate_b == pytest.approx(60, abs=0.2) and rate_c == pytest.approx(72, abs=0.5)
    margin = 30 - 5
    benefit = (rate_c - rate_b) * margin - 60.0  # one more unit at 60 EUR per planned hour
    assert pb["benefit_per_hour"] == pytest.approx(benefit, rel=1e-3)
    assert pb["payback_s"] / 3600 == pytest.approx(100000.0 / benefit, rel=1e-3)
    assert rep["kpis"]["line.profit"]["significant"] or rep["kpis"]["line.profit"]["half_width"] == 0


def test_process_energy_of_a_furnace_is_priced():
    """A furnace's heating and holding energy (process energy, not state power) is in the energy
    cost: at a flat price the station's energy cost is its energy times the price."""
    d = {"horizon": "1 d", "seed": 1,
         "stations": {"M": {"process_time": 300},
                      "HT": {"kind": "furnace", "set_temperature": "860 degC", "radius": "20 mm", "batch_size": 4,
                             "soak": "20 min", "power": {"idle": "5 kW"}}},
         "products": {"p": {"routing": [{"station": "M"}, {"station": "HT"}]}},
         "costs": {"energy": {"price": 0.3}, "stations": {"HT": {"hour_rate": 1}}}}
    k = twin.simulate(twin.parse_scenario(d)).kpis["stations"]["HT"]
    assert k["energy_kWh"] > 24 * 5 * 0.5  # more than the idle power alone could give in half the day
    assert k["cost_energy"] == pytest.approx(k["energy_kWh"] * 0.3, rel=1e-9)
