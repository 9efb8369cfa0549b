"""Every example scenario in the repository validates and runs (short horizon), conserving parts."""

from pathlib import Path

import pytest

import twin

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").rglob("*") if p.suffix in (".yaml", ".toml", ".json") and "controllers" not in p.parts)


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(ROOT)) for p in EXAMPLES])
def test_example_runs(path):
    sc = twin.load(path)
    horizon = min(sc.horizon, 3 * 86400.0)
    res = twin.simulate(sc, horizon=horizon, warmup=min(sc.warmup, horizon / 4))
    line = res.kpis["line"]
    assert line["parts_completed_total"] > 0
    assert line["parts_released"] == line["parts_completed_total"] + line["parts_scrapped_total"] + line["wip_end"]
    text = path.read_text()
    assert text.lstrip().startswith("#"), "each example starts with a comment saying what it shows"
