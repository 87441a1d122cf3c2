"""Messages from templates: Jinja2 with StrictUndefined, one template per job kind, Chinese dates.

Pure: templates arrive as text (read by `bot.config.templates`), facts from the store arrive as values. An unknown
variable is an error at `check` time, never a blank in a villager's group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import jinja2
from jinja2.bccache import Bucket
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.core.model import Activity, Campaign, Event, GroupKind, JobKind, UnitKind
from bot.core.planner import FINAL_SUMMARY, PlannedJob, Target, activities_of_month, activity_due
from bot.core.spoken import number_cn, say, say_date, say_time
from bot.core.workdays import WorkCalendar, weekday_cn


def cn_date(value: date | datetime, calendar: WorkCalendar | None = None) -> str:
    """5月20日（周一）; with the town's calendar, a weekend day that is a 调休 working day says so,
    1月26日（周日，调休上班）, or a unit would take the date for a mistake."""
    d = value.date() if isinstance(value, datetime) else value
    makeup = calendar is not None and d.weekday() >= 5 and calendar.is_workday(d)
    return f"{d.month}月{d.day}日（{weekday_cn(d)}{'，调休上班' if makeup else ''}）"


def cn_time(value: datetime) -> str:
    """上午9点, 下午6点, 下午3点30分: how times are said in a village group.

    18:xx is 下午: an office deadline at 18:00 is "下午6点" (晚上 starts at 19:00, as offices say it)."""
    h, m = value.hour, value.minute
    if h < 12:
        part, hh = ("上午", h) if h >= 6 else ("凌晨", h)
    elif h == 12:
        part, hh = "中午", 12
    else:
        part, hh = ("下午", h - 12) if h < 19 else ("晚上", h - 12)
    return f"{part}{hh}点" + (f"{m}分" if m else "")


_OPENING_QUOTES = '“‘"《「『'


def quoted(text: str) -> str:
    """A name in quotation marks, unless it already carries its own: “敲门行动”入户宣传 stays as it is, never
    ““敲门行动”入户宣传”."""
    text = str(text)
    if any(q in text for q in _OPENING_QUOTES + "”"):
        return text
    return f"“{text}”"


def cn_range(start: date, end: date | None, calendar: WorkCalendar | None = None) -> str:
    if end is None or end == start:
        return cn_date(start, calendar)
    return f"{cn_date(start, calendar)}至{cn_date(end, calendar)}"


def cn_list(items: Any) -> str:
    return "、".join(str(i) for i in items)


@dataclass(frozen=True)
class ProofFacts:
    """What the store knows when a message is rendered: which units have submitted proof, per activity id."""

    submitted: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The weekly quiz's counts from the store: for a quiz answer job its tally (answered, correct, names), for a
    # summary the month's villages (`villages`, `weeks`). Empty when nothing was counted (or in `check`).
    quiz: Mapping[str, Any] = field(default_factory=dict)
    # The public lookup page's address (BOT_PUBLIC_URL + "/q"), for the monthly announcement; "" when not set.
    lookup_url: str = ""

    def of(self, activity_id: str) -> frozenset[str]:
        return self.submitted.get(activity_id, frozenset())


# What the quiz templates get when the week's question couldn't be drawn (no dictionary) and before any answer.
SAMPLE_QUIZ: Mapping[str, Any] = {
    "item": "废电池",
    "choices": [
        {"letter": "ABCD"[i], "name": n} for i, n in enumerate(("可回收物", "有害垃圾", "厨余垃圾", "其他垃圾"))
    ],
    "answer": "B",
    "answer_name": "有害垃圾",
    "note": "轻放",
}
QUIZ_NO_ANSWERS: Mapping[str, Any] = {"answered": 0, "correct": 0, "names": []}


def quiz_of(key: str) -> str:
    """The quiz a quiz job belongs to: `quiz/2024-W15/answer` → `quiz/2024-W15`."""
    return key.removesuffix("/answer")


class TemplateError(Exception):
    def __init__(self, template: str, line: int | None, message: str) -> None:
        super().__init__(f"{template}:{line or '?'}: {message}")
        self.template = template
        self.line = line
        self.message = message


ALERT_TEMPLATES = (
    "alert_missed",
    "alert_plan_error",
    "alert_unconfirmed",
    "alert_failed",
    "alert_audio_failed",
    "alert_tts_fallback",
    "alert_wechat_logout",
    "alert_wechat_down",
    "alert_wechat_throttled",
    "alert_robot_failed",
    "relay_digest",
)
# Loudspeaker scripts, written for the ear: `messages/broadcast/<name>.j2`, one per kind of broadcast clip.
BROADCAST_SCRIPTS = ("broadcast/announce", "broadcast/remind")
REQUIRED_TEMPLATES = tuple(k.value for k in JobKind) + ALERT_TEMPLATES + BROADCAST_SCRIPTS


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process, by name; Jinja recompiles when a template's source
    checksum differs. Every Renderer (each plan load: a restart of the app, a reload after an edit) would otherwise
    parse and compile all ~26 templates again, ~0.2 s that profiles of a restart showed as its largest part after
    rendering. Safe to share: every Renderer's environment has the same class and settings, which the compiled code
    depends on, and the source check keeps one town's edited template from running another's code."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


# The process's compiled templates; `bot.config.compiled` keeps them in a folder between starts as well.
COMPILED = _CompiledTemplates()


class Renderer:
    """Renders a planned job for one target. Raises TemplateError naming the template and line."""

    def __init__(
        self,
        templates: Mapping[str, str],
        campaign: Campaign,
        tips: Mapping[tuple[int, int], str] | None = None,
        quizzes: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        compiled: jinja2.BytecodeCache = COMPILED,
    ) -> None:
        sources = dict(templates)
        # quiz key -> the week's question as the quiz templates see it (`bot.sorting.quiz.QuizQuestion.view`).
        self.quizzes = dict(quizzes or {})
        # (year, month) -> the sorting tip broadcast scripts end with (`sorting_tip`, empty when none).
        self._tips = dict(tips or {})

        def source(name: str) -> tuple[str, str, Callable[[], bool]] | None:
            # The name is also the file name Jinja compiles under (DictLoader gives "<template>"), so a runtime error's
            # traceback has a "<name>.j2" frame and `_line_of` can find the line.
            return (sources[name], name, lambda: True) if name in sources else None

        # Sandboxed: the templates are edited by town staff, not developers.
        self._env = ImmutableSandboxedEnvironment(
            loader=jinja2.FunctionLoader(source),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            autoescape=False,
            bytecode_cache=compiled,
        )
        calendar = WorkCalendar(campaign.calendar)

        def town_date(value: date | datetime) -> str:
            return cn_date(value, calendar)

        def town_range(start: date, end: date | None) -> str:
            return cn_range(start, end, calendar)

        self._env.filters.update(
            cn_date=town_date, cn_time=cn_time, cn_list=cn_list, cn_range=town_range, quoted=quoted
        )
        # For loudspeaker scripts: numbers and dates as words.
        self._env.filters.update(say=say, say_date=say_date, say_time=say_time, say_number=number_cn)
        self._campaign = campaign
        self._compiled: dict[str, jinja2.Template] = {}
        self._shared: SharedContext | None = None

    def _template(self, name: str) -> jinja2.Template:
        tpl = self._compiled.get(name)
        if tpl is None:
            filename = f"{name}.j2"
            try:
                tpl = self._env.get_template(filename)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(filename, exc.lineno, f"模板语法错误：{exc.message}") from None
            except jinja2.TemplateNotFound:
                raise TemplateError(filename, None, "找不到模板文件") from None
            self._compiled[name] = tpl
        return tpl

    def render_named(self, name: str, variables: Mapping[str, Any]) -> str:
        tpl = self._template(name)
        try:
            text = tpl.render(town=self._campaign.town, **variables)
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{name}.j2", _line_of(exc), f"模板用了没有的变量：{exc.message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{name}.j2", _line_of(exc), str(exc)) from None
        return _tidy(text)

    def _context(self, job: PlannedJob, target: Target, facts: ProofFacts) -> dict[str, Any]:
        # The job's shared part is kept for the next call with the same job and facts (the same objects: the
        # references held here keep them from being replaced by lookalikes), as when every target of a job is
        # rendered in turn.
        shared = self._shared
        if shared is None or shared.job is not job or shared.facts is not facts:
            self._shared = shared = shared_context(self._campaign, job, facts)
        return target_context(self._campaign, job, target, shared)

    def render(self, job: PlannedJob, target: Target, facts: ProofFacts) -> str:
        """The job's message for `target`. For a broadcast job, the play sheet with the script to read aloud."""
        ctx = self._context(job, target, facts)
        if job.kind in (JobKind.QUIZ, JobKind.QUIZ_ANSWER):
            ctx["quiz"] = {**SAMPLE_QUIZ, **self.quizzes.get(quiz_of(job.key), {}), **QUIZ_NO_ANSWERS, **facts.quiz}
        if job.broadcast is not None:
            ctx = {**ctx, "script": self.script(job, target, facts), "clip": None, "error": ""}
        return self.render_named(job.kind.value, ctx)

    def script(self, job: PlannedJob, target: Target, facts: ProofFacts) -> str:
        """A broadcast job's loudspeaker script for `target` (its village), from `broadcast/<script>.j2`."""
        if job.broadcast is None:
            raise ValueError(f"job must be a broadcast job, got: {job.key}")
        ctx = self._context(job, target, facts)
        ctx["sorting_tip"] = self._tips.get((job.year, job.month), "")
        return self.render_named(f"broadcast/{job.broadcast.script}", ctx)


def _line_of(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _tidy(text: str) -> str:
    lines = [ln.rstrip() for ln in text.strip().splitlines()]
    out: list[str] = []
    for ln in lines:
        if ln or (out and out[-1]):  # at most one blank line in a row
            out.append(ln)
    return "\n".join(out)


def required_photos(campaign: Campaign, act: Activity) -> int:
    """The activity's minimum photo count: its own, else the town's rule."""
    return act.proof.min_photos if act.proof.min_photos is not None else campaign.rules.min_photos


def activity_view(campaign: Campaign, act: Activity, facts: ProofFacts) -> dict[str, Any]:
    units = campaign.responsible_units(act)
    done = facts.of(act.id)
    min_photos = required_photos(campaign, act)
    return {
        "id": act.id,
        "month": act.month,
        "title": act.title,
        "content": act.content,
        "theme": act.theme,
        "responsible": campaign.responsible_label(act),
        "units": [u.name for u in units],
        "events": [event_view(e) for e in act.events],
        "proof_items": list(act.proof.items),
        "due": activity_due(campaign, act),
        "min_photos": min_photos,
        "submitted": [u.name for u in units if u.id in done],
        "missing": [u.name for u in units if u.id not in done],
    }


def event_view(ev: Event) -> dict[str, Any]:
    return {"id": ev.id, "name": ev.name, "start": ev.start, "end": ev.end, "theme": ev.theme}


def target_view(campaign: Campaign, target: Target) -> dict[str, Any]:
    community = bool(target.unit) and campaign.unit(target.unit or "").kind is UnitKind.COMMUNITY
    in_group = target.kind == "group"
    return {
        "id": target.id,
        "name": target.name,
        "kind": target.kind,
        "group_kind": target.group_kind.value if target.group_kind else None,
        "is_villagers": target.group_kind is GroupKind.VILLAGERS,
        "is_group": in_group,
        "unit_name": target.unit_name,
        "people": "居民" if community else "村民",
        # How a villagers' message names the place that organises things: never the placeholder 村（社区）.
        "place": "社区" if community else "村里",
        # Where a unit hands its proof in: its work group, or (a unit reached privately) this chat.
        "hand_in": "发到本群" if in_group else "直接发给我",
        "responsible": False,  # whether the target's unit runs the job's activity: set per job
    }


def job_context(campaign: Campaign, job: PlannedJob, target: Target, facts: ProofFacts) -> dict[str, Any]:
    """The variables `job`'s template sees for `target`."""
    return target_context(campaign, job, target, shared_context(campaign, job, facts))


@dataclass(frozen=True)
class SharedContext:
    """What every target of a job sees alike, built once for all of them (a job reaches dozens of groups, and the
    load's check renders every one). Shared between renders: the sandbox is immutable, so no template can change
    a list or dict it is given."""

    job: PlannedJob
    facts: ProofFacts
    variables: dict[str, Any]
    covered: tuple[tuple[Activity, dict[str, Any]], ...]  # the activities the job covers, with their views


def shared_context(campaign: Campaign, job: PlannedJob, facts: ProofFacts) -> SharedContext:
    ctx: dict[str, Any] = {
        "at": job.at,
        "due": job.due,
        "year": job.year,
        "month": job.month,
        "activity": activity_view(campaign, job.activity, facts) if job.activity else None,
        "event": event_view(job.event) if job.event else None,
        "lookup_url": facts.lookup_url,
    }
    covered = job.covers or ((job.activity,) if job.activity else ())
    listed = job.kind is JobKind.PROOF_REQUEST or job.kind is JobKind.ANNOUNCE
    views = tuple((a, activity_view(campaign, a, facts)) for a in covered) if listed or job.broadcast else ()
    if job.kind is JobKind.ANNOUNCE or (job.broadcast is not None and job.event is None):
        # The month's activities (one, or several merged into one announcement), in the order they happen.
        ctx["activities"] = [view for _, view in views]
    if job.broadcast is not None:
        ctx["plays"] = list(job.broadcast.plays)
        ctx["repeats"] = job.broadcast.repeats
    if job.kind is JobKind.SUMMARY:
        covered = job.covers or activities_of_month(campaign, job.year, job.month)
        ctx["activities"] = [activity_view(campaign, a, facts) for a in covered]
        # A summary before an activity's due date is a running count; the final tally follows that date.
        ctx["final"] = all(activity_due(campaign, a) <= job.at for a in covered)
        ctx["late_tally"] = job.key.endswith(f"/{FINAL_SUMMARY}")
        ctx["quiz_villages"] = list(facts.quiz.get("villages", []))
        ctx["quiz_weeks"] = facts.quiz.get("weeks", 0)
    return SharedContext(job, facts, ctx, views)


def target_context(campaign: Campaign, job: PlannedJob, target: Target, shared: SharedContext) -> dict[str, Any]:
    """`shared` (made for `job`) with what only `target` sees: itself, and a proof request's own activities."""
    ctx: dict[str, Any] = {"target": target_view(campaign, target), **shared.variables}
    if job.activity is not None:
        # Villagers are invited to "村里组织的活动" only when their own village (community) runs it (issue 10 M4).
        ctx["target"]["responsible"] = _responsible(campaign, job.activity, target)
    if job.kind is JobKind.PROOF_REQUEST:
        # The unit's own activities among those the month's arrangement covers (a unit reached by it is
        # responsible for at least one of them; a sample target in `check` may not be: then all of them).
        mine = [view for a, view in shared.covered if _responsible(campaign, a, target)]
        ctx["activities"] = mine or [view for _, view in shared.covered]
    return ctx


def _responsible(campaign: Campaign, act: Activity, target: Target) -> bool:
    return any(u.id == target.unit for u in campaign.responsible_units(act))


def format_instant(value: datetime) -> str:
    return f"{cn_date(value)}{cn_time(value)}"
