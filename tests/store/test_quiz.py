"""Quiz answers on every backend: one per person per quiz (their first), the week's tally, each village's month."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.store.quiz import GroupSize, QuizAnswer, QuizStore
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


def size(group: str, members: int, *, key: str = "quiz/2024-W15", unit: str = "changchun") -> GroupSize:
    return GroupSize(key, group, unit, 2024, 4, members, T0)


def test_participation_is_people_over_the_groups_size_as_first_counted(store: SqlStore) -> None:
    quiz = QuizStore(store)
    for n, who in enumerate(["li", "wang", "zhao"]):
        quiz.record(answer(who, "B", n=n))
    quiz.record(answer("li", "A", key="quiz/2024-W16", n=9))  # li again the next week: one person, two answers
    assert quiz.record_size(size("changchun-villagers", 40))
    assert not quiz.record_size(size("changchun-villagers", 55))  # the group as it was when asked
    assert quiz.record_size(size("changchun-villagers", 30, key="quiz/2024-W16"))
    assert quiz.sized_groups("quiz/2024-W15") == {"changchun-villagers"}
    [village] = quiz.month(2024, 4, {"changchun": frozenset({"changchun-villagers"})})
    assert (village.people, village.answered, village.correct) == (3, 4, 3)
    assert village.members == 40  # the month's largest count of the group
    assert village.participation == round(100 * 3 / 40) and village.accuracy == 75


def test_no_rate_without_a_count_for_every_group_asked(store: SqlStore) -> None:
    quiz = QuizStore(store)
    quiz.record(answer("li", "B"))
    quiz.record_size(size("changchun-villagers", 40))
    # The village has a second quiz group the gateway gave no count for: the rate would be made up.
    asked = {"changchun": frozenset({"changchun-villagers", "changchun-street"}), "shanling": frozenset({"sl"})}
    villages = {v.unit_id: v for v in quiz.month(2024, 4, asked)}
    assert villages["changchun"].members is None and villages["changchun"].participation is None
    assert villages["changchun"].people == 1
    # A village asked but silent is listed with zeros, not left out.
    assert (villages["shanling"].answered, villages["shanling"].people, villages["shanling"].participation) == (
        0,
        0,
        None,
    )
    quiz.record_size(size("sl", 25, unit="shanling"))
    silent = {v.unit_id: v for v in quiz.month(2024, 4, asked)}["shanling"]
    assert silent.members == 25 and silent.participation == 0
