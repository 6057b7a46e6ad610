"""mask the callback token in the request path of stored inbox rows

Revision ID: 0006_inbox_mask_token
Revises: 0005_inbox_enqueued
Create Date: 2026-12-02 04:20:00

The inbox kept ``/v1/callbacks/{provider}/{token}`` as received; the token is the
account's credential. Every row's path becomes ``/v1/callbacks/{provider}/***``. The
callback route is the only way into the inbox, so that is every row's path with its
token masked. The work is done by the database in keyset batches of ids: memory stays
bounded however many rows there are, and no statement touches more than one batch.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_inbox_mask_token"
down_revision = "0005_inbox_enqueued"
branch_labels = None
depends_on = None

BATCH = 5000
# '||' concatenates on PostgreSQL and SQLite alike.
_MASKED = "'/v1/callbacks/' || provider || '/***'"
_NEXT_BATCH = sa.text(
    "SELECT max(id) FROM (SELECT id FROM inbound_callback WHERE id > :last "
    "ORDER BY id LIMIT :batch) AS page")
_MASK = sa.text(
    f"UPDATE inbound_callback SET path = {_MASKED} "  # noqa: S608 - constant SQL
    f"WHERE id > :last AND id <= :upto AND path <> {_MASKED}")


def upgrade() -> None:
    conn = op.get_bind()
    last = ""
    while True:
        upto = conn.execute(_NEXT_BATCH, {"last": last, "batch": BATCH}).scalar()
        if upto is None:
            return
        conn.execute(_MASK, {"last": last, "upto": upto})
        last = upto


def downgrade() -> None:
    # The tokens are gone for good, as intended: there is nothing to restore.
    pass
