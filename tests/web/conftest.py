"""A town with its console served on a real loopback socket (in a thread with its own event loop), an admin and a
viewer account, the April 2024 proof requests sent (so each responsible unit has an upload link), and a small HTTP
client that does not follow redirects."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, build
from bot.channels.memory import MemoryChannel
from bot.clock import VirtualClock
from bot.config.campaign import Sources
from bot.proof.intake import ProofIntake
from bot.settings import Settings
from bot.store.web import WebStore
from bot.web.accounts import hash_password
from bot.web.console import Console, console_for
from bot.web.server import ConsoleServer
from tests.helpers import no_sleep
from tests.proof.conftest import at

PASSWORD = "jinxi-2024-pass"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Client:
    """HTTP/1.1 over loopback, cookies kept, redirects returned (not followed)."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            raw_cookies = response.headers.get_all("Set-Cookie") or []
            data = response.read()
        finally:
            conn.close()
        got: dict[str, str] = {}
        for c in raw_cookies:
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            got[name.strip()] = c
            if value in ("", '""') or "Max-Age=0" in c:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return Reply(response.status, {k: v for k, v in response.getheaders()}, got, data)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, fields: dict[str, str]) -> Reply:
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def sign_in(self, user: str = "admin-ran", password: str = PASSWORD) -> Reply:
        page = self.get("/login").text
        token = re.search(r'name="login_token" value="([^"]+)"', page)
        assert token is not None
        return self.post("/login", {"user": user, "password": password, "login_token": token.group(1), "next": "/"})

    def csrf(self, path: str = "/today") -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert found is not None
        return found.group(1)


@dataclass
class Site:
    app: App
    console: Console
    clock: VirtualClock
    channel: MemoryChannel
    url: str
    loop: asyncio.AbstractEventLoop

    def client(self) -> Client:
        parsed = urllib.parse.urlsplit(self.url)
        assert parsed.hostname is not None and parsed.port is not None
        return Client(parsed.hostname, parsed.port)

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop (the pipeline and the intake live there)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def run_jobs(self, kind: str, month: int) -> None:
        async def go() -> None:
            for job in self.app.loaded.plan.jobs:
                if job.kind.value == kind and job.month == month and job.year == 2024:
                    self.clock.set(job.at)
                    await self.app.pipeline.run_job(job)

        self.run(go())

    def link(self, unit: str, activity: str = "2024-04") -> str:
        found = [lk for lk in self.console.web.links(activity) if lk.unit_id == unit]
        assert found, f"no upload link for {unit}"
        return f"/u/{found[-1].token}"

    @property
    def intake(self) -> ProofIntake:
        return self.console.intake


def start_site(
    jinxi: Sources, tmp_path: Path, public_url: str = "https://laba.example.cn", *, channel_setting: str = "outbox"
) -> Iterator[Site]:
    """`channel_setting` "wechaty": the daemon on a WeChat gateway (the memory channel stands in for it), whose plan
    has the weekly quiz."""
    data = tmp_path / "data"
    settings = Settings(
        data,
        f"sqlite:///{data / 'laba.db'}",
        channel_setting,
        tmp_path / "audio_out",
        tts_engine="none",
        web_listen="127.0.0.1:0",
        public_url=public_url,
    )
    clock = VirtualClock(at(4, 1, 8))
    channel = MemoryChannel()
    app = build(jinxi, settings, clock, channel=channel, echo=None, sleep=no_sleep)
    console = console_for(app, settings, jinxi)
    web = WebStore(app.store)
    web.put_account("admin-ran", "admin", hash_password(PASSWORD), clock.now())
    web.put_account("guest", "viewer", hash_password(PASSWORD), clock.now())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = ConsoleServer(console, "127.0.0.1", 0)
    url = asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
    site = Site(app, console, clock, channel, url, loop)
    try:
        yield site
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
        asyncio.run_coroutine_threadsafe(_cancel_rest(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        app.close()


async def _cancel_rest() -> None:
    """End what the server left running (connections cut mid-request) before the loop stops."""
    rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in rest:
        t.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


@pytest.fixture
def site(jinxi: Sources, tmp_path: Path) -> Iterator[Site]:
    yield from start_site(jinxi, tmp_path)


@pytest.fixture
def april(site: Site) -> Site:
    """The site after April's proof requests went out (each responsible unit has its link)."""
    site.run_jobs("proof_request", 4)
    site.clock.set(at(4, 8, 10))
    return site
