"""Wiring: the campaign, the store, a channel and the pipeline, put together the same way for every command."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from bot import proof
from bot.admin import AdminCommands
from bot.audio.base import TtsEngine
from bot.audio.edge import EdgeTts
from bot.audio.offline import OfflineTts
from bot.audio.studio import Studio
from bot.channels.base import Channel
from bot.channels.outbox import OutboxChannel
from bot.clock import Clock, RealTimeClock, VirtualClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.planner import admin_targets
from bot.errors import ConfigError, Problem
from bot.inbound import InboundRouter
from bot.pipeline import Outcome, Pipeline
from bot.scheduler import CampaignHolder, CampaignScheduler
from bot.settings import CHANNELS, TTS_ENGINES, Settings
from bot.store.base import Store
from bot.store.sql import open_store

log = logging.getLogger(__name__)


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def make_channel(
    settings: Settings,
    clock: Clock,
    echo: TextIO | None = sys.stdout,
    *,
    groups: Callable[[], Mapping[str, str]] = dict,
    store: Store | None = None,
) -> Channel:
    """The channel `settings.channel` names. `groups` gives the configured groups (id -> WeChat topic) and `store`
    keeps their resolved room ids (channels that address groups by name need them). Raises ConfigError."""
    if settings.channel == "outbox":
        return OutboxChannel(settings.outbox_dir, clock.now, echo)
    if settings.channel == "wechaty":
        from bot.channels.wechaty import WechatyChannel, WechatySettings
        from bot.store.rooms import RoomDirectory

        return WechatyChannel(
            WechatySettings.from_env(qr_dir=settings.data_dir),
            groups=groups,
            rooms=RoomDirectory.for_store("wechaty", store),
            now=clock.now,
            echo=echo,
        )
    raise ConfigError(
        [Problem("BOT_CHANNEL", "", settings.channel, "不认识的发送渠道", f"可用的有：{'、'.join(CHANNELS)}")]
    )


def make_studio(settings: Settings, engine: str | None = None) -> Studio | None:
    """The loudspeaker clip producer: edge-tts with the offline voice as fallback, or the offline voice alone;
    None for `none` (broadcast jobs then send the script to read aloud). Raises ConfigError for an unknown engine."""
    engine = engine or settings.tts_engine
    if engine not in TTS_ENGINES:
        raise ConfigError(
            [Problem("BOT_TTS_ENGINE", "", engine, "不认识的语音引擎", f"可用的有：{'、'.join(TTS_ENGINES)}")]
        )
    if engine == "none":
        return None
    offline = OfflineTts()
    engines: list[TtsEngine] = [EdgeTts(settings.edge_tts_url), offline] if engine == "edge" else [offline]
    return Studio(settings.audio_dir, engines)


@dataclass
class App:
    holder: CampaignHolder
    store: Store
    channel: Channel
    pipeline: Pipeline
    clock: Clock
    router: InboundRouter
    settings: Settings | None = None
    sources: Sources | None = None

    @property
    def loaded(self) -> LoadedCampaign:
        return self.holder.get()

    def close(self) -> None:
        self.store.close()

    async def drain(self) -> None:
        """Before the channel closes: send what inbound handlers hold back (proof acknowledgements waiting for their
        quiet window) and stop holding anything back."""
        for handler in self.router.handlers:
            if isinstance(handler, proof.ProofIntake):
                await handler.close()


def build(
    sources: Sources, settings: Settings, clock: Clock, channel: Channel | None = None, echo: TextIO | None = sys.stdout
) -> App:
    """Load and check the town's files, open the store (migrating it) and the channel. Raises ConfigError."""
    loaded = load(sources)
    holder = CampaignHolder(loaded)
    store = open_store(settings.database_url, clock.zone)
    try:
        channel = channel or make_channel(
            settings, clock, echo, groups=lambda: configured_groups(holder.get()), store=store
        )
    except ConfigError:
        store.close()
        raise
    try:
        producer = make_studio(settings)
    except ConfigError:
        store.close()
        raise
    pipeline = Pipeline(holder.get, store, channel, clock, runner_id(), producer=producer)
    wire_channel_alerts(channel, pipeline, OutboxChannel(settings.outbox_dir, clock.now, sys.stderr))
    router = InboundRouter(
        [AdminCommands(holder.get, pipeline), *proof.handlers(holder.get, pipeline, store, settings.data_dir)]
    )
    if settings.public_url:
        from bot.web.links import upload_links_for

        pipeline.links = upload_links_for(store, router, settings, clock)
    return App(holder, store, channel, pipeline, clock, router, settings, sources)


def configured_groups(loaded: LoadedCampaign) -> dict[str, str]:
    """Every configured group: id -> name (its WeChat topic)."""
    return {g.id: g.name for u in loaded.campaign.units for g in u.groups}


def wire_channel_alerts(channel: Channel, pipeline: Pipeline, fallback: Channel) -> None:
    """Let a channel tell the admins about itself (logout, long outage, throttling). While WeChat can't deliver,
    the alert is also written to `fallback` (the outbox) and the log: whatever still works."""
    from bot.channels.wechaty import WechatyChannel

    if not isinstance(channel, WechatyChannel) or channel.alert_sink is not None:
        return
    wechat = channel

    async def sink(template: str, key: str, variables: Mapping[str, Any]) -> None:
        if not wechat.online or template == "alert_wechat_throttled":
            loaded = pipeline.current()
            text = loaded.renderer.render_named(template, variables)
            log.error("%s", text)
            for admin in admin_targets(loaded.campaign):
                await fallback.send_text(admin, text)
        await pipeline.alert(template, key, variables)

    channel.alert_sink = sink


async def simulate(app: App, clock: VirtualClock, start: datetime, end: datetime) -> list[Outcome]:
    """Run the real pipeline over [start, end) on a virtual clock: each job at its own instant, in plan order.

    Records in the store exactly as the daemon does, so a second run over the same range sends nothing."""
    await app.channel.start()
    outcomes: list[Outcome] = []
    try:
        for job in app.loaded.plan.between(start, end):
            clock.set(job.at)
            outcomes.extend(await app.pipeline.run_job(job))
        await app.pipeline.flush_alerts()
    finally:
        await app.channel.close()
    return outcomes


async def run_daemon(app: App, clock: RealTimeClock, stop: asyncio.Event, reload_seconds: float = 5.0) -> None:
    """The daemon: schedule the plan, watch the files, hear replies, until `stop` is set."""
    await app.channel.start()
    scheduler = CampaignScheduler(app.holder, app.pipeline, clock, load, reload_seconds=reload_seconds)
    await scheduler.start()
    for handler in app.router.handlers:
        if isinstance(handler, AdminCommands):
            handler.pending = scheduler.pending
    pending = scheduler.pending()
    log.info("running: %d jobs waiting; next: %s", len(pending), pending[0] if pending else "none")
    listener = asyncio.create_task(_listen(app))
    from bot.web.hook import console_running

    try:
        async with console_running(app, app.settings or Settings.from_env(), app.sources):
            await stop.wait()
    finally:
        scheduler.shutdown()
        await app.drain()
        await app.channel.close()
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def _listen(app: App) -> None:
    async for message in app.channel.inbound():
        await app.router.dispatch(message)
