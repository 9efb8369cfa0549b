"""Identities, rights and what is protected (issue 13, items 2-4), through a real server."""

import asyncio
import json
import re

import httpx
import pytest

from conftest_helpers import LINE, bearer

TOKENS_TOML = """
[plc]
secret = "plc-secret-1"
rights = ["read", "write"]

[viewer]
secret = "viewer-secret-1"
rights = ["read"]

[mes]
secret = "mes-secret-1"
"""


@pytest.fixture
def secured(live, tmp_path):
    f = tmp_path / "tokens.toml"
    f.write_text(TOKENS_TOML)
    f.chmod(0o600)
    return live(tokens_file=f, tokens=["ci=ci-secret-1"])


def test_reads_are_protected_and_the_scheme_is_case_insensitive(secured):
    with secured as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        # health and the page shell stay open: they carry no plant data
        assert c.get("/v1/health").status_code == 200 and c.get("/").status_code == 200
        for path in ("/v1/runs", "/v1/scenarios", "/v1/sessions", "/v1/runs/x", "/v1/sessions/x/tags", "/v1/sessions/x/commands"):
            r = c.get(path)
            assert r.status_code == 401 and r.headers["www-authenticate"].lower().startswith("bearer"), path
            assert c.get(path, headers=bearer("wrong")).status_code == 401
        assert c.post("/v1/scenarios/validate", json={"scenario": LINE}).status_code == 401
        for scheme in ("Bearer", "bearer", "BEARER", "bEaReR"):
            assert c.get("/v1/runs", headers={"Authorization": f"{scheme} viewer-secret-1"}).status_code == 200, scheme
        assert c.get("/v1/runs", headers={"Authorization": "Basic viewer-secret-1"}).status_code == 401
        assert c.post("/v1/scenarios/validate", json={"scenario": LINE}, headers=bearer("viewer-secret-1")).json()["valid"]


def test_rights_and_identities_from_file_and_flags(secured):
    with secured as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        # read-only identity: 403 on every write, reads fine
        r = c.post("/v1/sessions", json={"scenario": LINE}, headers=bearer("viewer-secret-1"))
        assert r.status_code == 403 and "write" in r.json()["detail"]
        assert c.post("/v1/runs", json={"scenario": LINE}, headers=bearer("viewer-secret-1")).status_code == 403
        # `rights` left out of the file: read and write; --token NAME=SECRET: read and write
        for secret in ("mes-secret-1", "ci-secret-1", "plc-secret-1"):
            assert c.post("/v1/sessions", json={"scenario": LINE}, headers=bearer(secret)).status_code == 201, secret


def test_command_source_is_the_identity_and_ownership_keys_on_it(secured):
    plc, mes = bearer("plc-secret-1"), bearer("mes-secret-1")
    with secured as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE}, headers=plc).json()["id"]
        # a declared source is refused, not trusted
        r = c.post(f"/v1/sessions/{sid}/commands", json={"command": "hold", "target": "A", "source": "mes"}, headers=plc)
        assert r.status_code == 422 and r.json()["detail"] == [{"path": "source", "message": "unknown field"}]
        assert c.post(f"/v1/sessions/{sid}/commands", json={"command": "hold", "target": "A"}, headers=plc).status_code == 200
        r = c.post(f"/v1/sessions/{sid}/commands", json={"command": "start", "target": "A"}, headers=mes)
        assert r.status_code == 422 and r.json()["detail"][0]["path"] == "target" and "'plc'" in r.json()["detail"][0]["message"]
        # request_maintenance takes ownership like every other command
        c.post(f"/v1/sessions/{sid}/step", json={"dt": 100}, headers=plc)
        assert c.post(f"/v1/sessions/{sid}/commands", json={"command": "request_maintenance", "target": "B", "value": 60},
                      headers=mes).status_code == 200
        r = c.post(f"/v1/sessions/{sid}/commands", json={"command": "hold", "target": "B"}, headers=plc)
        assert r.status_code == 422 and "'mes'" in r.text
        log = c.get(f"/v1/sessions/{sid}/commands", headers=plc).json()
        assert [(x["source"], x["command"], x["accepted"]) for x in log] == [
            ("plc", "hold", True), ("mes", "start", False), ("mes", "request_maintenance", True), ("plc", "hold", False)]


def test_websocket_needs_a_token_never_from_the_url(secured):
    import websockets

    with secured as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        sid = c.post("/v1/sessions", json={"scenario": LINE}, headers=bearer("plc-secret-1")).json()["id"]
        ws_url = srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws"

        async def closed_with(url, first=None, headers=None):
            async with websockets.connect(url, additional_headers=headers) as ws:
                if first is not None:
                    await ws.send(json.dumps(first))
                try:
                    await asyncio.wait_for(ws.recv(), 15)
                except websockets.ConnectionClosed as e:
                    return e.rcvd.code
                return None

        async def go():
            # a token in the URL is not accepted (URLs are logged); nothing is sent before auth
            assert await closed_with(ws_url + "?token=plc-secret-1", {"dt": 10}) == 4401
            assert await closed_with(ws_url, {"token": "wrong"}) == 4401
            assert await closed_with(ws_url, {"token": "viewer-secret-1"}) == 4403  # stepping is a write
            for how in ({"first": {"token": "plc-secret-1"}}, {"headers": bearer("plc-secret-1")}):
                async with websockets.connect(ws_url, additional_headers=how.get("headers")) as ws:
                    if "first" in how:
                        await ws.send(json.dumps(how["first"]))
                    assert json.loads(await ws.recv())["initial"]
                    await ws.send(json.dumps({"dt": 50}))
                    assert json.loads(await ws.recv())["sim_time"] > 0

        asyncio.run(go())


def test_tokens_file_errors_name_the_field(tmp_path):
    from twin.api.auth import IdentityError, Identities

    bad = tmp_path / "t.yaml"
    bad.write_text("plc: {secret: x, rights: [read, admin]}\n")
    with pytest.raises(IdentityError, match=r"plc\.rights\.1"):
        Identities.load(tokens_file=bad)
    bad.write_text("'<b>': {secret: x}\n")
    with pytest.raises(IdentityError, match="name must match"):
        Identities.load(tokens_file=bad)
    with pytest.raises(IdentityError, match="share one secret"):
        Identities.load(["a=same", "b=same"])
    with pytest.raises(IdentityError, match="defined twice"):
        Identities.load(["a=one", "a=two"])
    ids = Identities.load(["legacy-secret", "plc=s"])
    assert ids.authenticate("legacy-secret").name == "token" and ids.authenticate("s").name == "plc"
    assert ids.authenticate("s ") is None and ids.authenticate("") is None


def test_serve_refuses_a_bad_tokens_file_with_exit_2(tmp_path):
    import subprocess
    import sys

    f = tmp_path / "t.json"
    f.write_text('{"plc": {"secret": ""}}')
    out = subprocess.run([sys.executable, "-m", "twin.cli", "serve", "--tokens", str(f), "--db", str(tmp_path / "x.db")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "plc.secret" in out.stderr


def test_pages_send_a_strict_content_security_policy(live):
    with live() as srv, httpx.Client(base_url=srv.url) as c:
        page = c.get("/")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
        assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
        # no inline script or style, no event-handler attributes: everything the page runs is a file
        html = page.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) and "<style" not in html
        assert not re.search(r"\son[a-z]+\s*=", html) and "style=" not in html
        js = c.get("/static/monitor.js")
        assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
        assert "innerHTML" not in js.text and "insertAdjacentHTML" not in js.text and "document.write" not in js.text
        assert c.get("/static/../app.py").status_code == 404 and c.get("/static/index.html").status_code == 404
        assert c.get("/v1/health").headers["content-security-policy"]
