"""The SQL backend of `Store`: one SQLite file, or a PostgreSQL database shared by several runners.

Exactly-once rests on the primary key (job_key, target) of `deliveries`: a claim is an INSERT that only one
transaction can win, and every later change of a row is a conditional UPDATE whose row count says whether it
happened. No lock is held between calls, so a runner that dies leaves a SENDING row and nothing else.

The tables are in `bot.store.schema`, the engine and transactions in `bot.store.db`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, tzinfo
from types import TracebackType
from typing import Any, Final

from sqlalchemy import Engine, Row, select, update
from sqlalchemy.engine import URL, Connection

from bot.store.base import Claim, DeliveryRecord, DeliveryStatus, InFlight, Snapshot
from bot.store.db import MIGRATIONS_DIR, Database, insert_ignore, normalize_url
from bot.store.deferred_alerts import SqlDeferredAlerts
from bot.store.outcomes import CLAIMABLE, ClaimOutcomes, aware_utc, check_release, check_settle, taken_over
from bot.store.proof_counts import units_with_proof
from bot.store.schema import UtcDateTime, deliveries, metadata, plan_snapshots, proofs, runners, service_state
from bot.store.transient import RetryPolicy, retry_connections
from bot.store.unavailable import explain

# Re-exported: callers know the schema and the URL handling by these names too.
__all__ = ["MIGRATIONS_DIR", "SqlStore", "UtcDateTime", "metadata", "normalize_url", "open_store"]

_CLAIMABLE: Final = tuple(sorted(s.value for s in CLAIMABLE))

_DELIVERY_ORDER: Final = (deliveries.c.scheduled_at, deliveries.c.job_key, deliveries.c.target)


class SqlStore(ClaimOutcomes):
    """`Store` on SQLAlchemy. `SqlStore(url, zone)` only connects; use `open_store` to also bring the schema
    to the current revision. Datetimes come back aware, in `zone`; naive datetimes are refused (ValueError).

    Safe for several processes (and threads) on one database: each call is one short transaction.
    """

    def __init__(self, url: str | URL, zone: tzinfo) -> None:
        self.db = Database(url, zone)
        self.deferred_alerts = SqlDeferredAlerts(self.db)

    @property
    def engine(self) -> Engine:
        return self.db.engine

    @property
    def zone(self) -> tzinfo:
        return self.db.zone

    # The transactions of `bot.store.db`, for the repositories built on this store.
    def _write(self) -> AbstractContextManager[Connection]:
        return self.db.write()

    def _read(self) -> AbstractContextManager[Connection]:
        return self.db.read()

    def migrate(self) -> None:
        """Bring the schema to the newest revision (see `Database.migrate`)."""
        self.db.migrate()

    # -- deliveries ------------------------------------------------------------------------------------------

    def claim(self, job_key: str, target: str, scheduled_at: datetime, now: datetime, runner: str) -> Claim | None:
        scheduled_utc = aware_utc(scheduled_at, "scheduled_at")
        now_utc = aware_utc(now, "now")
        if not runner:
            raise ValueError("runner must name the claiming runner")
        with self._write() as conn:
            inserted = insert_ignore(
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
            claim, status, {"status": status.value, "updated_at": aware_utc(now, "now"), "detail": detail}
        )

    def mark_handed(self, claim: Claim, now: datetime | None) -> None:
        handed = None if now is None else aware_utc(now, "now")
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
            "scheduled_at": aware_utc(scheduled_at, "scheduled_at"),
            "updated_at": aware_utc(now, "now"),
            "attempts": 0,
            "runner": "",
            "detail": detail,
        }
        with self._write() as conn:
            if insert_ignore(conn, deliveries, values):
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
        return value.astimezone(self.db.zone)

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
                deliveries.c.updated_at < aware_utc(older_than, "older_than"),
            )
            .order_by(*_DELIVERY_ORDER)
        )
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return [self._record(row) for row in rows]

    def resolve_stale(self, job_key: str, target: str, now: datetime, detail: str) -> bool:
        now_utc = aware_utc(now, "now")
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
        now_utc = aware_utc(now, "now")
        with self._write() as conn:
            if not insert_ignore(conn, runners, {"runner": runner, "seen_at": now_utc}):
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
        now_utc = aware_utc(now, "now")
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
            "saved_at": aware_utc(now, "now"),
        }
        with self._write() as conn:
            if not insert_ignore(conn, plan_snapshots, {"town_key": town_key, **values}):
                conn.execute(update(plan_snapshots).where(plan_snapshots.c.town_key == town_key).values(**values))

    def snapshot(self, town_key: str) -> Snapshot | None:
        with self._read() as conn:
            row = conn.execute(select(plan_snapshots).where(plan_snapshots.c.town_key == town_key)).one_or_none()
        if row is None:
            return None
        return Snapshot(dict(json.loads(row.files)), self._local(row.saved_at))

    # -- service state and proofs ----------------------------------------------------------------------------

    def service_started_at(self, town_id: str, now: datetime) -> datetime:
        now_utc = aware_utc(now, "now")
        with self._write() as conn:
            insert_ignore(conn, service_state, {"town_id": town_id, "started_at": now_utc})
            started: datetime = conn.execute(
                select(service_state.c.started_at).where(service_state.c.town_id == town_id)
            ).scalar_one()
        return self._local(started)

    def record_proof(self, activity_id: str, unit_id: str, received_at: datetime, note: str = "") -> None:
        values = {
            "activity_id": activity_id,
            "unit_id": unit_id,
            "received_at": aware_utc(received_at, "received_at"),
            "note": note,
        }
        with self._write() as conn:
            conn.execute(proofs.insert().values(**values))

    def units_with_proof(self, activity_id: str, min_photos: int = 1) -> frozenset[str]:
        with self._read() as conn:
            return units_with_proof(conn, activity_id, min_photos)

    # -- lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        self.db.close()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


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
