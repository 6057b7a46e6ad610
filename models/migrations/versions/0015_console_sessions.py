"""console sessions

Revision ID: 0015_console_sessions
Revises: 0014_stats_reason_counters
Create Date: 2026-12-02 12:20:00

Adds ``console_session``: a browser signed in to the console (console/, services/signin.py),
kept as the SHA-256 of its id with the key or admin token it was opened with, never the
key itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_console_sessions"
down_revision = "0014_stats_reason_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=True),
        sa.Column("key_id", sa.String(40), nullable=True),
        sa.Column("admin_hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_console_session_expires", "console_session", ["expires_at"])
    op.create_index("ix_console_session_tenant", "console_session", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_console_session_tenant", "console_session")
    op.drop_index("ix_console_session_expires", "console_session")
    op.drop_table("console_session")
