"""Two questions that keep a rehearsal and the daemon from sharing a database by mistake.

A rehearsal (`laba simulate` without --live) records every message it plays through as the daemon would, so that a
second run sends nothing twice. On the daemon's own database that would mark messages not yet due as sent, and the
daemon would never send them: a silent loss. So `simulate` asks whether the daemon has run on this database (and
refuses), and the daemon asks at start whether anything not yet due is recorded already (and says so, loudly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.store.base import DeliveryStatus
from bot.store.outcomes import aware_utc
from bot.store.schema import deliveries, service_state
from bot.store.sql import SqlStore


def daemon_started(store: SqlStore, town_id: str) -> datetime | None:
    """When the daemon first ran for `town_id` on this database, or None if it never has."""
    stmt = select(service_state.c.started_at).where(service_state.c.town_id == town_id)
    with store.db.read() as conn:
        started: datetime | None = conn.execute(stmt).scalar()
    return None if started is None else started.astimezone(store.db.zone)


@dataclass(frozen=True)
class Ahead:
    """Deliveries recorded for a time still to come: how many, and the first one's time."""

    count: int
    first: datetime | None


def recorded_ahead(store: SqlStore, now: datetime) -> Ahead:
    """Deliveries scheduled after `now` that already have an outcome (sent, relayed, skipped…): the daemon records
    nothing before its time, so they were recorded by a rehearsal or a run on a clock set later."""
    open_statuses = (DeliveryStatus.SENDING.value, DeliveryStatus.RELEASED.value)
    stmt = select(func.count(), func.min(deliveries.c.scheduled_at)).where(
        deliveries.c.scheduled_at > aware_utc(now, "now"), deliveries.c.status.not_in(open_statuses)
    )
    with store.db.read() as conn:
        count, first = conn.execute(stmt).one()
    return Ahead(int(count), None if first is None else first.astimezone(store.db.zone))
