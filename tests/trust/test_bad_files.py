"""Trial item 8: files a user's editor or an attacker may hand over. Every one is refused with a
message that says what is wrong (CLI exit 2), never a traceback, never a silent choice."""

import json
import subprocess
import sys
import tracemalloc

import pytest

import twin
from twin.scenario import ScenarioError

GOOD = "horizon: 8 h\nstations: {A: {process_time: 60 s}}\nproducts: {p: {routing: [{station: A}]}}\n"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "twin.cli", *map(str, args)], capture_output=True, text=True, timeout=120)


def _error(path) -> str:
    with pytest.raises(ScenarioError) as e:
        twin.load(path)
    return str(e.value)


def test_duplicate_yaml_key_is_an_error_not_a_silent_choice(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text(GOOD + "horizon: 1 h\n")
    msg = _error(f)
    assert "duplicate key 'horizon'" in msg and "line 4" in msg and "first at line 1" in msg


def test_duplicate_key_inside_a_station(tmp_path):
    f = tmp_path / "dup.yaml"
    f.write_text("horizon: 8 h\nstations:\n  A:\n    process_time: 60 s\n    process_time: 90 s\nproducts: {p: {routing: [{station: A}]}}\n")
    assert "duplicate key 'process_time'" in _error(f)


def test_merge_keys_may_still_be_overridden(tmp_path):
    """``<<: *anchor`` then an explicit key is YAML's way to override: not a duplicate."""
    f = tmp_path / "merge.yaml"
    f.write_text("horizon: 8 h\nstations:\n  A: &m {process_time: 60 s, scrap: 0.1}\n  B:\n    <<: *m\n    scrap: 0.2\n"
                 "products: {p: {routing: [{station: A}, {station: B}]}}\n")
    sc = twin.load(f)
    assert sc.stations["B"].scrap == 0.2 and sc.stations["B"].process_time.value == 60.0


def test_duplicate_json_key(tmp_path):
    f = tmp_path / "dup.json"
    f.write_text('{"horizon": 3600, "horizon": 7200, "stations": {"A": {"process_time": 1}}, "products": {"p": {"routing": [{"station": "A"}]}}}')
    assert "duplicate key 'horizon'" in _error(f)


@pytest.mark.parametrize("raw,expect", [
    ("name: Drehzelle Bäckerstraße\n".encode("latin-1") + GOOD.encode(), "not UTF-8 text: byte 0xe4 on line 1"),
    (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "binary file"),
])
def test_non_utf8_files_exit_2_with_a_message(tmp_path, raw, expect):
    f = tmp_path / "bad.yaml"
    f.write_bytes(raw)
    assert expect in _error(f)
    p = _cli("validate", f)
    assert p.returncode == 2, p.stderr
    assert expect in p.stderr and "Traceback" not in p.stderr


def test_utf8_with_bom_loads(tmp_path):
    f = tmp_path / "bom.yaml"
    f.write_bytes(b"\xef\xbb\xbf" + ("name: Drehzelle Bäckerstraße\n" + GOOD).encode())
    assert twin.load(f).name == "Drehzelle Bäckerstraße"


def test_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["horizon: 1 h", "stations: {A: {process_time: 60 s}}", "products: {p: {routing: [{station: A}]}}",
             'l0: &l0 ["x","x","x","x","x","x","x","x","x"]']
    for k in range(1, 9):
        lines.append(f"l{k}: &l{k} [" + ",".join([f"*l{k - 1}"] * 9) + "]")
    lines.append("signals: {plant.wip: {stuck_at: *l8}}")  # 9**9 = 387 million strings once expanded
    f = tmp_path / "bomb.yaml"
    f.write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    msg = _error(f)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "alias bomb" in msg
    assert peak < 50e6
    p = _cli("validate", f)
    assert p.returncode == 2 and "alias bomb" in p.stderr


def test_free_form_signal_value_is_typed(tmp_path):
    """``stuck_at`` takes a number or a text, not an arbitrary nested structure."""
    body = {"horizon": 3600, "stations": {"A": {"process_time": 1}}, "products": {"p": {"routing": [{"station": "A"}]}},
            "signals": {"plant.wip": {"stuck_at": [[1, 2], {"a": 1}]}}}
    with pytest.raises(ScenarioError) as e:
        twin.parse_scenario(body)
    assert any(p.startswith("signals.plant.wip.stuck_at") for p, _ in e.value.errors)


def test_unknown_product_field_is_rejected():
    """Products used to accept any extra field (and ignore it)."""
    body = {"horizon": 3600, "stations": {"A": {"process_time": 1}}, "products": {"p": {"routing": [{"station": "A"}], "due": 5}}}
    with pytest.raises(ScenarioError) as e:
        twin.parse_scenario(body)
    assert e.value.errors[0][0] == "products.p.due"


def test_recursive_alias(tmp_path):
    f = tmp_path / "rec.yaml"
    f.write_text("horizon: 1 h\na: &a [1, *a]\n")
    p = _cli("validate", f)
    assert p.returncode == 2 and "Traceback" not in p.stderr


def test_directory_instead_of_a_file(tmp_path):
    d = tmp_path / "dir.yaml"
    d.mkdir()
    p = _cli("validate", d)
    assert p.returncode == 2 and "cannot read" in p.stderr
