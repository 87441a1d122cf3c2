"""robots.yaml reloaded while the daemon runs, on the plan's reload cadence: a changed file (or a reloaded plan,
whose groups the file is checked against) is loaded again; a good one replaces the robots at once, a bad one keeps
the robots in use and tells the admins what is wrong (once per distinct error), as a bad plan edit does.

A daemon that started without any routing (no robot, no relay) keeps its single default channel: a robots.yaml
that appears later takes a restart, and the admins are told so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from bot.channels.robots import RobotChannel, RobotConfig, posting_robots
from bot.channels.robots.file import load_robots
from bot.channels.routed import RoutedChannel
from bot.core.alert_kinds import PLAN_ERROR
from bot.core.model import Campaign
from bot.errors import ConfigError
from bot.pipeline import Pipeline

log = logging.getLogger(__name__)

MakeRobots = Callable[[dict[str, RobotConfig], RobotChannel], RobotChannel]
Fingerprint = tuple[int, int, int] | None


def fingerprint(path: Path) -> Fingerprint:
    """Size, mtime and inode (an editor's save-by-rename changes it); None while the file is absent."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class RobotsReloader:
    def __init__(
        self,
        path: Path,
        campaign: Callable[[], Campaign],
        pipeline: Pipeline,
        routed: RoutedChannel | None,
        make: MakeRobots,
    ) -> None:
        self._path = path
        self._campaign = campaign
        self._pipeline = pipeline
        self._routed = routed
        self._make = make
        self._seen = (fingerprint(path), campaign())
        self._last_error = ""

    def _in_use(self) -> dict[str, RobotConfig]:
        robots = posting_robots(self._routed.robots if self._routed is not None else None)
        return robots.configs() if robots is not None else {}

    async def check(self) -> bool:
        """Reload if the file or the plan changed. True if new robots went live. Never raises for a bad file."""
        seen = (await asyncio.to_thread(fingerprint, self._path), self._campaign())
        if seen[0] == self._seen[0] and seen[1] is self._seen[1]:
            return False
        self._seen = seen
        try:
            loaded = await asyncio.to_thread(load_robots, self._path, seen[1])
        except ConfigError as exc:
            log.error("机器人配置 %s 改过之后有错，仍用原来的机器人：\n%s", self._path, exc)
            await self._tell([str(p) for p in exc.problems] + ["机器人配置没有生效，仍按原来的机器人发送。"])
            return False
        self._last_error = ""
        for warning in loaded.warnings:
            log.warning("%s", warning)
        if loaded.robots == self._in_use():
            return False
        old = posting_robots(self._routed.robots if self._routed is not None else None)
        if self._routed is None or old is None:
            log.error("robots.yaml 里现在有群机器人了，但程序启动时没有按群分路：需要重启")
            await self._tell([f"{self._path}：新加了群机器人。要重启 laba（laba run）后才会用上。"])
            return False
        await self._routed.replace_robots(self._make(loaded.robots, old))
        log.info("已重新读取机器人配置：%d 个群用群机器人发送", len(loaded.robots))
        return True

    async def _tell(self, problems: list[str]) -> None:
        text = "\n".join(problems)
        if text == self._last_error:
            return
        self._last_error = text
        now = self._pipeline.clock.now()
        key = f"alert/robots_error/{now:%Y%m%d}/{hashlib.sha256(text.encode()).hexdigest()[:12]}"
        await self._pipeline.alert(PLAN_ERROR(key, problems=problems))

    async def watch(self, stop: asyncio.Event, every_seconds: float) -> None:
        """`check` every `every_seconds` until `stop` is set."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception:
                log.exception("重新读取机器人配置时出错")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)
