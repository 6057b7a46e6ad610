"""lighter keys for ingest: the message's key is its primary key, receipts lose an index

Revision ID: 0016_lighter_keys
Revises: 0015_console_sessions
Create Date: 2026-12-02 16:00:00

Ingest inserts a message row and a receipt row for nearly every receipt, and each index
of either table costs a write per row (the largest part of what storing a receipt costs
PostgreSQL). Two indexes nothing reads go:

* ``message``: its primary key was ``id``, which nothing looks a row up by: ingest
  finds, locks and updates messages by their key (tenant, message id, account, phone),
  and the API by the key's prefix. The key becomes the primary key, and the unique
  constraint that held it before goes with the old key: one index instead of two.
* ``receipt``: ``ix_receipt_inbox_id`` (since the first migration); no query reads
  receipts by the callback that brought them.
"""

from __future__ import annotations

import warnings

from alembic import op
from sqlalchemy.exc import SAWarning

revision = "0016_lighter_keys"
down_revision = "0015_console_sessions"
branch_labels = None
depends_on = None

_KEY = ["tenant_id", "message_id", "account_id", "phone"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # One statement: the table is read once to build the new key's index.
        op.execute("ALTER TABLE message DROP CONSTRAINT message_pkey, "
                   "DROP CONSTRAINT uq_message_key, "
                   f"ADD CONSTRAINT pk_message PRIMARY KEY ({', '.join(_KEY)})")
    else:
        # SQLite changes a key only by copying the table, which the batch mode does. Its
        # copy still marks ``id`` a key column, and SQLAlchemy warns that the named key
        # wins: which is what is asked.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Table '_alembic_tmp_message' specifies",
                                    SAWarning)
            with op.batch_alter_table("message", recreate="always") as batch:
                batch.drop_constraint("uq_message_key", type_="unique")
                batch.create_primary_key("pk_message", _KEY)
    op.drop_index("ix_receipt_inbox_id", table_name="receipt")


def downgrade() -> None:
    op.create_index("ix_receipt_inbox_id", "receipt", ["inbox_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE message DROP CONSTRAINT pk_message, "
                   "ADD CONSTRAINT message_pkey PRIMARY KEY (id), "
                   f"ADD CONSTRAINT uq_message_key UNIQUE ({', '.join(_KEY)})")
    else:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Table '_alembic_tmp_message' specifies",
                                    SAWarning)
            with op.batch_alter_table("message", recreate="always") as batch:
                batch.create_primary_key("message_pkey", ["id"])
                batch.create_unique_constraint("uq_message_key", _KEY)
