"""Where each configured group is on a network: its room id, resolved once from the topic and kept.

A group is configured by name (the WeChat topic, which may change or hold emoji); the network's room id doesn't
change. The directory remembers the id, so a renamed group still gets its messages after a restart. Backed by the
`rooms` table (migration 0002) on the `SqlStore`'s engine, or by a dict when there is no SQL store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from bot.store.schema import UtcDateTime, metadata
from bot.store.sql import SqlStore

rooms = Table(
    "rooms",
    metadata,
    Column("channel", String(50), nullable=False),
    Column("group_id", String(200), nullable=False),
    Column("room_id", String(200), nullable=False),
    Column("topic", Text(), nullable=False),
    Column("resolved_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("channel", "group_id", name="pk_rooms"),
    # Inbound messages name the room by its network id: finding the group is a lookup by it (migration 0002).
    Index("ix_rooms_room_id", "channel", "room_id"),
)


@dataclass(frozen=True)
class RoomRecord:
    group_id: str
    room_id: str
    topic: str
    resolved_at: datetime


class RoomDirectory:
    """Room ids of one channel's groups (a `bot.channels.rooms.RoomStore`). `save` is an upsert; all methods are
    safe from several threads."""

    def __init__(self, channel: str, engine: Engine | None = None) -> None:
        self.channel = channel
        self._engine = engine
        self._memory: dict[str, RoomRecord] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_store(cls, channel: str, store: SqlStore | None) -> RoomDirectory:
        """On `store`'s database, or in memory without one."""
        return cls(channel, store.engine if store is not None else None)

    def all(self) -> dict[str, RoomRecord]:
        if self._engine is None:
            with self._lock:
                return dict(self._memory)
        with self._engine.connect() as conn:
            rows = conn.execute(select(rooms).where(rooms.c.channel == self.channel)).all()
        return {r.group_id: RoomRecord(r.group_id, r.room_id, r.topic, r.resolved_at) for r in rows}

    def save(self, group_id: str, room_id: str, topic: str, at: datetime) -> None:
        record = RoomRecord(group_id, room_id, topic, at)
        if self._engine is None:
            with self._lock:
                self._memory[group_id] = record
            return
        with self._engine.connect() as conn, _writing(conn).begin():
            where = (rooms.c.channel == self.channel) & (rooms.c.group_id == group_id)
            changed = conn.execute(update(rooms).where(where).values(room_id=room_id, topic=topic, resolved_at=at))
            if changed.rowcount == 0:
                conn.execute(
                    insert(rooms).values(
                        channel=self.channel, group_id=group_id, room_id=room_id, topic=topic, resolved_at=at
                    )
                )


def _writing(conn: Connection) -> Connection:
    # SqlStore's SQLite hook starts such transactions with BEGIN IMMEDIATE (wait for the lock, don't fail).
    return conn.execution_options(laba_write=True)
