"""One acknowledgement per burst: WeChat delivers a multi-photo post as one message per photo, and the bot answers
the burst once, after its quiet window, through `Pipeline.send_now` (exactly-once). No test waits on a clock: the
window is closed with `flush()`, set to 0, or awaited as an event."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build, run_daemon
from bot.channels.base import Handoff, InboundMessage, no_handoff
from bot.channels.memory import MemoryChannel
from bot.clock import ShiftedClock
from bot.config.campaign import Sources
from bot.core.planner import Target
from bot.proof.acks import numbers
from bot.proof.intake import IntakeSettings, ProofIntake
from bot.settings import Settings
from bot.store.base import DeliveryStatus
from tests.proof.conftest import Town, at, make_town, message, photo, png_bomb
from tests.proof.test_intake import LI, ZHANG, _overlapping

WAIT = 10.0  # seconds: a bound on waiting for the bot to act, never a sleep
APRIL = "长春村 4月“敲门行动”入户宣传"


def photos(
    first_seed: int, n: int, minute: int = 0, sender: str = LI, group: str = "changchun-work"
) -> list[InboundMessage]:
    """`n` messages of one photo each, as WeChat delivers an n-photo post (a few seconds apart)."""
    return [
        message(sender, at(4, 8, 10, minute) + timedelta(seconds=2 * i), photos=(photo(first_seed + i),), group=group)
        for i in range(n)
    ]


def acks(town: Town) -> list[str]:
    return [m.text for m in town.channel.sent if m.text.startswith("已收到")]


def test_numbers_are_listed_with_runs_as_ranges() -> None:
    assert numbers([3]) == "3"
    assert numbers([4, 3]) == "3、4"
    assert numbers([3, 4, 5, 6, 9, 11, 12]) == "3～6、9、11、12"


def test_a_burst_of_four_photos_gets_one_acknowledgement_with_the_running_count(town: Town) -> None:
    assert town.say(message(LI, at(4, 8, 9), photos=(photo(100),), group="changchun-work")) == [
        f"已收到 {APRIL} 照片 1 张（编号 1），累计 1 张，还差 2 张。"
    ]
    burst = photos(1, 4)
    assert town.burst(*burst) == [f"已收到 {APRIL} 照片 4 张（编号 2～5），累计 5 张。"]
    assert town.channel.sent[-1].target.id == "changchun-work"
    # Claimed and recorded under the burst's first message, like every exactly-once send.
    record = town.store.get(f"proof/ack/{burst[0].message_id}", "changchun-work")
    assert record is not None and record.status is DeliveryStatus.SENT
    assert town.intake.evidence.count("2024-04", "changchun") == 5


def test_two_bursts_separated_by_the_window_get_two_acknowledgements_with_running_totals(town: Town) -> None:
    assert town.burst(*photos(1, 3)) == [f"已收到 {APRIL} 照片 3 张（编号 1～3），累计 3 张。"]
    assert town.burst(*photos(10, 2, minute=5)) == [f"已收到 {APRIL} 照片 2 张（编号 4、5），累计 5 张。"]


def test_refused_and_duplicate_items_inside_a_burst_are_each_reported(town: Town) -> None:
    same = photo(1)
    burst = [
        message(LI, at(4, 8), photos=(same,), group="changchun-work"),
        message(LI, at(4, 8), photos=(b"%PDF-1.7 signatures",), group="changchun-work"),
        message(LI, at(4, 8), photos=(same,), group="changchun-work"),
        message(LI, at(4, 8), photos=(png_bomb(),), group="changchun-work"),
        message(LI, at(4, 8), photos=(photo(2),), group="changchun-work"),
    ]
    [reply] = town.burst(*burst)
    lines = reply.splitlines()
    assert lines[:3] == [
        f"已收到 {APRIL} 照片 3 张（编号 1、3、5），累计 2 张，还差 1 张。",
        "编号 3 和编号 1 是同一张照片，不重复计数。",
        "第 2 个文件没有收下：不是能打开的图片。",
    ]
    assert lines[3].startswith("第 4 个文件没有收下：图片像素太多") and lines[3].endswith("请发照片（jpg、png）。")
    assert len(lines) == 4
    refused = [i for i in town.intake.evidence.items() if i.status.value == "refused"]
    assert [i.id for i in refused] == [2, 4]


def test_a_redelivered_message_gets_no_second_acknowledgement(town: Town) -> None:
    burst = photos(1, 2)
    assert len(town.burst(*burst)) == 1
    # Delivered again, alone or with the burst: nothing new is filed, nothing is said.
    assert town.say(burst[1]) == []
    assert town.burst(*burst) == []
    # Delivered again next to a new photo: only the new one is acknowledged.
    new = photos(50, 1, minute=9)
    assert town.burst(burst[0], *new) == [f"已收到 {APRIL} 照片 1 张（编号 3），累计 3 张。"]
    # Delivered twice inside one window: counted once.
    again = photos(60, 2, minute=20)
    assert town.burst(again[0], again[1], again[0]) == [f"已收到 {APRIL} 照片 2 张（编号 4、5），累计 5 张。"]
    assert len(town.intake.evidence.items()) == 5


def test_after_a_restart_redelivered_messages_are_not_acknowledged_again(jinxi: Sources, tmp_path: Path) -> None:
    burst = photos(1, 3)
    for town in make_town(jinxi, tmp_path):
        assert len(town.burst(*burst)) == 1
    for town in make_town(jinxi, tmp_path):  # the same database and evidence folder: a restarted daemon
        assert town.burst(*burst) == []
        assert town.burst(*photos(10, 1, minute=5)) == [f"已收到 {APRIL} 照片 1 张（编号 4），累计 4 张。"]


def test_bursts_are_per_sender_room_and_unit(town: Town) -> None:
    mixed = [*photos(1, 2), *photos(10, 2, sender=ZHANG, group="shanling-work"), *photos(20, 1, minute=1)]
    replies = town.burst(*mixed)
    assert sorted(replies) == sorted(
        [
            f"已收到 {APRIL} 照片 3 张（编号 1、2、5），累计 3 张。",
            "已收到 杉岭村 4月“敲门行动”入户宣传 照片 2 张（编号 3、4），累计 2 张，还差 1 张。",
        ]
    )
    # Privately, the same sender's photos are another burst, answered in the private chat.
    [private] = town.burst(message(LI, at(4, 8, 11), photos=(photo(30),)))
    assert private == f"已收到 {APRIL} 照片 1 张（编号 6），累计 4 张。"
    assert town.channel.sent[-1].target.kind == "person"


def test_what_the_sender_says_next_is_answered_after_their_photos(town: Town) -> None:
    note = message(LI, at(4, 8, 10, 1), text="4月敲门行动入户42户，签字表见照片", group="changchun-work")
    replies = town.burst(*photos(1, 2), note)
    assert replies == [
        f"已收到 {APRIL} 照片 2 张（编号 1、2），累计 2 张，还差 1 张。",
        "已收到 长春村 4月“敲门行动”入户宣传 文字说明（编号 3）。",
    ]


def test_photos_filed_by_an_answer_inside_the_window_are_not_asked_about(jinxi: Sources, tmp_path: Path) -> None:
    for town in make_town(_overlapping(jinxi), tmp_path):
        pending = [message(ZHANG, at(5, 8, 9), photos=(photo(i),), group="shanling-work") for i in (1, 2)]
        answer = message(ZHANG, at(5, 8, 9, 1), text="4月的", group="shanling-work")
        assert town.burst(*pending, answer) == [
            "已收到 杉岭村 4月“敲门行动”入户宣传 照片 2 张（编号 1、2），累计 2 张，还差 1 张。"
        ]


async def _dispatch_each(town: Town, messages: list[InboundMessage]) -> None:
    for m in messages:
        await town.router.dispatch(m)
        assert town.intake.waiting == 0


def test_a_zero_window_answers_every_message_at_once(jinxi: Sources, tmp_path: Path) -> None:
    for town in make_town(jinxi, tmp_path, IntakeSettings(ack_window=timedelta(0))):
        asyncio.run(_dispatch_each(town, photos(1, 2)))
        assert acks(town) == [
            f"已收到 {APRIL} 照片 1 张（编号 1），累计 1 张，还差 2 张。",
            f"已收到 {APRIL} 照片 1 张（编号 2），累计 2 张，还差 1 张。",
        ]


async def _let_the_window_close(town: Town, messages: list[InboundMessage], monkeypatch: pytest.MonkeyPatch) -> None:
    sent = asyncio.Event()
    send_text = town.channel.send_text

    async def send_and_note(target: Target, text: str, *, handoff: Handoff = no_handoff) -> str:
        try:
            return await send_text(target, text, handoff=handoff)
        finally:
            sent.set()

    monkeypatch.setattr(town.channel, "send_text", send_and_note)
    for m in messages:  # back to back: the loop never runs in between, as in a quick burst
        await town.router.dispatch(m)
    assert town.intake.waiting == 1 and town.channel.sent == []
    await asyncio.wait_for(sent.wait(), WAIT)  # the timer fires; nobody flushed
    await town.intake.flush()  # waits for the acknowledgement on its way, if still sending


def test_the_window_closing_on_its_own_sends_the_acknowledgement(
    jinxi: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for town in make_town(jinxi, tmp_path, IntakeSettings(ack_window=timedelta(milliseconds=50))):
        asyncio.run(_let_the_window_close(town, photos(1, 3), monkeypatch))
        assert acks(town) == [f"已收到 {APRIL} 照片 3 张（编号 1～3），累计 3 张。"]
        assert town.intake.waiting == 0


def test_the_daemon_sends_waiting_acknowledgements_when_it_stops(jinxi: Sources, tmp_path: Path) -> None:
    channel = MemoryChannel()
    settings = Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "outbox", tmp_path / "audio", "none")
    clock = ShiftedClock(at(4, 8, 10))
    app = build(jinxi, settings, clock, channel=channel, echo=None)
    intake = next(h for h in app.router.handlers if isinstance(h, ProofIntake))
    intake.settings = replace(intake.settings, ack_window=timedelta(hours=1))  # it would never close on its own

    async def main() -> None:
        handled = asyncio.Event()
        dispatch = app.router.dispatch
        burst = photos(1, 2)

        async def dispatch_and_note(message: InboundMessage) -> bool:
            try:
                return await dispatch(message)
            finally:
                if message.message_id == burst[-1].message_id:
                    handled.set()

        app.router.dispatch = dispatch_and_note  # type: ignore[method-assign]
        stop = asyncio.Event()
        daemon = asyncio.create_task(run_daemon(app, clock, stop, reload_seconds=3600))
        try:
            for m in burst:
                channel.receive(m)
            await asyncio.wait_for(handled.wait(), WAIT)
            assert intake.waiting == 1
            assert not [t for t in channel.texts_to("changchun-work") if t.startswith("已收到")]
        finally:
            stop.set()
            await asyncio.wait_for(daemon, WAIT)
        # Sent before the channel closed; anything arriving during shutdown is answered at once.
        assert [t for t in channel.texts_to("changchun-work") if t.startswith("已收到")] == [
            f"已收到 {APRIL} 照片 2 张（编号 1、2），累计 2 张，还差 1 张。"
        ]
        assert intake.waiting == 0

    try:
        asyncio.run(main())
    finally:
        app.close()
