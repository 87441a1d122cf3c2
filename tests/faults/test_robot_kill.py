"""The daemon as a process sending a job's groups by WeCom and DingTalk robots (the loopback robot services), killed
with SIGKILL while a robot's POST is in flight — the request read and the message posted into the group, the answer
held back — then started again: the delivery that reached the network is UNCONFIRMED and told to the admins once,
it is not sent again, and every other group gets the job's message exactly once. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.channels.robots.loopback import LoopbackRobots
from bot.channels.wechaty import LoopbackPuppet
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources, load
from bot.core.planner import PlannedJob
from bot.store.base import DeliveryStatus
from bot.store.sql import open_store
from tests.faults.daemon import (
    FIGURES,
    WAIT,
    backend,
    daemon_env,
    print_log,
    start_daemon,
    stop_daemon,
    stop_mid_job,
)

JOB = "2024-05/remind/xuanchuanzhou/units"  # the units' 16 work groups
MARK = "宣传周"
HELD = 5  # the sixth group's POST is the one in flight at the kill
TOLD = "无法确认对方是否收到"  # alert_unconfirmed: what the admins are told


def robots_yaml(robots: LoopbackRobots, job: PlannedJob, path: Path) -> None:
    """Every group of the job by a robot: WeCom and DingTalk (with 加签) in turn."""
    lines = []
    for number, target in enumerate(job.targets):
        if number % 2:
            secret = f"SEC{number:02d}abcdefghijklmnop"
            url = robots.add_dingtalk(target.id, secret=secret)
            lines.append(f"{target.id}:\n  webhook: {url}\n  secret: {secret}\n")
        else:
            lines.append(f"{target.id}:\n  webhook: {robots.add_wecom(target.id)}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    os.chmod(path, 0o600)


async def poll(predicate: Callable[[], bool], seconds: float = WAIT) -> None:
    """The robots' server records posts without telling anyone: look every few milliseconds."""
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.01)


def test_a_daemon_killed_during_a_robot_post_reports_that_one_once_and_sends_the_rest_once(
    store_url: str, jinxi: Sources, tmp_path: Path
) -> None:
    loaded = load(jinxi)
    job = loaded.plan.by_key()[JOB]
    held = job.targets[HELD]
    log = tmp_path / "daemon.log"
    with open_store(store_url, TOWN_ZONE) as store:  # the town has run laba since before the job
        store.service_started_at(loaded.campaign.town.id, job.at - timedelta(days=1))

    async def scenario() -> tuple[dict[str, int], dict[str, int], int]:
        robots = LoopbackRobots(per_minute=0)  # the robot services' own limit is not under test here
        await robots.start()
        try:
            async with LoopbackPuppet(tls=False) as puppet:  # the admins are told by WeChat
                puppet.add_town(loaded.campaign)
                env = daemon_env(puppet, store_url, jinxi, tmp_path)
                robots_yaml(robots, job, tmp_path / "data" / "robots.yaml")

                def posted() -> Counter[str]:
                    return Counter(p.group for p in robots.posts if MARK in p.text)

                def told() -> Counter[str]:
                    return Counter(
                        m.room_id or m.to_id for m in puppet.sent_by_bot() if TOLD in m.text and held.name in m.text
                    )

                robots.hold_after_post.add(held.id)
                first = await start_daemon(env, job.at - timedelta(seconds=1), log)
                try:
                    await poll(lambda: robots.held == [held.id])
                finally:
                    stop_mid_job(first, signal.SIGKILL, store_url)
                    await asyncio.wait_for(first.wait(), WAIT)
                at_kill = sum(posted().values())
                robots.release_held()  # the answer comes after the sender is gone
                second = await start_daemon(env, job.at + timedelta(minutes=2), log)
                try:
                    await poll(lambda: set(posted()) == {t.id for t in job.targets} and bool(told()))
                    await asyncio.sleep(1.0)  # room for a duplicate or a second alert to show up
                finally:
                    await stop_daemon(second)
                return dict(posted()), dict(told()), at_kill
        finally:
            await robots.close()

    try:
        posted, told, at_kill = asyncio.run(scenario())
    except BaseException:
        print_log(log)
        raise
    with open_store(store_url, TOWN_ZONE) as store:
        records = {r.target: r for r in store.deliveries(frozenset({job.key}))}
    figures = FIGURES[backend(store_url)]
    figures["messages"] += len(job.targets)
    figures["lost"] += sum(1 for t in job.targets if t.id not in posted)
    figures["duplicated"] += sum(n - 1 for n in posted.values())
    unconfirmed = {t for t, r in records.items() if r.status is DeliveryStatus.UNCONFIRMED}
    figures["falsely possibly sent"] += len(unconfirmed - set(posted))
    figures["told unconfirmed"] += len(unconfirmed)

    assert at_kill == HELD + 1  # killed in the sixth POST: five answered, one in flight
    assert posted == {t.id: 1 for t in job.targets}  # none lost, none twice (the held one not resent)
    assert unconfirmed == {held.id}  # it reached the group's robot: possibly sent, said so
    assert all(r.status is DeliveryStatus.SENT for t, r in records.items() if t != held.id)
    assert told and set(told.values()) == {1}  # each admin told once
