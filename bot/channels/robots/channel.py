"""`RobotChannel`: the `Channel` over a town's group robots (WeCom and DingTalk), one robot per group.

Robots only post into their own group: a target without a robot is refused (permanently), and nothing comes in
(`inbound` just waits). Throttle answers (45009 / 130101) are the one case retried inside a send: the server
answered with an errcode, so it certainly did not post, and a retry can't duplicate.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bot.channels.base import Handoff, InboundMessage, OutgoingFile, no_handoff
from bot.channels.robots.config import RobotConfig
from bot.channels.robots.dingtalk import DingtalkRobot
from bot.channels.robots.http import Pacer, RobotHttp
from bot.channels.robots.wecom import WecomRobot
from bot.channels.robots.wire import KIND_CN, RobotProblem, RobotRefused, RobotThrottled
from bot.core.planner import Target
from bot.errors import DeliveryError
from bot.health import HealthLine

log = logging.getLogger(__name__)

Robot = WecomRobot | DingtalkRobot


@dataclass(frozen=True)
class PublicFiles:
    """Where files for DingTalk download links go: copied under `folder`, served at `base_url` (BOT_PUBLIC_URL)
    by whatever serves the folder. The path holds the content hash, so a link can't be guessed from a name."""

    folder: Path
    base_url: str

    def publish(self, file: OutgoingFile) -> str:
        digest = hashlib.sha256(file.path.read_bytes()).hexdigest()[:24]
        dest = self.folder / digest / file.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            shutil.copyfile(file.path, dest)
        return f"{self.base_url.rstrip('/')}/files/{digest}/{quote(file.name)}"


class RobotChannel:
    name = "robots"

    def __init__(
        self,
        robots: Mapping[str, RobotConfig],
        *,
        pacer: Pacer | None = None,
        public: PublicFiles | None = None,
        throttle_retries: int = 3,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self._http = RobotHttp()
        self._robots: dict[str, Robot] = {
            g: WecomRobot(c, self._http) if c.kind == "wecom" else DingtalkRobot(c, self._http, wall_ms)
            for g, c in robots.items()
        }
        self._pacer = pacer or Pacer()
        self._public = public
        self._throttle_retries = throttle_retries
        self._seq = itertools.count(1)
        self._closed = asyncio.Event()
        # Groups whose robot refused for good (for `health` and the admins); the latest problem each.
        self.broken: dict[str, RobotProblem] = {}

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(self._robots)

    @property
    def pacer(self) -> Pacer:
        """Each robot's turn: handed on to the channel that replaces this one (a reloaded robots.yaml), so the
        per-minute limit counts across the reload."""
        return self._pacer

    def configs(self) -> dict[str, RobotConfig]:
        return {group: robot.config for group, robot in self._robots.items()}

    def config(self, group: str) -> RobotConfig | None:
        robot = self._robots.get(group)
        return robot.config if robot else None

    async def start(self) -> None:
        self._closed.clear()
        await self._http.start()

    async def close(self) -> None:
        await self._http.close()
        self._closed.set()

    def _robot(self, target: Target) -> Robot:
        robot = self._robots.get(target.id)
        if robot is None:
            raise DeliveryError(f"{target.name}（{target.id}）没有配置群机器人", permanent=True)
        return robot

    async def send_text(self, target: Target, text: str, *, handoff: Handoff = no_handoff) -> str:
        robot = self._robot(target)
        mobiles = tuple(m.mobile for m in target.mentions if m.mobile)
        names = tuple(m.name for m in target.mentions if not m.mobile)
        payloads = robot.text_payloads(text, mobiles, names)
        for posted, payload in enumerate(payloads):
            await self._post(robot, payload, posted, handoff)
        return self._message_id(robot, len(payloads))

    async def send_file(self, target: Target, file: OutgoingFile, *, handoff: Handoff = no_handoff) -> str:
        robot = self._robot(target)
        try:
            data = await asyncio.to_thread(file.path.read_bytes)
        except OSError as exc:
            raise DeliveryError(f"读不到要发送的文件 {file.path}: {exc}", permanent=True) from exc
        if isinstance(robot, WecomRobot):
            # The upload posts nothing into the group: the handoff is the `file` message after it.
            media_id = await self._with_throttle(robot, lambda: robot.upload(file, data), no_handoff)
            await self._post(robot, robot.file_payload(media_id), 0, handoff)
            return self._message_id(robot, 1)
        if self._public is None:
            raise DeliveryError(
                f"钉钉群机器人发不了文件（{file.name}），也没有设置 BOT_PUBLIC_URL 提供下载链接", permanent=True
            )
        url = await asyncio.to_thread(self._public.publish, file)
        payloads = robot.link_payloads(f"文件：{file.name}", url)
        for posted, payload in enumerate(payloads):
            await self._post(robot, payload, posted, handoff)
        return self._message_id(robot, len(payloads))

    def _message_id(self, robot: Robot, parts: int) -> str:
        # Robots return no message id: ours says which robot and how many parts went.
        return f"{robot.kind}:{robot.config.group}:{next(self._seq)}" + (f"x{parts}" if parts > 1 else "")

    async def _post(self, robot: Robot, payload: dict[str, Any], posted_before: int, handoff: Handoff) -> None:
        try:
            # Once a part is in the group the message has (partly) left: a later part's refusal can't undo that.
            await self._with_throttle(robot, lambda: robot.post(payload), handoff if posted_before == 0 else None)
        except DeliveryError as exc:
            if posted_before == 0:
                raise
            # Earlier parts are in the group: sending the whole message again would repeat them.
            raise DeliveryError(f"长消息只发出了前 {posted_before} 段，后面失败：{exc}", uncertain=True) from exc

    async def _with_throttle(self, robot: Robot, call: Callable[[], Any], handoff: Handoff | None) -> Any:
        """`call` in the robot's turn, waiting and trying again while the service says it is throttled (an errcode
        answer: nothing was posted). `handoff(True)` just before each request; `handoff(False)` after a throttled
        one, when nothing of the message has left yet (`handoff` None: a part already did)."""
        group = robot.config.group
        for attempt in range(self._throttle_retries + 1):
            await self._pacer.wait_turn(group)
            if handoff is not None:
                await handoff(True)
            try:
                result = await call()
            except RobotThrottled:
                if handoff is not None:
                    await handoff(False)
                log.warning("群 %s 的机器人发得太快被限流（第 %d 次），等一会再发", group, attempt + 1)
                if attempt == self._throttle_retries:
                    raise
                self._pacer.push_back(group, robot.throttle_seconds)
                if self._pacer.per_minute <= 0:
                    await self._pacer.sleep(robot.throttle_seconds)
                continue
            except RobotRefused as exc:
                self.broken[group] = exc.problem
                raise
            self.broken.pop(group, None)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def inbound(self) -> AsyncIterator[InboundMessage]:
        # Group robots only post; replies and photos come through the upload page or a personal-WeChat bot.
        await self._closed.wait()
        return
        yield  # pragma: no cover  (makes this an async generator)

    async def health(self) -> list[HealthLine]:
        lines = []
        for group, robot in sorted(self._robots.items()):
            problem = self.broken.get(group)
            kind = KIND_CN[robot.kind]
            if problem:
                lines.append(HealthLine(f"{kind} {group}", False, f"错误码 {problem.code}：{problem.fix}"))
            else:
                lines.append(HealthLine(f"{kind} {group}", True, robot.config.masked_webhook))
        return lines


def posting_robots(robots: object) -> RobotChannel | None:
    """`robots` when they really post to groups (a reload can replace them), else None (rehearsal robots, or no
    routes at all): callers outside the channel package ask this instead of checking the class."""
    return robots if isinstance(robots, RobotChannel) else None
