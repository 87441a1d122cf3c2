"""One way to write a chat command (`#状态`, `#驳回 12 原因` …), in python-telegram-bot's shape: a pure decision
(`check`: is this message a command of mine, where does the answer go, who asked) and an action (`answer`: what
to do and what to say). The base does the rest the same way for every command:

- a command may follow @-s of the bot ("@大喇叭 #状态");
- it is answered where it was said: in a configured group, or privately; never in a room the town doesn't know;
- it is answered, and acted on, once: the answer goes through `Pipeline.send_now` under `<prefix>/<message id>`,
  and a message delivered again finds that record and does nothing;
- admin-only commands answer anyone else with a polite no (`messages/command_refused.j2`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from bot.channels.base import InboundMessage
from bot.channels.pacing import SendPriority
from bot.config.campaign import LoadedCampaign
from bot.core.model import Campaign, Person
from bot.core.planner import Target, group_target
from bot.pipeline import Pipeline
from bot.reply_limits import ReplyKind

log = logging.getLogger(__name__)

REFUSED_TEMPLATE = "command_refused"


def strip_mentions(text: str) -> str:
    """ "@大喇叭 #绑定 长春村" → "#绑定 长春村": a command may follow @-s (a name, then U+2005 or a space)."""
    return re.sub(r"^(\s*@[^\s\u2005]+[\s\u2005]+)+", "", text)


def sender_is(person_wechat: str, message: InboundMessage) -> bool:
    """Whether the message comes from the person with this WeChat id (or contact id) in the town's files."""
    return bool(person_wechat) and person_wechat in (message.sender_wechat, message.sender)


def admin_of(campaign: Campaign, message: InboundMessage) -> Person | None:
    """The town admin (town.yaml `admins`) who sent the message, if one did."""
    return next((a for a in campaign.admins if sender_is(a.wechat, message)), None)


def reply_target(campaign: Campaign, message: InboundMessage) -> Target | None:
    """Where to answer the message: the configured group it came from, or the sender privately. None for a room
    the town's files don't know: not ours to answer in."""
    if message.group is not None:
        try:
            group, unit = campaign.group(message.group)
        except KeyError:
            return None
        return group_target(group, unit)
    if message.room_id is not None:
        return None
    return Target(message.sender, message.sender_name, "person", wechat=message.sender_wechat or message.sender)


@dataclass(frozen=True)
class Command:
    """A message decided to be one of a handler's commands."""

    verb: str  # as typed, without "#": "状态", "驳回"
    args: str  # what follows the verb, stripped
    target: Target  # where the answer goes
    key: str  # the answer's `send_now` key: one answer per inbound message
    admin: Person | None  # the town admin who sent it, if one did
    message: InboundMessage


class CommandHandler(ABC):
    """An `InboundHandler` for the commands `pattern` matches (group 1 the verb, an optional group 2 the
    arguments). Subclasses give `pattern`, `key_prefix` and `answer`; `admin_only` commands refuse anyone else."""

    pattern: re.Pattern[str]
    key_prefix: str
    admin_only: bool = True

    def __init__(self, current: Callable[[], LoadedCampaign], pipeline: Pipeline) -> None:
        self._current = current
        self._pipeline = pipeline

    def accepts(self, message: InboundMessage) -> bool:
        """Whether commands are taken where this message was said (all rooms the town knows, by default)."""
        return True

    def check(self, message: InboundMessage) -> Command | None:
        """The decision, without I/O: the command in the message, or None if it is not one of this handler's."""
        if message.kind != "text":
            return None
        m = self.pattern.match(strip_mentions(message.text))
        if m is None or not self.accepts(message):
            return None
        campaign = self._current().campaign
        target = reply_target(campaign, message)
        if target is None:
            return None
        args = (m.group(2) or "").strip() if m.re.groups >= 2 else ""
        key = f"{self.key_prefix}/{message.message_id}"
        return Command(m.group(1), args, target, key, admin_of(campaign, message), message)

    async def handle(self, message: InboundMessage) -> bool:
        command = self.check(message)
        if command is None:
            return False
        if await asyncio.to_thread(self._pipeline.store.get, command.key, command.target.id) is not None:
            return True  # the same message delivered again: answered (and acted on) already
        if self.admin_only and command.admin is None:
            log.info("%s（%s）不是管理员，用了 #%s", message.sender_name, message.sender_wechat, command.verb)
            # A refusal at most once an hour per person and conversation: twenty #帮助 get one answer.
            if self._pipeline.limits.allow(ReplyKind.REFUSAL, message.sender, command.target.id):
                text = self.render(REFUSED_TEMPLATE, name=message.sender_name, command=command.verb)
                await self._pipeline.send_now(command.target, text, command.key, priority=SendPriority.REPLY)
            return True
        text = await self.answer(command)
        # An admin's answer goes ahead of planned sends and replies (the admin is waiting for it).
        await self._pipeline.send_now(command.target, text, command.key, priority=SendPriority.ALERT)
        return True

    def render(self, template: str, **variables: object) -> str:
        """A text people read, from `messages/<template>.j2` (validated by `laba check`)."""
        return self._current().renderer.render_named(template, variables)

    @abstractmethod
    async def answer(self, command: Command) -> str:
        """Act on the command (an admin's, for `admin_only` handlers) and say what to answer."""
