"""`check` lists every problem of every file in one run: a schema error in one place doesn't hide the cross-checks
and timing checks of everything else (issue 10, the outsider's town 双河镇 needed three runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
