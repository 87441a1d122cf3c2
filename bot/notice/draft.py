"""From a read notice to a draft plan: activities with matched units, dated events, proof items, ids and titles.

Pure: the notice, the town's units and names in; a `DraftPlan` (or a ConfigError listing every problem) out.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import date

from pypinyin import lazy_pinyin

from bot.core.model import UnitsFile
from bot.errors import ConfigError, Problem
from bot.notice.dates import DraftEvent, known_days, written_dates
from bot.notice.document import Notice
from bot.notice.header import NoticeHeader, read_header
from bot.notice.rows import PlanRow, plan_rows
from bot.notice.units import How, UnitMatch, UnitMatcher, split_units
from bot.notice.wording import proof_items, propose_title, quoted_terms, sentences, split_top, theme_of

_SECTION = re.compile(r"^([（(][一二三四五六七八九十]+[）)])")


@dataclass(frozen=True)
class DraftActivity:
    id: str
    month: int
    title: str
    content: str
    theme: str
    units: tuple[UnitMatch, ...]
    events: tuple[DraftEvent, ...]
    proof: tuple[str, ...]
    proof_source: str  # the body's sentence the proof items come from, quoted in a comment
    row: PlanRow

    @property
    def responsible(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(u.ref for u in self.units if u.ref))


@dataclass(frozen=True)
class DraftPlan:
    year: int
    header: NoticeHeader
    activities: tuple[DraftActivity, ...]
    unplaced: tuple[DraftEvent, ...]  # dated events of the body with no activity in their month: reported, not lost
    loose_proof: tuple[str, ...] = ()  # proof requirements of the body that name no activity of the table

    @property
    def source(self) -> str:
        return f"{self.header.doc_number} 附件" if self.header.doc_number else ""


def _slug(text: str) -> str:
    han = "".join(ch for ch in text.replace("垃圾分类", "") if "\u4e00" <= ch <= "\u9fff")
    return re.sub(r"[^a-z0-9]", "", "".join(lazy_pinyin(han[:4])).lower()) or "huodong"


def _activity_ids(year: int, rows: list[tuple[int, str, str]], kept: dict[tuple[int, str], str]) -> list[str]:
    """`2025-06-xiaoshoula`: month and the pinyin of the title's first words; unique (-2, -3 on a clash) and stable
    (the same notice gives the same ids). An activity already in the plan file (same month, same wording) keeps its
    id there: deliveries are recorded by it, so a re-import must not make sent messages look new."""
    out: list[str | None] = [kept.get((month, content)) for month, _, content in rows]
    taken = {ident for ident in out if ident}
    for i, (month, title, _) in enumerate(rows):
        if out[i] is not None:
            continue
        base = f"{year}-{month:02d}-{_slug(title)}"
        ident, n = base, 2
        while ident in taken:
            ident, n = f"{base}-{n}", n + 1
        taken.add(ident)
        out[i] = ident
    return [ident or "" for ident in out]


def _unique_events(events: list[DraftEvent]) -> tuple[DraftEvent, ...]:
    """One event per start day (the row's and the body's mention of it merged), each with its own id."""
    by_day: dict[date, DraftEvent] = {}
    for ev in events:
        had = by_day.get(ev.start)
        if had is None:
            by_day[ev.start] = ev
        else:
            by_day[ev.start] = replace(had, end=had.end or ev.end, theme=had.theme or ev.theme)
    out: list[DraftEvent] = []
    for ev in by_day.values():
        ident, n = ev.id, 2
        while any(e.id == ident for e in out):
            ident, n = f"{ev.id}-{n}", n + 1
        out.append(replace(ev, id=ident))
    return tuple(out)


def _body_paragraphs(notice: Notice) -> list[tuple[str, str]]:
    """(section label, paragraph) for the body, e.g. ("（五）", "深入抓好入户宣传。…")."""
    return [(m[1] if (m := _SECTION.match(p)) else "", p) for p in notice.body]


def _closeness(a: str, b: str) -> int:
    return difflib.SequenceMatcher(None, a, b).find_longest_match().size


def _place_events(
    body: list[tuple[str, str]], year: int, acts: list[DraftActivity]
) -> tuple[dict[str, list[DraftEvent]], list[DraftEvent]]:
    placed: dict[str, list[DraftEvent]] = {a.id: [] for a in acts}
    unplaced: list[DraftEvent] = []
    for section, paragraph in body:
        for ev in written_dates(paragraph, year, f"日期见方案正文{section}"):
            same_month = [a for a in acts if a.month == ev.start.month]
            if not same_month:
                unplaced.append(ev)
                continue
            best = max(same_month, key=lambda a: _closeness(ev.name, a.content))
            placed[best.id].append(ev)
    return placed, unplaced


def _place_proof(
    body: list[tuple[str, str]], acts: list[DraftActivity]
) -> tuple[dict[str, tuple[tuple[str, ...], str]], list[str]]:
    """Proof items stated in the body (做到有…、有…) for the activities whose quoted name the paragraph repeats, and
    the statements that name no activity of the table (reported to the clerk, not lost)."""
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    unplaced: list[str] = []
    for section, paragraph in body:
        terms = quoted_terms(paragraph)
        for sentence in sentences(paragraph):
            items = proof_items(sentence)
            if not items:
                continue
            said = _SECTION.sub("", next(c for c in split_top(sentence.rstrip("。；"), "，,；;") if "做到" in c))
            matched = [act for act in acts if any(f"“{t}”" in act.content for t in terms)]
            for act in matched:
                out[act.id] = (items, f"方案{section}：{said}")
            if not matched:
                unplaced.append(f"方案{section}：{said}")
    return out, unplaced


def _unit_problems(notice: Notice, act: DraftActivity, matcher: UnitMatcher) -> list[Problem]:
    out = []
    for m in act.units:
        if m.how is How.NONE:
            near = (
                f"最接近的有：{'、'.join(m.suggestions)}"
                if m.suggestions
                else f"units.yaml 里有：{'、'.join(matcher.all_labels())}"
            )
            out.append(
                Problem(
                    notice.path,
                    f"计划表第{act.row.row}行 责任单位",
                    m.text,
                    "units.yaml 里没有这个单位或单位集合",
                    f"{near}。在 units.yaml 里加上这个单位（名称写成通知里的样子），"
                    "或把通知里的名称改成已有的，再导入一次",
                )
            )
    return out


def _year(notice: Notice, header: NoticeHeader, given: int | None) -> int | Problem:
    year = given or header.year
    if year is None:
        return Problem(notice.path, "", notice.path.name, "看不出这是哪一年的计划", "用 --year 指定，例如 --year 2025")
    if not 2000 <= year <= 2100:
        return Problem(notice.path, "", year, "年份不对", "用 --year 指定，例如 --year 2025")
    return year


def build_draft(
    notice: Notice,
    units: UnitsFile,
    town_names: tuple[str, ...] = (),
    year: int | None = None,
    kept_ids: dict[tuple[int, str], str] | None = None,
) -> DraftPlan:
    """Understand the notice. Raises ConfigError listing every problem (no plan table, a bad month, a unit that
    matches nothing, no year); unit names matched only approximately are kept and flagged (`How.NEAR`)."""
    header = read_header(notice)
    rows, problems = plan_rows(notice)
    year_or_problem = _year(notice, header, year)
    if isinstance(year_or_problem, Problem):
        problems.append(year_or_problem)
    if problems:
        raise ConfigError(problems)
    assert isinstance(year_or_problem, int)
    plan_year = year_or_problem
    matcher = UnitMatcher(units, town_names)
    singles = [(row, month) for row in rows for month in row.months]
    titles = [propose_title(row.content) for row, _ in singles]
    rows_ids = [(month, t, row.content) for (row, month), t in zip(singles, titles, strict=True)]
    ids = _activity_ids(plan_year, rows_ids, kept_ids or {})
    acts = [
        DraftActivity(
            id=ident,
            month=month,
            title=title,
            content=row.content,
            theme=theme_of(row.content),
            units=tuple(matcher.match(name) for name in split_units(row.units_text)),
            events=(),
            proof=(),
            proof_source="",
            row=row,
        )
        for (row, month), title, ident in zip(singles, titles, ids, strict=True)
    ]
    for act in acts:
        problems.extend(_unit_problems(notice, act, matcher))
    if problems:
        raise ConfigError(dict.fromkeys(problems))  # a row split into months is one row to fix
    body = _body_paragraphs(notice)
    from_body, unplaced = _place_events(body, plan_year, acts)
    proofs, loose_proof = _place_proof(body, acts)
    done = []
    for act in acts:
        in_row = known_days(act.content, plan_year) + written_dates(act.content, plan_year, "")
        if len(act.row.months) > 1:
            # 6—7月 with 世界环境日: the day belongs to the June activity only, not to each month of the range.
            in_row = [e for e in in_row if e.start.month == act.month or e.start.month not in act.row.months]
        items, said = proofs.get(act.id, ((), ""))
        events = _unique_events(in_row + from_body[act.id])
        done.append(replace(act, events=events, proof=items, proof_source=said))
    return DraftPlan(plan_year, header, tuple(done), tuple(unplaced), tuple(loose_proof))
