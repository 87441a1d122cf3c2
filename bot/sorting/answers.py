"""Villagers ask "XX是什么垃圾" in their group; the bot answers once, from the dictionary, never guessing.

An `InboundHandler` (see `bot.inbound`) for text in the town's villagers' groups (`kind: villagers`). Other groups,
private chats and messages that aren't sorting questions (`bot.sorting.question`) are left to other handlers.

Per message: each item asked is looked up and filed (`QuestionStore.file`, one row per item, idempotent per message
id); the items this person already had an answer about within `rules.sorting.repeat_after`, and repeats inside
the message, are not answered again. The rest are answered together in ONE message through `Pipeline.send_now`
under `sorting/<message id>`, so a message delivered twice, or a restart, never answers twice. Unknown items are
answered honestly ("这个我还不确定") and stay in the office's list (`laba sorting unknown`).

Quiet hours (`rules.quiet_hours`): with `rules.sorting.quiet_hours: defer` the question waits and is answered by
`answer_waiting()` once they are over (the daemon calls it every minute, and each new question calls it first so
answers keep their order); with `drop` it is recorded but not answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from itertools import groupby
from pathlib import Path
from typing import Any, Final

from bot.channels.base import InboundMessage
from bot.channels.pacing import SendPriority
from bot.config.campaign import LoadedCampaign
from bot.core.model import GroupKind
from bot.core.planner import Target, group_target
from bot.inbound import InboundHandler
from bot.pipeline import Pipeline
from bot.sorting.dictionary import SortingDictionary
from bot.sorting.files import DictionarySource, read_town
from bot.sorting.normalize import light
from bot.sorting.question import items_asked
from bot.store.base import DeliveryStatus
from bot.store.sorting import NewQuestion, Question, QuestionStatus, QuestionStore
from bot.store.sql import SqlStore

log = logging.getLogger(__name__)

TEMPLATE: Final = "sorting_answer"


def reply_key(message_id: str) -> str:
    return f"sorting/{message_id}"


def answer_variables(dictionary: SortingDictionary, asker: str, questions: list[Question]) -> dict[str, Any]:
    """What `messages/sorting_answer.j2` gets: the known items (in the town's category names) and the unknown."""
    answers: list[dict[str, Any]] = []
    unknown: list[str] = []
    for q in questions:
        match = dictionary.lookup(q.matched) if q.matched else None
        if match is None:
            unknown.append(q.asked)
            continue
        item = match.item
        similar = dictionary.similar(item)
        answers.append(
            {
                "asked": q.asked,
                "name": item.name,
                "category": dictionary.category_name(item.category),
                "note": item.note,
                "reason": item.reason,
                "contested": item.contested,
                "similar": {"name": similar.name, "category": dictionary.category_name(similar.category)}
                if similar
                else None,
            }
        )
    return {"asker": asker, "answers": answers, "unknown": unknown}


class SortingAnswers:
    def __init__(
        self,
        current: Callable[[], LoadedCampaign],
        pipeline: Pipeline,
        questions: QuestionStore,
        dictionary: Callable[[], SortingDictionary],
    ) -> None:
        self._current = current
        self._pipeline = pipeline
        self.questions = questions
        self._dictionary = dictionary
        self._lock = asyncio.Lock()  # answer_waiting from the minute tick and from a new question: one at a time

    def dictionary(self) -> SortingDictionary:
        """The town's dictionary (built on first use: call from a worker thread)."""
        return self._dictionary()

    def villagers_target(self, group_id: str | None) -> Target | None:
        if group_id is None:
            return None
        try:
            group, unit = self._current().campaign.group(group_id)
        except KeyError:
            return None
        return group_target(group, unit) if group.kind is GroupKind.VILLAGERS else None

    async def handle(self, message: InboundMessage) -> bool:
        if message.kind != "text":
            return False
        target = self.villagers_target(message.group)
        if target is None:
            return False
        asked = items_asked(message.text, to_bot=message.mentions_bot)
        if not asked:
            return False
        await self.answer_waiting()  # last night's questions before this one
        filed = await asyncio.to_thread(self._file, message, asked)
        if filed is None:
            log.info("分类问题 %s 已经记过：不再回答", message.message_id)
            return True
        fresh = [q for q in filed if q.status is QuestionStatus.ANSWERED]
        if fresh:
            await self._send(target, message.message_id, message.sender_name, fresh)
        return True

    def _file(self, message: InboundMessage, asked: tuple[str, ...]) -> list[Question] | None:
        rules = self._current().campaign.rules
        now = self._pipeline.clock.now()
        if not rules.sorting.answer:
            status = QuestionStatus.SILENT
        elif rules.quiet_hours.contains(now.time()):
            status = QuestionStatus.WAITING if rules.sorting.quiet_hours == "defer" else QuestionStatus.DROPPED
        else:
            status = QuestionStatus.ANSWERED
        dictionary = self._dictionary()
        rows = []
        for part, words in enumerate(asked):
            match = dictionary.lookup(words)
            rows.append(
                NewQuestion(
                    message_id=message.message_id,
                    part=part,
                    asked=words,
                    item_key=match.item.name if match else f"?{light(words) or words}",
                    matched=match.item.name if match else None,
                    category=match.item.category.value if match else None,
                    sender=message.sender,
                    sender_name=message.sender_name,
                    group_id=message.group or "",
                    asked_at=now,
                )
            )
        return self.questions.file(rows, status, now - rules.sorting.repeat_after)

    async def _send(self, target: Target, message_id: str, asker: str, questions: list[Question]) -> DeliveryStatus:
        loaded = self._current()
        dictionary = await asyncio.to_thread(self._dictionary)
        text = loaded.renderer.render_named(TEMPLATE, answer_variables(dictionary, asker, questions))
        outcome = await self._pipeline.send_now(target, text, reply_key(message_id), priority=SendPriority.REPLY)
        log.info("分类问答回复 %s → %s：%s", message_id, target.name, outcome.status.value)
        return outcome.status

    async def answer_waiting(self) -> int:
        """Answer the questions held over quiet hours, if they are over; how many messages were answered.
        Safe to call any time and repeatedly: each message is answered once (its `send_now` key). An answer the
        network refused stays waiting and is tried again by the next call (a failed claim may be claimed again)."""
        loaded = self._current()
        if loaded.campaign.rules.quiet_hours.contains(self._pipeline.clock.now().time()):
            return 0
        async with self._lock:
            waiting = await asyncio.to_thread(self.questions.waiting)
            answered = 0
            for message_id, rows in groupby(waiting, key=lambda q: q.message_id):
                questions = list(rows)
                target = self.villagers_target(questions[0].group_id)
                status = QuestionStatus.DROPPED  # the group left the town's files overnight: nowhere to answer
                if target is not None:
                    sent = await self._send(target, message_id, questions[0].sender_name, questions)
                    if sent is DeliveryStatus.FAILED:
                        continue  # refused by the network: still waiting, tried again on the next call
                    answered += 1
                    status = QuestionStatus.ANSWERED
                now = self._pipeline.clock.now()
                await asyncio.to_thread(self.questions.set_status, message_id, status, now, QuestionStatus.WAITING)
            return answered


def handlers(
    current: Callable[[], LoadedCampaign], pipeline: Pipeline, store: SqlStore, schedules: Path
) -> list[InboundHandler]:
    """The handler `bot.app.build` registers. Raises ConfigError if the town's sorting.yaml is broken; the dictionary
    itself is built on the first question (in a worker thread: it takes a second)."""
    return [answerer(current, pipeline, store, schedules)]


def answerer(
    current: Callable[[], LoadedCampaign], pipeline: Pipeline, store: SqlStore, schedules: Path
) -> SortingAnswers:
    """`handlers`' one handler, as itself (the daemon also asks it to answer what waited over quiet hours)."""
    read_town(schedules)
    return SortingAnswers(current, pipeline, QuestionStore(store), DictionarySource(schedules).get)
