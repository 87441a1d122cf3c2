"""Wiring: the campaign, the store, a channel and the pipeline, put together the same way for every command."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from bot.channels.base import Channel
from bot.channels.outbox import OutboxChannel
from bot.clock import Clock, RealTimeClock, VirtualClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.errors import ConfigError, Problem
from bot.inbound import InboundRouter
from bot.pipeline import Outcome, Pipeline
from bot.scheduler import CampaignHolder, CampaignScheduler
from bot.settings import CHANNELS, Settings
from bot.store.base import Store
from bot.store.sql import open_store

log = logging.getLogger(__name__)


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def make_channel(settings: Settings, clock: Clock, echo: TextIO | None = sys.stdout) -> Channel:
    if settings.channel == "outbox":
        return OutboxChannel(settings.outbox_dir, clock.now, echo)
    raise ConfigError(
        [Problem("BOT_CHANNEL", "", settings.channel, "不认识的发送渠道", f"可用的有：{'、'.join(CHANNELS)}")]
    )


@dataclass
class App:
    holder: CampaignHolder
    store: Store
    channel: Channel
    pipeline: Pipeline
    clock: Clock
    router: InboundRouter

    @property
    def loaded(self) -> LoadedCampaign:
        return self.holder.get()

    def close(self) -> None:
        self.store.close()


def build(
    sources: Sources, settings: Settings, clock: Clock, channel: Channel | None = None, echo: TextIO | None = sys.stdout
) -> App:
    """Load and check the town's files, open the store (migrating it) and the channel. Raises ConfigError."""
    loaded = load(sources)
    holder = CampaignHolder(loaded)
    store = open_store(settings.database_url, clock.zone)
    try:
        channel = channel or make_channel(settings, clock, echo)
    except ConfigError:
        store.close()
        raise
    pipeline = Pipeline(holder.get, store, channel, clock, runner_id())
    return App(holder, store, channel, pipeline, clock, InboundRouter())


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
    pending = scheduler.pending()
    log.info("running: %d jobs waiting; next: %s", len(pending), pending[0] if pending else "none")
    listener = asyncio.create_task(_listen(app))
    try:
        await stop.wait()
    finally:
        scheduler.shutdown()
        await app.channel.close()
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def _listen(app: App) -> None:
    async for message in app.channel.inbound():
        await app.router.dispatch(message)
