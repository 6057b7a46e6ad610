"""Migrations that rewrite stored data: what they leave behind, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select, text

from dlrhub.core.vocabulary import ReasonClass, ReceiptStatus
from dlrhub.models import (
    DELIVERY_STATS_TABLE,
    MESSAGE_TABLE,
    RECEIPT_TABLE,
    InboundCallback,
    dialect,
    utcnow,
)
from dlrhub.models.migrate import alembic_config, upgrade
from dlrhub.services.analytics import MessageFacts, record_messages
from dlrhub.services.message_state import Part, stored_parts
from dlrhub.services.messages import track
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory, ReceiptFactory

# Alembic migrates through connections of its own, on each database.
pytestmark = [pytest.mark.dialects, pytest.mark.commits]

INBOX = InboundCallback.__table__  # type: ignore[attr-defined]


def test_masking_the_token_rewrites_every_stored_path(db_url: str, runtime: Runtime) -> None:
    from alembic import command

    new = AccountFactory(provider="tencent")
    account = new.account
    # Rows as the inbox kept them before 0006: the token in clear, more than one batch.
    rows = [{"id": f"inb_{i:06d}", "tenant_id": account.tenant_id, "account_id": account.id,
             "provider": "tencent", "received_at": utcnow(), "remote_addr": "10.0.0.1",
             "method": "POST", "path": f"/v1/callbacks/tencent/{new.token}", "query": "",
             "content_type": "application/json", "headers": {}, "body": b"[]",
             "state": "processed", "reason": None, "attempts": 1, "receipts": 0}
            for i in range(5001)]
    command.downgrade(alembic_config(db_url), "0006_inbox_mask_token-1")
    try:
        with runtime.engine.begin() as conn:
            conn.execute(insert(INBOX), rows)
    finally:
        upgrade(db_url)
    with runtime.engine.connect() as conn:
        paths = conn.execute(select(INBOX.c.path)).scalars().all()
    assert len(paths) == 5001
    assert set(paths) == {"/v1/callbacks/tencent/***"}


def test_alert_rules_come_and_go_and_receipts_without_an_account_go_with_them(
        db_url: str, runtime: Runtime) -> None:
    from alembic import command

    account = AccountFactory(provider="tencent").account
    ReceiptFactory(account=account)
    ReceiptFactory(account=account, account_id=None, type="sms.alert", status="pending")

    command.downgrade(alembic_config(db_url), "0012_alert_rules-1")
    try:
        with runtime.engine.connect() as conn:
            kept = conn.execute(select(RECEIPT_TABLE.c.account_id)).scalars().all()
            tables = inspect(conn).get_table_names()
    finally:
        upgrade(db_url)
    with runtime.engine.connect() as conn:
        columns = {c["name"]: c for c in inspect(conn).get_columns("receipt")}

    assert kept == [account.id]
    assert "alert_rule" not in tables
    assert columns["account_id"]["nullable"] is True


def test_a_message_reported_whole_has_its_parts_document_again_after_a_downgrade(
        db_url: str, runtime: Runtime) -> None:
    from alembic import command

    account = AccountFactory(provider="tencent").account
    receipt = ReceiptFactory(account=account, message_id="m-1", status="failed",
                             provider_status="MK:0005", reason_class="invalid_number",
                             retryable=False, reported_at=utcnow())
    with runtime.sessions() as session:
        dialect.begin_write(session)
        track(session, [{c.name: getattr(receipt, c.name) for c in RECEIPT_TABLE.c}],
              utcnow())
        session.commit()
    with runtime.engine.connect() as conn:
        [kept] = conn.execute(select(MESSAGE_TABLE)).mappings().all()
    assert kept["parts"] is None  # the status columns are its one part

    command.downgrade(alembic_config(db_url), "0013_lighter_ingest_writes-1")
    try:
        with runtime.engine.connect() as conn:
            document = conn.execute(select(MESSAGE_TABLE.c.parts)).scalar_one()
    finally:
        upgrade(db_url)

    assert {k: Part.from_document(v) for k, v in document.items()} == stored_parts(kept)
    assert stored_parts(kept)[""].receipt_id == receipt.id


def _aggregate(runtime: Runtime) -> dict[tuple[Any, ...], dict[str, int]]:
    """The aggregate's rows: key -> the counters that are not zero."""
    with runtime.engine.connect() as conn:
        # Whatever columns the table has at this revision.
        rows = conn.execute(text("SELECT * FROM delivery_stats")).mappings().all()
    key = DELIVERY_STATS_TABLE.primary_key.columns.keys()
    return {tuple(str(r[k]) for k in key): {c: r[c] for c in r if c not in key and r[c]}
            for r in rows}


def test_the_reason_counters_come_and_go_and_every_grain_is_made_again(
        db_url: str, runtime: Runtime) -> None:
    from alembic import command

    at = datetime(2024, 1, 1, 10, tzinfo=UTC)
    facts = [MessageFacts("ten_1", "acc_1", "tencent", "CN", carrier, "otp", reason, status,
                          status != ReceiptStatus.pending, at + timedelta(hours=h),
                          handset_latency_s=3.0, receipt_lag_s=1.0)
             for h, carrier, reason, status in [
                 (0, "china_mobile", None, ReceiptStatus.delivered),
                 (0, "china_mobile", ReasonClass.invalid_number, ReceiptStatus.failed),
                 (0, "china_telecom", ReasonClass.invalid_number, ReceiptStatus.failed),
                 (1, "china_telecom", ReasonClass.expired, ReceiptStatus.expired),
                 (30, None, None, ReceiptStatus.pending)]]
    with runtime.sessions() as session:
        record_messages(session, [(None, f) for f in facts])
        session.commit()
    after = _aggregate(runtime)

    command.downgrade(alembic_config(db_url), "0014_stats_reason_counters-1")
    try:
        before = _aggregate(runtime)
    finally:
        upgrade(db_url)

    # Before: the reason class in every grain's key, and no reasons grain.
    assert {k[1] for k in before} == {f"{s}:{g}" for s in ("hour", "day")
                                       for g in ("total", "network", "sending", "all")}
    network = {k[8]: v["messages"] for k, v in before.items() if k[1] == "day:network"
               and k[6] == "china_telecom"}
    assert network == {"invalid_number": 1, "expired": 1}
    # After the upgrade again: exactly what recording had made.
    assert _aggregate(runtime) == after
    assert {k[1] for k in after} >= {"hour:reasons", "day:reasons", "hour:carriers",
                                      "day:carriers"}


def test_the_retention_periods_come_and_go_and_the_tenants_stay(db_url: str,
                                                                runtime: Runtime) -> None:
    from alembic import command

    tenant_id = AccountFactory(provider="tencent").account.tenant_id
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE tenant SET retain_inbox_days = 7"))
    command.downgrade(alembic_config(db_url), "0025_retention-1")
    try:
        with runtime.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("tenant")}
            indexes = {i["name"] for i in inspect(conn).get_indexes("delivery")}
            kept = conn.execute(text("SELECT id FROM tenant")).scalars().all()
        assert not any(c.startswith("retain_") for c in columns)
        assert "ix_delivery_tenant_status_created" not in indexes
        assert kept == [tenant_id]
    finally:
        upgrade(db_url)
    with runtime.engine.connect() as conn:
        # Back to the system default: the downgrade forgot the tenant's own period.
        assert conn.execute(text("SELECT retain_inbox_days FROM tenant")).scalar_one() is None
        indexes = {i["name"] for i in inspect(conn).get_indexes("delivery")}
    assert "ix_delivery_tenant_status_created" in indexes
