"""The sorting dictionary from the command line: `laba lookup ITEM…` for the clerk and for scripts, and
`laba sorting unknown`, the items villagers asked that the bot didn't know (to add to the town's sorting.yaml)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bot.cli.base import handle_errors, main, schedules_option
from bot.clock import TOWN_ZONE
from bot.settings import Settings
from bot.sorting.dictionary import SortingDictionary
from bot.sorting.files import TOWN_FILE, build_dictionary
from bot.sorting.model import NATIONAL_CN
from bot.store.sorting import QuestionStore
from bot.store.sql import open_store

UNKNOWN_NOTE = f"词典里还没有这样东西，不作猜测；镇里确认后可以加到 {TOWN_FILE} 里"


def lookup_rows(dictionary: SortingDictionary, items: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per item asked, in order: {item, matched, category (national name or None), note}."""
    rows = []
    for asked in items:
        match = dictionary.lookup(asked)
        if match is None:
            rows.append({"item": asked, "matched": None, "category": None, "note": UNKNOWN_NOTE})
            continue
        item = match.item
        rows.append({"item": asked, "matched": item.name, "category": NATIONAL_CN[item.category], "note": item.note})
    return rows


@main.command()
@schedules_option
@click.argument("items", nargs=-1, required=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="输出 JSON 列表，每样东西一项：{item 问的, matched 认成, category 类别, note 投放要求}。",
)
@handle_errors
def lookup(schedules: Path, items: tuple[str, ...], as_json: bool) -> None:
    """查垃圾分类词典（连同镇里的 sorting.yaml）：这样东西属于哪一类、怎么投放。

    按平常的写法输入就行：一个易拉罐、塑膠袋、yilaguan 都认得。词典里没有的东西会直说不知道，
    不乱猜（JSON 里 category 为 null）。"""
    dictionary = build_dictionary(schedules)
    rows = lookup_rows(dictionary, items)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row, asked in zip(rows, items, strict=True):
        if row["matched"] is None:
            click.echo(f"{asked}：不知道（{row['note']}）")
            continue
        match = dictionary.lookup(asked)
        assert match is not None
        said = dictionary.category_name(match.item.category)
        national = row["category"]
        category = said if said == national else f"{said}（国家标准：{national}）"
        what = "" if row["matched"] == asked else f"（按“{row['matched']}”）"
        click.echo(f"{asked}{what}：{category}。{row['note']}。")


@main.group()
def sorting() -> None:
    """村民在群里问过的垃圾分类问题。"""


@sorting.command()
@schedules_option
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="输出 JSON 列表：{item 东西, count 问了几次, last_asked 最近一次, known_now 现在认得没有}。",
)
@handle_errors
def unknown(schedules: Path, as_json: bool) -> None:
    """村民问过、大喇叭不认得的东西，附问了几次，最近问的在前。

    把它们归好类写进镇里的 sorting.yaml，以后大喇叭就会回答（已经写进去的会标出来）。"""
    dictionary = build_dictionary(schedules)
    settings = Settings.from_env()
    store = open_store(settings.database_url, TOWN_ZONE)
    try:
        rows = QuestionStore(store).unknown()
    finally:
        store.close()
    known = {r.asked: (m.item.name if (m := dictionary.lookup(r.asked)) else None) for r in rows}
    if as_json:
        out = [
            {"item": r.asked, "count": r.count, "last_asked": r.last_asked.isoformat(), "known_now": known[r.asked]}
            for r in rows
        ]
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("没有不认得的物品：村民问到的都答上了。")
        return
    click.echo(f"村民问过、大喇叭还不认得的物品 {len(rows)} 样（最近问的在前）：")
    for r in rows:
        now = f"  （已补进词典：{known[r.asked]}）" if known[r.asked] else ""
        click.echo(f"  {r.last_asked:%Y-%m-%d %H:%M}  {r.count} 次  {r.asked}{now}")
    click.echo(f"确认分类后写进 {TOWN_FILE}，以后就能回答了。")
