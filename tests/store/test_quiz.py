"""Quiz answers on every backend: one per person per quiz (their first), the week's tally, each village's month."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.store.quiz import QuizAnswer, QuizStore
from bot.store.sql import SqlStore

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 4, 10, 10, 5, tzinfo=ZONE)


def answer(sender: str, choice: str, *, key: str = "quiz/2024-W15", unit: str = "changchun", n: int = 0) -> QuizAnswer:
    return QuizAnswer(
        quiz_key=key,
        year=2024,
        month=4,
        sender=sender,
        sender_name=f"村民{sender}",
        group_id=f"{unit}-villagers",
        unit_id=unit,
        choice=choice,
        correct=choice == "B",
        message_id=f"m-{sender}-{n}",
        answered_at=T0 + timedelta(minutes=n),
    )


def test_only_the_first_answer_of_a_person_counts(store: SqlStore) -> None:
    quiz = QuizStore(store)
    assert quiz.record(answer("wang", "A", n=1))
    assert not quiz.record(answer("wang", "B", n=2))  # changed their mind: too late
    assert not quiz.record(answer("wang", "A", n=1))  # the same message delivered again
    assert quiz.tally("quiz/2024-W15").answered == 1
    assert quiz.tally("quiz/2024-W15").correct == 0


def test_the_tally_names_who_got_it_right_in_order(store: SqlStore) -> None:
    quiz = QuizStore(store)
    for n, (who, choice) in enumerate([("li", "B"), ("zhao", "C"), ("wang", "B")]):
        quiz.record(answer(who, choice, n=n))
    tally = quiz.tally("quiz/2024-W15")
    assert (tally.answered, tally.correct, tally.right_names) == (3, 2, ("村民li", "村民wang"))


def test_each_village_month(store: SqlStore) -> None:
    quiz = QuizStore(store)
    quiz.record(answer("li", "B", unit="changchun"))
    quiz.record(answer("li", "A", unit="changchun", key="quiz/2024-W16"))
    quiz.record(answer("wu", "B", unit="shanling"))
    months = {v.unit_id: v for v in quiz.month(2024, 4)}
    assert (months["changchun"].quizzes, months["changchun"].answered, months["changchun"].correct) == (2, 2, 1)
    assert months["changchun"].accuracy == 50 and months["shanling"].accuracy == 100
    assert quiz.month(2024, 5) == []
