"""The relay queue (人工代发): what no automatic path could deliver, waiting for a person to forward it by hand.

Backed by the `relay_queue` table (migration 0004) on the `SqlStore`'s engine. Rows are never deleted: `done`
records who forwarded a message and when, so the ledger of deliveries stays true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import Column, Connection, Index, Integer, PrimaryKeyConstraint, String, Table, Text, select, update

from bot.store.schema import UtcDateTime, metadata
from bot.store.sql import SqlStore

relay_queue = Table(
    "relay_queue",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("target", String(200), nullable=False),
    Column("target_name", Text(), nullable=False),
    Column("text", Text(), nullable=False),
    Column("file_path", Text(), nullable=False),  # "" for a text message
    Column("reason", Text(), nullable=False),  # why no automatic path took it
    Column("queued_at", UtcDateTime(), nullable=False),
    Column("digested_at", UtcDateTime(), nullable=True),  # when the relay people were told of it
    Column("done_at", UtcDateTime(), nullable=True),
    Column("done_by", Text(), nullable=False),
    PrimaryKeyConstraint("id", name="pk_relay_queue"),
    Index("ix_relay_queue_done_at", "done_at"),
)


@dataclass(frozen=True)
class RelayItem:
    id: int
    target: str
    target_name: str
    text: str
    file_path: str
    reason: str
    queued_at: datetime
    done_at: datetime | None
    done_by: str


class RelayQueue:
    """Queue, list and close relay items. Each call is one short transaction; safe from several processes."""

    def __init__(self, store: SqlStore) -> None:
        self._engine = store.engine
        self._zone: tzinfo = store.zone

    def _write(self) -> Connection:
        # SqlStore's SQLite hook starts such transactions with BEGIN IMMEDIATE (wait for the lock, don't fail).
        return self._engine.connect().execution_options(laba_write=True)

    def add(self, target: str, target_name: str, text: str, file_path: str, reason: str, now: datetime) -> int:
        values = {
            "target": target,
            "target_name": target_name,
            "text": text,
            "file_path": file_path,
            "reason": reason,
            "queued_at": now,
            "done_by": "",
        }
        with self._write() as conn, conn.begin():
            key = conn.execute(relay_queue.insert().values(**values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def waiting(self) -> list[RelayItem]:
        """Not yet forwarded, oldest first."""
        return self._select(relay_queue.c.done_at.is_(None))

    def all(self) -> list[RelayItem]:
        return self._select(None)

    def take_undigested(self, now: datetime) -> list[RelayItem]:
        """Waiting items the relay people haven't been told of; marks them told (each goes into one digest)."""
        with self._write() as conn, conn.begin():
            where = relay_queue.c.done_at.is_(None) & relay_queue.c.digested_at.is_(None)
            rows = conn.execute(select(relay_queue).where(where).order_by(relay_queue.c.id)).all()
            ids = [r.id for r in rows]
            if ids:
                conn.execute(update(relay_queue).where(relay_queue.c.id.in_(ids)).values(digested_at=now))
        return [self._item(r) for r in rows]

    def done(self, ids: list[int], by: str, now: datetime) -> tuple[list[int], list[int], list[int]]:
        """Mark items forwarded by hand. Returns (marked now, already done earlier, unknown ids); all or nothing
        is not needed: each id is independent, and a repeated `done` changes nothing."""
        marked, earlier, unknown = [], [], []
        with self._write() as conn, conn.begin():
            for item_id in dict.fromkeys(ids):  # a repeated id on one command line counts once
                changed = conn.execute(
                    update(relay_queue)
                    .where(relay_queue.c.id == item_id, relay_queue.c.done_at.is_(None))
                    .values(done_at=now, done_by=by)
                ).rowcount
                if changed == 1:
                    marked.append(item_id)
                elif conn.execute(select(relay_queue.c.id).where(relay_queue.c.id == item_id)).first():
                    earlier.append(item_id)
                else:
                    unknown.append(item_id)
        return marked, earlier, unknown

    def _select(self, where: object) -> list[RelayItem]:
        stmt = select(relay_queue).order_by(relay_queue.c.id)
        if where is not None:
            stmt = stmt.where(where)  # type: ignore[arg-type]
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [self._item(r) for r in rows]

    def _item(self, row: object) -> RelayItem:
        m = row._mapping  # type: ignore[attr-defined]
        done_at = m["done_at"]
        return RelayItem(
            id=m["id"],
            target=m["target"],
            target_name=m["target_name"],
            text=m["text"],
            file_path=m["file_path"],
            reason=m["reason"],
            queued_at=m["queued_at"].astimezone(self._zone),
            done_at=done_at.astimezone(self._zone) if done_at else None,
            done_by=m["done_by"],
        )
