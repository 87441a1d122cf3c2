"""Pages from the package's Jinja2 templates (autoescaped), with the Chinese date filters the messages use."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import jinja2
from aiohttp import web

from bot.core.render import cn_date, cn_time

ENV: Final = jinja2.Environment(
    loader=jinja2.PackageLoader("bot.web", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
ENV.filters.update(cn_date=cn_date, cn_time=cn_time, hm=lambda d: f"{d:%H:%M}", md=lambda d: f"{d.month}月{d.day}日")


def page(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def when(instant: datetime | None) -> str:
    return "" if instant is None else f"{instant.month}月{instant.day}日 {instant:%H:%M}"


ENV.filters["when"] = when


SAID_COOKIE: Final = "laba_said"


async def console_page(request: web.Request, template: str, view: dict[str, Any]) -> web.Response:
    """A signed-in page: the account, the CSRF token for its forms and the last action's answer (once)."""
    import asyncio

    from bot.web.security import session_of

    session = session_of(request)
    try:
        said = bytes.fromhex(request.cookies.get(SAID_COOKIE, "")).decode()
    except ValueError:
        said = ""
    text = await asyncio.to_thread(page, template, user=session.user_id, csrf=session.csrf, said=said, **view)
    response = html(text)
    if said:
        response.del_cookie(SAID_COOKIE, path="/")
    return response


def tell(location: str, said: str) -> web.HTTPSeeOther:
    """Back to a page after a change, carrying what to tell the person."""
    response = web.HTTPSeeOther(location)
    response.set_cookie(SAID_COOKIE, said.encode().hex(), httponly=True, samesite="Lax", path="/", max_age=60)
    return response
