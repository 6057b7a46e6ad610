"""receipts say why they failed, where the phone is, and carry dlrhub's own events

Revision ID: 0007_receipt_insight
Revises: 0006_inbox_mask_token
Create Date: 2026-12-02 08:10:00

Adds to every receipt its reason class and whether a retry may help (on failures), the
phone's country and carrier, whether dlrhub made the event itself (``synthetic``), and
the details of the events dlrhub emits (corrections, missing receipts, alerts). Columns
are nullable or have a default: the upgrade rewrites no stored row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_receipt_insight"
down_revision = "0006_inbox_mask_token"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipt") as batch:
        batch.add_column(sa.Column("reason_class", sa.String(40), nullable=True))
        batch.add_column(sa.Column("retryable", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("country", sa.String(2), nullable=True))
        batch.add_column(sa.Column("carrier", sa.String(40), nullable=True))
        batch.add_column(sa.Column("synthetic", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("receipt") as batch:
        for column in ("details", "synthetic", "carrier", "country", "retryable",
                       "reason_class"):
            batch.drop_column(column)
