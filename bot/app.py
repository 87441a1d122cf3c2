"""Wiring: the campaign, the store, a channel and the pipeline, put together the same way for every command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from bot import recovery
from bot.admin import AdminCommands, is_admin_command
from bot.audio.deferred import DeferredProducer
from bot.channels.base import Channel
from bot.channels.outbox import OutboxChannel
from bot.clock import Clock, RealTimeClock, VirtualClock
from bot.config import last_good
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.alert_kinds import WECHAT_THROTTLED, Alert
from bot.core.model import Campaign
from bot.core.planner import PlannedJob, Target, admin_targets
from bot.core.render import format_instant
from bot.delivery import Sleep
from bot.errors import ConfigError, Problem
from bot.inbound import ConversationQueues, InboundHandler, InboundRouter
from bot.late import LateBound, Lazy
from bot.pipeline import Outcome, Pipeline, PipelineHooks
from bot.resumption import give_up, resume_at, say_resuming, still_open
from bot.routing import make_rehearsal, make_reloader, make_routed, relay_hooks, robot_alerts
from bot.scheduler import CampaignHolder, CampaignScheduler
from bot.settings import CHANNELS, TTS_ENGINES, Settings
from bot.sorting.files import read_town
from bot.store.base import Store
from bot.store.sql import SqlStore, open_store
from bot.store.waiting import questions_waiting, strangers_waiting

if TYPE_CHECKING:
    from bot.audio.base import ClipProducer
    from bot.audio.studio import Studio
    from bot.channels.wechaty.settings import WechatySettings
    from bot.proof.admin import ProofAdmin
    from bot.proof.intake import ProofIntake
    from bot.proof.windows import ActivityWindow
    from bot.sorting.answers import SortingAnswers
    from bot.store.quiz import QuizStore

log = logging.getLogger(__name__)

# Where a channel tells the admins about itself: the alert, and whether the channel can deliver it now.
AlertSink = Callable[[Alert, bool], Awaitable[None]]
# The jobs the daemon's scheduler has queued, as (key, time).
Pending = Callable[[], list[tuple[str, datetime]]]


def runner_id() -> str:
    return recovery.runner_id(tag=uuid.uuid4().hex[:6])


def make_channel(
    settings: Settings,
    clock: Clock,
    echo: TextIO | None = sys.stdout,
    *,
    groups: Callable[[], Mapping[str, str]] = dict,
    store: SqlStore | None = None,
    alerts: AlertSink | None = None,
    wechaty: WechatySettings | None = None,
    takes_proof: Callable[[str | None, str | None], bool] | None = None,
) -> Channel:
    """The channel `settings.channel` names. `groups` gives the configured groups (id -> WeChat topic) and `store`
    keeps their resolved room ids (channels that address groups by name need them); `alerts` is where a channel
    tells the admins about itself (logout, long outage, throttling); `wechaty` where the WeChat gateway is (default:
    from Wechaty's environment variables); `takes_proof(group id, room id)` whether an image posted there is worth
    fetching (default: everywhere). Raises ConfigError."""
    if settings.channel == "outbox":
        return OutboxChannel(settings.outbox_dir, clock.now, echo)
    if settings.channel == "wechaty":
        # Imported here: gRPC and the stubs cost start-up time and memory a daemon on the outbox doesn't need.
        from bot.channels.wechaty import WechatyChannel, WechatySettings
        from bot.store.rooms import RoomDirectory

        return WechatyChannel(
            wechaty or WechatySettings.from_env(qr_dir=settings.data_dir),
            groups=groups,
            rooms=RoomDirectory.for_store("wechaty", store),
            now=clock.now,
            echo=echo,
            alert_sink=alerts,
            takes_proof=takes_proof or (lambda _g, _r: True),
        )
    raise ConfigError(
        [Problem("BOT_CHANNEL", "", settings.channel, "不认识的发送渠道", f"可用的有：{'、'.join(CHANNELS)}")]
    )


def tts_engine(settings: Settings, engine: str | None = None) -> str:
    """`engine`, else BOT_TTS_ENGINE, checked. Raises ConfigError for an unknown engine."""
    engine = engine or settings.tts_engine
    if engine not in TTS_ENGINES:
        raise ConfigError(
            [Problem("BOT_TTS_ENGINE", "", engine, "不认识的语音引擎", f"可用的有：{'、'.join(TTS_ENGINES)}")]
        )
    return engine


def make_studio(settings: Settings, engine: str | None = None) -> Studio | None:
    """The loudspeaker clip producer: edge-tts with the offline voice as fallback, or the offline voice alone;
    None for `none` (broadcast jobs then send the script to read aloud). Raises ConfigError for an unknown engine."""
    engine = tts_engine(settings, engine)
    if engine == "none":
        return None
    # Imported here: TTS clients and pinyin dictionaries cost start-up time and memory (see `make_producer`).
    from bot.audio.base import TtsEngine
    from bot.audio.edge import EdgeTts
    from bot.audio.offline import OfflineTts
    from bot.audio.studio import Studio

    offline = OfflineTts()
    engines: list[TtsEngine] = [EdgeTts(settings.edge_tts_url), offline] if engine == "edge" else [offline]
    return Studio(settings.audio_dir, engines)


def make_producer(settings: Settings) -> ClipProducer | None:
    """The daemon's clip producer: `make_studio`'s, built when the first clip is wanted. Raises ConfigError now
    for an unknown engine."""
    if tts_engine(settings) == "none":
        return None
    return DeferredProducer(lambda: _studio(settings))


def _studio(settings: Settings) -> Studio:
    studio = make_studio(settings)
    assert studio is not None  # checked by make_producer
    return studio


@dataclass(frozen=True)
class Handlers:
    """The inbound handlers the daemon and the console also ask for something besides messages (the router holds
    them with the others, in order). Built on first use (a message for them, the console, the minute's round): an
    idle daemon does not import the proof and sorting modules on its way to ready."""

    proof: Lazy[tuple[ProofAdmin, ProofIntake]]
    answers: Lazy[SortingAnswers]
    # Asked whether anything waits for the minute's round before a handler is built for it.
    store: SqlStore

    @property
    def proof_admin(self) -> ProofAdmin:
        return self.proof.get()[0]

    @property
    def intake(self) -> ProofIntake:
        return self.proof.get()[1]

    @property
    def sorting(self) -> SortingAnswers:
        return self.answers.get()

    async def answer_waiting(self) -> int:
        """`SortingAnswers.answer_waiting`; while the answerer is not built, only if a question waits."""
        if self.answers.peek() is None and not await self._waits(questions_waiting):
            return 0
        return await self.sorting.answer_waiting()

    async def expire_strangers(self, now: datetime) -> int:
        """`ProofIntake.expire_strangers`; while the intake is not built, only if a stranger's photo waits."""
        if self.proof.peek() is None and not await self._waits(strangers_waiting):
            return 0
        return await self.intake.expire_strangers(now)

    async def _waits(self, check: Callable[[SqlStore], bool]) -> bool:
        try:
            return await asyncio.to_thread(check, self.store)
        except Exception:
            return True  # the database is away: the handler meets (and reports) it as it did before this check


@dataclass
class App:
    holder: CampaignHolder
    # The SQL store `build` opens: the pipeline sees it as a `Store`; the console, the ledger and the rooms use its
    # tables too.
    store: SqlStore
    channel: Channel
    pipeline: Pipeline
    clock: Clock
    router: InboundRouter
    handlers: Handlers
    # What the scheduler has queued, for the admins' `#计划`: bound by `run_daemon` once its scheduler exists.
    upcoming: LateBound[Pending]
    # The town's own files (watched for edits), and what is wrong with them when the last good plan runs instead.
    sources: Sources | None = None
    broken: ConfigError | None = None
    settings: Settings | None = None

    @property
    def loaded(self) -> LoadedCampaign:
        return self.holder.get()

    def close(self) -> None:
        self.store.close()

    async def drain(self) -> None:
        """Before the channel closes: send what inbound handlers hold back (proof acknowledgements waiting for their
        quiet window) and stop holding anything back."""
        await self.handlers.intake.close()


def build(
    sources: Sources,
    settings: Settings,
    clock: Clock,
    channel: Channel | None = None,
    echo: TextIO | None = sys.stdout,
    *,
    wechaty: WechatySettings | None = None,
    daemon: bool = False,
    rehearsal: bool = False,
    sleep: Sleep = asyncio.sleep,
    tap: InboundHandler | None = None,
) -> App:
    """Load and check the town's files, open the store (migrating it) and the channel (`channel`, else the one
    `settings` names, with `wechaty` for a WeChat gateway if given). Raises ConfigError.

    For the daemon (`daemon=True`) a good load is kept as the last good plan, and broken files fall back to it
    (`App.broken` then holds what is wrong); without a kept plan the ConfigError is raised as for every command.

    `rehearsal=True` (simulate without --live): nothing leaves the machine; see `bot.routing.make_rehearsal`.
    `sleep`: how the pipeline waits between tries (a simulation passes its virtual clock's).
    `tap`: asked first about every inbound message (the sandbox notes what arrived and answers False, so the bot's
    own handlers act as usual)."""
    # The plan follows the channel it is sent by: the weekly quiz only where replies reach the bot (issue 14).
    sources = replace(sources, channel=settings.channel, robots=settings.robots_path)
    store = open_store(settings.database_url, clock.zone)
    try:
        return _assemble(sources, settings, clock, store, channel, echo, wechaty, daemon, rehearsal, sleep, tap)
    except ConfigError:
        store.close()
        raise


def _assemble(
    sources: Sources,
    settings: Settings,
    clock: Clock,
    store: SqlStore,
    channel: Channel | None,
    echo: TextIO | None,
    wechaty: WechatySettings | None,
    daemon: bool,
    rehearsal: bool,
    sleep: Sleep,
    tap: InboundHandler | None,
) -> App:
    """`build` once the store is open: the campaign, the channel, the pipeline and the inbound handlers."""
    loaded, broken = _load(sources, store, settings, clock, daemon)
    holder = CampaignHolder(loaded)
    # Two loops, each bound once its part exists: the channel's alerts go through the pipeline, which needs the
    # channel; the upload links read the proof intake's windows, and the intake needs the pipeline.
    late_pipeline: LateBound[Pipeline] = LateBound("the pipeline")
    late_handlers: LateBound[Handlers] = LateBound("the inbound handlers")
    if channel is None:
        channel = _channel(holder, settings, clock, store, echo, wechaty, rehearsal, late_pipeline)
    producer = make_producer(settings)
    quiz = Lazy(lambda: _quiz_store(store))
    hooks = _hooks(holder, settings, clock, store, channel, quiz, lambda: late_handlers.get().intake.windows())
    pipeline = Pipeline(holder.get, store, channel, clock, runner_id(), producer=producer, sleep=sleep, hooks=hooks)
    late_pipeline.bind(pipeline)
    upcoming: LateBound[Pending] = LateBound("the scheduler's queue")
    router, handlers = _router(holder, pipeline, store, quiz, settings, sources, upcoming, tap)
    late_handlers.bind(handlers)
    parts = (holder, store, channel, pipeline, clock, router, handlers, upcoming)
    return App(*parts, sources=sources, broken=broken, settings=settings)


def _channel(
    holder: CampaignHolder,
    settings: Settings,
    clock: Clock,
    store: SqlStore,
    echo: TextIO | None,
    wechaty: WechatySettings | None,
    rehearsal: bool,
    pipeline: LateBound[Pipeline],
) -> Channel:
    """The channel `settings` names, with the robots and the relay where the town has them (or, for a rehearsal,
    their stand-ins); it tells the admins about itself through the `pipeline`, bound once that exists."""
    problems = robot_alerts(pipeline.get)
    if rehearsal:
        return make_rehearsal(settings, clock, echo, lambda: holder.get().campaign, store, problems=problems)
    alerts = channel_alert_sink(holder.get, pipeline.get, OutboxChannel(settings.outbox_dir, clock.now, sys.stderr))
    default = make_channel(
        settings,
        clock,
        echo,
        groups=lambda: configured_groups(holder.get()),
        store=store,
        alerts=alerts,
        wechaty=wechaty,
        takes_proof=lambda g, r: _takes_proof(holder.get().campaign, g, r),
    )
    # Groups with a robot go by it, groups marked `via: relay` to the relay, the rest by the default.
    return make_routed(settings, clock, default, lambda: holder.get().campaign, store, problems=problems)


def _hooks(
    holder: CampaignHolder,
    settings: Settings,
    clock: Clock,
    store: SqlStore,
    channel: Channel,
    quiz: Lazy[QuizStore],
    windows: Callable[[], tuple[ActivityWindow, ...]],
) -> PipelineHooks:
    """What the pipeline is built with besides its channel: the relay's digest and hand-over, the quiz's counts
    and reply check, and with a public address the lookup page and the upload links (over the proof intake's
    `windows`)."""
    facts = Lazy(lambda: _quiz_facts(holder, quiz))
    replies = Lazy(lambda: _takes_replies(settings, channel))
    hooks = replace(
        relay_hooks(channel, holder.get),
        quiz_facts=lambda job: facts.get()(job),
        takes_replies=lambda target: replies.get()(target),
    )
    if not settings.public_url:
        return hooks
    from bot.web.links import upload_links_for

    links = upload_links_for(store, windows, settings, clock)
    return replace(hooks, lookup_url=f"{settings.public_url}/q", links=links)


def _router(
    holder: CampaignHolder,
    pipeline: Pipeline,
    store: SqlStore,
    quiz: Lazy[QuizStore],
    settings: Settings,
    sources: Sources,
    upcoming: LateBound[Pending],
    tap: InboundHandler | None,
) -> tuple[InboundRouter, Handlers]:
    """Who hears inbound messages, in order: the `tap` if any, admins' commands, proof, quiz answers, sorting
    questions. All but the admins' commands are built (and their modules imported) when first asked."""
    read_town(sources.schedules)  # a broken sorting.yaml stops the start now, not at the first question
    answers = Lazy(lambda: _answerer(holder, pipeline, store, sources))
    proof_parts = Lazy(lambda: _proof_parts(holder, pipeline, store, settings))
    admin = AdminCommands(holder.get, pipeline, pending=lambda: _queued(upcoming))
    first: list[InboundHandler | Lazy[InboundHandler]] = [tap] if tap is not None else []
    lazy: list[Lazy[InboundHandler]] = [
        Lazy(lambda: proof_parts.get()[0]),
        Lazy(lambda: proof_parts.get()[1]),
        Lazy(lambda: _quiz_handler(holder, pipeline, quiz)),
        Lazy(answers.get),
    ]
    return InboundRouter([*first, admin, *lazy]), Handlers(proof_parts, answers, store)


def _quiz_store(store: SqlStore) -> QuizStore:
    from bot.store.quiz import QuizStore

    return QuizStore(store)


# The quiz's counts and reply check: `bot.sorting.quiz_replies` is imported when the first job asks.
def _quiz_facts(holder: CampaignHolder, quiz: Lazy[QuizStore]) -> Callable[[PlannedJob], Mapping[str, Any]]:
    from bot.sorting.quiz_replies import quiz_facts

    return quiz_facts(holder.get, quiz.get())


def _takes_replies(settings: Settings, channel: Channel) -> Callable[[Target], bool]:
    from bot.sorting.quiz_replies import takes_replies

    return takes_replies(settings, channel)


def _takes_proof(campaign: Campaign, group_id: str | None, room_id: str | None) -> bool:
    from bot.proof.intake import room_takes_proof

    return room_takes_proof(campaign, group_id, room_id)


def _answerer(holder: CampaignHolder, pipeline: Pipeline, store: SqlStore, sources: Sources) -> SortingAnswers:
    from bot.sorting import answers

    return answers.answerer(holder.get, pipeline, store, sources.schedules)


def _proof_parts(
    holder: CampaignHolder, pipeline: Pipeline, store: SqlStore, settings: Settings
) -> tuple[ProofAdmin, ProofIntake]:
    from bot import proof

    return proof.parts(holder.get, pipeline, store, settings.data_dir)


def _quiz_handler(holder: CampaignHolder, pipeline: Pipeline, quiz: Lazy[QuizStore]) -> InboundHandler:
    from bot.sorting import quiz_replies

    [handler] = quiz_replies.handlers(holder.get, pipeline, quiz.get())
    return handler


def _queued(upcoming: LateBound[Pending]) -> list[tuple[str, datetime]] | None:
    pending = upcoming.peek()
    return None if pending is None else pending()


def _load(
    sources: Sources, store: Store, settings: Settings, clock: Clock, daemon: bool
) -> tuple[LoadedCampaign, ConfigError | None]:
    try:
        loaded = load(sources)
    except ConfigError as exc:
        kept = last_good.restore(store, sources, settings.data_dir / "last-good") if daemon else None
        if kept is None:
            raise
        log.error("计划文件有错，先按 %s 保存的上次检查无误的计划运行：\n%s", format_instant(kept[1].saved_at), exc)
        return load(kept[0]), exc
    if daemon:
        last_good.keep(store, sources, clock.now())
    return loaded, None


def configured_groups(loaded: LoadedCampaign) -> dict[str, str]:
    """Every configured group: id -> name (its WeChat topic)."""
    return {g.id: g.name for u in loaded.campaign.units for g in u.groups}


def channel_alert_sink(
    current: Callable[[], LoadedCampaign], pipeline: Callable[[], Pipeline], fallback: Channel
) -> AlertSink:
    """Where a channel tells the admins about itself (logout, long outage, throttling): the pipeline's alerts.
    While the channel can't deliver (or is told to slow down), the alert is also written to `fallback` (the
    outbox) and the log: whatever still works."""

    async def sink(alert: Alert, can_deliver: bool) -> None:
        if not can_deliver or alert.kind is WECHAT_THROTTLED:
            loaded = current()
            text = loaded.renderer.render_named(alert.kind.template, alert.variables)
            log.error("%s", text)
            for admin in admin_targets(loaded.campaign):
                await fallback.send_text(admin, text)
        await pipeline().alert(alert)

    return sink


async def simulate(app: App, clock: VirtualClock, start: datetime, end: datetime) -> list[Outcome]:
    """Run the real pipeline over [start, end) on a virtual clock: each job at its own instant, in plan order.

    Records in the store exactly as the daemon does, so a second run over the same range sends nothing. A job cut
    off part-way (the database away) is tried again as the daemon's scheduler would (`bot.resumption`), the clock
    moving on to each retry; beyond the grace its targets left are recorded missed and the admins told."""
    await app.channel.start()
    outcomes: list[Outcome] = []
    # Claims a killed earlier run left behind: those that never left are sent again below, as their jobs come up.
    found = recovery.recover(app.store, app.pipeline.runner, app.pipeline.wall(), clock.now())
    await app.pipeline.report_unconfirmed([app.pipeline.describe(r.job_key, r.target) for r in found.unconfirmed])
    try:
        for job in app.loaded.plan.between(start, end):
            clock.set(max(clock.now(), job.at))  # a retry may have carried the clock past the next job's time
            outcomes.extend(await _settle_job(app, clock, job))
        await app.pipeline.flush_alerts()
    finally:
        await app.channel.close()
    return outcomes


async def _settle_job(app: App, clock: VirtualClock, job: PlannedJob) -> list[Outcome]:
    """Run `job` until each target has an outcome: tried again after each cut-off, or, once its grace period is
    over, recorded missed (never sent late). One outcome per target: the run that settled it."""
    settled: dict[str, Outcome] = {}
    grace = app.loaded.campaign.rules.misfire_grace
    resumes = 0
    while clock.now() - job.at <= grace:
        try:
            for outcome in await app.pipeline.run_job(job):
                if outcome.fresh or outcome.target not in settled:
                    settled[outcome.target] = outcome
        except Exception:  # as the scheduler: the store knows what was claimed; the rest is resumed below
            log.exception("任务 %s 出错了", job.key)
        left = still_open(app.pipeline, job)
        if not left:
            return [settled[t.id] for t in job.targets if t.id in settled]
        run_at = resume_at(job.at, clock.now(), resumes, grace, app.loaded.campaign.rules.quiet_hours)
        if run_at is None:
            break
        say_resuming(job, left, run_at)
        clock.set(run_at)
        resumes += 1
    settled.update((o.target, o) for o in await give_up(app.pipeline, job, grace) if o.fresh)
    return [settled[t.id] for t in job.targets if t.id in settled]


async def run_daemon(app: App, clock: RealTimeClock, stop: asyncio.Event, reload_seconds: float = 5.0) -> None:
    """The daemon: schedule the plan, watch the files, hear replies, until `stop` is set."""
    await app.channel.start()
    scheduler = CampaignScheduler(
        app.holder, app.pipeline, clock, load, reload_seconds=reload_seconds, watch=app.sources, keep=last_good.keep
    )
    await scheduler.start()
    if app.broken is not None:
        await scheduler.report_broken(app.broken)
    app.upcoming.bind(scheduler.pending)
    _warn_recorded_ahead(app.store, clock.now())
    pending = scheduler.pending()
    if pending:
        key, at = pending[0]
        log.info("运行中：还有 %d 项任务；下一项 %s，%s", len(pending), key, format_instant(at))
    else:
        log.info("运行中：计划里已经没有要发的任务")
    listener = asyncio.create_task(listen(app))
    ticker = asyncio.create_task(_after_quiet_hours(app, stop))
    # robots.yaml is watched on the plan's cadence: a good edit swaps the robots, a bad one keeps them.
    reloader = make_reloader(
        app.settings or Settings.from_env(), app.channel, app.pipeline, lambda: app.loaded.campaign
    )
    robots_watch = asyncio.create_task(reloader.watch(stop, reload_seconds))
    from bot.web.hook import console_running

    try:
        async with console_running(app, app.settings or Settings.from_env(), app.sources):
            await stop.wait()
    finally:
        await scheduler.stop()
        ticker.cancel()  # its round at stop is for callers without a channel to close (tests, one-shot runs)
        robots_watch.cancel()
        await app.drain()
        await app.channel.close()
        listener.cancel()
        await asyncio.gather(listener, ticker, robots_watch, return_exceptions=True)


def _warn_recorded_ahead(store: SqlStore, now: datetime) -> None:
    """Messages not yet due but recorded already will not be sent when their time comes: say so at start, where the
    clerk looks (a rehearsal on this database leaves them; `laba simulate` refuses a database the daemon used)."""
    from bot.store.ahead import recorded_ahead

    ahead = recorded_ahead(store, now)
    if ahead.count and ahead.first is not None:
        log.error(
            "数据库里已经记着 %d 条还没到时间的消息（最早一条原定 %s），到时候不会再发。多半是在这个数据目录上"
            "预演（laba simulate）留下的：预演请用单独的数据目录；要让这些消息照常发出，请换一个新的数据目录启动",
            ahead.count,
            format_instant(ahead.first),
        )


async def _after_quiet_hours(app: App, stop: asyncio.Event, every_seconds: float = 60.0) -> None:
    """Once a minute until `stop` (and once more when it is set): answer the villagers' questions held over quiet
    hours (a no-op while they last), and expire strangers' photos nobody approved in time."""
    while True:
        try:
            await app.handlers.answer_waiting()
        except Exception:
            log.exception("回答免打扰时段留下的问题时出错")
        try:
            await app.handlers.expire_strangers(app.clock.now())
        except Exception:
            log.exception("清理过期的待确认照片时出错")
        if stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_seconds)


async def listen(app: App) -> None:
    """Hand every inbound message to the router, until the channel closes: each conversation in order, admins'
    commands first (`ConversationQueues`), so neither a flood nor a reply waiting for the pacer holds up `#暂停`."""
    queues = ConversationQueues(app.router, urgent=lambda message: is_admin_command(app.loaded.campaign, message))
    try:
        async for message in app.channel.inbound():
            queues.submit(message)
        await queues.join()
    finally:
        await queues.close()
