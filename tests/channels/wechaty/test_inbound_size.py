"""An image the gateway announces as larger than intake takes is not downloaded: it arrives empty, with its size."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.channels.base import MAX_ATTACHMENT_BYTES, InboundMessage
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.channels.wechaty.loopback import image_bytes
from tests.channels.wechaty.conftest import WAIT, Alerts

World = Callable[..., None]


async def _next(channel: WechatyChannel) -> InboundMessage:
    async with asyncio.timeout(WAIT):
        return await anext(aiter(channel.inbound()))


def test_an_image_announced_over_the_limit_is_not_downloaded(world: World) -> None:
    async def scenario(puppet: LoopbackPuppet, channel: WechatyChannel, rooms: dict[str, str], _: Alerts) -> None:
        await channel.start()
        secretary = next(c for c in puppet.contacts.values() if c.weixin == "lidehua-changchun")
        huge = b"\xff\xd8" + bytes(40 * 1024 * 1024)
        fine = image_bytes(60_000, seed=3)
        puppet.post_image(secretary.id, huge, "大图.jpg", room_id=rooms["changchun-work"])
        puppet.post_image(secretary.id, fine, "现场.png", room_id=rooms["changchun-work"])
        first, second = await _next(channel), await _next(channel)
        [skipped] = first.attachments
        assert (skipped.name, skipped.data, skipped.unfetched_size) == ("大图.jpg", b"", len(huge))
        assert len(huge) > MAX_ATTACHMENT_BYTES
        [kept] = second.attachments
        assert (kept.data, kept.unfetched_size) == (fine, None)
        assert len(puppet.downloads) == 1  # only the one within the limit was fetched

    world(scenario)
