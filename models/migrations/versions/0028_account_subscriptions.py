"""the provider's subscriptions of an account's callback URL

Revision ID: 0028_account_subscriptions
Revises: 0027_report_sequence
Create Date: 2026-12-02 23:40:00

Adds ``provider_account.subscriptions`` (JSON, nullable): by topic, the AWS SNS
subscriptions dlrhub confirmed for the account and those SNS said it ended
(services/subscriptions.py), shown by ``GET /v1/accounts/{id}``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dlrhub.models.types import JSONType

revision = "0028_account_subscriptions"
down_revision = "0027_report_sequence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("provider_account", sa.Column("subscriptions", JSONType, nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite has it since 3.35): a batch would recreate the table,
    # which the receipts' foreign keys to it forbid while receipts exist.
    op.drop_column("provider_account", "subscriptions")
