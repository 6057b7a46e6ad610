"""Receipts read back: pages that survive concurrent inserts, filters, timelines, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from sqlalchemy import text, update

from dlrhub.models import InboxState, utcnow
from dlrhub.services.accounts import NewAccount
from dlrhub.services.errors import InvalidInput, NotFound
from dlrhub.services.inbox import INBOX, get_inbox_item, list_inbox
from dlrhub.services.ingest import ingest
from dlrhub.services.receipts import (
    Recipient,
    get_receipt,
    list_receipts,
    message_timeline,
    stats,
)
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory, ReceiptFactory
from tests.unit.services.test_ingest import store_callback


@pytest.mark.dialects
def test_pages_return_every_receipt_once_while_new_ones_arrive(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    session = runtime.sessions()
    ids = [store_callback(session, new, seq=i, batch=5) for i in range(4)]
    ingest(session, runtime.box, ids, now=utcnow())
    session.commit()

    first = list_receipts(session, tenant_id=new.account.tenant_id, limit=7)
    # more receipts land between two pages
    late = [store_callback(session, new, seq=100 + i, batch=5) for i in range(2)]
    ingest(session, runtime.box, late, now=utcnow())
    session.commit()
    seen = [e["id"] for e in first.data]
    cursor = first.next
    while cursor:
        page = list_receipts(session, tenant_id=new.account.tenant_id, limit=7, after=cursor)
        seen += [e["id"] for e in page.data]
        cursor = page.next

    assert len(seen) == len(set(seen)) == 20  # the 20 that existed, none twice
    event = first.data[0]
    assert event["type"] == "sms.status"
    assert event["received_at"].endswith("Z")
    session.close()


@pytest.mark.dialects
def test_a_cursor_between_receipts_of_the_same_moment_skips_none_and_repeats_none(
        runtime: Runtime) -> None:
    # The cursor is a (received_at, id) position: receipts that share a received_at are
    # told apart by id, on both sides of a page boundary, with or without a filter.
    new = AccountFactory(provider="tencent")
    moment = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
    made = [ReceiptFactory(account=new.account, received_at=moment + timedelta(seconds=s),
                           status="failed" if i % 2 else "delivered")
            for s in range(3) for i in range(5)]
    session = runtime.sessions()
    tenant_id = new.account.tenant_id
    for status, expected in ((None, made), ("failed", [r for r in made if r.status == "failed"])):
        seen: list[str] = []
        cursor = None
        while True:
            page = list_receipts(session, tenant_id=tenant_id, limit=4, after=cursor,
                                 status=status)
            seen += [e["id"] for e in page.data]
            if page.next is None:
                break
            cursor = page.next
        newest_first = sorted(expected, key=lambda r: (r.received_at, r.id), reverse=True)
        assert seen == [r.id for r in newest_first]
    session.close()


def test_another_tenants_receipts_are_not_listed(runtime: Runtime) -> None:
    mine, theirs = AccountFactory(provider="tencent"), AccountFactory(provider="tencent")
    session = runtime.sessions()
    ingest(session, runtime.box, [store_callback(session, theirs, seq=1, batch=3)],
           now=utcnow())
    session.commit()
    assert list_receipts(session, tenant_id=mine.account.tenant_id).data == []
    session.close()


def test_a_forged_cursor_is_a_validation_error(runtime: Runtime) -> None:
    with runtime.sessions() as session, pytest.raises(InvalidInput, match="cursor"):
        list_receipts(session, tenant_id="ten_x", after="!!!")


# --- filters, one receipt ---------------------------------------------------------------


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 1, 1, hour, minute, tzinfo=UTC)


def stored(runtime: Runtime, new: NewAccount, records: list[dict[str, str]],
           received_at: datetime | None = None) -> None:
    """Ingest one Tencent callback of ``records``, received at ``received_at``."""
    with runtime.sessions() as session:
        inbox_id = store_callback(session, new, body=orjson.dumps(records))
        if received_at is not None:
            session.execute(update(INBOX).where(INBOX.c.id == inbox_id)
                            .values(received_at=received_at))
        ingest(session, runtime.box, [inbox_id], now=utcnow())
        session.commit()


def report(sid: str, mobile: str, status: str, at: str, ext: str = "") -> dict[str, str]:
    return {"user_receive_time": at, "nationcode": "86", "mobile": mobile,
            "report_status": status, "errmsg": status, "description": "", "sid": sid,
            "ext": ext}


@pytest.mark.dialects
def test_filters_combine_and_the_range_is_half_open(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    tenant = new.account.tenant_id
    stored(runtime, new, [report("a", "13800000001", "SUCCESS", "2024-01-01 10:00:00", "r1"),
                          report("a", "13800000002", "FAIL", "2024-01-01 10:00:00", "r1")],
           received_at=at(10))
    stored(runtime, new, [report("b", "13800000001", "FAIL", "2024-01-01 11:00:00")],
           received_at=at(11))
    with runtime.sessions() as session:
        def phones(**filters: Any) -> list[str | None]:
            page = list_receipts(session, tenant_id=tenant, **filters)
            return sorted(e["phone"] or "" for e in page.data)

        assert phones(status="failed") == ["+8613800000001", "+8613800000002"]
        assert phones(status="failed", message_id="a") == ["+8613800000002"]
        assert phones(reference="r1", phone="+8613800000001") == ["+8613800000001"]
        assert phones(since=at(11)) == ["+8613800000001"]  # inclusive
        assert phones(until=at(11)) == ["+8613800000001", "+8613800000002"]  # exclusive
        assert phones(provider="ucloud") == phones(type="sms.inbound") == []
        with pytest.raises(InvalidInput, match="until"):
            list_receipts(session, tenant_id=tenant, since=at(11), until=at(10))
        with pytest.raises(InvalidInput, match="since"):
            list_receipts(session, tenant_id=tenant, since=datetime(2024, 1, 1))  # noqa: DTZ001


def test_a_receipt_of_another_tenant_is_not_found(runtime: Runtime) -> None:
    mine, theirs = AccountFactory(provider="tencent"), AccountFactory(provider="tencent")
    stored(runtime, theirs, [report("a", "13800000001", "SUCCESS", "2024-01-01 10:00:00")])
    with runtime.sessions() as session:
        (event,) = list_receipts(session, tenant_id=theirs.account.tenant_id).data
        assert get_receipt(session, tenant_id=theirs.account.tenant_id,
                           receipt_id=event["id"]) == event
        with pytest.raises(NotFound):
            get_receipt(session, tenant_id=mine.account.tenant_id, receipt_id=event["id"])
        with pytest.raises(NotFound):
            message_timeline(session, tenant_id=mine.account.tenant_id, message_id="a")


# --- timelines --------------------------------------------------------------------------


# An account as far as a receipt needs one, for receipts that are never stored.
ACCOUNT_ROW = SimpleNamespace(id="acc_x", tenant_id="ten_x", provider="tencent")


@pytest.mark.parametrize(("statuses", "current", "corrected"), [
    (["delivered", "pending"], "delivered", False),  # a late pending never replaces a final
    (["pending", "delivered"], "delivered", False),
    (["failed", "delivered"], "failed", True),  # the first final status stays
    (["delivered", "failed"], "delivered", True),
    (["pending", "pending"], "pending", False),
    (["unknown", "pending"], "unknown", False),
    (["unknown", "delivered"], "delivered", False),  # a definite status replaces unknown
])
def test_receipts_without_a_message_row_follow_the_message_rules(
        statuses: list[str], current: str, corrected: bool) -> None:
    recipient = Recipient("+8613800000001")
    recipient.compute([ReceiptFactory.build(account=ACCOUNT_ROW, status=status,
                                            received_at=at(10, minute))
                       for minute, status in enumerate(statuses)])
    assert (recipient.status, recipient.final, recipient.corrected) == (
        current, current != "pending", corrected)


@pytest.mark.dialects
def test_a_timeline_is_in_report_order_per_phone(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    stored(runtime, new, [report("m", "13800000002", "SUCCESS", "2024-01-01 10:00:09"),
                          report("m", "13800000001", "SUCCESS", "2024-01-01 10:00:05")])
    stored(runtime, new, [report("m", "13800000001", "FAIL", "2024-01-01 10:00:01")])
    with runtime.sessions() as session:
        timeline = message_timeline(session, tenant_id=new.account.tenant_id, message_id="m")
    # The failure came after the delivery: the message keeps its first final status.
    assert [(r.phone, r.status, r.corrected) for r in timeline.recipients] == [
        ("+8613800000001", "delivered", True), ("+8613800000002", "delivered", False)]
    assert [(e["type"], e["reported_at"]) for e in timeline.recipients[0].events] == [
        ("sms.status", "2024-01-01T02:00:01Z"), ("sms.status_corrected", "2024-01-01T02:00:01Z"),
        ("sms.status", "2024-01-01T02:00:05Z")]


# --- stats ------------------------------------------------------------------------------


@pytest.mark.dialects
def test_stats_group_by_utc_hour_whatever_the_session_time_zone(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    tenant = new.account.tenant_id
    stored(runtime, new, [report("a", "13800000001", "SUCCESS", "2024-01-01 18:00:00"),
                          report("a", "13800000002", "FAIL", "2024-01-01 18:00:00")],
           received_at=at(10, 20))
    stored(runtime, new, [report("b", "13800000001", "SUCCESS", "2024-01-01 18:00:00")],
           received_at=at(10, 59))
    stored(runtime, new, [report("c", "13800000001", "SUCCESS", "2024-01-01 18:00:00")],
           received_at=at(12, 0))
    with runtime.sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            # +05:30: date_trunc on a timestamptz would cut at half past the UTC hour.
            session.execute(text("SET TIME ZONE 'Asia/Kolkata'"))
        result = stats(session, tenant_id=tenant, since=at(0), until=at(23))
        assert [(h.hour, h.count) for h in result.by_hour] == [(at(10), 3), (at(12), 1)]
        assert (result.total, result.by_status, result.by_provider) == (
            4, {"delivered": 3, "failed": 1}, {"tencent": 4})
        assert stats(session, tenant_id=tenant, since=at(12), until=at(13)).total == 1
        assert stats(session, tenant_id=tenant, since=at(0), until=at(23),
                     account_id="acc_other").total == 0


@pytest.mark.dialects
def test_stats_ranges_default_to_a_day_and_are_checked(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        day = stats(session, tenant_id="ten_x", now=at(12))
        assert (day.since, day.until, day.total, day.by_hour) == (at(12) - timedelta(days=1),
                                                                  at(12), 0, [])
        assert stats(session, tenant_id="ten_x", until=at(12)).since == at(12) - timedelta(
            days=1)
        for since, until, field in [(at(12), at(11), "until"), (at(12), at(12), "until"),
                                    (at(0) - timedelta(days=31, seconds=1), at(0), "since")]:
            with pytest.raises(InvalidInput) as caught:
                stats(session, tenant_id="ten_x", since=since, until=until)
            assert caught.value.field == field
        assert stats(session, tenant_id="ten_x", since=at(0) - timedelta(days=31),
                     until=at(0)).total == 0


# --- the inbox --------------------------------------------------------------------------


def test_the_inbox_lists_a_tenants_callbacks_newest_first_with_body_excerpts(
        runtime: Runtime) -> None:
    new, other = AccountFactory(provider="tencent"), AccountFactory(provider="tencent")
    tenant = new.account.tenant_id
    with runtime.sessions() as session:
        good = store_callback(session, new, batch=2, received_ago=30)
        binary = store_callback(session, new, body=b"\xff[", received_ago=20)
        store_callback(session, other, received_ago=10)
        ingest(session, runtime.box, [good, binary], now=utcnow())
        session.commit()

        rows, cursor = list_inbox(session, tenant_id=tenant, limit=1)
        assert [r["id"] for r in rows] == [binary]
        assert cursor is not None
        rest, end = list_inbox(session, tenant_id=tenant, limit=1, after=cursor)
        assert ([r["id"] for r in rest], end) == ([good], None)

        (failed,) = list_inbox(session, tenant_id=tenant, state=InboxState.failed)[0]
        assert (failed["id"], failed["body_excerpt"], failed["body_truncated"],
                failed["body_size"]) == (binary, "\ufffd[", False, 2)
        assert failed["reason"]
        whole = get_inbox_item(session, tenant_id=tenant, inbox_id=binary)
        assert (whole["body"], whole["body_base64"], whole["body_size"]) == (None, "/1s=", 2)
        item = get_inbox_item(session, tenant_id=tenant, inbox_id=good)
        assert (item["state"], item["receipts"]) == ("processed", 2)
        assert item["body"] is not None
        with pytest.raises(NotFound):
            get_inbox_item(session, tenant_id=other.account.tenant_id, inbox_id=good)
