"""`check` lists every problem of every file in one run: a schema error in one place doesn't hide the cross-checks
and timing checks of everything else (issue 10, the outsider's town 双河镇 needed three runs)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import yaml

from bot.config.campaign import Sources, load
from bot.errors import ConfigError, Problem

ROOT = Path(__file__).resolve().parents[2]
SHUANGHE = ROOT / "tests" / "towns" / "shuanghe"


@pytest.fixture
def shuanghe(tmp_path: Path) -> Sources:
    """A copy of the outsider's town (written from the README alone) and the installed templates."""
    schedules = tmp_path / "shuanghe"
    shutil.copytree(SHUANGHE, schedules)
    return Sources(schedules, ROOT / "messages")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def errors(sources: Sources) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        load(sources)
    return list(info.value.problems)


def test_the_outsiders_town_loads_as_written(shuanghe: Sources) -> None:
    assert len(load(shuanghe).campaign.plans[0].activities) == 17


def test_one_mistake_of_each_kind_all_listed_in_one_run(shuanghe: Sources) -> None:
    town, units, plan = (shuanghe.schedules / n for n in ("town.yaml", "units.yaml", "plan-2025.yaml"))
    # Schema errors: an enum in town.yaml, a group's kind in units.yaml, a misspelt key in the plan.
    town.write_text(town.read_text(encoding="utf-8") + "rules:\n  chase: {workday: prevous}\n", encoding="utf-8")
    edit(units, "（一组～六组）, kind: villagers}", "（一组～六组）, kind: residents}")
    december = "    proof: {items: [活动照片], min_photos: 2, due: 12月24日}"
    misspelt = f"    responsable: [cunshequ]\n    responsible: [cunshequ]\n{december}"
    edit(plan, f"    responsible: [cunshequ, bumen, qiye]\n{december}", misspelt)
    # Cross-checks: a unit set naming another set, a reserved event id.
    edit(
        units,
        "  - {id: qiye, name: 相关民营企业, kinds: [enterprise]}",
        "  - {id: qiye, name: 相关民营企业, kinds: [enterprise]}\n  - {id: qiye-all, name: 企业, units: [qiye]}",
    )
    edit(plan, "{id: kaixue,", "{id: tongzhi,")
    # Timing: a proof due on the day of its request, in an activity with no other mistake.
    edit(plan, "due: 8月25日", "due: 7月31日")
    found = {(Path(p.file).name, p.place, p.line): p.message for p in errors(shuanghe)}
    assert set(found) == {
        ("town.yaml", "rules.chase.workday", 8),
        ("units.yaml", "units[0].groups[0].kind", 7),
        ("plan-2025.yaml", "activities[16].responsable", 115),
        ("units.yaml", "unit_sets[3].units[0]", 131),
        ("plan-2025.yaml", "activities[12].events[0].id", 91),
        ("plan-2025.yaml", "activities[11].proof.due", 85),
    }, found
    assert found[("town.yaml", "rules.chase.workday", 8)] == "只能写 next、previous、any"
    assert "不晚于请交材料的时间" in found[("plan-2025.yaml", "activities[11].proof.due", 85)]


def test_a_unit_left_out_for_its_own_error_is_not_also_unknown_to_the_plan(shuanghe: Sources) -> None:
    edit(
        shuanghe.schedules / "units.yaml",
        "  - id: shiqiao\n    name: 石桥村\n    kind: village",
        "  - id: shiqiao\n    name: 石桥村\n    kind: hamlet",
    )
    found = [(p.place, p.message) for p in errors(shuanghe)]
    assert found == [("units[0].kind", "只能写 village、community、department、school、enterprise")]


def test_a_problem_after_a_left_out_activity_points_at_its_own_line(shuanghe: Sources) -> None:
    plan = shuanghe.schedules / "plan-2025.yaml"
    edit(plan, "  - month: 1\n    id: 2025-01-xuexi", "  - month: 13\n    id: 2025-01-xuexi")
    edit(plan, "due: 8月25日", "due: 7月31日")
    found = {(p.place, p.line) for p in errors(shuanghe)}
    assert found == {("activities[0].month", 4), ("activities[11].proof.due", 85)}


def warnings_of(sources: Sources) -> dict[str, Problem]:
    return {w.place: w for w in load(sources).warnings}


def test_a_due_date_inside_the_event_is_a_warning(shuanghe: Sources) -> None:
    plan = shuanghe.schedules / "plan-2025.yaml"
    assert "activities[7].proof.due" not in warnings_of(shuanghe)  # due 5/28, after the week 5/19–25
    edit(plan, "due: 5月28日", "due: 5月21日")
    warned = warnings_of(shuanghe)["activities[7].proof.due"]
    assert warned.line == 60 and "活动还没结束（5月19日—5月25日）" in warned.message and "5月25日 之后" in warned.hint


def test_a_late_announcement_time_keeps_work_requests_in_office_hours_and_is_warned(shuanghe: Sources) -> None:
    town = shuanghe.schedules / "town.yaml"
    town.write_text(town.read_text(encoding="utf-8") + 'rules:\n  announce: {time: "20:30"}\n', encoding="utf-8")
    loaded = load(shuanghe)
    jobs = loaded.plan.by_key()
    # The pulled-forward request (October, 国庆 event) keeps its own 10:00, before the units' reminder.
    assert jobs["2025-10/announce"].at.strftime("%m-%d %H:%M") == "09-30 20:30"
    assert jobs["2025-10/proof_request"].at.strftime("%m-%d %H:%M") == "09-30 10:00"
    # The units' reminder would come the same morning as the 工作安排, which already says it: folded (M3).
    assert "2025-10/remind/guoqing-zhiyuan/units" not in jobs
    requests = [j.at.time() for k, j in jobs.items() if k.endswith("/proof_request")]
    assert all(8 <= t.hour < 18 for t in requests)
    warned = {w.place: w for w in loaded.warnings}
    assert "晚于给各单位的工作安排（10:00）" in warned["rules.announce.time"].message
    assert not [w for w in loaded.warnings if "先发" in w.message]  # said once for the town, not per month


def test_a_reminder_before_the_work_request_is_warned(shuanghe: Sources) -> None:
    town = shuanghe.schedules / "town.yaml"
    town.write_text(
        town.read_text(encoding="utf-8") + 'rules:\n  remind_units: {days_before: 4, time: "09:30"}\n',
        encoding="utf-8",
    )
    # (On the arrangement's own morning the reminder would be folded into it instead: issue 10 M3.)
    warned = warnings_of(shuanghe)["activities[13].events"]
    assert warned.message == "活动提醒（9月29日（周一）上午9点30分）比工作安排（9月30日（周二）上午10点）先发"


@pytest.mark.parametrize("zone", ["Europe/London", "Asia/Urumqi", "Mars/Olympus"])
def test_a_zone_other_than_chinas_is_an_error_with_a_hint(shuanghe: Sources, zone: str) -> None:
    edit(shuanghe.schedules / "town.yaml", "timezone: Asia/Shanghai", f"timezone: {zone}")
    (problem,) = errors(shuanghe)
    assert (problem.place, problem.value, problem.line) == ("town.timezone", zone, 2)
    assert problem.message == "laba 只按北京时间安排和发送，不能换时区：删掉 timezone 这一项，或写 Asia/Shanghai"


def _locs(node: object, loc: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(node, dict):
        return [loc, *(x for k, v in node.items() for x in _locs(v, (*loc, k)))]
    if isinstance(node, list):
        return [loc, *(x for i, v in enumerate(node) for x in _locs(v, (*loc, i)))]
    return [loc]


@pytest.mark.parametrize("seed", range(12))
def test_a_randomly_broken_town_is_reported_never_crashes_and_points_at_real_lines(
    shuanghe: Sources, seed: int
) -> None:
    rng = random.Random(seed)
    wrong: list[object] = ["", "x", -1, 99, [], {}, "13月5日", "residents", None, "qiye"]
    for _ in range(3):
        path = shuanghe.schedules / rng.choice(["town.yaml", "units.yaml", "plan-2025.yaml"])
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        loc = rng.choice([x for x in _locs(data) if x])
        parent = data
        for part in loc[:-1]:
            parent = parent[part]
        parent[loc[-1]] = rng.choice(wrong)
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        load(shuanghe)
    except ConfigError as exc:
        for problem in exc.problems:
            if problem.place and Path(problem.file).is_file():
                assert problem.line is not None, problem
                lines = Path(problem.file).read_text(encoding="utf-8").splitlines()
                # The line named is where the place named is written (safe_dump puts each key on its own line).
                last = problem.place.rsplit(".", 1)[-1]
                if "[" not in last and problem.message != "缺少这一项":
                    # (a list's or mapping's line is its first entry's, just below its key)
                    near = lines[max(problem.line - 2, 0) : problem.line]
                    assert any(f"{last}:" in ln for ln in near), (problem, near)


def test_a_rule_with_one_bad_key_is_checked_with_the_towns_default_not_an_empty_rules(jinxi: Sources) -> None:
    # Left out whole, `proof_due` is the town's default (the 25th, 18:00), as if the clerk hadn't written it; an
    # empty rule would be due on the 1st at 09:00, before every request: a dozen errors that aren't there.
    edit(jinxi.schedules / "town.yaml", '{day: 25, time: "18:00", workday: previous}', "{workday: prevous}")
    assert [p.place for p in errors(jinxi)] == ["rules.proof_due.workday"]
