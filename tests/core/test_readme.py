"""The README's code runs, and .ci/run runs exactly the README's test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_python_blocks_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for code in blocks:
        ns: dict = {}
        exec(compile(code, "README.md", "exec"), ns)
    res = ns["res"]
    assert res.kpis["line"]["parts_completed"] > 0


def test_ci_runs_the_readme_test_command():
    text = (ROOT / "README.md").read_text()
    sh = re.findall(r"```sh\n(.*?)```", text, re.S)
    demo_cmd, test_cmd = sh[0].strip(), sh[1].strip()
    assert "twin demo" in demo_cmd
    ci = [l for l in (ROOT / ".ci" / "run").read_text().splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert test_cmd in ci
