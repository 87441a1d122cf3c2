"""Alerts to the admins deferred over quiet hours, kept in the database so a restart doesn't lose them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deferred_alerts",
        sa.Column("alert_key", sa.String(200), nullable=False),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("variables", sa.Text(), nullable=False),
        sa.Column("deferred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alert_key", name="pk_deferred_alerts"),
    )


def downgrade() -> None:
    op.drop_table("deferred_alerts")
