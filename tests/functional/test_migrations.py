"""Migrations that rewrite stored data: what they leave behind, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, inspect, select

from dlrhub.models import MESSAGE_TABLE, RECEIPT_TABLE, InboundCallback, dialect, utcnow
from dlrhub.models.migrate import alembic_config, upgrade
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
