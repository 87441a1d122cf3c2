"""Item 6: the month's loudspeaker script may end with one sorting tip from the dictionary (off by default)."""

from __future__ import annotations

from bot.config.campaign import Sources, load
from bot.core.planner import PlannedJob
from bot.core.render import ProofFacts
from bot.sorting.dictionary import SortingDictionary
from bot.sorting.tips import monthly_tip, tip_items


def _broadcast(jinxi: Sources) -> tuple[str, str]:
    loaded = load(jinxi)
    job: PlannedJob = next(j for j in loaded.plan.jobs if j.broadcast is not None and j.month == 5)
    return loaded.renderer.script(job, job.targets[0], ProofFacts()), monthly_tip_for(jinxi, job)


def monthly_tip_for(jinxi: Sources, job: PlannedJob) -> str:
    from bot.sorting.files import build_dictionary

    return monthly_tip(build_dictionary(jinxi.schedules), job.year, job.month)


def test_tips_are_settled_items_with_a_reason_and_change_every_month(dictionary: SortingDictionary) -> None:
    items = tip_items(dictionary)
    assert len(items) > 500 and all(i.reason and not i.contested for i in items)
    year = [monthly_tip(dictionary, 2024, m) for m in range(1, 13)]
    assert len(set(year)) == 12
    assert monthly_tip(dictionary, 2024, 5) == monthly_tip(dictionary, 2024, 5)
    assert year[4].startswith("分类小知识：") and "属于" in year[4]


def test_the_script_ends_with_the_tip_only_when_the_town_turns_it_on(jinxi: Sources) -> None:
    script, tip = _broadcast(jinxi)
    assert "分类小知识" not in script
    town = jinxi.schedules / "town.yaml"
    town.write_text(
        town.read_text(encoding="utf-8").replace("rules:\n", "rules:\n  broadcast: {sorting_tip: true}\n", 1),
        encoding="utf-8",
    )
    script, tip = _broadcast(jinxi)
    lines = script.splitlines()
    assert lines[-2].startswith("分类小知识：")
    assert tip.split("，")[0] in lines[-2]
    assert lines[-1].endswith("谢谢大家！")
