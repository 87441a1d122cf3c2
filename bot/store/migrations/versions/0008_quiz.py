"""Weekly quiz answers: each villager's first choice per quiz, with the village it counts for.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quiz_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("quiz_key", sa.String(60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=False),
        sa.Column("group_id", sa.String(200), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("choice", sa.String(1), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quiz_answers"),
        sa.UniqueConstraint("quiz_key", "sender", name="uq_quiz_answers_quiz_sender"),
    )
    op.create_index("ix_quiz_answers_month", "quiz_answers", ["year", "month"])


def downgrade() -> None:
    op.drop_index("ix_quiz_answers_month", table_name="quiz_answers")
    op.drop_table("quiz_answers")
