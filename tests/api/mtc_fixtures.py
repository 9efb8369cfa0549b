"""A served plant with its MTConnect agent (and optionally a realtime pace) on loopback ports."""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
from conftest_helpers import LiveServer

ROOT = Path(__file__).resolve().parents[2]

# two machines with failures on A: conditions go Fault and back often
FAILING_LINE = {
    "name": "mtc line", "horizon": 200000, "seed": 5,
    "stations": {"A": {"process_time": {"dist": "exponential", "mean": 10},
                       "failures": [{"basis": "calendar", "availability": 0.9, "mttr": 200}]},
                 "B": {"process_time": {"dist": "exponential", "mean": 11}}},
    "buffers": {"AB": {"capacity": 3, "between": ["A", "B"]}},
    "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
}


def physics_line(tmp_path: Path) -> Path:
    """examples/shaft_line_physics.yaml starting Monday 06:00 (at the start of the early shift)."""
    text = (ROOT / "examples" / "shaft_line_physics.yaml").read_text()
    assert "\ncalendar:\n" in text
    p = tmp_path / "physics.yaml"
    p.write_text(text.replace("\ncalendar:\n", "\ncalendar:\n  start: \"mon 06:00\"\n", 1))
    return p


def scenario_file(tmp_path: Path, sc: dict, name: str = "line.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(sc))
    return p


@contextmanager
def served(tmp_path: Path, scenario: Path, scale: float | None = None, buffer: int = 65536, **app_kw):
    from twin.api.app import create_app
    from twin.api.mtconnect import attach_mtconnect
    from twin.api.realtime import attach_realtime, served_session

    app = create_app(db=str(tmp_path / "mtc.db"), workers=1, **app_kw)
    s = served_session(app, str(scenario))
    agent = attach_mtconnect(app, "127.0.0.1", 0, s, buffer_size=buffer)
    pacer = attach_realtime(app, scale, s) if scale else None
    with LiveServer(app) as srv:
        yield SimpleNamespace(srv=srv, app=app, agent=agent, session=s, pacer=pacer, url=f"http://127.0.0.1:{agent.port}")


def wait_sim(session, t: float, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while session.run.now < t:
        assert time.monotonic() < end, f"sim time stuck at {session.run.now}"
        time.sleep(0.05)


def sim_seconds(agent, stamp: str) -> float:
    t = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)
    return (t - agent.epoch).total_seconds()


def get(url: str, **kw) -> httpx.Response:
    return httpx.get(url, timeout=10.0, **kw)
