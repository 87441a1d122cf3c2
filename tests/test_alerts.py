"""Alerts to the admins held over quiet hours: kept in the store, so a restart in the night loses none, and told
once after it, never twice (not even when the runner stopped between telling and forgetting)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.channels.memory import MemoryChannel
from bot.clock import TOWN_ZONE, VirtualClock
from bot.config.campaign import LoadedCampaign
from bot.core.alert_kinds import FAILED, MISSED, Alert
from bot.pipeline import Pipeline
from bot.store.sql import SqlStore, open_store
from tests.helpers import no_sleep

NIGHT = datetime(2024, 5, 6, 23, 0, tzinfo=TOWN_ZONE)  # in 金溪's quiet hours
MORNING = datetime(2024, 5, 7, 8, 0, tzinfo=TOWN_ZONE)
ADMINS = ["admin-ran", "admin-tan"]


def _run(store: SqlStore, loaded: LoadedCampaign, at: datetime, *alerts: Alert, flush: bool = False) -> MemoryChannel:
    """One run of the daemon's pipeline at `at` (a fresh process: nothing in memory from the runs before)."""
    channel = MemoryChannel()
    pipeline = Pipeline(lambda: loaded, store, channel, VirtualClock(at), f"runner-{at:%H%M}", sleep=no_sleep)

    async def go() -> None:
        for alert in alerts:
            await pipeline.alert(alert)
        if flush:
            await pipeline.flush_alerts()

    asyncio.run(go())
    return channel


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'laba.db'}"


def _failed(key: str = "alert/failed/x") -> Alert:
    return FAILED(key, attempts=3, label="5月活动提醒：示例", target="太平村", error="网关拒绝连接")


# `_failed()`'s variables as the store keeps them (JSON).
FAILED_VARIABLES = '{"attempts": 3, "error": "网关拒绝连接", "label": "5月活动提醒：示例", "target": "太平村"}'


def test_an_alert_deferred_at_night_is_told_after_a_restart_once(loaded: LoadedCampaign, url: str) -> None:
    with open_store(url, TOWN_ZONE) as store:
        night = _run(store, loaded, NIGHT, _failed(), flush=True)  # flushing in quiet hours sends nothing
        assert night.sent == []
        assert [a.key for a in store.deferred_alerts.deferred()] == ["alert/failed/x"]

    with open_store(url, TOWN_ZONE) as store:  # the daemon restarted during the night
        morning = _run(store, loaded, MORNING, flush=True)
        assert sorted(m.target.id for m in morning.sent) == ADMINS
        assert "太平村" in morning.sent[0].text
        assert store.deferred_alerts.deferred() == []

    with open_store(url, TOWN_ZONE) as store:
        assert _run(store, loaded, MORNING + timedelta(minutes=5), flush=True).sent == []


def test_an_alert_told_but_not_forgotten_is_not_told_twice(loaded: LoadedCampaign, url: str) -> None:
    with open_store(url, TOWN_ZONE) as store:
        _run(store, loaded, NIGHT, _failed())
        assert len(_run(store, loaded, MORNING, flush=True).sent) == 2
        # As if the runner had stopped after telling the admins and before forgetting the kept alert.
        store.deferred_alerts.defer("alert/failed/x", "alert_failed", FAILED_VARIABLES, NIGHT)
        assert _run(store, loaded, MORNING + timedelta(minutes=1), flush=True).sent == []
        assert store.deferred_alerts.deferred() == []


def test_a_kept_alert_keeps_its_instants(loaded: LoadedCampaign, url: str) -> None:
    at = datetime(2024, 5, 6, 22, 30, tzinfo=TOWN_ZONE)
    rows = [{"at": at, "label": "5月活动提醒：示例", "targets": 1, "names": ["太平村"]}]
    missed = MISSED("alert/missed/x", jobs=rows, grace_minutes=60)
    with open_store(url, TOWN_ZONE) as store:
        straight = _run(
            store, loaded, MORNING + timedelta(hours=2), MISSED("alert/missed/y", jobs=rows, grace_minutes=60)
        )
        _run(store, loaded, NIGHT, missed)
        kept = _run(store, loaded, MORNING, flush=True)
    assert len(kept.sent) == 2
    assert "5月6日（周一）晚上10点30分" in kept.sent[0].text
    assert [m.text for m in kept.sent] == [m.text for m in straight.sent]


def test_a_kept_alert_this_version_no_longer_knows_is_dropped(loaded: LoadedCampaign, url: str) -> None:
    with open_store(url, TOWN_ZONE) as store:
        store.deferred_alerts.defer("alert/old", "alert_retired", "{}", NIGHT)
        store.deferred_alerts.defer("alert/wrong", "alert_failed", '{"renamed": 1}', NIGHT)
        _run(store, loaded, NIGHT, _failed())
        told = _run(store, loaded, MORNING, flush=True)
        assert sorted(m.target.id for m in told.sent) == ADMINS  # the one it knows still goes out
        assert store.deferred_alerts.deferred() == []
