"""The bot's own admin commands in chat: `#计划` `#状态` `#暂停` `#恢复` `#帮助`.

Only the town's admins (town.yaml `admins`, matched by WeChat id or contact id) may use them; anyone else gets a
polite no. Each command is answered once where it was sent — in a configured group, or privately — keyed by the
inbound message id through `Pipeline.send_now`, so a message delivered twice is neither answered nor acted on
twice (all of that is `bot.commands.CommandHandler`). Commands this module doesn't know (`#驳回` …) pass to later
handlers.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import datetime

from bot.channels.base import InboundMessage
from bot.clock import TOWN_ZONE
from bot.commands import Command, CommandHandler, admin_of, strip_mentions
from bot.config.campaign import LoadedCampaign
from bot.core.command_texts import example_unit
from bot.core.model import Campaign, Person
from bot.core.planner import PlannedJob
from bot.pipeline import Pipeline, job_label
from bot.store.base import DeliveryStatus

log = logging.getLogger(__name__)

COMMAND = re.compile(r"^\s*[#＃]\s*(计划|状态|暂停|恢复|帮助)\s*$")
UPCOMING = 5


def is_admin_command(campaign: Campaign, message: InboundMessage) -> bool:
    """A `#…` text from one of the town's admins: handled ahead of everything else (`ConversationQueues`)."""
    if message.kind != "text" or not strip_mentions(message.text).lstrip().startswith(("#", "＃")):
        return False
    return admin_of(campaign, message) is not None


class AdminCommands(CommandHandler):
    """An `InboundHandler`. `pending` lists upcoming jobs as (key, time) once it can (the daemon's scheduler,
    started after the handlers, queues them); while it gives None, the plan's jobs after the pipeline's clock are
    used. Answers come from `messages/admin_*.j2`."""

    pattern = COMMAND
    key_prefix = "admin"

    def __init__(
        self,
        current: Callable[[], LoadedCampaign],
        pipeline: Pipeline,
        pending: Callable[[], list[tuple[str, datetime]] | None] = lambda: None,
    ) -> None:
        super().__init__(current, pipeline)
        self._pending = pending

    async def answer(self, command: Command) -> str:
        assert command.admin is not None  # admin_only
        return await self.run(command.verb, command.admin)

    async def run(self, verb: str, admin: Person) -> str:
        if verb == "暂停":
            already = self._pipeline.held
            if not already:
                self._pipeline.hold()
                log.warning("%s 暂停了发送", admin.name)
            return self.render("admin_hold", admin=admin.name, already=already)
        if verb == "恢复":
            already = not self._pipeline.held
            if not already:
                self._pipeline.resume()
                log.warning("%s 恢复了发送", admin.name)
            return self.render("admin_resume", admin=admin.name, already=already)
        if verb == "计划":
            return self._plan_text()
        if verb == "状态":
            return await self._status_text()
        return self.render("admin_help", example_unit=example_unit(self._current().campaign))

    def _upcoming(self) -> list[tuple[PlannedJob, datetime]]:
        loaded = self._current()
        by_key = loaded.plan.by_key()
        pending = self._pending()
        if pending is not None:
            rows = [(by_key[k], at) for k, at in pending if k in by_key]
        else:
            now = self._pipeline.clock.now()
            rows = [(j, j.at) for j in loaded.plan.jobs if j.at > now]
        return rows[:UPCOMING]

    def _plan_text(self) -> str:
        jobs = [{"at": at, "label": job_label(job), "targets": len(job.targets)} for job, at in self._upcoming()]
        return self.render("admin_plan", jobs=jobs)

    async def _status_text(self) -> str:
        """Groups and messages, in words: no gateway addresses or job keys; counts of planned messages only, so
        they agree with each other (replies and alerts are not in them)."""
        campaign, plan = self._current().campaign, self._current().plan
        health = [
            {"part": _readable(campaign, h.part), "ok": h.ok, "detail": h.detail}
            for h in await self._pipeline.channel.health()
        ]
        by_key = plan.by_key()
        stored = await asyncio.to_thread(self._pipeline.store.deliveries)
        records = [r for r in stored if r.job_key in by_key]
        delivered = (DeliveryStatus.SENT, DeliveryStatus.RELAYED)
        sent = sorted((r for r in records if r.status in delivered), key=lambda r: r.updated_at)
        groups = {r.target for r in sent if _is_group(campaign, r.target)}
        last = sent[-1] if sent else None
        upcoming = self._upcoming()
        return self.render(
            "admin_status",
            held=self._pipeline.held,
            health=health,
            sent=len(sent),
            groups=len(groups),
            people=len({r.target for r in sent} - groups),
            relayed=sum(1 for r in sent if r.status is DeliveryStatus.RELAYED),
            last=None
            if last is None
            else {"at": last.updated_at.astimezone(TOWN_ZONE), "label": job_label(by_key[last.job_key])},
            failed=sum(1 for r in records if r.status in (DeliveryStatus.FAILED, DeliveryStatus.UNCONFIRMED)),
            next=None if not upcoming else {"at": upcoming[0][1], "label": job_label(upcoming[0][0])},
        )


def _readable(campaign: Campaign, part: str) -> str:
    """A health line's name with group ids said as the groups' names ("企业微信群机器人 花园村村民群")."""
    words = []
    for word in part.split(" "):
        try:
            words.append(campaign.group(word)[0].name)
        except KeyError:
            words.append(word)
    return " ".join(words)


def _is_group(campaign: Campaign, target_id: str) -> bool:
    try:
        campaign.group(target_id)
    except KeyError:
        return False
    return True
