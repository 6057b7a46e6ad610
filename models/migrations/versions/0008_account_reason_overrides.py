"""accounts override reason classes; receipts are listed by reason class

Revision ID: 0008_account_reason_overrides
Revises: 0007_receipt_insight
Create Date: 2026-12-02 08:40:00

Adds the account's ``reason_overrides`` (``{}`` for every existing account) and the
index that serves ``GET /v1/receipts?reason_class=``: partial, since only failures have
a class. Stored receipts get their class from ``dlrhub receipt reclassify``, which
works in bounded batches; this upgrade rewrites no receipt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_account_reason_overrides"
down_revision = "0007_receipt_insight"
branch_labels = None
depends_on = None

_CLASSIFIED = sa.text("reason_class IS NOT NULL")


def upgrade() -> None:
    # A plain ALTER TABLE on both databases: SQLite's batch mode would copy the table,
    # which the foreign keys of stored inbox rows and receipts refuse.
    op.add_column("provider_account", sa.Column(
        "reason_overrides", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
        nullable=False, server_default=sa.text("'{}'")))
    op.create_index("ix_receipt_tenant_reason", "receipt",
                    ["tenant_id", "reason_class", "received_at", "id"],
                    postgresql_where=_CLASSIFIED, sqlite_where=_CLASSIFIED)


def downgrade() -> None:
    op.drop_index("ix_receipt_tenant_reason", table_name="receipt")
    op.drop_column("provider_account", "reason_overrides")
