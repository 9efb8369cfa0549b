"""The monitoring page in headless Chromium (Debian's chromium; .ci/run installs it)."""

import re
import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium)")
def test_page_loads_connects_and_values_change(live, tmp_path):
    with live() as srv:
        def dom(ms):
            out = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / str(ms)}", f"--virtual-time-budget={ms}",
                                  "--dump-dom", srv.url + "/?scale=3600"], capture_output=True, text=True, timeout=90)
            return out.stdout

        early, late = dom(1500), dom(6000)
        assert "connected: session" in late
        assert 'id="st-L1"' in late and "parts" in late

        def simtime(html):
            m = re.search(r'id="simtime">([^<]*)<', html)
            return m.group(1) if m else ""

        assert simtime(late) not in ("", "-")
        assert simtime(late) != simtime(early)  # the page shows the line moving
