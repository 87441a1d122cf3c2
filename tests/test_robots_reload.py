"""robots.yaml reloaded while the daemon runs: a good edit routes by the new robots at once; a bad edit keeps the
robots in use and tells the admins (once); fixing it takes effect again. Against loopback robots."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path

from bot.app import build
from bot.channels.memory import MemoryChannel
from bot.channels.robots.loopback import LoopbackRobots
from bot.channels.routed import RoutedChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources, load
from bot.core.planner import admin_targets, group_target
from bot.routing import make_reloader, make_routed
from bot.settings import Settings
from bot.store.base import DeliveryStatus
from bot.store.sql import open_store

SECRET = "SECabcdefgh1234"


def _write(path: Path, text: str, step: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)
    # A distinct mtime per edit, whatever the file system's timestamp resolution.
    os.utime(path, ns=(step * 10**9, step * 10**9))


def test_robots_yaml_reloaded_bad_edits_keep_the_old_robots(jinxi: Sources, tmp_path: Path) -> None:
    clock = VirtualClock(datetime(2024, 5, 6, 10, tzinfo=TOWN_ZONE))
    # The default reaches people (as a WeChat gateway would): the admins' alerts land in the memory channel.
    settings = Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "wechaty", tmp_path / "a", "none")
    path = settings.robots_path
    path.parent.mkdir(parents=True)

    async def main() -> None:
        server = LoopbackRobots()
        await server.start()
        store = open_store(settings.database_url, TOWN_ZONE)
        try:
            changchun = f"changchun-villagers:\n  webhook: {server.add_wecom('changchun-villagers')}\n"
            xiangjian = server.add_dingtalk("xiangjian-work", secret=SECRET)
            _write(path, changchun, 1)
            loaded = load(jinxi)
            memory = MemoryChannel()
            routed = make_routed(settings, clock, memory, lambda: loaded.campaign, store)
            assert isinstance(routed, RoutedChannel)
            app = build(jinxi, settings, clock, channel=routed, echo=None)
            campaign = app.loaded.campaign
            reloader = make_reloader(settings, app.channel, app.pipeline, lambda: app.loaded.campaign)
            await app.channel.start()
            seq = iter(range(100))

            async def send(group_id: str) -> DeliveryStatus:
                group, unit = campaign.group(group_id)
                outcome = await app.pipeline.send_now(group_target(group, unit), "通知", f"send/t{next(seq)}")
                return outcome.status

            assert await reloader.check() is False  # nothing changed
            assert await send("xiangjian-work") is DeliveryStatus.SENT
            assert server.received("xiangjian-work") == [] and memory.texts_to("xiangjian-work") == ["通知"]

            _write(path, changchun + f"xiangjian-work:\n  webhook: {xiangjian}\n  secret: {SECRET}\n", 2)
            assert await reloader.check() is True
            assert await send("xiangjian-work") is DeliveryStatus.SENT
            assert len(server.received("xiangjian-work")) == 1

            admins = [t.id for t in admin_targets(campaign)]
            bad = changchun + "xiangjian-work:\n  webhook: https://oapi.dingtalk.com/robot/send?access_token=abcd\n"
            _write(path, bad, 3)
            assert await reloader.check() is False
            alerts = [t for a in admins for t in memory.texts_to(a)]
            assert len(alerts) == len(admins) and "机器人配置没有生效" in alerts[0]
            assert "钉钉机器人缺少安全设置" in alerts[0] and SECRET not in alerts[0]
            # The robots in use stay: both groups still go by their robots.
            assert await send("xiangjian-work") is DeliveryStatus.SENT
            assert await send("changchun-villagers") is DeliveryStatus.SENT
            assert len(server.received("xiangjian-work")) == 2 and len(server.received("changchun-villagers")) == 1
            _write(path, bad, 4)  # saved again, still broken: told once
            assert await reloader.check() is False
            assert len([t for a in admins for t in memory.texts_to(a)]) == len(admins)

            _write(path, changchun, 5)  # xiangjian's robot removed again: back to the default channel
            assert await reloader.check() is True
            assert await send("xiangjian-work") is DeliveryStatus.SENT
            assert len(server.received("xiangjian-work")) == 2 and memory.texts_to("xiangjian-work") == ["通知"] * 2
            await app.channel.close()
            app.close()
        finally:
            store.close()
            await server.close()

    asyncio.run(main())
