"""The rules every `Store` backend applies the same way: which statuses a call may record, aware datetimes only,
how a claim's outcome is recorded, and the error when a claim was taken over. Shared by `SqlStore` and
`MemoryStore` so the two cannot drift apart."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Final

from bot.errors import ExactlyOnceViolation
from bot.store.base import Claim, DeliveryStatus

SETTLE_STATUSES: Final = frozenset({DeliveryStatus.MISSED, DeliveryStatus.SKIPPED})
RELEASE_STATUSES: Final = frozenset({DeliveryStatus.RELEASED, DeliveryStatus.MISSED})
# Records a new claim may take over: the channel refused it, or it was never handed to the network.
CLAIMABLE: Final = frozenset({DeliveryStatus.FAILED, DeliveryStatus.RELEASED})


def aware_utc(value: datetime, name: str) -> datetime:
    """`value` in UTC; ValueError naming `name` if it is naive."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def check_settle(status: DeliveryStatus) -> None:
    if status not in SETTLE_STATUSES:
        raise ValueError(f"settle records only MISSED or SKIPPED, not {status.value}")


def check_release(status: DeliveryStatus) -> None:
    if status not in RELEASE_STATUSES:
        raise ValueError(f"release records only RELEASED or MISSED, not {status.value}")


def taken_over(claim: Claim, status: DeliveryStatus, current: str) -> ExactlyOnceViolation:
    """The error for marking a claim whose record is no longer its own SENDING record (`current` says what is)."""
    return ExactlyOnceViolation(
        f"cannot mark {claim.job_key}/{claim.target} {status.value}: the record is no longer SENDING "
        f"under runner {claim.runner!r} attempt {claim.attempt} (found {current}). Another runner or the "
        "stale-claim sweep took it over; this breaks exactly-once and must be investigated."
    )


class ClaimOutcomes(ABC):
    """A claim's outcomes, all through `_finish` (which raises `taken_over` if the record is no longer the claim's)."""

    @abstractmethod
    def _finish(self, claim: Claim, status: DeliveryStatus, now: datetime, detail: str) -> None: ...

    def mark_sent(self, claim: Claim, now: datetime, detail: str = "") -> None:
        """Confirm a claim. ExactlyOnceViolation (a RuntimeError) if the record is no longer this claim's."""
        self._finish(claim, DeliveryStatus.SENT, now, detail)

    def mark_failed(self, claim: Claim, now: datetime, error: str) -> None:
        """Record the channel's refusal; the pair becomes claimable again. Raises as `mark_sent` does."""
        self._finish(claim, DeliveryStatus.FAILED, now, error)

    def mark_unconfirmed(self, claim: Claim, now: datetime, detail: str) -> None:
        self._finish(claim, DeliveryStatus.UNCONFIRMED, now, detail)

    def mark_relayed(self, claim: Claim, now: datetime, detail: str) -> None:
        self._finish(claim, DeliveryStatus.RELAYED, now, detail)
