"""the delivery aggregate counts reason classes in columns, not in every grain's key

Revision ID: 0014_stats_reason_counters
Revises: 0013_lighter_ingest_writes
Create Date: 2026-12-02 13:10:00

Every aggregate row gains twelve counters, its messages by reason class (``reason_*``),
and the grains ``total``, ``network`` and ``sending`` no longer keep the reason class
in their key ('*' there); a new grain ``reasons`` (the total by reason class) and the
grain ``all`` keep it. The reason class in the key had multiplied those grains' rows by
about three, and so what each query reads and each ingest writes.

The grain ``all`` holds every dimension, so every other grain is its sum: the upgrade
fills the new counters of the ``all`` rows from their reason class, then makes the other
grains again from them; the downgrade does the same the old way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_stats_reason_counters"
down_revision = "0013_lighter_ingest_writes"
branch_labels = None
depends_on = None

# Written out rather than imported: a migration keeps doing what it did when written.
_REASONS = ("invalid_number", "suspended_or_no_credit", "unreachable_powered_off",
            "handset_error", "blacklisted", "content_blocked", "rate_limited", "expired",
            "network_error", "gateway_or_protocol_error", "carrier_unspecified_block",
            "other_unknown")
_REASON_COLUMNS = tuple(f"reason_{r}" for r in _REASONS)
_COUNTERS = ("messages", "delivered", "failed", "expired", "rejected", "unknown",
             "pending", "expected", "missing",
             *(f"handset_{i:02d}" for i in range(30)), *(f"lag_{i:02d}" for i in range(30)))
_DIMENSIONS = ("account_id", "provider", "country", "carrier", "template", "reason_class")
# (grain name, the dimensions it keeps), besides "all", after and before.
_AFTER = (("total", ()), ("reasons", ("reason_class",)),
          ("network", ("account_id", "provider", "country", "carrier")),
          ("sending", ("account_id", "provider", "template")))
_BEFORE = (("total", ("reason_class",)),
           ("network", ("account_id", "provider", "country", "carrier", "reason_class")),
           ("sending", ("account_id", "provider", "template", "reason_class")))


def _remake(grains: tuple[tuple[str, tuple[str, ...]], ...],
            counters: tuple[str, ...]) -> None:
    """Delete every grain but ``all`` and make ``grains`` again as sums of its rows."""
    op.execute(sa.text("DELETE FROM delivery_stats WHERE grain NOT IN ('hour:all', 'day:all')"))
    for span in ("hour", "day"):
        for name, kept in grains:
            keys = [d if d in kept else f"'*' AS {d}" for d in _DIMENSIONS]
            grouped = [d for d in _DIMENSIONS if d in kept]
            # Built from the constants above only.
            op.execute(sa.text(
                f"INSERT INTO delivery_stats (tenant_id, grain, bucket, "  # noqa: S608
                f"{', '.join(_DIMENSIONS)}, {', '.join(counters)}) "
                f"SELECT tenant_id, '{span}:{name}', bucket, {', '.join(keys)}, "
                + ", ".join(f"SUM({c})" for c in counters)
                + f" FROM delivery_stats WHERE grain = '{span}:all' "
                f"GROUP BY {', '.join(['tenant_id', 'bucket', *grouped])}"))


def upgrade() -> None:
    with op.batch_alter_table("delivery_stats") as batch:
        for column in _REASON_COLUMNS:
            batch.add_column(sa.Column(column, sa.Integer(), nullable=False,
                                       server_default="0"))
    op.execute(sa.text(
        "UPDATE delivery_stats SET "  # noqa: S608
        + ", ".join(f"{c} = CASE WHEN reason_class = '{r}' THEN messages ELSE 0 END"
                    for r, c in zip(_REASONS, _REASON_COLUMNS, strict=True))
        + " WHERE grain IN ('hour:all', 'day:all')"))
    _remake(_AFTER, (*_COUNTERS, *_REASON_COLUMNS))


def downgrade() -> None:
    _remake(_BEFORE, _COUNTERS)
    with op.batch_alter_table("delivery_stats") as batch:
        for column in _REASON_COLUMNS:
            batch.drop_column(column)
