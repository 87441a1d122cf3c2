"""Tidying what people type: the forms the dictionary compares."""

from __future__ import annotations

from bot.sorting.normalize import accent, is_spelled, light, pinyin, variants


def test_light_simplifies_folds_and_drops_particles_and_punctuation() -> None:
    assert light("塑膠袋！") == "塑料袋"
    assert light(" 衛生紙 的 ") == "卫生纸"
    assert light("ＬＥＤ燈") == "led灯"
    assert light("易拉罐了？？") == "易拉罐"
    assert light("5号电池") == light("五号电池") == "五号电池"
    assert light("84消毒液") == "八四消毒液"


def test_variants_peel_quantities_then_states_most_literal_first() -> None:
    assert variants("两个用过的纸杯") == ["两个用过纸杯", "用过纸杯", "纸杯"]
    assert variants("一些吃剩的饭菜") == ["一些吃剩饭菜", "吃剩饭菜", "饭菜"]
    assert variants("旧衣服") == ["旧衣服", "衣服"]
    assert variants("空调") == ["空调"]  # a state word must leave at least two characters of a thing
    assert variants("") == []


def test_pinyin_and_accent_folding() -> None:
    assert pinyin("易拉罐") == ("yi", "la", "guan")
    assert accent(("niu", "kou", "dian", "chi")) == accent(("liu", "kou", "dian", "ci"))
    assert accent(("su", "liao", "ping")) == accent(("shu", "liao", "pin"))
    assert is_spelled("yi la guan") and not is_spelled("易拉罐") and not is_spelled("")
