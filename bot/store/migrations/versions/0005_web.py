"""The web console: accounts, sessions, sign-in failures, upload links, shared flags, hand-forwarded messages;
an index for the 台账 year grid.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_web_users"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "web_failures",
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_web_failures"),
    )
    op.create_table(
        "upload_links",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("activity_id", sa.String(200), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("expires_at", _WHEN, nullable=False),
        sa.Column("revoked_at", _WHEN, nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("token", name="pk_upload_links"),
    )
    op.create_index("ix_upload_links_unit_activity", "upload_links", ["unit_id", "activity_id"])
    op.create_table(
        "shared_flags",
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_shared_flags"),
    )
    op.create_table(
        "relay_forwards",
        sa.Column("job_key", sa.String(200), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("forwarded_by", sa.Text(), nullable=False),
        sa.Column("forwarded_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("job_key", "target", name="pk_relay_forwards"),
    )
    op.create_index("ix_evidence_ledger", "evidence", ["activity_id", "unit_id", "kind", "status", "flags"])


def downgrade() -> None:
    op.drop_index("ix_evidence_ledger", table_name="evidence")
    op.drop_table("relay_forwards")
    op.drop_table("shared_flags")
    op.drop_index("ix_upload_links_unit_activity", table_name="upload_links")
    op.drop_table("upload_links")
    op.drop_table("web_failures")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("web_users")
