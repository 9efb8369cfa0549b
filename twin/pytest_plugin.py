"""pytest plugin: assert KPIs of your scenarios in your own test suite.

Installed with twin (entry point ``pytest11``). Use the ``twin_kpis`` fixture::

    def test_line_meets_targets(twin_kpis):
        k = twin_kpis("scenarios/line.yaml", seed=1)
        assert k["line"]["oee"] >= 0.65

Results are cached per (path, seed, horizon) for the test session.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def twin_kpis():
    import twin

    cache: dict = {}

    def run(path, seed: int | None = None, horizon: float | None = None) -> dict:
        key = (str(path), seed, horizon)
        if key not in cache:
            sc = twin.load(path, horizon=horizon)
            cache[key] = twin.simulate(sc, seed=seed).kpis
        return cache[key]

    return run
