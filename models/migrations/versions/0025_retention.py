"""retention periods

Revision ID: 0025_retention
Revises: 0024_ops_events
Create Date: 2026-12-02 19:20:00

Adds a tenant's own retention periods (``tenant.retain_*_days``, NULL: the system
default of ``DLRHUB_RETAIN_*_DAYS``), and the one index the purge of expired rows
(services/retention.py) lacked: ``delivery (tenant_id, status, created_at)``, so that a
tenant's finished deliveries are deleted oldest first by an index range. The purge's
other predicates already have theirs: ``ix_inbox_tenant_state`` (tenant, state,
received_at), ``ix_receipt_tenant_received`` (tenant, received_at, id),
``ix_attempt_delivery`` (delivery_id, at), ``ix_expectation_tenant_deadline`` (tenant,
deadline_at), and the message table's primary key (tenant, message_id, ...).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_retention"
down_revision = "0024_ops_events"
branch_labels = None
depends_on = None

_PERIODS = ("retain_inbox_days", "retain_receipts_days", "retain_deliveries_days",
            "retain_expectations_days")


# Plain ALTER TABLEs on both databases (SQLite has DROP COLUMN since 3.35): SQLite's
# batch mode would copy ``tenant``, which the foreign keys of every other table refuse.


def upgrade() -> None:
    for name in _PERIODS:
        op.add_column("tenant", sa.Column(name, sa.Integer(), nullable=True))
    op.create_index("ix_delivery_tenant_status_created", "delivery",
                    ["tenant_id", "status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_delivery_tenant_status_created", table_name="delivery")
    for name in reversed(_PERIODS):
        op.drop_column("tenant", name)
