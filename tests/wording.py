"""What a township clerk would object to in a year's outbox, as checks: each returns the offending messages.

`defects` reads every delivered message of a simulated year (with the job and target it belongs to) and lists each
class of mistake found: doubled quotation marks, placeholders in villagers' groups, 晚上6点 deadlines, "发到本群" to a
unit reached privately, unit-facing messages on days off, announcements after the month's first event, two
messages to one group in one minute, examples that don't work, and more.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.model import GroupKind, JobKind
from bot.core.planner import PlannedJob, Target, activity_due
from bot.core.workdays import WorkCalendar
from bot.proof.windows import pick, windows


@dataclass(frozen=True)
class Sent:
    job: PlannedJob
    target: Target
    text: str


def simulate_year(sources: Sources, data: Path, year: int) -> list[Sent]:
    """`laba simulate` over the whole year into `data` (no loudspeaker audio); every message it sent."""
    env = {
        "BOT_DATA_DIR": str(data),
        "BOT_DATABASE_URL": f"sqlite:///{data / 'laba.db'}",
        "BOT_SCHEDULES_DIR": str(sources.schedules),
        "BOT_MESSAGES_DIR": str(sources.messages),
        "BOT_CHANNEL": "outbox",
        "BOT_TTS_ENGINE": "none",
        "BOT_AUDIO_DIR": str(data / "audio"),
    }
    args = ["simulate", "--from", f"{year - 1}-12-01", "--to", f"{year}-12-31", "--json"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    loaded = load(sources)
    jobs = loaded.plan.by_key()
    out = []
    for d in json.loads(result.stdout)["deliveries"]:
        assert d["status"] == "sent", d
        job = jobs[d["key"]]
        target = next(t for t in job.targets if t.id == d["target"])
        path = d["detail"][d["detail"].index("outbox:") :].removeprefix("outbox:")  # after a note, if any
        body = (data / "outbox" / path).read_text(encoding="utf-8")
        out.append(Sent(job, target, body.split("\n\n", 1)[1]))
    return out


def _unit_facing(s: Sent) -> bool:
    return s.target.group_kind is not GroupKind.VILLAGERS


def defects(loaded: LoadedCampaign, sent: list[Sent]) -> dict[str, list[str]]:
    """Every class found, with up to a few examples each; an empty dict when the year reads right."""
    found: dict[str, list[str]] = {}

    def flag(kind: str, s: Sent, why: str = "") -> None:
        found.setdefault(kind, []).append(f"{s.job.key} → {s.target.name}: {why or s.text[:80]}")

    calendar = WorkCalendar(loaded.campaign.calendar)
    rules = loaded.campaign.rules
    for s in sent:
        if "““" in s.text or "””" in s.text:
            flag("doubled quotation marks", s)
        if "村（社区）" in s.text and (s.target.group_kind is GroupKind.VILLAGERS or s.job.kind is JobKind.BROADCAST):
            flag("村（社区） placeholder where villagers read", s)
        if "晚上6点" in s.text:
            flag("deadline said as 晚上6点", s)
        if "本群" in s.text and s.target.kind != "group":
            flag("发到本群 to a unit reached privately", s)
        if "今年的主题" in s.text:
            flag("a theme called 今年的主题", s)
        if "pip install" in s.text or "{{" in s.text or "None" in s.text:
            flag("developer text in a message", s)
        if "不少于0张" in s.text:
            flag("照片不少于0张", s)
        for m in _WEEKEND_DATE.finditer(s.text):
            month, day = int(m[1]), int(m[2])
            year = s.job.at.year + (month < s.job.at.month - 6) - (month > s.job.at.month + 6)  # across new year
            if calendar.is_workday(date(year, month, day)):
                flag("a 调休 working day shown as a weekend day", s, m[0])
        if _nested_quotes(s.text):
            flag("quotation marks nested in the same kind", s)
        if s.job.kind is JobKind.SUMMARY and len(s.job.covers) > 1:
            # Each activity says where it stands: its due date passed or not (one line for two was ambiguous).
            for a in s.job.covers:
                block = s.text.split(f"活动：{a.title}（", 1)[-1].split("\n活动：", 1)[0]
                past = activity_due(loaded.campaign, a) <= s.job.at
                if ("已经截止" in block) != past or ("还没到" in block) == past:
                    flag("a summary not saying per activity whether its due date passed", s, a.id)
        villagers_read = s.target.group_kind is GroupKind.VILLAGERS or s.job.kind is JobKind.BROADCAST
        if villagers_read and s.job.activity and "组织的活动" in s.text and "参加" in s.text:
            runs = {u.id for u in loaded.campaign.responsible_units(s.job.activity)}
            if s.target.unit not in runs:
                flag("villagers invited to an activity their village isn't holding", s)
        policy_any = (s.job.key.endswith("/units") and rules.remind_units.workday == "any") or (
            s.job.kind is JobKind.BROADCAST and rules.broadcast.deliver_workday == "any"
        )
        if _unit_facing(s) and not calendar.is_workday(s.job.at.date()) and not policy_any:
            flag("unit-facing message on a day off", s, f"{s.job.at:%Y-%m-%d}")
        events = s.job.activity.events if s.job.activity else ()
        if s.job.due is not None and events and s.job.due.date() < max(e.end or e.start for e in events):
            flag("proof due before the activity's events are over", s, f"{s.job.due:%m-%d}")
        if s.job.kind is JobKind.ANNOUNCE and s.job.activity and s.job.activity.events:
            first = min(e.start for e in s.job.activity.events)
            if s.job.at.date() >= first:
                flag("announcement on or after the activity's first event", s, f"{s.job.at:%m-%d} ≥ {first:%m-%d}")
    minutes = Counter((s.target.id, s.job.at) for s in sent if s.target.kind == "group")
    for s in sent:
        if s.target.kind == "group" and minutes[(s.target.id, s.job.at)] > 1:
            flag("two messages to one group in one minute", s, f"{s.job.at:%m-%d %H:%M}")

    # No two near-identical messages to one group (or person) on one morning: one announcement, one work
    # arrangement per month however many activities it has, and no reminder repeating the morning's arrangement.
    def month_start_kind(s: Sent) -> bool:  # the month's announcement, arrangement, or announcement clip
        is_clip = s.job.kind is JobKind.BROADCAST and s.job.event is None
        return s.job.kind in (JobKind.ANNOUNCE, JobKind.PROOF_REQUEST) or is_clip

    month_start = Counter((s.target.id, s.job.kind, s.job.at.date()) for s in sent if month_start_kind(s))
    for s in sent:
        if month_start_kind(s) and month_start[(s.target.id, s.job.kind, s.job.at.date())] > 1:
            flag("two announcements or arrangements to one group on one day", s, f"{s.job.at:%m-%d %H:%M}")
    arranged = {
        (s.target.id, s.job.at.date()) for s in sent if s.job.kind is JobKind.PROOF_REQUEST and s.job.at.hour < 12
    }
    for s in sent:
        if s.job.kind is JobKind.REMIND and s.job.at.hour < 12 and (s.target.id, s.job.at.date()) in arranged:
            flag("a reminder repeating the morning's work arrangement", s, f"{s.job.at:%m-%d %H:%M}")
    _check_tallies(loaded, sent, found)
    _check_examples(loaded, sent, found)
    return {k: v[:5] for k, v in found.items()}


def _check_tallies(loaded: LoadedCampaign, sent: list[Sent], found: dict[str, list[str]]) -> None:
    """Every activity reaches the office in a summary sent after its own due date, with that date."""
    campaign = loaded.campaign
    for plan in campaign.plans:
        for act in plan.activities:
            due = activity_due(campaign, act)
            after = [
                s
                for s in sent
                if s.job.kind is JobKind.SUMMARY and s.job.at >= due and any(a.id == act.id for a in s.job.covers)
            ]
            if not after:
                found.setdefault("no final tally after the due date", []).append(act.id)
            elif not any(f"材料截止{due.month}月{due.day}日" in s.text for s in after):
                found.setdefault("summary without the activity's own due date", []).append(act.id)


def _nested_quotes(text: str) -> bool:
    """“…“…”…”: a quotation inside one of the same kind (a title with its own “” wrapped again)."""
    depth = 0
    for ch in text:
        depth += (ch == "“") - (ch == "”")
        if depth > 1:
            return True
    return False


_WEEKEND_DATE = re.compile(r"(\d{1,2})月(\d{1,2})日（周[六日]）")
_EXAMPLE = re.compile(r"例如：(.+?)。")


def _check_examples(loaded: LoadedCampaign, sent: list[Sent], found: dict[str, list[str]]) -> None:
    """The example reply a request suggests, fed back, names that very activity among those open for the unit."""
    all_windows = windows(loaded.campaign, loaded.plan)
    for s in sent:
        if s.job.kind is not JobKind.PROOF_REQUEST or s.job.activity is None:
            continue
        m = _EXAMPLE.search(s.text)
        if m is None:
            found.setdefault("request without an example reply", []).append(s.job.key)
            continue
        example = m[1].strip("“”")
        unit = s.target.unit
        # Every window this unit could be asked about while this one is open.
        mine = [w for w in all_windows if unit in w.units and w.opens <= s.job.due and w.closes >= s.job.at]  # type: ignore[operator]
        chosen = pick(mine, example)
        # A month's merged arrangement asks for each of the unit's activities; the example names one of them.
        asked = {
            a.id
            for a in s.job.covers or (s.job.activity,)
            if unit in {u.id for u in loaded.campaign.responsible_units(a)}
        }
        if chosen is None or chosen.activity.id not in asked:
            found.setdefault("an example reply that doesn't work", []).append(f"{s.job.key}: {example}")
