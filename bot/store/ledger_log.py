"""The ledger's log: who changed which record, when, and how. Written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bot.store.evidence_records import LogEntry
from bot.store.outcomes import aware_utc
from bot.store.schema import ledger_log
from bot.store.sql import SqlStore

_INSERT: Final = ledger_log.insert()


def write_log(conn: Connection, at: datetime, actor: str, action: str, subject: str, detail: str) -> None:
    """Add one entry inside the caller's transaction."""
    values = {"at": aware_utc(at, "at"), "actor": actor, "action": action, "subject": subject, "detail": detail}
    conn.execute(_INSERT, values)


class LedgerLog:
    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def log(self, *, actor: str, action: str, subject: str, detail: str, at: datetime) -> None:
        with self._store._write() as conn:
            write_log(conn, at, actor, action, subject, detail)

    def history(self, subject: str | None = None) -> list[LogEntry]:
        stmt = select(ledger_log).order_by(ledger_log.c.id)
        if subject is not None:
            stmt = stmt.where(ledger_log.c.subject == subject)
        with self._store._read() as conn:
            rows = conn.execute(stmt).all()
        zone = self._store.zone
        return [
            LogEntry(m["id"], m["at"].astimezone(zone), m["actor"], m["action"], m["subject"], m["detail"])
            for m in (r._mapping for r in rows)
        ]
