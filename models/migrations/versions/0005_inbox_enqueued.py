"""inbox rows remember when they were last enqueued, so the sweep spares a backlog

Revision ID: 0005_inbox_enqueued
Revises: 0004
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_inbox_enqueued"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_callback") as batch:
        batch.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    # Rows pending now were enqueued when they arrived, as far as anyone knows.
    op.execute("UPDATE inbound_callback SET enqueued_at = received_at WHERE state = 'pending'")
    # Only pending rows: the sweep's scan stays as small as the work left to do.
    op.create_index("ix_inbox_pending_enqueued", "inbound_callback",
                    ["enqueued_at", "received_at"],
                    postgresql_where=sa.text("state = 'pending'"),
                    sqlite_where=sa.text("state = 'pending'"))


def downgrade() -> None:
    op.drop_index("ix_inbox_pending_enqueued", table_name="inbound_callback")
    with op.batch_alter_table("inbound_callback") as batch:
        batch.drop_column("enqueued_at")
