"""The monitoring page in headless Chromium (Debian's chromium; .ci/run installs it)."""

import re
import shutil
import subprocess

import httpx
import pytest

from conftest_helpers import LINE, LiveServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium)")]


def dom(tmp_path, url, ms):
    out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / str(ms)}", f"--virtual-time-budget={ms}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=90)
    return out.stdout


def minutes(html):
    m = re.search(r'id="simtime">(\d+) d (\d+):(\d+)<', html)
    assert m, "no sim time shown"
    d, h, mi = map(int, m.groups())
    return d * 1440 + h * 60 + mi


def status(html):
    """The text of the page's status line (not whatever the page's source contains)."""
    m = re.search(r'id="status">([^<]*)<', html)
    return m.group(1) if m else ""


def connected_page(tmp_path, url, after=0):
    """The page's DOM once it connected and showed a stepped sim time past ``after`` minutes."""
    late = dom(tmp_path, url, 6000)
    if not status(late).startswith("connected: session") or not re.search(r'id="simtime">\d', late) or minutes(late) <= after:
        # a loaded 2-core machine can starve the browser of the server's first WebSocket
        # messages within the virtual-time budget: one more, longer look
        late = dom(tmp_path, url, 15000)
    return late


def test_page_loads_connects_and_values_change(live, tmp_path):
    with live() as srv:
        late = connected_page(tmp_path, srv.url + "/?scale=3600", 6 * 60)
        assert status(late).startswith("connected: session")
        assert 'id="st-L1"' in late and "parts" in late
        # the session starts at 06:00 (first shift); the page received it and then at least one
        # stepped update over the WebSocket, so the value it shows has moved on
        assert minutes(late) > 6 * 60


def test_page_loads_reuse_one_session_and_cannot_exhaust_the_limit(live, tmp_path):
    """Every load used to create a session: with room for one session the second load went dead."""
    from twin.api.app import Limits

    with live(limits=Limits(max_sessions=1)) as srv:
        for k in range(2):
            page = connected_page(tmp_path / str(k), srv.url + "/?scale=3600", 6 * 60)
            assert status(page).startswith("connected: session"), status(page)
        assert httpx.get(srv.url + "/v1/health").json()["sessions"] == 1


def test_page_sends_its_token(live, tmp_path):
    with live(tokens=["wall=wall-secret-1"]) as srv:
        locked = dom(tmp_path / "locked", srv.url + "/?scale=3600", 3000)
        assert status(locked) == "this server needs a token" and 'id="st-' not in locked
        page = connected_page(tmp_path / "ok", srv.url + "/?scale=3600#token=wall-secret-1", 6 * 60)
        assert status(page).startswith("connected: session") and 'id="st-L1"' in page
        assert "wall-secret-1" not in page  # not echoed into the page


class _Hostile:
    """A run whose station A is reported under a name carrying markup (names are restricted at
    load; this checks the page's own defence: data is rendered as text)."""

    EVIL = '<img src=x onerror="document.title=\'pwned\'">'

    def __init__(self, run):
        self._run = run

    def __getattr__(self, name):
        return getattr(self._run, name)

    def _evil(self, tags):
        out = {}
        for k, v in tags.items():
            if k.startswith("A."):
                k = self.EVIL + k[1:]
            out[k] = "<b>bold</b>" if k.endswith(".reason") else v
        return out

    def tags(self):
        return self._evil(self._run.tags())

    def observed_tags(self):
        return self._evil(self._run.observed_tags())

    def step(self, dt):  # (what the server before the fix called)
        return self._evil(self._run.step(dt))


def test_page_renders_data_as_text(tmp_path):
    import twin
    from twin.api.app import create_app

    app = create_app(db=str(tmp_path / "x.db"))
    s = app.state.service.add_session(_Hostile(twin.Run(twin.parse_scenario(LINE))), owner="anonymous", kind="api", reserved=False)
    with LiveServer(app) as srv:
        page = connected_page(tmp_path, srv.url + f"/?scale=600&session={s.id}")
    assert status(page).startswith("connected: session")
    assert "&lt;img src=x onerror=" in page  # shown as text
    assert "<img" not in page and "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "pwned" not in page.split("<body")[0]


# ---- the line page (issue 15), driven over the DevTools protocol ------------------------------------
import base64  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402


class Browser:
    """Headless Chromium driven over the DevTools protocol (websockets, no extra dependency): wait
    for a condition on the page, read the DOM with JavaScript, take a screenshot, and keep every
    network request and console message the page made."""

    def __init__(self, tmp_path, width=1500, height=1100):
        import websockets.sync.client

        self.dir = tmp_path / "chr"
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.dir}", "--remote-debugging-port=0",
                                      "--remote-allow-origins=*", f"--window-size={width},{height}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = self.dir / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().count("\n") >= 1:
                break
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        for _ in range(100):
            try:
                page = next(t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page")
                break
            except (httpx.HTTPError, StopIteration):
                time.sleep(0.1)
        self.ws = websockets.sync.client.connect(page["webSocketDebuggerUrl"], max_size=64 * 2**20)
        self.n = 0
        self.requests: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.exceptions: list[str] = []
        for m in ("Network.enable", "Runtime.enable", "Log.enable", "Page.enable"):
            self.call(m)
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def _event(self, m):
        p = m.get("params", {})
        if m.get("method") == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif m.get("method") == "Network.webSocketCreated":
            self.requests.append(p["url"])
        elif m.get("method") == "Runtime.consoleAPICalled":
            self.console.append((p["type"], " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])))
        elif m.get("method") == "Runtime.exceptionThrown":
            self.exceptions.append(json.dumps(p["exceptionDetails"])[:500])
        elif m.get("method") == "Log.entryAdded":
            self.console.append((p["entry"]["level"], p["entry"]["text"]))

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv(timeout=60))
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self._event(m)

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, url):
        self.call("Page.navigate", url=url)

    def wait(self, expr, timeout=60.0):
        """Wait until ``expr`` is truthy on the page; returns its value."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                v = self.js(expr)
            except RuntimeError:  # (the page is still loading)
                v = None
            if v:
                return v
            time.sleep(0.2)
        status = self.js("document.getElementById('status').textContent")
        raise AssertionError(f"the page never showed {expr}; status: {status!r}")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path)
    yield b
    b.close()


def _demo(srv):
    """The anonymous identity's demo session (the one the page reuses) and its tags."""
    r = httpx.post(srv.url + "/v1/sessions/demo", timeout=60).json()
    return r["id"]


def _step_until(srv, sid, pred, dt=60.0, limit=86400.0 * 3):
    """Step the session by ``dt`` until ``pred(tags)``; returns the tags."""
    tags = httpx.get(f"{srv.url}/v1/sessions/{sid}/tags", timeout=60).json()
    start = tags["plant.sim_time"]
    while not pred(tags):
        assert tags["plant.sim_time"] - start < limit, "the condition never came"
        httpx.post(f"{srv.url}/v1/sessions/{sid}/step", json={"dt": dt}, timeout=60).raise_for_status()
        tags = httpx.get(f"{srv.url}/v1/sessions/{sid}/tags", timeout=60).json()
    return tags


DAY = 86400.0
LINE_ORDER = ["SAW", "B_SAW", "L1", "L2", "B_L1", "B_L2", "rework:MILL", "MILL", "B_MILL", "DEBURR", "B_DEB", "HT", "B_HT",
              "GRIND", "B_GR", "CMM", "B_CMM", "PACK"]
PAGE_STATE = """(() => {
  const q = s => [...document.querySelectorAll(s)];
  const svg = document.getElementById('trend-svg');
  return {
    order: q('#line .st, #line .buf').map(e => e.dataset.station || e.dataset.buffer),
    stages: q('#line .stage').map(s => [...s.children].map(e => e.dataset.station || e.dataset.buffer)),
    states: Object.fromEntries(q('#line .st').map(e => [e.dataset.station, [e.dataset.state, getComputedStyle(e).borderTopColor, e.querySelector('.label').textContent]])),
    buffers: Object.fromEntries(q('#line .buf').map(e => [e.dataset.buffer, [e.querySelector('meter').value, e.querySelector('meter').max, e.dataset.capacity, e.querySelector('small').textContent]])),
    alarms: q('#alarms tbody tr').map(r => [r.className, r.dataset.station, r.dataset.kind, ...[...r.cells].map(c => c.textContent)]),
    legend: q('#legend li').map(e => [e.dataset.state, getComputedStyle(e, '::before').backgroundColor]),
    warmup: document.getElementById('warmup').hidden ? null : document.getElementById('warmup').textContent,
    trend: svg ? [...svg.querySelectorAll('g.panel')].map(g => [g.dataset.series, [...g.querySelectorAll('polyline')].reduce((n, p) => n + p.points.numberOfItems, 0)]) : null,
    thr: document.getElementById('thr').textContent, oee: document.getElementById('oee').textContent,
    simtime: document.getElementById('simtime').textContent, status: document.getElementById('status').textContent,
  };
})()"""


def _no_errors_and_only_this_origin(b, srv):
    errors = [c for c in b.console if c[0] in ("error", "assert")] + b.exceptions
    assert not errors, errors
    origin = urlsplit(srv.url).netloc
    outside = [u for u in b.requests if urlsplit(u).netloc != origin and not u.startswith(("data:", "about:"))]
    assert b.requests and not outside, outside


def test_line_page_in_warmup_shows_the_note_and_the_line(live, browser, tmp_path):
    """The demo session starts at 06:00 with an 8 h warm-up: the KPIs endpoint answers 409, the
    page says why there are no KPIs yet, and still draws the line in routing order."""
    with live() as srv:
        sid = _demo(srv)
        assert httpx.get(f"{srv.url}/v1/sessions/{sid}/kpis").status_code == 409
        browser.open(srv.url + "/?scale=1")
        browser.wait("document.getElementById('warmup').hidden === false && document.querySelectorAll('#line .buf').length > 0")
        page = browser.js(PAGE_STATE)
        browser.screenshot(tmp_path / "warmup.png")
        _no_errors_and_only_this_origin(browser, srv)
    assert page["order"] == LINE_ORDER
    assert ["L1", "L2"] in page["stages"] and ["B_L1", "B_L2"] in page["stages"]  # parallel units side by side
    assert "warm-up" in page["warmup"].lower() and "0 d 08:00" in page["warmup"]
    assert page["thr"] == "-" and page["oee"] == "-"
    assert [s for s, _ in page["legend"]] == ["processing", "setup", "starved", "blocked", "held", "down", "maintenance", "break", "off_shift"]
    assert len({c for _, c in page["legend"]}) == 9  # nine distinct andon colours


def test_line_page_shows_setup_alarms_fill_trend_and_planned_throughput(live, browser, tmp_path):
    """Tuesday morning on the demo line: a station in setup is coloured as setup (not as
    processing), a commanded maintenance is an open alarm row counting up, the buffers show the
    session's levels, the trend has points, and the throughput counts only planned hours."""
    with live() as srv:
        sid = _demo(srv)
        httpx.post(f"{srv.url}/v1/sessions/{sid}/step", json={"until": DAY + 10 * 3600}, timeout=120).raise_for_status()
        tags = _step_until(srv, sid, lambda t: any(t[f"{s}.operation_mode"] == "Setup" for s in ("L1", "L2", "GRIND")), dt=30)
        setup = next(s for s in ("L1", "L2", "GRIND") if tags[f"{s}.operation_mode"] == "Setup")
        target = next(s for s in ("MILL", "DEBURR", "CMM") if tags[f"{s}.item_state"] != "OutOfService")
        r = httpx.post(f"{srv.url}/v1/sessions/{sid}/commands", json={"command": "request_maintenance", "target": target, "value": 3600})
        assert r.status_code == 200 and r.json()["accepted"], r.text
        t_cmd = tags["plant.sim_time"]
        # scale 0.01: the page steps 2.5 ms of sim time per step, so it stays in this moment
        browser.open(srv.url + "/?scale=0.01")
        browser.wait("document.querySelectorAll('#alarms tbody tr.open').length > 0 && document.getElementById('oee').textContent !== '-'"
                     " && document.getElementById('trend-svg') && document.querySelectorAll('#trend polyline').length > 0")
        page = browser.js(PAGE_STATE)
        shot = browser.screenshot(tmp_path / "line.png")
        now = httpx.get(f"{srv.url}/v1/sessions/{sid}/tags", timeout=60).json()
        kpis = httpx.get(f"{srv.url}/v1/sessions/{sid}/kpis", timeout=60).json()["line"]
        _no_errors_and_only_this_origin(browser, srv)
    assert shot.stat().st_size > 20000
    assert page["order"] == LINE_ORDER and page["warmup"] is None
    # andon: the setup station shows setup in the setup colour, different from processing's
    state, colour, label = page["states"][setup]
    assert (state, label) == ("setup", "setup")
    legend = dict(page["legend"])
    assert colour == legend["setup"] != legend["processing"]
    for s, (st, col, _) in page["states"].items():
        assert col == legend[st], (s, st)
    assert page["states"][target][0] == "maintenance"
    # buffer fill bars: the session's levels and capacities
    for b in LINE_ORDER:
        if b.startswith("B_"):
            value, mx, cap, label = page["buffers"][b]
            assert (value, mx, int(cap)) == (now[f"{b}.level"], now[f"{b}.capacity"], now[f"{b}.capacity"])
            assert label == f"{now[f'{b}.level']} / {now[f'{b}.capacity']}"
    # the alarm row of the commanded maintenance, open, with its start and a duration
    row = next(a for a in page["alarms"] if a[0] == "open" and a[1] == target)
    assert row[2] == "maintenance" and row[4] == "maintenance: command"
    assert row[5] == f"1 d {int(t_cmd % DAY // 3600):02d}:{int(t_cmd % 3600 // 60):02d}"
    assert re.fullmatch(r"\d+ s \(open\)", row[6])  # counting up in sim time from the command
    closed = [a for a in page["alarms"] if a[0] == "closed"]
    assert closed and all(re.fullmatch(r"(\d+ s|\d+ min \d\d s|\d+ h \d\d min)", a[6]) for a in closed)
    # trend: three series with points (the night has none: no planned time)
    trend = dict(page["trend"])
    assert set(trend) == {"throughput_per_planned_hour", "oee", "wip_mean"}
    assert trend["wip_mean"] >= 30 and 10 <= trend["throughput_per_planned_hour"] < trend["wip_mean"] - 10 and trend["oee"] >= 10
    # throughput over planned time: Monday 08:00 (warm-up end) to now, minus the night 22:00-06:00
    planned_h = (now["plant.sim_time"] - 8 * 3600 - 8 * 3600) / 3600
    assert float(page["thr"]) == pytest.approx(kpis["parts_completed"] / planned_h, abs=0.006)
    assert float(page["thr"]) > kpis["throughput_per_hour"] * 1.2  # (the calendar-hour figure counts the night)
    assert float(page["oee"]) == pytest.approx(kpis["oee"] * 100, abs=0.06)
