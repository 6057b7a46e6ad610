"""alert rules, and receipts that belong to no account (a tenant-wide sms.alert)

Revision ID: 0012_alert_rules
Revises: 0011_messages
Create Date: 2026-12-02 09:20:00

Adds the ``alert_rule`` table (services/alerts) and an index of each tenant's
expectations by deadline, which ``missing_share_above`` counts over its window. A rule
scoped wider than one account (a provider, a carrier, the whole tenant) emits its
``sms.alert`` events as receipt rows that name no account, so ``receipt.account_id``
becomes nullable: on PostgreSQL a change of the catalogue only; SQLite rebuilds the
table, with its indexes (partial ones too).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_alert_rules"
down_revision = "0011_messages"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alert_rule",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("min_messages", sa.Integer(), nullable=False),
        sa.Column("reason_class", sa.String(40), nullable=True),
        sa.Column("scope", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("firing", sa.Boolean(), nullable=False, server_default=sa.false()),
        _at("firing_since"),
        sa.Column("last_value", sa.Float(), nullable=True),
        _at("last_evaluated_at"),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
    )
    op.create_index("ix_alert_rule_tenant", "alert_rule", ["tenant_id", "id"])
    op.create_index("ix_expectation_tenant_deadline", "expectation",
                    ["tenant_id", "deadline_at"])
    with op.batch_alter_table("receipt") as batch:
        batch.alter_column("account_id", existing_type=sa.String(40), nullable=True)


def downgrade() -> None:
    # Alerts of no account cannot stay in a table that requires one.
    op.execute("DELETE FROM receipt WHERE account_id IS NULL")
    with op.batch_alter_table("receipt") as batch:
        batch.alter_column("account_id", existing_type=sa.String(40), nullable=False)
    op.drop_index("ix_expectation_tenant_deadline", "expectation")
    op.drop_table("alert_rule")
