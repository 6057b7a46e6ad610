"""endpoint circuit breaker and rate-limit state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoint") as batch:
        batch.add_column(sa.Column("consecutive_failures", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("circuit_trips", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("circuit_open_until", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("rate_cursor", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoint") as batch:
        batch.drop_column("rate_cursor")
        batch.drop_column("circuit_open_until")
        batch.drop_column("circuit_trips")
        batch.drop_column("consecutive_failures")
