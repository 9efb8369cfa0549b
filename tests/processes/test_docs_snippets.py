"""The scenario snippets of docs/processes.md (furnace with recipes) and docs/scenario.md (lots,
demand) load and run as written, and the numbers the pages state come out."""

import math
import re
from pathlib import Path

import pytest
import yaml

import twin

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _blocks(page: str, needle: str) -> list[dict]:
    text = (DOCS / page).read_text()
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if needle in b]


def test_the_furnace_snippet_runs():
    (snippet,) = _blocks("processes.md", "kind: furnace")
    d = {"horizon": "2 d", "seed": 1, **snippet}
    for p in d["products"].values():
        p["routing"].insert(0, {"station": "M"})
    d["stations"]["M"] = {"process_time": 60}
    res = twin.simulate(d)
    ht = res.extra_tables["physics_HT"].to_pandas()
    assert set(ht["recipe"]) == {"normalise", "temper"} and (ht["load_kg"] <= 450 + 1e-9).all()


def test_the_lots_and_demand_snippets_run():
    (lots,) = _blocks("scenario.md", "kind: lots")
    (demand,) = _blocks("scenario.md", "kind: demand")
    prods = {p: {"routing": [{"station": "M"}]} for p in ("DN100", "DN150", "DN200")}
    base = {"horizon": "1 week", "seed": 1, "stations": {"M": {"process_time": 20}},
            "products": {p: v for p, v in prods.items() if p != "DN200"}}
    k = twin.simulate({**base, **lots}).kpis
    assert set(k["lots"]) == {"DN100-1", "DN150-1", "rush"}
    assert k["lots"]["rush"]["release_s"] == 30 * 3600
    sc = twin.parse_scenario({**base, "products": prods, **demand})
    plan = sc.release.planned_lots(sc.horizon)
    assert [(lot.product, lot.size) for lot in plan] == [("DN100", 300)] * 3 + [("DN150", 280), ("DN200", 196)]
    assert round(math.sqrt(2 * 120 * 400 / 2.5)) == 196
