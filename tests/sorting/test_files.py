"""A town's sorting.yaml: additions, overrides and its names for the categories; mistakes reported with file, line,
place and value, and `laba check` exits 2 on them like on the other town files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.config.campaign import Sources
from bot.errors import ConfigError
from bot.sorting.files import DictionarySource, build_dictionary, read_town
from bot.sorting.model import Category

GOOD = """\
# 金溪镇自己的分类叫法和本地物品
categories:
  kitchen: 可腐烂垃圾
  other: 不可腐烂垃圾
groups:
  - theme: 本地叫法
    category: 厨余垃圾
    note: 倒进村里的堆肥池
    source: 金溪镇垃圾分类工作方案
    items:
      - 苕藤/红苕藤
      - name: 大骨头
        also: [筒子骨]
        category: 其他垃圾
        note: 敲碎后投不可腐烂垃圾桶
"""


def write(sources: Sources, text: str) -> Path:
    path = sources.schedules / "sorting.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_town_adds_items_overrides_ours_and_renames_categories(jinxi: Sources) -> None:
    write(jinxi, GOOD)
    d = build_dictionary(jinxi.schedules)
    added = d.lookup("红苕藤")
    assert added is not None and added.item.name == "苕藤" and added.item.source == "金溪镇垃圾分类工作方案"
    bone = d.lookup("筒子骨")
    assert bone is not None and bone.item.note == "敲碎后投不可腐烂垃圾桶" and not bone.item.contested
    # Our synonyms of the replaced item are gone with it (the town's entry says what the item is called here).
    assert d.lookup("大棒骨") is None
    assert d.category_name(Category.KITCHEN) == "可腐烂垃圾"
    assert d.category_name(Category.HAZARDOUS) == "有害垃圾"
    assert build_dictionary(None).lookup("红苕藤") is None


@pytest.mark.parametrize(
    ("text", "line", "place", "message"),
    [
        ("groups:\n  - theme: x\n    category: 湿的\n    note: y\n    items: [a]\n", 3, "groups[0].category", "分类写"),
        ("groups:\n  - theme: x\n    category: 厨余垃圾\n    items: [a]\n", 2, "groups[0].note", "缺少这一项"),
        (
            "groups:\n  - theme: x\n    category: 厨余垃圾\n    note: y\n    items: [a/b, c/b]\n",
            5,
            "groups[0].items[1]",
            "已经用在",
        ),
        ("colour: red\n", 1, "colour", "不认识的键"),
        ("categories: {wet: 湿垃圾}\n", 1, "categories", ""),
    ],
)
def test_mistakes_name_the_file_line_and_place(jinxi: Sources, text: str, line: int, place: str, message: str) -> None:
    path = write(jinxi, text)
    with pytest.raises(ConfigError) as caught:
        read_town(jinxi.schedules)
    [problem] = caught.value.problems[:1]
    assert Path(problem.file) == path
    assert problem.line == line
    assert problem.place.startswith(place)
    assert message in problem.message


def test_laba_check_reports_a_broken_sorting_file_and_exits_2(jinxi: Sources, env: dict[str, str]) -> None:
    write(jinxi, "groups:\n  - theme: x\n    category: 湿的\n    note: y\n    items: [a]\n")
    result = CliRunner().invoke(main, ["check"], env=env)
    assert result.exit_code == 2
    assert "sorting.yaml:3 groups[0].category" in result.output


def test_the_daemon_keeps_the_last_good_dictionary_when_an_edit_breaks_it(jinxi: Sources) -> None:
    path = write(jinxi, GOOD)
    source = DictionarySource(jinxi.schedules)
    assert source.get().lookup("红苕藤") is not None
    path.write_text(GOOD.replace("苕藤/红苕藤", "苕藤/红苕藤\n      - {broken"), encoding="utf-8")
    assert source.get().lookup("红苕藤") is not None
    path.unlink()
    assert source.get().lookup("红苕藤") is None
