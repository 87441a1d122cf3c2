"""Evidence persistence: what units sent as proof (metadata in the database, files on disk by content hash),
bindings of unknown senders to units, and the ledger's log of every change (who, when, what).

Built on a `SqlStore`'s engine and its `metadata` (migration 0003). Files are named only by their SHA-256 and an
extension from a fixed list, never by anything a sender chose, so no user input ever reaches a path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.engine import Connection

from bot.store.bindings import BindingStore
from bot.store.db import insert_ignore_returning
from bot.store.evidence_records import (
    FLAG_CN,
    NOT_COUNTED,
    Binding,
    BindingStatus,
    Evidence,
    EvidenceStatus,
    Flag,
    LogEntry,
    NewEvidence,
    flags_text,
    parse_flags,
)
from bot.store.files import FileStore
from bot.store.ledger_log import LedgerLog, write_log
from bot.store.outcomes import aware_utc
from bot.store.photo_hashes import PhotoHashes
from bot.store.proof_counts import counted_clause, counted_units
from bot.store.schema import evidence
from bot.store.sql import SqlStore

# Intake's statements, built once: building SQLAlchemy statements costs more than running them on SQLite.
_COUNT: Final = (
    select(func.count())
    .select_from(evidence)
    .where(evidence.c.activity_id == bindparam("a"), evidence.c.unit_id == bindparam("u"), counted_clause())
)
_BY_PART: Final = select(evidence).where(evidence.c.message_id == bindparam("m"), evidence.c.part == bindparam("p"))


def evidence_from_row(row: Row[Any], zone: tzinfo) -> Evidence:
    m = row._mapping
    exif_at = m["exif_at"]
    return Evidence(
        id=m["id"],
        message_id=m["message_id"],
        part=m["part"],
        kind=m["kind"],
        sender=m["sender"],
        sender_name=m["sender_name"],
        received_at=m["received_at"].astimezone(zone),
        status=EvidenceStatus(m["status"]),
        activity_id=m["activity_id"],
        unit_id=m["unit_id"],
        group_id=m["group_id"],
        exif_at=None if exif_at is None else exif_at.astimezone(zone),
        size=m["size"],
        sha256=m["sha256"],
        phash=m["phash"],
        ext=m["ext"],
        width=m["width"],
        height=m["height"],
        flags=parse_flags(m["flags"]),
        duplicate_of=m["duplicate_of"],
        text=m["text"],
        reason=m["reason"],
    )


class EvidenceStore:
    """The ledger's records in the store's database. Every method is one short transaction; every change an
    admin or intake makes to a record is written to `ledger_log` in the same transaction."""

    def __init__(self, store: SqlStore, files_root: Path) -> None:
        self._store = store
        self._engine = store.engine
        self.files = FileStore(files_root)
        self._hashes = PhotoHashes()
        self.binds = BindingStore(store)
        self.ledger_log = LedgerLog(store)

    @property
    def store(self) -> SqlStore:
        return self._store

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._store._write() as conn:  # the store's write transaction (BEGIN IMMEDIATE on SQLite)
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def _evidence(self, row: Row[Any]) -> Evidence:
        return evidence_from_row(row, self._store.zone)

    # -- evidence ------------------------------------------------------------------------------------------

    def add(self, item: NewEvidence) -> tuple[Evidence, bool]:
        """File `item`; returns (record, True). Idempotent on (message_id, part): if it is already filed (a message
        delivered twice), returns the existing record and False, changing nothing."""
        record, fresh, _ = self.intake(item)
        return record, fresh

    def intake(self, item: NewEvidence, near_distance: int | None = None) -> tuple[Evidence, bool, int]:
        """`add`, in one transaction with what intake needs around it: when `near_distance` is given and the item
        is a photo, first flag it as a duplicate (the same bytes as an earlier photo) or near duplicate (perceptual
        hash within `near_distance` bits) of the earliest such photo; afterwards count the photos that count for
        its (activity, unit). Returns (record, fresh, count); the count is 0 while either is unknown.

        Concurrent intakes of the same photo are serialised by the write transaction, so exactly one of them is
        the original and the others are flagged."""
        with self._write() as conn:
            if near_distance is not None and item.sha256 and item.phash:
                exact, near = self._hashes.similar(conn, item.sha256, item.phash, near_distance)
                flags = [f for f in item.flags if f not in NOT_COUNTED]
                if exact is not None:
                    flags.append(Flag.DUPLICATE)
                elif near is not None:
                    flags.append(Flag.NEAR_DUPLICATE)
                item = replace(item, flags=tuple(flags), duplicate_of=exact if exact is not None else near)
            record, fresh = self._add(conn, item)
            count = 0
            if record.activity_id and record.unit_id:
                count = conn.execute(_COUNT, {"a": record.activity_id, "u": record.unit_id}).scalar_one()
        return record, fresh, int(count)

    def _add(self, conn: Connection, item: NewEvidence) -> tuple[Evidence, bool]:
        values = {
            "message_id": item.message_id,
            "part": item.part,
            "kind": item.kind,
            "activity_id": item.activity_id,
            "unit_id": item.unit_id,
            "sender": item.sender,
            "sender_name": item.sender_name,
            "group_id": item.group_id,
            "received_at": aware_utc(item.received_at, "received_at"),
            "exif_at": item.exif_at,
            "size": item.size,
            "sha256": item.sha256,
            "phash": item.phash,
            "ext": item.ext,
            "width": item.width,
            "height": item.height,
            "status": item.status.value,
            "flags": flags_text(item.flags),
            "duplicate_of": item.duplicate_of,
            "text": item.text,
            "reason": item.reason,
        }
        # RETURNING: None on a conflict.
        row = conn.execute(insert_ignore_returning(conn, evidence), values).one_or_none()
        inserted = row is not None
        record = self._evidence(
            row if row is not None else conn.execute(_BY_PART, {"m": item.message_id, "p": item.part}).one()
        )
        if inserted:
            detail = f"{item.kind} {item.status.value}" + (f" {item.reason}" if item.reason else "")
            who = item.sender_name or item.sender
            write_log(conn, item.received_at, who, "intake", f"evidence:{record.id}", detail)
        return record, inserted

    def get(self, evidence_id: int) -> Evidence | None:
        with self._read() as conn:
            row = conn.execute(select(evidence).where(evidence.c.id == evidence_id)).one_or_none()
        return None if row is None else self._evidence(row)

    def items(self, activity_ids: Iterable[str] | None = None) -> list[Evidence]:
        """Records ordered by (received_at, id); only those filed under `activity_ids` when given."""
        stmt = select(evidence).order_by(evidence.c.received_at, evidence.c.id)
        if activity_ids is not None:
            stmt = stmt.where(evidence.c.activity_id.in_(sorted(set(activity_ids))))
        with self._read() as conn:
            return [self._evidence(r) for r in conn.execute(stmt).all()]

    def unfiled(self, start: datetime, end: datetime) -> list[Evidence]:
        """Records filed under no activity or no unit, received in [start, end), ordered by (received_at, id)."""
        stmt = (
            select(evidence)
            .where(evidence.c.activity_id.is_(None) | evidence.c.unit_id.is_(None))
            .where(evidence.c.received_at >= aware_utc(start, "start"), evidence.c.received_at < aware_utc(end, "end"))
            .order_by(evidence.c.received_at, evidence.c.id)
        )
        with self._read() as conn:
            return [self._evidence(r) for r in conn.execute(stmt).all()]

    def pending(self, sender: str) -> list[Evidence]:
        with self._read() as conn:
            rows = conn.execute(
                select(evidence)
                .where(evidence.c.sender == sender, evidence.c.status == EvidenceStatus.PENDING.value)
                .order_by(evidence.c.id)
            ).all()
        return [self._evidence(r) for r in rows]

    def last_filed(self, sender: str, since: datetime) -> Evidence | None:
        """The sender's most recent item filed under an activity since `since` (to carry a hint over a burst)."""
        with self._read() as conn:
            row = conn.execute(
                select(evidence)
                .where(
                    evidence.c.sender == sender,
                    evidence.c.activity_id.is_not(None),
                    evidence.c.received_at >= aware_utc(since, "since"),
                )
                .order_by(evidence.c.received_at.desc(), evidence.c.id.desc())
                .limit(1)
            ).one_or_none()
        return None if row is None else self._evidence(row)

    def count(self, activity_id: str, unit_id: str) -> int:
        """Photos that count for (activity, unit): accepted and not duplicates."""
        with self._read() as conn:
            n = conn.execute(
                select(func.count())
                .select_from(evidence)
                .where(evidence.c.activity_id == activity_id, evidence.c.unit_id == unit_id, counted_clause())
            ).scalar_one()
        return int(n)

    def file(
        self,
        evidence_id: int,
        *,
        activity_id: str | None,
        unit_id: str | None,
        actor: str,
        at: datetime,
        why: str,
        flags: tuple[Flag, ...] | None = None,
    ) -> Evidence:
        """File a PENDING item under (activity, unit) and accept it (or keep it pending while either is unknown);
        `flags`, when given, replace the item's (the EXIF check depends on the activity)."""
        status = EvidenceStatus.ACCEPTED if activity_id and unit_id else EvidenceStatus.PENDING
        values: dict[str, Any] = {"activity_id": activity_id, "unit_id": unit_id, "status": status.value}
        if flags is not None:
            values["flags"] = flags_text(flags)
        return self._change(
            evidence_id,
            values,
            actor,
            at,
            "file",
            why,
            only_status=EvidenceStatus.PENDING,
        )

    def reject(self, evidence_id: int, *, actor: str, at: datetime, reason: str) -> Evidence:
        """Admin's #驳回: the item stays in the ledger as REJECTED and no longer counts. KeyError if unknown."""
        return self._change(
            evidence_id, {"status": EvidenceStatus.REJECTED.value, "reason": reason}, actor, at, "reject", reason
        )

    def expire(self, evidence_id: int, *, at: datetime, reason: str) -> Evidence:
        """A PENDING item nobody claimed in time (a stranger's photo, no binding approved before the window closed)
        becomes REFUSED with the reason; an item no longer pending is left as it is."""
        values = {"status": EvidenceStatus.REFUSED.value, "reason": reason}
        return self._change(evidence_id, values, "大喇叭", at, "expire", reason, only_status=EvidenceStatus.PENDING)

    def reassign(
        self,
        evidence_id: int,
        *,
        unit_id: str | None,
        activity_id: str | None,
        actor: str,
        at: datetime,
        flags: tuple[Flag, ...] | None = None,
    ) -> Evidence:
        """Admin's #改派: move an item to another unit and/or activity (None keeps the current one); a PENDING or
        REJECTED item becomes ACCEPTED once both are known (reassigning is a decision); `flags`, when given,
        replace the item's. KeyError if unknown."""
        current = self.get(evidence_id)
        if current is None:
            raise KeyError(evidence_id)
        unit = unit_id or current.unit_id
        activity = activity_id or current.activity_id
        values: dict[str, Any] = {"unit_id": unit, "activity_id": activity}
        if current.status is not EvidenceStatus.REFUSED and unit and activity:
            values["status"] = EvidenceStatus.ACCEPTED.value
        if flags is not None:
            values["flags"] = flags_text(flags)
        detail = f"{current.unit_id}/{current.activity_id} → {unit}/{activity}"
        return self._change(evidence_id, values, actor, at, "reassign", detail)

    def _change(
        self,
        evidence_id: int,
        values: dict[str, Any],
        actor: str,
        at: datetime,
        action: str,
        detail: str,
        only_status: EvidenceStatus | None = None,
    ) -> Evidence:
        where = evidence.c.id == evidence_id
        if only_status is not None:
            where = where & (evidence.c.status == only_status.value)
        with self._write() as conn:
            changed = conn.execute(update(evidence).where(where).values(**values)).rowcount
            row = conn.execute(select(evidence).where(evidence.c.id == evidence_id)).one_or_none()
            if row is None:
                raise KeyError(evidence_id)
            if changed == 1:
                write_log(conn, at, actor, action, f"evidence:{evidence_id}", detail)
        return self._evidence(row)

    # -- bindings (`bot.store.bindings`, recorded by `binds.request`) and the log (`bot.store.ledger_log`) ---

    def binding(self, binding_id: int) -> Binding | None:
        return self.binds.get(binding_id)

    def bindings(self, status: BindingStatus | None = None) -> list[Binding]:
        return self.binds.all(status)

    def approved_unit(self, sender: str, sender_wechat: str = "") -> str | None:
        """The unit an approved binding gives this sender (the latest decision wins), or None."""
        return self.binds.approved_unit(sender, sender_wechat)

    def decide_binding(self, binding_id: int, *, approve: bool, actor: str, at: datetime) -> tuple[Binding, bool]:
        """Approve or reject a PENDING binding; see `BindingStore.decide`."""
        return self.binds.decide(binding_id, approve=approve, actor=actor, at=at)

    def log(self, *, actor: str, action: str, subject: str, detail: str, at: datetime) -> None:
        self.ledger_log.log(actor=actor, action=action, subject=subject, detail=detail, at=at)

    def history(self, subject: str | None = None) -> list[LogEntry]:
        return self.ledger_log.history(subject)


__all__ = [
    "FLAG_CN",
    "Binding",
    "BindingStatus",
    "Evidence",
    "EvidenceStatus",
    "EvidenceStore",
    "FileStore",
    "Flag",
    "LogEntry",
    "NewEvidence",
    "counted_units",
]
