"""lighter writes for ingest: whole messages keep no parts, messages no foreign key

Revision ID: 0013_lighter_ingest_writes
Revises: 0012_alert_rules
Create Date: 2026-12-02 12:30:00

``message.parts`` becomes nullable: a message reported whole (most are) keeps NULL
there, its one part being the receipt that set its status, which the row's status
columns describe in full (``services/message_state.py:stored_parts``). The document
repeated those columns and made the row about twice as wide, and ingest writes one row
per message. Rows written before keep their document, which is still read.

The foreign key of ``message.account_id`` goes: PostgreSQL checked it with one query per
new message (a quarter of what inserting the row costs), while every message row is
made in the transaction that inserts its receipts, whose own foreign key to the same
account has just been checked. Deleting a tenant deletes its messages
(``services/tenancy.py``).

The index ``ix_receipt_tenant_reported`` (since the first migration) goes: no query
filters or orders receipts by ``reported_at`` alone, and every receipt paid for it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_lighter_ingest_writes"
down_revision = "0012_alert_rules"
branch_labels = None
depends_on = None

# The name PostgreSQL gave the key; SQLite keeps it unnamed, and the batch mode (which
# rebuilds the table) finds it by the name this convention gives it.
_FOREIGN_KEY = "message_account_id_fkey"
_NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
_SQLITE_KEY = "fk_message_account_id_provider_account"
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _foreign_key() -> str:
    """The key's name: PostgreSQL's, or on SQLite (where it has none) the convention's."""
    return _FOREIGN_KEY if op.get_bind().dialect.name == "postgresql" else _SQLITE_KEY


def upgrade() -> None:
    with op.batch_alter_table("message", naming_convention=_NAMING) as batch:
        batch.alter_column("parts", existing_type=_JSON, nullable=True)
        batch.drop_constraint(_foreign_key(), type_="foreignkey")
    op.drop_index("ix_receipt_tenant_reported", table_name="receipt")


def downgrade() -> None:
    op.create_index("ix_receipt_tenant_reported", "receipt", ["tenant_id", "reported_at"])
    # The whole part back into a document, from the status columns it was left in.
    op.execute(sa.text(
        "UPDATE message SET parts = json_build_object('', json_build_object("
        "'status', status, 'receipt_id', status_receipt_id, "
        "'provider_status', provider_status, 'reported_at', reported_at, "
        "'received_at', received_at, 'reason_class', reason_class, "
        "'retryable', retryable)) WHERE (parts IS NULL OR parts = 'null'::jsonb) "
        "AND status_receipt_id IS NOT NULL"
        if op.get_bind().dialect.name == "postgresql" else
        # SQLite keeps UTC without its zone, as 'YYYY-MM-DD HH:MM:SS.ffffff'.
        "UPDATE message SET parts = json_object('', json_object("
        "'status', status, 'receipt_id', status_receipt_id, "
        "'provider_status', provider_status, "
        "'reported_at', replace(reported_at, ' ', 'T') || '+00:00', "
        "'received_at', replace(received_at, ' ', 'T') || '+00:00', "
        "'reason_class', reason_class, "
        "'retryable', json(CASE retryable WHEN 1 THEN 'true' WHEN 0 THEN 'false' END))) "
        "WHERE (parts IS NULL OR parts = 'null') AND status_receipt_id IS NOT NULL"))
    # A JSON null is how SQLAlchemy may have written None (SQLite keeps it as text).
    op.execute(sa.text(
        "UPDATE message SET parts = '{}' WHERE parts IS NULL OR parts = 'null'::jsonb"
        if op.get_bind().dialect.name == "postgresql" else
        "UPDATE message SET parts = '{}' WHERE parts IS NULL OR parts = 'null'"))
    with op.batch_alter_table("message") as batch:
        batch.alter_column("parts", existing_type=_JSON, nullable=False)
        batch.create_foreign_key(_foreign_key(), "provider_account", ["account_id"], ["id"])
