from __future__ import annotations

from pathlib import Path

import pytest

from bot.notice.document import Notice
from bot.notice.rows import parse_months, plan_rows

HEADER = ("序号", "月份", "宣传活动内容", "牵头单位")


def notice(*rows: tuple[str, ...]) -> Notice:
    return Notice(Path("通知.docx"), (), (), (HEADER, *rows))


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("6月", (6,)),
        ("6—7月", (6, 7)),
        ("6月-7月", (6, 7)),
        ("6月至8月", (6, 7, 8)),
        ("6、8月", (6, 8)),
        ("十二月", (12,)),
        ("十一月份", (11,)),
        ("全年", tuple(range(1, 13))),
        ("13月", (13,)),
        ("上旬", None),
    ],
)
def test_months_as_notices_write_them(text: str, months: tuple[int, ...] | None) -> None:
    assert parse_months(text) == months


def test_a_blank_month_belongs_to_the_row_above_and_numbered_lines_are_separate_activities() -> None:
    rows, problems = plan_rows(
        notice(
            ("1", "5月", "开展“进校园”活动", "中心校"),
            ("2", "", "开展入户宣传", "各村（社区）"),
            ("3", "9月", "1.开展知识竞赛\n2、开展“小手拉大手”活动", "文化站"),
        )
    )
    assert problems == []
    assert [(r.row, r.months, r.content, r.units_text) for r in rows] == [
        (1, (5,), "开展“进校园”活动", "中心校"),
        (2, (5,), "开展入户宣传", "各村（社区）"),
        (3, (9,), "开展知识竞赛", "文化站"),
        (3, (9,), "开展“小手拉大手”活动", "文化站"),
    ]


def test_every_bad_row_is_reported_at_once() -> None:
    rows, problems = plan_rows(
        notice(
            ("1", "13月", "开展宣传", "文化站"),
            ("2", "下旬", "开展宣传", "文化站"),
            ("3", "6月", "开展宣传", ""),
            ("4", "7月", "开展宣传", "文化站"),
        )
    )
    assert [r.months for r in rows] == [(7,)]
    assert [(p.place, p.value, p.message) for p in problems] == [
        ("计划表第1行 时间", "13月", "没有13月，月份应在 1 到 12 之间"),
        ("计划表第2行 时间", "下旬", "看不出是几月"),
        ("计划表第3行 责任单位", "（空）", "这一行没有写责任单位"),
    ]


def test_no_table_is_a_problem_naming_the_file() -> None:
    rows, problems = plan_rows(Notice(Path("通知.docx"), ("正文",), (), None))
    assert rows == [] and len(problems) == 1
    assert problems[0].file == Path("通知.docx") and "没有找到月度计划表" in problems[0].message
