"""The weekly quiz's month in the ledger (台账) and the month-end summary: each village's 参与率 and 知晓率, as the
plan names them, for the console's 台账 page, the ledger report (`laba report`, HTML and XLSX, the console's
download) and the summary message.

参与率 is the people who answered at least once this month over the people in the village's quiz groups, counted
by the WeChat gateway at a quiz's first answer, while it was open (`bot.store.quiz.quiz_members`); where the gateway
gave no count the rate is not made up: the report says the count is unknown and shows the answers only. 知晓率 is
right answers over answers.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from bot.config.campaign import LoadedCampaign
from bot.core.model import GroupKind, JobKind
from bot.store.quiz import QuizStore, VillageMonth
from bot.store.sql import SqlStore

HEADERS = ("村（社区）", "参与人数", "群成员", "参与率", "回答人次", "答对人次", "知晓率")


@dataclass(frozen=True)
class QuizVillage:
    name: str
    answered: int  # answers (人次)
    correct: int
    accuracy: int  # 知晓率, percent
    people: int = 0  # different people who answered this month
    members: int | None = None  # people in the village's quiz groups; None: the gateway didn't say
    participation: int | None = None  # 参与率, percent; None without a member count

    @property
    def participation_cn(self) -> str:
        """The rate as the clerk reads it, or why there is none."""
        return f"{self.participation}%" if self.participation is not None else "群人数不详"

    def view(self) -> dict[str, Any]:
        """What the summary template gets for the village (`quiz_villages`)."""
        return {
            "name": self.name,
            "answered": self.answered,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "people": self.people,
            "members": self.members,
            "participation": self.participation,
        }

    def cells(self) -> list[Any]:
        """A row under HEADERS (numbers as numbers, for the spreadsheet)."""
        members: Any = self.members if self.members is not None else "不详"
        return [
            self.name,
            self.people,
            members,
            self.participation_cn,
            self.answered,
            self.correct,
            f"{self.accuracy}%",
        ]


@dataclass(frozen=True)
class QuizMonth:
    weeks: int  # quizzes planned in the month
    villages: tuple[QuizVillage, ...]


def asked_groups(loaded: LoadedCampaign, year: int, month: int) -> dict[str, frozenset[str]]:
    """Unit id -> the groups the month's quizzes went to there."""
    out: dict[str, set[str]] = {}
    for job in loaded.plan.jobs:
        if job.kind is JobKind.QUIZ and (job.year, job.month) == (year, month):
            for t in job.targets:
                out.setdefault(t.unit or "", set()).add(t.id)
    return {unit: frozenset(groups) for unit, groups in out.items()}


def village(name: str, v: VillageMonth) -> QuizVillage:
    return QuizVillage(name, v.answered, v.correct, v.accuracy, v.people, v.members, v.participation)


def quiz_villages(loaded: LoadedCampaign, quiz: QuizStore, year: int, month: int) -> tuple[QuizVillage, ...]:
    """Each village asked this month (or that answered), silent ones with zeros, in unit id order."""
    names = {u.id: u.name for u in loaded.campaign.units}
    rows = quiz.month(year, month, asked_groups(loaded, year, month))
    return tuple(village(names.get(v.unit_id, v.unit_id), v) for v in rows)


def quiz_month(loaded: LoadedCampaign, store: SqlStore, year: int, month: int) -> QuizMonth:
    weeks = sum(1 for j in loaded.plan.jobs if j.kind is JobKind.QUIZ and (j.year, j.month) == (year, month))
    return QuizMonth(weeks, quiz_villages(loaded, QuizStore(store), year, month))


def quiz_html(quiz: QuizMonth) -> str:
    """The ledger report's section ('' for a month without quizzes)."""
    if not quiz.weeks:
        return ""
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in v.cells()) + "</tr>" for v in quiz.villages
    )
    head = "".join(f"<th>{h}</th>" for h in HEADERS)
    body = (
        f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{_NOTE}"
        if rows
        else '<p class="muted">这个月还没有人回答。</p>'
    )
    return f'<section data-activity="quiz"><h2>每周一题（本月{quiz.weeks}期）</h2>{body}</section>'


_NOTE = '<p class="muted">参与率＝本月回答过的人数÷出题时群里的人数；知晓率＝答对人次÷回答人次。</p>'


def quiz_sheet(quiz: QuizMonth) -> tuple[str, list[list[Any]]] | None:
    """The ledger spreadsheet's sheet: its name and rows (None for a month without quizzes)."""
    if not quiz.weeks:
        return None
    rows: list[list[Any]] = [[f"每周一题（本月{quiz.weeks}期）"], list(HEADERS)]
    rows += [v.cells() for v in quiz.villages] or [["这个月还没有人回答。"]]
    rows.append(["参与率＝本月回答过的人数÷出题时群里的人数；知晓率＝答对人次÷回答人次。"])
    return "每周一题", rows


def quiz_lines(quiz: QuizMonth) -> list[str]:
    """The same for the terminal."""
    if not quiz.weeks:
        return []
    return [f"每周一题（本月{quiz.weeks}期）："] + [
        f"  {v.name}：{v.people} 人参与，"
        + (f"参与率 {v.participation}%" if v.participation is not None else "群人数不详，不算参与率")
        + f"；回答 {v.answered} 人次，"
        f"答对 {v.correct} 人次，知晓率 {v.accuracy}%"
        for v in quiz.villages
    ]


WEEKDAYS_CN = "一二三四五六日"


def quiz_check_line(loaded: LoadedCampaign) -> str:
    """What `laba check` says about the weekly quiz: where it goes, or why there is none."""
    rule = loaded.campaign.rules.quiz
    if not rule.enabled:
        return "每周一题：town.yaml 里关掉了（rules.quiz.enabled: false），不出题。"
    asked = [j for j in loaded.plan.jobs if j.kind is JobKind.QUIZ]
    villagers = {g.id for u in loaded.campaign.units for g in u.groups if g.kind is GroupKind.VILLAGERS}
    if not asked and loaded.sources.channel != "wechaty":
        return (
            f"每周一题：现在的发送渠道是 {loaded.sources.channel}（BOT_CHANNEL），收不到村民在群里的回复，不出题；"
            "用微信（BOT_CHANNEL=wechaty）时自动在村民群出题。"
        )
    if not asked:
        return (
            f"每周一题：{len(villagers)} 个村民群 / 居民群都由群机器人或人工代发，收不到回复，不出题；"
            "村民可以用网页查询（BOT_PUBLIC_URL/q）。"
        )
    groups = {t.id for j in asked for t in j.targets}
    left = len(villagers - groups)
    rest = f"；另有 {left} 个群由群机器人或人工代发，收不到回复，不出题" if left else ""
    return (
        f"每周一题：每周{WEEKDAYS_CN[rule.weekday - 1]} {rule.time:%H:%M} 发到 {len(groups)} 个能收到回复的"
        f"村民群 / 居民群，共 {len(asked)} 期{rest}。"
    )
