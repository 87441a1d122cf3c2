"""Where a channel keeps the network's room id of each configured group (a small protocol, and a dict version).

A group is configured by name (the WeChat topic, which may change or hold emoji); the room id doesn't change. A
channel resolves the id once and keeps it here, so a renamed group still gets its messages after a restart. The app
passes the store-backed implementation (`bot.store.rooms.RoomDirectory`); channels never import the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


class KnownRoom(Protocol):
    """What a room store remembers of one group."""

    @property
    def room_id(self) -> str: ...

    @property
    def topic(self) -> str: ...


class RoomStore(Protocol):
    """Room ids of one channel's groups, by configured group id. `save` is an upsert. Called from the event loop:
    implementations must be quick (a local database) or the channel's heartbeat waits."""

    def all(self) -> Mapping[str, KnownRoom]: ...

    def save(self, group_id: str, room_id: str, topic: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class MemoryRoom:
    room_id: str
    topic: str
    resolved_at: datetime


class MemoryRoomStore:
    """A `RoomStore` that forgets on restart: for commands without a database, tests and benchmarks."""

    def __init__(self) -> None:
        self._rooms: dict[str, MemoryRoom] = {}

    def all(self) -> dict[str, MemoryRoom]:
        return dict(self._rooms)

    def save(self, group_id: str, room_id: str, topic: str, at: datetime) -> None:
        self._rooms[group_id] = MemoryRoom(room_id, topic, at)


@runtime_checkable
class ReportsRooms(Protocol):
    """A channel that addresses groups by a network room id and can say, for each configured group, which one."""

    def room_report(self) -> dict[str, tuple[str | None, str]]:
        """For each configured group: (room id, "") when resolved, else (None, why not)."""
        ...
