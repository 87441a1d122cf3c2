"""The weekly quiz's planned jobs: one question and one answer a week on workdays of activity months, keyed by
ISO week, to villagers' groups the bot is in; configurable and validated in town.yaml."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config.campaign import Sources
from bot.config.loader import load_campaign
from bot.core.model import GroupKind, JobKind
from bot.core.planner import plan_campaign
from bot.errors import ConfigError
from tests.core.test_planner import ROOT, set_town

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_off_unless_the_town_turns_it_on() -> None:
    plan = plan_campaign(load_campaign(ROOT / "schedules" / "jinxi"))
    assert not [j for j in plan.jobs if j.kind in (JobKind.QUIZ, JobKind.QUIZ_ANSWER)]


def test_a_question_each_wednesday_and_its_answer_the_next_morning(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"quiz": {"enabled": True}})
    plan = plan_campaign(load_campaign(jinxi.schedules))
    jobs = plan.by_key()
    asked, answer = jobs["quiz/2024-W19"], jobs["quiz/2024-W19/answer"]
    assert asked.kind is JobKind.QUIZ and answer.kind is JobKind.QUIZ_ANSWER
    assert asked.at == datetime(2024, 5, 8, 10, tzinfo=SHANGHAI)
    assert asked.due == answer.at == datetime(2024, 5, 9, 9, tzinfo=SHANGHAI)
    assert asked.targets == answer.targets
    assert asked.targets and all(t.group_kind is GroupKind.VILLAGERS for t in asked.targets)
    # 2024-10-02 is in the National Day holiday: that week has no quiz.
    assert "quiz/2024-W40" not in jobs and "quiz/2024-W41" in jobs


def test_the_town_sets_day_and_time_or_turns_it_off(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"quiz": {"enabled": True, "weekday": 2, "time": "15:30", "answer_time": "08:30"}})
    jobs = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    assert jobs["quiz/2024-W19"].at == datetime(2024, 5, 7, 15, 30, tzinfo=SHANGHAI)
    assert jobs["quiz/2024-W19/answer"].at == datetime(2024, 5, 8, 8, 30, tzinfo=SHANGHAI)
    set_town(jinxi.schedules, rules={"quiz": {"enabled": False}})
    assert not [j for j in plan_campaign(load_campaign(jinxi.schedules)).jobs if j.kind is JobKind.QUIZ]


def test_a_bad_weekday_is_named(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"quiz": {"weekday": 9}})
    with pytest.raises(ConfigError) as info:
        load_campaign(jinxi.schedules)
    assert "town.yaml" in str(info.value) and "rules.quiz.weekday" in str(info.value) and "9" in str(info.value)
