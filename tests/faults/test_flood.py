"""A flood of commands while a paced job runs, with the daemon as a process against the loopback gateway: a
villager sends #帮助 twenty times and a stranger #绑定 twenty times in their groups, and an admin sends #暂停 in the
middle. The admin's #暂停 is honoured (nothing more of the job leaves after its answer, except the one message
already on its way), #恢复 brings the job back, and every group gets the job's message exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.channels.wechaty import LoopbackPuppet
from bot.clock import TOWN_ZONE
from bot.config.campaign import Sources, load
from bot.store.base import DeliveryStatus
from bot.store.sql import open_store
from tests.faults.daemon import WAIT, daemon_env, print_log, start_daemon, stop_daemon

JOB = "2024-05/remind/xuanchuanzhou/units"  # the units' 16 work groups
MARK = "宣传周"
FLOOD = 20


def contact_id(puppet: LoopbackPuppet, name: str) -> str:
    return next(c.id for c in puppet.contacts.values() if c.name == name)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the store is not what this test is about
def test_an_admins_pause_is_honoured_during_a_flood_of_commands_and_each_group_gets_the_job_once(
    store_url: str, jinxi: Sources, tmp_path: Path
) -> None:
    loaded = load(jinxi)
    job = loaded.plan.by_key()[JOB]
    log = tmp_path / "daemon.log"
    with open_store(store_url, TOWN_ZONE) as store:
        store.service_started_at(loaded.campaign.town.id, job.at - timedelta(days=1))
    admin = loaded.campaign.admins[0]
    village = next(u for u in loaded.campaign.units if u.kind.value == "village")

    async def scenario() -> tuple[LoopbackPuppet, dict[str, str], int, int]:
        async with LoopbackPuppet(tls=False) as puppet:
            rooms = puppet.add_town(loaded.campaign)
            env = daemon_env(puppet, store_url, jinxi, tmp_path)
            admin_id = contact_id(puppet, admin.name)
            village_room = rooms[village.groups[0].id]
            villager = puppet.rooms[village_room].member_ids[-1]

            def delivered() -> list[str]:
                return [m.room_id for m in puppet.sent_by_bot() if m.room_id and MARK in m.text]

            def answered(words: str) -> bool:
                return any(words in m.text for m in puppet.sent_by_bot() if m.to_id == admin_id)

            daemon = await start_daemon(env, job.at - timedelta(seconds=1), log)
            try:
                await puppet.wait_until(lambda: len(delivered()) >= 3, WAIT)
                for _ in range(FLOOD):
                    puppet.post_text(villager, "#帮助", room_id=village_room)
                    puppet.post_text(villager, "#绑定 张三", room_id=village_room)
                puppet.post_text(admin_id, "#暂停")
                await puppet.wait_until(lambda: answered("已暂停发送"), WAIT)
                at_pause = len(delivered())
                # A barrier: once the admin's #状态 is answered, anything the pause let through would have left.
                puppet.post_text(admin_id, "#状态")
                await puppet.wait_until(lambda: answered("发送：已暂停"), WAIT)
                after_pause = len(delivered())
                puppet.post_text(admin_id, "#恢复")
                await puppet.wait_until(lambda: len(set(delivered())) == len(job.targets), WAIT)
            finally:
                await stop_daemon(daemon)
            return puppet, rooms, at_pause, after_pause

    try:
        puppet, rooms, at_pause, after_pause = asyncio.run(scenario())
    except BaseException:
        print_log(log)
        raise
    assert at_pause < len(job.targets), "the pause came after the job: nothing was tested"
    assert after_pause <= at_pause + 1  # at most the one message already on its way when #暂停 was read
    arrived = [m.room_id for m in puppet.sent_by_bot() if m.room_id and MARK in m.text]
    assert sorted(arrived) == sorted(rooms[t.id] for t in job.targets)  # exactly once each
    with open_store(store_url, TOWN_ZONE) as store:
        records = {r.target: r for r in store.deliveries(frozenset({JOB}))}
    assert {r.status for r in records.values()} == {DeliveryStatus.SENT}
