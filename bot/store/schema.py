"""Every table laba keeps, on one `MetaData`, and the column type they share for instants (`UtcDateTime`).

The migrations in `migrations/versions` are the source of truth for existing databases; this is what the code
queries, and `migrations` must produce exactly this (a test compares them). Tables of the parts that came later
(web console, sorting, relay, rooms, quiz) are declared next to their repositories on the same `metadata`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out.

    PostgreSQL keeps the instant in `timestamptz`. SQLite has no such type: the value is stored as naive UTC
    text (fixed-width, so it also sorts by instant) and UTC is re-attached on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime given to the store: {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("job_key", String(200), nullable=False),
    Column("target", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("scheduled_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("runner", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    Column("handed_at", UtcDateTime(), nullable=True),
    PrimaryKeyConstraint("job_key", "target", name="pk_deliveries"),
    Index("ix_deliveries_status_updated_at", "status", "updated_at"),
)

runners = Table(
    "runners",
    metadata,
    Column("runner", String(200), nullable=False),
    Column("seen_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("runner", name="pk_runners"),
)

plan_snapshots = Table(
    "plan_snapshots",
    metadata,
    Column("town_key", String(200), nullable=False),
    Column("files", Text, nullable=False),  # JSON: relative path -> text
    Column("saved_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("town_key", name="pk_plan_snapshots"),
)

service_state = Table(
    "service_state",
    metadata,
    Column("town_id", String(200), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("town_id", name="pk_service_state"),
)

proofs = Table(
    "proofs",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("activity_id", String(200), nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("note", Text, nullable=False),
    PrimaryKeyConstraint("id", name="pk_proofs"),
    Index("ix_proofs_activity_id", "activity_id"),
)


evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("message_id", String(200), nullable=False),
    Column("part", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("activity_id", String(200)),
    Column("unit_id", String(200)),
    Column("sender", String(200), nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("group_id", String(200)),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("exif_at", UtcDateTime()),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64)),
    Column("phash", String(16)),
    Column("ext", String(8)),
    Column("width", Integer),
    Column("height", Integer),
    Column("status", String(16), nullable=False),
    Column("flags", Text, nullable=False),
    Column("duplicate_of", Integer),
    Column("text", Text, nullable=False),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("id", name="pk_evidence"),
    UniqueConstraint("message_id", "part", name="uq_evidence_message_part"),
    Index("ix_evidence_activity_unit", "activity_id", "unit_id"),
    Index("ix_evidence_sha256", "sha256"),
    Index("ix_evidence_sender", "sender", "status"),
)

bindings = Table(
    "bindings",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("sender", String(200), nullable=False),
    Column("sender_wechat", String(200), nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime()),
    Column("decided_by", Text, nullable=False),
    PrimaryKeyConstraint("id", name="pk_bindings"),
    UniqueConstraint("message_id", name="uq_bindings_message_id"),
    Index("ix_bindings_sender", "sender", "status"),
)

ledger_log = Table(
    "ledger_log",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    PrimaryKeyConstraint("id", name="pk_ledger_log"),
    Index("ix_ledger_log_subject", "subject"),
)

# Alerts to the admins that came in quiet hours, kept until they are sent after them (a restart meanwhile keeps
# them). One row per alert key, as the deliveries dedup alerts by key.
deferred_alerts = Table(
    "deferred_alerts",
    metadata,
    Column("alert_key", String(200), nullable=False),
    Column("template", String(60), nullable=False),
    Column("variables", Text, nullable=False),  # JSON, as `bot.alerts` writes it
    Column("deferred_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("alert_key", name="pk_deferred_alerts"),
)
