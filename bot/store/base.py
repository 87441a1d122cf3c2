"""The store's interface. One backend today (`SqlStore`: SQLite file or PostgreSQL); the contract tests in
`tests/store/test_contract.py` run against every backend."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class DeliveryStatus(StrEnum):
    SENDING = "sending"  # claimed by a runner, not yet confirmed either way
    SENT = "sent"
    FAILED = "failed"  # the channel refused it; may be claimed again for a retry
    MISSED = "missed"  # its time passed while no runner was up, beyond the grace period; never sent late
    SKIPPED = "skipped"  # decided not to send, with a reason (e.g. the unit already submitted its proof)
    UNCONFIRMED = "unconfirmed"  # handed to the network, then no answer (the runner died): maybe sent; never resent
    RELEASED = "released"  # claimed, but the runner stopped before handing it to the network: certainly not sent,
    # claimable again (the daemon sends it within the grace period, or records it MISSED)
    RELAYED = "relayed"  # no automatic path: handed to the relay people (人工代发); counts as delivered


@dataclass(frozen=True)
class Claim:
    """Proof that this runner, and no other, may send (job_key, target) now."""

    job_key: str
    target: str
    runner: str
    attempt: int


@dataclass(frozen=True)
class DeliveryRecord:
    job_key: str
    target: str
    status: DeliveryStatus
    scheduled_at: datetime
    updated_at: datetime
    attempts: int
    runner: str
    detail: str  # message id when sent, error text when failed, reason when missed or skipped
    # When the claimant last handed the message to the network (None: not yet, or that attempt certainly failed).
    handed_at: datetime | None = None


@dataclass(frozen=True)
class InFlight:
    """A SENDING record with what is known of its runner: when it last said it was alive (None: never)."""

    record: DeliveryRecord
    runner_seen_at: datetime | None


@dataclass(frozen=True)
class Snapshot:
    """A town's files as they were when they last loaded without error: relative path -> text."""

    files: dict[str, str]
    saved_at: datetime


@dataclass(frozen=True)
class DeferredAlert:
    """An alert to the admins held over quiet hours: its key, its template and its variables (JSON)."""

    key: str
    template: str
    variables: str
    deferred_at: datetime


class DeferredAlerts(Protocol):
    """Alerts held over quiet hours, kept until they are sent (a restart meanwhile keeps them)."""

    def defer(self, key: str, template: str, variables: str, now: datetime) -> bool:
        """Keep an alert unless one with this key is kept already (the first one stays). True if this call kept it.
        ValueError for a naive `now`."""
        ...

    def deferred(self) -> list[DeferredAlert]:
        """Every kept alert, oldest first (then by key)."""
        ...

    def forget(self, key: str) -> None:
        """The alert was told: stop keeping it (nothing happens if it isn't kept)."""
        ...


class Store(Protocol):
    """All times passed in and returned are timezone-aware; backends store UTC and return the town's zone.

    Exactly-once: `claim` is the only way to get permission to send, and it is atomic across processes sharing
    the database. A (job_key, target) pair has at most one record, ever.
    """

    @property
    def deferred_alerts(self) -> DeferredAlerts:
        """Alerts held over quiet hours (`DeferredAlerts`)."""
        ...

    def claim(self, job_key: str, target: str, scheduled_at: datetime, now: datetime, runner: str) -> Claim | None:
        """Take (job_key, target) for sending. Returns None if any record exists that is not FAILED or RELEASED
        (another runner has it, or it was sent, missed or skipped). A FAILED or RELEASED record is taken over for a
        retry, its attempt count raised."""
        ...

    def mark_handed(self, claim: Claim, now: datetime | None) -> None:
        """Record that the claimant is handing the message to the network now; None clears it again (that attempt
        certainly did not leave). A runner that stops after this leaves the delivery UNCONFIRMED; one that stops
        before it leaves it to be RELEASED and sent again. RuntimeError if the record is no longer this claim's."""
        ...

    def mark_sent(self, claim: Claim, now: datetime, detail: str = "") -> None: ...

    def mark_failed(self, claim: Claim, now: datetime, error: str) -> None: ...

    def mark_relayed(self, claim: Claim, now: datetime, detail: str) -> None:
        """Handed to the relay queue (never claimable again: a person forwards it)."""
        ...

    def mark_unconfirmed(self, claim: Claim, now: datetime, detail: str) -> None:
        """The send may or may not have gone out: UNCONFIRMED, never claimable again (the admins check by hand)."""
        ...

    def settle(
        self, job_key: str, target: str, status: DeliveryStatus, scheduled_at: datetime, now: datetime, detail: str
    ) -> bool:
        """Record a MISSED or SKIPPED outcome if the pair has no record yet (or only a RELEASED one, which was never
        sent). True if this call recorded it."""
        ...

    def get(self, job_key: str, target: str) -> DeliveryRecord | None: ...

    def deliveries(self, job_keys: frozenset[str] | None = None) -> list[DeliveryRecord]:
        """Records ordered by (scheduled_at, job_key, target); all of them when job_keys is None."""
        ...

    def stale_claims(self, older_than: datetime) -> list[DeliveryRecord]:
        """SENDING records last touched before `older_than`: a runner died between claim and confirmation."""
        ...

    def resolve_stale(self, job_key: str, target: str, now: datetime, detail: str) -> bool:
        """Turn a stale SENDING record into UNCONFIRMED with `detail`. It is not known whether it went out, so it is
        never claimed again (the admins are told instead). True if this call changed it."""
        ...

    def heartbeat(self, runner: str, now: datetime) -> None:
        """`runner` is alive at `now` (wall-clock time, not the campaign clock)."""
        ...

    def in_flight(self) -> list[InFlight]:
        """Every SENDING record, with its runner's last heartbeat."""
        ...

    def release(
        self, job_key: str, target: str, runner: str, now: datetime, status: DeliveryStatus, detail: str
    ) -> bool:
        """A SENDING record of `runner` that was never handed to the network: RELEASED (to be sent again) or MISSED
        (too late to send). True if this call changed it; False if it was handed meanwhile or is no longer SENDING."""
        ...

    def save_snapshot(self, town_key: str, files: Mapping[str, str], now: datetime) -> None:
        """Keep `files` as the town's last good plan (replacing the one kept before)."""
        ...

    def snapshot(self, town_key: str) -> Snapshot | None: ...

    def service_started_at(self, town_id: str, now: datetime) -> datetime:
        """When this town's daemon first ran against this store; recorded on the first call."""
        ...

    def record_proof(self, activity_id: str, unit_id: str, received_at: datetime, note: str = "") -> None: ...

    def units_with_proof(self, activity_id: str, min_photos: int = 1) -> frozenset[str]:
        """Units that have submitted proof for the activity (the chase asks this to find who is missing): those with
        a `record_proof` record, and those with at least `min_photos` (at least 1) accepted, non-duplicate photos
        in the evidence ledger."""
        ...

    def close(self) -> None: ...
