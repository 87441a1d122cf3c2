from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.notice.document import Notice
from bot.notice.header import read_header
from bot.notice.text import parse_text
from tests.notice.notices import seed_text


def test_the_seed_says_its_year_title_number_and_date() -> None:
    h = read_header(parse_text(Path("seed.txt"), seed_text()))
    assert (h.title, h.doc_number, h.issued, h.year) == (
        "2024年金溪镇生活垃圾分类宣传活动月度计划表",
        "金溪府发〔2024〕51号",
        date(2024, 4, 22),
        2024,
    )


def test_a_plan_for_next_year_issued_in_december_takes_the_titles_year() -> None:
    body = ("金溪府发〔2024〕90号", "2024年12月20日", "附件：2025年金溪镇生活垃圾分类宣传活动月度计划表")
    h = read_header(Notice(Path("x"), body, (), None))
    assert (h.year, h.number_year, h.issued) == (2025, 2024, date(2024, 12, 20))


def test_without_a_title_the_number_then_the_date_give_the_year() -> None:
    assert read_header(Notice(Path("x"), ("某府发[2026]3号",), (), None)).year == 2026
    assert read_header(Notice(Path("x"), ("2027年1月5日",), (), None)).year == 2027
    assert read_header(Notice(Path("x"), ("通知",), (), None)).year is None
