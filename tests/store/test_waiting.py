"""What the daemon's minute round asks before building a handler: a question held over quiet hours, a stranger's
photo still waiting for an admin; answered from the database, on each backend."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.store.evidence import EvidenceStore
from bot.store.evidence_records import EvidenceStatus, NewEvidence
from bot.store.sorting import NewQuestion, QuestionStatus, QuestionStore
from bot.store.sql import SqlStore
from bot.store.waiting import questions_waiting, strangers_waiting
from tests.store.conftest import ZONE

AT = datetime(2024, 5, 18, 22, 30, tzinfo=ZONE)


def photo(message_id: str, status: EvidenceStatus, unit_id: str | None) -> NewEvidence:
    return NewEvidence(message_id, 1, "photo", "wxid-x", "小王", AT, status, unit_id=unit_id)


def test_a_question_waits_once_held_and_not_once_answered(store: SqlStore) -> None:
    assert not questions_waiting(store)
    questions = QuestionStore(store)
    asked = NewQuestion("m-1", 0, "塑料袋", "塑料袋", "塑料袋", "other", "wxid-x", "小王", "cun-group", AT)
    assert questions.file([asked], QuestionStatus.WAITING, AT) is not None
    assert questions_waiting(store)
    questions.set_status("m-1", QuestionStatus.ANSWERED, AT, QuestionStatus.WAITING)
    assert not questions_waiting(store)


def test_only_a_pending_photo_under_no_unit_is_a_stranger_waiting(store: SqlStore, tmp_path: Path) -> None:
    evidence = EvidenceStore(store, tmp_path / "evidence")
    evidence.add(photo("m-1", EvidenceStatus.PENDING, "cun-a"))  # a unit's photo waiting for its activity
    evidence.add(photo("m-2", EvidenceStatus.REFUSED, None))
    assert not strangers_waiting(store)
    item, _ = evidence.add(photo("m-3", EvidenceStatus.PENDING, None))
    assert strangers_waiting(store)
    evidence.expire(item.id, at=AT, reason="过了截止时间")
    assert not strangers_waiting(store)
