"""The database cut off in the middle of a paced job, with the daemon running as a process against the loopback
gateway: PostgreSQL refusing connections for a few seconds (a proxy in front of the server, stopped and started
again), SQLite locked by another connection holding the write lock for a few seconds. Every group gets the job's
message exactly once, the job goes on after the outage (well inside the grace), and nothing is reported as possibly
sent unless it reached the gateway."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.channels.memory import MemoryChannel
from bot.channels.wechaty import LoopbackPuppet
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign, Sources, load
from bot.core.planner import Target
from bot.pipeline import Pipeline, RetryPolicy
from bot.store.base import DeliveryStatus
from bot.store.sql import SqlStore, open_store
from tests.faults.daemon import WAIT, assert_each_target_once, daemon_env, print_log, start_daemon, stop_daemon
from tests.faults.proxy import TcpProxy, ThreadedProxy
from tests.helpers import no_sleep

JOB = "2024-05/remind/xuanchuanzhou/units"  # the units' 16 work groups
MARK = "宣传周"
OUTAGE_SECONDS = 4.0
CUT_AFTER = 4  # groups delivered before the cut


def hold_write_lock(path: Path, seconds: float) -> None:
    """Another program writing to the SQLite file: BEGIN IMMEDIATE holds the write lock until it commits."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        time.sleep(seconds)  # the length of the outage, not a wait for something to happen
        conn.execute("COMMIT")
    finally:
        conn.close()


def test_a_database_outage_mid_job_delivers_each_group_exactly_once(
    store_url: str, jinxi: Sources, tmp_path: Path
) -> None:
    loaded = load(jinxi)
    job = loaded.plan.by_key()[JOB]
    log = tmp_path / "daemon.log"
    with open_store(store_url, TOWN_ZONE) as store:  # the town has run laba since before the job
        store.service_started_at(loaded.campaign.town.id, job.at - timedelta(days=1))
    postgres = make_url(store_url).get_backend_name() != "sqlite"

    async def scenario() -> tuple[LoopbackPuppet, dict[str, str], int]:
        upstream = make_url(store_url)
        proxy = TcpProxy(upstream.host or "127.0.0.1", upstream.port or 5432)
        async with LoopbackPuppet(tls=False) as puppet, proxy:
            rooms = puppet.add_town(loaded.campaign)
            url = upstream.set(host="127.0.0.1", port=proxy.port) if postgres else upstream
            env = daemon_env(puppet, url.render_as_string(hide_password=False), jinxi, tmp_path)

            def delivered() -> list[str]:
                return [m.room_id for m in puppet.sent_by_bot() if m.room_id and MARK in m.text]

            async def cut() -> None:
                if postgres:
                    await proxy.stop()
                    await asyncio.sleep(OUTAGE_SECONDS)  # the outage's length
                    await proxy.start()
                else:
                    assert upstream.database
                    await asyncio.to_thread(hold_write_lock, Path(upstream.database), OUTAGE_SECONDS)

            daemon = await start_daemon(env, job.at - timedelta(seconds=1), log)
            try:
                await puppet.wait_until(lambda: len(delivered()) >= CUT_AFTER, WAIT)
                await cut()
                at_cut_end = len(delivered())
                await puppet.wait_until(lambda: len(set(delivered())) == len(job.targets), WAIT)
            finally:
                await stop_daemon(daemon)
            return puppet, rooms, at_cut_end

    try:
        puppet, rooms, at_cut_end = asyncio.run(scenario())
    except BaseException:
        print_log(log)
        raise
    assert at_cut_end < len(job.targets), "the outage came after the job: nothing was tested"
    if postgres:  # the daemon did run into the outage, and said so
        assert "数据库暂时连不上" in log.read_text(encoding="utf-8")
    assert_each_target_once(puppet, rooms, job, store_url, MARK)


@pytest.mark.postgres
def test_a_message_that_left_before_the_database_went_away_is_recorded_sent_not_possibly_sent(
    postgres_schema_url: str, loaded: LoadedCampaign
) -> None:
    job = loaded.plan.by_key()[JOB]
    real = make_url(postgres_schema_url)
    with ThreadedProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        store = SqlStore(real.set(host="127.0.0.1", port=proxy.port), TOWN_ZONE)
        try:
            store.migrate()
            cut_at = job.targets[2].id

            async def database_goes_away(target: Target) -> None:  # while the third message is on the wire
                if target.id == cut_at:
                    proxy.stop()

            channel = MemoryChannel(on_wire=database_goes_away)
            clock = VirtualClock(job.at)
            pipeline = Pipeline(lambda: loaded, store, channel, clock, "runner-1", RetryPolicy(3, 1.0), no_sleep)
            first = asyncio.run(pipeline.run_job(job))
            assert [o.target for o in first] == [t.id for t in job.targets[:2]]  # the rest waits for the database
            proxy.start()
            asyncio.run(pipeline.run_job(job))  # the scheduler's resume
            records = {r.target: r.status for r in store.deliveries(frozenset({JOB}))}
        finally:
            store.close()
    sent = [m.target.id for m in channel.sent if MARK in m.text]
    assert sorted(sent) == sorted(t.id for t in job.targets)  # exactly once each
    assert records == {t.id: DeliveryStatus.SENT for t in job.targets}  # the third known sent, not "maybe"
    assert not [m for m in channel.sent if "可能已发出" in m.text]


def test_a_delivery_cut_off_last_in_its_job_stays_unsettled_for_the_follow_up(jinxi: Sources, tmp_path: Path) -> None:
    """The database goes away as the job's last message is about to leave: its record can't be written, so the
    pipeline keeps it, and `unsettled` (what the scheduler's follow-up asks) names it until it is recorded; the
    follow-up's run then sends it, once."""
    loaded = load(jinxi)
    job = loaded.plan.by_key()[JOB]
    database = tmp_path / "laba.db"
    store = open_store(f"sqlite:///{database}?timeout=0", TOWN_ZONE)
    holder = sqlite3.connect(database, isolation_level=None)
    cuts: list[str] = []
    try:

        async def database_goes_away(target: Target) -> None:
            if target.id == job.targets[-1].id and not cuts:
                cuts.append(target.id)
                holder.execute("BEGIN IMMEDIATE")

        channel = MemoryChannel(before_wire=database_goes_away)
        pipeline = Pipeline(
            lambda: loaded, store, channel, VirtualClock(job.at), "runner-1", RetryPolicy(3, 1.0), no_sleep
        )
        asyncio.run(pipeline.run_job(job))
        assert [t.id for t in pipeline.unsettled(job)] == [job.targets[-1].id]
        holder.execute("COMMIT")
        asyncio.run(pipeline.run_job(job))  # the scheduler's follow-up
        assert pipeline.unsettled(job) == []
        statuses = {r.target: r.status for r in store.deliveries(frozenset({job.key}))}
    finally:
        holder.close()
        store.close()
    assert statuses == dict.fromkeys((t.id for t in job.targets), DeliveryStatus.SENT)
    assert sorted(m.target.id for m in channel.sent) == sorted(t.id for t in job.targets)
