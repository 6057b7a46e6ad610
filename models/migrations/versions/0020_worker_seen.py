"""worker heartbeats

Revision ID: 0020_worker_seen
Revises: 0019_stats_reason_grains
Create Date: 2026-12-02 16:55:00

Adds ``worker_seen``: one row per worker process, written by the process itself every
``DLRHUB_HEARTBEAT_SECONDS`` (tasks/heartbeat.py), so that the admin's system page can
list the workers seen recently, idle ones included.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_worker_seen"
down_revision = "0019_stats_reason_grains"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "worker_seen",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("worker_seen")
