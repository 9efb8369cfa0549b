"""Session-wide: compile (or load from numba's cache) the kernels the process models call and the
compiled engine's event loop, once,
before the first test, so that no test pays the first-call compile inside its own time (a fresh
clone compiles for several seconds; servers started by tests would otherwise answer slowly)."""

import copy

import pytest


@pytest.fixture(scope="session", autouse=True)
def warm_process_kernels():
    import twin

    lathe = {
        "name": "warm-up", "horizon": 3600, "seed": 1,
        "stations": {"L": {"kind": "cnc_lathe", "dynamics": {"k": 2e7, "zeta": 0.03, "fn": 600},
                           "tools": {"T": {"tool_material": "coated_carbide", "breakage_rate": 1e-4}}}},
        "products": {"p": {"routing": [{"station": "L", "operations": [
            {"type": "turning", "tool": "T", "material": "C45", "vc": "250 m/min", "f": "0.3 mm", "ap": "2 mm",
             "length": "100 mm", "diameter": "50 mm", "finishing": True}]}]}},
        "recording": {"stations": ["L"], "stop": "10 min", "raw": "0.1 s"},
    }
    twin.simulate(copy.deepcopy(lathe))
    from twin.compiled import warm

    warm()  # the compiled engine's event loop
