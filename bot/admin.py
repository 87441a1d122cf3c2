"""The bot's own admin commands in chat: `#计划` `#状态` `#暂停` `#恢复` `#帮助`.

Only the town's admins (town.yaml `admins`, matched by WeChat id or contact id) may use them; anyone else gets a
polite no. Each command is answered once where it was sent — in a configured group, or privately — keyed by the
inbound message id through `Pipeline.send_now`, so a message delivered twice is neither answered nor acted on
twice. Commands this module doesn't know (`#驳回` …) pass to later handlers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime

from bot.channels.base import InboundMessage
from bot.channels.pacing import SendPriority
from bot.clock import TOWN_ZONE
from bot.config.campaign import LoadedCampaign
from bot.core.model import Campaign, Person
from bot.core.planner import PlannedJob, Target, group_target
from bot.core.render import cn_date, cn_time
from bot.pipeline import Pipeline, job_label
from bot.reply_limits import ReplyKind
from bot.store.base import DeliveryStatus

log = logging.getLogger(__name__)

COMMAND = re.compile(r"^\s*[#＃]\s*(计划|状态|暂停|恢复|帮助)\s*$")
# Every command the bot understands in chat, this module's and the ledger's (bot/proof/admin.py, intake.py).
HELP = (
    "大喇叭能听懂的命令：\n"
    "管理员用：\n"
    "#计划 —— 接下来要发的消息\n"
    "#状态 —— 是否暂停、微信是否连着、已经发了多少\n"
    "#暂停 —— 暂停发送计划消息（到时间的消息先等着，不算漏发）\n"
    "#恢复 —— 恢复发送\n"
    "#批准 编号 / #拒绝 编号 —— 处理绑定申请，例如 #批准 3\n"
    "#驳回 材料编号 原因 —— 驳回一份材料，例如 #驳回 12 照片不清楚\n"
    "#改派 材料编号 单位或活动 —— 改到别的单位或活动，例如 #改派 12 长春村 5月\n"
    "#帮助 —— 显示这段说明\n"
    "各单位用：\n"
    "#绑定 单位名称 —— 说明自己是哪个单位的（管理员批准后，发的照片记到该单位），例如 #绑定 长春村"
)
UPCOMING = 5


def _strip_mentions(text: str) -> str:
    # "@大喇叭 #状态": the command may follow an @ of the bot (name + U+2005 or a space).
    return re.sub(r"^(\s*@[^\s\u2005]+[\s\u2005]+)+", "", text)


def is_admin_command(campaign: Campaign, message: InboundMessage) -> bool:
    """A `#…` text from one of the town's admins: handled ahead of everything else (`ConversationQueues`)."""
    if message.kind != "text" or not _strip_mentions(message.text).lstrip().startswith(("#", "＃")):
        return False
    return any(a.wechat and a.wechat in (message.sender_wechat, message.sender) for a in campaign.admins)


class AdminCommands:
    """An `InboundHandler`. `pending`, when set (the daemon sets the scheduler's), lists upcoming jobs as
    (key, time); otherwise the plan's jobs after the pipeline's clock are used."""

    def __init__(
        self,
        current: Callable[[], LoadedCampaign],
        pipeline: Pipeline,
        pending: Callable[[], list[tuple[str, datetime]]] | None = None,
    ) -> None:
        self._current = current
        self._pipeline = pipeline
        self.pending = pending

    def admin_of(self, message: InboundMessage) -> Person | None:
        for admin in self._current().campaign.admins:
            if admin.wechat and admin.wechat in (message.sender_wechat, message.sender):
                return admin
        return None

    def reply_target(self, message: InboundMessage) -> Target | None:
        if message.group is not None:
            try:
                group, unit = self._current().campaign.group(message.group)
            except KeyError:
                return None
            return group_target(group, unit)
        if message.room_id is not None:
            return None  # a room the town's files don't know: not ours to answer in
        return Target(message.sender, message.sender_name, "person", wechat=message.sender_wechat or message.sender)

    async def handle(self, message: InboundMessage) -> bool:
        if message.kind != "text":
            return False
        m = COMMAND.match(_strip_mentions(message.text))
        if m is None:
            return False
        target = self.reply_target(message)
        if target is None:
            return False
        key = f"admin/{message.message_id}"
        if self._pipeline.store.get(key, target.id) is not None:
            return True  # the same message delivered again: answered (and acted on) already
        admin = self.admin_of(message)
        if admin is None:
            log.info("%s（%s）不是管理员，用了 #%s", message.sender_name, message.sender_wechat, m.group(1))
            if self._pipeline.limits.allow(ReplyKind.REFUSAL, message.sender, target.id):
                text = f"{message.sender_name}，#{m.group(1)} 只有镇里的管理员可以用。"
                await self._pipeline.send_now(target, text, key, priority=SendPriority.REPLY)
            return True
        reply = await self.run(m.group(1), admin)
        await self._pipeline.send_now(target, reply, key, priority=SendPriority.ALERT)
        return True

    async def run(self, verb: str, admin: Person) -> str:
        if verb == "暂停":
            if self._pipeline.held:
                return "发送已经是暂停状态。发 #恢复 继续。"
            self._pipeline.hold()
            log.warning("%s 暂停了发送", admin.name)
            return f"已暂停发送计划消息（{admin.name}）。到时间的消息会等着，发 #恢复 后补发，不算漏发。"
        if verb == "恢复":
            if not self._pipeline.held:
                return "发送没有暂停，一切照常。"
            self._pipeline.resume()
            log.warning("%s 恢复了发送", admin.name)
            return f"已恢复发送（{admin.name}）。暂停期间到时间的消息现在补发。"
        if verb == "计划":
            return self._plan_text()
        if verb == "状态":
            return await self._status_text()
        return HELP

    def _upcoming(self) -> list[tuple[PlannedJob, datetime]]:
        loaded = self._current()
        by_key = loaded.plan.by_key()
        if self.pending is not None:
            rows = [(by_key[k], at) for k, at in self.pending() if k in by_key]
        else:
            now = self._pipeline.clock.now()
            rows = [(j, j.at) for j in loaded.plan.jobs if j.at > now]
        return rows[:UPCOMING]

    def _plan_text(self) -> str:
        rows = self._upcoming()
        if not rows:
            return "计划里没有待发的消息了。"
        lines = [f"接下来要发的 {len(rows)} 项："]
        for job, at in rows:
            lines.append(f"· {cn_date(at)}{cn_time(at)} {job_label(job)}（{len(job.targets)} 个群或人）")
        return "\n".join(lines)

    async def _status_text(self) -> str:
        """Groups and messages, in words: no gateway addresses or job keys; counts of planned messages only, so
        they agree with each other (replies and alerts are not in them)."""
        campaign, plan = self._current().campaign, self._current().plan
        lines = ["大喇叭状态："]
        lines.append("· 发送：已暂停（发 #恢复 继续）" if self._pipeline.held else "· 发送：正常")
        for line in await self._pipeline.channel.health():
            lines.append(f"· {line.part}：正常" if line.ok else f"· {line.part}：有问题——{line.detail}")
        by_key = plan.by_key()
        records = [r for r in self._pipeline.store.deliveries() if r.job_key in by_key]
        delivered = (DeliveryStatus.SENT, DeliveryStatus.RELAYED)
        sent = sorted((r for r in records if r.status in delivered), key=lambda r: r.updated_at)
        relayed = sum(1 for r in sent if r.status is DeliveryStatus.RELAYED)
        failed = [r for r in records if r.status in (DeliveryStatus.FAILED, DeliveryStatus.UNCONFIRMED)]
        if sent:
            groups = {r.target for r in sent if _is_group(campaign, r.target)}
            people = {r.target for r in sent} - groups
            lines.append(f"· 已发计划消息 {len(sent)} 条，发到 {len(groups)} 个群、{len(people)} 个人")
            last = sent[-1]
            at = last.updated_at.astimezone(TOWN_ZONE)
            lines.append(f"· 最近一条：{cn_date(at)}{cn_time(at)} {job_label(by_key[last.job_key])}")
            if relayed:
                lines.append(f"· 其中人工代发 {relayed} 条")
        else:
            lines.append("· 已发计划消息：还没有")
        if failed:
            lines.append(f"· 没发成或不确定发到没有：{len(failed)} 条（管理员已收到提醒）")
        upcoming = self._upcoming()
        if upcoming:
            job, at = upcoming[0]
            lines.append(f"· 下一项：{cn_date(at)}{cn_time(at)} {job_label(job)}")
        return "\n".join(lines)


def _is_group(campaign: Campaign, target_id: str) -> bool:
    try:
        campaign.group(target_id)
    except KeyError:
        return False
    return True
