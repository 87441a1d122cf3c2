"""ConversationQueues: a slow reply holds up only its own conversation; an admin's command goes at once."""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.admin import is_admin_command
from bot.channels.base import InboundMessage
from bot.clock import TOWN_ZONE
from bot.config.campaign import LoadedCampaign
from bot.inbound import ConversationQueues, InboundRouter

NOW = datetime(2024, 5, 18, 15, 0, tzinfo=TOWN_ZONE)


def said(text: str, sender: str, room: str | None = "office@chatroom", mid: str = "m") -> InboundMessage:
    return InboundMessage(mid, f"wxid-{sender}", sender, text, NOW, room_id=room, sender_wechat=sender)


class SlowReplies:
    """Answers villagers only when `go` is set (as a reply waits for the pacer); notes what it handled."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.handled: list[str] = []

    async def handle(self, message: InboundMessage) -> bool:
        if message.sender_name != "admin":
            await self.go.wait()
        self.handled.append(message.message_id)
        return True


def test_an_admin_command_goes_ahead_of_a_flood_and_each_conversation_keeps_its_order() -> None:
    slow = SlowReplies()
    queues = ConversationQueues(InboundRouter([slow]), urgent=lambda m: m.sender_name == "admin")

    async def main() -> None:
        for i in range(20):
            queues.submit(said("#帮助", "cunmin", mid=f"help-{i}"))
        queues.submit(said("#暂停", "admin", mid="pause"))
        queues.submit(said("#恢复", "admin", mid="resume"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert slow.handled == ["pause", "resume"]  # while the villager's first reply still waits
        assert queues.waiting == 19
        slow.go.set()
        await queues.join()

    asyncio.run(main())
    assert slow.handled[2:] == [f"help-{i}" for i in range(20)]


def test_close_stops_what_is_queued() -> None:
    slow = SlowReplies()
    queues = ConversationQueues(InboundRouter([slow]))

    async def main() -> None:
        for i in range(3):
            queues.submit(said("问题", "cunmin", mid=f"q{i}"))
        await asyncio.sleep(0)
        await queues.close()

    asyncio.run(main())
    assert slow.handled == []


def test_admin_commands_are_told_by_sender_and_hash(loaded: LoadedCampaign) -> None:
    campaign = loaded.campaign
    assert is_admin_command(campaign, said("@大喇叭\u2005#暂停", "jinxi-ranxy"))
    assert not is_admin_command(campaign, said("#暂停", "cunmin"))
    assert not is_admin_command(campaign, said("今天几点发？", "jinxi-ranxy"))
