"""The sorting questions table on every backend: filing is idempotent per message, the repeat window, the queue of
questions waiting for the morning, and the office's list of unknown items."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.store.sorting import NewQuestion, QuestionStatus, QuestionStore
from bot.store.sql import SqlStore

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 5, 20, 9, 0, tzinfo=ZONE)
HOUR = timedelta(hours=1)


def q(message_id: str, *items: str, sender: str = "wxid_wang", at: datetime = T0) -> list[NewQuestion]:
    return [
        NewQuestion(
            message_id=message_id,
            part=i,
            asked=item,
            item_key=item,
            matched=None if item.startswith("?") else item,
            category=None if item.startswith("?") else "recyclable",
            sender=sender,
            sender_name="王大爷",
            group_id="changchun-villagers",
            asked_at=at,
        )
        for i, item in enumerate(items)
    ]


def test_a_message_is_filed_once(store: SqlStore) -> None:
    questions = QuestionStore(store)
    filed = questions.file(q("m1", "报纸", "易拉罐"), QuestionStatus.ANSWERED, T0 - HOUR)
    assert filed is not None and [f.status for f in filed] == [QuestionStatus.ANSWERED] * 2
    assert questions.file(q("m1", "报纸", "易拉罐"), QuestionStatus.ANSWERED, T0 - HOUR) is None
    assert [x.asked for x in questions.of_message("m1")] == ["报纸", "易拉罐"]
    assert questions.of_message("m1")[0].asked_at == T0


def test_the_same_person_and_item_within_the_window_is_a_repeat(store: SqlStore) -> None:
    questions = QuestionStore(store)
    questions.file(q("m1", "报纸"), QuestionStatus.ANSWERED, T0 - HOUR)
    later = T0 + timedelta(minutes=30)
    filed = questions.file(q("m2", "报纸", "易拉罐", "报纸", at=later), QuestionStatus.ANSWERED, later - HOUR)
    assert filed is not None
    assert [f.status for f in filed] == [QuestionStatus.REPEAT, QuestionStatus.ANSWERED, QuestionStatus.REPEAT]
    other = questions.file(q("m3", "报纸", sender="wxid_li", at=later), QuestionStatus.ANSWERED, later - HOUR)
    assert other is not None and other[0].status is QuestionStatus.ANSWERED
    much_later = T0 + timedelta(minutes=61)
    again = questions.file(q("m4", "报纸", at=much_later), QuestionStatus.ANSWERED, much_later - HOUR)
    assert again is not None and again[0].status is QuestionStatus.ANSWERED


def test_waiting_questions_are_queued_until_marked_answered(store: SqlStore) -> None:
    questions = QuestionStore(store)
    night = T0.replace(hour=22, minute=30)
    questions.file(q("n1", "报纸", "易拉罐", at=night), QuestionStatus.WAITING, night - HOUR)
    # A repeat during the night counts the waiting one as its answer.
    repeat = questions.file(q("n2", "报纸", at=night + HOUR / 6), QuestionStatus.WAITING, night - HOUR / 2)
    assert repeat is not None and repeat[0].status is QuestionStatus.REPEAT
    assert [(w.message_id, w.part) for w in questions.waiting()] == [("n1", 0), ("n1", 1)]
    morning = T0 + timedelta(days=1)
    assert questions.set_status("n1", QuestionStatus.ANSWERED, morning, QuestionStatus.WAITING) == 2
    assert questions.set_status("n1", QuestionStatus.ANSWERED, morning, QuestionStatus.WAITING) == 0
    assert questions.waiting() == []
    assert questions.of_message("n1")[0].answered_at == morning


def test_unknown_items_are_listed_with_counts_newest_first(store: SqlStore) -> None:
    questions = QuestionStore(store)
    questions.file(q("u1", "?火箭", at=T0), QuestionStatus.ANSWERED, T0 - HOUR)
    questions.file(q("u2", "?外星人", at=T0 + HOUR), QuestionStatus.ANSWERED, T0)
    questions.file(q("u3", "?火箭", sender="wxid_li", at=T0 + 2 * HOUR), QuestionStatus.ANSWERED, T0 + HOUR)
    questions.file(q("u4", "报纸", at=T0 + 3 * HOUR), QuestionStatus.ANSWERED, T0 + 2 * HOUR)
    rows = questions.unknown()
    assert [(r.asked, r.count, r.last_asked) for r in rows] == [
        ("?火箭", 2, T0 + 2 * HOUR),
        ("?外星人", 1, T0 + HOUR),
    ]
    assert rows[0].last_asked.tzinfo is not None
