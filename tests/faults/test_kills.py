"""The daemon as a process, paced against the loopback gateway, stopped mid-job (SIGKILL as a crash or power cut,
SIGTERM as systemd and `docker stop`) and started again: every group gets the job's message exactly once, and no
delivery is reported as possibly sent unless its message really reached the gateway. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.wechaty import LoopbackPuppet
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources, load
from bot.store.sql import open_store
from tests.faults.daemon import (
    WAIT,
    assert_each_target_once,
    daemon_env,
    print_log,
    start_daemon,
    stop_mid_job,
)

JOB = "2024-05/remind/xuanchuanzhou/units"  # the units' 16 work groups
MARK = "宣传周"


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
            env = daemon_env(puppet, store_url, jinxi, tmp_path)

            def delivered() -> list[str]:
                return [m.room_id for m in puppet.sent_by_bot() if m.room_id and MARK in m.text]

            first = await start_daemon(env, job.at - timedelta(seconds=1), log)
            try:
                await puppet.wait_until(lambda: len(delivered()) >= after, WAIT)
            finally:
                stop_mid_job(first, sig, store_url)
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
        print_log(log)
        raise
    assert_each_target_once(puppet, rooms, job, store_url, MARK)
    assert 0 < at_stop < len(job.targets)
