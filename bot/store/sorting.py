"""Villagers' sorting questions (migration 0006): one row per item asked in a message, with what it matched and
what became of it. The rows are the flood limit's memory (one answer per person per item per hour), the queue of
questions waiting for the end of quiet hours, and the office's list of items the bot didn't know.

Built on a `SqlStore`'s engine. `file` is idempotent per message: a message delivered again files nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from bot.store.outcomes import aware_utc
from bot.store.schema import UtcDateTime, metadata
from bot.store.sql import SqlStore


class QuestionStatus(StrEnum):
    ANSWERED = "answered"  # answered at once (the answer's own delivery record says whether it arrived)
    WAITING = "waiting"  # asked in quiet hours: answered when they end
    REPEAT = "repeat"  # the same person asked about the same item within the repeat window: not answered again
    DROPPED = "dropped"  # asked in quiet hours in a town that doesn't answer those later
    SILENT = "silent"  # the town turned answers off (rules.sorting.answer: false); still counted


# Statuses that count as "this person has had (or will get) an answer about this item".
_ANSWERING = (QuestionStatus.ANSWERED.value, QuestionStatus.WAITING.value)

sorting_questions = Table(
    "sorting_questions",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("message_id", String(200), nullable=False),
    Column("part", Integer, nullable=False),
    Column("asked", Text, nullable=False),
    Column("item_key", String(200), nullable=False),
    Column("matched", Text),
    Column("category", String(16)),
    Column("sender", String(200), nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("group_id", String(200), nullable=False),
    Column("asked_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("answered_at", UtcDateTime()),
    PrimaryKeyConstraint("id", name="pk_sorting_questions"),
    UniqueConstraint("message_id", "part", name="uq_sorting_questions_message_part"),
    Index("ix_sorting_questions_sender_item", "sender", "item_key", "asked_at"),
    Index("ix_sorting_questions_status", "status"),
)


@dataclass(frozen=True)
class NewQuestion:
    """One item asked. `item_key` identifies the item for the flood limit: the matched name, or the tidied words
    for an unknown one. `matched`/`category` are None when the dictionary didn't know it."""

    message_id: str
    part: int
    asked: str
    item_key: str
    matched: str | None
    category: str | None
    sender: str
    sender_name: str
    group_id: str
    asked_at: datetime


@dataclass(frozen=True)
class Question(NewQuestion):
    status: QuestionStatus = QuestionStatus.ANSWERED
    answered_at: datetime | None = None


@dataclass(frozen=True)
class UnknownItem:
    asked: str  # as last typed
    item_key: str
    count: int
    last_asked: datetime


class QuestionStore:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._engine = store.engine

    def file(self, rows: Sequence[NewQuestion], status: QuestionStatus, since: datetime) -> list[Question] | None:
        """Record one message's items with `status`, except those the same person already had answered (or is
        waiting for) since `since`, or named twice in the message: those become REPEAT. None if this message was
        filed before (a redelivery): nothing is written. One transaction: concurrent runners can't both file it."""
        if not rows:
            return []
        since = aware_utc(since, "since")
        with self._engine.connect() as conn, conn.execution_options(laba_write=True).begin():
            done = conn.execute(
                select(func.count()).where(sorting_questions.c.message_id == rows[0].message_id)
            ).scalar_one()
            if done:
                return None
            out: list[Question] = []
            seen: set[str] = set()
            for row in rows:
                final = status
                if row.item_key in seen or self._asked_since(conn, row, since):
                    final = QuestionStatus.REPEAT
                seen.add(row.item_key)
                values = {**row.__dict__, "asked_at": aware_utc(row.asked_at, "asked_at"), "status": final.value}
                conn.execute(insert(sorting_questions).values(**values))
                out.append(Question(**row.__dict__, status=final))
            return out

    def _asked_since(self, conn: Connection, row: NewQuestion, since: datetime) -> bool:
        q = sorting_questions.c
        found = conn.execute(
            select(q.id)
            .where(q.sender == row.sender, q.item_key == row.item_key, q.asked_at >= since)
            .where(q.status.in_(_ANSWERING), q.message_id != row.message_id)
            .limit(1)
        ).first()
        return found is not None

    def set_status(self, message_id: str, status: QuestionStatus, at: datetime | None, only: QuestionStatus) -> int:
        """Move the message's `only` rows to `status` (answered_at = `at`); how many moved."""
        q = sorting_questions.c
        with self._engine.connect() as conn, conn.execution_options(laba_write=True).begin():
            result = conn.execute(
                update(sorting_questions)
                .where(q.message_id == message_id, q.status == only.value)
                .values(status=status.value, answered_at=aware_utc(at, "at") if at else None)
            )
            return int(result.rowcount)

    def waiting(self) -> list[Question]:
        """Questions held for the end of quiet hours, oldest first."""
        q = sorting_questions.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(sorting_questions)
                .where(q.status == QuestionStatus.WAITING.value)
                .order_by(q.asked_at, q.message_id, q.part)
            ).all()
        return [self._question(r) for r in rows]

    def of_message(self, message_id: str) -> list[Question]:
        q = sorting_questions.c
        with self._engine.connect() as conn:
            rows = conn.execute(select(sorting_questions).where(q.message_id == message_id).order_by(q.part)).all()
        return [self._question(r) for r in rows]

    def unknown(self) -> list[UnknownItem]:
        """Items asked that the dictionary didn't know: how often, newest first."""
        q = sorting_questions.c
        latest = func.max(q.asked_at)  # typed like the column (ReturnTypeFromArgs): aware UTC out
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(q.item_key, func.count().label("n"), latest.label("last"), func.max(q.asked).label("asked"))
                .where(q.matched.is_(None))
                .group_by(q.item_key)
                .order_by(latest.desc(), q.item_key)
            ).all()
        zone = self._store.zone
        return [UnknownItem(r.asked, r.item_key, int(r.n), r.last.astimezone(zone)) for r in rows]

    def _question(self, row: Row[Any]) -> Question:
        zone = self._store.zone
        return Question(
            message_id=row.message_id,
            part=row.part,
            asked=row.asked,
            item_key=row.item_key,
            matched=row.matched,
            category=row.category,
            sender=row.sender,
            sender_name=row.sender_name,
            group_id=row.group_id,
            asked_at=row.asked_at.astimezone(zone),
            status=QuestionStatus(row.status),
            answered_at=row.answered_at.astimezone(zone) if row.answered_at else None,
        )
