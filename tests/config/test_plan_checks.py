"""`check` catches what the planner would otherwise work around in silence: errors and warnings with file, line,
place and hint, every file's problems in one run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources, load
from bot.config.loader import load_campaign
from bot.config.plan_checks import season_warnings
from bot.errors import ConfigError, Problem


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def errors(sources: Sources) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as info:
        load(sources)
    return info.value.problems


def line(path: Path, needle: str) -> int:
    return next(i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in ln)


def test_the_real_files_have_no_errors_and_say_why_june_is_early(jinxi: Sources) -> None:
    warnings = load(jinxi).warnings
    assert [(w.place, w.warning) for w in warnings] == [("activities[5].events[0].start", True)]
    assert "提前到 5月30日（周四）上午9点" in warnings[0].message


def test_a_proof_due_before_its_request_is_an_error(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(
        plan,
        "    proof:\n      items: [学习活动照片, 会议记录]\n",
        "    proof:\n      items: [学习活动照片, 会议记录]\n      due: 1月1日\n",
    )
    (problem,) = errors(jinxi)
    assert (problem.file, problem.place) == (plan, "activities[0].proof.due")
    assert problem.line == line(plan, "due: 1月1日")
    assert "来不及交" in problem.message and "不会催交" in problem.message and problem.hint


def test_a_chase_that_would_be_dropped_or_come_hours_after_the_request_is_a_warning(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(
        plan,
        "    proof:\n      items: [学习活动照片, 会议记录]\n",
        "    proof:\n      items: [学习活动照片, 会议记录]\n      due: 1月3日\n",
    )
    warned = [w for w in load(jinxi).warnings if w.place == "activities[0].proof"]
    assert len(warned) == 1 and "之后、截止日之前没有工作日，这项活动不会催交" in warned[0].message
    assert warned[0].line in (line(plan, "due: 1月3日") - 2, line(plan, "due: 1月3日") - 1)


def test_a_due_date_before_the_activitys_event_is_an_error(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(plan, "      due: 5月28日", "      due: 5月15日")
    problem = next(p for p in errors(jinxi) if p.place == "activities[4].proof.due")
    assert "早于活动的第一个事件（5月20日）" in problem.message and problem.line == line(plan, "due: 5月15日")


def test_a_plan_whose_year_differs_from_its_file_name_is_one_error_not_dozens(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    (jinxi.schedules / "plan-2025.yaml").write_text(plan.read_text(encoding="utf-8"), encoding="utf-8")
    (problem,) = errors(jinxi)
    assert problem.file == jinxi.schedules / "plan-2025.yaml" and problem.place == "year"
    assert "plan-2025.yaml" in problem.message and "2025" in problem.hint


def test_min_photos_zero_is_a_warning_and_messages_do_not_say_zero_photos(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(plan, "      min_photos: 3\n", "      min_photos: 0\n")
    loaded = load(jinxi)
    (warning,) = [w for w in loaded.warnings if w.place == "activities[3].proof.min_photos"]
    assert warning.line == line(plan, "min_photos: 0")
    job = loaded.plan.by_key()["2024-04/proof_request"]
    from bot.core.render import ProofFacts

    assert "0张" not in loaded.renderer.render(job, job.targets[0], ProofFacts())


def test_a_unit_set_naming_a_set_or_itself_is_said_so(jinxi: Sources) -> None:
    units = jinxi.schedules / "units.yaml"
    edit(units, "    kinds: [enterprise]\n", "    kinds: [enterprise]\n    units: [enterprises, departments]\n")
    problems = errors(jinxi)
    assert [p.value for p in problems] == ["enterprises", "departments"]
    assert "它自己" in problems[0].message and "另一个单位集合 departments" in problems[1].message
    assert all("没有这个单位" not in p.message and "kinds" in p.hint for p in problems)


def test_a_village_without_a_broadcast_operator_is_a_warning(jinxi: Sources) -> None:
    units = jinxi.schedules / "units.yaml"
    edit(units, "    broadcast_operator: {id: taiping-gb, name: 马强, role: 广播员, wechat: maqiang-gb}\n", "")
    (warning,) = [w for w in load(jinxi).warnings if w.file == units]
    assert "太平村 没有广播员" in warning.message and warning.value == "taiping"


def test_an_event_id_that_would_share_a_clip_name_is_an_error(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(plan, "      - id: liuyi\n", "      - id: tongzhi\n")
    (problem,) = errors(jinxi)
    assert problem.place == "activities[5].events[0].id" and "tongzhi" in problem.message


def test_every_files_problems_in_one_run(jinxi: Sources) -> None:
    town = jinxi.schedules / "town.yaml"
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(town, 'announce:      {day: 1, time: "09:00"', 'announce:      {day: 1, time: "22:00"')
    edit(plan, "    title: 公共场所垃圾分类活动\n", "    titel: 公共场所垃圾分类活动\n")
    with pytest.raises(ConfigError) as info:
        load_campaign(jinxi.schedules)
    files = {p.file for p in info.value.problems}
    assert files == {town, plan}


def test_no_raw_pydantic_text(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(plan, "    title: 公共场所垃圾分类活动\n", "")
    edit(plan, "  - month: 11\n", "  - month: 十一\n")
    edit(plan, "      min_photos: 3\n", "      min_photos: 99\n")
    messages = [p.message for p in errors(jinxi)]
    assert {"要写整数", "缺少这一项", "不能大于 50"} == set(messages)
    assert not any(w in m for m in messages for w in ("Field required", "Input should", "Value error"))


def test_a_plan_in_the_past_or_none_for_this_year_is_warned(jinxi: Sources) -> None:
    campaign = load(jinxi).campaign
    assert "已经全部过去" in season_warnings(campaign, datetime(2025, 3, 1, tzinfo=TOWN_ZONE))[0]
    assert season_warnings(campaign, datetime(2024, 3, 1, tzinfo=TOWN_ZONE)) == []
    assert "没有 2023 年的计划" in season_warnings(campaign, datetime(2023, 3, 1, tzinfo=TOWN_ZONE))[0]


def test_what_villagers_read_is_checked(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(plan, "    title: 学习贯彻习近平总书记重要回信精神\n", "    title: 学习贯彻重要回信精神\n")
    edit(plan, "        name: “3.19”城市管理服务主题周\n", "        name: “3.19”主题周暨誓师大会启动仪式\n")
    edit(plan, "        start: 3月19日\n        end: 3月25日\n", "        start: 3月19日\n")
    edit(plan, "        name: 第二届全国城市生活垃圾分类宣传周\n", "        name: 宣传周\n")
    edit(plan, "        end: 5月26日\n", "")
    warnings = {w.place: w for w in load(jinxi).warnings}
    assert "习近平总书记" in warnings["activities[0].title"].message
    assert "学习贯彻习近平总书记重要回信精神" in warnings["activities[0].title"].hint
    assert "干部参加的会议" in warnings["activities[2].events[0].name"].message
    assert "只写了一天" in warnings["activities[4].events[0].start"].message
    assert warnings["activities[0].title"].line == line(plan, "title: 学习贯彻重要回信精神")


def test_an_event_past_the_due_day_moves_the_due_date_after_it(jinxi: Sources) -> None:
    """春节 across the month: the rule's 25th would come before the event ends; proof is due two days after it."""
    plan = jinxi.schedules / "plan-2024.yaml"
    edit(
        plan,
        "    proof:\n      items: [活动照片]\n\n  - month: 3\n",
        "    events:\n      - {id: chunjie, name: 春节期间宣传, start: 2月20日, end: 2月28日}\n"
        "    proof:\n      items: [活动照片]\n\n  - month: 3\n",
    )
    loaded = load(jinxi)
    request = loaded.plan.by_key()["2024-02/proof_request"]
    assert request.due is not None and request.due.date().isoformat() == "2024-03-01"
    (warning,) = [w for w in loaded.warnings if w.place == "activities[1].events"]
    assert "截止改为 3月1日（周五）下午6点" in warning.message
    assert "2024-02/final_summary" in loaded.plan.by_key()  # the month's summary comes before that due date
