"""Done when: a 200-item test list (written from the standard and city guidance, contested items excluded) is
answered 100% right; typed variants resolve to the same item; unknown items are never guessed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.sorting.dictionary import SortingDictionary
from bot.sorting.files import shipped_items
from bot.sorting.model import NATIONAL_CN, Category, Item
from bot.sorting.normalize import light

TEST_LIST = Path(__file__).with_name("test_list.txt")


def _test_list() -> list[tuple[str, str]]:
    rows = []
    for line in TEST_LIST.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, category = line.split()
            rows.append((name, category))
    return rows


def test_the_shipped_dictionary_has_over_a_thousand_items_each_with_a_note_and_a_source() -> None:
    items = shipped_items()
    assert len(items) >= 1000
    assert all(i.note and i.source and i.theme for i in items)
    assert set(Counter(i.category for i in items)) == set(Category)


def test_no_name_in_the_shipped_data_stands_for_two_items(dictionary: SortingDictionary) -> None:
    owners: dict[str, set[str]] = {}
    for item in shipped_items():
        for name in item.names:
            owners.setdefault(light(name), set()).add(item.name)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}
    assert dictionary.ambiguous == {}
    assert len(dictionary) == len(shipped_items())


def test_the_test_list_has_200_items_without_repeats() -> None:
    rows = _test_list()
    assert len(rows) >= 200
    assert len({n for n, _ in rows}) == len(rows)
    assert {c for _, c in rows} == set(NATIONAL_CN.values())


def test_every_item_of_the_test_list_is_answered_right(dictionary: SortingDictionary) -> None:
    wrong = []
    for name, category in _test_list():
        match = dictionary.lookup(name)
        if match is None or NATIONAL_CN[match.item.category] != category or match.item.contested:
            wrong.append((name, category, match.item.name if match else None))
    assert wrong == []


@pytest.mark.parametrize(
    ("typed", "item", "via"),
    [
        ("易拉罐", "易拉罐", "name"),
        ("铝罐", "易拉罐", "synonym"),
        ("一个易拉罐", "易拉罐", "variant"),
        ("两个易拉罐", "易拉罐", "variant"),
        ("用过的易拉罐", "易拉罐", "variant"),
        ("易拉罐的", "易拉罐", "name"),
        ("易拉罐了", "易拉罐", "name"),
        ("易拉罐？", "易拉罐", "name"),
        ("一拉罐", "易拉罐", "pinyin"),
        ("yilaguan", "易拉罐", "pinyin"),
        ("yi la guan", "易拉罐", "pinyin"),
        ("YiLaGuan", "易拉罐", "pinyin"),
        ("塑膠瓶", "塑料瓶", "name"),
        ("衛生筷", "一次性筷子", "name"),
        ("紐扣電池", "纽扣电池", "name"),
        ("廢舊電池", "电池", "synonym"),
        ("衛生紙", "卫生纸", "name"),
        ("一些剩饭", "剩饭", "variant"),
        ("一块西瓜皮", "西瓜皮", "variant"),
        ("几张报纸", "报纸", "variant"),
        ("这些旧衣服", "旧衣服", "variant"),
        ("吃剩的骨头", "大骨头", "variant"),
        ("过期的药", "过期药品", "synonym"),
        ("红苕", "红薯", "synonym"),
        ("苞谷秆", "玉米秆", "synonym"),
        ("洋芋皮", "土豆皮", "synonym"),
        ("卫身纸", "卫生纸", "pinyin"),
        ("鸡但壳", "鸡蛋壳", "pinyin"),
        ("西瓜披", "西瓜皮", "pinyin"),
        ("农药平", "农药", "pinyin"),
        ("电吃", "电池", "pinyin"),
        ("灯管", "荧光灯管", "synonym"),
        ("ｘ光片", "X光片", "name"),
        ("X光片", "X光片", "name"),
        ("5号电池", "普通干电池", "synonym"),
        ("84消毒液", "消毒液", "synonym"),
        ("两节5号电池", "普通干电池", "variant"),
    ],
)
def test_typed_variants_resolve_to_the_item(dictionary: SortingDictionary, typed: str, item: str, via: str) -> None:
    match = dictionary.lookup(typed)
    assert match is not None, typed
    assert (match.item.name, match.via) == (item, via)
    assert match.query == typed


def test_accent_slips_of_three_syllables_or_more_resolve(dictionary: SortingDictionary) -> None:
    # 黔江 speech: n/l, zh/z, -ng/-n are mixed up.
    for typed, item in [("塑料瓶", "塑料瓶"), ("素料瓶", "塑料瓶"), ("牛扣电池", "纽扣电池"), ("易拉官", "易拉罐")]:
        match = dictionary.lookup(typed)
        assert match is not None and match.item.name == item, typed


@pytest.mark.parametrize(
    "typed",
    [
        "火箭",
        "外星人",
        "核废料",
        "石墨烯",
        "苹果手机壳的贴膜",
        "asdf",
        "qwer",
        "",
        "   ",
        "？？",
        "纸",  # one syllable: 纸/指/枝 — too many homophones to answer by sound
        "zhi",
        "店次",  # dian ci: sounds like 电池 only through the accent folding, not trusted for two syllables
        "一",
    ],
)
def test_unknown_items_are_never_guessed(dictionary: SortingDictionary, typed: str) -> None:
    assert dictionary.lookup(typed) is None


def test_keys_that_would_name_items_of_two_categories_answer_nothing() -> None:
    a = Item("瓶子", Category.RECYCLABLE, "洗净", also=("罐子",))
    b = Item("坛子", Category.OTHER, "另投", also=("罐子",))
    d = SortingDictionary([a, b])
    # "罐子" is a synonym of both, in different bins: the dictionary doesn't pick one.
    assert d.lookup("罐子") is None
    assert set(d.ambiguous) == {"罐子"}
    assert d.lookup("瓶子") is not None


def test_sound_alikes_of_two_items_answer_nothing() -> None:
    d = SortingDictionary([Item("油桶", Category.RECYCLABLE, "x"), Item("油筒", Category.OTHER, "y")])
    assert d.lookup("油统") is None
    assert d.lookup("油桶") is not None


def test_an_item_that_looks_alike_but_goes_elsewhere_is_offered(dictionary: SortingDictionary) -> None:
    match = dictionary.lookup("干电池")
    assert match is not None
    similar = dictionary.similar(match.item)
    assert similar is not None and similar.category is Category.HAZARDOUS
