"""Issue 13's flood on the loopback gateway: replies that spent their share of the hourly cap wait, and the
scheduled reminder still goes out at once (before, it waited an hour behind them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.channels.pacing import SendPriority
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign
from bot.core.planner import group_target
from bot.pipeline import Pipeline, RetryPolicy
from bot.store.base import DeliveryStatus
from bot.store.sql import open_store
from tests.channels.wechaty.conftest import WAIT, Alerts
from tests.helpers import no_sleep

NOW = datetime(2024, 5, 19, 9, 59, tzinfo=TOWN_ZONE)

World = Callable[..., None]


def test_replies_beyond_their_share_wait_and_the_reminder_goes_at_once(
    world: World, loaded: LoadedCampaign, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'laba.db'}", TOWN_ZONE)
    group, unit = loaded.campaign.group("pingxi-villagers")
    villagers = group_target(group, unit)

    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        two_sent = asyncio.Event()
        puppet.listeners.append(lambda _: two_sent.set() if len(puppet.sent_by_bot()) >= 2 else None)
        pipeline = Pipeline(lambda: loaded, store, channel, VirtualClock(NOW), "test", RetryPolicy(1, 1.0), no_sleep)
        replies = [
            asyncio.create_task(pipeline.send_now(villagers, f"回复 {i}", f"reply/{i}", priority=SendPriority.REPLY))
            for i in range(20)
        ]
        async with asyncio.timeout(WAIT):
            await two_sent.wait()
        async with asyncio.timeout(WAIT):  # the reminder does not wait an hour behind the 18 waiting replies
            reminder = await pipeline.send_now(villagers, "10:00 垃圾分类提醒", "job/reminder")
        assert reminder.status is DeliveryStatus.SENT
        assert [m.text for m in puppet.sent_by_bot()] == ["回复 0", "回复 1", "10:00 垃圾分类提醒"]
        assert not any(task.done() for task in replies[2:])
        for task in replies:
            task.cancel()
        await asyncio.gather(*replies, return_exceptions=True)

    try:
        world(scenario, hourly_cap=8)  # replies get a quarter of it: 2 an hour
    finally:
        store.close()
