"""The two questions that keep a rehearsal off the daemon's database: has the daemon run here, and what is recorded
for a time still to come."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import TOWN_ZONE
from bot.store.ahead import daemon_started, recorded_ahead
from bot.store.base import DeliveryStatus
from bot.store.sql import SqlStore

NOW = datetime(2024, 5, 19, 9, 59, tzinfo=TOWN_ZONE)


def test_the_daemons_first_start_is_known_and_a_new_database_has_none(store: SqlStore) -> None:
    assert daemon_started(store, "jinxi") is None
    store.service_started_at("jinxi", NOW)
    assert daemon_started(store, "jinxi") == NOW
    assert daemon_started(store, "shuanghe") is None


def test_only_outcomes_recorded_for_a_later_time_count(store: SqlStore) -> None:
    later, much_later = NOW + timedelta(minutes=1), NOW + timedelta(days=3)
    for key, target, at in (("a", "changchun-work", much_later), ("b", "pingxi-work", NOW - timedelta(hours=1))):
        sent = store.claim(f"2024-05/remind/{key}", target, at, NOW, "runner")
        assert sent is not None
        store.mark_sent(sent, NOW, "outbox:1")
    store.settle("2024-05/remind/a", "pingxi-work", DeliveryStatus.SKIPPED, later, NOW, "已交材料")
    claim = store.claim("2024-05/remind/c", "shanba-work", much_later, NOW, "runner")  # on its way: not an outcome
    assert claim is not None
    ahead = recorded_ahead(store, NOW)
    assert (ahead.count, ahead.first) == (2, later)
    assert recorded_ahead(store, much_later).count == 0
