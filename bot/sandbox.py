"""`laba sandbox`: the whole bot against a simulated WeChat, with a web page to watch and talk to it.

What runs is the real thing: `bot.app.build` (store, pipeline, admin commands, proof intake), a real
`WechatyChannel` speaking gRPC to a `LoopbackPuppet` on 127.0.0.1. Only WeChat itself is simulated: the puppet holds
a room for every group in units.yaml, with the unit's contacts, made-up villagers, and the admins in the office group.

The clock: a `VirtualClock` that stands still until someone presses "跳到下一项任务". That moves it to the next
planned job's time and runs the job through the pipeline, exactly as `laba simulate` does for one job (claims and
records in the sandbox's own store, so a job is never sent twice). Messages people post are stamped with this clock,
so the proof intake sees them in the campaign's month. Nothing is sent on its own: a person can read each step.

Robot groups: a few groups go by loopback group robots instead (a village's two groups by a WeCom robot, one
work group by a DingTalk robot with 加签 and a keyword), written into the sandbox's own robots.yaml, so the page
shows what a town with robots sees. They are read-only on the page: robots post, they can't receive.

The page polls `/api/state?since=N` (no websocket: one request per second is plenty on loopback and survives
reloads); every message has one number (`bot.sandbox_feed`), so the page shows each once. Private chats are one
per person.

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
from bot.channels.robots.loopback import LoopbackRobots
from bot.channels.robots.wire import KIND_CN, RobotKind
from bot.channels.wechaty import LoopbackPuppet, WechatySettings
from bot.clock import VirtualClock
from bot.config.campaign import Sources, load
from bot.core.model import Campaign, GroupKind, UnitKind
from bot.core.planner import PlannedJob
from bot.pipeline import job_label
from bot.sandbox_feed import PRIVATE, Feed, private_chat, robot_chat
from bot.settings import Settings
from bot.store.base import DeliveryStatus
from bot.web.listening import serve

log = logging.getLogger(__name__)

TOKEN_HEADER = "X-Laba-Token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _no_sleep(_: float) -> None:
    return None


DINGTALK_KEYWORD = "垃圾分类"  # the sample DingTalk robot's 自定义关键词 (the channel puts it into every message)


def robot_groups(campaign: Campaign) -> dict[str, RobotKind]:
    """Which groups the sandbox puts on robots: the last village's groups on WeCom, the work group of the last
    other unit without the office group on DingTalk (the first ones stay on WeChat, for the README's steps)."""
    chosen: dict[str, RobotKind] = {}
    villages = [u for u in campaign.units if u.kind is UnitKind.VILLAGE]
    others = [
        u
        for u in campaign.units
        # Units reached only privately (no group) can't show a robot: the last unit *with* a work group is taken.
        if u.kind not in (UnitKind.VILLAGE, UnitKind.COMMUNITY)
        and u.groups
        and all(g.kind is GroupKind.WORK for g in u.groups)
    ]
    if len(villages) > 2:
        chosen.update((g.id, "wecom") for g in villages[-1].groups)
    if others:
        chosen[others[-1].groups[0].id] = "dingtalk"
    return chosen


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
    robots: LoopbackRobots = field(init=False)
    robot_kinds: dict[str, RobotKind] = field(default_factory=dict)  # group id -> the robot it goes by
    feed: Feed = field(init=False)
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
        """Start the simulator, the robots, the bot and the page; returns the page's URL."""
        self.clock = VirtualClock(self.start_at)
        # The gateway stamps messages with the wall clock, as a real one does; the bot moves them onto its clock.
        self.puppet = LoopbackPuppet()
        await self.puppet.start()
        campaign = load(self.sources).campaign
        self.rooms = self.puppet.add_town(campaign)
        self.robots = LoopbackRobots()
        await self.robots.start()
        self.robot_kinds = robot_groups(campaign)
        await asyncio.to_thread(self._write_robots_file)
        self.feed = Feed(self.puppet, self.robots, self.clock.now)
        # The gateway's settings from Wechaty's own variables, parsed as for a real gateway (the process's
        # environment is left alone).
        wechaty = WechatySettings.from_env(self.puppet.env(), qr_dir=self.data_dir)
        settings = Settings(
            self.data_dir,
            f"sqlite:///{(self.data_dir / 'laba.db').as_posix()}",
            "wechaty",
            self.data_dir / "audio",
            tts_engine="offline",
            robots_file=self.data_dir / "robots.yaml",
        )
        self.app = build(
            self.sources, settings, self.clock, echo=None, wechaty=wechaty, sleep=_no_sleep, tap=_Recorder(self)
        )
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
        port = await serve(self._runner, self.host, self.port)
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
        await self.robots.close()
        await self.puppet.close()

    def _write_robots_file(self) -> None:
        lines = []
        for gid, kind in self.robot_kinds.items():
            if kind == "wecom":
                lines.append(f"{gid}:\n  webhook: {self.robots.add_wecom(gid)}\n")
            else:
                secret = "SEC" + secrets.token_hex(16)
                webhook = self.robots.add_dingtalk(gid, secret=secret, keyword=DINGTALK_KEYWORD)
                lines.append(f"{gid}:\n  webhook: {webhook}\n  secret: {secret}\n  keyword: {DINGTALK_KEYWORD}\n")
        path = self.data_dir / "robots.yaml"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")
        path.chmod(0o600)  # its addresses are secrets

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

    def _groups(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for unit in self.app.loaded.campaign.units:
            for g in unit.groups:
                label = "居民群" if g.kind is GroupKind.VILLAGERS and unit.kind is UnitKind.COMMUNITY else ""
                robot = self.robot_kinds.get(g.id)
                if robot is not None:  # read-only: a robot posts into the group and hears nothing
                    out.append({"chat": robot_chat(g.id), "name": g.name, "robot": KIND_CN[robot], "members": []})
                    continue
                room = self.puppet.rooms[self.rooms[g.id]]
                me = self.puppet.self_id
                members = [{"id": m, "name": self.feed.name(m)} for m in room.member_ids if m != me]
                out.append({"chat": room.id, "name": room.topic, "robot": "", "members": members, "label": label})
        return out

    def _people(self) -> list[dict[str, Any]]:
        """The town's people (from its files, so friends of the bot), each with a private chat with the bot."""
        me = self.puppet.self_id
        return [
            {"chat": private_chat(c.id), "name": f"私聊：{c.name}", "members": [{"id": c.id, "name": c.name}]}
            for c in self.puppet.contacts.values()
            if c.weixin and c.id != me
        ]

    async def _state(self, request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0") or 0)
        except ValueError:
            raise web.HTTPBadRequest(text="since 应当是数字") from None
        messages, seq = self.feed.since(since)
        upcoming = self.jobs[self.cursor] if self.cursor < len(self.jobs) else None
        return web.json_response(
            {
                "clock": f"{self.clock.now():%Y年%m月%d日 %H:%M}",
                "next": f"{upcoming.at:%m月%d日 %H:%M} {job_label(upcoming)}" if upcoming else "",
                "held": self.app.pipeline.held,
                "groups": self._groups(),
                "people": self._people(),
                "messages": messages,
                "seq": seq,
                "heard": [h.__dict__ for h in self.heard],
            }
        )

    def _chat_and_sender(self, chat: str, sender: str) -> tuple[str, str]:
        """(room id, or "" for a private chat with the bot; the sender), as the page chose them."""
        if chat.startswith(PRIVATE):
            person = self.puppet.contacts.get(chat.removeprefix(PRIVATE))
            if person is None or not person.weixin or sender != person.id:
                raise web.HTTPBadRequest(text="请选择私聊的人")
            return "", sender
        if chat not in self.puppet.rooms or sender not in self.puppet.rooms[chat].member_ids:
            raise web.HTTPBadRequest(text="请选择群和群里的发言人（机器人群只能看，不能发）")
        return chat, sender

    async def _say(self, request: web.Request) -> web.Response:
        body = await request.json()
        room, sender = self._chat_and_sender(str(body.get("chat", "")), str(body.get("sender", "")))
        text = str(body.get("text", "")).strip()
        if not text:
            raise web.HTTPBadRequest(text="内容是空的")
        me = self.puppet.contacts[self.puppet.self_id].name
        mentions = (self.puppet.self_id,) if f"@{me}" in text else ()
        return web.json_response({"id": self.puppet.post_text(sender, text, room_id=room, mention_ids=mentions)})

    async def _photo(self, request: web.Request) -> web.Response:
        form = await request.post()
        room, sender = self._chat_and_sender(str(form.get("chat", "")), str(form.get("sender", "")))
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
