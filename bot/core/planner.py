"""From (campaign, rules, calendar) to the planned jobs: pure and deterministic.

The same input always gives the same jobs, in the same order, with the same keys. A key names what a job is for
(activity, kind, event), never its time or position, so editing a time or inserting an activity doesn't turn an
already-sent job into a "new" one. `plan` prints these jobs; the daemon and `simulate` run exactly these.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Iterable
from dataclasses import dataclass, replace
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
    QuietHours,
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
    # Summary jobs: the activities it tallies; a month's announcement and work arrangement: the month's activities.
    covers: tuple[Activity, ...] = ()

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


def villager_targets(campaign: Campaign) -> tuple[Target, ...]:
    """Every villagers' group in the town: the campaign is for everyone, not only the responsible units."""
    out: dict[str, Target] = {}
    for unit in campaign.units:
        for g in unit.groups:
            if g.kind is GroupKind.VILLAGERS:
                out.setdefault(g.id, group_target(g, unit))
    return tuple(out.values())


def _units_targets(campaign: Campaign, activity: Activity) -> tuple[Target, ...]:
    """The responsible units' work groups (or contacts), each once."""
    out: dict[str, Target] = {}
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


def plan_campaign(campaign: Campaign, replies: frozenset[str] = frozenset()) -> Plan:
    """All jobs of every plan year, sorted by (time, key). Raises nothing for a loaded campaign.

    `replies`: the ids of the groups whose villagers' replies reach the bot (`bot.core.routes.reply_groups`); the
    weekly quiz goes only to those. The default (none) is the outbox's: no quiz."""
    zone = ZoneInfo(campaign.town.timezone)
    timing = _Timing(campaign, zone)
    jobs: list[PlannedJob] = []
    warnings: list[str] = []
    for plan in campaign.plans:
        if not timing.workdays.knows(plan.year):
            warnings.append(
                f"chinesecalendar 还不知道 {plan.year} 年的法定节假日和调休安排：暂按周一至周五算工作日。"
                "请在 town.yaml 的 calendar.extra_holidays / extra_workdays 里写上当年的放假和调休日期，"
                "或请技术人员升级节假日表（chinesecalendar）。"
            )
        jobs.extend(_plan_year(campaign, plan, timing, replies))
    jobs.sort(key=lambda j: (j.at, j.key))
    jobs = _spread(jobs, campaign.rules.quiet_hours)
    jobs.sort(key=lambda j: (j.at, j.key))
    return Plan(tuple(jobs), tuple(warnings))


SPREAD_STEP = timedelta(minutes=30)
FINAL_SUMMARY = "final_summary"  # key suffix of an activity's own tally after its due date


def _spread(jobs: list[PlannedJob], quiet: QuietHours) -> list[PlannedJob]:
    """No group gets two messages in the same minute (two activities in a month, two events on one day): a later
    job (in (time, key) order, so deterministic) moves on by half-hours until its groups are free, never into quiet
    hours. Broadcast jobs are left alone: an operator may get two clips at once."""
    busy: set[tuple[str, datetime]] = set()
    out = []
    for job in jobs:
        at = job.at
        if job.kind is not JobKind.BROADCAST:
            groups = [t.id for t in job.targets if t.kind == "group"]
            for _ in range(8):
                if not any((g, at) in busy for g in groups):
                    break
                nxt = at + SPREAD_STEP
                if quiet.contains(nxt.time()) or nxt.date() != job.at.date():
                    break
                at = nxt
            busy.update((g, at) for g in groups)
        out.append(job if at == job.at else replace(job, at=at))
    return out


def _plan_year(campaign: Campaign, plan: PlanFile, timing: _Timing, replies: frozenset[str]) -> Iterable[PlannedJob]:
    rules = timing.rules
    months: dict[int, list[Activity]] = {}
    villagers = villager_targets(campaign)
    operators = operator_targets(campaign)
    for act in plan.activities:
        months.setdefault(act.month, []).append(act)
    for acts in months.values():
        acts.sort(key=_first_day)  # a month's activities in the order they happen (stable: file order on ties)
    # Issue 10 (M3): a month with several activities sends each group ONE announcement and each unit ONE work
    # arrangement naming them all. A one-activity month keeps its activity's keys; a month with several is keyed
    # by the month (`2025-04/announce`), so adding or reordering activities in it never renames the job.
    month_start = {m: _month_merged(campaign, plan.year, m, acts, timing) for m, acts in months.items()}
    for act in plan.activities:
        y, m = plan.year, act.month
        units = _units_targets(campaign, act)
        asked = tuple(t for u in campaign.responsible_units(act) for t in unit_targets(u, mention_contacts=True))
        due = _due(act, y, m, timing)
        _, request_at = _month_start(act, y, m, timing)  # this activity's own: its chase is timed from it
        merged = month_start[m]
        lead = months[m][0] is act
        if villagers and lead:
            yield replace(merged.announce, targets=villagers)
        for ev in act.events:
            if villagers:
                at = timing.before(ev.start, rules.remind)
                yield PlannedJob(f"{act.id}/remind/{ev.id}", JobKind.REMIND, at, villagers, act, y, m, ev, due)
            # Units are reminded on a workday (offices are closed on Sundays and holidays) unless the town says.
            at = timing.before(ev.start, rules.remind_units)
            if not _same_morning(at, merged.request.at):  # else the arrangement just said it (folded, M3)
                yield PlannedJob(f"{act.id}/remind/{ev.id}/units", JobKind.REMIND, at, units, act, y, m, ev, due)
        if lead:
            yield merged.request
        chase_at = chase_time(request_at, due, timing)  # from this activity's own request time
        if chase_at is not None:
            yield PlannedJob(f"{act.id}/chase", JobKind.CHASE, chase_at, asked, act, y, m, due=due)
        if operators:
            # The month's clip plays from the announcement's day (one clip naming all the month's activities, like
            # the announcement: M3); an event's from its reminder's day.
            if lead:
                key = merged.announce.key.replace("/announce", "/broadcast")
                day = merged.announce.at.date()
                clip = _broadcast(key, "announce", day, operators, act, None, due, timing)
                yield replace(clip, covers=merged.announce.covers)
            for ev in act.events:
                first = ev.start - timedelta(days=rules.remind.days_before)
                yield _broadcast(f"{act.id}/broadcast/{ev.id}", "remind", first, operators, act, ev, due, timing)
    yield from _summaries(campaign, plan, months, timing)
    yield from _quizzes(campaign, plan, months, timing, replies)


@dataclass(frozen=True)
class _MonthStart:
    announce: PlannedJob  # targets filled in by the caller
    request: PlannedJob


def _first_day(act: Activity) -> date:
    """When an activity first happens: its first event, else (no event) the start of its month."""
    return min((ev.start for ev in act.events), default=date.min)


def _same_morning(a: datetime, b: datetime) -> bool:
    return a.date() == b.date() and a.hour < 12 and b.hour < 12


def _month_merged(campaign: Campaign, year: int, month: int, acts: list[Activity], timing: _Timing) -> _MonthStart:
    """The month's one announcement and one work arrangement, covering every activity of the month (in date order).

    Each goes out at the earliest of its activities' times (an early event pulls the whole month's forward); the
    arrangement reaches every responsible unit once and, rendered per unit, names only that unit's activities."""
    lead = acts[0]
    name = lead.id if len(acts) == 1 else f"{year}-{month:02d}"
    starts = [_month_start(a, year, month, timing) for a in acts]
    asked: dict[str, Target] = {}
    for act in acts:
        # It @s the unit's contacts: they are the ones who must act.
        for t in (t for u in campaign.responsible_units(act) for t in unit_targets(u, mention_contacts=True)):
            asked.setdefault(t.id, t)
    due = _due(lead, year, month, timing)
    covers = tuple(acts)
    announce = PlannedJob(
        f"{name}/announce",
        JobKind.ANNOUNCE,
        min(s[0] for s in starts),
        (),
        lead,
        year,
        month,
        due=due,
        covers=covers,
    )
    request = PlannedJob(
        f"{name}/proof_request",
        JobKind.PROOF_REQUEST,
        min(s[1] for s in starts),
        tuple(asked.values()),
        lead,
        year,
        month,
        due=due,
        covers=covers,
    )
    return _MonthStart(announce, request)


def request_of(plan: Plan, activity_id: str) -> PlannedJob | None:
    """The work arrangement (proof request) that asks for an activity's proof: its own, or its month's merged one."""
    return next(
        (
            j
            for j in plan.jobs
            if j.kind is JobKind.PROOF_REQUEST and any(a.id == activity_id for a in (j.covers or (j.activity,)) if a)
        ),
        None,
    )


def chase_time(request_at: datetime, due: datetime, timing: _Timing) -> datetime | None:
    """The rule's days before the due date; when that falls on or before the request (a due date just after 国庆),
    the first workday after the request instead, if that is still before the due date; else no chase."""
    at = timing.before(due.date(), timing.rules.chase)
    if at > request_at:
        return at
    day = timing.workdays.settle(request_at.date() + timedelta(days=1), "next")
    return timing.at(day, timing.rules.chase.time) if day < due.date() else None


def quiz_targets(campaign: Campaign, replies: frozenset[str]) -> tuple[Target, ...]:
    """The villagers' groups a quiz goes to: those among `replies`, the groups whose replies reach the bot (not a
    robot's, not the relay's, not the outbox's)."""
    return tuple(t for t in villager_targets(campaign) if t.id in replies)


def quiz_key(day: date) -> str:
    """A quiz's key: its ISO week, so editing the weekday or the time keeps an already-run quiz the same job."""
    year, week, _ = day.isocalendar()
    return f"quiz/{year}-W{week:02d}"


def _quizzes(
    campaign: Campaign, plan: PlanFile, months: dict[int, list[Activity]], timing: _Timing, replies: frozenset[str]
) -> Iterable[PlannedJob]:
    """One question a week on the rule's weekday, in each month with an activity, when that day is a workday
    (no make-up day: a holiday week has no quiz); its answer the next day at `answer_time`."""
    rule = timing.rules.quiz
    targets = quiz_targets(campaign, replies)
    if not rule.enabled or not targets:
        return
    for month, acts in sorted(months.items()):
        last = month_calendar.monthrange(plan.year, month)[1]
        for day_no in range(1, last + 1):
            day = date(plan.year, month, day_no)
            if day.isoweekday() != rule.weekday or not timing.workdays.is_workday(day):
                continue
            key = quiz_key(day)
            asked = timing.at(day, rule.time)
            answer = timing.at(day + timedelta(days=1), rule.answer_time)
            yield PlannedJob(key, JobKind.QUIZ, asked, targets, acts[0], plan.year, month, due=answer)
            yield PlannedJob(f"{key}/answer", JobKind.QUIZ_ANSWER, answer, targets, acts[0], plan.year, month)


def announcement_moved(campaign: Campaign, act: Activity) -> datetime | None:
    """When the activity's announcement goes out if its first event moved it before the rules' day, else None."""
    timing = _Timing(campaign, ZoneInfo(campaign.town.timezone))
    year = next(p.year for p in campaign.plans if any(a.id == act.id for a in p.activities))
    announce, _ = _month_start(act, year, act.month, timing)
    return None if announce == timing.on_day(year, act.month, timing.rules.announce) else announce


def _month_start(act: Activity, year: int, month: int, timing: _Timing) -> tuple[datetime, datetime]:
    """When the month's announcement and the units' work arrangement go out.

    Normally on the rules' days; but an announcement must come before the activity's first event (and its
    reminder): June's 六一 falls before June's first workday, so June's announcement moves to the last workday
    before the 六一 reminder, and the units' arrangement with it."""
    rules = timing.rules
    announce = timing.on_day(year, month, rules.announce)
    request = timing.on_day(year, month, rules.proof_request)
    if not act.events:
        return announce, request
    first = min(ev.start for ev in act.events)
    remind_day = min(timing.before(first, rules.remind).date(), first - timedelta(days=1))
    if announce.date() < remind_day:
        return announce, request
    day = timing.workdays.settle(remind_day - timedelta(days=1), "previous")
    announce = timing.at(day, rules.announce.time)
    # The work request keeps its own time of day (office hours), not the announcement's: a late announcement time
    # must not send units their work at night (`check` warns when the rules' times put the request first).
    return announce, min(request, timing.at(day, rules.proof_request.time))


def _summaries(
    campaign: Campaign, plan: PlanFile, months: dict[int, list[Activity]], timing: _Timing
) -> Iterable[PlannedJob]:
    """One summary a month, covering the month's activities; and for an activity whose proof is due after that
    summary, a final tally the next workday after its due date (photos handed in late still reach the office)."""
    office = (office_target(campaign),)
    rules = timing.rules
    for month, acts in sorted(months.items()):
        at = timing.on_day(plan.year, month, rules.summary)
        dues = {a.id: _due(a, plan.year, month, timing) for a in acts}
        yield PlannedJob(
            f"{plan.year}-{month:02d}/summary",
            JobKind.SUMMARY,
            at,
            office,
            acts[0],
            plan.year,
            month,
            due=max(dues.values()),
            covers=tuple(acts),
        )
        for act in acts:
            if dues[act.id] >= at:
                day = timing.workdays.settle(dues[act.id].date() + timedelta(days=1), "next")
                final = timing.at(day, rules.summary.time)
                yield PlannedJob(
                    f"{act.id}/{FINAL_SUMMARY}",
                    JobKind.SUMMARY,
                    final,
                    office,
                    act,
                    plan.year,
                    month,
                    due=dues[act.id],
                    covers=(act,),
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
    # Operators are people at work: the clip reaches them on a workday unless the town says otherwise.
    deliver_day = timing.workdays.settle(first_day - timedelta(days=rule.deliver_days_before), rule.deliver_workday)
    deliver_at = timing.at(deliver_day, rule.deliver_time)
    produce_at = min(plays[0] - timedelta(days=rule.produce_days_before), deliver_at - timedelta(days=1))
    clip = Broadcast(script, plays, produce_at, voice, own.repeats or rule.repeats)
    year, month = (event.start.year, event.start.month) if event else (first_day.year, act.month)
    return PlannedJob(key, JobKind.BROADCAST, deliver_at, operators, act, year, month, event, due, clip)


# Days after an activity's last event day that its proof is due, when the town's rule day would come first.
DUE_AFTER_EVENT_DAYS = 2


def _due(act: Activity, year: int, month: int, timing: _Timing) -> datetime:
    """The plan's own `proof.due`, else the town's rule day, but never before the activity's last event day: an
    event that runs past the 25th (春节 across the month) is due two days after it ends, on a workday."""
    if act.proof.due is not None:
        return timing.at(act.proof.due, timing.rules.proof_due.time)
    due = timing.on_day(year, month, timing.rules.proof_due)
    if act.events:
        last = max(ev.end or ev.start for ev in act.events)
        if due.date() < last:
            day = timing.workdays.settle(last + timedelta(days=DUE_AFTER_EVENT_DAYS), "next")
            return timing.at(day, timing.rules.proof_due.time)
    return due


def due_follows_event(campaign: Campaign, act: Activity) -> bool:
    """True when the activity's events run past the town's due day, so its proof is due after them instead."""
    if act.proof.due is not None or not act.events:
        return False
    timing = _Timing(campaign, ZoneInfo(campaign.town.timezone))
    year = next(p.year for p in campaign.plans if any(a.id == act.id for a in p.activities))
    return timing.on_day(year, act.month, timing.rules.proof_due).date() < max(e.end or e.start for e in act.events)


def activity_due(campaign: Campaign, act: Activity) -> datetime:
    """The activity's own proof due time (its `proof.due`, else the town's rule in its month)."""
    timing = _Timing(campaign, ZoneInfo(campaign.town.timezone))
    year = next(p.year for p in campaign.plans if any(a.id == act.id for a in p.activities))
    return _due(act, year, act.month, timing)


def activities_of_month(campaign: Campaign, year: int, month: int) -> tuple[Activity, ...]:
    return tuple(a for p in campaign.plans if p.year == year for a in p.activities if a.month == month)
