"""Which messages are sorting questions, and which items they ask about."""

from __future__ import annotations

import pytest

from bot.sorting.question import MAX_ITEMS, items_asked


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("电池是什么垃圾？", ("电池",)),
        ("请问用过的纸巾是什么垃圾", ("用过的纸巾",)),
        ("塑料袋属于哪类", ("塑料袋",)),
        ("大骨头属于哪一类垃圾呀", ("大骨头",)),
        ("西瓜皮怎么扔", ("西瓜皮",)),
        ("农药瓶子该怎么处理？", ("农药瓶子",)),
        ("鸡蛋壳扔哪个桶", ("鸡蛋壳",)),
        ("烟头是啥垃圾", ("烟头",)),
        ("剩饭算什么垃圾啊", ("剩饭",)),
        ("快递盒、旧衣服、药是什么垃圾", ("快递盒", "旧衣服", "药")),
        ("电池和塑料袋分别是什么垃圾？", ("电池", "塑料袋")),
        ("电池跟电池是什么垃圾", ("电池",)),
        ("@大喇叭 易拉罐", ("易拉罐",)),
        ("@大喇叭\u2005易拉罐和报纸？", ("易拉罐", "报纸")),
        ("@大喇叭 易拉罐是什么垃圾", ("易拉罐",)),
    ],
)
def test_questions_and_their_items(text: str, items: tuple[str, ...]) -> None:
    assert items_asked(text) == items


@pytest.mark.parametrize(
    "text",
    ["今天天气好", "明天几点开会", "电池是干垃圾吗", "这个是什么垃圾", "垃圾车几点来", "", "@张三 你好"],
)
def test_other_talk_is_not_a_question(text: str) -> None:
    assert items_asked(text) == ()


def test_a_message_to_the_bot_is_a_question_without_the_words() -> None:
    assert items_asked("易拉罐", to_bot=True) == ("易拉罐",)
    assert items_asked("易拉罐") == ()


def test_a_long_list_is_cut_to_the_first_few_items() -> None:
    text = "、".join(f"物品{i}" for i in range(10)) + "是什么垃圾"
    assert len(items_asked(text)) == MAX_ITEMS
