"""Time for the whole bot: always timezone-aware, in the town's zone, whatever the server's zone.

A `Clock` is injected everywhere that asks for "now", so the planner, the pipeline and the daemon run on any date.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

TOWN_ZONE = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    @property
    def zone(self) -> tzinfo: ...

    def now(self) -> datetime:
        """The current instant, aware, in the clock's zone."""
        ...


class RealTimeClock(Clock, Protocol):
    """A clock that moves with the wall clock, so a real-time scheduler can fire on it."""

    def to_real(self, instant: datetime) -> datetime:
        """The wall-clock instant at which this clock will show `instant`."""
        ...


class SystemClock:
    """Wall-clock time in the town's zone."""

    def __init__(self, zone: tzinfo = TOWN_ZONE) -> None:
        self._zone = zone

    @property
    def zone(self) -> tzinfo:
        return self._zone

    def now(self) -> datetime:
        return datetime.now(self._zone)

    def to_real(self, instant: datetime) -> datetime:
        return instant.astimezone(self._zone)


class ShiftedClock:
    """Starts at a chosen instant and then ticks on in real time (`run --now ...`).

    `to_real` maps an instant on this clock to the wall-clock instant at which it will be reached, so a real-time
    scheduler can be told when to fire.
    """

    def __init__(self, start: datetime, zone: tzinfo = TOWN_ZONE) -> None:
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware, got: {start!r}")
        self._zone = zone
        self._offset = start - datetime.now(zone)

    @property
    def zone(self) -> tzinfo:
        return self._zone

    def now(self) -> datetime:
        return (datetime.now(self._zone) + self._offset).astimezone(self._zone)

    def to_real(self, instant: datetime) -> datetime:
        return (instant - self._offset).astimezone(self._zone)


class VirtualClock:
    """A clock that moves only when told: `simulate` and the tests drive it."""

    def __init__(self, start: datetime, zone: tzinfo = TOWN_ZONE) -> None:
        if start.tzinfo is None:
            raise ValueError(f"start must be timezone-aware, got: {start!r}")
        self._zone = zone
        self._now = start.astimezone(zone)

    @property
    def zone(self) -> tzinfo:
        return self._zone

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError(f"instant must be timezone-aware, got: {instant!r}")
        self._now = instant.astimezone(self._zone)

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    async def sleep(self, seconds: float) -> None:
        """A wait in the simulation (a retry's backoff) passes on this clock, not the wall clock's."""
        self.advance(timedelta(seconds=max(seconds, 0.0)))
