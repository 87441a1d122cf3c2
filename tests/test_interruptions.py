"""A delivery cut off anywhere ends sent once or reported as what it is: stops before and after the message left,
errors a channel did not map, and admins that can't be reached. The in-memory store (it passes the same contract
suite as SqlStore); the memory channel's hooks stand in for a pacing wait and a slow or broken network call."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign
from bot.core.planner import Target
from bot.pipeline import Pipeline, RetryPolicy
from bot.recovery import recover
from bot.store.base import DeliveryStatus
from bot.store.memory import MemoryStore
from tests.helpers import no_sleep


@pytest.fixture
def store() -> MemoryStore:
    """Overrides the SQLite `store` of tests/conftest.py: these tests are about the pipeline, not the database."""
    return MemoryStore(TOWN_ZONE)


ADMINS = {"admin-ran", "admin-tan"}


def pipeline_for(loaded: LoadedCampaign, store: MemoryStore, channel: MemoryChannel, runner: str) -> Pipeline:
    job = loaded.plan.by_key()["2024-05/remind/xuanchuanzhou/units"]
    return Pipeline(lambda: loaded, store, channel, VirtualClock(job.at), runner, RetryPolicy(3, 1.0), no_sleep)


def test_a_stop_while_waiting_for_the_wire_releases_the_rest_and_the_next_runner_sends_each_once(
    loaded: LoadedCampaign, store: MemoryStore
) -> None:
    job = loaded.plan.by_key()["2024-05/remind/xuanchuanzhou/units"]
    assert len(job.targets) > 10
    gate = asyncio.Event()
    reached = asyncio.Event()
    channel = MemoryChannel()

    async def pacing(target: Target) -> None:
        if target.id == job.targets[5].id:  # the sixth message waits for its pacing gap when the stop comes
            reached.set()
            await gate.wait()

    channel.before_wire = pacing
    first = pipeline_for(loaded, store, channel, "first")

    async def stopped_midway() -> None:
        task = asyncio.create_task(first.run_job(job))
        await reached.wait()
        await first.stop(1.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(stopped_midway())
    assert [m.target.id for m in channel.sent] == [t.id for t in job.targets[:5]]
    waiting = store.get(job.key, job.targets[5].id)
    assert waiting is not None and waiting.status is DeliveryStatus.RELEASED
    assert {r.target for r in store.deliveries()} == {t.id for t in job.targets[:6]}  # nothing more was claimed

    channel.before_wire = None
    second = pipeline_for(loaded, store, channel, "second")
    outcomes = asyncio.run(second.run_job(job))
    assert [m.target.id for m in channel.sent] == [t.id for t in job.targets]  # each exactly once, in order
    assert all(o.status is DeliveryStatus.SENT for o in outcomes if o.fresh)
    assert not any("无法确认" in m.text for m in channel.sent)


def test_a_stop_waits_for_messages_on_the_wire(loaded: LoadedCampaign, store: MemoryStore) -> None:
    job = loaded.plan.by_key()["2024-05/remind/xuanchuanzhou/units"]
    on_wire = asyncio.Event()
    answer = asyncio.Event()
    channel = MemoryChannel()

    async def slow_network(target: Target) -> None:
        if target.id == job.targets[0].id:
            on_wire.set()
            await answer.wait()

    channel.on_wire = slow_network
    pipeline = pipeline_for(loaded, store, channel, "first")

    async def scenario() -> None:
        task = asyncio.create_task(pipeline.run_job(job))
        await on_wire.wait()
        stopping = asyncio.create_task(pipeline.stop(30))
        await asyncio.sleep(0)
        assert not stopping.done()  # still waiting for the answer
        answer.set()
        await stopping
        await task

    asyncio.run(scenario())
    record = store.get(job.key, job.targets[0].id)
    assert record is not None and record.status is DeliveryStatus.SENT
    assert [m.target.id for m in channel.sent] == [job.targets[0].id]  # and nothing more after the stop


def test_an_unmapped_error_before_the_wire_is_retried_and_after_it_is_unconfirmed_while_the_job_goes_on(
    loaded: LoadedCampaign, store: MemoryStore
) -> None:
    job = loaded.plan.by_key()["2024-05/remind/xuanchuanzhou/units"]
    lookups_refused = {job.targets[1].id: 1}  # the gateway refuses the room look-up once
    broken_after = job.targets[2].id  # the connection drops after the message was written

    async def lookup(target: Target) -> None:
        if lookups_refused.get(target.id, 0) > 0:
            lookups_refused[target.id] -= 1
            raise ConnectionRefusedError(111, "Connection refused")

    async def network(target: Target) -> None:
        if target.id == broken_after:
            raise ConnectionResetError(104, "Connection reset by peer")

    channel = MemoryChannel(before_wire=lookup, on_wire=network)
    outcomes = asyncio.run(pipeline_for(loaded, store, channel, "first").run_job(job))
    status = {o.target: o.status for o in outcomes}
    assert status[job.targets[1].id] is DeliveryStatus.SENT
    assert status[broken_after] is DeliveryStatus.UNCONFIRMED
    assert all(status[t.id] is DeliveryStatus.SENT for t in job.targets if t.id != broken_after)
    assert [m.target.id for m in channel.sent if m.target.id not in ADMINS].count(job.targets[1].id) == 1
    told = [m.text for m in channel.sent if m.target.id in ADMINS]
    assert len(told) == 2 and all("无法确认" in t for t in told)


def test_admins_that_cant_be_reached_never_end_the_job(loaded: LoadedCampaign, store: MemoryStore) -> None:
    job = loaded.plan.by_key()["2024-05/remind/xuanchuanzhou/units"]
    broken = job.targets[0].id

    async def network(target: Target) -> None:
        if target.id == broken:
            raise ConnectionResetError(104, "Connection reset by peer")

    async def dead_gateway(target: Target) -> None:
        if target.id in ADMINS:  # the alert's look-ups hit the dead connection
            raise ConnectionRefusedError(111, "Connection refused")

    channel = MemoryChannel(before_wire=dead_gateway, on_wire=network)
    outcomes = asyncio.run(pipeline_for(loaded, store, channel, "first").run_job(job))
    assert len(outcomes) == len(job.targets)
    assert {o.target for o in outcomes if o.status is DeliveryStatus.SENT} == {t.id for t in job.targets[1:]}
    for admin in ADMINS:  # the alert failed, and says so in the record (never "possibly sent")
        [record] = [r for r in store.deliveries() if r.target == admin]
        assert record.status is DeliveryStatus.FAILED


def test_recover_decides_only_stopped_runners_claims(loaded: LoadedCampaign, store: MemoryStore) -> None:
    job = loaded.plan.by_key()["2024-05/announce"]
    wall = datetime.now(UTC)
    store.heartbeat("live", wall)
    store.heartbeat("silent", wall - timedelta(minutes=5))
    t = [x.id for x in job.targets]
    live = store.claim(job.key, t[0], job.at, job.at, "live")
    silent_waiting = store.claim(job.key, t[1], job.at, job.at, "silent")
    silent_handed = store.claim(job.key, t[2], job.at, job.at, "silent")
    never_beat = store.claim(job.key, t[3], job.at, job.at, "no-heartbeat")
    mine = store.claim(job.key, t[4], job.at, job.at, "me")
    assert live and silent_waiting and silent_handed and never_beat and mine
    store.mark_handed(silent_handed, job.at)

    found = recover(store, "me", wall, job.at)
    assert sorted(r.target for r in found.released) == sorted([t[1], t[3]])
    assert [r.target for r in found.unconfirmed] == [t[2]]
    status = {r.target: r.status for r in store.deliveries()}
    assert (status[t[0]], status[t[4]]) == (DeliveryStatus.SENDING, DeliveryStatus.SENDING)
    assert status[t[2]] is DeliveryStatus.UNCONFIRMED
    # A second runner sweeping at the same time finds nothing more to decide.
    again = recover(store, "other", wall, job.at)
    assert again.released == () and again.unconfirmed == ()
    # A released delivery is claimable again; a handed one is not.
    assert store.claim(job.key, t[1], job.at, job.at, "next") is not None
    assert store.claim(job.key, t[2], job.at, job.at, "next") is None
