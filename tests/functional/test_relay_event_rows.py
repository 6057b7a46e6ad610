"""The relay builds its event documents from rows (``lease._bodies``), not field by field:
what it sends is the event the API shows, byte for byte, on both databases."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select

from dlrhub.models import Receipt, utcnow
from dlrhub.services.accounts import NewAccount
from dlrhub.services.receipts import EVENT_FIELDS, event_document
from dlrhub.services.relay import lease
from dlrhub.services.runtime import Runtime
from tests.factories import ReceiptFactory

pytestmark = pytest.mark.dialects


def test_the_relay_s_event_is_the_api_s_event(runtime: Runtime, tx: NewAccount) -> None:
    now = utcnow()
    full = ReceiptFactory(
        account=tx.account, status="failed", provider_status="MK:0005", error_code="MK:0005",
        error_message="空号 \"quoted\"", segments=2, part="1/2", price="0.045",
        submitted_at=now - timedelta(seconds=9), reported_at=now - timedelta(seconds=2),
        text=None, raw={"errmsg": "MK:0005", "nested": {"n": [1, 2.5, None]}},
        reason_class="invalid_number", retryable=False, country="CN",
        carrier="china_mobile", reference="order-7")
    bare = ReceiptFactory(account=tx.account, raw={}, submitted_at=None, reported_at=None)
    # Whole seconds: written without a fraction, as iso_z writes them.
    whole = ReceiptFactory(account=tx.account, submitted_at=now.replace(microsecond=0),
                           reported_at=now.replace(microsecond=0) + timedelta(seconds=1))
    corrected = ReceiptFactory(account=tx.account, type="sms.status_corrected",
                               details={"kept": {"status": "delivered"}, "part": None})
    ids = [full.id, bare.id, whole.id, corrected.id]
    with runtime.sessions() as session:
        rows = {r[0]: r for r in session.execute(
            select(*lease._EVENT_COLUMNS).where(lease.RECEIPTS.c.id.in_(ids)))}
        for receipt_id in ids:
            receipt = session.get(Receipt, receipt_id)
            assert receipt is not None
            sent = lease.event_json(lease._event(rows[receipt_id]))
            shown = event_document(receipt)
            assert list(shown) == list(EVENT_FIELDS)
            assert orjson.loads(sent) == orjson.loads(orjson.dumps(shown))
            # Same keys in the same order: a customer's parser may rely on neither, but
            # a change of the shape must be made in one place.
            assert list(orjson.loads(sent)) == list(EVENT_FIELDS)
