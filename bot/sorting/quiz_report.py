"""The weekly quiz's month in the ledger (台账): each village's participation and accuracy, for the console's 台账
page and the ledger report (`laba report`, the console's download). 参与 is counted in answers (人次): group
membership isn't known to the bot for every channel, so no participation rate is claimed."""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot.config.campaign import LoadedCampaign
from bot.core.model import JobKind
from bot.store.quiz import QuizStore
from bot.store.sql import SqlStore


@dataclass(frozen=True)
class QuizVillage:
    name: str
    answered: int
    correct: int
    accuracy: int  # percent


@dataclass(frozen=True)
class QuizMonth:
    weeks: int  # quizzes planned in the month
    villages: tuple[QuizVillage, ...]


def quiz_month(loaded: LoadedCampaign, store: SqlStore, year: int, month: int) -> QuizMonth:
    names = {u.id: u.name for u in loaded.campaign.units}
    weeks = sum(1 for j in loaded.plan.jobs if j.kind is JobKind.QUIZ and (j.year, j.month) == (year, month))
    villages = tuple(
        QuizVillage(names.get(v.unit_id, v.unit_id), v.answered, v.correct, v.accuracy)
        for v in QuizStore(store).month(year, month)
    )
    return QuizMonth(weeks, villages)


def quiz_html(quiz: QuizMonth) -> str:
    """The ledger report's section ('' for a month without quizzes)."""
    if not quiz.weeks:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(v.name)}</td><td>{v.answered}</td><td>{v.correct}</td><td>{v.accuracy}%</td></tr>"
        for v in quiz.villages
    )
    body = (
        f"<table><thead><tr><th>村（社区）</th><th>回答人次</th><th>答对人次</th><th>正确率</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else '<p class="muted">这个月还没有人回答。</p>'
    )
    return f'<section data-activity="quiz"><h2>每周一题（本月{quiz.weeks}期）</h2>{body}</section>'


def quiz_lines(quiz: QuizMonth) -> list[str]:
    """The same for the terminal."""
    if not quiz.weeks:
        return []
    return [f"每周一题（本月{quiz.weeks}期）："] + [
        f"  {v.name}：回答 {v.answered} 人次，答对 {v.correct} 人次，正确率 {v.accuracy}%" for v in quiz.villages
    ]
