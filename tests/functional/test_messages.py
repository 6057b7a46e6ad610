"""One status per message through ingest, on both databases: order, corrections, parts.

Receipts go in as providers send them (inbox rows ingested as the worker does); the
message rows are read back as stored, and the correction events as the relay would plan
them. Two workers on one message are raced on PostgreSQL.
"""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from sqlalchemy import delete, func, select, text
from sqlmodel import Session

from dlrhub.models import (
    DELIVERY_TABLE,
    MESSAGE_TABLE,
    EndpointCreate,
    Message,
    Receipt,
    make_session_factory,
    utcnow,
)
from dlrhub.services.accounts import NewAccount
from dlrhub.services.analytics import delivery
from dlrhub.services.endpoints import create_endpoint
from dlrhub.services.ingest import ingest
from dlrhub.services.message_state import stored_parts
from dlrhub.services.messages import rebuild
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory, InboundCallbackFactory
from tests.processes import wait_for

FORM = "application/x-www-form-urlencoded"


def tencent(sid: str, status: str, at: str, mobile: str = "13800000001") -> bytes:
    """One Tencent status report body; ``at`` is Beijing time, as Tencent sends it."""
    return orjson.dumps([{"user_receive_time": at, "nationcode": "86", "mobile": mobile,
                          "report_status": status,
                          "errmsg": "DELIVRD" if status == "SUCCESS" else "MK:0005",
                          "description": "", "sid": sid}])


def huawei_part(msg_id: str, status: str, at: str, sequence: int, total: int) -> bytes:
    """One Huawei status report of part ``sequence`` of ``total``; ``at`` is UTC."""
    return urlencode({"sequence": str(sequence), "total": str(total), "updateTime": at,
                      "smsMsgId": msg_id, "status": status, "to": "+8613800000009"}).encode()


def put(session: Session, new: NewAccount, body: bytes, content_type: str) -> str:
    row = InboundCallbackFactory.build(account=new.account, body=body,
                                       content_type=content_type)
    session.add(row)
    session.commit()
    return str(row.id)


def ingest_one_by_one(runtime: Runtime, new: NewAccount, bodies: list[bytes],
                      content_type: str = "application/json") -> list[Any]:
    """Ingest each body in a batch (and transaction) of its own, in the order given."""
    reports = []
    with runtime.sessions() as session:
        for body in bodies:
            reports.append(ingest(session, runtime.box, [put(session, new, body, content_type)],
                                  now=utcnow()))
            session.commit()
    return reports


def messages(runtime: Runtime) -> list[Message]:
    with runtime.sessions() as session:
        return list(session.execute(select(Message).order_by(MESSAGE_TABLE.c.message_id,
                                                             MESSAGE_TABLE.c.phone)).scalars())


# Huawei's ACCEPTD is a GUESS; these accounts read it as `pending`.
ACCEPTD_PENDING = {"acceptd_status": "pending"}
PENDING_THEN_DELIVERED = [
    huawei_part("h-1", "DELIVRD", "2024-01-01T02:00:05Z", 1, 1),
    huawei_part("h-1", "ACCEPTD", "2024-01-01T02:00:01Z", 1, 1),
    huawei_part("h-1", "ACCEPTD", "2024-01-01T02:00:02Z", 1, 1),
]

# The receipts above counted out of order, by order of arrival.
LATE = {(0, 1, 2): 2, (0, 2, 1): 2, (1, 0, 2): 1, (1, 2, 0): 0, (2, 0, 1): 1, (2, 1, 0): 1}


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_receipts_in_any_order_across_batches_give_one_message_state(
        runtime: Runtime, order: tuple[int, ...]) -> None:
    new = AccountFactory(provider="huawei", options=ACCEPTD_PENDING)
    ingest_one_by_one(runtime, new, [PENDING_THEN_DELIVERED[i] for i in order], FORM)
    [message] = messages(runtime)
    assert (message.status, message.final, message.provider_status) == (
        "delivered", True, "DELIVRD")
    assert (message.account_id, message.message_id, message.phone) == (
        new.account.id, "h-1", "+8613800000009")
    assert message.reported_at is not None
    assert message.reported_at.isoformat() == "2024-01-01T02:00:05+00:00"
    assert message.receipt_lag_ms is not None
    assert message.receipt_lag_ms > 0
    # Reported whole: no parts document, its one part is the status columns.
    assert message.parts is None
    [(part, whole)] = stored_parts(message).items()
    assert (part, whole.status, whole.receipt_id) == ("", "delivered", message.status_receipt_id)
    # pendings that came after the delivery, or after a newer pending, were kept as
    # receipts and counted
    assert message.out_of_order == LATE[order]
    assert not message.corrected


def test_a_disagreeing_final_is_stored_as_a_correction_and_planned(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    tenant_id = new.account.tenant_id
    with runtime.sessions() as session:
        endpoint, _ = create_endpoint(
            session, runtime.box, tenant_id=tenant_id, allow_private=True,
            spec=EndpointCreate.model_validate({"url": "http://127.0.0.1:9/",
                                                "event_types": ["sms.status_corrected"]}))
        native, _ = create_endpoint(
            session, runtime.box, tenant_id=tenant_id, allow_private=True,
            spec=EndpointCreate.model_validate({"url": "http://127.0.0.1:9/",
                                                "format": "native"}))
        session.commit()
        endpoint_id, native_id = endpoint.id, native.id
    first, second, again = ingest_one_by_one(runtime, new, [
        tencent("m-2", "SUCCESS", "2024-01-01 10:00:05"),
        tencent("m-2", "FAIL", "2024-01-01 10:00:09"),
        tencent("m-2", "FAIL", "2024-01-01 10:00:09"),  # resent: a duplicate, no event
    ])
    [message] = messages(runtime)
    assert (message.status, message.corrected) == ("delivered", True)
    with runtime.sessions() as session:
        [event] = session.execute(select(Receipt).where(
            Receipt.type == "sms.status_corrected")).scalars()
        [failed] = session.execute(select(Receipt).where(Receipt.status == "failed")).scalars()
        planned = {(r.endpoint_id, tuple(r.event_ids)) for r in session.execute(
            select(DELIVERY_TABLE.c.endpoint_id, DELIVERY_TABLE.c.event_ids))}
    assert (event.status, event.message_id, event.phone) == ("delivered", "m-2",
                                                             "+8613800000001")
    assert event.details is not None
    kept, reported = event.details["kept"], event.details["reported"]
    assert (kept["status"], kept["receipt_id"], kept["provider_status"]) == (
        "delivered", message.status_receipt_id, "DELIVRD")
    assert (reported["status"], reported["receipt_id"], reported["provider_status"]) == (
        "failed", failed.id, "MK:0005")
    assert reported["reported_at"] == "2024-01-01T02:00:09+00:00"
    assert (first.corrections, second.corrections, again.corrections) == (0, 1, 0)
    # planned with the batch for the endpoint that asked for corrections; a native
    # endpoint re-posts provider callbacks only
    assert [ids for e, ids in planned if e == endpoint_id] == [(event.id,)]
    native_events = [i for e, ids in planned if e == native_id for i in ids]
    assert len(native_events) == 2
    assert event.id not in native_events

def test_a_long_sms_is_delivered_when_every_part_is_in_any_order(runtime: Runtime) -> None:
    parts = [huawei_part("h-9", "DELIVRD", f"2024-01-01T02:00:0{n}Z", n, 3) for n in (1, 2, 3)]
    for order in ((0, 1, 2), (2, 0, 1)):
        new = AccountFactory(provider="huawei")
        ingest_one_by_one(runtime, new, [parts[i] for i in order], FORM)
    first, second = messages(runtime)
    for message in (first, second):
        assert (message.status, message.final, message.segments) == ("delivered", True, 3)
        assert sorted(message.parts) == ["1", "2", "3"]
        assert message.reported_at is not None
        assert message.reported_at.isoformat() == "2024-01-01T02:00:03+00:00"


def test_a_long_sms_waits_for_its_parts_and_takes_a_failed_parts_status(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="huawei", options=ACCEPTD_PENDING)
    ingest_one_by_one(runtime, new, [
        huawei_part("h-8", "DELIVRD", "2024-01-01T02:00:01Z", 1, 3),
        huawei_part("h-8", "DELIVRD", "2024-01-01T02:00:02Z", 2, 3)], FORM)
    [message] = messages(runtime)
    assert (message.status, message.final) == ("pending", False)
    ingest_one_by_one(runtime, new, [huawei_part("h-8", "EXPIRED", "2024-01-01T02:00:03Z",
                                                 3, 3)], FORM)
    [message] = messages(runtime)
    assert (message.status, message.final, message.parts["3"]["status"]) == (
        "expired", True, "expired")


def test_rebuild_builds_the_same_rows_from_stored_receipts(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    ingest_one_by_one(runtime, new, [
        tencent("m-3", "SUCCESS", "2024-01-01 10:00:05"),
        tencent("m-3", "PENDING", "2024-01-01 10:00:01"),
        tencent("m-3", "FAIL", "2024-01-01 10:00:07"),
        tencent("m-4", "FAIL", "2024-01-01 10:00:07", mobile="13800000002"),
    ])
    before = [(m.message_id, m.status, m.out_of_order, m.corrected, m.parts)
              for m in messages(runtime)]
    with runtime.sessions() as session:
        session.execute(delete(MESSAGE_TABLE))
        session.commit()
        read = rebuild(session, now=utcnow(), batch=2)
        events = session.execute(select(func.count()).select_from(Receipt)).scalar_one()
    after = [(m.message_id, m.status, m.out_of_order, m.corrected, m.parts)
             for m in messages(runtime)]
    assert read == 4  # status reports only: the correction event is not read again
    assert events == 5  # and not stored again
    assert after == before
    assert [b[:4] for b in before] == [("m-3", "delivered", 0, True), ("m-4", "failed", 0,
                                                                          False)]


@pytest.mark.postgres
@pytest.mark.commits  # two workers: two connections, each committing
def test_two_workers_storing_one_messages_receipts_lose_neither(pg_url: str,
                                                                runtime: Runtime) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    new = AccountFactory(provider="huawei", options=ACCEPTD_PENDING)
    sessions = make_session_factory(runtime.engine)
    with sessions() as setup:
        one = put(setup, new, huawei_part("h-7", "DELIVRD", "2024-01-01T02:00:01Z", 1, 2), FORM)
        two = put(setup, new, huawei_part("h-7", "DELIVRD", "2024-01-01T02:00:02Z", 2, 2), FORM)
        # the message row exists already: both workers update it
        ingest(setup, runtime.box, [put(setup, new, huawei_part(
            "h-7", "ACCEPTD", "2024-01-01T02:00:00Z", 1, 2), FORM)], now=utcnow())
        setup.commit()
    first = sessions()
    ingest(first, runtime.box, [one], now=utcnow())  # holds the message row's lock
    errors: list[BaseException] = []

    def second_worker() -> None:
        try:
            with sessions() as second:
                ingest(second, runtime.box, [two], now=utcnow() + timedelta(seconds=1))
                second.commit()
        except BaseException as ex:
            errors.append(ex)

    worker = threading.Thread(target=second_worker, daemon=True)
    worker.start()
    try:
        with sessions() as watcher:
            # (or to fail: then the test says why at once)
            wait_for(lambda: bool(errors) or watcher.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")).scalar_one() > 0, 120,
                "the second worker to wait for the first's lock", interval=0.01)
            assert not errors
    finally:
        first.commit()
        first.close()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert not errors
    [message] = messages(runtime)
    assert sorted((k, v["status"]) for k, v in message.parts.items()) == [
        ("1", "delivered"), ("2", "delivered")]
    assert (message.status, message.final) == ("delivered", True)


@pytest.mark.dialects
def test_each_message_counts_once_in_the_delivery_aggregate_whatever_its_receipts(
        runtime: Runtime) -> None:
    new: NewAccount = AccountFactory(provider="tencent")
    ingest_one_by_one(runtime, new, [
        tencent("a", "SUCCESS", "2024-01-01 10:00:00"),
        tencent("b", "FAIL", "2024-01-01 10:00:00", mobile="18900000001"),
        # a second, disagreeing final of b: a correction, not a second message
        tencent("b", "SUCCESS", "2024-01-01 10:00:05", mobile="18900000001"),
        tencent("c", "FAIL", "2024-01-01 10:00:00"),
    ])
    now = utcnow()
    with runtime.sessions() as session:
        got = delivery(session, tenant_id=new.account.tenant_id,
                       since=now - timedelta(hours=2), until=now + timedelta(hours=1),
                       group_by="carrier")
    by_carrier = {g["carrier"]: g for g in got.data}
    mobile, telecom = by_carrier["china_mobile"], by_carrier["china_telecom"]
    assert (mobile["messages"], mobile["delivered"], mobile["failed"]) == (2, 1, 1)
    assert mobile["delivery_rate"] == 0.5
    # MK:0005 from China Mobile means the number is invalid; from China Telecom, off
    assert mobile["reasons"] == {"invalid_number": 1}
    assert (telecom["messages"], telecom["delivered"], telecom["failed"]) == (1, 0, 1)
    assert telecom["reasons"] == {"unreachable_powered_off": 1}
