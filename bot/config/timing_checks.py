"""Checks on when things happen that the planner can't put right by itself: rule times that put a
month's messages out of order or outside office hours, a proof due while its event still runs, and a month whose
announcement, work request and reminders don't go out in that order. Each returns problems; the loader and
`plan_checks` call them one line each.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from itertools import pairwise

from bot.config.yamlfile import Loc, YamlDoc, place
from bot.core.model import Activity, JobKind, Rules
from bot.core.planner import PlannedJob
from bot.core.render import format_instant
from bot.errors import Problem

# A unit's work (requests, chases, reminders to work groups) reaches people at their desks.
OFFICE_HOURS = (time(8, 0), time(18, 0))
_OFFICE_RULES = {"proof_request": "请交材料（工作安排）", "chase": "催交", "remind_units": "给各单位的活动提醒"}


def rule_time_problems(doc: YamlDoc, rules: Rules) -> list[Problem]:
    """Warnings: the announcement's time after the work request's (units would get their work before the
    announcement it follows), and work sent to units outside office hours."""
    out = []
    if rules.announce.time > rules.proof_request.time:
        loc: Loc = ("rules", "announce", "time")
        out.append(
            Problem(
                doc.path,
                place(loc),
                f"{rules.announce.time:%H:%M}",
                f"每月的通知（{rules.announce.time:%H:%M}）晚于给各单位的工作安排（{rules.proof_request.time:%H:%M}）："
                "通知和工作安排同一天发时，各单位会先收到工作安排",
                "把 rules.announce.time 改到 rules.proof_request.time 之前",
                doc.line_of(loc),
                warning=True,
            )
        )
    start, end = OFFICE_HOURS
    for name, what in _OFFICE_RULES.items():
        t: time = getattr(rules, name).time
        if not start <= t <= end:
            loc = ("rules", name, "time")
            out.append(
                Problem(
                    doc.path,
                    place(loc),
                    f"{t:%H:%M}",
                    f"{what}在上班时间（{start:%H:%M}—{end:%H:%M}）以外发给各单位的工作群",
                    "改到上班时间",
                    doc.line_of(loc),
                    warning=True,
                )
            )
    return out


def due_inside_event(doc: YamlDoc, i: int, act: Activity) -> list[Problem]:
    """A warning for a proof due while the activity's event still runs: photos of its later days can't be on time."""
    due = act.proof.due
    spans = [(ev.start, ev.end) for ev in act.events if ev.end is not None]
    inside = [(s, e) for s, e in spans if s <= due < e] if due is not None else []
    if due is None or not inside:
        return []
    start, end = inside[0]
    loc: Loc = ("activities", i, "proof", "due")
    return [
        Problem(
            doc.path,
            place(loc),
            f"{due.month}月{due.day}日",
            f"交材料截止时活动还没结束（{start.month}月{start.day}日—{end.month}月{end.day}日）："
            "活动最后几天的照片来不及交",
            f"把截止日期改到 {end.month}月{end.day}日 之后，例如活动结束后两三天",
            doc.line_of(loc),
            warning=True,
        )
    ]


_NAMES = {JobKind.ANNOUNCE: "通知", JobKind.PROOF_REQUEST: "工作安排", JobKind.REMIND: "活动提醒"}
Report = Callable[[Activity, Loc, object, str, str], Problem]


def message_order(act: Activity, jobs: dict[str, PlannedJob], rules: Rules, report: Report) -> list[Problem]:
    """A warning when a month's messages aren't announcement, then work request, then reminders (a reminder that
    refers to the 工作安排 before it has gone out). Left to `rule_time_problems` when the rules' own times cause it."""
    request = jobs.get(f"{act.id}/proof_request")
    if request is None:
        return []
    announce = jobs.get(f"{act.id}/announce")
    first = [announce] if announce is not None and rules.announce.time <= rules.proof_request.time else []
    sequence = [*first, request]
    sequence += sorted((j for k, j in jobs.items() if k.startswith(f"{act.id}/remind/")), key=lambda j: j.at)
    for before, after in pairwise(sequence):
        if after.at < before.at and after.kind is not before.kind:
            return [
                report(
                    act,
                    ("events",) if after.event is not None else ("month",),
                    format_instant(after.at),
                    f"{_NAMES[after.kind]}（{format_instant(after.at)}）比{_NAMES[before.kind]}"
                    f"（{format_instant(before.at)}）先发",
                    "检查 town.yaml 里 rules 各项的时间：先通知，再工作安排，再提醒",
                )
            ]
    return []
