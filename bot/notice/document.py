"""What a notice reader hands on: the notice's body text and its plan table, cell by cell."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Notice:
    """A notice as read from its file, before any understanding.

    `body` is every paragraph outside the plan table, in order (blank ones dropped); `heading` the paragraphs just
    before the table (its title, often broken over two lines). `table` is the plan table: header row first, each row
    a tuple of cell texts by grid column (a merged cell repeats its text in each row/column it covers, as Word shows
    it). `table` is None when the reader found no table that looks like a monthly plan.
    """

    path: Path
    body: tuple[str, ...]
    heading: tuple[str, ...]
    table: tuple[tuple[str, ...], ...] | None


HEADER_WORDS = {
    "month": ("时间", "月份", "时段", "日期", "月度"),
    "content": ("内容", "活动", "主题", "项目"),
    "units": ("责任单位", "责任部门", "牵头单位", "责任主体", "实施单位", "承办单位", "单位"),
    "number": ("序号", "编号"),
}


def header_columns(cells: tuple[str, ...]) -> dict[str, int] | None:
    """Which column holds what, from a header row; None unless it has month, content and units columns."""
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        text = "".join(cell.split())
        for role in ("number", "units", "month", "content"):  # 责任单位 before 内容: "单位" is not content
            if role not in found and any(word in text for word in HEADER_WORDS[role]) and len(text) <= 10:
                found[role] = i
                break
    if {"month", "content", "units"} <= found.keys():
        return found
    return None
