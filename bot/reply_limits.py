"""How often the bot answers people who are not admins: one small limiter every chat-command handler asks.

A villager who sends `#帮助` twenty times gets one refusal, not twenty; a stranger who repeats `#绑定` gets one
answer an hour. Each kind of reply has a budget per person in a conversation and per conversation (so twenty
strangers in one group can't drown it either), over a rolling hour. A reply over budget is not sent and is logged:
the person already has the answer from the first time.

State is in memory on purpose: what it protects against is a burst, which a restart does not extend, and after a
restart the worst case is one more answer per person. Redelivered messages are handled by each reply's own
`send_now` key, not here.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


class ReplyKind(StrEnum):
    REFUSAL = "refusal"  # "#暂停 只有镇里的管理员可以用": once an hour is plenty
    ANSWER = "answer"  # an answer to a unit's contact or a stranger (#绑定, a question about a photo)


@dataclass(frozen=True)
class Budget:
    """At most `per_person` replies of a kind to one person in one conversation, and `per_place` to everyone in
    one conversation, in any hour."""

    per_person: int
    per_place: int


BUDGETS = {ReplyKind.REFUSAL: Budget(per_person=1, per_place=5), ReplyKind.ANSWER: Budget(per_person=5, per_place=30)}


class ReplyLimits:
    def __init__(self, now: Callable[[], datetime], budgets: dict[ReplyKind, Budget] | None = None) -> None:
        self._now = now
        self.budgets = budgets or dict(BUDGETS)
        self._given: dict[tuple[str, ...], collections.deque[datetime]] = {}
        self.ignored = 0  # replies held back, for tests and the log
        self._swept = datetime.min.replace(tzinfo=UTC)

    def allow(self, kind: ReplyKind, person: str, place: str) -> bool:
        """True (and counted) if a reply of `kind` to `person` in `place` (a group id, or the person for a
        private chat) is within its budget; False means: don't answer."""
        now = self._now()
        if now - self._swept > HOUR:
            self._sweep(now)
        budget = self.budgets[kind]
        keys = [(kind, "person", person, place), (kind, "place", place)]
        limits = [budget.per_person, budget.per_place]
        queues = [self._recent(key, now) for key in keys]
        if any(len(q) >= limit for q, limit in zip(queues, limits, strict=True)):
            self.ignored += 1
            log.info("不再回复 %s（%s，%s）：一小时内已经回复过", person, place, kind.value)
            return False
        for key, q in zip(keys, queues, strict=True):
            q.append(now)
            self._given[key] = q
        return True

    def _sweep(self, now: datetime) -> None:
        """Forget keys quiet for an hour, so a year of strangers doesn't grow the map."""
        self._swept = now
        for key in [k for k, given in self._given.items() if given[-1] <= now - HOUR]:
            del self._given[key]

    def _recent(self, key: tuple[str, ...], now: datetime) -> collections.deque[datetime]:
        given = self._given.get(key, collections.deque())
        while given and given[0] <= now - HOUR:
            given.popleft()
        if not given:
            self._given.pop(key, None)
        return given
