"""Bindings: a person who is no unit's contact asks (`#绑定`) to speak for a unit; an admin approves or rejects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from bot.store.db import insert_ignore
from bot.store.evidence_records import Binding, BindingStatus
from bot.store.ledger_log import write_log
from bot.store.outcomes import aware_utc
from bot.store.schema import bindings
from bot.store.sql import SqlStore


class BindingStore:
    """Every method is one short transaction; each decision is logged in the same transaction."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _binding(self, row: Row[Any]) -> Binding:
        m = row._mapping
        zone = self._store.zone
        return Binding(
            id=m["id"],
            sender=m["sender"],
            sender_wechat=m["sender_wechat"],
            sender_name=m["sender_name"],
            unit_id=m["unit_id"],
            status=BindingStatus(m["status"]),
            message_id=m["message_id"],
            requested_at=m["requested_at"].astimezone(zone),
            decided_at=None if m["decided_at"] is None else m["decided_at"].astimezone(zone),
            decided_by=m["decided_by"],
        )

    def request(
        self, *, sender: str, sender_wechat: str, sender_name: str, unit_id: str, message_id: str, at: datetime
    ) -> tuple[Binding, bool]:
        """Record `#绑定` as PENDING. Idempotent on the message id: returns (binding, False) when already recorded."""
        values = {
            "sender": sender,
            "sender_wechat": sender_wechat,
            "sender_name": sender_name,
            "unit_id": unit_id,
            "status": BindingStatus.PENDING.value,
            "message_id": message_id,
            "requested_at": aware_utc(at, "at"),
            "decided_at": None,
            "decided_by": "",
        }
        with self._store._write() as conn:
            inserted = insert_ignore(conn, bindings, values)
            row = conn.execute(select(bindings).where(bindings.c.message_id == message_id)).one()
            binding = self._binding(row)
            if inserted:
                write_log(conn, at, sender_name or sender, "bind_request", f"binding:{binding.id}", unit_id)
        return binding, inserted

    def get(self, binding_id: int) -> Binding | None:
        with self._store._read() as conn:
            row = conn.execute(select(bindings).where(bindings.c.id == binding_id)).one_or_none()
        return None if row is None else self._binding(row)

    def all(self, status: BindingStatus | None = None) -> list[Binding]:
        stmt = select(bindings).order_by(bindings.c.id)
        if status is not None:
            stmt = stmt.where(bindings.c.status == status.value)
        with self._store._read() as conn:
            return [self._binding(r) for r in conn.execute(stmt).all()]

    def approved_unit(self, sender: str, sender_wechat: str = "") -> str | None:
        """The unit an approved binding gives this sender (the latest decision wins), or None."""
        who = bindings.c.sender == sender
        if sender_wechat:
            who = who | (bindings.c.sender_wechat == sender_wechat)
        with self._store._read() as conn:
            row = conn.execute(
                select(bindings.c.unit_id)
                .where(who, bindings.c.status == BindingStatus.APPROVED.value)
                .order_by(bindings.c.decided_at.desc(), bindings.c.id.desc())
                .limit(1)
            ).one_or_none()
        return None if row is None else str(row[0])

    def decide(self, binding_id: int, *, approve: bool, actor: str, at: datetime) -> tuple[Binding, bool]:
        """Approve or reject a PENDING binding; (binding, True) if this call decided it, False if it already was
        decided (then nothing changes). KeyError if unknown."""
        status = BindingStatus.APPROVED if approve else BindingStatus.REJECTED
        with self._store._write() as conn:
            changed = conn.execute(
                update(bindings)
                .where(bindings.c.id == binding_id, bindings.c.status == BindingStatus.PENDING.value)
                .values(status=status.value, decided_at=aware_utc(at, "at"), decided_by=actor)
            ).rowcount
            row = conn.execute(select(bindings).where(bindings.c.id == binding_id)).one_or_none()
            if row is None:
                raise KeyError(binding_id)
            if changed == 1:
                write_log(conn, at, actor, f"bind_{status.value}", f"binding:{binding_id}", row._mapping["unit_id"])
        return self._binding(row), changed == 1
