"""The wiring `build` does: the handlers the daemon asks for more than messages are the router's own, the admins'
`#计划` reads the scheduler's queue once the daemon binds it, and a channel's alerts reach the admins through the
pipeline, also through the outbox and the log while the channel can't deliver them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import AlertSink, App, build, channel_alert_sink
from bot.channels.base import InboundMessage
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources
from bot.core.alert_kinds import WECHAT_LOGOUT, WECHAT_THROTTLED, Alert
from bot.settings import Settings
from tests.helpers import no_sleep

NOW = datetime(2024, 5, 6, 10, 0, tzinfo=TOWN_ZONE)
ADMINS = ["admin-ran", "admin-tan"]


@pytest.fixture
def app(jinxi: Sources, tmp_path: Path) -> Iterator[App]:
    settings = Settings(tmp_path, f"sqlite:///{tmp_path / 'laba.db'}", "outbox", tmp_path / "audio", tts_engine="none")
    built = build(jinxi, settings, VirtualClock(NOW), channel=MemoryChannel(), echo=None, sleep=no_sleep)
    yield built
    built.close()


def _tell(sink: AlertSink, alert: Alert, can_deliver: bool) -> None:
    async def tell() -> None:
        await sink(alert, can_deliver)

    asyncio.run(tell())


def _sent(app: App) -> MemoryChannel:
    assert isinstance(app.channel, MemoryChannel)
    return app.channel


def test_the_handlers_the_daemon_asks_are_the_routers_own(app: App) -> None:
    handlers = app.router.handlers
    for part in (app.handlers.proof_admin, app.handlers.intake, app.handlers.sorting):
        assert sum(h is part for h in handlers) == 1
    assert handlers.index(app.handlers.proof_admin) < handlers.index(app.handlers.intake)
    assert handlers[-1] is app.handlers.sorting


def test_plan_command_reads_the_scheduler_queue_once_bound(app: App) -> None:
    def ask(mid: str) -> str:
        message = InboundMessage(
            message_id=mid,
            sender="wxid-jinxi-ranxy",
            sender_name="冉晓燕",
            text="#计划",
            received_at=NOW,
            group="jinxi-office",
            room_id="office@chatroom",
            sender_wechat="jinxi-ranxy",
        )
        assert asyncio.run(app.router.dispatch(message))
        return _sent(app).sent[-1].text

    assert ask("m1").startswith("接下来要发的 5 项")  # no scheduler yet: the plan's jobs after the clock
    app.upcoming.bind(lambda: [("2024-05/chase", datetime(2024, 5, 24, 10, tzinfo=TOWN_ZONE))])
    assert ask("m2").startswith("接下来要发的 1 项")
    assert "5月催交材料" in _sent(app).sent[-1].text


def test_a_channel_that_cannot_deliver_also_writes_its_alert_to_the_fallback(app: App) -> None:
    fallback = MemoryChannel()
    sink = channel_alert_sink(app.holder.get, lambda: app.pipeline, fallback)
    logout = WECHAT_LOGOUT("alert/wechat/logout/x", account="大喇叭", reason="已在其他设备登录")

    _tell(sink, logout, False)

    assert sorted(m.target.id for m in fallback.sent) == ADMINS
    assert "已在其他设备登录" in fallback.sent[0].text
    assert sorted(m.target.id for m in _sent(app).sent) == ADMINS  # and through the pipeline, as ever
    assert [m.text for m in _sent(app).sent] == [m.text for m in fallback.sent]


def test_a_deliverable_alert_goes_only_through_the_pipeline_unless_throttled(app: App) -> None:
    fallback = MemoryChannel()
    sink = channel_alert_sink(app.holder.get, lambda: app.pipeline, fallback)

    _tell(sink, WECHAT_LOGOUT("alert/a", account="大喇叭", reason="示例"), True)
    assert fallback.sent == []
    assert len(_sent(app).sent) == 2

    _tell(sink, WECHAT_THROTTLED("alert/b", notice="发送消息过于频繁", pause_minutes=10), True)
    assert sorted(m.target.id for m in fallback.sent) == ADMINS  # a throttled channel is told to hold back


def test_the_inbound_handlers_are_built_by_the_first_message_not_by_build(app: App) -> None:
    # An idle daemon doesn't build (nor import) the proof and sorting handlers; a message reaching them does.
    assert (app.handlers.proof.peek(), app.handlers.answers.peek()) == (None, None)
    message = InboundMessage("m-1", "wxid-cunmin", "村民", "今天天气好", NOW, room_id=None, sender_wechat="cunmin")
    asyncio.run(app.router.dispatch(message))
    assert app.handlers.proof.peek() is not None
    assert app.handlers.answers.peek() is app.handlers.sorting


def test_the_minute_round_with_nothing_waiting_builds_no_handler(app: App) -> None:
    # The daemon's round once a minute asks the database first: an idle daemon never imports the handlers for it.
    assert asyncio.run(app.handlers.answer_waiting()) == 0
    assert asyncio.run(app.handlers.expire_strangers(NOW)) == 0
    assert (app.handlers.proof.peek(), app.handlers.answers.peek()) == (None, None)
