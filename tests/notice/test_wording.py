from __future__ import annotations

import pytest

from bot.notice.wording import proof_items, propose_title, split_top, theme_of


def test_split_top_keeps_quotes_and_brackets_whole() -> None:
    assert split_top("开展“A、B”活动、宣传资料（告知书、承诺书）、C", "、") == [
        "开展“A、B”活动",
        "宣传资料（告知书、承诺书）",
        "C",
    ]


@pytest.mark.parametrize(
    ("content", "title"),
    [
        ("开展“垃圾分类·时尚过年”活动。", "“垃圾分类·时尚过年”活动"),
        (
            "开展“3.19”城市管理服务主题周暨创建垃圾分类先锋区县“奋战四十天”誓师大会启动仪式活动、垃圾分类“九进”宣传活动",
            "“3.19”城市管理服务主题周",
        ),
        (
            "以“践行新时尚 分类志愿行”为主题，开展第二届全国城市生活垃圾分类宣传周活动",
            "第二届全国城市生活垃圾分类宣传周活动",
        ),
        (
            "开展“垃圾分类·党员在行动”主题党日系列活动、开展垃圾分类进机关、进社区等“九进”宣传活动。",
            "“垃圾分类·党员在行动”主题党日系列活动",
        ),
        ("开展商圈、广场、公园、车站、机场等公共场所垃圾分类相关活动。", "公共场所垃圾分类相关活动"),
        ("结合世界环境日，开展“美丽乡村”垃圾分类主题宣传", "“美丽乡村”垃圾分类主题宣传"),
    ],
)
def test_proposed_titles_are_short_and_from_the_wording(content: str, title: str) -> None:
    assert propose_title(content) == title


def test_a_long_title_is_cut_with_an_ellipsis() -> None:
    title = propose_title("开展" + "很长的活动名称" * 6)
    assert len(title) == 24 and title.endswith("…")


def test_theme_and_proof_items() -> None:
    assert theme_of("以“践行新时尚 分类志愿行”为主题，开展宣传周活动") == "践行新时尚 分类志愿行"
    assert theme_of("开展宣传周活动") == ""
    sentence = "宣传过程做到有宣传图片、有居民签字、有宣传资料（垃圾分类告知书、承诺书、宣传手册），建立台账。"
    assert proof_items(sentence) == ("宣传图片", "居民签字", "宣传资料（垃圾分类告知书、承诺书、宣传手册）")
    assert proof_items("做到应分尽分。") == ()
