"""Whether anything waits for the daemon's minute round (`bot.app`): questions held over quiet hours, strangers'
photos waiting for an admin. Asked of the database before the sorting and proof handlers are built, so a daemon
with nothing waiting does not import them while it idles; when something waits, the handlers' rounds do the work."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.evidence_records import EvidenceStatus
from bot.store.schema import evidence
from bot.store.sql import SqlStore


def questions_waiting(store: SqlStore) -> bool:
    """Any villager's question held over quiet hours (`SortingAnswers.answer_waiting` answers them)."""
    from bot.store.sorting import QuestionStore  # the questions' table and queries: with the first question asked

    return bool(QuestionStore(store).waiting())


def strangers_waiting(store: SqlStore) -> bool:
    """Any photo from someone who is no unit's contact still waiting for an admin (pending, under no unit): the
    only records `ProofIntake.expire_strangers` may expire."""
    stmt = select(evidence.c.id).where(evidence.c.status == EvidenceStatus.PENDING.value, evidence.c.unit_id.is_(None))
    with store.db.read() as conn:
        return conn.execute(stmt.limit(1)).first() is not None
