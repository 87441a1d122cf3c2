"""The weekly quiz at run time: villagers' replies counted, and the counts the quiz answer and the summary show.

`QuizReplies` is an `InboundHandler` for text in a villagers' group while a quiz is open there (from its question
job's time until its answer job's time): a reply that is a choice (`bot.sorting.quiz.choice_of`) is recorded in
`QuizStore`, whose unique (quiz, person) key keeps each person's FIRST answer only, so a message delivered twice or
replayed after a restart never counts twice. Nothing is said back (thirty "答对了" would flood the group); the
answer post the next morning gives the result. Other text is left to the next handlers. At a quiz's first answer
the size of each of its groups is asked of the channel (a WeChat gateway can say) and kept, for the 参与率.

`quiz_facts` gives the pipeline (`PipelineHooks.quiz_facts`) the tally for a quiz answer job and each village's month
for a summary job. `takes_replies` tells which groups can answer at all: the default channel must be Wechaty and
the group not sent to by a robot. The plan already leaves the others out (`bot.core.routes.reply_groups`); this is
the check at delivery for a robot added since the plan was made.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.channels.base import Channel, InboundMessage
from bot.config.campaign import LoadedCampaign
from bot.core.model import JobKind
from bot.core.planner import PlannedJob, Target
from bot.core.render import quiz_of
from bot.core.routes import RouteKind
from bot.inbound import InboundHandler
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.sorting.quiz import choice_of
from bot.sorting.quiz_report import quiz_villages
from bot.store.quiz import GroupSize, QuizAnswer, QuizStore

log = logging.getLogger(__name__)


def open_quiz(loaded: LoadedCampaign, group_id: str, now: Any) -> PlannedJob | None:
    """The quiz question job open for answers in `group_id` at `now` (the latest, if windows overlap)."""
    found = None
    for job in loaded.plan.jobs:
        if job.kind is not JobKind.QUIZ or job.due is None or not job.at <= now < job.due:
            continue
        if any(t.id == group_id for t in job.targets):
            found = job
    return found


class QuizReplies:
    def __init__(self, current: Callable[[], LoadedCampaign], pipeline: Pipeline, quiz: QuizStore) -> None:
        self._current = current
        self._pipeline = pipeline
        self.quiz = quiz
        self._sized: set[str] = set()  # quizzes whose groups were counted by this process

    async def handle(self, message: InboundMessage) -> bool:
        if message.kind != "text" or message.group is None:
            return False
        choice = choice_of(message.text)
        if choice is None:
            return False
        loaded = self._current()
        now = self._pipeline.clock.now()
        job = open_quiz(loaded, message.group, now)
        if job is None:
            return False  # no quiz open here: a bare "A" is ordinary talk
        question = loaded.renderer.quizzes.get(job.key)
        target = next(t for t in job.targets if t.id == message.group)
        if question is None:
            log.error("每周一题 %s 没有题目：回答 %s 不计", job.key, message.message_id)
            return True
        answer = QuizAnswer(
            quiz_key=job.key,
            year=job.year,
            month=job.month,
            sender=message.sender,
            sender_name=message.sender_name,
            group_id=message.group,
            unit_id=target.unit or "",
            choice=choice,
            correct=choice == question["answer"],
            message_id=message.message_id,
            answered_at=now,
        )
        kept = await asyncio.to_thread(self.quiz.record, answer)
        log.info(
            "每周一题 %s：%s 答 %s%s", job.key, message.sender_name, choice, "" if kept else "（不计，只算第一次）"
        )
        if job.key not in self._sized:
            self._sized.add(job.key)  # once per quiz and process: a failed count is not retried on every answer
            await self._count_members(job, now)
        return True

    async def _count_members(self, job: PlannedJob, now: Any) -> None:
        """Keep the size of each group the quiz went to, for the 参与率, when the channel can say (a WeChat
        gateway; duck-typed, as a robot or the outbox can't). Counted at the first answer heard, while the quiz
        is open: the group as it was when asked."""
        channel = getattr(self._pipeline.channel, "default", self._pipeline.channel)  # behind the routes
        count = getattr(channel, "member_count", None)
        if count is None:
            return
        known = await asyncio.to_thread(self.quiz.sized_groups, job.key)
        for target in job.targets:
            if target.id in known:
                continue
            members = await count(target.id)
            if members is None:
                log.info("每周一题 %s：不知道「%s」有多少人，本月参与率不计算", job.key, target.name)
                continue
            size = GroupSize(job.key, target.id, target.unit or "", job.year, job.month, members, now)
            await asyncio.to_thread(self.quiz.record_size, size)


def quiz_facts(current: Callable[[], LoadedCampaign], quiz: QuizStore) -> Callable[[PlannedJob], Mapping[str, Any]]:
    """The store's counts a job's message shows (see `ProofFacts.quiz`); {} for other jobs."""

    def facts(job: PlannedJob) -> Mapping[str, Any]:
        loaded = current()
        if job.kind is JobKind.QUIZ_ANSWER:
            tally = quiz.tally(quiz_of(job.key))
            names = list(tally.right_names) if loaded.campaign.rules.quiz.names else []
            return {"answered": tally.answered, "correct": tally.correct, "names": names}
        if job.kind is JobKind.SUMMARY:
            weeks = sum(
                1 for j in loaded.plan.jobs if j.kind is JobKind.QUIZ and (j.year, j.month) == (job.year, job.month)
            )
            if not weeks:
                return {"villages": [], "weeks": 0}
            villages = [v.view() for v in quiz_villages(loaded, quiz, job.year, job.month)]
            return {"villages": villages, "weeks": weeks}
        return {}

    return facts


def takes_replies(settings: Settings, channel: Channel) -> Callable[[Target], bool]:
    """Whether a group's villagers' replies reach the bot: Wechaty is the default channel and no robot sends there."""

    def replies(target: Target) -> bool:
        if settings.channel != "wechaty":
            return False
        # Duck-typed: importing RoutedChannel would load the robots' HTTP client into every daemon start.
        route = getattr(channel, "route", None)
        return route is None or route(target).kind is RouteKind.DEFAULT

    return replies


def handlers(current: Callable[[], LoadedCampaign], pipeline: Pipeline, quiz: QuizStore) -> list[InboundHandler]:
    """The quiz's handler for `bot.app.build` (which gives the pipeline `quiz_facts` and `takes_replies`)."""
    return [QuizReplies(current, pipeline, quiz)]
