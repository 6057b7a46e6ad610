"""What providers say about their own reports reaches ingest, on both databases.

Plivo numbers a message's callbacks (``Sequence``): that order, not arrival, decides
which intermediate status a message shows. Telnyx names each event inside what it signs
(``data.id``): a retry is stored once, two distinct reports twice; Twilio's idempotency
header is outside its signature and decides nothing. Infobip flags each error permanent
or temporary: that is the receipt's ``retryable``, unless the tenant overrode the code's
class.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from sqlalchemy import select
from sqlmodel import Session

from dlrhub.models import MESSAGE_TABLE, RECEIPT_TABLE, InboundCallback, utcnow
from dlrhub.services.accounts import NewAccount
from dlrhub.services.ingest import ingest
from dlrhub.services.reclassify import reclassify
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory

pytestmark = pytest.mark.dialects

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def put(session: Session, new: NewAccount, body: bytes, content_type: str,
        headers: dict[str, str] | None = None) -> str:
    row = InboundCallback(tenant_id=new.account.tenant_id, account_id=new.account.id,
                          provider=new.account.provider, body=body, content_type=content_type,
                          headers=headers or {}, received_at=utcnow())
    session.add(row)
    session.commit()
    return str(row.id)


def ingest_each(runtime: Runtime, new: NewAccount, bodies: list[bytes], content_type: str,
                headers: list[dict[str, str]] | None = None) -> None:
    """Ingest each body in a batch and transaction of its own, in the order given."""
    with runtime.sessions() as session:
        for i, body in enumerate(bodies):
            inbox_id = put(session, new, body, content_type, headers[i] if headers else None)
            ingest(session, runtime.box, [inbox_id], now=utcnow())
            session.commit()


def receipts(runtime: Runtime, account_id: str) -> list[dict[str, Any]]:
    with runtime.sessions() as session:
        rows = session.execute(select(RECEIPT_TABLE).where(
            RECEIPT_TABLE.c.account_id == account_id).order_by(RECEIPT_TABLE.c.id))
        return [dict(r._mapping) for r in rows]


def message(runtime: Runtime, account_id: str) -> dict[str, Any]:
    with runtime.sessions() as session:
        [row] = session.execute(select(MESSAGE_TABLE).where(
            MESSAGE_TABLE.c.account_id == account_id))
        return dict(row._mapping)


def plivo(status: str, sequence: str, *, done: str = "") -> bytes:
    """One Plivo status callback; queued and sent carry no report time (none to order by)."""
    return urlencode({"MessageUUID": "db3ce55a-7f1d-11e1-8ea7-1231380bc196",
                      "To": "14155550111", "From": "14155550000", "Status": status,
                      "Units": "1", "Sequence": sequence, "DeliveryReportTime": done,
                      "ErrorCode": ""}).encode()


def test_plivos_sequence_decides_the_messages_status_not_the_arrival(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="plivo", credentials={"auth_token": "plivo-token"})
    ingest_each(runtime, new, [plivo("sent", "2"), plivo("queued", "1")], FORM)
    standing = message(runtime, new.account.id)
    # "queued" came second but Plivo numbered it first: the message is still "sent"
    assert (standing["status"], standing["provider_status"], standing["sequence"]) == (
        "pending", "sent", 2)
    assert standing["out_of_order"] == 1
    assert sorted(r["sequence"] for r in receipts(runtime, new.account.id)) == [1, 2]
    ingest_each(runtime, new, [plivo("delivered", "3", done="2026-12-02 08:00:05")], FORM)
    standing = message(runtime, new.account.id)
    assert (standing["status"], standing["provider_status"], standing["sequence"]) == (
        "delivered", "delivered", 3)


def test_a_sequence_that_is_not_a_count_is_kept_in_raw_and_orders_by_arrival(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="plivo", credentials={"auth_token": "plivo-token"})
    ingest_each(runtime, new, [plivo("sent", "2"), plivo("queued", "9" * 40)], FORM)
    stored = {r["provider_status"]: r for r in receipts(runtime, new.account.id)}
    assert stored["queued"]["sequence"] is None
    assert stored["queued"]["raw"]["Sequence"] == "9" * 40
    # a numbered report still beats an unnumbered one that came later
    assert message(runtime, new.account.id)["provider_status"] == "sent"


def twilio(status: str) -> bytes:
    return urlencode({"MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
                      "MessageStatus": status, "To": "+15558675310",
                      "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"}).encode()


def test_twilios_unsigned_idempotency_token_does_not_let_a_replay_in_twice(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="twilio")
    # lower-case, as the API keeps a callback's headers; X-Twilio-Signature does not
    # cover them, so a replay of a signed callback may carry any token
    token = {"i-twilio-idempotency-token": "1e1c9f7c-0b3a-4a5e-9d4f-2f1b8f0e6a11"}
    other = {"i-twilio-idempotency-token": "5b7d2c41-8e0f-4b6a-a1d3-9c8e7f6a5b44"}
    ingest_each(runtime, new, [twilio("sent")] * 3, FORM, [token, token, other])
    [stored] = receipts(runtime, new.account.id)
    # the token stays in raw, for audits
    assert stored["raw"]["I-Twilio-Idempotency-Token"] == token["i-twilio-idempotency-token"]
    ingest_each(runtime, new, [twilio("delivered")] * 2, FORM)
    assert len(receipts(runtime, new.account.id)) == 2


def telnyx(event_id: str, status: str) -> bytes:
    return orjson.dumps({"data": {
        "event_type": "message.finalized", "id": event_id,
        "occurred_at": "2026-12-02T08:00:05.000+00:00", "record_type": "event",
        "payload": {"id": "40385f64-5717-4562-b3fc-2c963f66afa6", "type": "SMS",
                    "to": [{"phone_number": "+15558675310", "status": status},
                           {"phone_number": "+15558675311", "status": status}],
                    "completed_at": "2026-12-02T08:00:05.000+00:00", "errors": []}},
        "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks"}})


def test_telnyxs_event_id_stores_each_recipient_once_across_retries(runtime: Runtime) -> None:
    new = AccountFactory(provider="telnyx",
                         credentials={"public_key": "Ka4ZrD2Nfh3u2JLFiLQX3AAUnqFWvvIEDI7q0z3l6Ss="})
    event = "4c7b1e2a-9f3d-4e8a-b6c5-1d2e3f4a5b6c"
    ingest_each(runtime, new, [telnyx(event, "delivered"), telnyx(event, "delivered")], JSON)
    assert sorted(r["phone"] for r in receipts(runtime, new.account.id)) == [
        "+15558675310", "+15558675311"]


def infobip(code: str, permanent: bool) -> bytes:
    return orjson.dumps({"results": [{
        "messageId": f"m-{code}", "to": "41793026727", "smsCount": 1,
        "sentAt": "2026-12-02T08:00:00.000+0000", "doneAt": "2026-12-02T08:00:05.000+0000",
        "status": {"groupId": 2, "groupName": "UNDELIVERABLE", "id": 9,
                   "name": "UNDELIVERABLE_NOT_DELIVERED"},
        "error": {"groupId": 1, "groupName": "HANDSET_ERRORS", "id": 8, "name": code,
                  "permanent": permanent}}]})


def test_infobips_permanent_flag_is_the_receipts_retryable_unless_the_tenant_overrides(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="infobip",
                         reason_overrides={"EC_CALL_BARRED": "rate_limited"})
    ingest_each(runtime, new, [infobip("EC_ROAMING_NOT_ALLOWED", True),
                               infobip("EC_UNKNOWN_EQUIPMENT", False),
                               infobip("EC_CALL_BARRED", True)], JSON)

    def verdicts() -> dict[str, tuple[str, bool | None]]:
        return {r["error_code"]: (r["reason_class"], r["retryable"])
                for r in receipts(runtime, new.account.id)}

    expected = {
        # the class alone says "sometimes" (null); Infobip's flag says which
        "EC_ROAMING_NOT_ALLOWED": ("carrier_unspecified_block", False),
        "EC_UNKNOWN_EQUIPMENT": ("handset_error", True),
        # the tenant's override of the code wins, and its class says retry later
        "EC_CALL_BARRED": ("rate_limited", True),
    }
    assert verdicts() == expected
    # the message keeps its receipt's verdict
    with runtime.sessions() as session:
        rows = session.execute(select(MESSAGE_TABLE.c.message_id, MESSAGE_TABLE.c.retryable)
                               .where(MESSAGE_TABLE.c.account_id == new.account.id))
        assert dict(rows.all())["m-EC_ROAMING_NOT_ALLOWED"] is False
    # reclassifying stored receipts reads the flag again from raw: nothing changes
    done = reclassify(runtime.sessions, account_id=new.account.id)
    assert (done.examined, done.changed) == (3, 0)
    assert verdicts() == expected
