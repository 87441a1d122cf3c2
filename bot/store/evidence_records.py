"""The ledger's values: evidence items, bindings and log entries, with their statuses and flags.

Plain frozen values, free of the database, so that both the repositories and the queries over them can use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final


class EvidenceStatus(StrEnum):
    ACCEPTED = "accepted"  # filed under a unit and activity
    PENDING = "pending"  # kept, waiting to know which activity (ask sent) or which unit (binding not yet approved)
    REFUSED = "refused"  # not a photo, or over the limits: recorded with the reason, the bytes are not kept
    REJECTED = "rejected"  # an admin said no (#驳回); kept, with who and why in the log


class Flag(StrEnum):
    DUPLICATE = "duplicate"  # the same file as an earlier submission
    NEAR_DUPLICATE = "near_duplicate"  # looks the same as an earlier submission (perceptual hash)
    EXIF_OUTSIDE = "exif_outside"  # taken (EXIF) outside the activity's window


FLAG_CN: Final = {
    Flag.DUPLICATE: "重复照片",
    Flag.NEAR_DUPLICATE: "疑似重复",
    Flag.EXIF_OUTSIDE: "拍摄时间不在活动期间",
}

# Duplicates show in the ledger but never count towards a unit's photos: one photo sent twice is one photo.
NOT_COUNTED: Final = frozenset({Flag.DUPLICATE, Flag.NEAR_DUPLICATE})


class BindingStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class NewEvidence:
    """One item as intake saw it. `part` tells apart the attachments of one message (0 for its text)."""

    message_id: str
    part: int
    kind: str  # "photo", "note" or "file"
    sender: str
    sender_name: str
    received_at: datetime
    status: EvidenceStatus
    activity_id: str | None = None
    unit_id: str | None = None
    group_id: str | None = None
    exif_at: datetime | None = None
    size: int = 0
    sha256: str | None = None
    phash: str | None = None
    ext: str | None = None
    width: int | None = None
    height: int | None = None
    flags: tuple[Flag, ...] = ()
    duplicate_of: int | None = None
    text: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Evidence(NewEvidence):
    id: int = 0

    @property
    def counts(self) -> bool:
        """Whether this item counts towards the unit's photos for its activity."""
        return (
            self.kind == "photo"
            and self.status is EvidenceStatus.ACCEPTED
            and not any(f in NOT_COUNTED for f in self.flags)
        )


@dataclass(frozen=True)
class Binding:
    id: int
    sender: str
    sender_wechat: str
    sender_name: str
    unit_id: str
    status: BindingStatus
    message_id: str
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str


@dataclass(frozen=True)
class LogEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: str


def flags_text(flags: Iterable[Flag]) -> str:
    return ",".join(sorted({f.value for f in flags}))


def parse_flags(text: str) -> tuple[Flag, ...]:
    return tuple(Flag(f) for f in text.split(",") if f)
