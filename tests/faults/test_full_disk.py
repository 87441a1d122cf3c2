"""A full disk under the outbox: the admins are told once per episode (from the first failed write until a write
succeeds again), not once per failed message; every message of the episode is still recorded FAILED, and the next
episode is told again. The disk is made full as in tests/channels/test_outbox.py (/dev/full under mkstemp)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bot.channels.outbox import OutboxChannel
from bot.clock import VirtualClock
from bot.config.campaign import LoadedCampaign
from bot.core.planner import admin_targets
from bot.pipeline import Pipeline, RetryPolicy
from bot.store.base import DeliveryStatus
from bot.store.sql import SqlStore
from tests.channels.test_outbox import fill_the_disk


def alert_keys(store: SqlStore) -> list[str]:
    """The keys of the alerts the pipeline tried to send to the admins (one record per admin and key)."""
    return sorted({r.job_key for r in store.deliveries() if r.job_key.startswith("alert/")})


def test_a_full_disk_is_told_to_the_admins_once_per_episode(
    loaded: LoadedCampaign, store: SqlStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = loaded.plan.by_key()
    first, second, third = plan["2024-05/announce"], plan["2024-05/summary"], plan["2024-06/announce"]
    clock = VirtualClock(first.at)
    channel = OutboxChannel(tmp_path / "outbox", clock.now, io.StringIO())

    async def no_wait(seconds: float) -> None:
        pass

    pipeline = Pipeline(lambda: loaded, store, channel, clock, "test-runner", RetryPolicy(3, 2.0), no_wait)
    admins = {a.id for a in admin_targets(loaded.campaign)}
    assert admins

    fill_the_disk(monkeypatch)
    outcomes = asyncio.run(pipeline.run_job(first))
    assert len(outcomes) == len(first.targets) > 2
    assert {o.status for o in outcomes} == {DeliveryStatus.FAILED}  # each failure recorded, none skipped
    [episode] = alert_keys(store)  # one alert for the whole job, not one per group
    assert episode.startswith("alert/episode/disk-full/")
    told = [r for r in store.deliveries(frozenset({episode}))]
    assert {r.target for r in told} == admins  # each admin once (the alert itself hit the full disk too)

    monkeypatch.undo()  # room again: the episode ends with the first write that succeeds
    clock.set(second.at)
    assert [o.status for o in asyncio.run(pipeline.run_job(second))] == [DeliveryStatus.SENT]
    assert alert_keys(store) == [episode]

    fill_the_disk(monkeypatch)  # full again: a new episode, told again, once
    clock.set(third.at)
    assert {o.status for o in asyncio.run(pipeline.run_job(third))} == {DeliveryStatus.FAILED}
    keys = alert_keys(store)
    assert len(keys) == 2 and episode in keys
    assert all(k.startswith("alert/episode/disk-full/") for k in keys)
