"""docs/adding-a-kind.md works as written: its code blocks register `kind: saw`, its scenario
runs, and the numbers the page states come out (run in a fresh interpreter, so the test kind
does not join the registry of the other tests)."""

import json
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-kind.md"

SCRIPT = r'''
import json, math, sys, yaml
import twin
blocks = json.loads(sys.argv[1])
ns = {}
for code in blocks["python"]:
    exec(code, ns)
sc = twin.parse_scenario(yaml.safe_load(blocks["yaml"][0]))
res = twin.simulate(sc)
k = res.kpis
f = res.extra_tables["features"].to_pandas()
run = twin.Run(sc)
run.run_until(3600)
try:
    twin.parse_scenario({**yaml.safe_load(blocks["yaml"][0]), "stations": {
        **yaml.safe_load(blocks["yaml"][0])["stations"], "SAW": {"kind": "saw", "diameter": "60 mm", "area_rate": 2e-5,
                                                                  "process_time": 30}}})
    refused = None
except twin.ScenarioError as e:
    refused = e.errors
print(json.dumps({"pacing": k["line"]["pacing_station"], "saw_pri": res.pri["SAW"]["0:0"],
                  "cut": float(f[f["feature"] == "cut_time"]["value"].iloc[0]),
                  "tag": run.tags()["SAW.cut_time_s"], "refused": refused,
                  "ops": int(k["stations"]["SAW"]["PQ"])}))
'''


def test_the_guide_runs_as_written():
    text = DOC.read_text()
    blocks = {"python": re.findall(r"```python\n(.*?)```", text, re.S), "yaml": re.findall(r"```yaml\n(.*?)```", text, re.S)}
    assert len(blocks["python"]) == 2 and len(blocks["yaml"]) == 1
    p = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(blocks)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    area = 3.141592653589793 * 0.06 ** 2 / 4
    assert out["cut"] == out["tag"] == area / 2e-5  # 141.4 s, as the page says
    assert round(out["cut"]) == 141 and round(out["saw_pri"]) == 161
    assert out["pacing"] == "LATHE"
    assert out["ops"] > 100
    assert [p for p, _ in out["refused"]] == ["stations.SAW.process_time"]  # the saw times itself
