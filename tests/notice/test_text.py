from __future__ import annotations

from pathlib import Path

from bot.notice.text import parse_text
from tests.notice.notices import seed_text


def test_the_published_seed_splits_into_body_heading_and_table() -> None:
    n = parse_text(Path("seed.txt"), seed_text())
    assert n.table is not None
    assert n.table[0] == ("时间", "宣传活动内容", "责任单位")
    assert len(n.table) == 13
    # February's cell is followed by a blank line inside the row: still one row of three cells.
    assert n.table[2] == ("2月", "开展“垃圾分类·时尚过年”活动。", "各村（社区）、镇级各部门、相关民营企业")
    assert n.heading == ("2024年金溪镇生活垃圾分类宣传", "活动月度计划表")
    assert not any("bookmark" in line for line in n.body)
    assert n.body[-1].endswith("2024年4月22日印发")


def test_a_cell_broken_over_two_lines_is_joined_into_the_content() -> None:
    text = "附件\n\n\t时间\n\t活动内容\n\t责任单位\n\n\t3月\n\t开展植树\n\t活动\n\t文化站\n\n"
    text += "\t4月\n\t开展宣传\n\t乡建中心\n"
    n = parse_text(Path("x.txt"), text)
    assert n.table == (
        ("时间", "活动内容", "责任单位"),
        ("3月", "开展植树活动", "文化站"),
        ("4月", "开展宣传", "乡建中心"),
    )


def test_text_without_a_table() -> None:
    n = parse_text(Path("x.txt"), "关于做好垃圾分类工作的通知\n\n各村：请做好宣传。\n")
    assert n.table is None and n.body == ("关于做好垃圾分类工作的通知", "各村：请做好宣传。")


def test_a_number_column_in_published_text() -> None:
    text = "\t序号\n\t时间\n\t活动内容\n\t责任单位\n\n\t1\n\t3月\n\t开展植树\n\t文化站\n\n"
    text += "\t2\n\t6—7月\n\t开展宣传\n\t乡建中心\n"
    n = parse_text(Path("x.txt"), text)
    assert n.table == (
        ("序号", "时间", "活动内容", "责任单位"),
        ("1", "3月", "开展植树", "文化站"),
        ("2", "6—7月", "开展宣传", "乡建中心"),
    )
