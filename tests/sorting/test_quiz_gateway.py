"""Done when, through the loopback gateway: a quiz week runs end to end (the question, 30 answers from 3 villages,
the answer post, the counts in the month's summary) exactly once across restarts of the bot. The quiz is on by
default on a WeChat gateway: the town's files are used as shipped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import App, build, listen
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.clock import VirtualClock
from bot.config.campaign import Sources, load
from bot.settings import Settings
from bot.store.quiz import QuizStore
from tests.channels.wechaty.conftest import WAIT

QUIZ = "quiz/2024-W19"
VILLAGES = ("changchun-villagers", "shanling-villagers", "wangling-villagers")


def _app(jinxi: Sources, tmp_path: Path, puppet: LoopbackPuppet, monkeypatch: pytest.MonkeyPatch) -> App:
    for name, value in puppet.env().items():
        monkeypatch.setenv(name, value)
    settings = Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "wechaty", tts_engine="none")
    asked = load(Sources.from_settings(jinxi.schedules, jinxi.messages, settings)).plan.by_key()[QUIZ].at
    probe = build(jinxi, settings, VirtualClock(asked), echo=None)
    assert isinstance(probe.channel, WechatyChannel)
    probe.channel.link.backoff_seconds = (0.02, 0.2)
    return probe


async def _run(app: App, key: str) -> None:
    job = app.loaded.plan.by_key()[key]
    assert isinstance(app.clock, VirtualClock)
    app.clock.set(job.at)
    await app.pipeline.run_job(job)


def _said(puppet: LoopbackPuppet, room: str, needle: str) -> list[str]:
    return [m.text for m in puppet.sent_by_bot() if m.room_id == room and needle in m.text]


async def _question_and_30_answers(app: App, puppet: LoopbackPuppet, rooms: dict[str, str]) -> None:
    """The question goes out; in each of 3 villages 7 answer right (typed every way) and 3 wrong, then everyone
    changes their mind, which doesn't count."""
    question = app.loaded.renderer.quizzes[QUIZ]
    right = question["answer"]
    wrong = next(c["letter"] for c in question["choices"] if c["letter"] != right)
    store = app.store
    await _run(app, QUIZ)
    for group in VILLAGES:
        [asked] = _said(puppet, rooms[group], "每周一题】")
        assert f"{question['item']}属于哪一类垃圾" in asked
    ways = [right, right.lower(), f"选{right}", chr(ord(right) + 0xFEE0), f"答案{right}"]
    for group in VILLAGES:
        villagers = [m for m in puppet.rooms[rooms[group]].member_ids if "村民" in puppet.contacts[m].name]
        assert len(villagers) == 10
        for i, person in enumerate(villagers):
            puppet.post_text(person, ways[i % 5] if i < 7 else wrong, room_id=rooms[group])
        for person in villagers:
            puppet.post_text(person, wrong, room_id=rooms[group])
    # Replies are handled in order: once the bot answers a later question, all 60 have been heard.
    last = rooms[VILLAGES[-1]]
    asker = next(m for m in puppet.rooms[last].member_ids if "村民" in puppet.contacts[m].name)
    puppet.post_text(asker, "西瓜皮是什么垃圾", room_id=last)
    await puppet.wait_until(lambda: bool(_said(puppet, last, "西瓜皮")), WAIT)
    assert QuizStore(store).tally(QUIZ).answered == 30


def test_a_quiz_week_end_to_end_exactly_once_across_restarts(
    jinxi: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            app = _app(jinxi, tmp_path, puppet, monkeypatch)
            rooms = puppet.add_town(app.loaded.campaign, villagers=10)
            right = app.loaded.renderer.quizzes[QUIZ]["answer"]
            await app.channel.start()
            listener = asyncio.create_task(listen(app))
            try:
                await _question_and_30_answers(app, puppet, rooms)
            finally:
                await app.channel.close()
                await asyncio.wait_for(listener, WAIT)
                app.close()

            # Restart: the question job runs again (as after a crash) and sends nothing; the answer goes out once.
            app = _app(jinxi, tmp_path, puppet, monkeypatch)
            await app.channel.start()
            try:
                before = len(puppet.sent_by_bot())
                await _run(app, QUIZ)
                assert len(puppet.sent_by_bot()) == before
                await _run(app, f"{QUIZ}/answer")
                for group in VILLAGES:
                    [posted] = _said(puppet, rooms[group], "每周一题·答案】")
                    assert f"正确答案是 {right}" in posted and "全镇共有30人回答，21人答对。" in posted
            finally:
                await app.channel.close()
                app.close()

            # Another restart: the answer is not posted again; the month's summary carries each village's counts.
            app = _app(jinxi, tmp_path, puppet, monkeypatch)
            await app.channel.start()
            try:
                await _run(app, f"{QUIZ}/answer")
                for group in VILLAGES:
                    assert len(_said(puppet, rooms[group], "每周一题·答案】")) == 1
                await _run(app, "2024-05/summary")
                [summary] = _said(puppet, rooms["jinxi-office"], "每周一题（本月")
                for group, name in zip(VILLAGES, ("长春村", "杉岭村", "望岭村"), strict=True):
                    # 参与率 over the group's size as the gateway gave it when the quiz ran (the bot not counted).
                    members = len([m for m in puppet.rooms[rooms[group]].member_ids if m != puppet.self_id])
                    rate = round(100 * 10 / members)
                    assert (
                        f"· {name}：参与率 {rate}%（10/{members}人），回答 10 人次，答对 7 人次，知晓率 70%" in summary
                    )
            finally:
                await app.channel.close()
                app.close()

    asyncio.run(main())
