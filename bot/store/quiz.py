"""Weekly quiz answers (migration 0008): one row per person per quiz, their FIRST choice only; and how many people
each asked group had (migration 0009), for the 参与率, when the gateway could say.

The unique key (quiz_key, sender) is what makes counting exactly-once: a message delivered twice, a second answer
from the same person, or a restart replaying the inbound queue all find the row there and change nothing.
Built on a `SqlStore`'s engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    func,
    select,
)

from bot.store.db import insert_ignore
from bot.store.outcomes import aware_utc
from bot.store.schema import UtcDateTime, metadata
from bot.store.sql import SqlStore

quiz_answers = Table(
    "quiz_answers",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("quiz_key", String(60), nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("sender", String(200), nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("group_id", String(200), nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("choice", String(1), nullable=False),
    Column("correct", Boolean, nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("answered_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("id", name="pk_quiz_answers"),
    UniqueConstraint("quiz_key", "sender", name="uq_quiz_answers_quiz_sender"),
    Index("ix_quiz_answers_month", "year", "month"),
)


# One row per quiz and group: the group's size when the quiz ran there (the first count kept), so a month's 参与率
# divides by the groups as they were, not as they are when the report is made.
quiz_members = Table(
    "quiz_members",
    metadata,
    Column("quiz_key", String(60), nullable=False),
    Column("group_id", String(200), nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("members", Integer, nullable=False),
    Column("counted_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("quiz_key", "group_id", name="pk_quiz_members"),
    Index("ix_quiz_members_month", "year", "month"),
)


@dataclass(frozen=True)
class GroupSize:
    quiz_key: str
    group_id: str
    unit_id: str
    year: int
    month: int
    members: int  # people in the group besides the bot
    counted_at: datetime


@dataclass(frozen=True)
class QuizAnswer:
    quiz_key: str
    year: int
    month: int
    sender: str
    sender_name: str
    group_id: str
    unit_id: str
    choice: str
    correct: bool
    message_id: str
    answered_at: datetime


@dataclass(frozen=True)
class Tally:
    answered: int
    correct: int
    right_names: tuple[str, ...]  # who got it right, in the order they answered


@dataclass(frozen=True)
class VillageMonth:
    unit_id: str
    quizzes: int  # how many of the month's quizzes had at least one answer from the village
    answered: int  # answers (人次)
    correct: int
    people: int = 0  # different people who answered at least once in the month
    # People in the village's quiz groups (the largest count of the month for each group, added up); None when the
    # gateway didn't give a count for every one of them: then no rate is claimed.
    members: int | None = None

    @property
    def accuracy(self) -> int:
        """知晓率: percent of answers that were right, rounded; 0 when nobody answered."""
        return round(100 * self.correct / self.answered) if self.answered else 0

    @property
    def participation(self) -> int | None:
        """参与率: percent of the groups' members who answered at least once this month; None without a count."""
        return round(100 * self.people / self.members) if self.members else None


class QuizStore:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._engine = store.engine

    def record(self, answer: QuizAnswer) -> bool:
        """Keep `answer` if it is this person's first for this quiz; False (nothing written) otherwise."""
        values = {**answer.__dict__, "answered_at": aware_utc(answer.answered_at, "answered_at")}
        # The unique (quiz_key, sender): a second answer, or another runner's copy of this one, inserts nothing.
        with self._store.db.write() as conn:
            return insert_ignore(conn, quiz_answers, values)

    def tally(self, quiz_key: str) -> Tally:
        a = quiz_answers.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(a.sender_name, a.correct).where(a.quiz_key == quiz_key).order_by(a.answered_at, a.id)
            ).all()
        right = tuple(r.sender_name for r in rows if r.correct)
        return Tally(len(rows), len(right), right)

    def record_size(self, size: GroupSize) -> bool:
        """Keep a group's size for a quiz if none is kept yet (the first count wins); False otherwise."""
        values = {**size.__dict__, "counted_at": aware_utc(size.counted_at, "counted_at")}
        with self._store.db.write() as conn:  # another runner may have counted the same group a moment earlier
            return insert_ignore(conn, quiz_members, values)

    def sized_groups(self, quiz_key: str) -> frozenset[str]:
        """The groups whose size is kept for `quiz_key`."""
        m = quiz_members.c
        with self._engine.connect() as conn:
            return frozenset(conn.execute(select(m.group_id).where(m.quiz_key == quiz_key)).scalars())

    def month(self, year: int, month: int, asked: Mapping[str, frozenset[str]] | None = None) -> list[VillageMonth]:
        """Each village's answers in the month, in unit id order. `asked`: unit id -> the groups the month's quizzes
        went to there; a village asked but silent is listed with zeros, and its `members` is known only when every
        one of those groups has a size kept. Without `asked`, villages that never answered are absent and sizes
        count for the groups that have one."""
        a, m = quiz_answers.c, quiz_members.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    a.unit_id,
                    func.count(func.distinct(a.quiz_key)).label("quizzes"),
                    func.count().label("answered"),
                    func.sum(case((a.correct, 1), else_=0)).label("correct"),
                    func.count(func.distinct(a.sender)).label("people"),
                )
                .where(a.year == year, a.month == month)
                .group_by(a.unit_id)
                .order_by(a.unit_id)
            ).all()
            sizes = conn.execute(
                select(m.unit_id, m.group_id, func.max(m.members).label("members"))
                .where(m.year == year, m.month == month)
                .group_by(m.unit_id, m.group_id)
            ).all()
        by_unit: dict[str, dict[str, int]] = {}
        for r in sizes:
            by_unit.setdefault(r.unit_id, {})[r.group_id] = int(r.members)
        counts = {r.unit_id: r for r in rows}
        units = sorted(set(counts) | set(asked or {}))
        out = []
        for unit in units:
            kept = by_unit.get(unit, {})
            groups = (asked or {}).get(unit, frozenset(kept))
            members = sum(kept[g] for g in groups) if groups and all(g in kept for g in groups) else None
            c = counts.get(unit)
            if c is None:
                out.append(VillageMonth(unit, 0, 0, 0, 0, members))
            else:
                out.append(
                    VillageMonth(unit, int(c.quizzes), int(c.answered), int(c.correct or 0), int(c.people), members)
                )
        return out
