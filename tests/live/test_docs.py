"""docs/live.md stays true: its snapshot and mapping run as written."""

import re
from pathlib import Path

import yaml

import twin
from twin.live.acquire import Mapping
from twin.live.forecast import forecast
from twin.live.snapshot import parse_snapshot, start_run

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "live.md").read_text()
BLOCKS = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S)]


def test_the_snapshot_of_the_walk_through_runs():
    snap = parse_snapshot(next(b for b in BLOCKS if isinstance(b, dict) and "time" in b and "stations" in b))
    sc = twin.load(ROOT / "examples/shaft_line.yaml")
    run = start_run(sc, snap, horizon=8 * 3600)
    tags = run.tags()
    assert tags["MILL.alarm"] == "FAULT" and tags["L2.operation_mode"] == "Setup" and tags["HT.units_busy"] == 2
    assert tags["plant.wip"] == 6 + 2 + 4 + 7  # buffers + parts in the units (GRIND's hands over at once)
    f = forecast(sc, snap, "22:00", replications=5)
    assert [o.name for o in f.orders] == ["A-17"] and f.until == "2026-11-30 22:00"


def test_the_mapping_of_the_docs_is_valid():
    m = Mapping.model_validate(next(b for b in BLOCKS if isinstance(b, dict) and "programs" in b))
    assert m.plant_name("L1") == "Lathe-01" and m.buffers["B_SAW"].product == "shaft_A"
