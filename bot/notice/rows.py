"""The plan table, understood row by row: which months, the exact wording of each activity, who is responsible."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import Problem
from bot.notice.document import Notice, header_columns

_NUM = r"(\d{1,2}|[一二三四五六七八九十]{1,3})"
_RANGE = re.compile(rf"^{_NUM}\s*月?\s*[—–\-－~～至到]+\s*{_NUM}\s*月份?$")
_LIST = re.compile(rf"^{_NUM}(?:\s*月?\s*[、，,和及]\s*{_NUM})+\s*月份?$")
_SINGLE = re.compile(rf"^{_NUM}\s*月份?$")
# "1. 开展…" / "1、开展…" / "（1）开展…" / "①开展…": numbered activities sharing one cell.
_NUMBERED = re.compile(r"^\s*(?:\d{1,2}\s*[.．、]|[（(]\d{1,2}[）)]|[①-⑩])\s*")
_CN_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}


@dataclass(frozen=True)
class PlanRow:
    """One activity of the plan table. `row` counts the table's data rows from 1 (as a clerk counts them)."""

    row: int
    months: tuple[int, ...]
    month_text: str
    content: str
    units_text: str


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _CN_DIGITS[text[1]]
    if text.endswith("十"):
        return 10 * _CN_DIGITS[text[0]]
    if "十" in text:
        return 10 * _CN_DIGITS[text[0]] + _CN_DIGITS[text[-1]]
    return _CN_DIGITS[text]


def parse_months(text: str) -> tuple[int, ...] | None:
    """`6月` → (6,); `6—7月` / `6月—7月` → (6, 7); `6、8月` → (6, 8); `全年` → 1..12. None if not a month at all.
    Numbers are returned as written (13 stays 13): the caller reports them."""
    t = "".join(text.split())
    if t in ("全年", "1-12月", "全年度"):
        return tuple(range(1, 13))
    if m := _RANGE.match(t):
        a, b = _number(m[1]), _number(m[2])
        return tuple(range(a, b + 1)) if a <= b else (a, b)
    if _LIST.match(t):
        return tuple(_number(n) for n in re.findall(_NUM, t))
    if m := _SINGLE.match(t):
        return (_number(m[1]),)
    return None


def _split_activities(content: str) -> list[str]:
    lines = [ln.strip() for ln in content.split("\n") if ln.strip()]
    if len(lines) > 1 and all(_NUMBERED.match(ln) for ln in lines):
        return [_NUMBERED.sub("", ln, count=1) for ln in lines]
    return ["".join(lines)] if lines else []


def plan_rows(notice: Notice) -> tuple[list[PlanRow], list[Problem]]:
    """Rows of the notice's plan table, and a problem for every row that can't be understood (all of them, at once).
    A month cell left blank below a filled one belongs to the month above (two activities in one month)."""
    problems: list[Problem] = []
    if notice.table is None or len(notice.table) < 2:
        problems.append(
            Problem(
                notice.path,
                "",
                notice.path.name,
                "通知里没有找到月度计划表（表头要有 时间/月份、活动内容、责任单位 三列）",
                "确认导入的是带附件计划表的那份通知；网上复制的文字要保留表格每格一行的样子",
            )
        )
        return [], problems
    header, *data = notice.table
    cols = header_columns(header)
    assert cols is not None
    out: list[PlanRow] = []
    last_months: tuple[int, ...] | None = None
    last_month_text = ""
    for n, cells in enumerate(data, 1):
        cell = {role: (cells[i].strip() if i < len(cells) else "") for role, i in cols.items()}
        if not any(cell[r] for r in ("month", "content", "units")):
            continue
        place = f"计划表第{n}行"
        months = parse_months(cell["month"]) if cell["month"] else last_months
        if months is None:
            problems.append(
                Problem(notice.path, f"{place} 时间", cell["month"] or "（空）", "看不出是几月", "写成 6月 或 6—7月")
            )
            continue
        bad = [m for m in months if not 1 <= m <= 12]
        if bad:
            problems.append(
                Problem(
                    notice.path,
                    f"{place} 时间",
                    cell["month"],
                    f"没有{bad[0]}月，月份应在 1 到 12 之间",
                    "改正通知里的月份",
                )
            )
            continue
        last_months, last_month_text = months, cell["month"] or last_month_text
        activities = _split_activities(cell["content"])
        if not activities:
            problems.append(Problem(notice.path, f"{place} 活动内容", "（空）", "这一行没有活动内容", "补上活动内容"))
        if not cell["units"]:
            problems.append(Problem(notice.path, f"{place} 责任单位", "（空）", "这一行没有写责任单位", "补上责任单位"))
            continue
        out.extend(PlanRow(n, months, last_month_text, a, cell["units"]) for a in activities)
    return out, problems
