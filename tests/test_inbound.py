"""ConversationQueues: a slow reply holds up only its own conversation; an admin's command goes at once.
InboundRouter: a handler given as `Lazy` is built when the first message reaches it."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest

from bot.admin import is_admin_command
from bot.channels.base import InboundMessage
from bot.clock import TOWN_ZONE
from bot.config.campaign import LoadedCampaign
from bot.inbound import ConversationQueues, InboundHandler, InboundRouter
from bot.late import Lazy

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


class Takes:
    """Takes the messages whose text is `text`; notes what it took."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.took: list[str] = []

    async def handle(self, message: InboundMessage) -> bool:
        if message.text != self.text:
            return False
        self.took.append(message.message_id)
        return True


def test_a_lazy_handler_is_built_when_a_message_first_reaches_it() -> None:
    first, later = Takes("早"), Takes("问题")
    builds: list[str] = []

    def build() -> InboundHandler:
        builds.append("built")
        return later

    lazy = Lazy(build)
    router = InboundRouter([first, lazy])
    assert asyncio.run(router.dispatch(said("早", "cunmin", mid="m1")))
    assert builds == []  # the first handler took it: the second is not built
    assert asyncio.run(router.dispatch(said("问题", "cunmin", mid="m2")))
    assert asyncio.run(router.dispatch(said("问题", "cunmin", mid="m3")))
    assert (builds, first.took, later.took) == (["built"], ["m1"], ["m2", "m3"])
    assert router.handlers == [first, later]


def test_a_handler_that_fails_to_build_is_logged_and_the_next_one_asked(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> InboundHandler:
        raise OSError("disk away")

    after = Takes("问题")
    router = InboundRouter([Lazy(broken), after])
    with caplog.at_level(logging.ERROR):
        assert asyncio.run(router.dispatch(said("问题", "cunmin", mid="m1")))
    assert after.took == ["m1"]
    assert "处理消息 m1 的程序没能启动" in caplog.text
