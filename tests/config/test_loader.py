"""Loading a town's folder: the real files load; each kind of bad edit raises one ConfigError that names the file,
the place inside it, the bad value and the line, and lists every problem found."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from bot.config.campaign import Sources
from bot.config.loader import load_campaign
from bot.core.model import GroupKind
from bot.errors import ConfigError, Problem

ROOT = Path(__file__).resolve().parents[2]


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """The line number of the nth line containing `needle`."""
    hits = [i for i, ln in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in ln]
    return hits[nth - 1]


def problems(folder: Path) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as info:
        load_campaign(folder)
    assert info.value.problems
    for p in info.value.problems:  # what the CLI prints names the file, and the line where there is one
        assert str(p.file) in str(info.value)
        if p.line:
            assert f"{p.file}:{p.line}" in str(info.value)
    return info.value.problems


def only(folder: Path) -> Problem:
    (problem,) = problems(folder)
    return problem


@pytest.fixture
def folder(jinxi: Sources) -> Path:
    return jinxi.schedules


@pytest.fixture
def plan(folder: Path) -> Path:
    return folder / "plan-2024.yaml"


@pytest.fixture
def units(folder: Path) -> Path:
    return folder / "units.yaml"


@pytest.fixture
def town(folder: Path) -> Path:
    return folder / "town.yaml"


# --- the real files -----------------------------------------------------------------------------------------------


def test_the_real_files_load() -> None:
    c = load_campaign(ROOT / "schedules" / "jinxi")
    assert c.town.id == "jinxi" and c.town.timezone == "Asia/Shanghai"
    assert len(c.units) == 17 and [p.year for p in c.plans] == [2024]
    (year,) = c.plans
    assert [a.id for a in year.activities] == [f"2024-{m:02d}" for m in range(1, 13)]  # ids default to YYYY-MM
    may = year.activities[4]
    assert may.events[0].start == date(2024, 5, 20) and may.events[0].end == date(2024, 5, 26)
    assert may.proof.due == date(2024, 5, 28)
    assert c.rules.announce.time == time(9, 0) and c.rules.summary.day == "last"
    assert c.group("jinxi-office")[0].kind is GroupKind.OFFICE
    assert [u.id for u in c.members("enterprises")] == ["ent-shanquan", "ent-xinyuan", "ent-shunda"]


# --- one problem at a time ----------------------------------------------------------------------------------------


def test_malformed_yaml_gives_the_line(plan: Path, folder: Path) -> None:
    replace_in(plan, "    content: 开展“敲门行动”入户宣传\n", "   content: 开展“敲门行动”入户宣传\n")
    problem = only(folder)
    assert problem.file == plan
    assert problem.line == line_of(plan, "   content: 开展“敲门行动”入户宣传")
    assert "YAML" in problem.message and "缩进" in problem.hint


def test_tab_indentation(plan: Path, folder: Path) -> None:
    replace_in(plan, "    title: 学习贯彻习近平总书记重要回信精神\n", "\ttitle: 学习贯彻习近平总书记重要回信精神\n")
    problem = only(folder)
    assert (problem.file, problem.line) == (plan, line_of(plan, "\ttitle"))


def test_unknown_key(plan: Path, folder: Path) -> None:
    replace_in(plan, "    responsible: [villages, departments]\n", "    responsibel: [villages, departments]\n")
    found = {p.place: p for p in problems(folder)}
    typo = found["activities[3].responsibel"]
    assert (typo.file, typo.value, typo.line) == (plan, "responsibel", line_of(plan, "responsibel"))
    assert "responsibel" in typo.message and "拼写" in typo.hint
    missing = found["activities[3].responsible"]  # and the real key is now missing
    assert missing.file == plan and missing.line == line_of(plan, "  - month: 4")
    assert set(found) == {"activities[3].responsibel", "activities[3].responsible"}


def test_unknown_unit_in_responsible(plan: Path, folder: Path) -> None:
    replace_in(
        plan, "    responsible: [villages, departments]\n", "    responsible: [villages, departments, changchn]\n"
    )
    problem = only(folder)
    assert (problem.file, problem.place, problem.value) == (plan, "activities[3].responsible[2]", "changchn")
    assert problem.line == line_of(plan, "changchn")
    assert "changchun" in problem.hint  # the hint lists what exists


def test_impossible_date(plan: Path, folder: Path) -> None:
    replace_in(
        plan,
        "    responsible: [villages, departments]\n",
        "    responsible: [villages, departments]\n    events:\n      - id: qiaomen\n        name: 敲门日\n"
        "        start: 4月31日\n",
    )
    problem = only(folder)
    assert (problem.file, problem.place, problem.value) == (plan, "activities[3].events[0].start", "4月31日")
    assert "4月没有31日" in problem.message
    assert problem.line == line_of(plan, "start: 4月31日")


@pytest.mark.parametrize(
    ("written", "says", "value"),
    [
        ("13月1日", "没有13月", "13月1日"),
        ("2月30日", "2月没有30日", "2月30日"),
        ("五月二十日", "日期写成", "五月二十日"),
        ("2023年5月20日", "不在 2024 年", "2023-05-20"),
    ],
)
def test_other_bad_dates(plan: Path, folder: Path, written: str, says: str, value: str) -> None:
    replace_in(plan, "        start: 5月20日\n", f"        start: {written}\n")
    problem = only(folder)
    assert (problem.place, problem.value) == ("activities[4].events[0].start", value)
    assert problem.line == line_of(plan, "start: " + written)
    assert says in problem.message


def test_end_before_start(plan: Path, folder: Path) -> None:
    replace_in(plan, "        end: 5月26日\n", "        end: 5月19日\n")
    problem = only(folder)
    assert (problem.file, problem.place, problem.value) == (plan, "activities[4].events[0].end", "5月19日")
    assert problem.line == line_of(plan, "end: 5月19日")
    assert "早于" in problem.message and "2024-05-20" in problem.message


def test_missing_units_file(units: Path, folder: Path) -> None:
    units.unlink()
    problem = only(folder)
    assert problem.file == units and "不存在" in problem.message


def test_no_plan_file(plan: Path, folder: Path) -> None:
    plan.unlink()
    problem = only(folder)
    assert (problem.file, problem.value) == (folder, "plan-*.yaml")
    assert "计划文件" in problem.message and "plan-2024.yaml" in problem.hint


def test_missing_folder(tmp_path: Path) -> None:
    problem = only(tmp_path / "nowhere")
    assert problem.file == tmp_path / "nowhere"


def test_empty_file(town: Path, folder: Path) -> None:
    town.write_text("# nothing yet\n", encoding="utf-8")
    found = problems(folder)
    assert {p.file for p in found} == {town}
    assert {p.place for p in found} >= {"town", "office_group", "admins"}


def test_duplicate_unit_ids(units: Path, folder: Path) -> None:
    replace_in(units, "  - id: shanling\n", "  - id: changchun\n")
    problem = only(folder)
    assert (problem.file, problem.place, problem.value) == (units, "units[2].id", "changchun")
    assert problem.line == line_of(units, "  - id: changchun", nth=2)


def test_duplicate_group_ids(units: Path, folder: Path) -> None:
    replace_in(units, "{id: shanling-work,", "{id: changchun-work,")
    problem = only(folder)
    assert (problem.place, problem.value) == ("units[2].groups[1].id", "changchun-work")
    assert problem.line == line_of(units, "{id: changchun-work,", nth=2)


def test_duplicate_activity_ids(plan: Path, folder: Path) -> None:
    replace_in(plan, "  - month: 9\n", "  - id: 2024-08\n    month: 9\n")
    found = problems(folder)
    assert [(p.place, p.value) for p in found] == [("activities[7].id", "2024-08"), ("activities[8].id", "2024-08")]
    assert found[1].line == line_of(plan, "  - id: 2024-08")


def test_office_group_pointing_at_a_work_group(town: Path, folder: Path) -> None:
    replace_in(town, "office_group: jinxi-office ", "office_group: changchun-work ")
    problem = only(folder)
    assert (problem.file, problem.place, problem.value) == (town, "office_group", "changchun-work")
    assert problem.line == line_of(town, "office_group:")
    assert "work" in problem.message and "office" in problem.message


def test_office_group_that_does_not_exist(town: Path, folder: Path) -> None:
    replace_in(town, "office_group: jinxi-office ", "office_group: nowhere ")
    problem = only(folder)
    assert (problem.place, problem.value) == ("office_group", "nowhere")


def test_duplicate_key_in_a_mapping(plan: Path, folder: Path) -> None:
    replace_in(
        plan, "    content: 开展“敲门行动”入户宣传\n", "    content: 开展“敲门行动”入户宣传\n    title: 又一个标题\n"
    )
    problem = only(folder)
    assert (problem.file, problem.place, problem.value) == (plan, "activities[3].title", "title")
    assert problem.line == line_of(plan, "title: 又一个标题")


def test_bad_slug_and_wrong_type(units: Path, folder: Path) -> None:
    replace_in(units, "  - id: shanling\n", "  - id: 杉岭\n")
    replace_in(
        units,
        "    kind: enterprise\n    groups:\n      - {id: ent-shunda-work",
        "    kind: shop\n    groups:\n      - {id: ent-shunda-work",
    )
    found = {p.place: p for p in problems(folder)}
    assert found["units[2].id"].value == "杉岭" and found["units[2].id"].line == line_of(units, "id: 杉岭")
    assert found["units[16].kind"].value == "shop" and found["units[16].kind"].line == line_of(units, "kind: shop")


def test_undated_override_needs_a_year(town: Path, folder: Path) -> None:
    replace_in(town, "  extra_holidays: []", "  extra_holidays: [10月9日]")
    problem = only(folder)
    assert (problem.place, problem.value) == ("calendar.extra_holidays[0]", "10月9日")
    assert "年份" in problem.message and problem.line == line_of(town, "extra_holidays:")


def test_except_removes_a_unit_from_a_set(units: Path, plan: Path, folder: Path) -> None:
    # 武装部 has no work group and no contacts, but `departments` leaves it out, so no plan entry reaches it.
    replace_in(
        units,
        "    groups:\n      - {id: wuzhuangbu-work, name: 金溪镇人民武装部工作群, kind: work}\n"
        "    contacts:\n      - {id: wuzhuangbu-luojun, name: 罗军, role: 部长, wechat: luojun-jx}\n",
        "",
    )
    replace_in(units, "    kinds: [department]\n", "    kinds: [department]\n    except: [wuzhuangbu]\n")
    replace_in(plan, "[wenhuazhan, xiangjian, wuzhuangbu]", "[wenhuazhan, xiangjian]")
    c = load_campaign(folder)
    assert "wuzhuangbu" not in [u.id for u in c.members("departments")]

    # ...but naming it directly still is an error: it could not be asked for proof.
    replace_in(plan, "[wenhuazhan, xiangjian]", "[wenhuazhan, xiangjian, wuzhuangbu]")
    problem = only(folder)
    assert (problem.place, problem.value) == ("activities[7].responsible[2]", "wuzhuangbu")
    assert "没有工作群也没有联系人" in problem.message


def test_a_set_emptied_by_except_is_reported(units: Path, folder: Path) -> None:
    # Left unreported, a month naming only this set would ask no one for proof.
    replace_in(
        units,
        "    kinds: [enterprise]\n",
        "    kinds: [enterprise]\n    except: [ent-shanquan, ent-xinyuan, ent-shunda]\n",
    )
    found = problems(folder)
    assert {p.value for p in found} == {"enterprises"}
    assert all("一个单位也没有" in p.message for p in found)
    assert [p.place for p in found] == [  # every month that names 相关民营企业, where it does
        f"activities[{i}].responsible[2]" for i in (0, 1, 2, 4, 6, 9, 10, 11)
    ]


# --- several at once ----------------------------------------------------------------------------------------------


def test_every_problem_in_every_file_is_reported(town: Path, plan: Path, folder: Path) -> None:
    replace_in(town, "  min_photos: 2 ", "  min_photos: -1 ")
    replace_in(plan, "        start: 5月20日\n", "        start: 5月32日\n")
    replace_in(plan, "      - id: liuyi\n", "      - id: liuyi\n        when: 六一\n")
    replace_in(plan, "  - month: 12\n", "  - month: 13\n")
    found = problems(folder)
    assert sorted((p.file.name, p.place) for p in found if isinstance(p.file, Path)) == [
        ("plan-2024.yaml", "activities[11].month"),
        ("plan-2024.yaml", "activities[4].events[0].start"),
        ("plan-2024.yaml", "activities[5].events[0].when"),
        ("town.yaml", "rules.min_photos"),
    ]
    assert all(p.line for p in found)


def test_broken_yaml_in_two_files_is_reported_together(units: Path, plan: Path, folder: Path) -> None:
    replace_in(units, "  - id: shanling\n", "  - id: shanling\n   name: 坏缩进\n")
    replace_in(plan, "    title: 学习贯彻习近平总书记重要回信精神\n", "    title: [没关上\n")
    found = problems(folder)
    assert [p.file for p in found] == [units, plan]
    assert all(p.line and "YAML" in p.message for p in found)


def test_cross_file_problems_are_reported_together(town: Path, units: Path, plan: Path, folder: Path) -> None:
    replace_in(town, "office_group: jinxi-office ", "office_group: changchun-villagers ")
    replace_in(units, "    kinds: [department]\n", "    kinds: [department]\n    units: [nobody]\n")
    replace_in(plan, "    responsible: [villages, departments]\n", "    responsible: [villages, nobody]\n")
    found = problems(folder)
    assert sorted((str(Path(p.file).name), p.place, p.value) for p in found) == [
        ("plan-2024.yaml", "activities[3].responsible[1]", "nobody"),
        ("town.yaml", "office_group", "changchun-villagers"),
        ("units.yaml", "unit_sets[1].units[0]", "nobody"),
    ]


def test_a_schema_error_does_not_hide_unknown_units_in_the_same_file(jinxi: Sources) -> None:
    plan = jinxi.schedules / "plan-2024.yaml"
    text = plan.read_text(encoding="utf-8").replace("start: 5月20日", "start: 4月31日")
    plan.write_text(
        text.replace("[jinxi-school, wenhuazhan, xiangjian]", "[jinxi-school, wenhuazhan, xiangjain]"), "utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_campaign(jinxi.schedules)
    places = {(p.place, p.value) for p in caught.value.problems}
    assert ("activities[4].events[0].start", "4月31日") in places
    assert ("activities[5].responsible[2]", "xiangjain") in places
    typo = next(p for p in caught.value.problems if p.value == "xiangjain")
    assert typo.hint.startswith("是不是 xiangjian？") and typo.line is not None
