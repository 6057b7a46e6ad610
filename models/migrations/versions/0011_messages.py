"""one status per message: the message table, and the part a receipt reports

Revision ID: 0011_messages
Revises: 0010_delivery_stats
Create Date: 2026-12-02 09:00:00

Adds ``message`` (one row per account, message id and phone: its current status, parts,
latencies and corrections, kept by ingest) and ``receipt.part`` (the part of a long SMS a
receipt reports, where the provider reports parts). Receipts stored before this revision
have no message rows: ``dlrhub messages rebuild`` builds them from the receipts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_messages"
down_revision = "0010_delivery_stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipt") as batch:
        batch.add_column(sa.Column("part", sa.String(20), nullable=True))
    op.create_table(
        "message",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("provider_status", sa.String(100), nullable=True),
        sa.Column("reason_class", sa.String(40), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=True),
        sa.Column("parts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handset_latency_ms", sa.BigInteger(), nullable=True),
        sa.Column("receipt_lag_ms", sa.BigInteger(), nullable=True),
        sa.Column("out_of_order", sa.Integer(), nullable=False),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("status_receipt_id", sa.String(40), nullable=True),
        sa.Column("first_receipt_id", sa.String(40), nullable=True),
        sa.Column("last_receipt_id", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["provider_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        # One index for both: the key ingest upserts on, and the tenant's lookup of a
        # message id (its prefix). Every index costs ingest a write per new message.
        sa.UniqueConstraint("tenant_id", "message_id", "account_id", "phone",
                            name="uq_message_key"),
    )


def downgrade() -> None:
    op.drop_table("message")
    with op.batch_alter_table("receipt") as batch:
        batch.drop_column("part")
