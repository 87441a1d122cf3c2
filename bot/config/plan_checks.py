"""Checks on the planned timing: what the planner would otherwise work around in silence. Pure apart from reading
the plan files again for line numbers.

Errors: a proof due no later than its request (units couldn't hand in, and no chase goes out); two clips with one
file name. Warnings: a chase dropped (no workday between request and due date) or within a day of its request; an
announcement moved before the month's day by an early event; a month's messages out of order; a plan entirely in
the past, or none for this year.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from bot.config.timing_checks import message_order
from bot.config.yamlfile import Loc, YamlDoc, place, read_yaml
from bot.core.clips import colliding_clips
from bot.core.model import Activity, Campaign, JobKind
from bot.core.planner import Plan, PlannedJob, activity_due, announcement_moved, due_follows_event, request_of
from bot.core.render import format_instant
from bot.errors import ConfigError, Problem


class _Places:
    """Where each activity is written: its plan file and index, for file:line in every message."""

    def __init__(self, folder: Path, campaign: Campaign) -> None:
        self.folder = folder
        self.docs: dict[int, YamlDoc | None] = {}
        self.index: dict[str, tuple[int, int]] = {}
        for plan in campaign.plans:
            path = folder / f"plan-{plan.year}.yaml"
            try:
                self.docs[plan.year] = read_yaml(path)
            except ConfigError:
                self.docs[plan.year] = None
            for i, act in enumerate(plan.activities):
                self.index[act.id] = (plan.year, i)

    def problem(self, act: Activity, sub: Loc, value: object, msg: str, hint: str, *, warning: bool) -> Problem:
        year, i = self.index[act.id]
        doc = self.docs.get(year)
        loc: Loc = ("activities", i, *sub)
        path = doc.path if doc else self.folder / f"plan-{year}.yaml"
        return Problem(path, place(loc), value, msg, hint, doc.line_of(loc) if doc else None, warning)


def plan_problems(folder: Path, campaign: Campaign, plan: Plan) -> list[Problem]:
    """Errors and warnings (`Problem.warning`) about the planned timing of every activity, and clip names."""
    places = _Places(folder, campaign)
    jobs = plan.by_key()
    out: list[Problem] = []
    for p in campaign.plans:
        for act in p.activities:
            # A month with several activities has one announcement and one work arrangement covering them all
            # (issue 10 M3): judge each activity against those, with its own due date.
            request = request_of(plan, act.id)
            if request is None or request.due is None:
                continue
            request = replace(request, due=activity_due(campaign, act))
            out.extend(_chase_problems(places, act, request, jobs.get(f"{act.id}/chase")))
            out.extend(_event_problems(places, campaign, act, activity_due(campaign, act)))
            own = {**jobs, f"{act.id}/proof_request": request}
            announce = next((j for j in plan.jobs if j.kind is JobKind.ANNOUNCE and act in j.covers), None)
            if announce is not None:
                own[f"{act.id}/announce"] = announce
            out += message_order(act, own, campaign.rules, lambda *a: places.problem(*a, warning=True))
    for path, keys in colliding_clips(plan).items():
        out.append(Problem(folder, "", path, f"两段广播音频会用同一个文件名（{'、'.join(keys)}）", "给事件换一个编号"))
    return out


def _chase_problems(places: _Places, act: Activity, request: PlannedJob, chase: PlannedJob | None) -> list[Problem]:
    """The proof deadline against the request and the chase: too early to hand in, no chase, or a chase too soon."""
    assert request.due is not None
    due = request.due
    if due <= request.at:
        return [
            places.problem(
                act,
                ("proof", "due"),
                format_instant(due),
                f"交材料截止时间不晚于请交材料的时间（{format_instant(request.at)}）：各单位来不及交，也不会催交",
                "把 proof.due 改到活动之后，或调整 town.yaml 的 rules.proof_due",
                warning=False,
            )
        ]
    if chase is None:
        return [
            places.problem(
                act,
                ("proof",),
                format_instant(due),
                f"请交材料（{format_instant(request.at)}）之后、截止日之前没有工作日，这项活动不会催交",
                "截止日期往后放几天，留出催交的工作日",
                warning=True,
            )
        ]
    if chase.at - request.at < timedelta(days=1):
        return [
            places.problem(
                act,
                ("proof",),
                format_instant(chase.at),
                f"催交离请交材料（{format_instant(request.at)}）不到一天，各单位刚收到通知就被催",
                "截止日期往后放，或把 rules.chase.days_before 改小",
                warning=True,
            )
        ]
    return []


def _event_problems(places: _Places, campaign: Campaign, act: Activity, due: datetime) -> list[Problem]:
    """Events that move the deadline later or the announcement earlier than the monthly rule."""
    out = []
    last = max((ev.end or ev.start for ev in act.events), default=None)
    if last is not None and due_follows_event(campaign, act):
        out.append(
            places.problem(
                act,
                ("events",),
                f"{last.month}月{last.day}日",
                f"活动到 {last.month}月{last.day}日 才结束，晚于每月的交材料截止日，截止改为 {format_instant(due)}",
                "要别的截止日期，请在 proof 里写 due",
                warning=True,
            )
        )
    moved = announcement_moved(campaign, act)
    if moved is not None:
        first = min(ev.start for ev in act.events)
        out.append(
            places.problem(
                act,
                ("events", 0, "start"),
                f"{first.month}月{first.day}日",
                f"事件在每月通知的日子之前，通知和工作安排提前到 {format_instant(moved)} 发出",
                "如果不想提前，把事件写到下个月的计划里",
                warning=True,
            )
        )
    return out


def season_warnings(campaign: Campaign, now: datetime) -> list[str]:
    """A plan that is all in the past, or no plan for this year: laba would run and send nothing."""
    years = [p.year for p in campaign.plans]
    if not years:
        return []
    if max(years) < now.year:
        return [f"计划只到 {max(years)} 年，已经全部过去，运行也不会再发消息：请新建 plan-{now.year}.yaml"]
    if now.year not in years:
        return [f"没有 {now.year} 年的计划（现有 {'、'.join(map(str, years))} 年）：今年不会发消息"]
    return []
