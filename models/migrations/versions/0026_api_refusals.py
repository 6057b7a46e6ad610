"""the tenants whose API keys were refused for their rate limit

Revision ID: 0026_api_refusals
Revises: 0025_retention
Create Date: 2026-12-02 20:30:00

Adds ``api_refusal``: per tenant, when its keys were last answered 429 and how often,
written by the API at most every few seconds per process (services/ratelimit.py), so
that the beat can tell the operator's webhook of a tenant over its limit
(``admin.tenant_rate_limited``, services/admin_events.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_api_refusals"
down_revision = "0025_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_refusal",
        sa.Column("tenant_id", sa.String(40), primary_key=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refusals", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_refusal")
