"""audit trail, and expectations by phone

Revision ID: 0023_audit
Revises: 0022_delivery_pending_index
Create Date: 2026-12-02 19:30:00

Adds ``audit_event``: one row per change made through the admin or tenant API or the
console (services/audit.py). Adds ``ix_expectation_tenant_phone``: an erasure finds a
person's expectations by phone without reading every expectation of the tenant
(receipts have ``ix_receipt_tenant_phone``; messages are found by the message ids of
the erased receipts, so ingest pays for no new index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023_audit"
down_revision = "0022_delivery_pending_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=True),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target_type", sa.String(40), nullable=False),
        sa.Column("target_id", sa.String(200), nullable=True),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                  nullable=False),
    )
    op.create_index("ix_audit_event_tenant", "audit_event", ["tenant_id", "id"])
    op.create_index("ix_expectation_tenant_phone", "expectation", ["tenant_id", "phone"])


def downgrade() -> None:
    op.drop_index("ix_expectation_tenant_phone", table_name="expectation")
    op.drop_index("ix_audit_event_tenant", table_name="audit_event")
    op.drop_table("audit_event")
