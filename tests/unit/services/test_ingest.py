"""Ingest: normalize, dedupe and store; idempotent; one bad callback spoils nothing."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import orjson
import psycopg
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from dlrhub.models import InboundCallback, Receipt, utcnow
from dlrhub.providers.base import Event
from dlrhub.services.accounts import NewAccount
from dlrhub.services.ingest import dedupe_key, ingest, ingest_each, stale_pending, sweep_grace
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.factories import AccountFactory, InboundCallbackFactory

# The bulk insert (COPY on PostgreSQL), savepoints, the sweep's scans: SQL of each dialect.
pytestmark = pytest.mark.dialects


def store_callback(session: Session, new: NewAccount, *, seq: int = 1, batch: int = 1,
                   body: bytes | None = None, received_ago: float = 0.0,
                   enqueued_ago: float | None = None) -> str:
    """Put a callback in the inbox as the API would, and return its id."""
    extra: dict[str, object] = {} if body is None else {"body": body}
    if enqueued_ago is not None:
        extra["enqueued_at"] = utcnow() - timedelta(seconds=enqueued_ago)
    # Built, then written through the caller's session: the test may hold a transaction.
    row = InboundCallbackFactory.build(account=new.account, seq=seq, records=batch,
                                       received_at=utcnow() - timedelta(seconds=received_ago),
                                       **extra)
    session.add(row)
    session.commit()
    return str(row.id)


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Receipt)).scalar_one()


def state(session: Session, inbox_id: str) -> InboundCallback:
    session.expire_all()
    row = session.get(InboundCallback, inbox_id)
    assert row is not None
    return row


def test_a_callback_becomes_all_its_receipts_and_is_marked_processed(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        inbox_id = store_callback(session, new, batch=10)
        now = utcnow()
        report = ingest(session, runtime.box, [inbox_id], now=now)
        session.commit()
        assert (report.processed, report.stored, report.duplicates) == (1, 10, 0)
        assert count(session) == 10
        row = state(session, inbox_id)
        assert (row.state, row.receipts, row.attempts, row.processed_at) == (
            "processed", 10, 1, now)


def test_running_twice_changes_nothing(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        inbox_id = store_callback(session, new, batch=3)
        ingest(session, runtime.box, [inbox_id], now=utcnow())
        session.commit()
        again = ingest(session, runtime.box, [inbox_id], now=utcnow())
        session.commit()
        assert (again.processed, again.stored) == (0, 0)
        assert count(session) == 3
        assert state(session, inbox_id).attempts == 1


def test_a_resent_record_is_stored_once(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        body = build_callback("tencent", "http://x/", seq=7, batch=4, kind="status",
                              credentials={}).body
        first = store_callback(session, new, body=body)
        second = store_callback(session, new, body=body)
        report = ingest(session, runtime.box, [first, second], now=utcnow())
        session.commit()
        assert (report.stored, report.duplicates) == (4, 4)
        assert count(session) == 4
        assert (state(session, first).receipts, state(session, second).receipts) == (4, 0)


def test_the_same_record_twice_in_one_body_is_stored_once(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    record = {"user_receive_time": "2024-01-01 10:00:00", "nationcode": "86",
              "mobile": "13800138000", "report_status": "SUCCESS", "errmsg": "DELIVRD",
              "description": "ok", "sid": "s-1"}
    with runtime.sessions() as session:
        inbox_id = store_callback(session, new, body=orjson.dumps([record, record]))
        ingest(session, runtime.box, [inbox_id], now=utcnow())
        session.commit()
        assert count(session) == 1


def test_a_late_failure_after_delivery_is_recorded_not_dropped(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    base = {"user_receive_time": "2024-01-01 10:00:00", "nationcode": "86",
            "mobile": "13800138000", "description": "", "sid": "s-2"}
    delivered = {**base, "report_status": "SUCCESS", "errmsg": "DELIVRD"}
    failed = {**base, "report_status": "FAIL", "errmsg": "UNDELIV",
              "user_receive_time": "2024-01-01 10:00:09"}
    with runtime.sessions() as session:
        ids = [store_callback(session, new, body=orjson.dumps([r])) for r in (delivered, failed)]
        ingest(session, runtime.box, ids, now=utcnow())
        session.commit()
        statuses = sorted(session.execute(select(Receipt.status)
                                          .where(Receipt.type == "sms.status")).scalars())
        assert statuses == ["delivered", "failed"]
        # The message keeps its first final status and says it was contradicted.
        kept = session.execute(select(Receipt.status)
                               .where(Receipt.type == "sms.status_corrected")).scalars()
        assert list(kept) == ["delivered"]


def test_a_callback_that_cannot_be_normalized_fails_alone_with_its_reason(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    bad = [{"user_receive_time": "yesterday", "mobile": "1", "report_status": "SUCCESS",
            "sid": "x"}]
    with runtime.sessions() as session:
        bad_id = store_callback(session, new, body=orjson.dumps(bad))
        good_id = store_callback(session, new, batch=2)
        report = ingest(session, runtime.box, [bad_id, good_id], now=utcnow())
        session.commit()
        assert (report.processed, report.failed) == (1, 1)
        row = state(session, bad_id)
        assert row.state == "failed"
        assert row.reason is not None
        assert "user_receive_time" in row.reason
        assert state(session, good_id).state == "processed"
        assert count(session) == 2


def test_stale_pending_finds_only_old_pending_rows(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        old = store_callback(session, new, seq=1, received_ago=120)
        store_callback(session, new, seq=2)  # fresh: its task is probably on its way
        done = store_callback(session, new, seq=3, received_ago=120)
        ingest(session, runtime.box, [done], now=utcnow())
        session.commit()
    found = stale_pending(runtime.engine, older_than=timedelta(seconds=60), now=utcnow())
    assert found == [old]


def test_parts_of_one_long_sms_are_distinct_receipts(runtime: Runtime) -> None:
    new = AccountFactory(provider="huawei")
    with runtime.sessions() as session:
        ids = []
        for part in (1, 2):
            body = (f"sequence={part}&total=2&updateTime=2018-10-31T08%3A43%3A41Z&source=2"
                    "&smsMsgId=m-1&status=DELIVRD").encode()
            ids.append(store_callback(session, new, body=body))
        ingest(session, runtime.box, ids, now=utcnow())
        session.commit()
        assert count(session) == 2


def test_dedupe_key_tells_apart_what_differs_and_only_that() -> None:
    a = Event(type="sms.status", status="delivered", message_id="m", phone="+1",
              provider_status="DELIVRD", raw={"n": 1})
    assert dedupe_key(a) == dedupe_key(replace(a, raw={"n": 2}))  # same record, resent
    for change in ({"phone": "+2"}, {"message_id": "n"}, {"provider_status": "UNDELIV"},
                   {"reported_at": utcnow()}, {"part": "2"}):
        assert dedupe_key(a) != dedupe_key(replace(a, **change)), change


def test_a_report_the_provider_names_is_stored_once_per_name() -> None:
    # Twilio's idempotency token, Telnyx's event id: a retry carries the same name
    a = Event(type="sms.status", status="pending", message_id="m", phone="+1",
              provider_status="sent", report_id="tok-1", raw={"n": 1})
    assert dedupe_key(a) == dedupe_key(replace(a, raw={"n": 2}))
    # two reports alike in every field are two when the provider named them apart
    assert dedupe_key(a) != dedupe_key(replace(a, report_id="tok-2"))
    # and one name on several recipients' reports (a Telnyx event) is one per phone
    assert dedupe_key(a) != dedupe_key(replace(a, phone="+2"))
    # a named report never collides with the unnamed one of the same content
    assert dedupe_key(a) != dedupe_key(replace(a, report_id=None))


def test_ids_sort_by_creation_time() -> None:
    import time

    from dlrhub.models.ids import new_id

    first = new_id("evt")
    time.sleep(0.002)
    second = new_id("evt")
    assert first < second
    assert len(first) == len("evt_") + 26
    assert set(first[4:]) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_the_mainland_fast_path_agrees_with_phonenumbers() -> None:
    import phonenumbers

    from dlrhub.providers.common import e164

    for number in ("13800138000", "19912345678", "15011112222", "17700001111"):
        expected = phonenumbers.format_number(phonenumbers.parse(number, "CN"),
                                              phonenumbers.PhoneNumberFormat.E164)
        assert e164(number, region="CN") == expected
        assert e164(number, country_code="86") == expected
    assert e164("13800138000", region="US") != "+8613800138000"  # the fast path is CN only


def _endpoint(runtime: Runtime, tenant_id: str, **spec: object) -> str:
    from dlrhub.models import EndpointCreate
    from dlrhub.services.endpoints import create_endpoint

    with runtime.sessions() as session:
        endpoint, _ = create_endpoint(session, runtime.box, tenant_id=tenant_id,
                                      spec=EndpointCreate(url="http://127.0.0.1:9/", **spec),  # type: ignore[arg-type]
                                      allow_private=True)
        session.commit()
        return endpoint.id


def test_deliveries_are_planned_once_per_new_receipt_and_filtered(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    _endpoint(runtime, new.account.tenant_id)
    _endpoint(runtime, new.account.tenant_id, statuses=["failed"])
    _endpoint(runtime, new.account.tenant_id, batch_size=4)
    body = build_callback("tencent", "http://x/", seq=3, batch=10, kind="status",
                          credentials={}).body  # 9 delivered, 1 failed
    with runtime.sessions() as session:
        first = ingest(session, runtime.box, [store_callback(session, new, body=body)],
                       now=utcnow())
        again = ingest(session, runtime.box, [store_callback(session, new, body=body)],
                       now=utcnow())
        session.commit()
    assert len(first.deliveries) == 10 + 1 + 3  # one each; only the failure; 4+4+2
    assert again.deliveries == []  # a resent record plans nothing


def test_a_suspended_tenants_receipts_are_stored_but_not_planned(runtime: Runtime) -> None:
    from dlrhub.models import TenantStatus
    from dlrhub.services.tenancy import update_tenant

    new = AccountFactory(provider="tencent")
    _endpoint(runtime, new.account.tenant_id)
    with runtime.sessions() as session:
        update_tenant(session, new.account.tenant_id, status=TenantStatus.suspended)
        session.commit()
        report = ingest(session, runtime.box, [store_callback(session, new, batch=3)],
                        now=utcnow())
        session.commit()
        assert (report.stored, report.deliveries) == (3, [])


# --- a value the database cannot hold never strands its neighbours ---------------------

TENCENT_RECORD = {"user_receive_time": "2024-01-01 10:00:00", "nationcode": "86",
                  "mobile": "13800138000", "report_status": "SUCCESS", "errmsg": "DELIVRD",
                  "description": "ok", "sid": "s-1"}


def _ucloud_body(seq: int, cost_count: object) -> bytes:
    doc = orjson.loads(build_callback("ucloud", "http://x/", seq=seq, batch=2, kind="status",
                                      credentials={}).body)
    doc["Data"][0]["CostCount"] = cost_count
    return orjson.dumps(doc)


def _goods(session: Session, new: NewAccount, count: int, start: int = 100) -> list[str]:
    return [store_callback(session, new, seq=start + n, batch=2) for n in range(count)]


def test_nul_characters_are_stored_replaced_beside_their_neighbours(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    record = {**TENCENT_RECORD, "sid": "s-\x00-1", "errmsg": "DELIV\x00RD",
              "description": "user@example", "nested": {"k\x00": ["a\x00b"]}}
    with runtime.sessions() as session:
        goods = _goods(session, new, 6)
        nul = store_callback(session, new, body=orjson.dumps([record]))
        report = ingest(session, runtime.box, [*goods[:3], nul, *goods[3:]], now=utcnow())
        session.commit()
        assert (report.processed, report.failed) == (7, 0)
        assert count(session) == 6 * 2 + 1
        stored = session.execute(select(Receipt).where(Receipt.inbox_id == nul)).scalar_one()
        assert stored.message_id == "s-\ufffd-1"
        assert stored.provider_status == "DELIV\ufffdRD"
        assert stored.raw["nested"] == {"k\ufffd": ["a\ufffdb"]}
        assert b"\\u0000" in state(session, nul).body  # the raw body keeps every byte


def test_segments_a_column_cannot_hold_fail_their_callback_alone(runtime: Runtime) -> None:
    new = AccountFactory(provider="ucloud")
    with runtime.sessions() as session:
        goods = _goods(session, new, 9)
        poison = [store_callback(session, new, seq=n, body=_ucloud_body(n, value))
                  for n, value in enumerate(("18446744073709551616", "9223372036854775808",
                                             "3000000000"))]
        ids = [*goods[:3], poison[0], *goods[3:6], poison[1], *goods[6:], poison[2]]
        report = ingest(session, runtime.box, ids, now=utcnow())
        session.commit()
        assert (report.processed, report.failed, report.stored) == (9, 3, 18)
        assert count(session) == 18
        for inbox_id in poison:
            row = state(session, inbox_id)
            assert row.state == "failed"
            assert row.reason is not None
            # named by the provider's field (the adapter refuses it) or by ours
            assert "out of range" in row.reason
        assert all(state(session, g).state == "processed" for g in goods)
        assert session.execute(select(func.max(Receipt.segments))).scalar_one() == 1


@contextmanager
def refused_by_database(engine: Engine, table: str, event: str, when: str) -> Iterator[None]:
    """Make the real database refuse writes of ``table`` matching ``when``, as a constraint."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            conn.execute(text(
                "CREATE OR REPLACE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'refused by a test constraint' "
                "USING ERRCODE = 'check_violation'; END $$"))
            conn.execute(text(f"CREATE TRIGGER test_refuse BEFORE {event} ON {table} "
                              f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION test_refuse()"))
        else:
            conn.execute(text(f"CREATE TRIGGER test_refuse BEFORE {event} ON {table} "
                              f"WHEN {when} BEGIN "
                              "SELECT RAISE(ABORT, 'refused by a test constraint'); END"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TRIGGER test_refuse{' ON ' + table if postgres else ''}"))
            if postgres:
                conn.execute(text("DROP FUNCTION test_refuse()"))


def test_a_callback_the_database_refuses_fails_alone_and_counts_its_attempts(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with refused_by_database(runtime.engine, "receipt", "INSERT",
                             "NEW.message_id = 'poison'"), runtime.sessions() as session:
        goods = _goods(session, new, 40)
        poison = store_callback(session, new, body=orjson.dumps(
            [{**TENCENT_RECORD, "sid": "poison"}]))
        ids = [*goods[:20], poison, *goods[20:]]
        report = ingest(session, runtime.box, ids, now=utcnow(), max_attempts=2)
        session.commit()
        assert (report.processed, report.retried, report.stored) == (40, 1, 80)
        assert all(state(session, g).state == "processed" for g in goods)
        row = state(session, poison)
        assert (row.state, row.attempts) == ("pending", 1)  # the sweep tries it again
        assert row.reason is not None
        assert "refused by a test constraint" in row.reason

        again = ingest(session, runtime.box, [poison], now=utcnow(), max_attempts=2)
        session.commit()
        assert (again.failed, again.retried) == (1, 0)
        row = state(session, poison)
        assert (row.state, row.attempts) == ("failed", 2)
        assert count(session) == 80


def test_a_callback_stored_at_its_second_attempt_forgets_why_the_first_failed(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with refused_by_database(runtime.engine, "receipt", "INSERT", "true"), \
            runtime.sessions() as session:
        inbox_id = store_callback(session, new, batch=3)
        ingest(session, runtime.box, [inbox_id], now=utcnow(), max_attempts=3)
        session.commit()
        assert state(session, inbox_id).reason is not None
    with runtime.sessions() as session:
        later = utcnow()
        ingest(session, runtime.box, [inbox_id], now=later, max_attempts=3)
        session.commit()
        row = state(session, inbox_id)
        assert (row.state, row.reason, row.receipts, row.attempts, row.processed_at) == (
            "processed", None, 3, 2, later)


def test_a_batch_that_fails_outside_the_receipts_is_ingested_row_by_row(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        goods = _goods(session, new, 5)
        poison = store_callback(session, new, seq=1)
    when = f"NEW.id = '{poison}' AND NEW.state = 'processed'"
    with refused_by_database(runtime.engine, "inbound_callback", "UPDATE", when):
        # The driver's error as it is on PostgreSQL (the rows are marked in one statement
        # on its connection), SQLAlchemy's on SQLite.
        with runtime.sessions() as session, pytest.raises((DBAPIError, psycopg.Error)):
            ingest(session, runtime.box, [*goods, poison], now=utcnow())
        # Ingest pauses the cyclic collector while it works: a failed batch turns it back
        # on too, or the worker would never free a reference cycle again.
        assert gc.isenabled()
        report = ingest_each(runtime.sessions, runtime.box, [*goods, poison], now=utcnow(),
                             max_attempts=1)
    assert (report.processed, report.failed, report.stored) == (5, 1, 10)
    with runtime.sessions() as session:
        assert all(state(session, g).state == "processed" for g in goods)
        row = state(session, poison)
        assert (row.state, row.attempts) == ("failed", 1)
        assert row.reason is not None
        assert "refused by a test constraint" in row.reason


# --- the sweep re-sends lost work, not a backlog ---------------------------------------

GRACE = timedelta(seconds=60)


def test_the_sweep_spares_a_backlog_enqueued_recently_and_resends_lost_rows(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        # Arrived 10 minutes ago, enqueued again 10 s ago: waiting in the broker.
        backlog = [store_callback(session, new, seq=n, received_ago=600, enqueued_ago=10)
                   for n in range(30)]
        # Enqueued 2 minutes ago and still pending: that message was lost.
        lost = [store_callback(session, new, seq=100 + n, received_ago=600, enqueued_ago=120)
                for n in range(3)]
    now = utcnow()
    assert sorted(stale_pending(runtime.engine, older_than=GRACE, now=now)) == sorted(lost)
    # Sent again: the next sweeps leave them to that message for a grace of its own.
    assert stale_pending(runtime.engine, older_than=GRACE, now=now + timedelta(seconds=30)) == []
    later = stale_pending(runtime.engine, older_than=GRACE, now=now + timedelta(seconds=61))
    assert sorted(later) == sorted(backlog + lost)


def test_while_a_backlog_is_queued_only_long_lost_rows_are_resent(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        queued = store_callback(session, new, seq=1, received_ago=900, enqueued_ago=300)
        lost = store_callback(session, new, seq=2, received_ago=900, enqueued_ago=700)
    assert sweep_grace(GRACE, queued_tasks=0) == GRACE
    grace = sweep_grace(GRACE, queued_tasks=500)
    assert stale_pending(runtime.engine, older_than=grace, now=utcnow()) == [lost]
    # Once the queue is drained, the normal grace applies again.
    assert stale_pending(runtime.engine, older_than=GRACE, now=utcnow()) == [queued]


def test_a_failed_attempt_waits_a_grace_before_the_sweep_sends_it_again(
        runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with refused_by_database(runtime.engine, "receipt", "INSERT",
                             "NEW.message_id = 'poison'"), runtime.sessions() as session:
        poison = store_callback(session, new, received_ago=600, enqueued_ago=600,
                                body=orjson.dumps([{**TENCENT_RECORD, "sid": "poison"}]))
        ingest(session, runtime.box, [poison], now=utcnow())
        session.commit()
    assert state_of(runtime, poison) == ("pending", 1)
    assert stale_pending(runtime.engine, older_than=GRACE, now=utcnow()) == []
    assert stale_pending(runtime.engine, older_than=GRACE,
                         now=utcnow() + timedelta(seconds=61)) == [poison]


def state_of(runtime: Runtime, inbox_id: str) -> tuple[str, int]:
    with runtime.sessions() as session:
        row = state(session, inbox_id)
        return row.state, row.attempts
