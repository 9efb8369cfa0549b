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
