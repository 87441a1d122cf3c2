"""The routes wired into the app: plain towns keep their one channel; with routing, a path that stays down hands
the delivery to the relay (RELAYED, counted as delivered) and the relay people get one digest per batch."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from bot.admin import AdminCommands
from bot.app import build
from bot.channels.base import InboundMessage
from bot.channels.memory import MemoryChannel
from bot.channels.routed import RoutedChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources, load
from bot.routing import make_routed, read_robots
from bot.settings import Settings
from bot.store.base import DeliveryStatus
from bot.store.relay import RelayQueue
from bot.store.sql import open_store


async def _no_sleep(_: float) -> None:
    return None


def _settings(tmp_path: Path) -> Settings:
    return Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "outbox", tmp_path / "audio", "none")


def test_a_town_without_robots_or_relay_keeps_its_default_channel(jinxi: Sources, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = open_store(settings.database_url, TOWN_ZONE)
    default = MemoryChannel()
    loaded = load(jinxi)
    try:
        clock = VirtualClock(datetime(2024, 5, 1, tzinfo=TOWN_ZONE))
        assert make_routed(settings, clock, default, lambda: loaded.campaign, store) is default
    finally:
        store.close()


def test_a_path_that_stays_down_hands_the_delivery_to_the_relay(jinxi: Sources, tmp_path: Path) -> None:
    town = jinxi.schedules / "town.yaml"
    town.write_text(
        town.read_text(encoding="utf-8") + "\nrelay:\n  - {id: relay-zhou, name: 周代发, wechat: zhou-relay}\n",
        encoding="utf-8",
    )
    settings = _settings(tmp_path)
    loaded = load(jinxi)
    job = loaded.plan.by_key()["2024-05/summary"]
    clock = VirtualClock(job.at)
    store = open_store(settings.database_url, TOWN_ZONE)
    default = MemoryChannel(fail_next=3)  # every attempt of the one delivery fails, then the path is back
    channel = make_routed(settings, clock, default, lambda: loaded.campaign, store)
    assert isinstance(channel, RoutedChannel)
    app = build(jinxi, settings, clock, channel=channel, echo=None, sleep=_no_sleep)
    try:
        [outcome] = asyncio.run(app.pipeline.run_job(job))
        assert outcome.status is DeliveryStatus.RELAYED and outcome.detail.startswith("relay:")
        record = app.store.get(job.key, "jinxi-office")
        assert record is not None and record.status is DeliveryStatus.RELAYED
        [item] = RelayQueue(store).waiting()
        assert item.target == "jinxi-office" and "自动发送失败" in item.reason
        # One digest to the relay person (by the default channel: no robot reaches them), naming the item.
        [digest] = default.sent
        assert digest.target.id == "relay-zhou" and f"{item.id}. 发给「金溪镇垃圾分类工作专班群」" in digest.text
        assert asyncio.run(app.pipeline.run_job(job))[0].fresh is False  # never sent again
        # #状态 counts it as delivered, marked as relayed (the answer to the admin itself goes by the relay here:
        # without a robot in the office group nothing reaches a person automatically).
        status = InboundMessage("m1", "wxid-ran", "冉晓燕", "#状态", job.at, sender_wechat="jinxi-ranxy")
        assert asyncio.run(AdminCommands(lambda: loaded, app.pipeline).handle(status))
        answer = RelayQueue(store).waiting()[-1]
        assert answer.target_name == "冉晓燕" and "其中人工代发 1 条" in answer.text
    finally:
        app.close()
        store.close()


def test_read_robots_gives_none_without_a_file_and_reads_one_that_is_there(jinxi: Sources, tmp_path: Path) -> None:
    campaign = load(jinxi).campaign
    assert read_robots(tmp_path / "robots.yaml", campaign) == ({}, ())
    group = campaign.units[0].groups[0].id
    path = tmp_path / "robots.yaml"
    path.write_text(f"{group}:\n  webhook: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1\n", "utf-8")
    path.chmod(0o600)
    robots, warnings = read_robots(path, campaign)
    assert (list(robots), warnings) == ([group], ())
