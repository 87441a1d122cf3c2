"""From (campaign, rules, calendar) to the planned jobs: pure and deterministic.

The same input always gives the same jobs, in the same order, with the same keys. A key names what a job is for
(activity, kind, event), never its time or position, so editing a time or inserting an activity doesn't turn an
already-sent job into a "new" one. `plan` prints these jobs; the daemon and `simulate` run exactly these.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.core.model import (
    Activity,
    BeforeRule,
    Campaign,
    DayRule,
    Event,
    Group,
    GroupKind,
    JobKind,
    Person,
    PlanFile,
    Unit,
)
from bot.core.workdays import WorkCalendar


@dataclass(frozen=True)
class Target:
    """Where one delivery goes: a WeChat group or a person, by stable id. `unit` is who it speaks for.

    `wechat` is how a person is found on the network (WeChat id or alias from the town's files); `mentions` are the
    people to @ in a group message (the channel builds the visible "@name" the network's way).
    """

    id: str
    name: str
    kind: str  # "group" or "person"
    group_kind: GroupKind | None = None
    unit: str | None = None
    unit_name: str = ""
    wechat: str = ""
    mentions: tuple[Target, ...] = ()
    mobile: str = ""  # a person's mobile number, for group robots' @mentions


@dataclass(frozen=True)
class Voice:
    """How a clip is spoken: an edge-tts voice name and its signed prosody settings ("-10%", "+0Hz")."""

    name: str = "zh-CN-XiaoxiaoNeural"
    rate: str = "-10%"
    volume: str = "+0%"
    pitch: str = "+0Hz"


@dataclass(frozen=True)
class Broadcast:
    """A broadcast job's clip: its script template (`messages/broadcast/<script>.j2`), voice and play times.

    The clip is produced at `produce_at` (ahead, so a failing TTS service leaves days to react) and delivered at the
    job's `at`; operators play it at each of `plays`, the message said `repeats` times each play."""

    script: str
    plays: tuple[datetime, ...]
    produce_at: datetime
    voice: Voice
    repeats: int


@dataclass(frozen=True)
class PlannedJob:
    key: str
    kind: JobKind
    at: datetime
    targets: tuple[Target, ...]
    activity: Activity | None
    year: int
    month: int
    event: Event | None = None
    due: datetime | None = None  # proof due time for proof_request, chase and summary
    broadcast: Broadcast | None = None  # for broadcast jobs only

    @property
    def activity_id(self) -> str | None:
        return self.activity.id if self.activity else None


@dataclass(frozen=True)
class Plan:
    jobs: tuple[PlannedJob, ...]
    warnings: tuple[str, ...]

    def by_key(self) -> dict[str, PlannedJob]:
        return {j.key: j for j in self.jobs}

    def between(self, start: datetime | None, end: datetime | None) -> tuple[PlannedJob, ...]:
        return tuple(j for j in self.jobs if (start is None or j.at >= start) and (end is None or j.at < end))


def group_target(group: Group, unit: Unit) -> Target:
    return Target(group.id, group.name, "group", group.kind, unit.id, unit.name)


def person_target(person: Person, unit: Unit | None = None) -> Target:
    return Target(
        person.id,
        person.name,
        "person",
        None,
        unit.id if unit else None,
        unit.name if unit else "",
        person.wechat,
        mobile=person.mobile,
    )


def unit_targets(unit: Unit, *, mention_contacts: bool = False) -> tuple[Target, ...]:
    """Where a unit is asked for things: its work groups (optionally @-ing its contacts), or else its contacts."""
    mentions = tuple(person_target(c, unit) for c in unit.contacts) if mention_contacts else ()
    work = tuple(
        Target(g.id, g.name, "group", g.kind, unit.id, unit.name, mentions=mentions)
        for g in unit.groups
        if g.kind is GroupKind.WORK
    )
    return work or tuple(person_target(c, unit) for c in unit.contacts)


def admin_targets(campaign: Campaign) -> tuple[Target, ...]:
    return tuple(person_target(a) for a in campaign.admins)


def office_target(campaign: Campaign) -> Target:
    group, unit = campaign.group(campaign.office_group)
    return group_target(group, unit)


def operator_targets(campaign: Campaign) -> tuple[Target, ...]:
    """Each unit's broadcast operator (广播员), in units.yaml order; units without one have no loudspeaker clip."""
    return tuple(person_target(u.broadcast_operator, u) for u in campaign.units if u.broadcast_operator)


def _public_targets(campaign: Campaign, activity: Activity) -> tuple[Target, ...]:
    """Every villager group in the town (the campaign is for everyone), then the responsible units' work groups."""
    out: dict[str, Target] = {}
    for unit in campaign.units:
        for g in unit.groups:
            if g.kind is GroupKind.VILLAGERS:
                out.setdefault(g.id, group_target(g, unit))
    for unit in campaign.responsible_units(activity):
        for t in unit_targets(unit):
            out.setdefault(t.id, t)
    return tuple(out.values())


class _Timing:
    def __init__(self, campaign: Campaign, zone: tzinfo) -> None:
        self.rules = campaign.rules
        self.workdays = WorkCalendar(campaign.calendar)
        self.zone = zone

    def at(self, day: date, clock_time: time) -> datetime:
        return datetime.combine(day, clock_time, tzinfo=self.zone)

    def on_day(self, year: int, month: int, rule: DayRule) -> datetime:
        last = month_calendar.monthrange(year, month)[1]
        # day 31 in a 30-day month means the month's last day, as a clerk would expect.
        day = last if rule.day == "last" else min(rule.day, last)
        settled = self.workdays.settle(date(year, month, day), rule.workday)
        return self.at(settled, rule.time)

    def before(self, day: date, rule: BeforeRule) -> datetime:
        settled = self.workdays.settle(day - timedelta(days=rule.days_before), rule.workday)
        return self.at(settled, rule.time)


def plan_campaign(campaign: Campaign) -> Plan:
    """All jobs of every plan year, sorted by (time, key). Raises nothing for a loaded campaign."""
    zone = ZoneInfo(campaign.town.timezone)
    timing = _Timing(campaign, zone)
    jobs: list[PlannedJob] = []
    warnings: list[str] = []
    for plan in campaign.plans:
        if not timing.workdays.knows(plan.year):
            warnings.append(
                f"chinesecalendar 还不知道 {plan.year} 年的法定节假日和调休安排：暂按周一至周五算工作日。"
                f"请升级 chinesecalendar（pip install -U chinesecalendar），"
                f"或在 town.yaml 的 calendar.extra_holidays / extra_workdays 里补上。"
            )
        jobs.extend(_plan_year(campaign, plan, timing))
    jobs.sort(key=lambda j: (j.at, j.key))
    return Plan(tuple(jobs), tuple(warnings))


def _plan_year(campaign: Campaign, plan: PlanFile, timing: _Timing) -> Iterable[PlannedJob]:
    rules = timing.rules
    months: dict[int, list[Activity]] = {}
    for act in plan.activities:
        months.setdefault(act.month, []).append(act)
        y, m = plan.year, act.month
        public = _public_targets(campaign, act)
        units = campaign.responsible_units(act)
        # Requests and chases @ the unit's contacts: they are the ones who must act.
        asked = tuple(t for u in units for t in unit_targets(u, mention_contacts=True))
        due = _due(act, y, m, timing)
        announce = timing.on_day(y, m, rules.announce)
        yield PlannedJob(f"{act.id}/announce", JobKind.ANNOUNCE, announce, public, act, y, m, due=due)
        for ev in act.events:
            remind_at = timing.before(ev.start, rules.remind)
            yield PlannedJob(f"{act.id}/remind/{ev.id}", JobKind.REMIND, remind_at, public, act, y, m, ev, due)
        request_at = timing.on_day(y, m, rules.proof_request)
        yield PlannedJob(f"{act.id}/proof_request", JobKind.PROOF_REQUEST, request_at, asked, act, y, m, due=due)
        chase_at = timing.before(due.date(), rules.chase)
        if chase_at > request_at:
            yield PlannedJob(f"{act.id}/chase", JobKind.CHASE, chase_at, asked, act, y, m, due=due)
        operators = operator_targets(campaign)
        if operators:
            # The activity's clip plays from the announcement's day; an event's from its reminder's day.
            yield _broadcast(f"{act.id}/broadcast", "announce", announce.date(), operators, act, None, due, timing)
            for ev in act.events:
                first = ev.start - timedelta(days=rules.remind.days_before)
                yield _broadcast(f"{act.id}/broadcast/{ev.id}", "remind", first, operators, act, ev, due, timing)
    office = (office_target(campaign),)
    for month, acts in sorted(months.items()):
        at = timing.on_day(plan.year, month, rules.summary)
        # One summary a month; it covers each activity of that month (the template lists them).
        yield PlannedJob(
            f"{plan.year}-{month:02d}/summary",
            JobKind.SUMMARY,
            at,
            office,
            acts[0],
            plan.year,
            month,
            due=max(_due(a, plan.year, month, timing) for a in acts),
        )


def _broadcast(
    key: str,
    script: str,
    first_day: date,
    operators: tuple[Target, ...],
    act: Activity,
    event: Event | None,
    due: datetime,
    timing: _Timing,
) -> PlannedJob:
    rule, own = timing.rules.broadcast, act.broadcast
    plays = tuple(
        timing.at(first_day + timedelta(days=d), t) for d in range(rule.play_days) for t in sorted(rule.play_times)
    )
    voice = Voice(own.voice or rule.voice, own.rate or rule.rate, own.volume or rule.volume, own.pitch or rule.pitch)
    deliver_at = timing.at(first_day - timedelta(days=rule.deliver_days_before), rule.deliver_time)
    produce_at = plays[0] - timedelta(days=rule.produce_days_before)
    clip = Broadcast(script, plays, produce_at, voice, own.repeats or rule.repeats)
    year, month = (event.start.year, event.start.month) if event else (first_day.year, act.month)
    return PlannedJob(key, JobKind.BROADCAST, deliver_at, operators, act, year, month, event, due, clip)


def _due(act: Activity, year: int, month: int, timing: _Timing) -> datetime:
    if act.proof.due is not None:
        return timing.at(act.proof.due, timing.rules.proof_due.time)
    return timing.on_day(year, month, timing.rules.proof_due)


def activities_of_month(campaign: Campaign, year: int, month: int) -> tuple[Activity, ...]:
    return tuple(a for p in campaign.plans if p.year == year for a in p.activities if a.month == month)
