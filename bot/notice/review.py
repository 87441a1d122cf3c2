"""What the import inferred and what the town must still decide, in the clerk's words (the draft's comment block
and the command's closing report say the same)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.notice.draft import DraftPlan
from bot.notice.units import How


@dataclass(frozen=True)
class Review:
    inferred: tuple[str, ...]
    to_decide: tuple[str, ...]


def _md(d: object) -> str:
    return f"{d.month}月{d.day}日"  # type: ignore[attr-defined]


def _q(name: str) -> str:
    return name if "“" in name else f"“{name}”"


def _short(name: str) -> str:
    return name if len(name) <= 16 else name[:15] + "…"


def _year_source(draft: DraftPlan, given: bool) -> str:
    h = draft.header
    if given:
        return f"年份 {draft.year}：命令行 --year 指定"
    if h.title_year:
        return f"年份 {draft.year}：取自计划表标题"
    if h.number_year:
        return f"年份 {draft.year}：取自文号 {h.doc_number}"
    return f"年份 {draft.year}：取自通知日期"


def review(draft: DraftPlan, year_given: bool = False, kept: int = 0) -> Review:
    acts = draft.activities
    events = [e for a in acts for e in a.events]
    inferred = [
        _year_source(draft, year_given),
        f"计划表 {len({a.row.row for a in acts})} 行，整理成 {len(acts)} 项活动；content 照录原文，title 是拟的简称",
        f"事件 {len(events)} 个：{'、'.join(f'{_short(e.name)}（{_md(e.start)}）' for e in events)}"
        if events
        else "事件：无",
    ]
    if kept:
        inferred.append(f"现有计划文件里的 {kept} 个活动编号照旧保留（发送记录按编号防重发）")
    decide: list[str] = []
    for a in acts:
        for u in a.units:
            if u.how is How.NEAR:
                decide.append(f"计划表第{a.row.row}行的责任单位“{u.text}”按最接近的 {u.label} 填写，请确认")
        for e in a.events:
            if e.note and "农历" in e.note:
                decide.append(f"{e.note}为 {_md(e.start)}，请确认")
            if e.start.month != a.month:
                decide.append(f"{a.month}月活动（{a.title}）的事件{_q(e.name)}在 {_md(e.start)}，不在本月，请确认")
    for row in dict.fromkeys(a.row for a in acts if len(a.row.months) > 1):
        months = "、".join(f"{m}月" for m in row.months)
        decide.append(f"计划表第{row.row}行“{row.month_text}”拆成了 {months} 各一项活动（内容相同），请确认每月都做")
    for month, n in sorted(Counter(a.month for a in acts).items()):
        if n > 1:
            decide.append(f"{month}月有 {n} 项活动，会各发一次通知、各收一次照片，请确认")
    for e in draft.unplaced:
        decide.append(
            f"方案正文里的 {_md(e.start)}{_q(e.name)}：计划表当月没有活动，没有写进计划；"
            "需要的话加到对应活动的 events 里"
        )
    for said in draft.loose_proof:
        decide.append(f"{said}——没有对上计划表里的哪项活动，需要的话写进对应活动的 proof.items")
    default_proof = [f"{a.month}月" for a in acts if not a.proof]
    if default_proof:
        decide.append(
            f"{'、'.join(dict.fromkeys(default_proof))}的 proof 先写了“活动照片”（通知里没说要交什么），请按实际要求改"
        )
    decide.append(
        "每项活动交照片的截止日、最少张数按 town.yaml 的 rules 办；某项要不同，在它的 proof 里写 due、min_photos"
    )
    return Review(tuple(inferred), tuple(dict.fromkeys(decide)))
