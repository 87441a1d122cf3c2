"""Proof evidence: photos and notes from units, self-service bindings of senders to units, and the ledger's log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Files live on disk under the data folder, named by their SHA-256; these tables hold what is known about them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("activity_id", sa.String(200), nullable=True),
        sa.Column("unit_id", sa.String(200), nullable=True),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.Column("group_id", sa.String(200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exif_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("phash", sa.String(16), nullable=True),
        sa.Column("ext", sa.String(8), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evidence"),
        sa.UniqueConstraint("message_id", "part", name="uq_evidence_message_part"),
    )
    op.create_index("ix_evidence_activity_unit", "evidence", ["activity_id", "unit_id"])
    op.create_index("ix_evidence_sha256", "evidence", ["sha256"])
    op.create_index("ix_evidence_sender", "evidence", ["sender", "status"])

    op.create_table(
        "bindings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("sender_wechat", sa.String(200), nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bindings"),
        sa.UniqueConstraint("message_id", name="uq_bindings_message_id"),
    )
    op.create_index("ix_bindings_sender", "bindings", ["sender", "status"])

    op.create_table(
        "ledger_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_log"),
    )
    op.create_index("ix_ledger_log_subject", "ledger_log", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_ledger_log_subject", table_name="ledger_log")
    op.drop_table("ledger_log")
    op.drop_index("ix_bindings_sender", table_name="bindings")
    op.drop_table("bindings")
    op.drop_index("ix_evidence_sender", table_name="evidence")
    op.drop_index("ix_evidence_sha256", table_name="evidence")
    op.drop_index("ix_evidence_activity_unit", table_name="evidence")
    op.drop_table("evidence")
