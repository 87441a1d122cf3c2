"""WeChat rooms: each configured group's resolved room id, kept across restarts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

A group is configured by name (its WeChat topic) and resolved once to the network's stable room id; topics change
and may hold emoji, ids don't.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column("channel", sa.String(50), nullable=False),
        sa.Column("group_id", sa.String(200), nullable=False),
        sa.Column("room_id", sa.String(200), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "group_id", name="pk_rooms"),
    )
    op.create_index("ix_rooms_room_id", "rooms", ["channel", "room_id"])


def downgrade() -> None:
    op.drop_index("ix_rooms_room_id", table_name="rooms")
    op.drop_table("rooms")
