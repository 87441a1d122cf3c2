"""What the web console keeps: accounts, sessions, sign-in failures, the units' upload links, shared flags (the
pause switch the daemon and the console both honour) and who forwarded a failed message by hand.

Built on a `SqlStore`'s engine and its `metadata` (migration 0005). Session tokens are stored only as their SHA-256,
so a copy of the database does not let anyone in; upload links are capability URLs already posted in chat, kept as
they are so the same link can go into the chase.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, Row, String, Table, Text, delete, select, update
from sqlalchemy.engine import Connection

from bot.store.db import insert_ignore
from bot.store.outcomes import aware_utc
from bot.store.schema import UtcDateTime, evidence, metadata
from bot.store.sql import SqlStore

web_users = Table(
    "web_users",
    metadata,
    Column("id", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("id", name="pk_web_users"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("token_sha256", name="pk_web_sessions"),
    Index("ix_web_sessions_user_id", "user_id"),
)

web_failures = Table(
    "web_failures",
    metadata,
    Column("key", String(250), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("last_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("key", name="pk_web_failures"),
)

upload_links = Table(
    "upload_links",
    metadata,
    Column("token", String(64), nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("activity_id", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("revoked_by", Text, nullable=False),
    PrimaryKeyConstraint("token", name="pk_upload_links"),
    Index("ix_upload_links_unit_activity", "unit_id", "activity_id"),
)

shared_flags = Table(
    "shared_flags",
    metadata,
    Column("key", String(100), nullable=False),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("updated_by", Text, nullable=False),
    PrimaryKeyConstraint("key", name="pk_shared_flags"),
)

relay_forwards = Table(
    "relay_forwards",
    metadata,
    Column("job_key", String(200), nullable=False),
    Column("target", String(200), nullable=False),
    Column("forwarded_by", Text, nullable=False),
    Column("forwarded_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("job_key", "target", name="pk_relay_forwards"),
)

# The 台账 year grid counts every unit's photos for every activity in one GROUP BY (`bot.web.grid`): with every
# column it reads in the index, SQLite scans the index alone, not the wide evidence rows.
ix_evidence_ledger = Index(
    "ix_evidence_ledger",
    evidence.c.activity_id,
    evidence.c.unit_id,
    evidence.c.kind,
    evidence.c.status,
    evidence.c.flags,
)

PAUSED = "paused"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    id: str
    role: str  # "admin" or "viewer"
    password_hash: str


@dataclass(frozen=True)
class Session:
    user_id: str
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class UploadLink:
    token: str
    unit_id: str
    activity_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def valid_at(self, instant: datetime) -> bool:
        return self.revoked_at is None and instant <= self.expires_at


@dataclass(frozen=True)
class Forwarded:
    by: str
    at: datetime


class WebStore:
    """The console's rows in the store's database; every method is one short transaction."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._store._write() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._store.engine.connect() as conn, conn.begin():
            yield conn

    def _local(self, value: datetime) -> datetime:
        return value.astimezone(self._store.zone)

    # -- accounts ------------------------------------------------------------------------------------------

    def account(self, user_id: str) -> Account | None:
        with self._read() as conn:
            row = conn.execute(select(web_users).where(web_users.c.id == user_id)).one_or_none()
        return None if row is None else Account(row.id, row.role, row.password_hash)

    def accounts(self) -> list[Account]:
        with self._read() as conn:
            rows = conn.execute(select(web_users).order_by(web_users.c.id)).all()
        return [Account(r.id, r.role, r.password_hash) for r in rows]

    def put_account(self, user_id: str, role: str, password_hash: str, at: datetime) -> bool:
        """Create or replace an account (and sign it out everywhere). True if it was new."""
        values = {"id": user_id, "role": role, "password_hash": password_hash, "updated_at": aware_utc(at, "at")}
        with self._write() as conn:
            changed = conn.execute(update(web_users).where(web_users.c.id == user_id).values(**values)).rowcount
            if changed == 0:
                conn.execute(web_users.insert().values(**values))
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        return changed == 0

    def remove_account(self, user_id: str) -> bool:
        with self._write() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
            return bool(conn.execute(delete(web_users).where(web_users.c.id == user_id)).rowcount)

    # -- sessions ------------------------------------------------------------------------------------------

    def open_session(self, user_id: str, now: datetime, lifetime: timedelta) -> tuple[str, Session]:
        """A new session; returns (the cookie's token, the session). Only the token's digest is stored."""
        token = secrets.token_urlsafe(32)
        session = Session(user_id, secrets.token_urlsafe(32), now + lifetime)
        values = {
            "token_sha256": token_digest(token),
            "user_id": user_id,
            "csrf": session.csrf,
            "expires_at": aware_utc(session.expires_at, "expires_at"),
        }
        with self._write() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < aware_utc(now, "now")))
            conn.execute(web_sessions.insert().values(**values))
        return token, session

    def session(self, token: str, now: datetime) -> Session | None:
        """The live session for a cookie's token, or None (unknown, expired, or its account removed)."""
        stmt = (
            select(web_sessions)
            .join(web_users, web_users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.token_sha256 == token_digest(token))
        )
        with self._read() as conn:
            row = conn.execute(stmt).one_or_none()
        if row is None or row.expires_at < aware_utc(now, "now"):
            return None
        return Session(row.user_id, row.csrf, self._local(row.expires_at))

    def close_session(self, token: str) -> None:
        with self._write() as conn:
            conn.execute(delete(web_sessions).where(web_sessions.c.token_sha256 == token_digest(token)))

    # -- sign-in failures ----------------------------------------------------------------------------------

    def failures(self, key: str) -> tuple[int, datetime | None]:
        with self._read() as conn:
            row = conn.execute(select(web_failures).where(web_failures.c.key == key)).one_or_none()
        return (0, None) if row is None else (int(row.failures), self._local(row.last_at))

    def add_failure(self, key: str, at: datetime) -> int:
        when = aware_utc(at, "at")
        with self._write() as conn:
            changed = conn.execute(
                update(web_failures)
                .where(web_failures.c.key == key)
                .values(failures=web_failures.c.failures + 1, last_at=when)
            ).rowcount
            if changed == 0:
                conn.execute(web_failures.insert().values(key=key, failures=1, last_at=when))
            return int(conn.execute(select(web_failures.c.failures).where(web_failures.c.key == key)).scalar_one())

    def clear_failures(self, *keys: str) -> None:
        with self._write() as conn:
            conn.execute(delete(web_failures).where(web_failures.c.key.in_(keys)))

    # -- upload links --------------------------------------------------------------------------------------

    def _link(self, row: Row[Any]) -> UploadLink:
        revoked = row.revoked_at
        return UploadLink(
            row.token,
            row.unit_id,
            row.activity_id,
            self._local(row.created_at),
            self._local(row.expires_at),
            None if revoked is None else self._local(revoked),
        )

    def link_for(self, unit_id: str, activity_id: str, expires_at: datetime, now: datetime) -> UploadLink:
        """The unit's live link for the activity, made on first use (so the request and the chase carry the same
        one); a revoked or expired link is replaced by a new token."""
        with self._write() as conn:
            row = conn.execute(
                select(upload_links)
                .where(
                    upload_links.c.unit_id == unit_id,
                    upload_links.c.activity_id == activity_id,
                    upload_links.c.revoked_at.is_(None),
                    upload_links.c.expires_at >= aware_utc(now, "now"),
                )
                .order_by(upload_links.c.created_at.desc())
                .limit(1)
            ).one_or_none()
            if row is not None:
                return self._link(row)
            values = {
                "token": secrets.token_urlsafe(24),
                "unit_id": unit_id,
                "activity_id": activity_id,
                "created_at": aware_utc(now, "now"),
                "expires_at": aware_utc(expires_at, "expires_at"),
                "revoked_at": None,
                "revoked_by": "",
            }
            conn.execute(upload_links.insert().values(**values))
            row = conn.execute(select(upload_links).where(upload_links.c.token == values["token"])).one()
            return self._link(row)

    def link(self, token: str) -> UploadLink | None:
        if not token or len(token) > 64:
            return None
        with self._read() as conn:
            row = conn.execute(select(upload_links).where(upload_links.c.token == token)).one_or_none()
        return None if row is None else self._link(row)

    def links(self, activity_id: str | None = None) -> list[UploadLink]:
        stmt = select(upload_links).order_by(upload_links.c.created_at)
        if activity_id is not None:
            stmt = stmt.where(upload_links.c.activity_id == activity_id)
        with self._read() as conn:
            return [self._link(r) for r in conn.execute(stmt).all()]

    def revoke_link(self, token: str, by: str, at: datetime) -> bool:
        with self._write() as conn:
            return bool(
                conn.execute(
                    update(upload_links)
                    .where(upload_links.c.token == token, upload_links.c.revoked_at.is_(None))
                    .values(revoked_at=aware_utc(at, "at"), revoked_by=by)
                ).rowcount
            )

    # -- shared flags --------------------------------------------------------------------------------------

    def flag(self, key: str) -> tuple[str, str, datetime | None]:
        """(value, who set it, when); ("", "", None) when never set."""
        with self._read() as conn:
            row = conn.execute(select(shared_flags).where(shared_flags.c.key == key)).one_or_none()
        return ("", "", None) if row is None else (row.value, row.updated_by, self._local(row.updated_at))

    def set_flag(self, key: str, value: str, by: str, at: datetime) -> None:
        values = {"key": key, "value": value, "updated_at": aware_utc(at, "at"), "updated_by": by}
        with self._write() as conn:
            if not conn.execute(update(shared_flags).where(shared_flags.c.key == key).values(**values)).rowcount:
                conn.execute(shared_flags.insert().values(**values))

    def paused(self) -> bool:
        return self.flag(PAUSED)[0] == "1"

    # -- hand-forwarded messages ---------------------------------------------------------------------------

    def forward(self, job_key: str, target: str, by: str, at: datetime) -> bool:
        """Record that `by` forwarded (job_key, target) by hand; False if it was recorded already."""
        values = {"job_key": job_key, "target": target, "forwarded_by": by, "forwarded_at": aware_utc(at, "at")}
        with self._write() as conn:
            return insert_ignore(conn, relay_forwards, values)

    def forwarded(self) -> dict[tuple[str, str], Forwarded]:
        with self._read() as conn:
            rows = conn.execute(select(relay_forwards)).all()
        return {(r.job_key, r.target): Forwarded(r.forwarded_by, self._local(r.forwarded_at)) for r in rows}
