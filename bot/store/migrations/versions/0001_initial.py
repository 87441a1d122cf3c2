"""Initial schema: the delivery log, the service start record, and proofs.

Revision ID: 0001
Revises:
Create Date: 2024-11-29

Hand-written and frozen: later schema changes go in new revisions, never here. Datetime columns are
`timestamptz` on PostgreSQL; on SQLite they hold naive UTC text (see `bot.store.sql.UtcDateTime`).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("job_key", sa.String(200), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("runner", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("job_key", "target", name="pk_deliveries"),
    )
    # The stale-claim sweep looks for old SENDING rows.
    op.create_index("ix_deliveries_status_updated_at", "deliveries", ["status", "updated_at"])

    op.create_table(
        "service_state",
        sa.Column("town_id", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("town_id", name="pk_service_state"),
    )

    op.create_table(
        "proofs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("activity_id", sa.String(200), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_proofs"),
    )
    op.create_index("ix_proofs_activity_id", "proofs", ["activity_id"])


def downgrade() -> None:
    op.drop_index("ix_proofs_activity_id", table_name="proofs")
    op.drop_table("proofs")
    op.drop_table("service_state")
    op.drop_index("ix_deliveries_status_updated_at", table_name="deliveries")
    op.drop_table("deliveries")
