"""The town's campaign as validated, frozen values.

These classes are the schema of the YAML files under `schedules/<town>/` (strict: unknown keys are errors) and the
values the planner works from. Cross-references (a plan naming a unit, an office group that must exist) are checked by
`bot.config.loader`, which knows the files and lines.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError("编号只能用小写拼音字母、数字、- 和 _，且以字母或数字开头（例如 changchun-work）")
    return value


def _clock_time(value: object) -> object:
    # YAML 1.1 reads 09:00 unquoted as the integer 540 (sexagesimal); accept it as minutes since midnight.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    if isinstance(value, str):
        m = re.fullmatch(r"(\d{1,2})[:：](\d{2})", value.strip())
        if not m:
            raise ValueError('时间写成 时:分，例如 "09:00"')
        return time(int(m[1]), int(m[2]))
    return value


def _duration(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(minutes=value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*(m|min|分钟|h|小时)\s*", value)
        if not m:
            raise ValueError("时长写成 30m、90min 或 1h（1小时）")
        n = int(m[1])
        return timedelta(hours=n) if m[2] in ("h", "小时") else timedelta(minutes=n)
    return value


def _cn_date(value: object, info: ValidationInfo) -> object:
    """Dates as a clerk writes them: 5月20日 (year from the plan), 2024年5月20日, or 2024-05-20."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    year = (info.context or {}).get("year")
    m = re.fullmatch(r"(?:(\d{4})\s*年)?\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?", text)
    if m is None:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m is None:
        raise ValueError("日期写成 5月20日、2024年5月20日 或 2024-05-20")
    y = int(m[1]) if m[1] else year
    if y is None:
        raise ValueError("这里的日期要写年份，例如 2024年5月20日")
    month, day = int(m[2]), int(m[3])
    try:
        return date(int(y), month, day)
    except ValueError:
        raise ValueError(no_such_day(int(y), month, day)) from None


def no_such_day(year: int, month: int, day: int) -> str:
    """Why a date that reads well doesn't exist, in the same words in the plan files and on the command line."""
    return f"{year}年{month}月没有{day}日" if 1 <= month <= 12 else f"没有{month}月"


def _mobile(value: str) -> str:
    if value and not re.fullmatch(r"1\d{10}", value):
        raise ValueError("手机号写 11 位数字，例如 13800001111（不要加空格、横线或 +86）")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
PlanDate = Annotated[date, BeforeValidator(_cn_date)]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]
Duration = Annotated[timedelta, BeforeValidator(_duration)]


class JobKind(StrEnum):
    ANNOUNCE = "announce"
    REMIND = "remind"
    PROOF_REQUEST = "proof_request"
    CHASE = "chase"
    SUMMARY = "summary"
    BROADCAST = "broadcast"  # a loudspeaker clip (MP3) and its play sheet to each village's broadcast operator
    QUIZ = "quiz"  # the weekly sorting question (A/B/C/D) to the villagers' groups that can take replies
    QUIZ_ANSWER = "quiz_answer"  # the next morning: the right answer, how many answered, how many got it right


class UnitKind(StrEnum):
    VILLAGE = "village"
    COMMUNITY = "community"
    DEPARTMENT = "department"
    SCHOOL = "school"
    ENTERPRISE = "enterprise"


class GroupKind(StrEnum):
    VILLAGERS = "villagers"  # 村民群 / 居民群: the public reads reminders here
    WORK = "work"  # 工作群: the unit's staff; proof requests and chases go here
    OFFICE = "office"  # 镇党政办公室的群: summaries and alerts


# --- town.yaml -------------------------------------------------------------------------------------------------


class Person(Frozen):
    id: Slug
    name: str = Field(min_length=1)
    role: str = ""
    wechat: str = Field(default="", description="WeChat id or alias used to find the contact (placeholder until set)")
    phone: str = ""
    # For @mentions by group robots (WeCom mentioned_mobile_list, DingTalk atMobiles).
    mobile: Annotated[str, AfterValidator(_mobile)] = ""


class QuietHours(Frozen):
    start: ClockTime = time(21, 0)
    end: ClockTime = time(8, 0)

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


WorkdayPolicy = Literal["next", "previous", "any"]


class DayRule(Frozen):
    """When in the activity's month a job goes out: a day of the month (or 'last') and a time."""

    day: int | Literal["last"] = 1
    time: ClockTime = time(9, 0)
    workday: WorkdayPolicy = "next"

    @model_validator(mode="after")
    def _day_in_range(self) -> DayRule:
        if isinstance(self.day, int) and not 1 <= self.day <= 31:
            raise ValueError(f"day 应在 1 到 31 之间或写 last，实际是 {self.day}")
        return self


class BeforeRule(Frozen):
    """A job some days before a date (an event's start, the proof due date)."""

    days_before: int = Field(default=1, ge=0, le=60)
    time: ClockTime = time(10, 0)
    workday: WorkdayPolicy = "any"


def _signed(pattern: str, example: str) -> AfterValidator:
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(f"要带正负号，例如 {example}（写 +0% 而不是 0%），实际是 {value!r}")
        return value

    return AfterValidator(check)


Percent = Annotated[str, _signed(r"[+-]\d{1,3}%", '"-10%"')]
Hertz = Annotated[str, _signed(r"[+-]\d{1,3}Hz", '"+0Hz"')]


class VoiceOverride(Frozen):
    """An activity's own voice settings (plan file, `broadcast:`); unset fields keep the town's."""

    voice: str | None = None
    rate: Percent | None = None
    volume: Percent | None = None
    pitch: Hertz | None = None
    repeats: int | None = Field(default=None, ge=1, le=5)


class BroadcastRule(Frozen):
    """Loudspeaker clips: when operators play them, how they sound, when laba makes and delivers them."""

    play_times: tuple[ClockTime, ...] = Field(default=(time(7, 30), time(18, 30)), min_length=1)
    play_days: int = Field(default=3, ge=1, le=31)
    repeats: int = Field(default=2, ge=1, le=5)
    pause_seconds: float = Field(default=2.0, ge=0, le=10)
    produce_days_before: int = Field(default=3, ge=1, le=30)
    deliver_days_before: int = Field(default=1, ge=1, le=30)
    deliver_time: ClockTime = time(10, 0)
    # Operators get their clips on a workday ("previous": the last one before); "any" to deliver on any day.
    deliver_workday: WorkdayPolicy = "previous"
    voice: str = "zh-CN-XiaoxiaoNeural"
    rate: Percent = "-10%"
    volume: Percent = "+0%"
    pitch: Hertz = "+0Hz"
    loudness_lufs: float = Field(default=-16.0, ge=-31, le=-10)
    true_peak_dbtp: float = Field(default=-1.5, ge=-9, le=0)
    bitrate_kbps: Literal[48, 56, 64, 80, 96, 112, 128] = 64
    # End each clip with one tip from the sorting dictionary (the same tip for every village in a month).
    sorting_tip: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> BroadcastRule:
        if self.produce_days_before <= self.deliver_days_before:
            raise ValueError(
                f"produce_days_before（{self.produce_days_before}）要大于 deliver_days_before"
                f"（{self.deliver_days_before}）：先做好音频再发给广播员"
            )
        return self


class SortingRule(Frozen):
    """Answers to villagers' "XX是什么垃圾" in their groups (`bot.sorting.answers`)."""

    answer: bool = True  # false: the bot stays silent on sorting questions (they are still counted for the office)
    # A question in quiet hours: "defer" answers it when they end, "drop" doesn't answer it at all.
    quiet_hours: Literal["defer", "drop"] = "defer"
    # One answer per person per item within this long: a villager asking again (or twenty times) gets one.
    repeat_after: Duration = timedelta(hours=1)


class QuizRule(Frozen):
    """The weekly sorting quiz in the villagers' groups (`bot.sorting.quiz`): a question on `weekday` (1 = Monday)
    at `time` when that day is a workday, replies until the answer goes out the next day at `answer_time`."""

    # On by default, as issue 14 asks; it only goes to villagers' groups whose replies reach the bot (the planner is
    # told which: `plan_campaign(replies=...)`), so with the outbox, robots or the relay there is no quiz at all.
    enabled: bool = True
    weekday: int = Field(default=3, ge=1, le=7)
    answer_time: ClockTime = time(9, 0)
    names: bool = False  # true: the answer post names who got it right
    time: ClockTime = time(10, 0)  # last: the field's name shadows datetime.time in the class body


class Rules(Frozen):
    quiet_hours: QuietHours = QuietHours()
    misfire_grace: Duration = timedelta(hours=1)
    announce: DayRule = DayRule(day=1, time=time(9, 0), workday="next")
    remind: BeforeRule = BeforeRule(days_before=1, time=time(10, 0), workday="any")
    # The same reminder to the responsible units' work groups: on a workday (offices are closed on holidays).
    remind_units: BeforeRule = BeforeRule(days_before=1, time=time(10, 0), workday="previous")
    proof_request: DayRule = DayRule(day=1, time=time(10, 0), workday="next")
    proof_due: DayRule = DayRule(day=25, time=time(18, 0), workday="previous")
    chase: BeforeRule = BeforeRule(days_before=3, time=time(10, 0), workday="previous")
    summary: DayRule = DayRule(day="last", time=time(16, 0), workday="previous")
    min_photos: int = Field(default=2, ge=0, le=50)
    # Photos are still taken into the ledger this long after the proof due time (late ones count, the clerk sees when).
    proof_grace: Duration = timedelta(hours=72)
    broadcast: BroadcastRule = BroadcastRule()
    sorting: SortingRule = SortingRule()
    quiz: QuizRule = QuizRule()


class CalendarOverrides(Frozen):
    """Days the statutory table doesn't know or the town handles differently (e.g. a local holiday)."""

    extra_holidays: tuple[PlanDate, ...] = ()
    extra_workdays: tuple[PlanDate, ...] = ()


# China keeps one time (UTC+8); these are the tz database's names for it. Every date and time in a plan is Beijing
# time and laba sends by it, so another zone would be accepted and silently ignored: it is an error instead.
CHINA_ZONES = ("Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC")


def _china_zone(value: str) -> str:
    if value not in CHINA_ZONES:
        raise ValueError("laba 只按北京时间安排和发送，不能换时区：删掉 timezone 这一项，或写 Asia/Shanghai")
    return value


class TownInfo(Frozen):
    id: Slug
    name: str = Field(min_length=1)
    full_name: str = ""
    timezone: Annotated[str, AfterValidator(_china_zone)] = "Asia/Shanghai"


class TownFile(Frozen):
    town: TownInfo
    office_group: Slug
    admins: tuple[Person, ...] = Field(min_length=1)
    # 人工代发: the people handed what no automatic path could deliver.
    relay: tuple[Person, ...] = ()
    rules: Rules = Rules()
    calendar: CalendarOverrides = CalendarOverrides()


# --- units.yaml ------------------------------------------------------------------------------------------------


class Group(Frozen):
    id: Slug
    name: str = Field(min_length=1, description="the WeChat group topic as shown in WeChat")
    kind: GroupKind
    # relay: no automatic path may be used; every message is handed to the relay people (人工代发).
    via: Literal["relay"] | None = None


class Unit(Frozen):
    id: Slug
    name: str = Field(min_length=1)
    kind: UnitKind
    groups: tuple[Group, ...] = ()
    contacts: tuple[Person, ...] = ()
    broadcast_operator: Person | None = None


class UnitSet(Frozen):
    """A named set of units the plan can make responsible (各村（社区）, 镇级各部门 …): membership, not text."""

    id: Slug
    name: str = Field(min_length=1)
    kinds: tuple[UnitKind, ...] = ()
    units: tuple[Slug, ...] = ()
    except_units: tuple[Slug, ...] = Field(default=(), alias="except")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _not_empty(self) -> UnitSet:
        if not self.kinds and not self.units:
            raise ValueError("单位集合要写 kinds（按类型）或 units（逐个列出）")
        return self


class UnitsFile(Frozen):
    units: tuple[Unit, ...] = Field(min_length=1)
    unit_sets: tuple[UnitSet, ...] = ()


# --- plan-YYYY.yaml --------------------------------------------------------------------------------------------


class Event(Frozen):
    """A dated event inside an activity (主题周, 宣传周, 六一, 世界环境日): gets a reminder before it starts."""

    id: Slug
    name: str = Field(min_length=1)
    start: PlanDate
    end: PlanDate | None = None
    theme: str = ""

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: date | None, info: ValidationInfo) -> date | None:
        # On `end`, not the whole event, so the error names the place and value a clerk has to fix.
        start = info.data.get("start")  # absent if start itself was invalid (reported on its own)
        if end is not None and start is not None and end < start:
            raise ValueError(f"结束日期 {end} 早于开始日期 {start}")
        return end


class Proof(Frozen):
    items: tuple[str, ...] = ("活动照片",)
    min_photos: int | None = Field(default=None, ge=0, le=50)
    due: PlanDate | None = None


class Activity(Frozen):
    id: Slug
    month: int = Field(ge=1, le=12)
    title: str = Field(min_length=1, description="a short name for messages")
    content: str = Field(min_length=1, description="the plan's wording, verbatim")
    theme: str = ""
    responsible: tuple[Slug, ...] = Field(min_length=1)
    events: tuple[Event, ...] = ()
    proof: Proof = Proof()
    broadcast: VoiceOverride = VoiceOverride()


class PlanFile(Frozen):
    year: int = Field(ge=2000, le=2100)
    title: str = ""
    source: str = ""
    activities: tuple[Activity, ...] = Field(min_length=1)


# --- the whole campaign, resolved ----------------------------------------------------------------------------


class Campaign(Frozen):
    """Everything the planner needs, cross-checked. Built only by `bot.config.loader.load_campaign`."""

    town: TownInfo
    office_group: Slug
    admins: tuple[Person, ...]
    rules: Rules
    calendar: CalendarOverrides
    units: tuple[Unit, ...]
    unit_sets: tuple[UnitSet, ...]
    plans: tuple[PlanFile, ...]
    relay: tuple[Person, ...] = ()

    def unit(self, unit_id: str) -> Unit:
        for u in self.units:
            if u.id == unit_id:
                return u
        raise KeyError(unit_id)

    def group(self, group_id: str) -> tuple[Group, Unit]:
        for u in self.units:
            for g in u.groups:
                if g.id == group_id:
                    return g, u
        raise KeyError(group_id)

    # The planner, the renderer and the load's render check ask who is responsible for an activity thousands of
    # times per load (each target of each job): the sets are resolved once per Campaign. Safe because a Campaign is
    # frozen; the cached values live in the instance's __dict__ beside the fields, and pydantic's equality, hashing
    # and dumps look at the fields only.
    @cached_property
    def _set_members(self) -> dict[str, tuple[Unit, ...]]:
        out: dict[str, tuple[Unit, ...]] = {}
        for s in self.unit_sets:
            if s.id in out:
                continue  # the first set with an id is the one a lookup finds
            chosen = {u.id for u in self.units if u.kind in s.kinds} | set(s.units)
            chosen -= set(s.except_units)
            out[s.id] = tuple(u for u in self.units if u.id in chosen)
        return out

    @cached_property
    def _responsible(self) -> dict[tuple[str, ...], tuple[Unit, ...]]:
        return {}  # filled by responsible_units, per distinct `responsible` list

    def members(self, set_or_unit: str) -> tuple[Unit, ...]:
        """The units a plan's `responsible` entry stands for, in units.yaml order. Raises KeyError for a name that
        is neither a set nor a unit."""
        found = self._set_members.get(set_or_unit)
        return found if found is not None else (self.unit(set_or_unit),)

    def responsible_units(self, activity: Activity) -> tuple[Unit, ...]:
        known = self._responsible.get(activity.responsible)
        if known is not None:
            return known
        seen: dict[str, Unit] = {}
        for ref in activity.responsible:
            for u in self.members(ref):
                seen.setdefault(u.id, u)
        self._responsible[activity.responsible] = found = tuple(seen.values())
        return found

    def responsible_label(self, activity: Activity) -> str:
        """The plan's wording of who is responsible: set names as the notice writes them (各村（社区）、镇级各部门)."""
        names = {s.id: s.name for s in self.unit_sets}
        return "、".join(names.get(ref) or self.unit(ref).name for ref in activity.responsible)
