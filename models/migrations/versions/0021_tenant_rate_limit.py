"""a tenant's own API rate limit

Revision ID: 0021_tenant_rate_limit
Revises: 0020_worker_seen
Create Date: 2026-12-02 19:40:00

Adds ``tenant.api_rate_limit``: the requests a second each of the tenant's API keys may
make (NULL: the system's ``DLRHUB_API_RATE_LIMIT``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_tenant_rate_limit"
down_revision = "0020_worker_seen"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE on both databases: SQLite's batch mode would copy the table,
    # which the foreign keys of every tenant's rows refuse.
    op.add_column("tenant", sa.Column("api_rate_limit", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("tenant", "api_rate_limit")
