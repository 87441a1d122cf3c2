"""`laba sandbox`: the whole bot against a simulated WeChat, with a web page to watch and talk to it.

What runs is the real thing: `bot.app.build` (store, pipeline, admin commands, proof intake), a real
`WechatyChannel` speaking gRPC to a `LoopbackPuppet` on 127.0.0.1. Only WeChat itself is simulated: the puppet holds
a room for every group in units.yaml, with the unit's contacts, made-up villagers, and the admins in the office group.

The clock: a `VirtualClock` that stands still until someone presses "跳到下一项任务". That moves it to the next
planned job's time and runs the job through the pipeline, exactly as `laba simulate` does for one job (claims and
records in the sandbox's own store, so a job is never sent twice). Messages people post are stamped with this clock,
so the proof intake sees them in the campaign's month. Nothing is sent on its own: a person can read each step.

The page polls `/api/state` (no websocket: one request per second is plenty on loopback and survives reloads).

Safe to leave running: the page answers only to its own address (`Host` 127.0.0.1 or localhost with its port,
else 421), and every request that changes something must carry the token written into the page and come from
the page's origin (else 403), so another site open in the same browser can neither read nor drive it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import App, build, listen
from bot.channels.base import InboundMessage
from bot.channels.wechaty import LoopbackPuppet, WechatySettings
from bot.channels.wechaty.loopback import SYSTEM_SENDER, LoggedMessage
from bot.channels.wechaty.protocol import WireMessageType
from bot.clock import VirtualClock
from bot.config.campaign import Sources, load
from bot.core.planner import PlannedJob
from bot.pipeline import job_label
from bot.settings import Settings
from bot.store.base import DeliveryStatus

log = logging.getLogger(__name__)

PRIVATE = "private"  # the page's pseudo-room for the bot's private chats
TOKEN_HEADER = "X-Laba-Token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _no_sleep(_: float) -> None:
    return None


@dataclass
class Heard:
    """What the bot received, as the page shows it (the proof that a post reached the pipeline)."""

    seq: int
    time: str
    sender: str
    group: str
    kind: str
    text: str
    bytes: int


@dataclass
class Sandbox:
    sources: Sources
    data_dir: Path
    start_at: datetime
    host: str = "127.0.0.1"
    port: int = 0
    clock: VirtualClock = field(init=False)
    puppet: LoopbackPuppet = field(init=False)
    app: App = field(init=False)
    rooms: dict[str, str] = field(default_factory=dict)
    heard: list[Heard] = field(default_factory=list)
    cursor: int = 0
    url: str = ""
    hosts: set[str] = field(default_factory=set)  # the Host headers the page may be asked for by
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # in the page; asked of every change
    _runner: web.AppRunner | None = None
    _listener: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def start(self) -> str:
        """Start the simulator, the bot and the page; returns the page's URL."""
        self.clock = VirtualClock(self.start_at)
        self.puppet = LoopbackPuppet(now=lambda: self.clock.now().timestamp())
        await self.puppet.start()
        self.rooms = self.puppet.add_town(load(self.sources).campaign)
        # The gateway's settings from Wechaty's own variables, parsed as for a real gateway (the process's
        # environment is left alone).
        wechaty = WechatySettings.from_env(self.puppet.env(), qr_dir=self.data_dir)
        settings = Settings(
            self.data_dir,
            f"sqlite:///{(self.data_dir / 'laba.db').as_posix()}",
            "wechaty",
            self.data_dir / "audio",
            tts_engine="offline",
        )
        self.app = build(self.sources, settings, self.clock, echo=None, wechaty=wechaty)
        self.app.pipeline.sleep = _no_sleep
        self.app.router.handlers.insert(0, _Recorder(self))
        await self.app.channel.start()
        self._listener = asyncio.create_task(listen(self.app))
        self.cursor = next((i for i, j in enumerate(self.jobs) if j.at >= self.start_at), len(self.jobs))
        web_app = web.Application(client_max_size=20 * 1024 * 1024, middlewares=[self._guard])
        web_app.add_routes(
            [
                web.get("/", self._page),
                web.get("/api/state", self._state),
                web.post("/api/say", self._say),
                web.post("/api/photo", self._photo),
                web.post("/api/next", self._next),
                web.get("/api/file/{message_id}", self._file),
            ]
        )
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        listening: Any = site._server
        port = int(listening.sockets[0].getsockname()[1])
        self.url = f"http://{self.host}:{port}/"
        self.hosts = {f"{name}:{port}" for name in (self.host, "127.0.0.1", "localhost")}
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self.app.drain()  # proof acknowledgements still in their quiet window go out first
        await self.app.channel.close()
        if self._listener is not None:
            await asyncio.gather(self._listener, return_exceptions=True)
        self.app.close()
        await self.puppet.close()

    @property
    def jobs(self) -> tuple[PlannedJob, ...]:
        return self.app.loaded.plan.jobs

    # --- the clock control -------------------------------------------------------------------------------

    async def next_job(self) -> dict[str, Any]:
        """Move the clock to the next planned job and run it. Returns what happened."""
        async with self._lock:
            if self.cursor >= len(self.jobs):
                return {"ok": False, "message": "计划里的任务都已经跑完了"}
            job = self.jobs[self.cursor]
            self.cursor += 1
            self.clock.set(job.at)
            outcomes = await self.app.pipeline.run_job(job)
            await self.app.pipeline.flush_alerts()
        sent = sum(1 for o in outcomes if o.status in (DeliveryStatus.SENT, DeliveryStatus.RELAYED) and o.fresh)
        return {"ok": True, "message": f"{job.at:%m-%d %H:%M} {job_label(job)}：发出 {sent} 条", "key": job.key}

    # --- the page's API ----------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Only the page itself may drive the sandbox. A `Host` other than this address is refused (421: a DNS name
        pointed at 127.0.0.1 by another site); a request that changes something must come from this origin and
        carry the page's token (403: a form or script on another site, whatever its content type)."""
        if request.host not in self.hosts:
            raise web.HTTPMisdirectedRequest(text=f"地址不对：请用 {self.url} 打开沙盒")
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"http://{request.host}":
                raise web.HTTPForbidden(text="拒绝：请求来自别的网站")
            token = request.headers.get(TOKEN_HEADER, "")
            if not secrets.compare_digest(token.encode(), self.token.encode()):
                raise web.HTTPForbidden(text="拒绝：缺少页面校验码，请刷新沙盒页面再试")
        return await handler(request)

    async def _page(self, _: web.Request) -> web.Response:
        html = (resources.files("bot") / "sandbox.html").read_text(encoding="utf-8")
        html = html.replace("{{LABA_TOKEN}}", self.token)
        # Not to be framed by another site (clickjacking the buttons).
        headers = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=headers)

    def _name(self, contact_id: str) -> str:
        if contact_id == SYSTEM_SENDER:
            return "微信团队"
        contact = self.puppet.contacts.get(contact_id)
        return contact.name if contact else contact_id

    def _message(self, seq: int, m: LoggedMessage) -> dict[str, Any]:
        kind = {WireMessageType.IMAGE: "image", WireMessageType.ATTACHMENT: "file", WireMessageType.TEXT: "text"}
        when = datetime.fromtimestamp(m.timestamp_ms / 1000, self.clock.zone)
        return {
            "seq": seq,
            "id": m.id,
            "room": m.room_id or PRIVATE,
            "from": m.from_id,
            "from_name": self._name(m.from_id),
            "to_name": self._name(m.to_id) if m.to_id else "",
            "bot": m.from_id == self.puppet.self_id,
            "kind": kind.get(m.type, "system"),
            "text": m.text,
            "filename": m.filename,
            "size": len(m.data),
            "time": f"{when:%m-%d %H:%M}",
        }

    async def _state(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0") or 0)
        campaign = self.app.loaded.campaign
        groups = []
        for unit in campaign.units:
            for g in unit.groups:
                room = self.puppet.rooms[self.rooms[g.id]]
                members = [
                    {"id": mid, "name": self._name(mid)} for mid in room.member_ids if mid != self.puppet.self_id
                ]
                groups.append(
                    {"id": g.id, "room": room.id, "name": room.topic, "kind": g.kind.value, "members": members}
                )
        upcoming = self.jobs[self.cursor] if self.cursor < len(self.jobs) else None
        return web.json_response(
            {
                "clock": f"{self.clock.now():%Y年%m月%d日 %H:%M}",
                "next": f"{upcoming.at:%m月%d日 %H:%M} {job_label(upcoming)}" if upcoming else "",
                "held": self.app.pipeline.held,
                "groups": groups,
                "messages": [self._message(i, m) for i, m in enumerate(self.puppet.log) if i >= since],
                "seq": len(self.puppet.log),
                "heard": [h.__dict__ for h in self.heard],
            }
        )

    def _room_and_sender(self, room: str, sender: str) -> tuple[str, str]:
        if room not in self.puppet.rooms or sender not in self.puppet.rooms[room].member_ids:
            raise web.HTTPBadRequest(text="请选择群和群里的发言人")
        return room, sender

    async def _say(self, request: web.Request) -> web.Response:
        body = await request.json()
        room, sender = self._room_and_sender(str(body.get("room", "")), str(body.get("sender", "")))
        text = str(body.get("text", "")).strip()
        if not text:
            raise web.HTTPBadRequest(text="内容是空的")
        me = self.puppet.contacts[self.puppet.self_id].name
        mentions = (self.puppet.self_id,) if f"@{me}" in text else ()
        return web.json_response({"id": self.puppet.post_text(sender, text, room_id=room, mention_ids=mentions)})

    async def _photo(self, request: web.Request) -> web.Response:
        form = await request.post()
        room, sender = self._room_and_sender(str(form.get("room", "")), str(form.get("sender", "")))
        upload = form.get("photo")
        if not isinstance(upload, web.FileField):
            raise web.HTTPBadRequest(text="请选一张照片")
        data = upload.file.read()
        return web.json_response({"id": self.puppet.post_image(sender, data, upload.filename or "photo.jpg", room)})

    async def _next(self, _: web.Request) -> web.Response:
        return web.json_response(await self.next_job())

    async def _file(self, request: web.Request) -> web.Response:
        m = self.puppet.messages.get(request.match_info["message_id"])
        if m is None or not m.data:
            raise web.HTTPNotFound()
        lower = m.filename.lower()
        mime = "image/png" if lower.endswith(".png") else "image/jpeg" if lower.endswith((".jpg", ".jpeg")) else ""
        return web.Response(body=m.data, content_type=mime or "application/octet-stream")


class _Recorder:
    """First in the bot's inbound router: notes what arrived for the page, then lets the real handlers act."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    async def handle(self, message: InboundMessage) -> bool:
        s = self._sandbox
        s.heard.append(
            Heard(
                len(s.heard),
                f"{message.received_at:%m-%d %H:%M}",
                message.sender_name,
                message.room_name or "私聊",
                {"image": "照片", "text": "文字", "file": "文件"}.get(message.kind, "其他"),
                message.text,
                sum(len(a.data) for a in message.attachments),
            )
        )
        return False
