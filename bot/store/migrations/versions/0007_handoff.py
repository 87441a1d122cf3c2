"""Where a message leaves: when each delivery was handed to the network, and which runners are alive.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

A claim alone does not say whether a message left: a runner may stop while the message waits for its pacing gap.
`handed_at` is written just before the network call, so after a crash a delivery that never left is sent again and
only one that did is reported as possibly sent. `runners` holds each runner's heartbeat, so a claim whose runner
stopped is told from one that is merely waiting. `plan_snapshots` keeps the town's files as they were when they last
loaded without error, so a restart with a broken file runs the last good plan instead of refusing to start.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("handed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "runners",
        sa.Column("runner", sa.String(200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("runner", name="pk_runners"),
    )
    op.create_table(
        "plan_snapshots",
        sa.Column("town_key", sa.String(200), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("town_key", name="pk_plan_snapshots"),
    )


def downgrade() -> None:
    op.drop_table("plan_snapshots")
    op.drop_table("runners")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("handed_at")
