"""Done when, through the loopback gateway (the Wechaty puppet service over real sockets, as in
tests/channels/wechaty): a villager's question gets one correct answer; 20 repeats get one; a question in quiet
hours waits for the morning."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import App, build, listen
from bot.channels.base import InboundMessage
from bot.channels.wechaty import LoopbackPuppet, WechatyChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources
from bot.settings import Settings
from bot.sorting.answers import SortingAnswers
from bot.store.sorting import QuestionStatus
from tests.channels.wechaty.conftest import WAIT

MORNING = datetime(2024, 5, 6, 9, tzinfo=TOWN_ZONE)


def _app(jinxi: Sources, tmp_path: Path, puppet: LoopbackPuppet, monkeypatch: pytest.MonkeyPatch) -> App:
    for name, value in puppet.env().items():
        monkeypatch.setenv(name, value)
    settings = Settings(tmp_path / "data", f"sqlite:///{tmp_path / 'laba.db'}", "wechaty", tts_engine="none")
    app = build(jinxi, settings, VirtualClock(MORNING), echo=None)
    assert isinstance(app.channel, WechatyChannel)
    app.channel.link.backoff_seconds = (0.02, 0.2)
    return app


def test_questions_through_the_gateway(jinxi: Sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        async with LoopbackPuppet() as puppet:
            app = _app(jinxi, tmp_path, puppet, monkeypatch)
            rooms = puppet.add_town(app.loaded.campaign)
            room = rooms["changchun-villagers"]
            villager = next(c.id for c in puppet.contacts.values() if c.name == "长春村村民1")
            neighbour = next(c.id for c in puppet.contacts.values() if c.name == "长春村村民2")
            answers = next(h for h in app.router.handlers if isinstance(h, SortingAnswers))
            clock = app.clock
            assert isinstance(clock, VirtualClock)

            def replies(needle: str) -> list[str]:
                return [m.text for m in puppet.sent_by_bot() if m.room_id == room and needle in m.text]

            night_question_heard = asyncio.Event()  # the handler is done with it (it sends nothing to wait for)
            handle = answers.handle

            async def observed(message: InboundMessage) -> bool:
                taken = await handle(message)
                if message.text == "过期药品怎么扔":
                    night_question_heard.set()
                return taken

            answers.handle = observed  # type: ignore[method-assign]
            await app.channel.start()
            listener = asyncio.create_task(listen(app))
            try:
                # One question, one correct answer, in the villagers' room.
                puppet.post_text(villager, "请问易拉罐是什么垃圾？", room_id=room)
                await puppet.wait_until(lambda: bool(replies("易拉罐")), WAIT)
                [answer] = replies("易拉罐")
                assert answer.splitlines()[1].startswith("易拉罐是【可回收物】。倒空洗净、压扁")

                # Twenty repeats (and a neighbour's question after them, to know they were all heard): one answer.
                for _ in range(20):
                    puppet.post_text(villager, "易拉罐是什么垃圾", room_id=room)
                puppet.post_text(neighbour, "@大喇叭\u2005西瓜皮", room_id=room, mention_ids=(puppet.self_id,))
                await puppet.wait_until(lambda: bool(replies("西瓜皮")), WAIT)
                assert len(replies("易拉罐")) == 1
                assert "西瓜皮是【厨余垃圾】" in replies("西瓜皮")[0]

                # 22:30: the question is heard and kept, not answered until the quiet hours end.
                clock.set(datetime(2024, 5, 6, 22, 30, tzinfo=TOWN_ZONE))
                puppet.post_text(villager, "过期药品怎么扔", room_id=room)
                await asyncio.wait_for(night_question_heard.wait(), WAIT)
                assert [q.asked for q in answers.questions.waiting()] == ["过期药品"]
                assert replies("过期药品") == []
                clock.set(datetime(2024, 5, 7, 8, 0, tzinfo=TOWN_ZONE))
                assert await answers.answer_waiting() == 1  # what the daemon's minute tick does
                await puppet.wait_until(lambda: bool(replies("过期药品")), WAIT)
                assert await answers.answer_waiting() == 0
                [late] = replies("过期药品")
                assert "过期药品是【有害垃圾】" in late
                statuses = {q.status for q in answers.questions.of_message(_last_text_id(puppet, "过期药品怎么扔"))}
                assert statuses == {QuestionStatus.ANSWERED}
                assert len(puppet.sent_by_bot()) == 3
            finally:
                await app.channel.close()
                await asyncio.wait_for(listener, WAIT)
                app.close()

    asyncio.run(main())


def _last_text_id(puppet: LoopbackPuppet, text: str) -> str:
    return next(m.id for m in reversed(puppet.messages.values()) if m.text == text)
