"""A town's files loaded and fully checked: the campaign, its plan and a renderer that can render every job.

`load` is all-or-nothing: it returns a `LoadedCampaign` only if every file validates and every template renders
for every planned job and target. The daemon swaps to a new one atomically on reload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bot.config.compiled import KeptTemplates
from bot.config.loader import Checked, check_campaign
from bot.config.plan_checks import plan_problems
from bot.config.templates import read_templates
from bot.core.alert_kinds import ALERT_KINDS
from bot.core.command_texts import SAMPLES as COMMAND_SAMPLES
from bot.core.model import Campaign, JobKind
from bot.core.planner import Plan, plan_campaign
from bot.core.render import COMPILED, ProofFacts, Renderer, TemplateError
from bot.core.routes import reply_groups
from bot.errors import ConfigError, Problem
from bot.settings import Settings
from bot.sorting.files import build_dictionary, read_town


@dataclass(frozen=True)
class Sources:
    schedules: Path
    messages: Path
    # Where messages go (BOT_CHANNEL and robots.yaml, `from_settings`): they decide which villagers' groups can
    # answer, and so which get the weekly quiz. The defaults (the outbox, no robots) can't answer: no quiz.
    channel: str = "outbox"
    robots: Path | None = None
    # Where compiled templates are kept between runs (the user's cache folder, BOT_CACHE_DIR: `bot.config.compiled`);
    # None keeps them for this process only. It changes no load's outcome, only how long the check takes.
    compiled: Path | None = None

    @classmethod
    def from_settings(cls, schedules: Path, messages: Path, settings: Settings) -> Sources:
        """The town's files as `settings` sends them: `laba plan` lists the jobs the daemon with them runs."""
        return cls(schedules, messages, settings.channel, settings.robots_path, settings.compiled_templates)

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """Names, sizes and mtimes of every file that `load` reads: a change means reload."""
        out = []
        if self.robots is not None and self.robots.is_file():
            st = self.robots.stat()  # a robot added to a group takes that group out of the quiz
            out.append((str(self.robots), st.st_size, st.st_mtime_ns))
        for folder in (self.schedules, self.messages, self.messages / "broadcast"):
            if folder.is_dir():
                for p in sorted(folder.iterdir()):
                    if p.is_file() and p.suffix in (".yaml", ".yml", ".j2"):
                        st = p.stat()
                        out.append((str(p), st.st_size, st.st_mtime_ns))
        return tuple(out)


@dataclass(frozen=True)
class LoadedCampaign:
    sources: Sources
    campaign: Campaign
    plan: Plan
    renderer: Renderer
    warnings: tuple[Problem, ...] = ()  # worth a look, but the plan works as written (`check` prints them)


def load(sources: Sources) -> LoadedCampaign:
    """Raises ConfigError listing every problem; nothing is returned half-checked."""
    checked = check_campaign(sources.schedules)
    try:
        read_town(sources.schedules)  # the town's own sorting dictionary (sorting.yaml), checked like its other files
        templates = read_templates(sources.messages)
    except ConfigError as exc:
        raise ConfigError([*checked.errors, *exc.problems, *_timing_errors(sources, checked)]) from None
    if checked.errors:
        raise ConfigError([*checked.errors, *_timing_errors(sources, checked)])
    campaign, warnings = checked.campaign, checked.warnings
    assert campaign is not None
    plan = plan_campaign(campaign, reply_groups_of(sources, campaign))
    renderer = Renderer(
        templates,
        campaign,
        _sorting_tips(sources.schedules, campaign, plan),
        quiz_questions(sources.schedules, campaign, plan),
        compiled=COMPILED if sources.compiled is None else KeptTemplates(sources.compiled),
    )
    timing = plan_problems(sources.schedules, campaign, plan)
    problems = [p for p in timing if not p.warning]
    problems += _render_everything(sources.messages, campaign, plan, renderer)
    if problems:
        raise ConfigError(problems)
    return LoadedCampaign(sources, campaign, plan, renderer, (*warnings, *(p for p in timing if p.warning)))


def reply_groups_of(sources: Sources, campaign: Campaign) -> frozenset[str]:
    """The villagers' groups whose replies reach the bot with these sources' channel and robots (see `Sources`).
    Raises ConfigError for a bad robots.yaml."""
    if sources.channel != "wechaty":
        return frozenset()  # only a WeChat gateway hears the groups; robots.yaml isn't even read
    robots: frozenset[str] = frozenset()
    if sources.robots is not None:
        # Lazy: the robots' package is only needed when a gateway and a robots file are both in play.
        from bot.channels.robots.file import load_robots

        robots = frozenset(load_robots(sources.robots, campaign).robots)
    return reply_groups(campaign, robots, default_takes_replies=True)


def _timing_errors(sources: Sources, checked: Checked) -> list[Problem]:
    """When another error stops the load: the timing errors of what still validates, so one `check` lists all."""
    if checked.campaign is None:
        return []
    timing = plan_problems(sources.schedules, checked.campaign, plan_campaign(checked.campaign))
    return [checked.salvage.restore(p) for p in timing if not p.warning]


SAMPLE_LOOKUP = "https://laba.example.cn/q"


def quiz_questions(schedules: Path, campaign: Campaign, plan: Plan) -> dict[str, dict[str, Any]]:
    """Each planned quiz's question (deterministic per town and week), as the quiz templates see it."""
    quizzes = [j for j in plan.jobs if j.kind is JobKind.QUIZ]
    if not quizzes:
        return {}
    from bot.sorting.quiz import draw  # with the dictionary: only for a plan with quizzes

    dictionary = build_dictionary(schedules)
    out: dict[str, dict[str, Any]] = {}
    for job in quizzes:
        theme = job.activity.theme if job.activity else ""
        out[job.key] = draw(dictionary, campaign.town.id, job.key, theme).view(dictionary)
    return out


def _sorting_tips(schedules: Path, campaign: Campaign, plan: Plan) -> dict[tuple[int, int], str]:
    """The month's sorting tip for the loudspeaker scripts, when the town turned them on (rules.broadcast)."""
    if not campaign.rules.broadcast.sorting_tip:
        return {}
    from bot.sorting.tips import monthly_tip  # with the dictionary: only for a town with the tips on

    dictionary = build_dictionary(schedules)
    months = {(j.year, j.month) for j in plan.jobs if j.broadcast is not None}
    return {(y, m): monthly_tip(dictionary, y, m) for y, m in sorted(months)}


def _render_everything(folder: Path, campaign: Campaign, plan: Plan, renderer: Renderer) -> list[Problem]:
    """Every job for every target (and the summary's and announcement's other forms), and every named template
    with sample variables: a template error shows at load, not when its message is due."""
    seen: dict[tuple[str, int | None, str], Problem] = {}

    def attempt(key: str, render: Callable[[], str]) -> None:
        try:
            render()
        except TemplateError as exc:
            ident = (exc.template, exc.line, exc.message)
            if ident not in seen:
                seen[ident] = Problem(
                    folder / exc.template,
                    "",
                    key,
                    exc.message,
                    "改模板，或只用 docs/消息模板.md 里列出的变量",
                    exc.line,
                )

    everyone_done = ProofFacts(
        {a.id: frozenset(u.id for u in campaign.responsible_units(a)) for p in campaign.plans for a in p.activities}
    )
    nothing_yet = ProofFacts()  # one value for every target, so the renderer builds each job's shared part once
    for job in plan.jobs:
        for target in job.targets:
            attempt(job.key, partial(renderer.render, job, target, nothing_yet))
        if job.kind is JobKind.SUMMARY:
            attempt(job.key, partial(renderer.render, job, job.targets[0], everyone_done))
        if job.kind is JobKind.ANNOUNCE and job.targets:  # the lookup page's line, shown when BOT_PUBLIC_URL is set
            attempt(job.key, partial(renderer.render, job, job.targets[0], ProofFacts(lookup_url=SAMPLE_LOOKUP)))
    for name, variables in {**_samples(), **COMMAND_SAMPLES}.items():
        attempt(name, partial(renderer.render_named, name, variables))
    return list(seen.values())


def _samples() -> dict[str, dict[str, Any]]:
    """Sample variables for the templates no job renders (alerts, digests, answers), as their senders pass them."""
    sample_at = datetime(2024, 5, 20, 9, tzinfo=UTC)
    return {
        **{kind.template: dict(kind.sample) for kind in ALERT_KINDS},
        "relay_digest": {"count": 1, "items": [{"id": 1, "target": "示例群", "text": "示例", "since": sample_at}]},
        "sorting_answer": {
            "asker": "村民",
            "answers": [
                {
                    "asked": "示例",
                    "name": "示例",
                    "category": "可回收物",
                    "note": "示例",
                    "reason": "",
                    "contested": True,
                    "similar": {"name": "示例", "category": "其他垃圾"},
                }
            ],
            "unknown": ["示例"],
        },
    }
