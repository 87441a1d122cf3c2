"""The `Store` contract, run against every backend: `memory`, `sqlite` and `postgres` (the `store` fixture below);
the tests at the end that reopen a database or compare its schema are for the SQL backend only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.store import Claim, DeliveryStatus, Store
from bot.store.memory import MemoryStore
from bot.store.sql import open_store

ZONE = ZoneInfo("Asia/Shanghai")  # the zone the `store` fixture was opened with

T0 = datetime(2024, 5, 20, 9, 0, tzinfo=ZONE)
RUNNER = "runner-a"
OTHER = "runner-b"


def _claim(store: Store, job_key: str = "job", target: str = "unit-1", runner: str = RUNNER) -> Claim:
    claim = store.claim(job_key, target, T0, T0, runner)
    assert claim is not None
    return claim


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store of each backend, opened in ZONE (overrides the SQL-only `store` of conftest)."""
    if request.param == "memory":
        yield MemoryStore(ZONE)
        return
    url = (
        request.getfixturevalue("postgres_schema_url")
        if request.param == "postgres"
        else f"sqlite:///{tmp_path / 'laba.db'}"
    )
    with open_store(url, ZONE) as sql:
        yield sql


def test_claim_then_mark_sent(store: Store) -> None:
    claim = store.claim("job", "unit-1", T0, T0 + timedelta(seconds=1), RUNNER)
    assert claim == Claim(job_key="job", target="unit-1", runner=RUNNER, attempt=1)
    record = store.get("job", "unit-1")
    assert record is not None
    assert (record.status, record.attempts, record.runner) == (DeliveryStatus.SENDING, 1, RUNNER)

    store.mark_sent(claim, T0 + timedelta(seconds=2), "msg-42")

    record = store.get("job", "unit-1")
    assert record is not None
    assert record.status is DeliveryStatus.SENT
    assert record.detail == "msg-42"
    assert record.scheduled_at == T0
    assert record.updated_at == T0 + timedelta(seconds=2)


def test_get_unknown_pair_is_none(store: Store) -> None:
    assert store.get("job", "nobody") is None


def test_second_claim_of_same_pair_is_refused(store: Store) -> None:
    claim = _claim(store)
    assert store.claim("job", "unit-1", T0, T0, OTHER) is None
    assert store.claim("job", "unit-1", T0, T0, RUNNER) is None
    store.mark_sent(claim, T0)
    assert store.claim("job", "unit-1", T0, T0, OTHER) is None
    # Other pairs are independent.
    assert store.claim("job", "unit-2", T0, T0, OTHER) is not None
    assert store.claim("job-2", "unit-1", T0, T0, OTHER) is not None


def test_claim_after_failure_is_a_retry(store: Store) -> None:
    first = _claim(store)
    store.mark_failed(first, T0 + timedelta(minutes=1), "channel down")
    failed = store.get("job", "unit-1")
    assert failed is not None
    assert (failed.status, failed.detail) == (DeliveryStatus.FAILED, "channel down")

    retry = store.claim("job", "unit-1", T0, T0 + timedelta(minutes=5), OTHER)
    assert retry == Claim(job_key="job", target="unit-1", runner=OTHER, attempt=2)
    assert store.claim("job", "unit-1", T0, T0 + timedelta(minutes=5), RUNNER) is None
    store.mark_sent(retry, T0 + timedelta(minutes=6), "msg")

    record = store.get("job", "unit-1")
    assert record is not None
    assert (record.status, record.attempts, record.runner, record.detail) == (
        DeliveryStatus.SENT,
        2,
        OTHER,
        "msg",
    )


def test_an_unconfirmed_send_is_never_claimed_again(store: Store) -> None:
    claim = store.claim("job", "group", T0, T0, "runner-a")
    assert claim is not None
    store.mark_unconfirmed(claim, T0 + timedelta(seconds=3), "connection broke mid-send")

    assert store.claim("job", "group", T0, T0 + timedelta(hours=1), "runner-b") is None
    record = store.get("job", "group")
    assert record is not None and record.status is DeliveryStatus.UNCONFIRMED
    assert record.detail == "connection broke mid-send" and record.runner == "runner-a"


def test_marking_a_claim_someone_else_holds_raises(store: Store) -> None:
    first = _claim(store)
    store.mark_failed(first, T0, "boom")
    second = _claim(store, runner=OTHER)

    with pytest.raises(RuntimeError, match="no longer SENDING"):
        store.mark_sent(first, T0)
    with pytest.raises(RuntimeError, match="no longer SENDING"):
        store.mark_failed(first, T0, "late")
    forged = Claim(job_key="job", target="unit-1", runner=RUNNER, attempt=second.attempt)
    with pytest.raises(RuntimeError):
        store.mark_sent(forged, T0)

    record = store.get("job", "unit-1")
    assert record is not None
    assert (record.status, record.runner, record.attempts) == (DeliveryStatus.SENDING, OTHER, 2)


def test_marking_twice_raises(store: Store) -> None:
    claim = _claim(store)
    store.mark_sent(claim, T0, "msg")
    with pytest.raises(RuntimeError):
        store.mark_sent(claim, T0, "again")
    with pytest.raises(RuntimeError):
        store.mark_failed(claim, T0, "too late")
    record = store.get("job", "unit-1")
    assert record is not None
    assert (record.status, record.detail) == (DeliveryStatus.SENT, "msg")


def test_marking_an_unknown_claim_raises(store: Store) -> None:
    with pytest.raises(RuntimeError, match="no record"):
        store.mark_sent(Claim(job_key="job", target="ghost", runner=RUNNER, attempt=1), T0)


@pytest.mark.parametrize("status", [DeliveryStatus.MISSED, DeliveryStatus.SKIPPED])
def test_settle_records_only_when_no_record(store: Store, status: DeliveryStatus) -> None:
    assert store.settle("job", "unit-1", status, T0, T0 + timedelta(hours=2), "reason")
    record = store.get("job", "unit-1")
    assert record is not None
    assert (record.status, record.detail, record.attempts) == (status, "reason", 0)
    assert record.scheduled_at == T0
    assert record.updated_at == T0 + timedelta(hours=2)

    # Settled pairs are final: not claimable, not settled again.
    assert store.claim("job", "unit-1", T0, T0, RUNNER) is None
    assert not store.settle("job", "unit-1", DeliveryStatus.SKIPPED, T0, T0, "other reason")
    assert store.get("job", "unit-1") == record


@pytest.mark.parametrize("outcome", ["sending", "sent", "failed"])
def test_settle_on_existing_record_changes_nothing(store: Store, outcome: str) -> None:
    claim = _claim(store)
    if outcome == "sent":
        store.mark_sent(claim, T0, "msg")
    elif outcome == "failed":
        store.mark_failed(claim, T0, "boom")
    before = store.get("job", "unit-1")

    assert not store.settle("job", "unit-1", DeliveryStatus.MISSED, T0, T0 + timedelta(days=1), "late")
    assert store.get("job", "unit-1") == before


@pytest.mark.parametrize("status", [DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.FAILED])
def test_settle_refuses_other_statuses(store: Store, status: DeliveryStatus) -> None:
    with pytest.raises(ValueError, match="MISSED or SKIPPED"):
        store.settle("job", "unit-1", status, T0, T0, "")
    assert store.get("job", "unit-1") is None


def test_deliveries_ordering_and_filter(store: Store) -> None:
    later = T0 + timedelta(hours=1)
    # Inserted out of order; expected order is (scheduled_at, job_key, target).
    store.claim("b-job", "unit-2", later, T0, RUNNER)
    store.claim("b-job", "unit-1", later, T0, RUNNER)
    store.settle("a-job", "unit-9", DeliveryStatus.SKIPPED, later, T0, "proof in")
    store.claim("z-job", "unit-1", T0, T0, RUNNER)
    store.claim("c-job", "unit-1", T0 - timedelta(days=1), T0, RUNNER)

    keys = [(r.job_key, r.target) for r in store.deliveries()]
    assert keys == [
        ("c-job", "unit-1"),
        ("z-job", "unit-1"),
        ("a-job", "unit-9"),
        ("b-job", "unit-1"),
        ("b-job", "unit-2"),
    ]
    filtered = [(r.job_key, r.target) for r in store.deliveries(frozenset({"b-job", "c-job", "unknown"}))]
    assert filtered == [("c-job", "unit-1"), ("b-job", "unit-1"), ("b-job", "unit-2")]
    assert store.deliveries(frozenset()) == []
    assert store.deliveries(frozenset({"unknown"})) == []


def test_ordering_is_by_instant_not_by_local_text(store: Store) -> None:
    # 09:00 in Shanghai is earlier than 02:00 UTC the same day; a backend comparing wall-clock text would not
    # know that.
    store.settle("late", "u", DeliveryStatus.MISSED, datetime(2024, 5, 20, 2, 0, tzinfo=UTC), T0, "")
    store.settle("early", "u", DeliveryStatus.MISSED, T0, T0, "")
    assert [r.job_key for r in store.deliveries()] == ["early", "late"]


def test_datetimes_come_back_aware_in_the_store_zone(store: Store) -> None:
    scheduled = datetime(2024, 12, 31, 23, 59, 59, 123456, tzinfo=UTC)  # already 1 January in Shanghai
    now = datetime(2025, 1, 1, 1, 2, 3, 654321, tzinfo=timezone(timedelta(hours=-5)))
    claim = store.claim("job", "unit-1", scheduled, now, RUNNER)
    assert claim is not None
    started = store.service_started_at("jinxi", now)

    record = store.get("job", "unit-1")
    assert record is not None
    for value, expected in ((record.scheduled_at, scheduled), (record.updated_at, now), (started, now)):
        assert value.tzinfo is ZONE
        assert value == expected
        assert value.utcoffset() == timedelta(hours=8)
    assert (record.scheduled_at.year, record.scheduled_at.month, record.scheduled_at.day) == (2025, 1, 1)
    assert [r.scheduled_at for r in store.deliveries()] == [scheduled]


def test_naive_datetimes_are_refused(store: Store) -> None:
    naive = datetime(2024, 5, 20, 9, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        store.claim("job", "unit-1", naive, T0, RUNNER)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.claim("job", "unit-1", T0, naive, RUNNER)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.settle("job", "unit-1", DeliveryStatus.MISSED, naive, T0, "")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.stale_claims(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.resolve_stale("job", "unit-1", naive, "")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.service_started_at("jinxi", naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_proof("act", "unit-1", naive)
    assert store.deliveries() == []

    claim = _claim(store)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.mark_sent(claim, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.mark_failed(claim, naive, "boom")
    record = store.get("job", "unit-1")
    assert record is not None
    assert record.status is DeliveryStatus.SENDING


def test_stale_claims_and_resolution(store: Store) -> None:
    old = _claim(store, "job", "unit-old")
    recent = store.claim("job", "unit-recent", T0, T0 + timedelta(minutes=30), RUNNER)
    assert recent is not None
    done = _claim(store, "job", "unit-done")
    store.mark_sent(done, T0)
    store.mark_failed(_claim(store, "job", "unit-failed"), T0, "boom")

    cutoff = T0 + timedelta(minutes=10)
    assert [(r.target, r.status) for r in store.stale_claims(cutoff)] == [("unit-old", DeliveryStatus.SENDING)]
    assert store.stale_claims(T0) == []  # strictly older than

    assert store.resolve_stale("job", "unit-old", cutoff, "runner died; maybe sent")
    assert not store.resolve_stale("job", "unit-old", cutoff, "again")
    assert not store.resolve_stale("job", "unit-done", cutoff, "not stale")
    assert not store.resolve_stale("job", "unit-failed", cutoff, "not stale")
    assert not store.resolve_stale("job", "nobody", cutoff, "no record")
    assert store.stale_claims(cutoff) == []

    record = store.get("job", "unit-old")
    assert record is not None
    assert (record.status, record.detail, record.updated_at) == (
        DeliveryStatus.UNCONFIRMED,
        "runner died; maybe sent",
        cutoff,
    )
    # UNCONFIRMED is final: never claimed again, and the original runner can no longer confirm it.
    assert store.claim("job", "unit-old", T0, cutoff + timedelta(days=1), OTHER) is None
    assert not store.settle("job", "unit-old", DeliveryStatus.MISSED, T0, cutoff, "")
    with pytest.raises(RuntimeError):
        store.mark_sent(old, cutoff)
    assert store.get("job", "unit-old") == record


def test_service_started_at_is_recorded_once(store: Store) -> None:
    first = store.service_started_at("jinxi", T0)
    assert first == T0
    assert store.service_started_at("jinxi", T0 + timedelta(days=3)) == T0
    assert store.service_started_at("other-town", T0 + timedelta(days=3)) == T0 + timedelta(days=3)


def test_proofs(store: Store) -> None:
    assert store.units_with_proof("act-1") == frozenset()
    store.record_proof("act-1", "unit-1", T0, "photo 1")
    store.record_proof("act-1", "unit-1", T0 + timedelta(minutes=1))
    store.record_proof("act-1", "unit-2", T0)
    store.record_proof("act-2", "unit-3", T0)
    assert store.units_with_proof("act-1") == frozenset({"unit-1", "unit-2"})
    assert store.units_with_proof("act-2") == frozenset({"unit-3"})
    assert store.units_with_proof("act-3") == frozenset()


def test_deferred_alerts_are_kept_oldest_first_until_forgotten(store: Store) -> None:
    held = store.deferred_alerts
    assert held.deferred() == []
    assert held.defer("alert/b", "alert_failed", '{"n": 1}', T0 + timedelta(minutes=1))
    assert held.defer("alert/a", "alert_missed", "{}", T0 + timedelta(minutes=1))
    assert held.defer("alert/c", "alert_plan_error", "{}", T0)

    kept = held.deferred()
    assert [a.key for a in kept] == ["alert/c", "alert/a", "alert/b"]  # by time, then key
    assert (kept[2].template, kept[2].variables) == ("alert_failed", '{"n": 1}')
    assert kept[0].deferred_at == T0
    assert kept[0].deferred_at.utcoffset() == timedelta(hours=8)  # in the store's zone

    held.forget("alert/a")
    held.forget("alert/a")  # forgetting twice is harmless
    held.forget("never-kept")
    assert [a.key for a in held.deferred()] == ["alert/c", "alert/b"]


def test_a_deferred_alert_key_is_kept_once_first_wins(store: Store) -> None:
    held = store.deferred_alerts
    assert held.defer("alert/x", "alert_failed", '{"first": true}', T0)
    assert not held.defer("alert/x", "alert_failed", '{"second": true}', T0 + timedelta(hours=1))
    [kept] = held.deferred()
    assert (kept.variables, kept.deferred_at) == ('{"first": true}', T0)
    held.forget("alert/x")
    assert held.defer("alert/x", "alert_failed", "{}", T0 + timedelta(hours=2))  # told, then a new one


def test_deferring_with_a_naive_time_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="now"):
        store.deferred_alerts.defer("alert/x", "alert_failed", "{}", datetime(2024, 5, 20, 9))  # noqa: DTZ001
    assert store.deferred_alerts.deferred() == []


def test_deferred_alerts_survive_reopening(store_url: str) -> None:
    with open_store(store_url, ZONE) as first:
        first.deferred_alerts.defer("alert/x", "alert_failed", '{"n": 1}', T0)
    with open_store(store_url, ZONE) as second:
        [kept] = second.deferred_alerts.deferred()
        assert (kept.key, kept.template, kept.variables) == ("alert/x", "alert_failed", '{"n": 1}')
        assert kept.deferred_at == T0


def test_reopening_keeps_data(store_url: str) -> None:
    with open_store(store_url, ZONE) as first:
        claim = _claim(first)
        first.mark_sent(claim, T0, "msg")
        first.service_started_at("jinxi", T0)
        first.record_proof("act", "unit-1", T0)

    # Migrating again must be a no-op, whether or not another store is still open on the database.
    with open_store(store_url, ZONE) as second, open_store(store_url, ZONE) as third:
        record = second.get("job", "unit-1")
        assert record is not None
        assert (record.status, record.detail) == (DeliveryStatus.SENT, "msg")
        assert third.claim("job", "unit-1", T0, T0, OTHER) is None
        assert third.service_started_at("jinxi", T0 + timedelta(days=1)) == T0
        assert third.units_with_proof("act") == frozenset({"unit-1"})


def test_store_zone_only_affects_presentation(store_url: str) -> None:
    with open_store(store_url, ZONE) as shanghai:
        shanghai.settle("job", "unit-1", DeliveryStatus.MISSED, T0, T0, "")
    with open_store(store_url, UTC) as utc:
        record = utc.get("job", "unit-1")
    assert record is not None
    assert record.scheduled_at.tzinfo is UTC
    assert record.scheduled_at == T0


def test_the_migrations_produce_exactly_the_schema_the_code_queries(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.store.rooms
    import bot.store.sorting
    from bot.store.migrate import run_migrations
    from bot.store.schema import evidence, metadata
    from bot.store.sql import SqlStore

    assert {"deliveries", "rooms", "evidence", "sorting_questions"} <= set(metadata.tables)
    assert bot.store.rooms.rooms.metadata is metadata is evidence.metadata
    # Through Alembic: `open_store` makes a new database from `metadata` itself (see tests/store/test_migrate.py).
    with SqlStore(store_url, ZONE) as store, store.engine.connect() as conn:
        with conn.begin():
            run_migrations(conn)
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
