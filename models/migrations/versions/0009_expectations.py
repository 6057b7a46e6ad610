"""expected messages: what a tenant sent, so that missing receipts can be reported

Revision ID: 0009_expectations
Revises: 0008_account_reason_overrides
Create Date: 2026-12-02 09:00:00

Adds the ``expectation`` table with the partial indexes of the sweep (pending rows by
deadline, missing rows without their synthetic status by horizon), and to every provider
account its default deadline, its horizon and since when it uses expectations. The new
account columns have server defaults: the upgrade rewrites no stored row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_expectations"
down_revision = "0008_account_reason_overrides"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("provider_account") as batch:
        batch.add_column(sa.Column("expectation_deadline_seconds", sa.Integer(),
                                   nullable=False, server_default="600"))
        batch.add_column(sa.Column("expectation_horizon_seconds", sa.Integer(),
                                   nullable=False, server_default="259200"))
        batch.add_column(_at("expectations_since"))
    op.create_table(
        "expectation",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("provider_account.id"),
                  nullable=False),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("phone_key", sa.String(64), nullable=False),
        _at("sent_at", nullable=False),
        _at("deadline_at", nullable=False),
        _at("horizon_at", nullable=False),
        sa.Column("template", sa.String(200), nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        _at("missing_at"),
        _at("synthetic_at"),
        _at("met_at"),
        sa.Column("receipt_id", sa.String(40), nullable=True),
        _at("created_at", nullable=False),
        sa.UniqueConstraint("account_id", "message_id", "phone_key", name="uq_expectation"),
    )
    op.create_index("ix_expectation_tenant_state", "expectation",
                    ["tenant_id", "state", "id"])
    op.create_index("ix_expectation_tenant", "expectation", ["tenant_id", "id"])
    op.create_index("ix_expectation_due", "expectation", ["deadline_at"],
                    postgresql_where=sa.text("state = 'pending'"),
                    sqlite_where=sa.text("state = 'pending'"))
    op.create_index("ix_expectation_horizon", "expectation", ["horizon_at"],
                    postgresql_where=sa.text("state = 'missing' AND synthetic_at IS NULL"),
                    sqlite_where=sa.text("state = 'missing' AND synthetic_at IS NULL"))


def downgrade() -> None:
    op.drop_table("expectation")
    with op.batch_alter_table("provider_account") as batch:
        for column in ("expectations_since", "expectation_horizon_seconds",
                       "expectation_deadline_seconds"):
            batch.drop_column(column)
