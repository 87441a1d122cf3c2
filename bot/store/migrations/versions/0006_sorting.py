"""Sorting questions: what villagers asked in their groups, what the bot matched, and whether it answered.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

One row per item asked in a message; unknown items (no match) are the office's list to classify.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sorting_questions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("asked", sa.Text(), nullable=False),
        sa.Column("item_key", sa.String(200), nullable=False),
        sa.Column("matched", sa.Text(), nullable=True),
        sa.Column("category", sa.String(16), nullable=True),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.Column("group_id", sa.String(200), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sorting_questions"),
        sa.UniqueConstraint("message_id", "part", name="uq_sorting_questions_message_part"),
    )
    op.create_index("ix_sorting_questions_sender_item", "sorting_questions", ["sender", "item_key", "asked_at"])
    op.create_index("ix_sorting_questions_status", "sorting_questions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_sorting_questions_status", table_name="sorting_questions")
    op.drop_index("ix_sorting_questions_sender_item", table_name="sorting_questions")
    op.drop_table("sorting_questions")
