"""The receiver against a loopback gateway: inbound times on the campaign clock, images fetched only where they can
be proof, rooms resolved at login even when the gateway never says READY."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.channels.base import InboundMessage
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.channels.wechaty.loopback import image_bytes
from bot.channels.wechaty.receiver import on_campaign_clock
from bot.clock import TOWN_ZONE, ShiftedClock
from bot.config.campaign import LoadedCampaign
from bot.proof.intake import room_takes_proof
from bot.store.rooms import RoomDirectory
from tests.channels.wechaty.conftest import WAIT, settings_for, town_groups

CAMPAIGN_START = datetime(2024, 5, 20, 10, 0, tzinfo=TOWN_ZONE)


def _channel(puppet: LoopbackPuppet, loaded: LoadedCampaign, tmp_path: Path, **kwargs: Any) -> WechatyChannel:
    return WechatyChannel(
        settings_for(puppet, tmp_path),
        groups=lambda: town_groups(loaded),
        rooms=RoomDirectory("wechaty"),
        echo=None,
        backoff_seconds=(0.02, 0.2),
        send_wait_seconds=WAIT,
        **kwargs,
    )


async def _next(channel: WechatyChannel) -> InboundMessage:
    async with asyncio.timeout(WAIT):
        return await anext(aiter(channel.inbound()))


def _contact(puppet: LoopbackPuppet, weixin: str) -> str:
    return next(c.id for c in puppet.contacts.values() if c.weixin == weixin)


def test_inbound_times_follow_a_shifted_campaign_clock(loaded: LoadedCampaign, tmp_path: Path) -> None:
    """Under `run --now 2024-05-20T10:00` a message the gateway stamps with today's wall time is heard at
    2024-05-20 10:00 (so the proof intake finds May's window open), not today."""
    clock = ShiftedClock(CAMPAIGN_START)

    async def main() -> None:
        async with LoopbackPuppet() as puppet:  # stamps with the wall clock, as a real gateway does
            rooms = puppet.add_town(loaded.campaign)
            channel = _channel(puppet, loaded, tmp_path, now=clock.now)
            try:
                await channel.start()
                puppet.post_text(_contact(puppet, "lidehua-changchun"), "交材料", room_id=rooms["changchun-work"])
                heard = await _next(channel)
            finally:
                await channel.close()
            assert heard.received_at.tzinfo is not None
            assert CAMPAIGN_START <= heard.received_at <= clock.now()
            assert heard.received_at - CAMPAIGN_START < timedelta(seconds=WAIT)

    asyncio.run(main())


def test_a_stamp_is_shifted_by_the_clock_offset_and_never_after_the_campaign_now() -> None:
    wall = datetime(2026, 11, 29, 22, 0, tzinfo=TOWN_ZONE)
    campaign = datetime(2024, 5, 20, 10, 0, tzinfo=TOWN_ZONE)
    stamped = wall - timedelta(minutes=5)  # held by the gateway while we were reconnecting
    assert on_campaign_clock(stamped, campaign, wall) == campaign - timedelta(minutes=5)
    assert on_campaign_clock(wall + timedelta(seconds=3), campaign, wall) == campaign  # gateway's clock runs ahead
    assert on_campaign_clock(None, campaign, wall) == campaign
    assert on_campaign_clock(wall, wall, wall) == wall  # the real clock: the stamp as it is


def test_a_villagers_photo_is_not_fetched_but_a_units_photo_is(loaded: LoadedCampaign, tmp_path: Path) -> None:
    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            rooms = puppet.add_town(loaded.campaign)
            channel = _channel(
                puppet, loaded, tmp_path, takes_proof=lambda g, r: room_takes_proof(loaded.campaign, g, r)
            )
            try:
                await channel.start()
                villager = next(c.id for c in puppet.contacts.values() if c.name.startswith("长春村村民"))
                big, small = image_bytes(60_000, seed=3), image_bytes(3_000, seed=4)
                in_villagers = [
                    puppet.post_image(villager, big, "自家分类.png", room_id=rooms["changchun-villagers"]),
                    puppet.post_image(villager, small, "小图.png", room_id=rooms["changchun-villagers"]),
                ]
                secretary = _contact(puppet, "lidehua-changchun")
                in_work = puppet.post_image(secretary, big, "现场.png", room_id=rooms["changchun-work"])
                privately = puppet.post_image(secretary, small, "私发.png")
                heard = [await _next(channel) for _ in range(4)]
            finally:
                await channel.close()
            # The villagers' photos are heard (the page and the log show them) but never asked for.
            assert [(m.kind, m.attachments) for m in heard[:2]] == [("image", ()), ("image", ())]
            assert not set(in_villagers) & set(puppet.image_requests)
            assert [a.data for a in heard[2].attachments] == [big]
            assert [a.data for a in heard[3].attachments] == [small]
            assert set(puppet.image_requests) == {in_work, privately}
            assert len(puppet.downloads) == 1  # the big one from the work group only

    asyncio.run(main())


def test_rooms_are_resolved_at_login_without_ready(loaded: LoadedCampaign, tmp_path: Path) -> None:
    async def main() -> None:
        async with LoopbackPuppet(announces_ready=False) as puppet:
            rooms = puppet.add_town(loaded.campaign)
            channel = _channel(puppet, loaded, tmp_path)
            try:
                await channel.start()
                report = channel.room_report()
            finally:
                await channel.close()
            assert channel.group_rooms == rooms
            assert all(why == "" for _, why in report.values()), report

    asyncio.run(main())
