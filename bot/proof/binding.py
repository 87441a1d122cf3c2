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
# The answers to the person (`outcome` picks one) and the request to the admins, in `messages/`.
REPLY: Final = "bind_reply"
REQUEST: Final = "bind_request"

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
        caps: Callable[[], BindCaps],
        unit_of: Callable[[InboundMessage], Unit | None],
    ) -> None:
        self._current = current
        self._pipeline = pipeline
        self.evidence = evidence
        self._caps = caps  # read at each request: the intake's settings may be changed
        self._unit_of = unit_of

    async def request(self, message: InboundMessage, words: str, reply: Reply) -> None:
        """Answer `#绑定 <words>` through `reply`; a new request is recorded and sent to every admin."""
        loaded = self._current()
        campaign = loaded.campaign
        unit = find_unit(campaign, words)

        async def answer(outcome: str) -> None:
            variables = {"outcome": outcome, "name": message.sender_name, "unit": unit.name if unit else ""}
            variables |= {"words": words.strip(), "example": campaign.units[0].name}
            await reply([loaded.renderer.render_named(REPLY, variables)])

        if unit is None:
            await answer("unknown")
            return
        current = self._unit_of(message)
        if current is not None and current.id == unit.id:
            await answer("contact")
            return
        recorded = await asyncio.to_thread(self.evidence.bindings)
        verdict = judge_request(
            recorded,
            sender=message.sender,
            sender_wechat=message.sender_wechat,
            unit_id=unit.id,
            message_id=message.message_id,
            at=message.received_at,
            caps=self._caps(),
        )
        if verdict is not BindVerdict.NEW:
            log.warning("#绑定 from %s for %s not recorded: %s", message.sender, unit.id, verdict.value)
            await answer(verdict.value)
            return
        await self._record(loaded, message, unit, answer)

    async def _record(
        self, loaded: LoadedCampaign, message: InboundMessage, unit: Unit, answer: Callable[[str], Awaitable[None]]
    ) -> None:
        binding, fresh = self.evidence.binds.request(
            sender=message.sender,
            sender_wechat=message.sender_wechat,
            sender_name=message.sender_name,
            unit_id=unit.id,
            message_id=message.message_id,
            at=message.received_at,
        )
        await answer("requested")
        if fresh or binding.status.value == "pending":
            wechat = message.sender_wechat or message.sender
            variables = {"name": message.sender_name, "wechat": wechat, "unit": unit.name, "id": binding.id}
            text = loaded.renderer.render_named(REQUEST, variables)
            for admin in loaded.campaign.admins:
                key = f"proof/bind/{binding.id}"
                await self._pipeline.send_now(person_target(admin), text, key, priority=SendPriority.ALERT)
