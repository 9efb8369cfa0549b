"""Reports: `twin report` for a run, a comparison and a sweep writes one self-contained HTML file
that headless Chromium renders offline (every chart drawn, no console error, no request leaves
the machine); the charts' numbers agree with the KPIs; PNG files for slides; res.plot and the
notebook view."""

import copy
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import twin

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0",
         # every request to the network goes to a closed local port: the page must not need one
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]

LINE = {
    "name": "flange line", "horizon": "2 d", "warmup": "4 h", "seed": 3,
    "calendar": {"start": "mon 00:00", "shifts": [
        {"name": "early", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "14:00"},
        {"name": "late", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "14:00", "end": "22:00"}],
        "breaks": [{"start": "10:00", "duration": "20 min"}]},
    "products": {"F": {"routing": [{"station": "SAW"}, {"station": "LATHE"}, {"station": "DRILL"}]}},
    "stations": {
        "SAW": {"process_time": {"dist": "normal", "mean": "50 s", "sd": "5 s"}, "power": {"processing": "5 kW", "idle": "0.5 kW"}},
        "LATHE": {"process_time": {"dist": "triangular", "low": "70 s", "mode": "80 s", "high": "100 s"}, "scrap": 0.02,
                  "failures": [{"basis": "operating", "availability": 0.95, "mttr": "20 min"}],
                  "power": {"processing": "15 kW", "idle": "2 kW", "down": "1 kW"}},
        "DRILL": {"process_time": {"dist": "uniform", "low": "40 s", "high": "60 s"}, "power": {"processing": "4 kW", "idle": "0.5 kW"}},
    },
    "buffers": {"B1": {"capacity": 5, "between": ["SAW", "LATHE"]}, "B2": {"capacity": 5, "between": ["LATHE", "DRILL"]}},
    "costs": {"currency": "EUR", "stations": {"LATHE": {"hour_rate": 80, "investment": 300000}}, "energy": {"price": 0.2},
              "products": {"F": {"material": 12, "scrap": 4, "price": 60}}},
}


def _write(tmp_path, d, name):
    import yaml

    p = tmp_path / name
    p.write_text(yaml.safe_dump(d, sort_keys=False))
    return p


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], capture_output=True, text=True, timeout=timeout)


def _browse(page, tmp_path, budget=8000):
    """DOM after scripts ran, and the console errors, in headless Chromium with no network."""
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chr'}", f"--virtual-time-budget={budget}",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    errors = [l for l in out.stderr.splitlines() if "CONSOLE" in l or "Uncaught" in l]
    return out.stdout, errors


def _offline(html: str) -> None:
    assert not re.search(r"<script[^>]+src=", html), "a script is loaded from elsewhere"
    assert not re.search(r"<link[^>]+href=\"?https?:", html), "a stylesheet is loaded from the network"
    assert not re.search(r"<img[^>]+src=\"?https?:", html)


@pytest.fixture(scope="module")
def result():
    return twin.simulate(twin.parse_scenario(copy.deepcopy(LINE)))


def test_time_in_state_chart_adds_up_to_the_kpis(result):
    from twin.report import chart_time_in_state

    ch = chart_time_in_state(result)
    k = result.kpis["stations"]
    window = result.horizon - result.warmup
    shares = {s.name: dict(zip(s.y, s.x)) for s in ch.series}
    for st in ("SAW", "LATHE", "DRILL"):
        assert sum(v[st] for v in shares.values()) == pytest.approx(100.0)
        assert shares["processing"][st] / 100 * window == pytest.approx(k[st]["APT"], rel=1e-9)
        assert shares["failure"].get(st, 0.0) / 100 * window == pytest.approx(k[st]["ADET"], rel=1e-9, abs=1e-6)
        assert shares["off shift"][st] / 100 * window == pytest.approx(window - k[st]["POT"], rel=1e-9)


def test_throughput_per_shift_sums_to_the_window_and_energy_to_the_kpi(result):
    from twin.report import chart_energy_by_state, chart_throughput_per_shift, shift_intervals

    iv = shift_intervals(result)
    assert [lab for *_, lab in iv[:4]] == ["d1 mon early", "d1 mon late", "d2 tue early", "d2 tue late"]
    assert all(b - a <= 8 * 3600 + 1e-9 for a, b, _ in iv)
    ch = chart_throughput_per_shift(result)
    good = sum(ch.series[0].y)
    assert good == result.kpis["line"]["parts_completed"]  # nothing leaves the line off shift
    e = chart_energy_by_state(result)
    total = sum(sum(s.x) for s in e.series)
    assert total == pytest.approx(result.kpis["line"]["energy_kWh"], rel=1e-9)


def test_shifting_bottleneck_marks_the_longest_active_period_per_shift(result):
    from twin.kpi import active_periods
    from twin.report import chart_shifting_bottleneck, shift_intervals

    ch = chart_shifting_bottleneck(result)
    a, b, lab = shift_intervals(result)[1]
    st = result.state
    per = active_periods(st["t"], st["resource"], st["code"], len(result.resources), a, b)
    means = {name: per[i].mean() for i, (name, _) in enumerate(result.resources) if len(per[i])}
    assert dict(ch.marks)[lab] == max(means, key=means.get)
    assert len(ch.xcats) == len(shift_intervals(result))


def test_plots_from_python_and_notebook_view(result, tmp_path):
    fig = result.plot.time_in_state()
    assert fig.layout.title.text.startswith("Time in state") and len(fig.data) >= 3
    assert result.plot.gantt(6 * 3600, 7 * 3600).layout.title.text == "States over time, 6 h to 7 h"
    for name in ("levels", "throughput_per_shift", "shifting_bottleneck", "lead_time", "energy_by_state"):
        assert getattr(result.plot, name)().data
    h = result._repr_html_()
    assert "OEE [%]" in h and "cost per good part" in h and "parts/h" in h
    p = result.plot.png("levels", tmp_path / "levels.png")
    import imageio.v3 as iio

    img = iio.imread(p)
    assert img.shape[0] > 300 and img.std() > 10


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium)")
def test_run_report_renders_offline_in_chromium(tmp_path):
    sc = _write(tmp_path, LINE, "flange.yaml")
    r = _cli("run", str(sc), "--out", str(tmp_path / "res"), "--quiet")
    assert r.returncode == 0, r.stderr
    r = _cli("report", str(tmp_path / "res"), "--png-dir", str(tmp_path / "png"), "--from", "6 h", "--to", "10 h")
    assert r.returncode == 0, r.stderr
    page = tmp_path / "res" / "report.html"
    text = page.read_text()
    _offline(text)
    for want in ("OEE [%]", "throughput", "parts/h", "lead time mean", "min", "EUR", "cost per good part", "data:image/png;base64,"):
        assert want in text, want
    dom, errors = _browse(page, tmp_path)
    assert not errors, errors
    charts = re.findall(r'data-chart="([a-z_]+)"', dom)
    assert set(charts) >= {"time_in_state", "gantt", "levels", "throughput_per_shift", "shifting_bottleneck", "lead_time",
                           "energy_by_state"}
    # plotly drew every chart: one SVG root per chart
    assert dom.count('class="main-svg"') >= 2 * len(charts) - 1
    assert "States over time, 6 h to 10 h" in dom
    pngs = sorted(p.name for p in (tmp_path / "png").iterdir())
    assert pngs == sorted(f"{c}.png" for c in charts)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium)")
def test_compare_and_sweep_reports_answer_the_what_ifs(tmp_path):
    one_day = dict(copy.deepcopy(LINE), horizon="1 d")
    base = _write(tmp_path, one_day, "base.yaml")
    d = copy.deepcopy(one_day)
    d["stations"]["LATHE"]["capacity"] = 2  # "add a second lathe?"
    cand = _write(tmp_path, d, "cand.yaml")
    r = _cli("compare", str(base), str(cand), "--replications", "3", "--workers", "1", "--quiet", "--out", str(tmp_path / "cmp"))
    assert r.returncode == 0, r.stderr
    assert "no gate given: no verdict" in r.stdout and "PASS" not in r.stdout
    assert "significant" in r.stdout and "bottleneck: baseline LATHE" in r.stdout and "payback of 300,000 EUR" in r.stdout
    r = _cli("report", str(tmp_path / "cmp"))
    assert r.returncode == 0, r.stderr
    page = tmp_path / "cmp" / "report.html"
    text = page.read_text()
    _offline(text)
    assert "bottleneck LATHE -&gt;" in text and "payback of 300,000 EUR" in text
    rep = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert rep["kpis"]["line.throughput_per_hour"]["significant"] is True
    dom, errors = _browse(page, tmp_path)
    assert not errors, errors
    assert {"delta_utilization", "bottleneck"} <= set(re.findall(r'data-chart="([a-z_]+)"', dom))

    # "how big a buffer before the lathe?"
    r = _cli("sweep", str(base), "--vary", "buffers.B1.capacity=1..3", "--replications", "2", "--workers", "1", "--quiet",
             "--out", str(tmp_path / "sw"))
    assert r.returncode == 0, r.stderr
    assert "± " in r.stdout and "status" in r.stdout and "LATHE" in r.stdout  # interval, status, bottleneck per point
    r = _cli("report", str(tmp_path / "sw"), "--png-dir", str(tmp_path / "swpng"))
    assert r.returncode == 0, r.stderr
    page = tmp_path / "sw" / "report.html"
    _offline(page.read_text())
    dom, errors = _browse(page, tmp_path)
    assert not errors, errors
    assert {"response", "best"} <= set(re.findall(r'data-chart="([a-z_]+)"', dom))
    assert "best point: buffers.B1.capacity" in dom
    assert (tmp_path / "swpng" / "response.png").exists()


def test_report_refuses_what_it_cannot_read(tmp_path):
    r = _cli("report", str(tmp_path))
    assert r.returncode == 2 and "twin run --out" in r.stderr
    r = _cli("report", str(tmp_path / "nope"))
    assert r.returncode == 2
