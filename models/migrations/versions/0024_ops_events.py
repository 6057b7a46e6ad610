"""operational events

Revision ID: 0024_ops_events
Revises: 0023_audit
Create Date: 2026-12-02 19:50:00

Widens ``receipt.type`` to 40 characters, for the operational events' names
(``account.callbacks_rejected``), and adds ``ops_condition``: whether each condition
dlrhub watches over its own operation (a burst of rejected callbacks on an account, the
inbox backlog) holds now, so that each start and end of one is told once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_ops_events"
down_revision = "0023_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite keeps no length on a VARCHAR (and batch mode would copy the table, which
    # the foreign keys refuse): only PostgreSQL's column changes, without a rewrite.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("receipt", "type", type_=sa.String(40),
                        existing_type=sa.String(20), existing_nullable=False)
    op.create_table(
        "ops_condition",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ops_condition")
    bind = op.get_bind()
    # The operational events would not fit the narrower column: they go first.
    bind.execute(sa.text(
        "DELETE FROM receipt WHERE type IN ('endpoint.disabled', 'endpoint.circuit_opened', "
        "'endpoint.recovered', 'delivery.dead', 'account.callbacks_rejected')"))
    if bind.dialect.name == "postgresql":
        op.alter_column("receipt", "type", type_=sa.String(20),
                        existing_type=sa.String(40), existing_nullable=False)
