"""The daemon as a process, paced against the loopback gateway, stopped mid-job (SIGKILL as a crash or power cut,
SIGTERM as systemd and `docker stop`) and started again: every group gets the job's message exactly once, and no
delivery is reported as possibly sent unless its message really reached the gateway. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.wechaty import LoopbackPuppet
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources, load
from bot.store.base import DeliveryStatus
from bot.store.sql import open_store

JOB = "2024-05/remind/xuanchuanzhou/units"  # the units' 16 work groups
MARK = "宣传周"
WAIT = 60.0


async def start_daemon(env: dict[str, str], now: datetime, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--now",
            now.isoformat(),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )


@pytest.mark.parametrize(
    ("sig", "after"),
    [(signal.SIGKILL, 3), (signal.SIGKILL, 11), (signal.SIGTERM, 7)],
    ids=["kill-early", "kill-late", "term"],
)
def test_a_daemon_stopped_mid_job_delivers_each_group_exactly_once_after_a_restart(
    sig: signal.Signals, after: int, jinxi: Sources, store_url: str, tmp_path: Path
) -> None:
    loaded = load(jinxi)
    job = loaded.plan.by_key()[JOB]
    log = tmp_path / "daemon.log"
    with open_store(store_url, TOWN_ZONE) as store:  # the town has run laba since before the job
        store.service_started_at(loaded.campaign.town.id, job.at - timedelta(days=1))

    async def scenario() -> tuple[LoopbackPuppet, dict[str, str], int]:
        async with LoopbackPuppet(tls=False) as puppet:
            rooms = puppet.add_town(loaded.campaign)
            env = {
                **os.environ,
                **puppet.env(),
                "BOT_SEND_GAP_SECONDS": "0.15",  # paced: most of a job's time is spent waiting for the next gap
                "BOT_CHANNEL": "wechaty",
                "BOT_DATABASE_URL": store_url,
                "BOT_DATA_DIR": str(tmp_path / "data"),
                "BOT_SCHEDULES_DIR": str(jinxi.schedules),
                "BOT_MESSAGES_DIR": str(jinxi.messages),
                "BOT_TTS_ENGINE": "none",
                "BOT_AUDIO_DIR": str(tmp_path / "audio"),
                "BOT_WEB_LISTEN": "off",  # the console is not under test here
            }

            def delivered() -> list[str]:
                return [m.room_id for m in puppet.sent_by_bot() if m.room_id and MARK in m.text]

            first = await start_daemon(env, job.at - timedelta(seconds=1), log)
            try:
                await puppet.wait_until(lambda: len(delivered()) >= after, WAIT)
            finally:
                first.send_signal(sig)
                await asyncio.wait_for(first.wait(), WAIT)
            at_stop = len(delivered())
            assert at_stop < len(job.targets), "the stop came after the job: nothing was tested"
            # Started again a little later, well within the grace period.
            second = await start_daemon(env, job.at + timedelta(minutes=2), log)
            try:
                await puppet.wait_until(lambda: len(set(delivered())) == len(job.targets), WAIT)
                wanted = {rooms[t.id] for t in job.targets}
                assert set(delivered()) == wanted
            finally:
                second.send_signal(signal.SIGTERM)
                await asyncio.wait_for(second.wait(), WAIT)
            return puppet, rooms, at_stop

    try:
        puppet, rooms, at_stop = asyncio.run(scenario())
    except BaseException:
        print(log.read_text(encoding="utf-8", errors="replace")[-6000:])
        raise
    arrived = [m.room_id for m in puppet.sent_by_bot() if m.room_id and MARK in m.text]
    assert sorted(arrived) == sorted(rooms[t.id] for t in job.targets)  # exactly once each: none lost, none twice
    with open_store(store_url, TOWN_ZONE) as store:
        records = {r.target: r for r in store.deliveries(frozenset({JOB}))}
    assert set(records) == {t.id for t in job.targets}
    for target in job.targets:
        record = records[target.id]
        # Possibly-sent only where the message really did reach the gateway; everything else confirmed sent.
        assert record.status in (DeliveryStatus.SENT, DeliveryStatus.UNCONFIRMED), record
        if record.status is DeliveryStatus.UNCONFIRMED:
            assert rooms[target.id] in arrived
    assert 0 < at_stop < len(job.targets)
