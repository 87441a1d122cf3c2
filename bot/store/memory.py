"""`Store` in process memory, for unit tests of the pipeline that need no database file (APScheduler's
`MemoryDataStore` pattern). It passes the same contract suite as `SqlStore` (tests/store/test_contract.py).

Exactly-once holds within one process only: a lock makes every call atomic, as a transaction does in `SqlStore`,
but nothing is shared with another process and nothing survives a restart. `units_with_proof` counts the
`record_proof` records only: the evidence ledger (photos) lives in SQL tables.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, tzinfo

from bot.store.base import Claim, DeferredAlert, DeliveryRecord, DeliveryStatus, InFlight, Snapshot
from bot.store.outcomes import CLAIMABLE, ClaimOutcomes, aware_utc, check_release, check_settle, taken_over


def _order(record: DeliveryRecord) -> tuple[datetime, str, str]:
    return (record.scheduled_at, record.job_key, record.target)


class MemoryStore(ClaimOutcomes):
    """`Store` on dictionaries. Records are kept in UTC and returned in `zone`; naive datetimes are refused
    (ValueError) before anything changes. Safe for several threads of one process."""

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        self._lock = threading.Lock()
        self._deliveries: dict[tuple[str, str], DeliveryRecord] = {}
        self._runners: dict[str, datetime] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._started: dict[str, datetime] = {}
        self._proofs: list[tuple[str, str, datetime, str]] = []
        self.deferred_alerts = MemoryDeferredAlerts(zone)

    @property
    def zone(self) -> tzinfo:
        return self._zone

    # -- deliveries ------------------------------------------------------------------------------------------

    def claim(self, job_key: str, target: str, scheduled_at: datetime, now: datetime, runner: str) -> Claim | None:
        scheduled_utc = aware_utc(scheduled_at, "scheduled_at")
        now_utc = aware_utc(now, "now")
        if not runner:
            raise ValueError("runner must name the claiming runner")
        key = (job_key, target)
        with self._lock:
            found = self._deliveries.get(key)
            if found is None:
                record = DeliveryRecord(job_key, target, DeliveryStatus.SENDING, scheduled_utc, now_utc, 1, runner, "")
            elif found.status in CLAIMABLE:
                record = replace(
                    found,
                    status=DeliveryStatus.SENDING,
                    updated_at=now_utc,
                    attempts=found.attempts + 1,
                    runner=runner,
                    detail="",
                    handed_at=None,
                )
            else:
                return None
            self._deliveries[key] = record
            return Claim(job_key=job_key, target=target, runner=runner, attempt=record.attempts)

    def _update_claim(
        self, claim: Claim, status: DeliveryStatus, change: Callable[[DeliveryRecord], DeliveryRecord]
    ) -> None:
        """Change the claim's own SENDING record; ExactlyOnceViolation (a RuntimeError) if it is no longer that."""
        key = (claim.job_key, claim.target)
        with self._lock:
            found = self._deliveries.get(key)
            if (
                found is not None
                and found.status is DeliveryStatus.SENDING
                and (found.runner, found.attempts) == (claim.runner, claim.attempt)
            ):
                self._deliveries[key] = change(found)
                return
        current = "no record" if found is None else repr(self._local(found))
        raise taken_over(claim, status, current)

    def _finish(self, claim: Claim, status: DeliveryStatus, now: datetime, detail: str) -> None:
        now_utc = aware_utc(now, "now")
        self._update_claim(claim, status, lambda r: replace(r, status=status, updated_at=now_utc, detail=detail))

    def mark_handed(self, claim: Claim, now: datetime | None) -> None:
        handed = None if now is None else aware_utc(now, "now")
        self._update_claim(claim, DeliveryStatus.SENDING, lambda r: replace(r, handed_at=handed))

    def settle(
        self, job_key: str, target: str, status: DeliveryStatus, scheduled_at: datetime, now: datetime, detail: str
    ) -> bool:
        check_settle(status)
        scheduled_utc = aware_utc(scheduled_at, "scheduled_at")
        now_utc = aware_utc(now, "now")
        key = (job_key, target)
        with self._lock:
            found = self._deliveries.get(key)
            if found is None:
                self._deliveries[key] = DeliveryRecord(job_key, target, status, scheduled_utc, now_utc, 0, "", detail)
                return True
            # A RELEASED record never left: it may still be settled (e.g. MISSED when its time is past the grace).
            if found.status is DeliveryStatus.RELEASED:
                self._deliveries[key] = replace(found, status=status, updated_at=now_utc, detail=detail)
                return True
            return False

    def _local(self, record: DeliveryRecord) -> DeliveryRecord:
        return replace(
            record,
            scheduled_at=record.scheduled_at.astimezone(self._zone),
            updated_at=record.updated_at.astimezone(self._zone),
            handed_at=None if record.handed_at is None else record.handed_at.astimezone(self._zone),
        )

    def get(self, job_key: str, target: str) -> DeliveryRecord | None:
        with self._lock:
            found = self._deliveries.get((job_key, target))
        return None if found is None else self._local(found)

    def _select(self, keep: frozenset[DeliveryStatus] | None = None) -> list[DeliveryRecord]:
        with self._lock:
            records = [r for r in self._deliveries.values() if keep is None or r.status in keep]
        return sorted(records, key=_order)

    def deliveries(self, job_keys: frozenset[str] | None = None) -> list[DeliveryRecord]:
        return [self._local(r) for r in self._select() if job_keys is None or r.job_key in job_keys]

    def stale_claims(self, older_than: datetime) -> list[DeliveryRecord]:
        limit = aware_utc(older_than, "older_than")
        sending = self._select(frozenset({DeliveryStatus.SENDING}))
        return [self._local(r) for r in sending if r.updated_at < limit]

    def resolve_stale(self, job_key: str, target: str, now: datetime, detail: str) -> bool:
        now_utc = aware_utc(now, "now")
        key = (job_key, target)
        with self._lock:
            found = self._deliveries.get(key)
            if found is None or found.status is not DeliveryStatus.SENDING:
                return False
            self._deliveries[key] = replace(found, status=DeliveryStatus.UNCONFIRMED, updated_at=now_utc, detail=detail)
            return True

    def heartbeat(self, runner: str, now: datetime) -> None:
        now_utc = aware_utc(now, "now")
        with self._lock:
            self._runners[runner] = now_utc

    def in_flight(self) -> list[InFlight]:
        sending = self._select(frozenset({DeliveryStatus.SENDING}))
        with self._lock:
            seen = dict(self._runners)
        return [
            InFlight(self._local(r), None if r.runner not in seen else seen[r.runner].astimezone(self._zone))
            for r in sending
        ]

    def release(
        self, job_key: str, target: str, runner: str, now: datetime, status: DeliveryStatus, detail: str
    ) -> bool:
        check_release(status)
        now_utc = aware_utc(now, "now")
        key = (job_key, target)
        with self._lock:
            found = self._deliveries.get(key)
            if (
                found is None
                or found.status is not DeliveryStatus.SENDING
                or found.runner != runner
                or found.handed_at is not None
            ):
                return False
            self._deliveries[key] = replace(found, status=status, updated_at=now_utc, detail=detail)
            return True

    # -- plan snapshots, service state and proofs ------------------------------------------------------------

    def save_snapshot(self, town_key: str, files: Mapping[str, str], now: datetime) -> None:
        snapshot = Snapshot(dict(files), aware_utc(now, "now"))
        with self._lock:
            self._snapshots[town_key] = snapshot

    def snapshot(self, town_key: str) -> Snapshot | None:
        with self._lock:
            found = self._snapshots.get(town_key)
        return None if found is None else Snapshot(dict(found.files), found.saved_at.astimezone(self._zone))

    def service_started_at(self, town_id: str, now: datetime) -> datetime:
        now_utc = aware_utc(now, "now")
        with self._lock:
            started = self._started.setdefault(town_id, now_utc)
        return started.astimezone(self._zone)

    def record_proof(self, activity_id: str, unit_id: str, received_at: datetime, note: str = "") -> None:
        received_utc = aware_utc(received_at, "received_at")
        with self._lock:
            self._proofs.append((activity_id, unit_id, received_utc, note))

    def units_with_proof(self, activity_id: str, min_photos: int = 1) -> frozenset[str]:
        with self._lock:
            return frozenset(unit for activity, unit, _, _ in self._proofs if activity == activity_id)

    def close(self) -> None:
        """Nothing to release; the records stay readable (unlike `SqlStore`, nothing is disposed)."""


class MemoryDeferredAlerts:
    """`DeferredAlerts` on a dictionary (kept in UTC, returned in `zone`); safe for several threads of one process."""

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        self._lock = threading.Lock()
        self._alerts: dict[str, DeferredAlert] = {}

    def defer(self, key: str, template: str, variables: str, now: datetime) -> bool:
        kept = DeferredAlert(key, template, variables, aware_utc(now, "now"))
        with self._lock:
            return self._alerts.setdefault(key, kept) is kept

    def deferred(self) -> list[DeferredAlert]:
        with self._lock:
            kept = sorted(self._alerts.values(), key=lambda a: (a.deferred_at, a.key))
        return [replace(a, deferred_at=a.deferred_at.astimezone(self._zone)) for a in kept]

    def forget(self, key: str) -> None:
        with self._lock:
            self._alerts.pop(key, None)
