"""A vendor-style external controller that drives a lockstep session over HTTP.

It applies a CONWIP-like policy to the example shaft line: every simulated 5 minutes it reads
the WIP tag and holds part release above a limit, resumes below it (with hysteresis). It runs
the same scenario and seed once without control (baseline) and once with it, and prints the
KPI deltas. Usage (with ``twin serve`` running):

    python examples/controllers/conwip_http.py --url http://127.0.0.1:8000 --limit 25
"""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx
import yaml

SCENARIO = Path(__file__).resolve().parents[1] / "shaft_line.yaml"


def drive(c: httpx.Client, scenario: dict, limit: int | None, step: float = 300.0) -> dict:
    sid = c.post("/v1/sessions", json={"scenario": scenario}).raise_for_status().json()["id"]
    held = False
    horizon = c.get(f"/v1/sessions/{sid}/tags", params={"prefix": "plant."}).json()
    t = 0.0
    while True:
        rep = c.post(f"/v1/sessions/{sid}/step", json={"dt": step}).raise_for_status().json()
        t = rep["sim_time"]
        if rep["finished"]:
            break
        if limit is not None:
            wip = c.get(f"/v1/sessions/{sid}/tags", params={"prefix": "plant.wip"}).json()["plant.wip"]
            if not held and wip >= limit:
                c.post(f"/v1/sessions/{sid}/commands", json={"command": "release_hold"}).raise_for_status()
                held = True
            elif held and wip <= limit - 3:
                c.post(f"/v1/sessions/{sid}/commands", json={"command": "release_resume"}).raise_for_status()
                held = False
    k = c.get(f"/v1/sessions/{sid}/kpis").raise_for_status().json()["line"]
    c.delete(f"/v1/sessions/{sid}")
    return k


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--limit", type=int, default=25)
    ap.add_argument("--horizon", default="3 d")
    ap.add_argument("--token", default=None, help="bearer secret when the server has identities (the commands are logged under its name)")
    a = ap.parse_args(argv)
    sc = yaml.safe_load(SCENARIO.read_text())
    sc["horizon"] = a.horizon
    headers = {"Authorization": f"Bearer {a.token}"} if a.token else {}
    with httpx.Client(base_url=a.url, timeout=60, headers=headers) as c:
        base = drive(c, sc, None)
        ctrl = drive(c, sc, a.limit)
    deltas = {k: ctrl[k] - base[k] for k in ("throughput_per_hour", "wip_mean", "lead_time_mean_s", "oee")}
    for k, d in deltas.items():
        print(f"{k:22s} baseline {base[k]:10.3f}  controlled {ctrl[k]:10.3f}  delta {d:+10.3f}")
    return deltas


if __name__ == "__main__":
    main()
