"""initial schema: tenants, accounts, inbox, receipts

Revision ID: 0001
Revises:
Create Date: 2026-11-21 23:17:53.959327
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "provider_account",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column(
            "previous_token_hash", sa.String(length=64), nullable=True
        ),
        sa.Column("previous_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credentials_encrypted", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("default_region", sa.String(length=2), nullable=True),
        sa.Column(
            "ip_allowlist", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "options", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenant.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("provider_account", schema=None) as batch_op:
        batch_op.create_index("ix_account_tenant", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_provider_account_previous_token_hash"),
            ["previous_token_hash"],
            unique=False,
        )

    op.create_table(
        "inbound_callback",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column(
            "headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("receipts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["provider_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("inbound_callback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_callback_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index("ix_inbox_state_received", ["state", "received_at"], unique=False)
        batch_op.create_index(
            "ix_inbox_tenant_state", ["tenant_id", "state", "received_at"], unique=False
        )

    op.create_table(
        "receipt",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("inbox_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider_status", sa.String(length=100), nullable=True),
        sa.Column("error_code", sa.String(length=100), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("price", sa.String(length=40), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("raw", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["provider_account.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "dedupe_key", name="uq_receipt_dedupe"),
    )
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipt_inbox_id"), ["inbox_id"], unique=False)
        batch_op.create_index(
            "ix_receipt_tenant_message", ["tenant_id", "message_id"], unique=False
        )
        batch_op.create_index("ix_receipt_tenant_phone", ["tenant_id", "phone"], unique=False)
        batch_op.create_index(
            "ix_receipt_tenant_received", ["tenant_id", "received_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_receipt_tenant_reference", ["tenant_id", "reference"], unique=False
        )
        batch_op.create_index(
            "ix_receipt_tenant_reported", ["tenant_id", "reported_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("receipt", schema=None) as batch_op:
        batch_op.drop_index("ix_receipt_tenant_reported")
        batch_op.drop_index("ix_receipt_tenant_reference")
        batch_op.drop_index("ix_receipt_tenant_received")
        batch_op.drop_index("ix_receipt_tenant_phone")
        batch_op.drop_index("ix_receipt_tenant_message")
        batch_op.drop_index(batch_op.f("ix_receipt_inbox_id"))

    op.drop_table("receipt")
    with op.batch_alter_table("inbound_callback", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_tenant_state")
        batch_op.drop_index("ix_inbox_state_received")
        batch_op.drop_index(batch_op.f("ix_inbound_callback_account_id"))

    op.drop_table("inbound_callback")
    with op.batch_alter_table("provider_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_account_previous_token_hash"))
        batch_op.drop_index("ix_account_tenant")

    op.drop_table("provider_account")
    op.drop_table("tenant")
