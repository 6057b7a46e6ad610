"""receipt filter indexes

Revision ID: 0018_receipt_filter_indexes
Revises: 0017_console_signin_failures
Create Date: 2026-12-02 15:50:00

Adds two partial indexes on ``receipt`` for the receipts list's ``type`` and ``status``
filters (``GET /v1/receipts``, ``/console/receipts``), newest first. Without them a
filter on a rare value reads the tenant's receipts from the newest until it has a page:
``type=sms.inbound`` on a tenant of 1,000,000 status receipts read all of them (about
0.3-0.6 s). Each leaves out the common value (``sms.status``; ``delivered``), which the
``(tenant_id, received_at, id)`` index finds within a few rows, so ingest writes an
entry only for the rarer receipts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_receipt_filter_indexes"
down_revision = "0017_console_signin_failures"
branch_labels = None
depends_on = None

_NOT_STATUS_EVENT = sa.text("type <> 'sms.status'")
_NOT_DELIVERED = sa.text("status <> 'delivered'")


def upgrade() -> None:
    op.create_index("ix_receipt_tenant_type", "receipt",
                    ["tenant_id", "type", "received_at", "id"],
                    postgresql_where=_NOT_STATUS_EVENT, sqlite_where=_NOT_STATUS_EVENT)
    op.create_index("ix_receipt_tenant_status", "receipt",
                    ["tenant_id", "status", "received_at", "id"],
                    postgresql_where=_NOT_DELIVERED, sqlite_where=_NOT_DELIVERED)


def downgrade() -> None:
    op.drop_index("ix_receipt_tenant_status", table_name="receipt")
    op.drop_index("ix_receipt_tenant_type", table_name="receipt")
