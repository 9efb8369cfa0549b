"""twin.memory: a process that has built a run keeps freed blocks for reuse (and leaves malloc
alone when its environment chose glibc's settings itself). Checked in fresh interpreters by what
the settings change: whether freeing a 20 MB numpy array hands its pages back at once."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import numpy as np
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096
if sys.argv[1] == 'run':
    import twin
    twin.simulate({"name": "m", "horizon": 600, "stations": {"A": {"process_time": 30}},
                   "products": {"p": {"routing": [{"station": "A"}]}}})
from twin.memory import keep_freed_memory
a = np.ones(20 << 17)  # 20 MiB
before = rss()
del a
print(json.dumps({"in_force": keep_freed_memory(), "handed_back_MB": (before - rss()) / 2**20}))
"""

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc")


def _probe(mode: str, env=None) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_after_a_run_freed_temporaries_stay_for_reuse():
    got = _probe("run")
    assert got["in_force"] is True
    assert got["handed_back_MB"] < 2  # kept in the heap for the next temporary


def test_without_a_run_glibc_defaults_hand_freed_blocks_back():
    got = _probe("none")
    assert got["handed_back_MB"] > 15  # (the control: what the setting changes)


def test_the_environment_choice_is_left_alone():
    got = _probe("run", {"MALLOC_TRIM_THRESHOLD_": "0"})
    assert got["in_force"] is False
    assert got["handed_back_MB"] > 15
