"""Villagers' questions in their groups, through the app as `bot.app.build` wires it (real SQLite store, real
pipeline, the in-memory channel): one answer per question, one per person per item per hour, quiet hours kept,
unknown items said honestly and recorded, nothing answered twice across a redelivery or a restart."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import App, build
from bot.channels.base import InboundMessage
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources
from bot.settings import Settings
from bot.sorting.answers import SortingAnswers
from bot.store.sorting import QuestionStatus

_ids = itertools.count(1)
GROUP = "changchun-villagers"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=TOWN_ZONE)


def ask(
    text: str,
    when: datetime,
    *,
    sender: str = "wxid_wang",
    name: str = "王大爷",
    group: str | None = GROUP,
    message_id: str | None = None,
    mentions_bot: bool = False,
) -> InboundMessage:
    return InboundMessage(
        message_id=message_id or f"q{next(_ids)}",
        sender=sender,
        sender_name=name,
        text=text,
        received_at=when,
        group=group,
        room_id=f"room-{group}" if group else None,
        mentions_bot=mentions_bot,
    )


class Village:
    def __init__(self, sources: Sources, tmp_path: Path) -> None:
        self.clock = VirtualClock(at(6, 9))
        self.channel = MemoryChannel()
        settings = Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "outbox", tts_engine="none")
        self.app: App = build(sources, settings, self.clock, channel=self.channel, echo=None)

    @property
    def answers(self) -> SortingAnswers:
        return next(h for h in self.app.router.handlers if isinstance(h, SortingAnswers))

    def say(self, *messages: InboundMessage) -> list[str]:
        before = len(self.channel.sent)

        async def go() -> None:
            for m in messages:
                self.clock.set(m.received_at)
                await self.app.router.dispatch(m)

        asyncio.run(go())
        return [m.text for m in self.channel.sent[before:]]

    def at_end_of_quiet_hours(self, when: datetime) -> list[str]:
        before = len(self.channel.sent)
        self.clock.set(when)
        asyncio.run(self.answers.answer_waiting())
        return [m.text for m in self.channel.sent[before:]]


@pytest.fixture
def village(jinxi: Sources, tmp_path: Path) -> Iterator[Village]:
    v = Village(jinxi, tmp_path)
    yield v
    v.app.close()


def test_a_question_gets_one_short_answer_in_the_group(village: Village) -> None:
    [reply] = village.say(ask("请问鸡蛋壳是什么垃圾？", at(6, 9)))
    assert reply.splitlines() == [
        "王大爷：",
        "鸡蛋壳是【厨余垃圾】。沥干水分后倒进厨余垃圾桶，装它的塑料袋另投其他垃圾。",
    ]
    assert village.channel.sent[-1].target.id == GROUP


@pytest.mark.parametrize(
    "text",
    [
        "易拉罐属于哪类",
        "易拉罐怎么扔",
        "易拉罐扔哪个桶？",
        "一个易拉罐是啥垃圾",
        "@大喇叭 易拉罐",
        "@大喇叭\u2005易拉罐",
    ],
)
def test_the_ways_villagers_ask(village: Village, text: str) -> None:
    [reply] = village.say(ask(text, at(6, 9)))
    assert "【可回收物】" in reply and "易拉罐" in reply


def test_several_items_in_one_question_are_answered_together(village: Village) -> None:
    [reply] = village.say(ask("纽扣电池、干电池和烂菜叶分别是什么垃圾", at(6, 9)))
    lines = reply.splitlines()
    assert lines[1].startswith("纽扣电池是【有害垃圾】")
    assert (
        lines[2].startswith("干电池（普通干电池）是【其他垃圾】")
        and "注意：" in lines[2]
        and "【有害垃圾】" in lines[2]
    )
    assert lines[3].startswith("烂菜叶是【厨余垃圾】")
    assert len(lines) == 4


def test_an_unknown_item_is_answered_honestly_and_kept_for_the_office(village: Village) -> None:
    [reply] = village.say(ask("火龙果的包装网套和易拉罐是什么垃圾", at(6, 9)))
    assert "易拉罐是【可回收物】" in reply
    assert reply.splitlines()[-1] == "火龙果的包装网套：这个我还不确定，已经记下来请镇里帮忙确认，先别乱扔哦。"
    village.say(ask("火龙果包装网套是什么垃圾", at(6, 10), sender="wxid_li", name="李嬢嬢"))
    [unknown] = village.answers.questions.unknown()
    assert (unknown.asked, unknown.count, unknown.last_asked) == ("火龙果的包装网套", 2, at(6, 10))


def test_twenty_repeats_get_one_answer(village: Village) -> None:
    first = ask("塑料瓶是什么垃圾", at(6, 9))
    repeats = [ask("塑料瓶是什么垃圾", at(6, 9, 2 + i)) for i in range(19)]
    replies = village.say(first, *repeats)
    assert len(replies) == 1
    # Another villager asking the same is answered; the first one asking about something else too.
    assert len(village.say(ask("塑料瓶是什么垃圾", at(6, 9, 30), sender="wxid_li", name="李嬢嬢"))) == 1
    assert len(village.say(ask("报纸是什么垃圾", at(6, 9, 31)))) == 1
    # An hour after the answer, the same person may ask again.
    assert village.say(ask("塑料瓶是什么垃圾", at(6, 9, 59))) == []
    assert len(village.say(ask("塑料瓶是什么垃圾", at(6, 10, 1)))) == 1


def test_a_message_delivered_twenty_times_is_answered_once(village: Village) -> None:
    message = ask("塑料瓶是什么垃圾", at(6, 9), message_id="wx-123")
    assert len(village.say(*[message] * 20)) == 1
    assert [q.status for q in village.answers.questions.of_message("wx-123")] == [QuestionStatus.ANSWERED]


def test_after_a_restart_a_redelivered_question_is_not_answered_again(jinxi: Sources, tmp_path: Path) -> None:
    message = ask("塑料瓶是什么垃圾", at(6, 9), message_id="wx-9")
    first = Village(jinxi, tmp_path)
    assert len(first.say(message)) == 1
    first.app.close()
    second = Village(jinxi, tmp_path)
    assert second.say(message) == []
    second.app.close()


def test_a_question_in_quiet_hours_waits_for_the_morning(village: Village) -> None:
    assert village.say(ask("西瓜皮是什么垃圾", at(6, 22, 30))) == []
    assert village.say(ask("西瓜皮是什么垃圾", at(6, 22, 40))) == []  # asked again overnight: still one answer
    assert village.at_end_of_quiet_hours(at(7, 7, 59)) == []
    [reply] = village.at_end_of_quiet_hours(at(7, 8, 0))
    assert "西瓜皮是【厨余垃圾】" in reply
    assert village.at_end_of_quiet_hours(at(7, 8, 1)) == []


def test_last_nights_question_is_answered_before_this_mornings(village: Village) -> None:
    village.say(ask("西瓜皮是什么垃圾", at(6, 23)))
    replies = village.say(ask("报纸是什么垃圾", at(7, 8, 30), sender="wxid_li", name="李嬢嬢"))
    assert [r.splitlines()[0] for r in replies] == ["王大爷：", "李嬢嬢："]


def test_a_town_may_leave_quiet_hours_questions_unanswered(jinxi: Sources, tmp_path: Path) -> None:
    town = jinxi.schedules / "town.yaml"
    text = town.read_text(encoding="utf-8")
    assert "quiet_hours: defer" in text
    town.write_text(text.replace("quiet_hours: defer", "quiet_hours: drop"), encoding="utf-8")
    village = Village(jinxi, tmp_path)
    assert village.say(ask("西瓜皮是什么垃圾", at(6, 22, 30), message_id="late")) == []
    assert village.at_end_of_quiet_hours(at(7, 8)) == []
    assert [q.status for q in village.answers.questions.of_message("late")] == [QuestionStatus.DROPPED]
    village.app.close()


def test_other_groups_private_chats_and_small_talk_are_left_alone(village: Village) -> None:
    assert village.say(ask("今天几点开会？", at(6, 9))) == []
    assert village.say(ask("易拉罐是什么垃圾", at(6, 9), group="changchun-work")) == []
    assert village.say(ask("易拉罐是什么垃圾", at(6, 9), group=None)) == []
    assert village.say(ask("这个是什么垃圾", at(6, 9))) == []
    assert village.answers.questions.unknown() == []


def test_the_town_names_the_categories_its_own_way(jinxi: Sources, tmp_path: Path) -> None:
    (jinxi.schedules / "sorting.yaml").write_text(
        "categories: {kitchen: 可腐烂垃圾, other: 不可腐烂垃圾}\n"
        "groups:\n"
        "  - theme: 本地\n"
        "    category: 厨余垃圾\n"
        "    note: 倒进村里的堆肥池\n"
        "    items: [苕藤/红苕藤, 西瓜皮]\n",
        encoding="utf-8",
    )
    village = Village(jinxi, tmp_path)
    [reply] = village.say(ask("红苕藤和西瓜皮、烟头是什么垃圾", at(6, 9)))
    assert reply.splitlines()[1:] == [
        "红苕藤（苕藤）是【可腐烂垃圾】。倒进村里的堆肥池。",
        "西瓜皮是【可腐烂垃圾】。倒进村里的堆肥池。",
        "烟头是【不可腐烂垃圾】。倒掉残渣后投其他垃圾桶。",
    ]
    village.app.close()


def test_a_morning_answer_the_network_refused_is_tried_again(village: Village) -> None:
    village.say(ask("西瓜皮是什么垃圾", at(6, 23), message_id="night"))
    village.channel.refuse.add(GROUP)
    assert village.at_end_of_quiet_hours(at(7, 8)) == []
    assert [q.status for q in village.answers.questions.of_message("night")] == [QuestionStatus.WAITING]
    village.channel.refuse.clear()
    [reply] = village.at_end_of_quiet_hours(at(7, 8, 1))
    assert "西瓜皮是【厨余垃圾】" in reply
    assert village.at_end_of_quiet_hours(at(7, 8, 2)) == []


def test_the_daemons_minute_tick_answers_the_night_questions(village: Village) -> None:
    from bot.app import _after_quiet_hours

    village.say(ask("西瓜皮是什么垃圾", at(6, 23)))
    village.clock.set(at(7, 8, 0))
    stop = asyncio.Event()
    stop.set()  # one round, then stop (as at shutdown)
    asyncio.run(_after_quiet_hours(village.app, stop))
    assert "西瓜皮是【厨余垃圾】" in village.channel.sent[-1].text
    assert village.answers.questions.waiting() == []
