"""A new message with one receipt is written out directly: exactly as the rules would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlrhub.models.dialect import MESSAGE_NEW_COLUMNS
from dlrhub.services.message_state import State
from dlrhub.services.messages import _facts, _fold, _fresh

AT = datetime(2024, 1, 1, 2, 0, 0, 123456, tzinfo=UTC)
NOW = AT + timedelta(seconds=5)
KEY = ("acc_1", "m-1", "+8613800000001")
# What identifies the message, which the new row carries besides what the rules make.
IDENTITY = {"tenant_id": "ten_1", "account_id": "acc_1", "provider": "huawei",
            "message_id": "m-1", "phone": "+8613800000001"}


def receipt(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "evt_1", "status": "delivered", "provider_status": "DELIVRD",
        "reported_at": AT, "received_at": AT + timedelta(seconds=3), "submitted_at": None,
        "segments": None, "sequence": None, "part": None, "reason_class": None, "retryable": None,
        "tenant_id": "ten_1", "account_id": "acc_1", "provider": "huawei",
        "message_id": "m-1", "phone": "+8613800000001", "country": "CN",
        "carrier": "china_mobile"}
    return {**base, **changes}


def rules(receipts: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    """The new row and aggregate facts as the rules make them, for the message msg_1."""
    row, _ = _fold("msg_1", State(), receipts)
    row = {**IDENTITY, **row}
    return {**row, "created_at": NOW, "updated_at": NOW}, _facts(row, row, receipts[0], NOW)


@pytest.mark.parametrize("r", [
    receipt(),
    receipt(submitted_at=AT - timedelta(seconds=7), segments=2),
    receipt(status="failed", provider_status="MK:0005", reason_class="invalid_number",
            retryable=False),
    receipt(status="pending", provider_status="ACCEPTD", submitted_at=AT),
    receipt(status="unknown", reported_at=None),
    receipt(status="expired", reason_class="expired", retryable=None, segments=1),
])
def test_the_direct_row_is_the_rules_row(r: dict[str, Any]) -> None:
    values, facts, _ = _fresh(KEY, [r], NOW)
    assert dict(zip(MESSAGE_NEW_COLUMNS, values, strict=True)) == rules([r])[0]
    assert facts == rules([r])[1]


def test_parts_and_several_receipts_take_the_rules() -> None:
    parts = [receipt(id="evt_1", part="1", segments=2), receipt(id="evt_2", part="2")]
    values, facts, _ = _fresh(KEY, parts, NOW)
    assert (dict(zip(MESSAGE_NEW_COLUMNS, values, strict=True)), facts) == rules(parts)
    late = [receipt(id="evt_1"), receipt(id="evt_2", status="failed",
                                        reported_at=AT + timedelta(seconds=1))]
    values, _, outcome = _fresh(KEY, late, NOW)
    row = dict(zip(MESSAGE_NEW_COLUMNS, values, strict=True))
    assert (row["status"], len(outcome.corrections)) == ("delivered", 1)


def test_a_new_message_row_takes_its_id_from_its_first_receipt() -> None:
    values, _, _ = _fresh(KEY, [receipt(id="evt_01KBX0AAAA0000000000000000")], NOW)
    assert dict(zip(MESSAGE_NEW_COLUMNS, values, strict=True))["id"] == (
        "msg_01KBX0AAAA0000000000000000")
