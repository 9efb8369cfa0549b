"""Press and weld cell against the kernels."""

import copy
from pathlib import Path

import pytest
import yaml

import twin
import twin.kernels as K

BRACKET = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" / "bracket_line.yaml").read_text())


def test_press_overload_rejected_at_load_naming_part_and_press():
    d = copy.deepcopy(BRACKET)
    d["products"]["bracket"]["routing"][0]["operations"][0]["thickness"] = "8 mm"
    with pytest.raises(twin.ScenarioError) as e:
        twin.parse_scenario(d)
    (path, msg), = e.value.errors
    assert path == "products.bracket.routing[0].operations[0]"
    F = K.blanking_force(0.62, 0.008, K.get_material("DC04").shear)
    assert "'bracket'" in msg and "'PRESS'" in msg and f"{F / 1e3:.0f} kN" in msg


def test_press_cycle_die_changes_and_weld_time_from_kernels():
    res = twin.simulate(twin.parse_scenario(BRACKET))
    ops = res.operations.to_pandas()
    press = ops[ops["resource"] == "PRESS"]
    cyc = (press["t_end"] - press["t_start"]).round(9)
    base = 4 + 2 * 60 / 20  # load/unload + two strokes at 20 strokes/min
    assert cyc.min() == pytest.approx(base)
    n_strokes = 2 * len(press)
    per_die = (0.1e-3 - 0.02e-3) / 5e-9  # strokes from a new die to the burr limit
    changes = int((cyc > base + 1).sum())
    assert changes == pytest.approx(n_strokes / per_die, abs=1)
    assert (cyc[cyc > base + 1] == pytest.approx(base + 25 * 60)).all()
    weld = ops[ops["resource"] == "WELD"]
    arc = 0.18 / 0.007 + 0.12 / 0.007
    wt = (weld["t_end"] - weld["t_start"])
    assert wt.min() == pytest.approx(15 + arc + 2 * 4)
    # energy: arc power over arc time / efficiency is part of the station's energy
    k = res.kpis["stations"]["WELD"]
    arc_J = k["PQ"] * arc * 24 * 220 / 0.85
    assert k["energy_J"] > arc_J


def test_cooling_time_window_scraps_out_of_window_seams():
    d = copy.deepcopy(BRACKET)
    d["stations"]["WELD"]["t85_window"] = [5, 30]  # thin sheet at this heat input cools in ~45 s
    Q = K.heat_input(24, 220, 0.007, 0.8)
    assert K.t85(Q, 0.003, 20.0) > 30
    res = twin.simulate(twin.parse_scenario(d))
    assert res.kpis["stations"]["WELD"]["scrap_ratio"] == 1.0
