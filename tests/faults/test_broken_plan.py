"""A daemon killed mid-job whose plan file is broken while it is down (a clerk's edit saved half-way): started
again, it runs the last good plan kept in the store, finishes the job (each group exactly once) and tells the admins
what is wrong with the file. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

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
    stop_daemon,
    stop_mid_job,
)

JOB = "2024-05/remind/xuanchuanzhou/units"  # the units' 16 work groups
MARK = "宣传周"
TOLD = "计划文件"  # alert_plan_error: what the admins are told
BROKEN = "\n  - month: 13\n    title: 不存在的月份\n"


def test_a_restart_with_a_broken_plan_runs_the_last_good_one_and_tells_the_admins(
    store_url: str, jinxi: Sources, tmp_path: Path
) -> None:
    loaded = load(jinxi)
    job = loaded.plan.by_key()[JOB]
    log = tmp_path / "daemon.log"
    with open_store(store_url, TOWN_ZONE) as store:
        store.service_started_at(loaded.campaign.town.id, job.at - timedelta(days=1))
    plan_file = jinxi.schedules / "plan-2024.yaml"

    async def scenario() -> tuple[LoopbackPuppet, dict[str, str]]:
        async with LoopbackPuppet(tls=False) as puppet:
            rooms = puppet.add_town(loaded.campaign)
            env = daemon_env(puppet, store_url, jinxi, tmp_path)

            def delivered() -> list[str]:
                return [m.room_id for m in puppet.sent_by_bot() if m.room_id and MARK in m.text]

            def told() -> list[str]:
                return [m.text for m in puppet.sent_by_bot() if TOLD in m.text]

            first = await start_daemon(env, job.at - timedelta(seconds=1), log)
            try:
                await puppet.wait_until(lambda: len(delivered()) >= 3, WAIT)
            finally:
                stop_mid_job(first, signal.SIGKILL, store_url)
                await asyncio.wait_for(first.wait(), WAIT)
            assert len(delivered()) < len(job.targets), "the kill came after the job: nothing was tested"
            assert not told()
            plan_file.write_text(plan_file.read_text(encoding="utf-8") + BROKEN, encoding="utf-8")
            second = await start_daemon(env, job.at + timedelta(minutes=2), log)
            try:
                await puppet.wait_until(lambda: len(set(delivered())) == len(job.targets) and bool(told()), WAIT)
            finally:
                await stop_daemon(second)
            assert second.returncode == 0
            return puppet, rooms

    try:
        puppet, rooms = asyncio.run(scenario())
    except BaseException:
        print_log(log)
        raise
    assert_each_target_once(puppet, rooms, job, store_url, MARK)
    alerts = [m.text for m in puppet.sent_by_bot() if TOLD in m.text]
    assert any("13" in text for text in alerts), alerts  # the admins are told what is wrong, and where
