"""What a run pays for at import: a line without process physics never loads numba (nor the
scipy it pulls in) or pyarrow; a line with physics loads the kernels when its stations are
built. Checked in a fresh interpreter, where ``sys.modules`` starts empty."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLAIN = {"name": "plain", "horizon": 3600, "stations": {"A": {"process_time": 30}, "B": {"process_time": 25}},
         "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}}}


def _loaded(code: str) -> dict:
    probe = code + "\nimport sys, json; print(json.dumps({m: m in sys.modules for m in ('numba', 'scipy', 'pyarrow')}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_a_plain_line_runs_and_reports_without_numba_scipy_or_pyarrow():
    got = _loaded(f"import twin; r = twin.simulate({json.dumps(PLAIN)}); assert r.kpis['line']['parts_completed'] > 0")
    assert got == {"numba": False, "scipy": False, "pyarrow": False}


def test_the_cli_help_does_not_load_numba():
    got = _loaded("import sys; sys.argv = ['twin', '--help']\nfrom twin.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass")
    assert not got["numba"]


@pytest.mark.parametrize("name", ["turning_force", "MATERIALS", "heat", "MODULES"])
def test_kernel_names_load_on_first_use(name):
    import twin.kernels as K

    assert getattr(K, name) is not None
    with pytest.raises(AttributeError, match="no_such_kernel"):
        K.no_such_kernel  # noqa: B018


def test_a_machining_line_loads_the_kernels_when_built():
    got = _loaded("import twin; r = twin.simulate(twin.load('examples/shaft_line_physics.yaml'), horizon=30000)")
    assert got["numba"]
