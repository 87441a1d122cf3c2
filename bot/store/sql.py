"""The SQL backend of `Store`: one SQLite file, or a PostgreSQL database shared by several runners.

Exactly-once rests on the primary key (job_key, target) of `deliveries`: a claim is an INSERT that only one
transaction can win, and every later change of a row is a conditional UPDATE whose row count says whether it
happened. No lock is held between calls, so a runner that dies leaves a SENDING row and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from sqlalchemy import (
    Column,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeDecorator

from bot.store.base import Claim, DeliveryRecord, DeliveryStatus, InFlight, Snapshot
from bot.store.outcomes import CLAIMABLE, ClaimOutcomes, aware_utc, check_release, check_settle, taken_over
from bot.store.transient import RetryPolicy, retry_connections
from bot.store.unavailable import explain

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# Long enough to ride out another process's burst of claims or a migration; a lock held longer is a bug.
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000

# Any constant works as long as every laba process uses the same one; derived from a name to avoid colliding
# with advisory locks that other applications on a shared server pick by hand.
_MIGRATION_LOCK_KEY: Final = int.from_bytes(hashlib.sha256(b"laba.migrations").digest()[:8], "big", signed=True)

# Execution option read by the SQLite "begin" hook: transactions that will write start with BEGIN IMMEDIATE.
_WRITE_OPTION: Final = "laba_write"

# Kept under its old name: evidence, sorting and web import it from here.
_aware_utc = aware_utc
_CLAIMABLE: Final = tuple(sorted(s.value for s in CLAIMABLE))


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


# The live schema; `migrations/versions` must produce exactly this (the migrations are the source of truth for
# existing databases, this is what the code queries).
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


_DELIVERY_ORDER: Final = (deliveries.c.scheduled_at, deliveries.c.job_key, deliveries.c.target)


def normalize_url(url: str | URL) -> URL:
    """The URL as SQLAlchemy should see it: plain PostgreSQL URLs (`postgresql://`, `postgres://`) go through
    psycopg 3, the driver this package depends on. Explicit drivers and other databases are left as given."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


class SqlStore(ClaimOutcomes):
    """`Store` on SQLAlchemy. `SqlStore(url, zone)` only connects; use `open_store` to also bring the schema
    to the current revision. Datetimes come back aware, in `zone`; naive datetimes are refused (ValueError).

    Safe for several processes (and threads) on one database: each call is one short transaction.
    """

    def __init__(self, url: str | URL, zone: tzinfo) -> None:
        self._url = normalize_url(url)
        self._zone = zone
        if self._url.get_backend_name() == "sqlite":
            path = _sqlite_file(self._url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._engine = create_engine(self._url)
            _configure_sqlite(self._engine)
        else:
            # A daemon outlives server restarts and idle-connection reapers.
            self._engine = create_engine(self._url, pool_pre_ping=True)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def zone(self) -> tzinfo:
        return self._zone

    # -- transactions ----------------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that will write. On SQLite it takes the write lock at BEGIN, so it waits
        (busy_timeout) instead of failing when a read would have to be upgraded to a write while another
        process writes."""
        with self._engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision. Safe to run from several processes at once: on PostgreSQL
        they queue on an advisory lock, on SQLite on the write lock; the later ones find nothing to do."""
        from bot.store.migrate import upgrade  # here: that module builds on this one's metadata

        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # Transaction-scoped: released by the commit (or rollback) that ends the upgrade, and the
                # whole upgrade is one transaction since PostgreSQL DDL is transactional.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            upgrade(conn)

    # -- deliveries ------------------------------------------------------------------------------------------

    def _insert_ignore(self, conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
        """INSERT unless the key exists; True if the row was inserted.

        ON CONFLICT DO NOTHING rather than catching the unique violation: the same atomicity, but no aborted
        statement, no rollback, and no error in the server's log for every lost race."""
        stmt: Insert
        # Each dialect only when used: PostgreSQL's costs a daemon on SQLite 30 ms of start-up and its memory.
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
        elif conn.dialect.name == "sqlite":
            from sqlalchemy.dialects import sqlite

            stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
        else:
            raise NotImplementedError(f"unsupported database: {conn.dialect.name}")
        # SQLAlchemy reports an INSERT's row count only when asked to keep it.
        count = conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount
        if count < 0:
            raise RuntimeError(f"{conn.dialect.name}: the driver did not report whether the INSERT took effect")
        return count == 1

    def claim(self, job_key: str, target: str, scheduled_at: datetime, now: datetime, runner: str) -> Claim | None:
        scheduled_utc = _aware_utc(scheduled_at, "scheduled_at")
        now_utc = _aware_utc(now, "now")
        if not runner:
            raise ValueError("runner must name the claiming runner")
        with self._write() as conn:
            inserted = self._insert_ignore(
                conn,
                deliveries,
                {
                    "job_key": job_key,
                    "target": target,
                    "status": DeliveryStatus.SENDING.value,
                    "scheduled_at": scheduled_utc,
                    "updated_at": now_utc,
                    "attempts": 1,
                    "runner": runner,
                    "detail": "",
                },
            )
            if inserted:
                return Claim(job_key=job_key, target=target, runner=runner, attempt=1)
            # The status condition is re-checked under the row lock, so of two runners retrying one FAILED row
            # exactly one sees rowcount 1.
            taken = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.job_key == job_key,
                    deliveries.c.target == target,
                    deliveries.c.status.in_(_CLAIMABLE),
                )
                .values(
                    status=DeliveryStatus.SENDING.value,
                    updated_at=now_utc,
                    attempts=deliveries.c.attempts + 1,
                    runner=runner,
                    detail="",
                    handed_at=None,
                )
            ).rowcount
            if taken != 1:
                return None
            attempt = conn.execute(
                select(deliveries.c.attempts).where(deliveries.c.job_key == job_key, deliveries.c.target == target)
            ).scalar_one()
            return Claim(job_key=job_key, target=target, runner=runner, attempt=attempt)

    def _finish(self, claim: Claim, status: DeliveryStatus, now: datetime, detail: str) -> None:
        self._update_claim(
            claim, status, {"status": status.value, "updated_at": _aware_utc(now, "now"), "detail": detail}
        )

    def mark_handed(self, claim: Claim, now: datetime | None) -> None:
        handed = None if now is None else _aware_utc(now, "now")
        self._update_claim(claim, DeliveryStatus.SENDING, {"handed_at": handed})

    def _update_claim(self, claim: Claim, status: DeliveryStatus, values: Mapping[str, Any]) -> None:
        """Change the claim's own SENDING record; RuntimeError (with what was found) if it is no longer that."""
        with self._write() as conn:
            changed = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.job_key == claim.job_key,
                    deliveries.c.target == claim.target,
                    deliveries.c.status == DeliveryStatus.SENDING.value,
                    deliveries.c.runner == claim.runner,
                    deliveries.c.attempts == claim.attempt,
                )
                .values(**values)
            ).rowcount
            if changed == 1:
                return
            row = conn.execute(
                select(deliveries).where(deliveries.c.job_key == claim.job_key, deliveries.c.target == claim.target)
            ).one_or_none()
        current = "no record" if row is None else repr(self._record(row))
        raise taken_over(claim, status, current)

    def settle(
        self,
        job_key: str,
        target: str,
        status: DeliveryStatus,
        scheduled_at: datetime,
        now: datetime,
        detail: str,
    ) -> bool:
        check_settle(status)
        values = {
            "job_key": job_key,
            "target": target,
            "status": status.value,
            "scheduled_at": _aware_utc(scheduled_at, "scheduled_at"),
            "updated_at": _aware_utc(now, "now"),
            "attempts": 0,
            "runner": "",
            "detail": detail,
        }
        with self._write() as conn:
            if self._insert_ignore(conn, deliveries, values):
                return True
            # A RELEASED record never left: it may still be settled (e.g. MISSED when its time is past the grace).
            return (
                conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.job_key == job_key,
                        deliveries.c.target == target,
                        deliveries.c.status == DeliveryStatus.RELEASED.value,
                    )
                    .values(status=status.value, updated_at=values["updated_at"], detail=detail)
                ).rowcount
                == 1
            )

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self._zone)

    def _record(self, row: Row[Any]) -> DeliveryRecord:
        m = row._mapping
        return DeliveryRecord(
            job_key=m["job_key"],
            target=m["target"],
            status=DeliveryStatus(m["status"]),
            scheduled_at=self._local(m["scheduled_at"]),
            updated_at=self._local(m["updated_at"]),
            attempts=m["attempts"],
            runner=m["runner"],
            detail=m["detail"],
            handed_at=None if m["handed_at"] is None else self._local(m["handed_at"]),
        )

    def get(self, job_key: str, target: str) -> DeliveryRecord | None:
        with self._read() as conn:
            row = conn.execute(
                select(deliveries).where(deliveries.c.job_key == job_key, deliveries.c.target == target)
            ).one_or_none()
        return None if row is None else self._record(row)

    def deliveries(self, job_keys: frozenset[str] | None = None) -> list[DeliveryRecord]:
        stmt = select(deliveries).order_by(*_DELIVERY_ORDER)
        if job_keys is not None:
            if not job_keys:
                return []
            stmt = stmt.where(deliveries.c.job_key.in_(sorted(job_keys)))
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return [self._record(row) for row in rows]

    def stale_claims(self, older_than: datetime) -> list[DeliveryRecord]:
        stmt = (
            select(deliveries)
            .where(
                deliveries.c.status == DeliveryStatus.SENDING.value,
                deliveries.c.updated_at < _aware_utc(older_than, "older_than"),
            )
            .order_by(*_DELIVERY_ORDER)
        )
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return [self._record(row) for row in rows]

    def resolve_stale(self, job_key: str, target: str, now: datetime, detail: str) -> bool:
        now_utc = _aware_utc(now, "now")
        with self._write() as conn:
            changed = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.job_key == job_key,
                    deliveries.c.target == target,
                    deliveries.c.status == DeliveryStatus.SENDING.value,
                )
                .values(status=DeliveryStatus.UNCONFIRMED.value, updated_at=now_utc, detail=detail)
            ).rowcount
        return changed == 1

    def heartbeat(self, runner: str, now: datetime) -> None:
        now_utc = _aware_utc(now, "now")
        with self._write() as conn:
            if not self._insert_ignore(conn, runners, {"runner": runner, "seen_at": now_utc}):
                conn.execute(update(runners).where(runners.c.runner == runner).values(seen_at=now_utc))

    def in_flight(self) -> list[InFlight]:
        stmt = (
            select(deliveries, runners.c.seen_at)
            .select_from(deliveries.outerjoin(runners, runners.c.runner == deliveries.c.runner))
            .where(deliveries.c.status == DeliveryStatus.SENDING.value)
            .order_by(*_DELIVERY_ORDER)
        )
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return [InFlight(self._record(row), None if row.seen_at is None else self._local(row.seen_at)) for row in rows]

    def release(
        self, job_key: str, target: str, runner: str, now: datetime, status: DeliveryStatus, detail: str
    ) -> bool:
        check_release(status)
        now_utc = _aware_utc(now, "now")
        with self._write() as conn:
            changed = conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.job_key == job_key,
                    deliveries.c.target == target,
                    deliveries.c.status == DeliveryStatus.SENDING.value,
                    deliveries.c.runner == runner,
                    deliveries.c.handed_at.is_(None),
                )
                .values(status=status.value, updated_at=now_utc, detail=detail)
            ).rowcount
        return changed == 1

    def save_snapshot(self, town_key: str, files: Mapping[str, str], now: datetime) -> None:
        values = {
            "files": json.dumps(dict(files), ensure_ascii=False, sort_keys=True),
            "saved_at": _aware_utc(now, "now"),
        }
        with self._write() as conn:
            if not self._insert_ignore(conn, plan_snapshots, {"town_key": town_key, **values}):
                conn.execute(update(plan_snapshots).where(plan_snapshots.c.town_key == town_key).values(**values))

    def snapshot(self, town_key: str) -> Snapshot | None:
        with self._read() as conn:
            row = conn.execute(select(plan_snapshots).where(plan_snapshots.c.town_key == town_key)).one_or_none()
        if row is None:
            return None
        return Snapshot(dict(json.loads(row.files)), self._local(row.saved_at))

    # -- service state and proofs ----------------------------------------------------------------------------

    def service_started_at(self, town_id: str, now: datetime) -> datetime:
        now_utc = _aware_utc(now, "now")
        with self._write() as conn:
            self._insert_ignore(conn, service_state, {"town_id": town_id, "started_at": now_utc})
            started: datetime = conn.execute(
                select(service_state.c.started_at).where(service_state.c.town_id == town_id)
            ).scalar_one()
        return self._local(started)

    def record_proof(self, activity_id: str, unit_id: str, received_at: datetime, note: str = "") -> None:
        values = {
            "activity_id": activity_id,
            "unit_id": unit_id,
            "received_at": _aware_utc(received_at, "received_at"),
            "note": note,
        }
        with self._write() as conn:
            conn.execute(proofs.insert().values(**values))

    def units_with_proof(self, activity_id: str, min_photos: int = 1) -> frozenset[str]:
        # Evidence builds on this module (its tables share `metadata`), hence the late import.
        from bot.store.evidence import counted_units

        with self._read() as conn:
            units = set(
                conn.execute(select(proofs.c.unit_id).where(proofs.c.activity_id == activity_id).distinct()).scalars()
            )
            units |= counted_units(conn, activity_id, min_photos)
            return frozenset(units)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL (it stays so: the mode is stored in the file). The switch needs an exclusive lock,
    and SQLite answers "database is locked" at once, without the busy handler, while another process holds one
    (two daemons opening a new file together): retry for as long as the busy timeout would have waited."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _configure_sqlite(engine: Engine) -> None:
    """WAL so readers never block the writer (and vice versa) across processes; a busy timeout so writers
    queue for the lock instead of failing; transactions begun by us rather than by the sqlite3 module, whose
    implicit BEGIN comes only before the first write and could not be made IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _enable_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def open_store(url: str | URL, zone: tzinfo) -> SqlStore:
    """Connect to the database at `url`, migrate it to the newest schema, and return the store.

    `url` is an SQLAlchemy URL: `sqlite:///path/to/laba.db` (the folder is created if missing) or
    `postgresql://host:port/db` (served by psycopg 3). Raises `StoreUnavailable` (one line for a person, the
    password masked) when the URL is wrong or the database can't be reached, opened or logged into.
    """
    try:
        store = SqlStore(url, zone)
    except Exception as exc:
        unavailable = explain(url, exc)
        if unavailable is None:
            raise
        raise unavailable from exc
    try:
        store.migrate()
    except BaseException as exc:
        store.close()
        unavailable = explain(url, exc) if isinstance(exc, Exception) else None
        if unavailable is None:
            raise
        raise unavailable from exc
    if store.engine.dialect.name != "sqlite":
        # Only once the database is known to be there: a wrong URL is reported at once, an outage later ridden out.
        retry_connections(store.engine, RetryPolicy())
    return store
