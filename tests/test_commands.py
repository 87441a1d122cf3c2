"""The command-handler base: the pure decision (`check`) and the once-only answer (`handle`), with a small command
of its own on the real 金溪 plan, the in-memory store and the memory channel."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.channels.base import InboundMessage
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.commands import Command, CommandHandler, strip_mentions
from bot.config.campaign import LoadedCampaign
from bot.pipeline import Pipeline, RetryPolicy
from bot.store.memory import MemoryStore
from tests.helpers import no_sleep
from tests.test_admin import NOW, said


class Echo(CommandHandler):
    pattern = re.compile(r"^\s*[#＃]\s*(回声)\s*(.*)$", re.S)
    key_prefix = "echo"

    def __init__(self, loaded: LoadedCampaign, pipeline: Pipeline, *, admin_only: bool) -> None:
        super().__init__(lambda: loaded, pipeline)
        self.admin_only = admin_only
        self.answered: list[Command] = []

    async def answer(self, command: Command) -> str:
        self.answered.append(command)
        return f"回声：{command.args}"


@pytest.fixture
def channel() -> MemoryChannel:
    return MemoryChannel()


@pytest.fixture
def pipeline(loaded: LoadedCampaign, channel: MemoryChannel) -> Pipeline:
    store = MemoryStore(TOWN_ZONE)
    return Pipeline(lambda: loaded, store, channel, VirtualClock(NOW), "test", RetryPolicy(3, 1.0), no_sleep)


def test_mentions_before_a_command_are_stripped() -> None:
    assert strip_mentions("@大喇叭\u2005#状态") == "#状态"
    assert strip_mentions("@大喇叭 @冉晓燕 #驳回 3 照片不清楚") == "#驳回 3 照片不清楚"
    assert strip_mentions("我 @大喇叭 #状态") == "我 @大喇叭 #状态"  # only leading mentions


def test_check_decides_without_acting(loaded: LoadedCampaign, pipeline: Pipeline) -> None:
    echo = Echo(loaded, pipeline, admin_only=True)
    command = echo.check(said("@大喇叭 ＃回声  你好 "))
    assert command is not None
    assert (command.verb, command.args, command.key) == ("回声", "你好", "echo/m1")
    assert command.target.id == "jinxi-office" and command.admin is not None
    private = echo.check(said("#回声 私信", group=None))
    assert private is not None and private.target.kind == "person" and private.target.id == "wxid-jinxi-ranxy"
    assert echo.check(said("#状态")) is None  # not this handler's command
    unknown_room = InboundMessage(**{**said("#回声").__dict__, "group": None})
    assert echo.check(unknown_room) is None  # a room the town's files don't know
    assert echo.answered == []


def test_an_answer_is_sent_once_for_a_message_delivered_twice(
    loaded: LoadedCampaign, pipeline: Pipeline, channel: MemoryChannel
) -> None:
    echo = Echo(loaded, pipeline, admin_only=True)
    assert asyncio.run(echo.handle(said("#回声 一")))
    assert asyncio.run(echo.handle(said("#回声 一")))  # the same message again: taken, not answered again
    assert [m.text for m in channel.sent] == ["回声：一"]
    assert len(echo.answered) == 1


def test_admin_only_commands_refuse_others_from_the_template(
    loaded: LoadedCampaign, pipeline: Pipeline, channel: MemoryChannel
) -> None:
    assert asyncio.run(Echo(loaded, pipeline, admin_only=True).handle(said("#回声 二", wechat="stranger")))
    assert [m.text for m in channel.sent] == ["某村民，#回声 只有镇里的管理员可以用。"]
    everyone = Echo(loaded, pipeline, admin_only=False)
    assert asyncio.run(everyone.handle(said("#回声 三", wechat="stranger", mid="m2")))
    assert channel.sent[-1].text == "回声：三"
