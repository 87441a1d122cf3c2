"""The planner on the real 金溪 2024 plan and on small hand-made campaigns: days, times, targets, keys, warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.config.campaign import Sources
from bot.config.loader import load_campaign
from bot.core.model import Campaign, GroupKind, JobKind, UnitKind, WorkdayPolicy
from bot.core.planner import Plan, PlannedJob, plan_campaign
from bot.core.workdays import WorkCalendar
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """'2024-05-06 09:00' in the town's zone."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def real() -> Campaign:
    return load_campaign(ROOT / "schedules" / "jinxi")


@pytest.fixture(scope="module")
def plan(real: Campaign) -> Plan:
    return plan_campaign(real)


# --- helpers for hand-made campaigns (on the tmp copy made by the `jinxi` fixture) ------------------------------


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, ln in enumerate(lines, 1) if needle in ln)


def set_town(folder: Path, *, rules: dict[str, Any] | None = None, calendar: dict[str, Any] | None = None) -> None:
    path = folder / "town.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"].update(rules or {})
    if calendar is not None:
        data["calendar"] = calendar
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def activity_yaml(month: int, *, responsible: str = "[changchun]", extra: str = "", ident: str = "") -> str:
    head = f"  - id: {ident}\n    month: {month}\n" if ident else f"  - month: {month}\n"
    return (
        head + f"    title: {month}月活动\n    content: {month}月的活动内容\n    responsible: {responsible}\n" + extra
    )


def use_plan(folder: Path, year: int, activities: str) -> None:
    """Replace every plan file of the folder with one plan for `year`."""
    for p in folder.glob("plan-*.yaml"):
        p.unlink()
    (folder / f"plan-{year}.yaml").write_text(f"year: {year}\nactivities:\n{activities}", encoding="utf-8")


def ids(job: PlannedJob) -> list[str]:
    return [t.id for t in job.targets]


# --- the real 2024 plan -------------------------------------------------------------------------------------------


def test_may_2024(plan: Plan) -> None:
    may = plan.between(at("2024-05-01 00:00"), at("2024-06-01 00:00"))
    assert [(j.key, j.kind, j.at) for j in may] == [
        # 5月1日–5日 劳动节: the 1st rolls forward to Monday the 6th (May's clip went to the operators on 4/30,
        # the last workday before it first plays).
        ("2024-05/announce", JobKind.ANNOUNCE, at("2024-05-06 09:00")),
        ("2024-05/proof_request", JobKind.PROOF_REQUEST, at("2024-05-06 10:00")),
        # the event's clip first plays with the villagers' reminder (Sunday the 19th); operators get it on Friday.
        ("2024-05/broadcast/xuanchuanzhou", JobKind.BROADCAST, at("2024-05-17 10:00")),
        # units are reminded on a workday: the day before 宣传周 is a Sunday, so Friday.
        ("2024-05/remind/xuanchuanzhou/units", JobKind.REMIND, at("2024-05-17 10:00")),
        # villagers are reminded the day before, Sunday or not (remind's workday policy is `any`).
        ("2024-05/remind/xuanchuanzhou", JobKind.REMIND, at("2024-05-19 10:00")),
        # due 5月28日 18:00; 3 days before is Saturday the 25th, which rolls back to Friday the 24th.
        ("2024-05/chase", JobKind.CHASE, at("2024-05-24 10:00")),
        ("2024-06/broadcast", JobKind.BROADCAST, at("2024-05-29 10:00")),
        # 六一 is a Saturday, before June's first workday: June's announcement and the units' work arrangement go
        # out before the 六一 reminder, still in May.
        ("2024-06/announce", JobKind.ANNOUNCE, at("2024-05-30 09:00")),
        ("2024-06/broadcast/liuyi", JobKind.BROADCAST, at("2024-05-30 10:00")),
        ("2024-06/proof_request", JobKind.PROOF_REQUEST, at("2024-05-30 10:00")),
        ("2024-06/remind/liuyi", JobKind.REMIND, at("2024-05-31 10:00")),
        ("2024-06/remind/liuyi/units", JobKind.REMIND, at("2024-05-31 10:00")),
        ("2024-05/summary", JobKind.SUMMARY, at("2024-05-31 16:00")),
    ]
    by_key = plan.by_key()
    assert {by_key[k].due for k in ("2024-05/proof_request", "2024-05/chase", "2024-05/summary")} == {
        at("2024-05-28 18:00")
    }
    assert by_key["2024-05/remind/xuanchuanzhou"].event is not None
    assert by_key["2024-05/remind/xuanchuanzhou"].event.start == date(2024, 5, 20)
    assert ids(by_key["2024-05/summary"]) == ["jinxi-office"]


def test_announce_goes_to_every_villagers_group_the_arrangement_to_the_responsible_work_groups(
    real: Campaign, plan: Plan
) -> None:
    villagers = [g.id for u in real.units for g in u.groups if g.kind is GroupKind.VILLAGERS]
    responsible_kinds = {UnitKind.VILLAGE, UnitKind.COMMUNITY, UnitKind.DEPARTMENT, UnitKind.ENTERPRISE}
    work = [g.id for u in real.units if u.kind in responsible_kinds for g in u.groups if g.kind is GroupKind.WORK]
    by_key = plan.by_key()
    announce = by_key["2024-05/announce"]
    assert ids(announce) == villagers
    # One message to each unit: the work arrangement with the proof request (not two on the same morning).
    assert ids(by_key["2024-05/proof_request"]) == work
    assert len(villagers) == 7 and len(work) == 16
    assert "jinxi-school-work" not in ids(by_key["2024-05/proof_request"])  # the school is in no set May names
    assert "jinxi-office" not in ids(announce)
    # The remind of a dated event goes to the villagers, and separately (on a workday) to the units.
    assert ids(by_key["2024-05/remind/xuanchuanzhou"]) == villagers
    assert ids(by_key["2024-05/remind/xuanchuanzhou/units"]) == work


def test_proof_request_and_chase_go_only_to_responsible_work_groups(real: Campaign, plan: Plan) -> None:
    by_key = plan.by_key()
    request, chase = by_key["2024-05/proof_request"], by_key["2024-05/chase"]
    assert ids(request) == ids(chase)
    assert {t.group_kind for t in request.targets} == {GroupKind.WORK}
    assert len(request.targets) == 16
    assert request.activity is not None
    assert {t.unit for t in request.targets} == {u.id for u in real.responsible_units(request.activity)}


def test_june_is_only_for_the_school_the_culture_station_and_xiangjian(plan: Plan) -> None:
    by_key = plan.by_key()
    mine = ["jinxi-school-work", "wenhuazhan-work", "xiangjian-work"]
    assert ids(by_key["2024-06/proof_request"]) == mine
    assert ids(by_key["2024-06/chase"]) == mine
    assert ids(by_key["2024-06/remind/liuyi/units"]) == mine
    announce = ids(by_key["2024-06/announce"])
    assert all(t.endswith("-villagers") for t in announce) and len(announce) == 7


def test_one_summary_a_month_to_the_office_group(real: Campaign, plan: Plan) -> None:
    summaries = [j for j in plan.jobs if j.kind is JobKind.SUMMARY]
    assert [j.key for j in summaries] == [f"2024-{m:02d}/summary" for m in range(1, 13)]
    for job in summaries:
        assert ids(job) == [real.office_group] == ["jinxi-office"]
        assert job.targets[0].group_kind is GroupKind.OFFICE
        assert job.at.month == job.month  # last workday of its own month


def test_every_activity_gets_announce_and_proof_request_and_each_event_one_remind(real: Campaign, plan: Plan) -> None:
    keys = [j.key for j in plan.jobs]
    assert len(keys) == len(set(keys))
    (year,) = real.plans
    for act in year.activities:  # 金溪 has one activity a month: its announcement and arrangement keep its id
        assert f"{act.id}/announce" in keys and f"{act.id}/proof_request" in keys
        reminds = [j for j in plan.jobs if j.kind is JobKind.REMIND and j.activity_id == act.id]
        assert sorted(j.key for j in reminds) == sorted(
            key for ev in act.events for key in (f"{act.id}/remind/{ev.id}", f"{act.id}/remind/{ev.id}/units")
        )
        for job in reminds:
            assert job.event is not None
            day_before = job.event.start - timedelta(days=1)
            if job.key.endswith("/units"):  # to the units: the last workday before the event
                assert job.at.date() <= day_before and WorkCalendar().is_workday(job.at.date())
            else:  # to the villagers: 1 day before, 10:00, any day of the week
                assert job.at == datetime.combine(day_before, time(10), SHANGHAI)


def test_every_2024_job_is_outside_quiet_hours_in_town_time_and_in_order(real: Campaign, plan: Plan) -> None:
    # 12 announcements, requests, chases, summaries; 4 reminders each to villagers and to units; and a broadcast
    # job per activity (12) and per dated event (4)
    assert len(plan.jobs) == 12 * 4 + 4 * 2 + 16
    quiet = real.rules.quiet_hours
    for job in plan.jobs:
        assert job.at.isoformat().endswith("+08:00")
        assert not quiet.contains(job.at.time()), job.key
        assert job.targets, job.key
    assert list(plan.jobs) == sorted(plan.jobs, key=lambda j: (j.at, j.key))
    assert plan.warnings == ()


# --- 调休 and holidays ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "day", "policy", "expected"),
    [
        (2, 4, "next", date(2024, 2, 4)),  # Sunday, 调休 workday: stays
        (2, 11, "next", date(2024, 2, 18)),  # 春节 rolls onto the 调休 Sunday
        (2, 18, "previous", date(2024, 2, 18)),
        (4, 4, "next", date(2024, 4, 7)),  # 清明 rolls onto the 调休 Sunday
        (4, 7, "previous", date(2024, 4, 7)),
        (5, 11, "next", date(2024, 5, 11)),  # Saturday, 调休 workday: stays
        (5, 11, "previous", date(2024, 5, 11)),
        (5, 18, "next", date(2024, 5, 20)),  # a plain Saturday moves
        (5, 18, "previous", date(2024, 5, 17)),
        (9, 29, "next", date(2024, 9, 29)),  # Sunday, 调休 workday
        (10, 1, "next", date(2024, 10, 8)),  # 国庆 1–7 forward
        (10, 7, "previous", date(2024, 9, 30)),  # and backward
        (10, 1, "any", date(2024, 10, 1)),
    ],
)
def test_unit_facing_day_rules_follow_tiaoxiu(
    jinxi: Sources, month: int, day: int, policy: WorkdayPolicy, expected: date
) -> None:
    set_town(jinxi.schedules, rules={"proof_request": {"day": day, "time": "10:30", "workday": policy}})
    use_plan(jinxi.schedules, 2024, activity_yaml(month))
    job = plan_campaign(load_campaign(jinxi.schedules)).by_key()[f"2024-{month:02d}/proof_request"]
    assert job.at == datetime.combine(expected, time(10, 30), SHANGHAI)


def test_announce_on_a_tiaoxiu_saturday_stays(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"announce": {"day": 11, "time": "09:00", "workday": "next"}})
    use_plan(jinxi.schedules, 2024, activity_yaml(5) + activity_yaml(2))
    by_key = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    assert by_key["2024-05/announce"].at == at("2024-05-11 09:00")
    assert by_key["2024-02/announce"].at == at("2024-02-18 09:00")


def test_proof_due_on_a_tiaoxiu_sunday_stays_and_chase_rolls_back_over_spring_festival(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"proof_due": {"day": 18, "time": "17:00", "workday": "previous"}})
    use_plan(jinxi.schedules, 2024, activity_yaml(2))
    by_key = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    assert by_key["2024-02/proof_request"].due == at("2024-02-18 17:00")
    # 3 days before is the 15th, inside 春节 (10–17): back to Friday the 9th.
    assert by_key["2024-02/chase"].at == at("2024-02-09 10:00")


def test_no_chase_when_it_would_come_before_the_proof_request(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"proof_due": {"day": 7, "time": "18:00", "workday": "previous"}})
    use_plan(jinxi.schedules, 2024, activity_yaml(10) + activity_yaml(11))
    by_key = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    assert by_key["2024-10/proof_request"].at == at("2024-10-08 10:00")
    assert by_key["2024-10/proof_request"].due == at("2024-09-30 18:00")  # 1–7 are 国庆
    assert "2024-10/chase" not in by_key
    assert by_key["2024-11/chase"].at == at("2024-11-04 10:00")  # due Thursday the 7th


def test_explicit_proof_due_is_kept_as_written(jinxi: Sources) -> None:
    use_plan(jinxi.schedules, 2024, activity_yaml(5, extra="    proof:\n      due: 5月11日\n"))
    by_key = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    assert by_key["2024-05/proof_request"].due == at("2024-05-11 18:00")
    assert by_key["2024-05/chase"].at == at("2024-05-08 10:00")


# --- quiet hours ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["22:00", "07:30", "21:00"])
def test_send_time_inside_quiet_hours_is_a_config_error(jinxi: Sources, bad: str) -> None:
    town = jinxi.schedules / "town.yaml"
    replace_in(town, 'announce:      {day: 1, time: "09:00"', f'announce:      {{day: 1, time: "{bad}"')
    with pytest.raises(ConfigError) as info:
        load_campaign(jinxi.schedules)
    (problem,) = info.value.problems
    assert problem.file == town
    assert problem.place == "rules.announce.time"
    assert problem.value == bad
    assert problem.line == line_of(town, "announce:")
    assert "21:00" in problem.message and "08:00" in problem.message
    assert "town.yaml" in str(info.value) and "rules.announce.time" in str(info.value) and bad in str(info.value)


def test_every_rule_time_is_checked(jinxi: Sources) -> None:
    set_town(
        jinxi.schedules,
        rules={
            "remind": {"days_before": 1, "time": "06:00"},
            "chase": {"days_before": 3, "time": "23:59"},
            "summary": {"day": "last", "time": "20:59"},
        },
    )
    with pytest.raises(ConfigError) as info:
        load_campaign(jinxi.schedules)
    assert [(p.place, p.value) for p in info.value.problems] == [
        ("rules.remind.time", "06:00"),
        ("rules.chase.time", "23:59"),
    ]


def test_custom_quiet_hours(jinxi: Sources) -> None:
    set_town(
        jinxi.schedules,
        rules={
            "quiet_hours": {"start": "22:30", "end": "07:00"},
            "announce": {"day": 1, "time": "22:00", "workday": "next"},
            "remind": {"days_before": 1, "time": "07:00"},
        },
    )
    campaign = load_campaign(jinxi.schedules)
    by_key = plan_campaign(campaign).by_key()
    assert by_key["2024-05/announce"].at == at("2024-05-06 22:00")
    assert by_key["2024-05/remind/xuanchuanzhou"].at == at("2024-05-19 07:00")

    set_town(jinxi.schedules, rules={"remind": {"days_before": 1, "time": "06:59"}})
    with pytest.raises(ConfigError) as info:
        load_campaign(jinxi.schedules)
    assert [(p.place, p.value) for p in info.value.problems] == [("rules.remind.time", "06:59")]
    assert "22:30" in info.value.problems[0].message


def test_quiet_hours_within_one_day(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"quiet_hours": {"start": "12:00", "end": "14:00"}})
    load_campaign(jinxi.schedules)  # 09:00, 10:00 and 16:00 are all fine
    set_town(jinxi.schedules, rules={"announce": {"day": 1, "time": "12:30"}})
    with pytest.raises(ConfigError) as info:
        load_campaign(jinxi.schedules)
    assert [(p.place, p.value) for p in info.value.problems] == [("rules.announce.time", "12:30")]


# --- dated events and stable keys ---------------------------------------------------------------------------


def test_each_event_gets_one_remind_the_configured_days_before(jinxi: Sources) -> None:
    set_town(jinxi.schedules, rules={"remind": {"days_before": 2, "time": "09:30", "workday": "previous"}})
    events = (
        "    events:\n"
        "      - {id: a, name: 甲, start: 5月22日}\n"
        "      - {id: b, name: 乙, start: 5月25日, end: 5月26日}\n"
    )
    autumn = "    events:\n      - {id: c, name: 丙, start: 10月3日}\n"
    use_plan(jinxi.schedules, 2024, activity_yaml(5, extra=events) + activity_yaml(10, extra=autumn))
    jobs = plan_campaign(load_campaign(jinxi.schedules)).jobs
    reminds = [j for j in jobs if j.kind is JobKind.REMIND and not j.key.endswith("/units")]
    assert [(j.key, j.at) for j in reminds] == [
        ("2024-05/remind/a", at("2024-05-20 09:30")),
        ("2024-05/remind/b", at("2024-05-23 09:30")),
        ("2024-10/remind/c", at("2024-09-30 09:30")),  # 10月1日 is 国庆: back to the last workday
    ]


def test_keys_do_not_change_when_content_or_times_are_edited(jinxi: Sources) -> None:
    before = plan_campaign(load_campaign(jinxi.schedules))
    plan_file = jinxi.schedules / "plan-2024.yaml"
    replace_in(plan_file, "    title: 全国城市生活垃圾分类宣传周\n", "    title: 宣传周（改过的标题）\n")
    replace_in(plan_file, "开展第二届全国城市生活垃圾分类宣传周活动", "开展宣传周活动（改过的内容）")
    replace_in(plan_file, "        start: 5月20日", "        start: 5月21日")
    set_town(
        jinxi.schedules,
        rules={
            "announce": {"day": 2, "time": "08:30", "workday": "next"},
            "remind": {"days_before": 2, "time": "11:00"},
        },
    )
    after = plan_campaign(load_campaign(jinxi.schedules))
    assert set(after.by_key()) == set(before.by_key())
    old, new = before.by_key(), after.by_key()
    assert new["2024-05/announce"].at == at("2024-05-06 08:30") != old["2024-05/announce"].at
    assert new["2024-05/remind/xuanchuanzhou"].at == at("2024-05-19 11:00")
    assert new["2024-05/announce"].activity is not None
    assert new["2024-05/announce"].activity.title == "宣传周（改过的标题）"


def test_inserting_an_activity_or_event_changes_no_other_key(jinxi: Sources) -> None:
    before = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    plan_file = jinxi.schedules / "plan-2024.yaml"
    new_activity = activity_yaml(6, ident="2024-06-extra", responsible="[shanling]")
    replace_in(plan_file, "activities:\n", "activities:\n" + new_activity)
    replace_in(
        plan_file, "      - id: liuyi\n", "      - {id: ertong, name: 新增事件, start: 6月2日}\n      - id: liuyi\n"
    )
    after = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    # June's one announcement, work arrangement and clip now name both activities, under the month's keys.
    assert set(after) - set(before) == {
        "2024-06-extra/chase",
        "2024-06/remind/ertong",
        "2024-06/remind/ertong/units",
        "2024-06/broadcast/ertong",
    }
    assert set(before) <= set(after)
    for key, job in before.items():
        # Same job, same day; a job may step aside by half an hour for a new one in the same group and minute.
        assert (after[key].kind, after[key].at.date()) == (job.kind, job.at.date()), key
        assert timedelta(0) <= after[key].at - job.at <= timedelta(hours=1), key


# --- determinism ---------------------------------------------------------------------------------------------


def test_planning_is_deterministic(jinxi: Sources) -> None:
    first = plan_campaign(load_campaign(jinxi.schedules))
    assert plan_campaign(load_campaign(jinxi.schedules)) == first
    assert plan_campaign(load_campaign(jinxi.schedules)).jobs == first.jobs


def test_plan_does_not_depend_on_the_process_time_zone(jinxi: Sources, tmp_path: Path) -> None:
    outputs = []
    for zone in ("UTC", "America/New_York", "Asia/Shanghai"):
        env = {**os.environ, "TZ": zone, "BOT_DATA_DIR": str(tmp_path / "data")}
        args = ["--schedules", str(jinxi.schedules), "--messages", str(jinxi.messages), "--json"]
        done = subprocess.run(
            [sys.executable, "-m", "bot", "plan", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    rows = json.loads(outputs[0])
    assert len(rows) == 72
    assert all(r["at"].endswith("+08:00") for r in rows)
    # January's clip reaches the operators on the last workday before it first plays (1月1日 is a holiday).
    assert rows[0]["key"] == "2024-01/broadcast" and rows[0]["at"] == "2023-12-29T10:00:00+08:00"
    assert rows[1]["key"] == "2024-01/announce" and rows[1]["at"] == "2024-01-02T09:00:00+08:00"


# --- years the statutory table doesn't know ------------------------------------------------------------------


def _plan_2031(folder: Path) -> None:
    (folder / "plan-2031.yaml").write_text(
        "year: 2031\nactivities:\n" + activity_yaml(1) + activity_yaml(2) + activity_yaml(10), encoding="utf-8"
    )


def test_unknown_year_plans_monday_to_friday_and_warns(jinxi: Sources) -> None:
    _plan_2031(jinxi.schedules)
    plan = plan_campaign(load_campaign(jinxi.schedules))
    (warning,) = plan.warnings
    assert "2031" in warning and "法定节假日" in warning and "extra_holidays" in warning
    by_key = plan.by_key()
    assert by_key["2031-01/announce"].at == at("2031-01-01 09:00")  # a Wednesday; the table would say 元旦
    assert by_key["2031-02/announce"].at == at("2031-02-03 09:00")  # 1st is a Saturday
    assert by_key["2031-10/announce"].at == at("2031-10-01 09:00")  # a Wednesday; the table would say 国庆
    assert by_key["2024-05/announce"].at == at("2024-05-06 09:00")  # known years are unaffected


def test_calendar_overrides_are_honoured(jinxi: Sources) -> None:
    _plan_2031(jinxi.schedules)
    set_town(
        jinxi.schedules,
        calendar={
            "extra_holidays": ["2031年1月1日", "2031-10-01", "2031-10-02", "2024年5月6日"],
            "extra_workdays": ["2031年2月1日"],
        },
    )
    by_key = plan_campaign(load_campaign(jinxi.schedules)).by_key()
    assert by_key["2031-01/announce"].at == at("2031-01-02 09:00")
    assert by_key["2031-02/announce"].at == at("2031-02-01 09:00")
    assert by_key["2031-10/announce"].at == at("2031-10-03 09:00")
    assert by_key["2024-05/announce"].at == at("2024-05-07 09:00")  # an override also beats the table


def test_a_month_with_two_activities_has_one_announcement_and_one_arrangement_per_unit(jinxi: Sources) -> None:
    """Issue 10 M3: two activities in June give villagers one announcement and each unit one arrangement naming
    both, in the order they happen; a units' reminder on the arrangement's morning is folded into it."""
    plan_file = jinxi.schedules / "plan-2024.yaml"
    replace_in(
        plan_file, "activities:\n", "activities:\n" + activity_yaml(6, ident="2024-06-extra", responsible="[shanling]")
    )
    jobs = plan_campaign(load_campaign(jinxi.schedules)).jobs
    june = [
        j
        for j in jobs
        if j.month == 6 and (j.kind in (JobKind.ANNOUNCE, JobKind.PROOF_REQUEST) or (j.broadcast and not j.event))
    ]
    assert sorted(j.key for j in june) == ["2024-06/announce", "2024-06/broadcast", "2024-06/proof_request"]
    for job in june:
        assert [a.id for a in job.covers] == ["2024-06-extra", "2024-06"]  # no event first, then 六一
    (request,) = (j for j in june if j.kind is JobKind.PROOF_REQUEST)
    assert len({t.id for t in request.targets}) == len(request.targets)
    for job in jobs:
        if job.kind is JobKind.REMIND and job.key.endswith("/units"):
            assert not (job.at.date() == request.at.date() and job.at.hour < 12), job.key


def test_a_chase_that_would_fall_before_the_request_moves_to_the_first_workday_after_it() -> None:
    # 双河镇, October: 国庆 event pulls the request forward to 9/30; due 10/11 (a 调休 Saturday). 3 days before
    # is 10/8 (holiday) -> previous workday 9/30, the request's own day: the clerk's chase is 10/9, after the holiday.
    by_key = plan_campaign(load_campaign(ROOT / "tests" / "towns" / "shuanghe")).by_key()
    assert by_key["2025-10/proof_request"].at == at("2025-09-30 10:00")
    assert by_key["2025-10/chase"].at == at("2025-10-09 10:00")
    assert by_key["2025-10/chase"].due == at("2025-10-11 18:00")
