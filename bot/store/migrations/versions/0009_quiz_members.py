"""How many people each group had when a weekly quiz ran there: the 参与率's denominator.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quiz_members",
        sa.Column("quiz_key", sa.String(60), nullable=False),
        sa.Column("group_id", sa.String(200), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("quiz_key", "group_id", name="pk_quiz_members"),
    )
    op.create_index("ix_quiz_members_month", "quiz_members", ["year", "month"])


def downgrade() -> None:
    op.drop_index("ix_quiz_members_month", table_name="quiz_members")
    op.drop_table("quiz_members")
