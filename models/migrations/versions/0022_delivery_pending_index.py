"""an index of the pending deliveries, by age

Revision ID: 0022_delivery_pending_index
Revises: 0021_tenant_rate_limit
Create Date: 2026-12-02 19:20:00

Adds ``ix_delivery_pending_created``, a partial index of the pending deliveries by
creation time: ``/metrics`` reads at every scrape how many deliveries wait and how old
the oldest is, from this index alone, however many deliveries succeeded before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_delivery_pending_index"
down_revision = "0021_tenant_rate_limit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_delivery_pending_created", "delivery", ["created_at"],
                    postgresql_where=sa.text("status = 'pending'"),
                    sqlite_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index("ix_delivery_pending_created", table_name="delivery")
