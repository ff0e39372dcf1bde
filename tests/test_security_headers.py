"""Security headers on every page and on the ASGI shortcut, the DJANGO_HTTPS setting,
and the WebSocket origin check, against a real daphne."""

import asyncio
import subprocess
import sys
import time

import httpx
import orjson
import pytest
import websockets

from devtools.processes import BASE_DIR
from tests.test_browser import browser  # noqa: F401  (Chromium)
from tests.test_hostile_requests import CHAIN, EXPIRY, refusal_of

STRONG_KEY = "k3P9vZr2Qx7Lm5Nw8Tb1Yc4Hd6Jf0Gs2Ua9Ee7Ri5Oo3Pp1Xx8Zz6Vv4Bb2Nn0Mm"
PAGES = {
    "dashboard": "/",
    "chain page": f"/chain/bybit/BTC/{EXPIRY}/",
    "chain (ASGI shortcut)": CHAIN,
    "ticks (ASGI shortcut)": "/api/ticks/bybit/BTC-27MAR99-70000-C-USDT/",
    "chain as csv": f"{CHAIN}?format=csv",
    "browsable API": f"{CHAIN}?format=api",
    "API root": "/api/",
    "Swagger UI": "/api/docs/",
    "admin login": "/admin/login/",
    "an API error": "/api/ticks/bybit/NOPE/",
}
SAME_ON_EVERY_PAGE = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@pytest.fixture(scope="module")
def web(start_web, hostile_store):
    # Any Host allowed, as the README permits: the origin check must hold anyway.
    server = start_web("headers", hostile_store.url, DJANGO_ALLOWED_HOSTS="*")
    server.manage("collectstatic", "--noinput", "-v", "0")  # for Chromium's pages
    yield server
    server.kill()


@pytest.fixture(scope="module")
def https_web(start_web, hostile_store):
    server = start_web(
        "https", hostile_store.url, DJANGO_HTTPS="1", DJANGO_SECRET_KEY=STRONG_KEY
    )
    yield server
    server.kill()


def directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(" ", 1) for part in policy.split(";"))
    return {name: value for name, value in parts}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_the_security_headers_and_a_strict_policy(web, page):
    response = httpx.get(web.url + PAGES[page])
    assert response.status_code in (200, 404), response.text
    for name, value in SAME_ON_EVERY_PAGE.items():
        assert response.headers[name] == value, name
    assert "cross-origin-opener-policy" in response.headers
    policy = directives(response.headers["content-security-policy"])
    # Nothing from another origin, no inline script anywhere.
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    inline_styles = page in ("browsable API", "Swagger UI")
    expected_style = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    assert policy["style-src"] == expected_style


def test_the_shortcut_sends_the_same_headers_as_django(web):
    fast = httpx.get(web.url + CHAIN)  # served by api.asgi.FastReads
    slow = httpx.get(web.url + CHAIN, params={"format": "api"})  # Django's path
    for name in (*SAME_ON_EVERY_PAGE, "content-security-policy",
                 "cross-origin-opener-policy"):  # fmt: skip
        assert fast.headers[name] == without_inline_styles(slow.headers[name]), name


def without_inline_styles(value: str) -> str:
    """The browsable API's policy less its inline styles: the shortcut's JSON."""
    return value.replace(" 'unsafe-inline'", "")


def test_pages_load_no_inline_script(web):
    for page in ("dashboard", "chain page", "Swagger UI"):
        html = httpx.get(web.url + PAGES[page]).text
        for tag in html.split("<script")[1:]:
            opening = tag.split(">", 1)[0]
            assert "src=" in opening or "application/json" in opening, page
        assert " onsubmit=" not in html and " onclick=" not in html, page
    # Swagger UI's set-up script is a file of its own (the split view).
    assert httpx.get(web.url + "/api/docs/?script").status_code == 200


def test_https_turns_on_hsts_the_redirect_and_secure_cookies(https_web):
    plain = httpx.get(https_web.url + CHAIN)
    assert plain.status_code == 301
    assert plain.headers["location"] == f"https://127.0.0.1:{https_web.port}{CHAIN}"
    proxied = {"X-Forwarded-Proto": "https"}
    for path in (CHAIN, "/api/", "/admin/login/"):
        response = httpx.get(https_web.url + path, headers=proxied)
        assert response.status_code == 200, path
        hsts = response.headers["strict-transport-security"]
        assert hsts == "max-age=31536000; includeSubDomains; preload"
    login = httpx.get(https_web.url + "/admin/login/", headers=proxied)
    assert "secure" in login.headers["set-cookie"].lower()


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "DJANGO_ALLOWED_HOSTS": "tracker.example",
             **env},
    )  # fmt: skip


def test_check_deploy_is_clean_with_https_and_a_strong_key():
    clean = deploy_check(DJANGO_HTTPS="1", DJANGO_SECRET_KEY=STRONG_KEY)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no issues" in clean.stdout
    without = deploy_check(DJANGO_SECRET_KEY=STRONG_KEY)
    assert without.returncode != 0
    for check in ("W004", "W008", "W012", "W016"):  # HSTS, redirect, cookies
        assert f"security.{check}" in without.stdout + without.stderr


async def chain_socket(url: str, origin: str) -> dict:
    async with websockets.connect(url, origin=origin, open_timeout=10) as ws:
        return orjson.loads(await asyncio.wait_for(ws.recv(), 10))


def test_websocket_origins_are_the_sites_own_even_with_any_host_allowed(web):
    url = f"ws://127.0.0.1:{web.port}/ws/chain/bybit/BTC/{EXPIRY}/"
    own = asyncio.run(chain_socket(url, f"http://127.0.0.1:{web.port}"))
    assert own["type"] == "snapshot"
    for origin in ("http://evil.example", f"http://127.0.0.1:{web.port + 1}",
                   "null"):  # fmt: skip
        assert asyncio.run(refusal_of(url, origin)) == 403, origin


def test_trusted_origins_may_open_sockets(start_web, hostile_store):
    trusted = "https://tracker.example"
    server = start_web("trusted", hostile_store.url, DJANGO_TRUSTED_ORIGINS=trusted)
    try:
        url = f"ws://127.0.0.1:{server.port}/ws/chain/bybit/BTC/{EXPIRY}/"
        assert asyncio.run(chain_socket(url, trusted))["type"] == "snapshot"
        assert asyncio.run(refusal_of(url, "https://other.example")) == 403
    finally:
        server.kill()


BROWSER_PAGES = {
    # page: what shows that it works (its scripts ran, its data arrived)
    "dashboard": "#overview table",
    "chain page": "window.wsConnected === true",
    "Swagger UI": ".swagger-ui .opblock",
    "browsable API": ".response-info",
    "admin login": "#login-form",
}


@pytest.mark.browser
@pytest.mark.parametrize("page", BROWSER_PAGES)
def test_pages_work_in_chromium_under_their_policy(web, browser, page):  # noqa: F811
    tab = browser.new_page()
    said = []  # Chromium reports every refused load or script on the console
    tab.on("console", lambda message: said.append(message.text))
    tab.goto(web.url + PAGES[page])
    sign = BROWSER_PAGES[page]
    if sign.startswith("window."):
        # Polled from here: wait_for_function's predicate runs through eval(), which
        # the policy under test refuses (page.evaluate goes through the debugger).
        deadline = time.monotonic() + 10
        while not tab.evaluate(sign):
            assert time.monotonic() < deadline, f"{page}: {sign} never came true"
            tab.wait_for_timeout(100)
    else:
        tab.wait_for_selector(sign, timeout=10_000)
    assert [text for text in said if "Security Policy" in text] == []
    tab.close()
