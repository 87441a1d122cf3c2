"""`DeferredAlerts` on the SQL store: one row per alert key in `deferred_alerts`, inserted if absent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from bot.store.base import DeferredAlert
from bot.store.db import Database, insert_ignore
from bot.store.outcomes import aware_utc
from bot.store.schema import deferred_alerts


class SqlDeferredAlerts:
    """Safe for several runners on one database: the first to defer a key keeps it; forgetting twice is harmless."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def defer(self, key: str, template: str, variables: str, now: datetime) -> bool:
        values = {"alert_key": key, "template": template, "variables": variables, "deferred_at": aware_utc(now, "now")}
        with self._db.write() as conn:
            return insert_ignore(conn, deferred_alerts, values)

    def deferred(self) -> list[DeferredAlert]:
        stmt = select(deferred_alerts).order_by(deferred_alerts.c.deferred_at, deferred_alerts.c.alert_key)
        with self._db.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            DeferredAlert(r.alert_key, r.template, r.variables, r.deferred_at.astimezone(self._db.zone)) for r in rows
        ]

    def forget(self, key: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(deferred_alerts).where(deferred_alerts.c.alert_key == key))
