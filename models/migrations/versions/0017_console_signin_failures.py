"""console sign-in failures

Revision ID: 0017_console_signin_failures
Revises: 0016_lighter_keys
Create Date: 2026-12-02 15:50:00

Adds ``console_signin_failure``: each wrong key posted to the console's sign-in form in
the last window, by the keyed hash of its client address (services/signin_limit.py), so
that every API worker counts the same failures.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_console_signin_failures"
down_revision = "0016_lighter_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_signin_failure",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_console_signin_failure_client", "console_signin_failure",
                    ["client_hash", "at"])
    op.create_index("ix_console_signin_failure_at", "console_signin_failure", ["at"])


def downgrade() -> None:
    op.drop_index("ix_console_signin_failure_at", "console_signin_failure")
    op.drop_index("ix_console_signin_failure_client", "console_signin_failure")
    op.drop_table("console_signin_failure")
