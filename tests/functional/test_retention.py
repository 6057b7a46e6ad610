"""The purge of expired rows: exactly what is older than each period goes, on both databases."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, insert, select, update
from sqlmodel import Session

from dlrhub.models import (
    ATTEMPT_TABLE,
    DELIVERY_STATS_TABLE,
    DELIVERY_TABLE,
    EXPECTATION_TABLE,
    INBOX_TABLE,
    MESSAGE_TABLE,
    RECEIPT_TABLE,
    TENANT_TABLE,
    Attempt,
    Delivery,
    Endpoint,
    Expectation,
    InboundCallback,
    Message,
    Receipt,
    utcnow,
)
from dlrhub.services.retention import Periods, purge, would_purge
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory

pytestmark = pytest.mark.dialects

DEFAULTS = Periods(inbox=30, receipts=180, deliveries=30, expectations=90)
# A second either side of a period's edge.
OUT, IN = timedelta(seconds=-1), timedelta(seconds=1)
_seq = itertools.count()


@dataclass
class Tenant:
    """A tenant with an account and an endpoint, and rows dated around ``now``."""

    session: Session
    tenant_id: str
    account_id: str
    endpoint_id: str
    now: datetime

    def edge(self, days: int, side: timedelta) -> datetime:
        """Return the instant a second before (OUT) or after (IN) ``days`` ago."""
        return self.now - timedelta(days=days) + side

    def inbox(self, at: datetime, state: str = "processed") -> str:
        row = InboundCallback(tenant_id=self.tenant_id, account_id=self.account_id,
                              provider="tencent", received_at=at, state=state,
                              reason="refused: bad signature" if state == "rejected" else None)
        return self._add(row)

    def receipt(self, at: datetime, message_id: str) -> str:
        n = next(_seq)
        return self._add(Receipt(tenant_id=self.tenant_id, account_id=self.account_id,
                                 inbox_id="inb_x", type="sms.status", provider="tencent",
                                 message_id=message_id, phone="+8613800000000",
                                 status="delivered", received_at=at, dedupe_key=f"k{n}"))

    def message(self, message_id: str) -> str:
        return self._add(Message(tenant_id=self.tenant_id, account_id=self.account_id,
                                 provider="tencent", message_id=message_id,
                                 phone="+8613800000000", status="delivered", final=True))

    def delivery(self, at: datetime, status: str = "succeeded",
                 event_ids: list[str] | None = None, inbox_id: str | None = None) -> str:
        delivery_id = self._add(Delivery(tenant_id=self.tenant_id, endpoint_id=self.endpoint_id,
                                         status=status, created_at=at, updated_at=at,
                                         event_ids=event_ids or [], inbox_id=inbox_id))
        for _ in range(2):
            self._add(Attempt(delivery_id=delivery_id, tenant_id=self.tenant_id, at=at,
                              status_code=500))
        return delivery_id

    def expectation(self, deadline: datetime, state: str = "met",
                    synthetic: bool = True) -> str:
        return self._add(Expectation(
            tenant_id=self.tenant_id, account_id=self.account_id, provider="tencent",
            message_id=f"exp-{next(_seq)}", phone_key="", sent_at=deadline,
            deadline_at=deadline, horizon_at=deadline, state=state,
            synthetic_at=deadline if synthetic and state == "missing" else None))

    def stats(self, bucket: datetime) -> None:
        self.session.execute(insert(DELIVERY_STATS_TABLE).values(
            tenant_id=self.tenant_id, grain="hour", bucket=bucket, account_id=self.account_id,
            provider="tencent", country="CN", carrier="", template="", reason_class="",
            messages=1, delivered=1))
        self.session.flush()

    def set_periods(self, **days: int) -> None:
        self.session.execute(update(TENANT_TABLE).where(TENANT_TABLE.c.id == self.tenant_id)
                             .values(**{f"retain_{k}_days": v for k, v in days.items()}))
        self.session.commit()

    def _add(self, row: Any) -> str:
        self.session.add(row)
        self.session.flush()
        row_id: str = row.id
        return row_id


def make_tenant(runtime: Runtime, session: Session, now: datetime) -> Tenant:
    account = AccountFactory(provider="tencent").account
    endpoint = Endpoint(tenant_id=account.tenant_id, url="https://example.com/hook",
                        secret_encrypted="x")
    session.add(endpoint)
    session.flush()
    return Tenant(session, account.tenant_id, account.id, endpoint.id, now)


@pytest.fixture
def session(runtime: Runtime) -> Any:
    with runtime.sessions() as s:
        yield s


def ids(runtime: Runtime, table: Table, tenant_id: str | None = None) -> set[str]:
    with runtime.engine.connect() as conn:
        query = select(table.c.id)
        if tenant_id is not None:
            query = query.where(table.c.tenant_id == tenant_id)
        return set(conn.execute(query).scalars())


def count(runtime: Runtime, table: Table) -> int:
    with runtime.engine.connect() as conn:
        return len(conn.execute(select(table)).all())


def test_exactly_what_is_older_than_each_period_goes(runtime: Runtime,
                                                     session: Session) -> None:
    now = utcnow()
    t = make_tenant(runtime, session, now)
    kept_inbox = {t.inbox(t.edge(30, IN)), t.inbox(t.edge(30, IN), "rejected"),
                  # Never a pending one, however old: its receipts are not stored yet.
                  t.inbox(t.edge(400, OUT), "pending")}
    gone_inbox = {t.inbox(t.edge(30, OUT)), t.inbox(t.edge(30, OUT), "rejected"),
                  t.inbox(t.edge(30, OUT), "failed")}
    kept_receipts = {t.receipt(t.edge(180, IN), "m-new"), t.receipt(t.edge(180, IN), "m-mix")}
    gone_receipts = {t.receipt(t.edge(180, OUT), "m-old"), t.receipt(t.edge(180, OUT), "m-mix")}
    kept_messages = {t.message("m-new"), t.message("m-mix")}
    gone_messages = {t.message("m-old")}
    kept_deliveries = {t.delivery(t.edge(30, IN)), t.delivery(t.edge(30, IN), "dead"),
                       t.delivery(t.edge(400, OUT), "pending")}
    gone_deliveries = {t.delivery(t.edge(30, OUT)), t.delivery(t.edge(30, OUT), "failed"),
                       t.delivery(t.edge(30, OUT), "dead")}
    kept_expectations = {t.expectation(t.edge(90, IN)),
                         t.expectation(t.edge(90, IN), "missing"),
                         t.expectation(t.edge(400, OUT), "pending"),
                         # Missing, its synthetic final status not sent yet.
                         t.expectation(t.edge(400, OUT), "missing", synthetic=False)}
    gone_expectations = {t.expectation(t.edge(90, OUT)),
                         t.expectation(t.edge(90, OUT), "missing")}
    t.stats(t.edge(400, OUT))
    session.commit()

    report = purge(runtime.sessions, now=now, defaults=DEFAULTS)

    assert report.finished
    assert report.deleted == {"inbound_callback": 3, "receipt": 2, "message": 1,
                              "delivery": 3, "attempt": 6, "expectation": 2}
    assert ids(runtime, INBOX_TABLE) == kept_inbox
    assert ids(runtime, RECEIPT_TABLE) == kept_receipts
    assert ids(runtime, MESSAGE_TABLE) == kept_messages
    assert ids(runtime, DELIVERY_TABLE) == kept_deliveries
    assert count(runtime, ATTEMPT_TABLE) == 2 * len(kept_deliveries)
    assert ids(runtime, EXPECTATION_TABLE) == kept_expectations
    # The aggregate keeps its counts: analytics over purged periods stay right.
    assert count(runtime, DELIVERY_STATS_TABLE) == 1
    assert not gone_inbox & ids(runtime, INBOX_TABLE)
    assert not (gone_receipts | gone_messages | gone_deliveries | gone_expectations) & (
        ids(runtime, RECEIPT_TABLE) | ids(runtime, MESSAGE_TABLE)
        | ids(runtime, DELIVERY_TABLE) | ids(runtime, EXPECTATION_TABLE))
    # Nothing left to do: a second run deletes nothing.
    assert purge(runtime.sessions, now=now, defaults=DEFAULTS).total == 0


def test_a_tenants_own_period_overrides_the_default(runtime: Runtime,
                                                    session: Session) -> None:
    now = utcnow()
    short, usual = make_tenant(runtime, session, now), make_tenant(runtime, session, now)
    short.set_periods(receipts=7, inbox=400)
    for t in (short, usual):
        t.receipt(t.edge(7, OUT), f"m-{t.tenant_id}")
        t.inbox(t.edge(30, OUT))
    session.commit()

    report = purge(runtime.sessions, now=now, defaults=DEFAULTS)

    assert (report.deleted["receipt"], report.deleted["inbound_callback"]) == (1, 1)
    assert ids(runtime, RECEIPT_TABLE, short.tenant_id) == set()
    assert len(ids(runtime, RECEIPT_TABLE, usual.tenant_id)) == 1
    # Its own inbox period is longer than the default: its callback stays.
    assert len(ids(runtime, INBOX_TABLE, short.tenant_id)) == 1
    assert ids(runtime, INBOX_TABLE, usual.tenant_id) == set()


def test_what_a_pending_delivery_will_send_stays(runtime: Runtime, session: Session) -> None:
    now = utcnow()
    t = make_tenant(runtime, session, now)
    receipt = t.receipt(t.edge(180, OUT), "m-1")
    callback = t.inbox(t.edge(30, OUT))
    t.delivery(t.edge(30, OUT), "pending", event_ids=[receipt], inbox_id=callback)
    other = t.receipt(t.edge(180, OUT), "m-2")
    session.commit()

    report = purge(runtime.sessions, now=now, defaults=DEFAULTS)

    assert (report.deleted["receipt"], report.deleted["inbound_callback"]) == (1, 0)
    assert ids(runtime, RECEIPT_TABLE) == {receipt}
    assert other not in ids(runtime, RECEIPT_TABLE)
    assert ids(runtime, INBOX_TABLE) == {callback}


def test_a_full_batch_of_kept_rows_does_not_stop_the_purge_of_what_follows(
        runtime: Runtime, session: Session) -> None:
    # The 5 oldest receipts and raw callbacks wait for a pending delivery (a disabled
    # endpoint's stays pending for ever); 15 younger ones, still expired, must go.
    now = utcnow()
    t = make_tenant(runtime, session, now)
    kept = [t.receipt(t.edge(200 + i, OUT), f"k-{i}") for i in range(5)]
    kept_inbox = [t.inbox(t.edge(50 + i, OUT)) for i in range(5)]
    for n, (receipt, callback) in enumerate(zip(kept, kept_inbox, strict=True)):
        t.delivery(t.edge(30, OUT) + timedelta(seconds=n), "pending", event_ids=[receipt],
                   inbox_id=callback)
    for i in range(15):
        t.receipt(t.edge(180, OUT) - timedelta(minutes=i), f"m-{i}")
        t.inbox(t.edge(30, OUT) - timedelta(minutes=i))
    session.commit()

    report = purge(runtime.sessions, now=now, defaults=DEFAULTS, batch=5)

    assert (report.finished, report.deleted["receipt"],
            report.deleted["inbound_callback"]) == (True, 15, 15)
    assert ids(runtime, RECEIPT_TABLE) == set(kept)
    assert ids(runtime, INBOX_TABLE) == set(kept_inbox)


def test_it_deletes_in_batches_and_stops_at_its_budget(runtime: Runtime,
                                                       session: Session) -> None:
    now = utcnow()
    t = make_tenant(runtime, session, now)
    for i in range(5):
        t.receipt(t.edge(180 + i, OUT), f"m-{i}")
    session.commit()
    batches = itertools.count()

    # Out of time after two batches of two: one receipt is left for the next run.
    first = purge(runtime.sessions, now=now, defaults=DEFAULTS, batch=2,
                  out_of_time=lambda: next(batches) >= 2)
    assert (first.finished, first.deleted["receipt"]) == (False, 4)
    assert len(ids(runtime, RECEIPT_TABLE)) == 1
    second = purge(runtime.sessions, now=now, defaults=DEFAULTS, batch=2)
    assert (second.finished, second.deleted["receipt"]) == (True, 1)
    assert ids(runtime, RECEIPT_TABLE) == set()


def test_the_dry_run_counts_what_the_purge_deletes_and_deletes_nothing(
        runtime: Runtime, session: Session) -> None:
    now = utcnow()
    t = make_tenant(runtime, session, now)
    t.inbox(t.edge(30, OUT))
    t.inbox(t.edge(30, IN))
    t.receipt(t.edge(180, OUT), "m-old")
    t.message("m-old")
    t.delivery(t.edge(30, OUT))
    t.expectation(t.edge(90, OUT))
    session.commit()
    before = {table.name: count(runtime, table) for table in
              (INBOX_TABLE, RECEIPT_TABLE, MESSAGE_TABLE, DELIVERY_TABLE, ATTEMPT_TABLE,
               EXPECTATION_TABLE)}

    counted = would_purge(runtime.sessions, now=now, defaults=DEFAULTS)

    assert {table.name: count(runtime, table) for table in
            (INBOX_TABLE, RECEIPT_TABLE, MESSAGE_TABLE, DELIVERY_TABLE, ATTEMPT_TABLE,
             EXPECTATION_TABLE)} == before
    assert counted.deleted == purge(runtime.sessions, now=now, defaults=DEFAULTS).deleted
    assert counted.deleted == {"inbound_callback": 1, "receipt": 1, "message": 1,
                               "delivery": 1, "attempt": 2, "expectation": 1}


def test_it_pauses_after_each_full_batch_in_proportion_to_it(runtime: Runtime,
                                                             session: Session) -> None:
    now = utcnow()
    t = make_tenant(runtime, session, now)
    for i in range(5):
        t.receipt(t.edge(180 + i, OUT), f"m-{i}")
    session.commit()
    pauses: list[float] = []

    report = purge(runtime.sessions, now=now, defaults=DEFAULTS, batch=2, pause=3.0,
                   sleep=pauses.append)

    assert report.deleted["receipt"] == 5
    # Two full batches, each followed by a pause; the short last one ends the run.
    assert len(pauses) == 2
    assert all(p >= 0 for p in pauses)
