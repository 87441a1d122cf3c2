"""The sign-in and sign-out pages."""

from __future__ import annotations

import asyncio
import hmac
import secrets

from aiohttp import web

from bot.web.render import html, page
from bot.web.security import CONSOLE_KEY, COOKIE, LOGIN_COOKIE, secure_cookies


def _next(value: object) -> str:
    # Only a path on this site: never an open redirect.
    text = value if isinstance(value, str) else ""
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "/"


def _form(request: web.Request, next_path: str, error: str, status: int = 200) -> web.Response:
    console = request.app[CONSOLE_KEY]
    # Kept while the browser has one: a second tab (or the browser's own favicon request, which lands here too)
    # must not invalidate the form already on screen.
    kept = request.cookies.get(LOGIN_COOKIE, "")
    token = (
        kept
        if 20 <= len(kept) <= 64 and kept.replace("-", "").replace("_", "").isalnum()
        else secrets.token_urlsafe(24)
    )
    town = console.current().campaign.town.name
    response = html(page("login.html", town=town, next=next_path, error=error, login_token=token), status)
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="Lax", secure=secure_cookies(console), path="/login"
    )
    return response


async def login_page(request: web.Request) -> web.Response:
    return _form(request, _next(request.query.get("next", "/")), "")


async def login(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    form = await request.post()
    next_path = _next(form.get("next", "/"))
    sent, expected = str(form.get("login_token", "")), request.cookies.get(LOGIN_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        return _form(request, next_path, "页面已过期，请重新输入。", 403)
    user, password = str(form.get("user", "")).strip(), str(form.get("password", ""))
    address = request.remote or "?"
    result = await asyncio.to_thread(console.accounts.sign_in, user, password, address, console.clock.now())
    if result.session is None:
        if "错误次数" not in result.refusal:
            await asyncio.to_thread(
                console.evidence.log,
                actor=user or "?",
                action="login_failed",
                subject="console:login",
                detail=address,
                at=console.clock.now(),
            )
        return _form(request, next_path, result.refusal, 401)
    response = web.HTTPFound(next_path)
    response.set_cookie(
        COOKIE,
        result.token,
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(console),
        path="/",
        max_age=12 * 3600,
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.Response:
    console = request.app[CONSOLE_KEY]
    await asyncio.to_thread(console.web.close_session, request.cookies.get(COOKIE, ""))
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE, path="/")
    raise response
