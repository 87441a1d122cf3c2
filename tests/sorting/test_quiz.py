"""The weekly quiz's pure parts: a deterministic question without contested items, and replies as typed."""

from __future__ import annotations

import pytest

from bot.sorting.dictionary import SortingDictionary
from bot.sorting.model import Category, Item
from bot.sorting.quiz import LETTERS, choice_of, draw


@pytest.mark.parametrize("text", ["A", "a", "选A", "Ａ", " 选 a ", "答案A", "A。", "我选A"])
def test_the_ways_villagers_type_a_choice(text: str) -> None:
    assert choice_of(text) == "A"


@pytest.mark.parametrize("text", ["", "AB", "E", "A是对的吧我觉得", "好的", "选", "电池是什么垃圾"])
def test_other_text_is_not_a_choice(text: str) -> None:
    assert choice_of(text) is None


def _dictionary() -> SortingDictionary:
    return SortingDictionary(
        [
            Item("废电池", Category.HAZARDOUS, "轻放"),
            Item("菜叶", Category.KITCHEN, "沥干水分"),
            Item("大棒骨", Category.OTHER, "投其他垃圾", contested=True),
        ]
    )


def test_the_same_week_asks_the_same_and_contested_items_never() -> None:
    d = _dictionary()
    first = draw(d, "jinxi", "quiz/2024-W15")
    assert first == draw(d, "jinxi", "quiz/2024-W15")
    asked = {draw(d, "jinxi", f"quiz/2024-W{w:02d}").item for w in range(1, 53)}
    assert asked == {"废电池", "菜叶"}
    q = draw(d, "jinxi", "quiz/2024-W16")
    assert set(q.choices) == set(Category)
    item = next(i for i in d.items if i.name == q.item)
    assert q.choices[LETTERS.index(q.answer)] is item.category


def test_the_question_view_speaks_the_towns_category_names() -> None:
    d = _dictionary()
    view = draw(d, "jinxi", "quiz/2024-W15").view(d)
    assert [c["letter"] for c in view["choices"]] == ["A", "B", "C", "D"]
    assert view["answer_name"] in {"有害垃圾", "厨余垃圾"}
