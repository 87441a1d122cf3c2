"""The weekly quiz's planned jobs: one question and one answer a week on workdays of activity months, keyed by
ISO week, on by default to the villagers' groups whose replies reach the bot (a WeChat gateway, not a robot, not
the relay, never the outbox); configurable and validated in town.yaml."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config.campaign import Sources, load
from bot.config.loader import load_campaign
from bot.core.model import Campaign, GroupKind, JobKind
from bot.core.planner import Plan, plan_campaign, villager_targets
from bot.core.routes import reply_groups
from bot.errors import ConfigError
from tests.core.test_planner import ROOT, set_town

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _on_wechat(campaign: Campaign, robots: frozenset[str] = frozenset()) -> Plan:
    """The plan as a daemon on a WeChat gateway runs it (with robots in `robots`' groups)."""
    return plan_campaign(campaign, reply_groups(campaign, robots, default_takes_replies=True))


def _quiz_jobs(plan: Plan) -> list[str]:
    return [j.key for j in plan.jobs if j.kind in (JobKind.QUIZ, JobKind.QUIZ_ANSWER)]


def test_no_quiz_where_no_reply_reaches_the_bot() -> None:
    """The embedded defaults (the outbox) hear no group: the plan is as it was before the quiz existed."""
    campaign = load_campaign(ROOT / "schedules" / "jinxi")
    assert campaign.rules.quiz.enabled  # on by default ...
    assert not _quiz_jobs(plan_campaign(campaign))  # ... but nowhere to ask
    assert not _quiz_jobs(plan_campaign(campaign, reply_groups(campaign, frozenset(), default_takes_replies=False)))


def test_on_by_default_a_question_each_wednesday_and_its_answer_the_next_morning() -> None:
    campaign = load_campaign(ROOT / "schedules" / "jinxi")
    jobs = _on_wechat(campaign).by_key()
    asked, answer = jobs["quiz/2024-W19"], jobs["quiz/2024-W19/answer"]
    assert asked.kind is JobKind.QUIZ and answer.kind is JobKind.QUIZ_ANSWER
    assert asked.at == datetime(2024, 5, 8, 10, tzinfo=SHANGHAI)
    assert asked.due == answer.at == datetime(2024, 5, 9, 9, tzinfo=SHANGHAI)
    assert asked.targets == answer.targets
    # Every villagers' group, and only those: the gateway hears them all.
    assert {t.id for t in asked.targets} == {t.id for t in villager_targets(campaign)}
    assert all(t.group_kind is GroupKind.VILLAGERS for t in asked.targets)
    # 2024-10-02 is in the National Day holiday: that week has no quiz.
    assert "quiz/2024-W40" not in jobs and "quiz/2024-W41" in jobs


def test_robot_and_relay_groups_get_no_quiz(jinxi: Sources) -> None:
    units = jinxi.schedules / "units.yaml"
    text = units.read_text(encoding="utf-8")
    units.write_text(
        text.replace("name: 杉岭村村民群🌲, kind: villagers}", "name: 杉岭村村民群🌲, kind: villagers, via: relay}"),
        encoding="utf-8",
    )
    campaign = load_campaign(jinxi.schedules)
    asked = _on_wechat(campaign, robots=frozenset({"changchun-villagers"})).by_key()["quiz/2024-W19"]
    ids = {t.id for t in asked.targets}
    assert "changchun-villagers" not in ids  # a robot only posts
    assert "shanling-villagers" not in ids  # the relay people post by hand
    assert ids == {t.id for t in villager_targets(campaign)} - {"changchun-villagers", "shanling-villagers"}
    # No group left that can answer: no quiz at all, not a question into the void.
    every = frozenset(t.id for t in villager_targets(campaign))
    assert not _quiz_jobs(_on_wechat(campaign, robots=every))


def test_load_plans_the_quiz_for_the_channel_and_robots_of_its_sources(jinxi: Sources, tmp_path: Path) -> None:
    assert not _quiz_jobs(load(jinxi).plan)  # Sources default to the outbox
    on_wechat = replace(jinxi, channel="wechaty")
    assert len(load(on_wechat).plan.by_key()["quiz/2024-W19"].targets) == len(villager_targets(load(jinxi).campaign))
    robots = tmp_path / "robots.yaml"
    robots.write_text(
        "changchun-villagers:\n  webhook: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc\n",
        encoding="utf-8",
    )
    robots.chmod(0o600)
    with_robot = replace(on_wechat, robots=robots)
    asked = load(with_robot).plan.by_key()["quiz/2024-W19"]
    assert "changchun-villagers" not in {t.id for t in asked.targets}
    # Adding the robot changed what load reads: the daemon re-plans (and drops the group from the quiz).
    assert with_robot.fingerprint() != on_wechat.fingerprint()


def test_the_town_sets_day_and_time_or_turns_it_off(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"quiz": {"weekday": 2, "time": "15:30", "answer_time": "08:30"}})
    jobs = _on_wechat(load_campaign(jinxi.schedules)).by_key()
    assert jobs["quiz/2024-W19"].at == datetime(2024, 5, 7, 15, 30, tzinfo=SHANGHAI)
    assert jobs["quiz/2024-W19/answer"].at == datetime(2024, 5, 8, 8, 30, tzinfo=SHANGHAI)
    set_town(jinxi.schedules, rules={"quiz": {"enabled": False}})
    assert not _quiz_jobs(_on_wechat(load_campaign(jinxi.schedules)))


def test_a_bad_weekday_is_named(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"quiz": {"weekday": 9}})
    with pytest.raises(ConfigError) as info:
        load_campaign(jinxi.schedules)
    assert "town.yaml" in str(info.value) and "rules.quiz.weekday" in str(info.value) and "9" in str(info.value)
