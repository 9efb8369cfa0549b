import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))


def t_interval(x, conf=0.95):
    x = np.asarray(x, dtype=float)
    m = x.mean()
    h = stats.t.ppf(0.5 + conf / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return m, h


@pytest.fixture
def ci():
    return t_interval


def serial_line(mu, caps, horizon, warmup=0.0, fail=None, repair=None, seed=1, basis="calendar"):
    """Scenario dict of a saturated serial line with exponential machines."""
    n = len(mu)
    names = [f"M{i + 1}" for i in range(n)]
    stations = {}
    for i, s in enumerate(names):
        st = {"process_time": {"dist": "exponential", "mean": 1.0 / mu[i]}}
        if fail and fail[i]:
            st["failures"] = [{"basis": basis, "tbf": {"dist": "exponential", "mean": 1.0 / fail[i]},
                               "ttr": {"dist": "exponential", "mean": 1.0 / repair[i]}}]
        stations[s] = st
    return {
        "name": "serial",
        "horizon": horizon,
        "warmup": warmup,
        "seed": seed,
        "stations": stations,
        "buffers": {f"B{i + 1}": {"capacity": caps[i], "between": [names[i], names[i + 1]]} for i in range(n - 1)},
        "products": {"p": {"routing": [{"station": s} for s in names]}},
    }


@pytest.fixture
def line():
    return serial_line


@pytest.fixture(params=["simpy", "compiled"])
def engine(request):
    """Both engines (the exact queueing, Markov-chain and invariant tests run on each)."""
    return request.param
