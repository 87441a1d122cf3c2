"""The console's guards over HTTP on loopback: no session, no console; CSRF on every POST; viewers can't change
anything; wrong passwords slow down; cookies and headers as the issue lists them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store.web import PAUSED
from tests.web.conftest import PASSWORD, Site

GETS = [
    "/",
    "/today",
    "/relay",
    "/ledger",
    "/ledger?month=2024-04",
    "/ledger/year",
    "/ledger/download?month=2024-04&format=xlsx",
    "/photo/1",
    "/thumb/1",
    "/broadcast",
    "/broadcast/2024-04/clip/x.mp3",
    "/broadcast/2024-04/zip/changchun-gb",
    "/plan",
]
POSTS = [
    "/pause",
    "/resume",
    "/relay/forwarded",
    "/ledger/reject",
    "/ledger/reassign",
    "/ledger/approve",
    "/ledger/deny",
    "/ledger/revoke",
    "/logout",
]


def test_every_console_page_without_a_session_goes_to_sign_in(site: Site) -> None:
    client = site.client()
    for path in GETS:
        reply = client.get(path)
        assert reply.status == 302, path
        assert reply.headers["Location"].startswith("/login?next="), path


@pytest.mark.parametrize("path", POSTS)
def test_every_console_action_without_a_session_is_refused(site: Site, path: str) -> None:
    reply = site.client().post(path, {"id": "1", "csrf": "x"})
    assert reply.status == 401
    assert not site.console.web.paused()


def test_a_forged_session_cookie_is_no_session(site: Site) -> None:
    client = site.client()
    client.cookies["laba_session"] = "made-up"
    assert client.get("/today").status == 302


def test_wrong_password_is_refused_and_right_one_signs_in_with_safe_cookies(site: Site) -> None:
    client = site.client()
    wrong = client.sign_in(password="not-the-password")
    assert wrong.status == 401
    assert "账号或密码不对" in wrong.text
    assert "laba_session" not in client.cookies
    ok = client.sign_in()
    assert ok.status == 302
    cookie = ok.cookies["laba_session"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie  # BOT_PUBLIC_URL is https
    page = client.get("/today")
    assert page.status == 200 and "今天" in page.text
    assert "login_failed" in [e.action for e in site.console.evidence.history("console:login")]


def test_sign_in_without_the_forms_token_is_refused(site: Site) -> None:
    client = site.client()
    reply = client.post("/login", {"user": "admin-ran", "password": PASSWORD, "login_token": "x"})
    assert reply.status == 403
    assert "laba_session" not in client.cookies


def test_repeated_wrong_passwords_make_the_next_try_wait(site: Site) -> None:
    client = site.client()
    for _ in range(3):
        assert client.sign_in(password="wrong-password").status == 401
    refused = client.sign_in()  # the right password, but too soon
    assert refused.status == 401 and "秒后再试" in refused.text
    site.clock.advance(timedelta(seconds=3))
    assert client.sign_in().status == 302


def test_post_without_csrf_is_refused(site: Site) -> None:
    client = site.client()
    client.sign_in()
    assert client.post("/pause", {}).status == 403
    assert client.post("/pause", {"csrf": "guess"}).status == 403
    assert not site.console.web.paused()
    assert client.post("/pause", {"csrf": client.csrf()}).status == 303
    assert site.console.web.paused()
    assert site.console.web.flag(PAUSED)[1] == "admin-ran"


def test_a_viewer_may_look_but_not_change(site: Site) -> None:
    client = site.client()
    client.sign_in("guest")
    assert client.get("/ledger").status == 200
    assert client.post("/pause", {"csrf": client.csrf()}).status == 403
    assert not site.console.web.paused()


def test_security_headers_on_pages_public_and_private(site: Site) -> None:
    client = site.client()
    for reply in (client.get("/login"), client.get("/today"), client.get("/static/console.css")):
        assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
        assert reply.headers["X-Content-Type-Options"] == "nosniff"


def test_sign_out_ends_the_session(site: Site) -> None:
    client = site.client()
    client.sign_in()
    kept = dict(client.cookies)
    assert client.post("/logout", {"csrf": client.csrf()}).status == 302
    client.cookies = kept  # the old cookie, replayed
    assert client.get("/today").status == 302


def test_next_never_leaves_the_site(site: Site) -> None:
    client = site.client()
    page = client.get("/login?next=//evil.example/").text
    assert 'name="next" value="/"' in page
