"""Operational events: made where the change happens, planned only for endpoints that opted
in, never for the endpoint they are about; listed by ``GET /v1/events``. On both databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import falcon.testing
import orjson
import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import OperationalError

from dlrhub.models import (
    DELIVERY_TABLE,
    OPS_CONDITION_TABLE,
    RECEIPT_TABLE,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointCreate,
    InboxState,
    utcnow,
)
from dlrhub.services import admin_events, ops_conditions
from dlrhub.services.accounts import NewAccount
from dlrhub.services.endpoints import create_endpoint
from dlrhub.services.relay import lease
from dlrhub.services.relay.jobs import Outcome
from dlrhub.services.relay.policy.circuit import Breaker
from dlrhub.services.relay.transport import signing
from dlrhub.services.runtime import Runtime
from tests.customer import customer_server
from tests.factories import InboundCallbackFactory, ReceiptFactory

pytestmark = pytest.mark.dialects

BREAKER = Breaker(threshold=3, base=30, ceiling=600)
REFUSED = Outcome(None, 1.0, "ClientConnectorError: refused", None, None)
DOWN = Outcome(503, 1.0, None, "down", None, b"down")
OK = Outcome(200, 1.0, None, "ok", None, b"ok")
OPS = ["endpoint.circuit_opened", "endpoint.recovered", "endpoint.disabled", "delivery.dead"]


def _endpoint(rt: Runtime, tenant_id: str, url: str = "http://127.0.0.1:9/a",
              **spec: Any) -> str:
    with rt.sessions() as session:
        endpoint, _ = create_endpoint(session, rt.box, tenant_id=tenant_id,
                                      spec=EndpointCreate(url=url, **spec),
                                      allow_private=True)
        session.commit()
        return endpoint.id


def _deliveries(rt: Runtime, endpoint_id: str, event_ids: list[list[str]],
                now: datetime) -> list[str]:
    with rt.sessions() as session:
        endpoint = session.get(Endpoint, endpoint_id)
        assert endpoint is not None
        rows = [Delivery(tenant_id=endpoint.tenant_id, endpoint_id=endpoint_id,
                         event_ids=ids, next_attempt_at=now) for ids in event_ids]
        session.add_all(rows)
        session.commit()
        return [r.id for r in rows]


def _send(rt: Runtime, ids: list[str], outcome: Outcome, now: datetime) -> lease.Claim:
    """Claim ``ids`` and record ``outcome`` for each: one relay pass."""
    with rt.sessions() as session:
        claimed = lease.claim(session, rt.box, ids, now, breaker=BREAKER)
        session.commit()
    with rt.sessions() as session:
        lease.record(session, claimed.jobs, [outcome] * len(claimed.jobs), now,
                     breaker=BREAKER)
        session.commit()
    return claimed


def _planned(rt: Runtime) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (endpoint, event type, event data) of every delivery of an operational event."""
    d, r = DELIVERY_TABLE, RECEIPT_TABLE
    with rt.engine.connect() as conn:
        deliveries = conn.execute(select(d.c.endpoint_id, d.c.event_ids)).all()
        events = {row.id: row for row in conn.execute(
            select(r.c.id, r.c.type, r.c.details).where(r.c.type.in_(
                [*OPS, "account.callbacks_rejected"])))}
    return sorted(((e, events[i].type, events[i].details) for e, ids in deliveries
                   for i in ids if i in events), key=lambda p: (p[0], p[1]))


def _events(rt: Runtime, kind: str) -> list[Any]:
    r = RECEIPT_TABLE
    with rt.engine.connect() as conn:
        return list(conn.execute(select(r).where(r.c.type == kind)))


def test_a_circuit_that_opens_and_recovers_is_told_to_the_endpoints_that_asked_only(
        runtime: Runtime, tx: NewAccount) -> None:
    tenant = tx.account.tenant_id
    failing = _endpoint(runtime, tenant, event_types=OPS)  # it asked too, about others
    watcher = _endpoint(runtime, tenant, "http://127.0.0.1:9/w", event_types=OPS)
    everything = _endpoint(runtime, tenant, "http://127.0.0.1:9/all")  # no filter
    _endpoint(runtime, tenant, "http://127.0.0.1:9/sms", event_types=["sms.status"])
    now = utcnow()
    receipts = [[ReceiptFactory(account=tx.account).id] for _ in range(3)]
    _send(runtime, _deliveries(runtime, failing, receipts, now), REFUSED, now)

    (opened,) = _events(runtime, "endpoint.circuit_opened")
    assert opened.inbox_id == failing
    assert opened.account_id is None
    assert opened.details["endpoint_id"] == failing
    assert opened.details["consecutive_failures"] == 3
    # To the endpoint that asked for it, not to the one it is about, nor to the others.
    assert [(e, t) for e, t, _ in _planned(runtime)] == [
        (watcher, "endpoint.circuit_opened")]
    assert everything not in {e for e, _, _ in _planned(runtime)}

    # A failed probe opens it again for longer: the same incident, no second event.
    later = now + timedelta(seconds=31)
    probe = _deliveries(runtime, failing, [[]], later)
    _send(runtime, probe, REFUSED, later)
    assert len(_events(runtime, "endpoint.circuit_opened")) == 1

    back = later + timedelta(seconds=61)
    _send(runtime, _deliveries(runtime, failing, [[]], back), OK, back)
    (recovered,) = _events(runtime, "endpoint.recovered")
    assert recovered.details["endpoint_id"] == failing
    assert [(e, t) for e, t, _ in _planned(runtime)] == sorted([
        (watcher, "endpoint.circuit_opened"), (watcher, "endpoint.recovered")])


def test_the_watcher_receives_the_operational_envelope_signed(
        runtime: Runtime, tx: NewAccount) -> None:
    tenant = tx.account.tenant_id
    failing = _endpoint(runtime, tenant)
    watcher = _endpoint(runtime, tenant, "http://127.0.0.1:9/w",
                        event_types=["endpoint.circuit_opened"])
    now = utcnow()
    _send(runtime, _deliveries(runtime, failing, [[], [], []], now), REFUSED, now)
    d = DELIVERY_TABLE
    with runtime.engine.connect() as conn:
        ids = list(conn.execute(select(d.c.id).where(d.c.endpoint_id == watcher)).scalars())
    with runtime.sessions() as session:
        claimed = lease.claim(session, runtime.box, ids, now, breaker=BREAKER)
        session.commit()
    (job,) = claimed.jobs
    body = orjson.loads(job.body)
    assert set(body) == {"id", "type", "timestamp", "tenant_id", "account_id", "data"}
    assert body["type"] == "endpoint.circuit_opened"
    assert body["data"]["endpoint_id"] == failing
    assert body["data"]["url"] == "http://127.0.0.1:9/a"
    assert job.headers["webhook-id"] == ids[0]


def test_a_dead_delivery_is_told_once_and_a_dead_telling_of_it_does_not_cascade(
        runtime: Runtime, tx: NewAccount) -> None:
    tenant = tx.account.tenant_id
    once = {"waits": [1]}
    failing = _endpoint(runtime, tenant, retry_policy=once)
    # Subscribes, and is dead too: its delivery of delivery.dead dies in turn.
    watcher = _endpoint(runtime, tenant, "http://127.0.0.1:9/w", event_types=OPS,
                        retry_policy=once)
    now = utcnow()
    receipt = ReceiptFactory(account=tx.account).id
    (delivery,) = _deliveries(runtime, failing, [[receipt]], now)
    _send(runtime, [delivery], DOWN, now)
    _send(runtime, [delivery], DOWN, now + timedelta(seconds=2))

    (dead,) = _events(runtime, "delivery.dead")
    assert dead.details["delivery_id"] == delivery
    assert dead.details["event_ids"] == [receipt]
    assert (dead.details["attempts"], dead.details["last_status_code"]) == (2, 503)
    d = DELIVERY_TABLE
    with runtime.engine.connect() as conn:
        (told,) = conn.execute(select(d.c.id).where(d.c.endpoint_id == watcher)).scalars()
    _send(runtime, [told], DOWN, now + timedelta(seconds=3))
    _send(runtime, [told], DOWN, now + timedelta(seconds=5))
    with runtime.sessions() as session:
        row = session.get(Delivery, told)
        assert row is not None
        assert row.status == DeliveryStatus.dead
    assert len(_events(runtime, "delivery.dead")) == 1


def test_an_endpoint_disabled_after_failing_too_long_is_told_with_the_reason(
        runtime: Runtime, tx: NewAccount) -> None:
    tenant = tx.account.tenant_id
    failing = _endpoint(runtime, tenant)
    watcher = _endpoint(runtime, tenant, "http://127.0.0.1:9/w",
                        event_types=["endpoint.disabled"])
    now = utcnow()
    with runtime.sessions() as session:
        endpoint = session.get(Endpoint, failing)
        assert endpoint is not None
        endpoint.failing_since = now - timedelta(days=6)
        session.commit()
    _send(runtime, _deliveries(runtime, failing, [[]], now), DOWN, now)

    (disabled,) = _events(runtime, "endpoint.disabled")
    assert disabled.details["endpoint_id"] == failing
    assert "every delivery failed since" in disabled.details["reason"]
    assert [(e, t) for e, t, _ in _planned(runtime)] == [(watcher, "endpoint.disabled")]


def _rejected(account: Any, n: int, at: datetime) -> None:
    for _ in range(n):
        InboundCallbackFactory(account=account, state=InboxState.rejected,
                               reason="bad signature", received_at=at)


def test_a_burst_of_rejected_callbacks_is_told_once_and_its_end_once(
        runtime: Runtime, tx: NewAccount) -> None:
    tenant = tx.account.tenant_id
    watcher = _endpoint(runtime, tenant, "http://127.0.0.1:9/w",
                        event_types=["account.callbacks_rejected"])
    plain = _endpoint(runtime, tenant, "http://127.0.0.1:9/all")
    now = utcnow()
    _rejected(tx.account, 9, now - timedelta(seconds=10))

    def evaluate(at: datetime) -> ops_conditions.BurstReport:
        return ops_conditions.evaluate_rejected(runtime.sessions, now=at, threshold=10,
                                                window=300)

    assert evaluate(now).firing == 0  # nine is not a burst
    _rejected(tx.account, 1, now - timedelta(seconds=5))
    assert evaluate(now).firing == 1
    assert evaluate(now + timedelta(seconds=60)).firing == 0  # still the same burst
    ended = evaluate(now + timedelta(seconds=400))  # a whole window without any
    assert (ended.firing, ended.resolved) == (0, 1)

    events = sorted(_events(runtime, "account.callbacks_rejected"),
                    key=lambda e: e.received_at)
    assert [e.details["state"] for e in events] == ["firing", "resolved"]
    assert events[0].account_id == tx.account.id
    assert events[0].details["rejected"] == 10
    assert {e for e, _, _ in _planned(runtime)} == {watcher}
    assert plain not in {e for e, _, _ in _planned(runtime)}

    # The next burst is a new one.
    _rejected(tx.account, 10, now + timedelta(seconds=500))
    assert evaluate(now + timedelta(seconds=510)).firing == 1


def test_events_are_listed_by_type_and_time_and_a_wrong_type_is_a_problem(
        client: falcon.testing.TestClient, me: dict[str, str], runtime: Runtime,
        tx: NewAccount) -> None:
    tenant = tx.account.tenant_id
    failing = _endpoint(runtime, tenant)
    now = utcnow()
    _send(runtime, _deliveries(runtime, failing, [[], [], []], now), REFUSED, now)
    _send(runtime, _deliveries(runtime, failing, [[]], now + timedelta(seconds=31)), OK,
          now + timedelta(seconds=31))
    ReceiptFactory(account=tx.account)

    listed = client.simulate_get("/v1/events", headers=me)
    assert listed.status_code == 200, listed.text
    assert [e["type"] for e in listed.json["data"]] == [
        "endpoint.recovered", "endpoint.circuit_opened"]
    assert listed.json["data"][1]["data"]["endpoint_id"] == failing

    only = client.simulate_get("/v1/events", params={"type": "endpoint.circuit_opened",
                                                     "limit": "1"}, headers=me)
    assert [e["type"] for e in only.json["data"]] == ["endpoint.circuit_opened"]
    assert only.json["next"] is None
    paged = client.simulate_get("/v1/events", params={"limit": "1"}, headers=me)
    assert paged.json["next"]
    second = client.simulate_get("/v1/events", params={"limit": "1",
                                                       "after": paged.json["next"]},
                                 headers=me)
    assert [e["type"] for e in second.json["data"]] == ["endpoint.circuit_opened"]

    wrong = client.simulate_get("/v1/events", params={"type": "sms.status"}, headers=me)
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json["field"] == "type"
    bad_time = client.simulate_get("/v1/events", params={"since": "yesterday"}, headers=me)
    assert bad_time.status_code in (400, 422)
    assert bad_time.headers["content-type"].startswith("application/problem+json")

    # The receipt list shows the same rows in the receipt shape.
    as_receipts = client.simulate_get("/v1/receipts", params={"type": "endpoint.recovered"},
                                      headers=me)
    assert [r["details"]["endpoint_id"] for r in as_receipts.json["data"]] == [failing]


@pytest.mark.commits
def test_the_admin_webhook_hears_of_each_backlog_crossing_once_signed(
        runtime: Runtime, tx: NewAccount) -> None:
    secret = signing.new_secret()
    pending = [InboundCallbackFactory(account=tx.account) for _ in range(3)]
    with customer_server() as admin:
        hook = admin_events.AdminHook(admin.url, secret)

        def evaluate() -> dict[str, Any] | None:
            return admin_events.evaluate_backlog(runtime.sessions, hook, threshold=2,
                                                 now=utcnow())

        admin.answer_with((503, b"busy", {}), (200, b"ok", {}))
        assert evaluate() is None  # refused: told again at the next evaluation
        assert evaluate() is not None
        assert evaluate() is None  # still over: nothing new
        with runtime.sessions() as session:
            for row in pending:
                stored = session.merge(row)
                stored.state = InboxState.processed
            session.commit()
        assert evaluate() is not None
        assert evaluate() is None

    told = [orjson.loads(r.body) for r in admin.received]
    assert [(e["type"], e["data"]["state"]) for e in told] == [
        ("admin.inbox_backlog", "firing"), ("admin.inbox_backlog", "firing"),
        ("admin.inbox_backlog", "resolved")]
    assert told[2]["data"]["pending"] == 0
    for got in admin.received:
        signing.verify(secret, got.headers, got.body, utcnow())


@pytest.mark.commits
def test_no_write_lock_is_held_while_the_admin_webhook_is_posted(
        runtime: Runtime, tx: NewAccount, db_url: str) -> None:
    """A slow admin webhook must not hold SQLite's one write lock (callbacks and ingest
    would wait on it) nor the condition's row on PostgreSQL."""
    for _ in range(3):
        InboundCallbackFactory(account=tx.account)
    with runtime.sessions() as session:  # the condition's row exists, not firing
        assert ops_conditions.move(session, admin_events.BACKLOG, firing=False,
                                   now=utcnow()) is None
        session.commit()
    sqlite = db_url.startswith("sqlite")
    probe = create_engine(db_url, connect_args={"timeout": 0.2} if sqlite else {})
    writes: list[str] = []

    def write_meanwhile() -> None:
        try:
            with probe.connect() as conn:
                if not sqlite:
                    conn.execute(text("SET lock_timeout = '200ms'"))
                conn.execute(update(OPS_CONDITION_TABLE).where(
                    OPS_CONDITION_TABLE.c.key == admin_events.BACKLOG).values(
                    updated_at=OPS_CONDITION_TABLE.c.updated_at))
                conn.commit()
            writes.append("written")
        except OperationalError as ex:
            writes.append(f"blocked: {type(ex.orig).__name__}")

    try:
        with customer_server() as admin:
            admin.during = write_meanwhile
            hook = admin_events.AdminHook(admin.url, signing.new_secret())
            told = admin_events.evaluate_backlog(runtime.sessions, hook, threshold=2,
                                                 now=utcnow())
    finally:
        probe.dispose()
    assert told is not None
    assert writes == ["written"]
    # and the move was kept once the webhook took it: nothing new the next time
    assert admin_events.evaluate_backlog(runtime.sessions, hook, threshold=2,
                                         now=utcnow()) is None
