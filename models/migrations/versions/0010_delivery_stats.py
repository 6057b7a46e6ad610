"""the delivery aggregate that GET /v1/analytics/delivery reads

Revision ID: 0010_delivery_stats
Revises: 0009_expectations
Create Date: 2026-12-02 08:30:00

One table of counters kept up to date as messages change (services/analytics): per
tenant, grain, time bucket and dimensions, the messages by status, the expectations, and
two latency histograms. Starts empty: messages recorded from now on fill it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_delivery_stats"
down_revision = "0009_expectations"
branch_labels = None
depends_on = None

# Written out rather than imported: a migration must keep creating what it created
# when it was written, whatever models/tables.py says later.
_KEY = ("tenant_id", "grain", "bucket", "account_id", "provider", "country", "carrier",
        "template", "reason_class")
_COUNTERS = ("messages", "delivered", "failed", "expired", "rejected", "unknown",
             "pending", "expected", "missing")
_BUCKETS = 30


def upgrade() -> None:
    added = [*_COUNTERS, *(f"handset_{i:02d}" for i in range(_BUCKETS)),
             *(f"lag_{i:02d}" for i in range(_BUCKETS))]
    op.create_table(
        "delivery_stats",
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("grain", sa.String(16), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("carrier", sa.String(40), nullable=False),
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("reason_class", sa.String(40), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0")
          for name in added),
        sa.PrimaryKeyConstraint(*_KEY, name="pk_delivery_stats"),
    )


def downgrade() -> None:
    op.drop_table("delivery_stats")
