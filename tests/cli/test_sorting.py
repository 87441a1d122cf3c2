"""`laba lookup` and `laba sorting unknown` through click's CliRunner, on a copy of the 金溪 files."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from click.testing import CliRunner, Result

from bot.app import build
from bot.channels.base import InboundMessage
from bot.channels.memory import MemoryChannel
from bot.cli import main
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import Sources
from bot.settings import Settings


def laba(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_lookup_json_has_one_object_per_item_asked(env: dict[str, str]) -> None:
    result = laba(env, "lookup", "--json", "一个易拉罐", "紐扣電池", "外星人")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["item"], r["matched"], r["category"]) for r in rows] == [
        ("一个易拉罐", "易拉罐", "可回收物"),
        ("紐扣電池", "纽扣电池", "有害垃圾"),
        ("外星人", None, None),
    ]
    assert all(isinstance(r["note"], str) and r["note"] for r in rows)


def test_lookup_speaks_the_towns_names_and_the_national_one(env: dict[str, str], jinxi: Sources) -> None:
    (jinxi.schedules / "sorting.yaml").write_text("categories: {kitchen: 湿垃圾}\n", encoding="utf-8")
    result = laba(env, "lookup", "西瓜皮", "yilaguan", "火箭")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "西瓜皮：湿垃圾（国家标准：厨余垃圾）。直接投厨余垃圾桶，不要连塑料袋一起扔。",
        "yilaguan（按“易拉罐”）：可回收物。倒空洗净、压扁；有尖角的包好再投。",
        "火箭：不知道（词典里还没有这样东西，不作猜测；镇里确认后可以加到 sorting.yaml 里）",
    ]
    json_rows = json.loads(laba(env, "lookup", "--json", "西瓜皮").stdout)
    assert json_rows[0]["category"] == "厨余垃圾"  # JSON keeps the national name whatever the town calls it


def test_lookup_needs_an_item_and_rejects_a_broken_town_file(env: dict[str, str], jinxi: Sources) -> None:
    assert laba(env, "lookup").exit_code == 2
    (jinxi.schedules / "sorting.yaml").write_text("groups: 3\n", encoding="utf-8")
    result = laba(env, "lookup", "报纸")
    assert result.exit_code == 2
    assert "sorting.yaml:1 groups" in result.output


def test_sorting_unknown_lists_what_villagers_asked_newest_first(env: dict[str, str], jinxi: Sources) -> None:
    assert laba(env, "sorting", "unknown").stdout.startswith("没有不认得的物品")
    settings = Settings.from_env(env)
    clock = VirtualClock(datetime(2024, 5, 6, 9, tzinfo=TOWN_ZONE))
    app = build(jinxi, settings, clock, channel=MemoryChannel(), echo=None)

    async def ask(text: str, minute: int, sender: str) -> None:
        clock.set(datetime(2024, 5, 6, 9, minute, tzinfo=TOWN_ZONE))
        message = InboundMessage(
            f"m{minute}", sender, sender, text, clock.now(), group="changchun-villagers", room_id="r"
        )
        await app.router.dispatch(message)

    async def villagers() -> None:
        await ask("火箭是什么垃圾", 1, "a")
        await ask("外星人和报纸是什么垃圾", 2, "a")
        await ask("火箭是什么垃圾", 3, "b")

    try:
        asyncio.run(villagers())
    finally:
        app.close()
    result = laba(env, "sorting", "unknown")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:3] == ["  2024-05-06 09:03  2 次  火箭", "  2024-05-06 09:02  1 次  外星人"]
    # The office classifies 火箭 in the town's file: the list says so.
    (jinxi.schedules / "sorting.yaml").write_text(
        "groups:\n  - {theme: 玩具, category: 其他垃圾, note: 投其他垃圾桶, items: [火箭/玩具火箭]}\n", encoding="utf-8"
    )
    assert laba(env, "sorting", "unknown").stdout.splitlines()[1].endswith("火箭  （已补进词典：火箭）")
    rows = json.loads(laba(env, "sorting", "unknown", "--json").stdout)
    assert rows == [
        {"item": "火箭", "count": 2, "last_asked": "2024-05-06T09:03:00+08:00", "known_now": "火箭"},
        {"item": "外星人", "count": 1, "last_asked": "2024-05-06T09:02:00+08:00", "known_now": None},
    ]


def test_every_sorting_command_has_help(env: dict[str, str]) -> None:
    for args in (["lookup", "--help"], ["sorting", "--help"], ["sorting", "unknown", "--help"]):
        result = laba(env, *args)
        assert result.exit_code == 0 and len(result.stdout) > 80
