"""`LoopbackRobots`: a stand-in for both robot services on 127.0.0.1, for tests, benchmarks and the sandbox.

Speaks the real wire format (paths, query, JSON, multipart upload_media, 加签), keeps the real limits (20 posts a
minute per robot, DingTalk's 10-minute throttle, content sizes, the signature's one-hour window) and answers the
real error codes, also on demand. Records what each robot's group received. Time is injected, so a test can run a
month in a moment and still be held to the per-minute limit.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.channels.robots.wire import RobotKind

WECOM_TEXT_LIMIT = 2048
WECOM_MARKDOWN_LIMIT = 4096
DINGTALK_TEXT_LIMIT = 20000


@dataclass(frozen=True)
class RobotPost:
    """One message a robot posted into its group."""

    group: str
    kind: RobotKind
    payload: dict[str, Any]
    at: float

    @property
    def text(self) -> str:
        body = self.payload.get(self.payload.get("msgtype", ""), {})
        return str(body.get("content", body.get("text", "")))

    @property
    def mobiles(self) -> list[str]:
        if self.kind == "wecom":
            return list(self.payload.get("text", {}).get("mentioned_mobile_list", []))
        return list(self.payload.get("at", {}).get("atMobiles", []))


@dataclass
class _Robot:
    group: str
    kind: RobotKind
    secret: str = ""
    keyword: str = ""
    window: deque[float] = field(default_factory=deque)
    throttled_until: float = 0.0
    fail_next: list[int] = field(default_factory=list)


class LoopbackRobots:
    """Both services on one loopback port. `add_wecom` / `add_dingtalk` create a robot and return its address."""

    def __init__(
        self,
        *,
        per_minute: int = 20,
        now: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.per_minute = per_minute
        self._now = now
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self._robots: dict[str, _Robot] = {}  # by key / access_token
        self.posts: list[RobotPost] = []
        self.uploads: dict[str, tuple[str, str, bytes]] = {}  # media_id -> (group, file name, data)
        self.throttle_answers = 0
        self.refusals: list[tuple[str, int]] = []
        # Groups whose next request is read and recorded, then the connection dropped without an answer.
        self.drop_after_post: set[str] = set()
        # Groups whose next request is read and recorded, then held open without an answer until `release_held`
        # (or `close`): a POST in flight, for stopping the sender while it waits. `held` lists them as they come.
        self.hold_after_post: set[str] = set()
        self.held: list[str] = []
        self._release = asyncio.Event()
        self._media_seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- set up ----------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_wecom(self, group: str) -> str:
        key = str(uuid.uuid4())
        self._robots[key] = _Robot(group, "wecom")
        return f"{self.base_url}/cgi-bin/webhook/send?key={key}"

    def add_dingtalk(self, group: str, *, secret: str = "", keyword: str = "") -> str:
        token = uuid.uuid4().hex * 2
        self._robots[token] = _Robot(group, "dingtalk", secret, keyword)
        return f"{self.base_url}/robot/send?access_token={token}"

    def fail_next(self, group: str, *codes: int) -> None:
        """Answer the group's next requests with these errcodes (45009, 93000, 130101, 310000 …), in order."""
        for robot in self._robots.values():
            if robot.group == group:
                robot.fail_next.extend(codes)

    def remove(self, group: str) -> None:
        """The robot was removed from its group: its address now answers 93000 / 300001."""
        self._robots = {k: r for k, r in self._robots.items() if r.group != group}

    def received(self, group: str) -> list[RobotPost]:
        return [p for p in self.posts if p.group == group]

    async def start(self) -> None:
        app = web.Application(client_max_size=25 * 1024 * 1024)
        app.router.add_post("/cgi-bin/webhook/send", self._wecom_send)
        app.router.add_post("/cgi-bin/webhook/upload_media", self._wecom_upload)
        app.router.add_post("/robot/send", self._dingtalk_send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        # Port 0 asks the OS for a free one; the runner knows which it got.
        self.port = self._runner.addresses[0][1]

    def release_held(self) -> None:
        """Answer the held requests (their sender may be gone by then: the answer then goes nowhere)."""
        self._release.set()

    async def close(self) -> None:
        self.release_held()  # a held request would keep the server's shutdown waiting
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- shared ----------------------------------------------------------------------------------------------

    def _gate(self, robot: _Robot) -> int:
        """0 to go ahead, else the errcode to answer (on-demand failures first, then the rate limit)."""
        if robot.fail_next:
            return robot.fail_next.pop(0)
        if self.per_minute <= 0:
            return 0
        now = self._now()
        rate = 45009 if robot.kind == "wecom" else 130101
        if now < robot.throttled_until:
            return rate
        while robot.window and robot.window[0] <= now - 60.0:
            robot.window.popleft()
        if len(robot.window) >= self.per_minute:
            if robot.kind == "dingtalk":
                robot.throttled_until = now + 600.0
            return rate
        robot.window.append(now)
        return 0

    def _answer(self, robot_group: str, code: int, errmsg: str = "") -> web.Response:
        if code in (45009, 130101):
            self.throttle_answers += 1
        elif code != 0:
            self.refusals.append((robot_group, code))
        messages = {0: "ok", 45009: "api freq out of limit", 130101: "send too fast, exceed 20 times per minute"}
        return web.json_response({"errcode": code, "errmsg": errmsg or messages.get(code, "error")})

    async def _post(self, robot: _Robot, payload: dict[str, Any], request: web.Request) -> web.StreamResponse:
        self.posts.append(RobotPost(robot.group, robot.kind, payload, self._now()))
        if robot.group in self.drop_after_post:
            self.drop_after_post.discard(robot.group)
            assert request.transport is not None
            request.transport.close()  # posted, but the answer never comes
        elif robot.group in self.hold_after_post:
            self.hold_after_post.discard(robot.group)
            self.held.append(robot.group)
            await self._release.wait()  # posted; the answer waits
        return self._answer(robot.group, 0)

    @staticmethod
    async def _json(request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError:
            return None

    # -- WeCom -----------------------------------------------------------------------------------------------

    async def _wecom_send(self, request: web.Request) -> web.StreamResponse:
        robot = self._robots.get(request.query.get("key", ""))
        if robot is None or robot.kind != "wecom":
            return self._answer("?", 93000, "invalid webhook url")
        payload = await self._json(request)
        code = self._gate(robot)
        if code:
            return self._answer(robot.group, code)
        code, why = self._wecom_check(payload)
        if code:
            return self._answer(robot.group, code, why)
        return await self._post(robot, payload, request)

    def _wecom_check(self, payload: Any) -> tuple[int, str]:
        if not isinstance(payload, dict):
            return 40008, "invalid message type"
        kind = payload.get("msgtype")
        body = payload.get(kind) if isinstance(kind, str) else None
        if kind not in ("text", "markdown", "file", "image", "news") or not isinstance(body, dict):
            return 40008, "invalid message type"
        if kind in ("text", "markdown"):
            content = body.get("content")
            limit = WECOM_TEXT_LIMIT if kind == "text" else WECOM_MARKDOWN_LIMIT
            if not isinstance(content, str) or not content:
                return 44004, "empty content"
            if len(content.encode("utf-8")) > limit:
                return 40058, f"content exceed max length {limit}"
            mobiles = body.get("mentioned_mobile_list", [])
            if not isinstance(mobiles, list) or not all(isinstance(m, str) for m in mobiles):
                return 40058, "invalid mentioned_mobile_list"
        if kind == "file" and body.get("media_id") not in self.uploads:
            return 40007, "invalid media_id"
        return 0, ""

    async def _wecom_upload(self, request: web.Request) -> web.StreamResponse:
        robot = self._robots.get(request.query.get("key", ""))
        if robot is None or robot.kind != "wecom":
            return self._answer("?", 93000, "invalid webhook url")
        if request.query.get("type") != "file":
            return self._answer(robot.group, 40004, "invalid media type")
        form = await request.post()
        media = form.get("media")
        if not isinstance(media, web.FileField):
            return self._answer(robot.group, 40004, "no media field")
        data = media.file.read()
        if not 5 <= len(data) <= 20 * 1024 * 1024:
            return self._answer(robot.group, 40006, "invalid file size")
        media_id = f"media-{next(self._media_seq)}"
        self.uploads[media_id] = (robot.group, media.filename, data)
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id})

    # -- DingTalk --------------------------------------------------------------------------------------------

    async def _dingtalk_send(self, request: web.Request) -> web.StreamResponse:
        robot = self._robots.get(request.query.get("access_token", ""))
        if robot is None or robot.kind != "dingtalk":
            return self._answer("?", 300001, "token is not exist")
        payload = await self._json(request)
        why = self._dingtalk_security(robot, request, payload)
        if why:
            return self._answer(robot.group, 310000, why)
        code = self._gate(robot)
        if code:
            return self._answer(robot.group, code)
        if not isinstance(payload, dict) or payload.get("msgtype") not in ("text", "markdown", "link"):
            return self._answer(robot.group, 40035, "msgtype not supported")
        text = _dingtalk_text(payload)
        if len(text.encode("utf-8")) > DINGTALK_TEXT_LIMIT:
            return self._answer(robot.group, 460101, "message too long")
        return await self._post(robot, payload, request)

    def _dingtalk_security(self, robot: _Robot, request: web.Request, payload: Any) -> str:
        if robot.secret:
            ts, given = request.query.get("timestamp", ""), request.query.get("sign", "")
            if not ts.isdigit() or abs(self._wall_ms() - int(ts)) > 3600_000:
                return "invalid timestamp"
            string_to_sign = f"{ts}\n{robot.secret}".encode()
            digest = hmac.new(robot.secret.encode(), string_to_sign, hashlib.sha256).digest()
            # aiohttp has already URL-decoded the query: compare with the plain base64.
            if not hmac.compare_digest(given, base64.b64encode(digest).decode()):
                return "sign not match"
        if robot.keyword and robot.keyword not in _dingtalk_text(payload if isinstance(payload, dict) else {}):
            return "keywords not in content"
        return ""


def _dingtalk_text(payload: dict[str, Any]) -> str:
    kind = payload.get("msgtype", "")
    body = payload.get(kind, {}) if isinstance(kind, str) else {}
    if not isinstance(body, dict):
        return ""
    return " ".join(str(body.get(k, "")) for k in ("content", "title", "text"))
