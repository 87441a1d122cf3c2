"""Which units have proof for an activity: the rule over both the `proofs` table (proof recorded by hand) and the
ledger's `evidence` (photos that count: accepted, not duplicates), in one place where both tables are visible."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from bot.store.evidence_records import NOT_COUNTED, EvidenceStatus
from bot.store.schema import evidence, proofs


def counted_clause() -> Any:
    clause = (evidence.c.kind == "photo") & (evidence.c.status == EvidenceStatus.ACCEPTED.value)
    for flag in NOT_COUNTED:
        clause = clause & ~evidence.c.flags.contains(flag.value)
    return clause


def counted_units(conn: Connection, activity_id: str, min_photos: int) -> set[str]:
    """Units with at least max(min_photos, 1) counted photos for the activity, inside the caller's transaction.

    The rule `Evidence.counts` states in Python, as SQL: accepted photos that are not duplicates."""
    rows = conn.execute(
        select(evidence.c.unit_id)
        .where(evidence.c.activity_id == activity_id, evidence.c.unit_id.is_not(None), counted_clause())
        .group_by(evidence.c.unit_id)
        .having(func.count() >= max(min_photos, 1))
    ).scalars()
    return {u for u in rows if u is not None}


def units_with_proof(conn: Connection, activity_id: str, min_photos: int) -> frozenset[str]:
    """Units with proof for the activity: a `proofs` row, or enough counted photos (`counted_units`)."""
    units = set(conn.execute(select(proofs.c.unit_id).where(proofs.c.activity_id == activity_id).distinct()).scalars())
    units |= counted_units(conn, activity_id, min_photos)
    return frozenset(units)
