"""`#绑定 <单位>`: a person asks to speak for a unit; the request is recorded and told to the admins, who approve it
with `#批准` (see `bot.proof.admin`). Repeated and excessive requests are answered, not recorded (`bind_caps`)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Final

from bot.channels.base import InboundMessage
from bot.channels.pacing import SendPriority
from bot.config.campaign import LoadedCampaign
from bot.core.model import Campaign, Unit
from bot.core.planner import person_target
from bot.pipeline import Pipeline
from bot.proof.bind_caps import BindCaps, BindVerdict, judge_request
from bot.store.evidence import EvidenceStore

log = logging.getLogger(__name__)

BIND = re.compile(r"^\s*[#＃]\s*绑定\s*(.*)$")
BIND_REFUSALS: Final = {
    BindVerdict.ALREADY_PENDING: "{name}，您申请绑定到{unit}的请求已经收到，正在等镇里管理员确认，不用再发。",
    BindVerdict.PERSON_CAP: "{name}，您今天申请绑定的次数太多了，请明天再试，或直接联系镇里管理员。",
    BindVerdict.UNIT_CAP: "{name}，{unit}已有多个绑定申请在等管理员确认，请先联系镇里管理员。",
}

Reply = Callable[[list[str]], Awaitable[None]]


def find_unit(campaign: Campaign, words: str) -> Unit | None:
    """A unit by id or name as a person types it: 长春村, 长春, changchun. None if unknown or ambiguous."""
    w = words.strip()
    if not w:
        return None
    for u in campaign.units:
        if w in (u.id, u.name):
            return u
    near = [u for u in campaign.units if u.name.startswith(w) or w.startswith(u.name)]
    return near[0] if len(near) == 1 else None


class BindRequests:
    def __init__(
        self,
        current: Callable[[], LoadedCampaign],
        pipeline: Pipeline,
        evidence: EvidenceStore,
        caps: BindCaps,
        unit_of: Callable[[InboundMessage], Unit | None],
    ) -> None:
        self._current = current
        self._pipeline = pipeline
        self.evidence = evidence
        self.caps = caps
        self._unit_of = unit_of

    async def request(self, message: InboundMessage, words: str, reply: Reply) -> None:
        """Answer `#绑定 <words>` through `reply`; a new request is recorded and sent to every admin."""
        campaign = self._current().campaign
        unit = find_unit(campaign, words)
        if unit is None:
            example = campaign.units[0].name
            await reply([f"没有找到单位“{words.strip()}”。请写全称，例如：#绑定 {example}"])
            return
        current = self._unit_of(message)
        if current is not None and current.id == unit.id:
            await reply([f"{message.sender_name}，您已经是{unit.name}的联系人，直接发照片就行。"])
            return
        recorded = await asyncio.to_thread(self.evidence.bindings)
        verdict = judge_request(
            recorded,
            sender=message.sender,
            sender_wechat=message.sender_wechat,
            unit_id=unit.id,
            message_id=message.message_id,
            at=message.received_at,
            caps=self.caps,
        )
        if verdict is not BindVerdict.NEW:
            log.warning("#绑定 from %s for %s not recorded: %s", message.sender, unit.id, verdict.value)
            await reply([BIND_REFUSALS[verdict].format(name=message.sender_name, unit=unit.name)])
            return
        await self._record(campaign, message, unit, reply)

    async def _record(self, campaign: Campaign, message: InboundMessage, unit: Unit, reply: Reply) -> None:
        binding, fresh = self.evidence.request_binding(
            sender=message.sender,
            sender_wechat=message.sender_wechat,
            sender_name=message.sender_name,
            unit_id=unit.id,
            message_id=message.message_id,
            at=message.received_at,
        )
        await reply(
            [f"{message.sender_name}，已申请绑定到{unit.name}，等镇里管理员确认后，您发的照片会记到{unit.name}。"]
        )
        if fresh or binding.status.value == "pending":
            text = (
                f"【台账】{message.sender_name}（微信 {message.sender_wechat or message.sender}）申请绑定到{unit.name}"
                f"（申请编号 {binding.id}）。\n同意请回复：#批准 {binding.id}\n不同意请回复：#拒绝 {binding.id}"
            )
            for admin in campaign.admins:
                key = f"proof/bind/{binding.id}"
                await self._pipeline.send_now(person_target(admin), text, key, priority=SendPriority.ALERT)
