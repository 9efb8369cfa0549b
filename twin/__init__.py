"""twin: a digital twin and automation testbed for metalworking production lines.

>>> import twin
>>> sc = twin.load("examples/shaft_line.yaml")          # doctest: +SKIP
>>> res = twin.simulate(sc, seed=1)                      # doctest: +SKIP
>>> res.kpis["line"]["throughput_per_hour"]              # doctest: +SKIP
"""

__version__ = "0.1.0"

from .scenario import ScenarioError, load, parse_scenario, scenario_model, json_schema  # noqa: E402
from .engine import Run, simulate  # noqa: E402
from .result import Result  # noqa: E402

__all__ = ["__version__", "load", "parse_scenario", "scenario_model", "json_schema", "ScenarioError", "Run", "simulate", "Result"]
