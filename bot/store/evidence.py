"""Evidence persistence: what units sent as proof (metadata in the database, files on disk by content hash),
bindings of unknown senders to units, and the ledger's log of every change (who, when, what).

Built on a `SqlStore`'s engine and its `metadata` (migration 0003). Files are named only by their SHA-256 and an
extension from a fixed list, never by anything a sender chose, so no user input ever reaches a path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection

from bot.store.sql import SqlStore, UtcDateTime, _aware_utc, metadata

if TYPE_CHECKING:
    import numpy as np


class EvidenceStatus(StrEnum):
    ACCEPTED = "accepted"  # filed under a unit and activity
    PENDING = "pending"  # kept, waiting to know which activity (ask sent) or which unit (binding not yet approved)
    REFUSED = "refused"  # not a photo, or over the limits: recorded with the reason, the bytes are not kept
    REJECTED = "rejected"  # an admin said no (#驳回); kept, with who and why in the log


class Flag(StrEnum):
    DUPLICATE = "duplicate"  # the same file as an earlier submission
    NEAR_DUPLICATE = "near_duplicate"  # looks the same as an earlier submission (perceptual hash)
    EXIF_OUTSIDE = "exif_outside"  # taken (EXIF) outside the activity's window


FLAG_CN: Final = {
    Flag.DUPLICATE: "重复照片",
    Flag.NEAR_DUPLICATE: "疑似重复",
    Flag.EXIF_OUTSIDE: "拍摄时间不在活动期间",
}

# Duplicates show in the ledger but never count towards a unit's photos: one photo sent twice is one photo.
NOT_COUNTED: Final = frozenset({Flag.DUPLICATE, Flag.NEAR_DUPLICATE})


class BindingStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


evidence = Table(
    "evidence",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("message_id", String(200), nullable=False),
    Column("part", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("activity_id", String(200)),
    Column("unit_id", String(200)),
    Column("sender", String(200), nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("group_id", String(200)),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("exif_at", UtcDateTime()),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64)),
    Column("phash", String(16)),
    Column("ext", String(8)),
    Column("width", Integer),
    Column("height", Integer),
    Column("status", String(16), nullable=False),
    Column("flags", Text, nullable=False),
    Column("duplicate_of", Integer),
    Column("text", Text, nullable=False),
    Column("reason", Text, nullable=False),
    PrimaryKeyConstraint("id", name="pk_evidence"),
    UniqueConstraint("message_id", "part", name="uq_evidence_message_part"),
    Index("ix_evidence_activity_unit", "activity_id", "unit_id"),
    Index("ix_evidence_sha256", "sha256"),
    Index("ix_evidence_sender", "sender", "status"),
)

bindings = Table(
    "bindings",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("sender", String(200), nullable=False),
    Column("sender_wechat", String(200), nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("unit_id", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime()),
    Column("decided_by", Text, nullable=False),
    PrimaryKeyConstraint("id", name="pk_bindings"),
    UniqueConstraint("message_id", name="uq_bindings_message_id"),
    Index("ix_bindings_sender", "sender", "status"),
)

ledger_log = Table(
    "ledger_log",
    metadata,
    Column("id", Integer, nullable=False, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("detail", Text, nullable=False),
    PrimaryKeyConstraint("id", name="pk_ledger_log"),
    Index("ix_ledger_log_subject", "subject"),
)


@dataclass(frozen=True)
class NewEvidence:
    """One item as intake saw it. `part` tells apart the attachments of one message (0 for its text)."""

    message_id: str
    part: int
    kind: str  # "photo", "note" or "file"
    sender: str
    sender_name: str
    received_at: datetime
    status: EvidenceStatus
    activity_id: str | None = None
    unit_id: str | None = None
    group_id: str | None = None
    exif_at: datetime | None = None
    size: int = 0
    sha256: str | None = None
    phash: str | None = None
    ext: str | None = None
    width: int | None = None
    height: int | None = None
    flags: tuple[Flag, ...] = ()
    duplicate_of: int | None = None
    text: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Evidence(NewEvidence):
    id: int = 0

    @property
    def counts(self) -> bool:
        """Whether this item counts towards the unit's photos for its activity."""
        return (
            self.kind == "photo"
            and self.status is EvidenceStatus.ACCEPTED
            and not any(f in NOT_COUNTED for f in self.flags)
        )


@dataclass(frozen=True)
class Binding:
    id: int
    sender: str
    sender_wechat: str
    sender_name: str
    unit_id: str
    status: BindingStatus
    message_id: str
    requested_at: datetime
    decided_at: datetime | None
    decided_by: str


@dataclass(frozen=True)
class LogEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: str


def _flags_text(flags: Iterable[Flag]) -> str:
    return ",".join(sorted({f.value for f in flags}))


def _flags(text: str) -> tuple[Flag, ...]:
    return tuple(Flag(f) for f in text.split(",") if f)


def _counted_clause() -> Any:
    clause = (evidence.c.kind == "photo") & (evidence.c.status == EvidenceStatus.ACCEPTED.value)
    for flag in NOT_COUNTED:
        clause = clause & ~evidence.c.flags.contains(flag.value)
    return clause


def counted_units(conn: Connection, activity_id: str, min_photos: int) -> set[str]:
    """Units with at least max(min_photos, 1) counted photos for the activity, inside the caller's transaction.

    The rule `Evidence.counts` states in Python, as SQL: accepted photos that are not duplicates."""
    rows = conn.execute(
        select(evidence.c.unit_id)
        .where(evidence.c.activity_id == activity_id, evidence.c.unit_id.is_not(None), _counted_clause())
        .group_by(evidence.c.unit_id)
        .having(func.count() >= max(min_photos, 1))
    ).scalars()
    return {u for u in rows if u is not None}


# Intake's statements, built once: building SQLAlchemy statements costs more than running them on SQLite.
_COUNT: Final = (
    select(func.count())
    .select_from(evidence)
    .where(evidence.c.activity_id == bindparam("a"), evidence.c.unit_id == bindparam("u"), _counted_clause())
)
_BY_PART: Final = select(evidence).where(evidence.c.message_id == bindparam("m"), evidence.c.part == bindparam("p"))
_HASHES_SINCE: Final = (
    select(evidence.c.id, evidence.c.sha256, evidence.c.phash)
    .where(evidence.c.phash.is_not(None), evidence.c.id > bindparam("upto"))
    .order_by(evidence.c.id)
)
_LOG: Final = ledger_log.insert()
_INSERT_IGNORE: dict[tuple[str, str], Any] = {}


def _insert_ignore(conn: Connection, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the row, for the connection's database, built once per (database,
    table): a row back means it went in, none means the key was there (see `SqlStore._insert_ignore`)."""
    key = (conn.dialect.name, table.name)
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        # The dialects' modules, only the one in use: PostgreSQL's costs a SQLite daemon 0.1 s at start-up.
        from sqlalchemy.dialects import postgresql, sqlite

        if conn.dialect.name == "postgresql":
            stmt = postgresql.insert(table).on_conflict_do_nothing()
        elif conn.dialect.name == "sqlite":
            stmt = sqlite.insert(table).on_conflict_do_nothing()
        else:
            raise NotImplementedError(f"unsupported database: {conn.dialect.name}")
        stmt = _INSERT_IGNORE[key] = stmt.returning(*table.c)
    return stmt


class FileStore:
    """Photos and thumbnails on disk, content-addressed: `<root>/ab/<sha256>.<ext>` and `<root>/thumbs/ab/<sha>.jpg`
    (thumbnails are made when a report first needs them).

    Writes are atomic (temporary file, then rename), so a crash never leaves half a photo under its final name;
    writing the same content twice is a no-op."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirs: set[Path] = set()

    @staticmethod
    def _check(sha256: str, ext: str) -> None:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"sha256 must be 64 lower-case hex digits, got: {sha256!r}")
        if not ext.isalnum() or not ext.isascii() or len(ext) > 8:
            raise ValueError(f"ext must be a short alphanumeric extension, got: {ext!r}")

    def path(self, sha256: str, ext: str) -> Path:
        self._check(sha256, ext)
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def thumb_path(self, sha256: str) -> Path:
        self._check(sha256, "jpg")
        return self.root / "thumbs" / sha256[:2] / f"{sha256}.jpg"

    def put(self, sha256: str, ext: str, data: bytes) -> Path:
        """Write the file unless a file of the same size is already there (same hash: same content)."""
        return self._write(self.path(sha256, ext), data)

    def put_thumb(self, sha256: str, data: bytes) -> Path:
        return self._write(self.thumb_path(sha256), data)

    def thumb(self, sha256: str) -> bytes | None:
        p = self.thumb_path(sha256)
        return p.read_bytes() if p.is_file() else None

    def original(self, sha256: str, extensions: Iterable[str]) -> Path | None:
        """The stored file with this hash, trying each known extension."""
        for ext in extensions:
            p = self.path(sha256, ext)
            if p.is_file():
                return p
        return None

    def _write(self, path: Path, data: bytes) -> Path:
        try:
            if path.stat().st_size == len(data):
                return path
        except FileNotFoundError:
            pass
        parent = path.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        created = False
        try:
            # Exclusive create: a crash mid-write leaves a short file, which the size check above replaces.
            with open(path, "xb") as f:
                created = True
                f.write(data)
            return path
        except FileExistsError:
            pass  # a short file from a crash, or another process writing the same content right now
        except BaseException:
            if created:  # a write that failed (a full disk) leaves no short file behind
                path.unlink(missing_ok=True)
            raise
        # Unique per process and thread, in the final folder so the rename is atomic.
        tmp = parent / f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return path


class EvidenceStore:
    """The ledger's records in the store's database. Every method is one short transaction; every change an
    admin or intake makes to a record is written to `ledger_log` in the same transaction."""

    def __init__(self, store: SqlStore, files_root: Path) -> None:
        self._store = store
        self._engine = store.engine
        self.files = FileStore(files_root)
        # What `_similar` compares against: every kept photo's id and 64-bit hash, and the first id of each file.
        # numpy arrays, made on the first comparison (numpy is loaded then, not when the daemon starts).
        self._ids: np.ndarray[Any, np.dtype[np.int64]] | None = None
        self._bits: np.ndarray[Any, np.dtype[np.uint64]] | None = None
        self._first_of_sha: dict[str, int] = {}
        self._hashes_upto = 0

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

    def _local(self, value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(self._store.zone)

    def _evidence(self, row: Row[Any]) -> Evidence:
        m = row._mapping
        received = self._local(m["received_at"])
        assert received is not None
        return Evidence(
            id=m["id"],
            message_id=m["message_id"],
            part=m["part"],
            kind=m["kind"],
            sender=m["sender"],
            sender_name=m["sender_name"],
            received_at=received,
            status=EvidenceStatus(m["status"]),
            activity_id=m["activity_id"],
            unit_id=m["unit_id"],
            group_id=m["group_id"],
            exif_at=self._local(m["exif_at"]),
            size=m["size"],
            sha256=m["sha256"],
            phash=m["phash"],
            ext=m["ext"],
            width=m["width"],
            height=m["height"],
            flags=_flags(m["flags"]),
            duplicate_of=m["duplicate_of"],
            text=m["text"],
            reason=m["reason"],
        )

    @staticmethod
    def _log(conn: Connection, at: datetime, actor: str, action: str, subject: str, detail: str) -> None:
        values = {"at": _aware_utc(at, "at"), "actor": actor, "action": action, "subject": subject, "detail": detail}
        conn.execute(_LOG, values)

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
                exact, near = self._similar(conn, item.sha256, item.phash, near_distance)
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
            "received_at": _aware_utc(item.received_at, "received_at"),
            "exif_at": item.exif_at,
            "size": item.size,
            "sha256": item.sha256,
            "phash": item.phash,
            "ext": item.ext,
            "width": item.width,
            "height": item.height,
            "status": item.status.value,
            "flags": _flags_text(item.flags),
            "duplicate_of": item.duplicate_of,
            "text": item.text,
            "reason": item.reason,
        }
        row = conn.execute(_insert_ignore(conn, evidence), values).one_or_none()  # RETURNING: None on a conflict
        inserted = row is not None
        record = self._evidence(
            row if row is not None else conn.execute(_BY_PART, {"m": item.message_id, "p": item.part}).one()
        )
        if inserted:
            detail = f"{item.kind} {item.status.value}" + (f" {item.reason}" if item.reason else "")
            who = item.sender_name or item.sender
            self._log(conn, item.received_at, who, "intake", f"evidence:{record.id}", detail)
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
            .where(
                evidence.c.received_at >= _aware_utc(start, "start"), evidence.c.received_at < _aware_utc(end, "end")
            )
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
                    evidence.c.received_at >= _aware_utc(since, "since"),
                )
                .order_by(evidence.c.received_at.desc(), evidence.c.id.desc())
                .limit(1)
            ).one_or_none()
        return None if row is None else self._evidence(row)

    def _similar(self, conn: Connection, sha256: str, phash: str, max_distance: int) -> tuple[int | None, int | None]:
        """(id of the first earlier photo with these exact bytes, id of the first earlier photo within
        `max_distance` bits of `phash`); either may be None.

        Photos are only ever added with their hashes (refused items have none; hashes never change), so the
        (id, sha256, hash) list is cached and each call fetches only the rows with a higher id, by any process.
        (On PostgreSQL two runners filing at the same instant could commit ids out of order and miss each other's
        photo; inbound messages come through one channel stream, so one process files them.)"""
        import numpy as np

        if self._ids is None or self._bits is None:
            self._ids, self._bits = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        rows = conn.execute(_HASHES_SINCE, {"upto": self._hashes_upto}).all()
        if rows:
            for r in rows:
                self._first_of_sha.setdefault(r[1], r[0])
            self._ids = np.concatenate([self._ids, np.array([r[0] for r in rows], dtype=np.int64)])
            self._bits = np.concatenate([self._bits, np.array([int(r[2], 16) for r in rows], dtype=np.uint64)])
            self._hashes_upto = rows[-1][0]
        exact = self._first_of_sha.get(sha256)
        close = np.flatnonzero(np.bitwise_count(self._bits ^ np.uint64(int(phash, 16))) <= max_distance)
        return exact, (int(self._ids[close[0]]) if len(close) else None)

    def count(self, activity_id: str, unit_id: str) -> int:
        """Photos that count for (activity, unit): accepted and not duplicates."""
        with self._read() as conn:
            n = conn.execute(
                select(func.count())
                .select_from(evidence)
                .where(evidence.c.activity_id == activity_id, evidence.c.unit_id == unit_id, _counted_clause())
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
            values["flags"] = _flags_text(flags)
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
            values["flags"] = _flags_text(flags)
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
                self._log(conn, at, actor, action, f"evidence:{evidence_id}", detail)
        return self._evidence(row)

    # -- bindings ------------------------------------------------------------------------------------------

    def _binding(self, row: Row[Any]) -> Binding:
        m = row._mapping
        requested = self._local(m["requested_at"])
        assert requested is not None
        return Binding(
            id=m["id"],
            sender=m["sender"],
            sender_wechat=m["sender_wechat"],
            sender_name=m["sender_name"],
            unit_id=m["unit_id"],
            status=BindingStatus(m["status"]),
            message_id=m["message_id"],
            requested_at=requested,
            decided_at=self._local(m["decided_at"]),
            decided_by=m["decided_by"],
        )

    def request_binding(
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
            "requested_at": _aware_utc(at, "at"),
            "decided_at": None,
            "decided_by": "",
        }
        with self._write() as conn:
            inserted = self._store._insert_ignore(conn, bindings, values)
            row = conn.execute(select(bindings).where(bindings.c.message_id == message_id)).one()
            binding = self._binding(row)
            if inserted:
                self._log(conn, at, sender_name or sender, "bind_request", f"binding:{binding.id}", unit_id)
        return binding, inserted

    def binding(self, binding_id: int) -> Binding | None:
        with self._read() as conn:
            row = conn.execute(select(bindings).where(bindings.c.id == binding_id)).one_or_none()
        return None if row is None else self._binding(row)

    def bindings(self, status: BindingStatus | None = None) -> list[Binding]:
        stmt = select(bindings).order_by(bindings.c.id)
        if status is not None:
            stmt = stmt.where(bindings.c.status == status.value)
        with self._read() as conn:
            return [self._binding(r) for r in conn.execute(stmt).all()]

    def approved_unit(self, sender: str, sender_wechat: str = "") -> str | None:
        """The unit an approved binding gives this sender (the latest decision wins), or None."""
        who = bindings.c.sender == sender
        if sender_wechat:
            who = who | (bindings.c.sender_wechat == sender_wechat)
        with self._read() as conn:
            row = conn.execute(
                select(bindings.c.unit_id)
                .where(who, bindings.c.status == BindingStatus.APPROVED.value)
                .order_by(bindings.c.decided_at.desc(), bindings.c.id.desc())
                .limit(1)
            ).one_or_none()
        return None if row is None else str(row[0])

    def decide_binding(self, binding_id: int, *, approve: bool, actor: str, at: datetime) -> tuple[Binding, bool]:
        """Approve or reject a PENDING binding; (binding, True) if this call decided it, False if it already was
        decided (then nothing changes). KeyError if unknown."""
        status = BindingStatus.APPROVED if approve else BindingStatus.REJECTED
        with self._write() as conn:
            changed = conn.execute(
                update(bindings)
                .where(bindings.c.id == binding_id, bindings.c.status == BindingStatus.PENDING.value)
                .values(status=status.value, decided_at=_aware_utc(at, "at"), decided_by=actor)
            ).rowcount
            row = conn.execute(select(bindings).where(bindings.c.id == binding_id)).one_or_none()
            if row is None:
                raise KeyError(binding_id)
            if changed == 1:
                self._log(conn, at, actor, f"bind_{status.value}", f"binding:{binding_id}", row._mapping["unit_id"])
        return self._binding(row), changed == 1

    # -- log -----------------------------------------------------------------------------------------------

    def log(self, *, actor: str, action: str, subject: str, detail: str, at: datetime) -> None:
        with self._write() as conn:
            self._log(conn, at, actor, action, subject, detail)

    def history(self, subject: str | None = None) -> list[LogEntry]:
        stmt = select(ledger_log).order_by(ledger_log.c.id)
        if subject is not None:
            stmt = stmt.where(ledger_log.c.subject == subject)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        out = []
        for r in rows:
            m = r._mapping
            at = self._local(m["at"])
            assert at is not None
            out.append(LogEntry(m["id"], at, m["actor"], m["action"], m["subject"], m["detail"]))
        return out


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
