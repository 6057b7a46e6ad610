"""the provider's own order of its reports on a message

Revision ID: 0027_report_sequence
Revises: 0026_api_refusals
Create Date: 2026-12-02 23:20:00

Adds ``sequence`` (nullable) to ``receipt`` and ``message``: where a provider numbers
its reports on one message (Plivo ``Sequence``), that number, rather than the reported
or arrival time, says which of two intermediate reports came later
(services/message_state.py). Rows stored before it have none and order by time as
before. Both columns are NULL on every existing row, so adding them rewrites nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_report_sequence"
down_revision = "0026_api_refusals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("receipt", sa.Column("sequence", sa.BigInteger(), nullable=True))
    op.add_column("message", sa.Column("sequence", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMNs (SQLite has them since 3.35): a batch would copy the receipts.
    op.drop_column("message", "sequence")
    op.drop_column("receipt", "sequence")
