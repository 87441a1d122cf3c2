"""Admin commands in chat (#计划 #状态 #暂停 #恢复 #帮助): only admins, answered once where they were asked."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.admin import AdminCommands
from bot.channels.base import InboundMessage
from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.pipeline import Pipeline, RetryPolicy
from bot.store.sql import SqlStore
from tests.helpers import no_sleep
from tests.outsider import shuanghe_sources

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 5, 18, 15, 0, tzinfo=TOWN_ZONE)


@pytest.fixture
def channel() -> MemoryChannel:
    return MemoryChannel()


@pytest.fixture
def pipeline(loaded: LoadedCampaign, store: SqlStore, channel: MemoryChannel) -> Pipeline:
    return Pipeline(lambda: loaded, store, channel, VirtualClock(NOW), "test", RetryPolicy(3, 1.0), no_sleep)


@pytest.fixture
def admin(loaded: LoadedCampaign, pipeline: Pipeline) -> AdminCommands:
    return AdminCommands(lambda: loaded, pipeline)


def said(
    text: str, *, wechat: str = "jinxi-ranxy", group: str | None = "jinxi-office", mid: str = "m1"
) -> InboundMessage:
    return InboundMessage(
        message_id=mid,
        sender=f"wxid-{wechat}",
        sender_name="冉晓燕" if wechat == "jinxi-ranxy" else "某村民",
        text=text,
        received_at=NOW,
        group=group,
        room_id="office@chatroom" if group else None,
        sender_wechat=wechat,
    )


def handle(admin: AdminCommands, message: InboundMessage) -> bool:
    return asyncio.run(admin.handle(message))


def test_pause_and_resume_hold_the_pipeline(admin: AdminCommands, pipeline: Pipeline, channel: MemoryChannel) -> None:
    assert handle(admin, said("#暂停"))
    assert pipeline.held
    assert handle(admin, said("＃恢复", mid="m2"))
    assert not pipeline.held
    [paused, resumed] = channel.sent
    assert paused.target.id == resumed.target.id == "jinxi-office"
    assert "已暂停" in paused.text and "冉晓燕" in paused.text
    assert "已恢复" in resumed.text


def test_a_command_delivered_twice_is_answered_and_acted_on_once(
    admin: AdminCommands, pipeline: Pipeline, channel: MemoryChannel
) -> None:
    assert handle(admin, said("#暂停"))
    pipeline.resume()  # someone resumed meanwhile: the duplicate must not pause again
    assert handle(admin, said("#暂停"))
    assert not pipeline.held
    assert len(channel.sent) == 1


def test_only_admins(admin: AdminCommands, pipeline: Pipeline, channel: MemoryChannel) -> None:
    assert handle(admin, said("#暂停", wechat="someone-else"))
    assert not pipeline.held
    assert "只有镇里的管理员可以用" in channel.sent[0].text


def test_matched_by_contact_id_too(loaded: LoadedCampaign, admin: AdminCommands, pipeline: Pipeline) -> None:
    message = said("#暂停", wechat="")
    message = InboundMessage(**{**message.__dict__, "sender": "jinxi-ranxy"})
    assert handle(admin, message)
    assert pipeline.held


def test_plan_lists_upcoming_jobs(admin: AdminCommands, channel: MemoryChannel) -> None:
    assert handle(admin, said("@大喇叭\u2005#计划"))
    text = channel.sent[0].text
    assert text.startswith("接下来要发的 5 项")
    assert "5月19日（周日）上午10点 5月活动提醒" in text


def test_plan_uses_the_scheduler_when_it_is_there(
    loaded: LoadedCampaign, pipeline: Pipeline, channel: MemoryChannel
) -> None:
    queued = [("2024-05/chase", datetime(2024, 5, 24, 10, tzinfo=TOWN_ZONE))]
    admin = AdminCommands(lambda: loaded, pipeline, pending=lambda: queued)
    assert handle(admin, said("#计划"))
    assert (
        channel.sent[0].text
        == "接下来要发的 1 项：\n· 5月24日（周五）上午10点 5月催交材料：全国城市生活垃圾分类宣传周（16 个群或人）"
    )


def test_status_reports_health_and_last_delivery(
    loaded: LoadedCampaign, admin: AdminCommands, pipeline: Pipeline, channel: MemoryChannel
) -> None:
    asyncio.run(pipeline.run_job(loaded.plan.by_key()["2024-05/announce"]))
    pipeline.hold()
    assert handle(admin, said("#状态", group=None))
    reply = channel.sent[-1]
    assert reply.target.kind == "person" and reply.target.wechat == "jinxi-ranxy"  # asked privately: answered so
    assert "发送：已暂停" in reply.text
    assert "内存渠道：正常" in reply.text
    assert "已发计划消息 7 条，发到 7 个群、0 个人" in reply.text
    assert "最近一条：" in reply.text and "5月活动通知" in reply.text
    assert "/" not in reply.text and "datetime" not in reply.text  # no job keys, no reprs
    assert "下一项：5月19日（周日）上午10点" in reply.text


def test_help_and_what_is_not_ours(admin: AdminCommands, channel: MemoryChannel) -> None:
    assert handle(admin, said("#帮助"))
    for command in ("#计划", "#状态", "#暂停", "#恢复", "#帮助", "#批准", "#拒绝", "#驳回", "#改派", "#绑定"):
        assert command in channel.sent[0].text, command
    assert not handle(admin, said("#驳回 3 照片不清楚", mid="m2"))  # the ledger's command: for a later handler
    assert not handle(admin, said("今天开会吗", mid="m3"))
    unknown_room = InboundMessage(**{**said("#状态", mid="m4").__dict__, "group": None})  # a room not in the files
    assert not handle(admin, unknown_room)
    assert len(channel.sent) == 1


def test_help_lists_every_command_the_bot_understands() -> None:
    from bot import admin as chat_admin
    from bot.proof import admin as ledger_admin

    verbs = set()
    for pattern in (chat_admin.COMMAND.pattern, ledger_admin.COMMAND.pattern):
        verbs |= set(re.search(r"\(([^()]*\|[^()]*)\)", pattern)[1].split("|"))  # type: ignore[index]
    verbs -= {"同意"}  # another word for 批准
    help_text = (ROOT / "messages" / "admin_help.j2").read_text(encoding="utf-8")
    assert all(f"#{v}" in help_text for v in verbs | {"绑定"}), verbs


def test_twenty_help_from_a_villager_get_one_refusal_an_hour(
    admin: AdminCommands, pipeline: Pipeline, channel: MemoryChannel
) -> None:
    """The issue's flood: 20 `#帮助` from a villager made 20 replies in the group. Now one an hour."""
    clock = pipeline.clock
    assert isinstance(clock, VirtualClock)
    for i in range(20):
        assert handle(admin, said("#帮助", wechat="cunmin", mid=f"h{i}"))
    assert channel.texts_to("jinxi-office") == ["某村民，#帮助 只有镇里的管理员可以用。"]
    clock.set(NOW + timedelta(minutes=61))
    assert handle(admin, said("#状态", wechat="cunmin", mid="later"))
    assert len(channel.texts_to("jinxi-office")) == 2
    assert handle(admin, said("#帮助", mid="admin"))  # the admin is never limited
    assert len(channel.texts_to("jinxi-office")) == 3


def test_another_towns_help_and_status_speak_of_its_own_units_and_groups(
    jinxi: Sources, tmp_path: Path, store: SqlStore
) -> None:
    """Issue 10 M7: in 双河镇, #帮助's examples name 双河镇's first village, and #状态 names groups, not their ids."""
    from bot.health import HealthLine

    loaded = load(shuanghe_sources(tmp_path, jinxi.messages))

    class WithRobot(MemoryChannel):  # a memory channel that also reports a robot group, as the robots channel does
        async def health(self) -> list[HealthLine]:
            return [*await super().health(), HealthLine("企业微信群机器人 huayuan-villagers", True, "正常")]

    channel = WithRobot()
    pipeline = Pipeline(lambda: loaded, store, channel, VirtualClock(NOW), "test", RetryPolicy(3, 1.0), no_sleep)
    admin = AdminCommands(lambda: loaded, pipeline)
    office = loaded.campaign.office_group
    ask = {"wechat": loaded.campaign.admins[0].wechat, "group": office}
    assert handle(admin, said("#帮助", **ask)) and handle(admin, said("#状态", mid="m2", **ask))
    help_text, status = (m.text for m in channel.sent)
    assert "#绑定 石桥村" in help_text and "#改派 12 石桥村" in help_text
    assert "长春" not in help_text
    assert "huayuan-villagers" not in status and "花园村" in status, status
