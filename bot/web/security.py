"""The console's guards, as aiohttp middlewares: security headers on every answer; a session for everything but the
sign-in page, the units' upload pages, static files and the robots' published files (DingTalk download links); a
CSRF token on every console POST; admins only for changes.

Unauthenticated: a GET is sent to the sign-in page (302), anything else gets 401. A viewer's POST gets 403. A POST
without the session's CSRF token (form field `csrf` or header `X-CSRF-Token`) gets 403.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import quote

from aiohttp import web

from bot.store.web import Session
from bot.web.console import Console

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

COOKIE: Final = "laba_session"
LOGIN_COOKIE: Final = "laba_login"  # the sign-in form's own CSRF token (double submit): no session yet
CONSOLE_KEY: Final = web.AppKey("console", Console)
SESSION_KEY: Final = web.RequestKey("session", Session)
PUBLIC_PREFIXES: Final = ("/static/", "/u/", "/files/")  # /files/: the DingTalk download links
PUBLIC_PATHS: Final = frozenset({"/login", "/favicon.ico", "/q"})  # /q: the public lookup page
CSP: Final = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def session_of(request: web.Request) -> Session:
    return request[SESSION_KEY]


def secure_cookies(console: Console) -> bool:
    return console.settings.public_url.startswith("https://")


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # Upload links carry their token in the path: never hand it to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    if public(request.path):
        return await handler(request)
    console = request.app[CONSOLE_KEY]
    token = request.cookies.get(COOKIE, "")
    session = await asyncio.to_thread(console.web.session, token, console.clock.now()) if token else None
    if session is None:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
        raise web.HTTPUnauthorized(text="请先登录。", content_type="text/plain")
    request[SESSION_KEY] = session
    if request.method not in ("GET", "HEAD"):
        await _check_post(request, console, session)
    return await handler(request)


async def _check_post(request: web.Request, console: Console, session: Session) -> None:
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()  # bounded by the application's client_max_size
        value = form.get("csrf", "")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise web.HTTPForbidden(text="页面已过期，请刷新后再试。", content_type="text/plain")
    account = await asyncio.to_thread(console.accounts.account, session.user_id)
    if account is None or account.role != "admin":
        raise web.HTTPForbidden(text="只读账号不能修改。", content_type="text/plain")
