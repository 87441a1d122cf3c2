"""The console next to the daemon: `console_running` serves it on BOT_WEB_LISTEN and keeps the pause switch in the
database and the daemon's pipeline in step, whether pausing came from chat (#暂停), this console or a `laba web` on
another machine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from bot.app import App
from bot.clock import Clock
from bot.config.campaign import Sources
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.store.web import PAUSED, WebStore

log = logging.getLogger(__name__)

SYNC_SECONDS = 2.0


class PauseParts(Protocol):
    """What syncing the pause switch works with: a `Console`, or just these three when the console is off."""

    @property
    def web(self) -> WebStore: ...
    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def clock(self) -> Clock: ...


@dataclass(frozen=True)
class _Switch:
    web: WebStore
    pipeline: Pipeline
    clock: Clock


class PauseSync:
    """One step at a time (`step`): a change in the database since the last step wins and is applied to the
    pipeline; otherwise a change in the pipeline (a chat #暂停 / #恢复) is written to the database."""

    def __init__(self, console: PauseParts) -> None:
        self._console = console
        self._seen_db: str | None = None
        self._seen_held: bool | None = None

    def step(self) -> None:
        c = self._console
        value = c.web.flag(PAUSED)[0]
        held = c.pipeline.held
        if value != self._seen_db and value in ("0", "1"):
            want = value == "1"
            if want != held:
                c.pipeline.hold() if want else c.pipeline.resume()
                log.warning("控制台%s了发送", "暂停" if want else "恢复")
            held = want
        elif self._seen_held is not None and held != self._seen_held:
            value = "1" if held else "0"
            c.web.set_flag(PAUSED, value, "聊天命令", c.clock.now())
        self._seen_db, self._seen_held = value, held


async def _sync(sync: PauseSync) -> None:
    while True:
        try:
            await asyncio.to_thread(sync.step)
        except Exception:  # a database hiccup must not end the daemon; the next step tries again
            log.exception("暂停开关同步出错")
        await asyncio.sleep(SYNC_SECONDS)


def parse_listen(value: str) -> tuple[str, int] | None:
    """'127.0.0.1:8080' → ('127.0.0.1', 8080); 'off' → None. ValueError with a Chinese hint otherwise."""
    if value.strip().lower() == "off":
        return None
    host, sep, port = value.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"BOT_WEB_LISTEN={value!r} 不对：写 主机:端口，例如 127.0.0.1:8080，或 off 关掉网页控制台")
    return host.strip("[]") or "127.0.0.1", int(port)


@asynccontextmanager
async def console_running(app: App, settings: Settings, sources: Sources | None = None) -> AsyncIterator[str]:
    """Serve the console (unless BOT_WEB_LISTEN=off) and sync the pause switch while inside; yields its URL or ""."""
    listen = parse_listen(settings.web_listen)
    server = None
    parts: PauseParts
    if listen is None:
        # No console: only the pause switch, so aiohttp, argon2 and the pages stay unimported (a leaner daemon).
        parts = _Switch(WebStore(app.store), app.pipeline, app.clock)
    else:
        from bot.web.console import console_for
        from bot.web.server import ConsoleServer

        parts = console = console_for(app, settings, sources, in_daemon=True)
        server = ConsoleServer(console, *listen)
    url = ""
    if server is not None:
        try:
            url = await server.start()
        except OSError as exc:  # the daemon's job is sending: it runs on without its console
            log.error("网页控制台无法在 %s 监听（%s）；改 BOT_WEB_LISTEN 或设为 off", settings.web_listen, exc)
            server = None
    task = asyncio.create_task(_sync(PauseSync(parts)))
    try:
        yield url
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if server is not None:
            await server.close()
