"""The console's aiohttp application and its listener.

Routes: the sign-in page, the console pages (session required, see `bot.web.security`), the units' upload pages
(`/u/<token>`, no session) and the static files. Console requests are bounded by `client_max_size` before a form is
read; the upload endpoints read their multipart bodies in bounded chunks themselves.
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Final

from aiohttp import web

from bot.web import broadcast, files, ledger, lookup, plan, relay, signin, today, upload
from bot.web.console import Console
from bot.web.listening import serve
from bot.web.security import CONSOLE_KEY, headers, sessions

log = logging.getLogger(__name__)

FORM_LIMIT: Final = 64 * 1024  # console forms are a few fields
STATIC: Final = resources.files("bot.web") / "static"


async def _home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/today")


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def console_app(console: Console) -> web.Application:
    app = web.Application(middlewares=[headers, sessions], client_max_size=FORM_LIMIT)
    app[CONSOLE_KEY] = console
    app[lookup.LIMIT_KEY] = lookup.RateLimit()
    app.add_routes(
        [
            web.get("/", _home),
            web.get("/favicon.ico", _no_icon),
            web.get("/login", signin.login_page),
            web.post("/login", signin.login),
            web.post("/logout", signin.logout),
            web.get("/today", today.today),
            web.post("/pause", today.pause),
            web.post("/resume", today.resume),
            web.get("/relay", relay.relay),
            web.post("/relay/forwarded", relay.forwarded),
            web.post("/relay/done", relay.queue_done),
            web.get("/ledger", ledger.ledger_month),
            web.get("/ledger/year", ledger.ledger_year),
            web.get("/ledger/download", ledger.download),
            web.post("/ledger/{what}", ledger.act),
            web.get("/photo/{id}", ledger.photo),
            web.get("/thumb/{id}", ledger.photo),
            web.get("/broadcast", broadcast.broadcast),
            web.get("/broadcast/{month}/clip/{name}", broadcast.clip),
            web.get("/broadcast/{month}/zip/{operator}", broadcast.operator_zip),
            web.get("/plan", plan.plan),
            web.get("/q", lookup.lookup_page),
            web.get("/u/{token}", upload.upload_page),
            web.post("/u/{token}", upload.upload_form),
            web.post("/u/{token}/photo", upload.upload_one),
            web.get("/files/{digest}/{name}", files.public_file),
            web.static("/static", str(STATIC), append_version=False),
        ]
    )
    return app


class ConsoleServer:
    """The console listening on (host, port); `url` is where it answers once started (port 0 picks a free one)."""

    def __init__(self, console: Console, host: str, port: int) -> None:
        self._app = console_app(console)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        port = await serve(self._runner, self._host, self._port)
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.url = f"http://{host}:{port}/"
        log.warning("网页控制台：%s", self.url)
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
