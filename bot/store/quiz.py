"""Weekly quiz answers (migration 0008): one row per person per quiz, their FIRST choice only.

The unique key (quiz_key, sender) is what makes counting exactly-once: a message delivered twice, a second answer
from the same person, or a restart replaying the inbound queue all find the row there and change nothing.
Built on a `SqlStore`'s engine.
"""

from __future__ import annotations

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
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from bot.store.schema import UtcDateTime, metadata
from bot.store.sql import SqlStore, _aware_utc

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
    answered: int
    correct: int

    @property
    def accuracy(self) -> int:
        """Percent right, rounded; 0 when nobody answered."""
        return round(100 * self.correct / self.answered) if self.answered else 0


class QuizStore:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._engine = store.engine

    def record(self, answer: QuizAnswer) -> bool:
        """Keep `answer` if it is this person's first for this quiz; False (nothing written) otherwise."""
        values = {**answer.__dict__, "answered_at": _aware_utc(answer.answered_at, "answered_at")}
        a = quiz_answers.c
        try:
            with self._engine.connect() as conn, conn.execution_options(laba_write=True).begin():
                found = conn.execute(
                    select(a.id).where(a.quiz_key == answer.quiz_key, a.sender == answer.sender)
                ).first()
                if found is not None:
                    return False
                conn.execute(insert(quiz_answers).values(**values))
        except IntegrityError:
            return False  # another runner kept the same person's answer a moment earlier
        return True

    def tally(self, quiz_key: str) -> Tally:
        a = quiz_answers.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(a.sender_name, a.correct).where(a.quiz_key == quiz_key).order_by(a.answered_at, a.id)
            ).all()
        right = tuple(r.sender_name for r in rows if r.correct)
        return Tally(len(rows), len(right), right)

    def month(self, year: int, month: int) -> list[VillageMonth]:
        """Each village's answers in the month, in unit id order (villages that never answered are absent)."""
        a = quiz_answers.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    a.unit_id,
                    func.count(func.distinct(a.quiz_key)).label("quizzes"),
                    func.count().label("answered"),
                    func.sum(case((a.correct, 1), else_=0)).label("correct"),
                )
                .where(a.year == year, a.month == month)
                .group_by(a.unit_id)
                .order_by(a.unit_id)
            ).all()
        return [VillageMonth(r.unit_id, int(r.quizzes), int(r.answered), int(r.correct or 0)) for r in rows]
