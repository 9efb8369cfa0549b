"""Docs true to the code: docs/fields.md is generated from the schema and up to date; every field
of every kind is in it, with factory defaults such as a shift's days; the examples' header comments
name the bottleneck and pacing step their run reports."""

import re
from pathlib import Path

import pytest

import twin

ROOT = Path(__file__).resolve().parents[2]


def test_fields_md_is_generated_from_the_schema_and_up_to_date():
    from twin.docgen import fields_markdown

    want = fields_markdown()
    have = (ROOT / "docs" / "fields.md").read_text()
    assert have == want, "docs/fields.md is out of date: run `python -m twin.docgen > docs/fields.md`"


def test_every_field_of_every_kind_is_documented_with_its_default():
    from twin.docgen import schema_with_defaults
    from twin.registry import registry

    text = (ROOT / "docs" / "fields.md").read_text()
    s = schema_with_defaults()
    for kind in registry.kinds():
        if kind.spec is None:
            continue
        name = kind.spec.__name__
        sec = text.split(f"### {name}\n", 1)
        assert len(sec) == 2, f"kind {kind.name} ({name}) is not in docs/fields.md"
        body = sec[1].split("\n### ", 1)[0]
        assert f"`kind: {kind.name}`" in body
        for field in s["$defs"][name]["properties"]:
            assert f"| `{field}` |" in body, f"{kind.name}.{field} missing"
    shift = text.split("### Shift\n", 1)[1].split("\n### ", 1)[0]
    assert '`["mon", "tue", "wed", "thu", "fri"]`' in shift  # the default shift days, stated
    assert "`dispatch` | `fifo` \\| `spt` \\| `edd` \\| `setup`" in text
    for top in ("costs", "station_tables", "horizon", "warmup"):
        assert f"| `{top}` |" in text


@pytest.mark.parametrize("example", ["shaft_line", "flex_cell", "bracket_line"])
def test_example_header_names_what_its_run_reports(example):
    path = ROOT / "examples" / f"{example}.yaml"
    head = "".join(l[1:] for l in path.read_text().splitlines(True) if l.startswith("#"))
    head = " ".join(head.split())
    k = twin.simulate(twin.load(path)).kpis["line"]
    bn = k["bottleneck"]
    if example == "shaft_line":
        # the run names L1 and the header says so; the grinder paces the line
        assert f"names {bn} the bottleneck" in head, (bn, head)
        assert k["pacing_station"] == "GRIND" and "the grinder paces the line" in head
    elif example == "flex_cell":
        assert bn == "LOAD" and "the load station is the bottleneck" in head
    else:
        assert bn == "WELD"
        assert not re.search(r"(press|PRESS)[^.]*bottleneck", head)


def test_workbench_walkthrough_numbers_hold():
    """docs/workbench.md quotes these runs: the flange line's bottleneck, throughput and cost,
    and a second lathe moving the bottleneck and raising throughput by about 3 parts/h."""
    import yaml

    base_f, cand_f = ROOT / "examples" / "flange_workbench.yaml", ROOT / "examples" / "flange_workbench_2lathes.yaml"
    b, c = yaml.safe_load(base_f.read_text()), yaml.safe_load(cand_f.read_text())
    assert c["stations"]["LATHE"].pop("capacity") == 2
    c["name"] = b["name"]
    assert b == c  # the candidate differs in the lathe's capacity only
    kb = twin.simulate(twin.load(base_f)).kpis["line"]
    kc = twin.simulate(twin.load(cand_f)).kpis["line"]
    doc = (ROOT / "docs" / "workbench.md").read_text()
    assert kb["bottleneck"] == "LATHE" == kb["pacing_station"] and "**bottleneck LATHE**" in doc
    assert f"about {kb['throughput_per_hour']:.1f} good flanges per hour" in doc
    assert f"OEE {100 * kb['oee']:.0f} %" in doc
    assert f"about {kb['cost_per_good_part']:.0f} EUR per good" in doc
    assert kc["bottleneck"] != "LATHE" and 2.5 < kc["throughput_per_hour"] - kb["throughput_per_hour"] < 3.7
