"""Send due deliveries to customers' endpoints, concurrently, and log every attempt.

The database is the record of work: a delivery is claimed with a lease (its
next_attempt_at moves past the send), sent (services/sender.py), and then settled. A
worker that dies mid-send leaves the lease to expire and the sweeper sends again (at
least once). Statements are set-based: one claim or record costs a handful of round
trips whatever the number of deliveries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil
from typing import Any

import orjson
from sqlalchemy import Engine, Row, Text, bindparam, cast, insert, or_, select, update
from sqlmodel import Session

from dlrhub.models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointFormat,
    InboundCallback,
    Receipt,
    new_id,
)
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services import retry, signing
from dlrhub.services.circuit import Breaker, State
from dlrhub.services.crypto import SecretBox
from dlrhub.services.endpoints import signing_secrets
from dlrhub.services.ratelimit import reserve
from dlrhub.services.receipts import event_document
from dlrhub.services.sender import USER_AGENT, Job, Outcome, process_sender

# An endpoint whose deliveries have all failed this long is disabled.
DISABLE_AFTER = timedelta(days=5)
# A rate-limited endpoint's sends are spread over this window within one task; the
# rest are deferred to their slots with a countdown.
RATE_WINDOW = 1.0
# Sends to one endpoint a process may have under way before it stops claiming more
# for it (they are deferred by the endpoint's timeout).
MAX_INFLIGHT = 512

DEFAULT_BREAKER = Breaker()

DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]
ENDPOINTS = Endpoint.__table__  # type: ignore[attr-defined]
RECEIPTS = Receipt.__table__  # type: ignore[attr-defined]
INBOX = InboundCallback.__table__  # type: ignore[attr-defined]
ATTEMPTS = Attempt.__table__  # type: ignore[attr-defined]


@dataclass
class Claim:
    """What a claim took to send now, and what it put off.

    ``later`` maps a countdown (s) to the (endpoint, delivery) pairs to relay then.
    """

    jobs: list[Job] = field(default_factory=list)
    later: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    parked: int = 0


def claim(session: Session, box: SecretBox, ids: Sequence[str], now: datetime, *,
          breaker: Breaker = DEFAULT_BREAKER, inflight: Callable[[str], int] = lambda _e: 0,
          lease_slack: float = 60.0) -> Claim:
    """Take the due, pending deliveries among ``ids`` and lease them for one send.

    Per endpoint: a disabled one's deliveries stay pending (re-enabling releases them);
    an open circuit parks them until it closes; a half-open one sends a single probe;
    a rate limit spreads them over slots; and an endpoint this process is already
    sending ``MAX_INFLIGHT`` requests to gets no more until those end. A claimed
    delivery is leased for its endpoint's timeout plus ``lease_slack`` seconds: a
    worker that dies mid-send leaves it to the sweeper once the lease is over.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    # Endpoints are locked before deliveries, here and in record(), so the two never
    # wait on each other in opposite orders. The circuit and the rate cursor change here.
    endpoints = _lock_endpoints(session, select(DELIVERIES.c.endpoint_id).where(
        DELIVERIES.c.id.in_(list(ids))).scalar_subquery())
    out = Claim()
    if not endpoints:
        return out
    # By primary key only, due or not: with "pending and due" in the WHERE clause the
    # planner may walk the due index over a whole backlog (stale statistics after a
    # burst made it look small), ~2 ms of database CPU per delivery.
    query = select(DELIVERIES.c.id, DELIVERIES.c.endpoint_id, DELIVERIES.c.event_ids,
                   DELIVERIES.c.inbox_id, DELIVERIES.c.attempts, DELIVERIES.c.status,
                   DELIVERIES.c.next_attempt_at).where(
        DELIVERIES.c.id.in_(list(ids))).order_by(DELIVERIES.c.id)
    if postgres:
        query = query.with_for_update(skip_locked=True)
    by_endpoint: dict[str, list[Row[Any]]] = defaultdict(list)
    for row in session.execute(query):
        if row.status == DeliveryStatus.pending.value and row.next_attempt_at is not None \
                and row.next_attempt_at <= now:
            by_endpoint[row.endpoint_id].append(row)
    moves: list[dict[str, Any]] = []  # new next_attempt_at of each claimed or parked row
    sending: list[tuple[Endpoint, Row[Any], float, bool]] = []
    for endpoint_id, group in by_endpoint.items():
        endpoint = endpoints.get(endpoint_id)
        if endpoint is None or not endpoint.enabled:
            continue
        _split(endpoint, group, now, breaker, inflight(endpoint_id), out, moves, sending)
    bodies = _bodies(session, [row for _, row, _, _ in sending], endpoints)
    secrets = {e.id: signing_secrets(e, box) for e, _, _, _ in sending}
    for endpoint, row, delay, probe in sending:
        body, content_type, provider = bodies[row.id]
        out.jobs.append(_job(endpoint, secrets[endpoint.id], row.id, body, content_type,
                             now, attempts=row.attempts, provider=provider, probe=probe,
                             delay=delay))
        moves.append({"b_id": row.id, "b_at": now + timedelta(
            seconds=delay + endpoint.timeout + lease_slack)})
    if moves:
        session.execute(update(DELIVERIES).where(DELIVERIES.c.id == bindparam("b_id"))
                        .values(next_attempt_at=bindparam("b_at")), moves)
    session.flush()
    return out


def _lock_endpoints(session: Session, ids: Any) -> dict[str, Endpoint]:
    """Load and, on PostgreSQL, lock the endpoints ``ids`` selects, in id order.

    FOR NO KEY UPDATE: ingest's delivery inserts (a foreign key to the endpoint) need
    not wait for it.
    """
    query = select(Endpoint).where(ENDPOINTS.c.id.in_(ids)).order_by(ENDPOINTS.c.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(key_share=True)
    return {e.id: e for e in session.execute(query).scalars()}


def _job(endpoint: Endpoint, secrets: list[str], delivery_id: str, body: bytes,
         content_type: str, now: datetime, *, attempts: int = 0, provider: str | None = None,
         probe: bool = False, delay: float = 0.0) -> Job:
    """Build a signed request for one delivery to ``endpoint``."""
    headers = {**endpoint.headers, "Content-Type": content_type, "User-Agent": USER_AGENT,
               # webhook-id stays the same across retries, so receivers can dedupe.
               **signing.headers(secrets, delivery_id, int(now.timestamp()) + round(delay),
                                 body)}
    return Job(delivery_id, endpoint.id, endpoint.url, body, headers, endpoint.timeout,
               attempts, endpoint.retry_policy, provider, probe=probe, delay=delay)


def _split(endpoint: Endpoint, group: list[Row[Any]], now: datetime, breaker: Breaker,
           busy: int, out: Claim, moves: list[dict[str, Any]],
           sending: list[tuple[Endpoint, Row[Any], float, bool]]) -> None:
    """Decide, for one endpoint's due deliveries, which go now and which wait."""
    def park(rows: Sequence[Row[Any]], until: datetime, wake: bool) -> None:
        out.parked += len(rows)
        moves.extend({"b_id": r.id, "b_at": until} for r in rows)
        if wake:  # a task will come for them; else the circuit's probe releases them
            out.later[max(1, ceil((until - now).total_seconds()))].extend(
                (endpoint.id, r.id) for r in rows)

    state = breaker.state(endpoint, now)
    if state == State.open:
        assert endpoint.circuit_open_until is not None
        park(group, endpoint.circuit_open_until, wake=False)
        return
    if state == State.half_open:
        until = breaker.start_probe(endpoint, now, endpoint.timeout + 5)
        sending.append((endpoint, group[0], 0.0, True))
        park(group[1:], until, wake=False)
        return
    if busy >= MAX_INFLIGHT:
        park(group, now + timedelta(seconds=endpoint.timeout), wake=True)
        return
    if not endpoint.rate_limit:
        sending.extend((endpoint, row, 0.0, False) for row in group)
        return
    slots, endpoint.rate_cursor = reserve(endpoint.rate_cursor, now, endpoint.rate_limit,
                                          len(group), window=RATE_WINDOW)
    for row, slot in zip(group, slots, strict=False):
        sending.append((endpoint, row, max(0.0, (slot - now).total_seconds()), False))
    # The rest go to the slots after these, as later tasks take them.
    step = timedelta(seconds=1.0 / endpoint.rate_limit)
    for i, row in enumerate(group[len(slots):]):
        park([row], endpoint.rate_cursor + step * i, wake=True)


def _bodies(session: Session, rows: Sequence[Row[Any]], endpoints: dict[str, Endpoint]
            ) -> dict[str, tuple[bytes, str, str | None]]:
    """Return (body, content type, provider of a native body) of each delivery row."""
    out: dict[str, tuple[bytes, str, str | None]] = {}
    native = [r for r in rows if endpoints[r.endpoint_id].format == EndpointFormat.native
              and r.inbox_id]
    if native:
        inbox = {i.id: i for i in session.execute(select(
            INBOX.c.id, INBOX.c.body, INBOX.c.headers, INBOX.c.provider).where(
            INBOX.c.id.in_({r.inbox_id for r in native})))}
        for r in native:
            got = inbox.get(r.inbox_id)
            if got is None:
                out[r.id] = (b"", "application/octet-stream", None)
                continue
            out[r.id] = (got.body, (got.headers or {}).get("content-type")
                         or "application/octet-stream", got.provider)
    rest = [r for r in rows if r.id not in out]
    wanted = {i for r in rest for i in r.event_ids}
    # The provider's raw record is read as JSON text and embedded as it is, not
    # parsed and serialized again (a third of the CPU of a batch of 100).
    columns = [c for c in RECEIPTS.c if c.name != "raw"]
    receipts = {r.id: r for r in session.execute(
        select(*columns, cast(RECEIPTS.c.raw, Text).label("raw"))
        .where(RECEIPTS.c.id.in_(wanted)))} if wanted else {}
    for r in rest:
        docs = [_event(receipts[i]) for i in r.event_ids if i in receipts]
        single = endpoints[r.endpoint_id].batch_size == 1 and len(docs) == 1
        out[r.id] = (orjson.dumps(docs[0] if single else docs), "application/json", None)
    return out


def _event(row: Row[Any]) -> dict[str, Any]:
    # A Row reads like a Receipt: attribute access by column name.
    doc = event_document(row)  # type: ignore[arg-type]
    doc["raw"] = orjson.Fragment(row.raw or "{}")
    return doc


@dataclass
class Recorded:
    """What settling some attempts asks of the task queue."""

    # countdown (s) -> (endpoint, delivery) pairs to try again then
    retries: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    opened: dict[str, float] = field(default_factory=dict)  # endpoint -> probe in s
    closed: list[str] = field(default_factory=list)  # endpoints with parked work to release


def record(session: Session, jobs: Sequence[Job], outcomes: Sequence[Outcome],
           now: datetime, *, breaker: Breaker = DEFAULT_BREAKER) -> Recorded:
    """Log each attempt and move each delivery on: succeeded, pending again, failed or dead.

    Also moves each endpoint's circuit: a success closes it (and its parked deliveries
    become due now), failures in a row open it.
    """
    out = Recorded()
    if not jobs:
        return out
    endpoints = _lock_endpoints(session, list({j.endpoint_id for j in jobs}))
    # A delivery deleted meanwhile (its endpoint was) has no attempt log to add to;
    # read after the lock, which a deletion takes too.
    present = set(session.execute(select(DELIVERIES.c.id).where(
        DELIVERIES.c.id.in_([j.delivery_id for j in jobs]))).scalars())
    kept = [(j, o) for j, o in zip(jobs, outcomes, strict=True) if j.delivery_id in present]
    if not kept:
        return out
    jobs, outcomes = [j for j, _ in kept], [o for _, o in kept]
    attempts, changes = [], []
    released: dict[str, datetime] = {}
    for job, outcome in zip(jobs, outcomes, strict=True):
        endpoint = endpoints.get(job.endpoint_id)
        tries = job.attempts + 1
        attempts.append({"id": new_id("att"), "delivery_id": job.delivery_id,
                         "tenant_id": endpoint.tenant_id if endpoint else "", "at": now,
                         "status_code": outcome.status, "latency_ms": outcome.latency_ms,
                         "error": outcome.error, "response_excerpt": outcome.excerpt})
        change = {"b_id": job.delivery_id, "b_attempts": tries,
                  "b_code": outcome.status, "b_at": None, "b_error": None}
        accepted = _accepted(job, outcome)
        if endpoint is not None and (accepted or (job.probe and not _unavailable(outcome))):
            # Any answer but "unavailable" to a probe shows the endpoint is back.
            was_open_until = endpoint.circuit_open_until
            if breaker.succeeded(endpoint):
                released[endpoint.id] = max(was_open_until or now, now)
        if accepted:
            change["b_status"] = DeliveryStatus.succeeded.value
            if endpoint is not None:
                endpoint.failing_since = None
        else:
            change["b_error"] = outcome.error or \
                f"HTTP {outcome.status}: {(outcome.excerpt or '')[:200]}"
            retry_in = _next_wait(job, outcome, tries, now)
            if retry_in is not None:
                change["b_status"] = DeliveryStatus.pending.value
                change["b_at"] = now + timedelta(seconds=retry_in)
                # Never before it is due: a task that comes early finds nothing to do.
                out.retries[ceil(retry_in)].append((job.endpoint_id, job.delivery_id))
            else:
                # Retryable but out of tries is dead; refused (a final 4xx) is failed.
                change["b_status"] = (DeliveryStatus.dead if retry.is_retryable(outcome.status)
                                      else DeliveryStatus.failed).value
            if endpoint is not None:
                if _unavailable(outcome):
                    until = breaker.failed(endpoint, now, probe=job.probe)
                    if until is not None:
                        out.opened[endpoint.id] = (until - now).total_seconds()
                _note_failure(endpoint, now)
        changes.append(change)
    session.execute(insert(ATTEMPTS), attempts)
    session.execute(update(DELIVERIES).where(DELIVERIES.c.id == bindparam("b_id")).values(
        status=bindparam("b_status"), attempts=bindparam("b_attempts"),
        last_status_code=bindparam("b_code"), last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_at"), updated_at=now), changes)
    for endpoint_id, until in released.items():
        if endpoint_id in out.opened:
            continue  # it failed again in the same batch
        # Parked deliveries become due now; the task enqueues them.
        session.execute(update(DELIVERIES).where(
            DELIVERIES.c.endpoint_id == endpoint_id,
            DELIVERIES.c.status == DeliveryStatus.pending.value,
            DELIVERIES.c.next_attempt_at <= until).values(next_attempt_at=now))
        out.closed.append(endpoint_id)
    session.flush()
    return out


def _unavailable(outcome: Outcome) -> bool:
    """Does this failure say the endpoint is down (not that it refused one event)?"""
    return outcome.status is None or retry.is_retryable(outcome.status) \
        or 200 <= outcome.status < 300


def _accepted(job: Job, outcome: Outcome) -> bool:
    if outcome.status is None:
        return False
    if job.provider is not None:
        adapter = PROVIDERS.get(job.provider)
        if adapter is not None:
            return adapter.accepts_answer(outcome.status, outcome.body)
    return 200 <= outcome.status < 300


def _next_wait(job: Job, outcome: Outcome, attempts: int, now: datetime) -> float | None:
    if not _unavailable(outcome):
        return None  # a 4xx other than 408/429 is final
    wait = retry.parse_policy(job.policy).next_wait(attempts)
    if wait is None:
        return None
    later = retry.retry_after(outcome.retry_after, now) if outcome.status == 429 else None
    return max(wait, later or 0.0)


def _note_failure(endpoint: Endpoint, now: datetime) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= DISABLE_AFTER and endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"every delivery failed since {endpoint.failing_since.isoformat()}; "
            "re-enable it with PATCH {\"enabled\": true} once it answers again")


def overdue(engine: Engine, *, older_than: timedelta, now: datetime,
            limit: int = 10_000) -> list[tuple[str, str]]:
    """Return (endpoint, delivery) of pending deliveries due for longer than ``older_than``.

    Deliveries of disabled endpoints, and of endpoints whose circuit is open, are
    parked on purpose and left alone.
    """
    with engine.connect() as conn:
        return [(r.endpoint_id, r.id) for r in conn.execute(
            select(DELIVERIES.c.endpoint_id, DELIVERIES.c.id)
            .join(ENDPOINTS, ENDPOINTS.c.id == DELIVERIES.c.endpoint_id)
            .where(DELIVERIES.c.status == DeliveryStatus.pending.value,
                   DELIVERIES.c.next_attempt_at < now - older_than,
                   ENDPOINTS.c.enabled.is_(True),
                   or_(ENDPOINTS.c.circuit_open_until.is_(None),
                       ENDPOINTS.c.circuit_open_until <= now))
            .order_by(DELIVERIES.c.next_attempt_at).limit(limit))]


def due(engine: Engine, endpoint_id: str, now: datetime, *, limit: int
        ) -> list[tuple[str, str]]:
    """Return (endpoint, delivery) of an endpoint's pending deliveries that are due."""
    with engine.connect() as conn:
        return [(endpoint_id, i) for i in conn.execute(
            select(DELIVERIES.c.id).where(
                DELIVERIES.c.endpoint_id == endpoint_id,
                DELIVERIES.c.status == DeliveryStatus.pending.value,
                DELIVERIES.c.next_attempt_at <= now)
            .order_by(DELIVERIES.c.next_attempt_at).limit(limit)).scalars()]


def test_event(endpoint: Endpoint, now: datetime) -> dict[str, Any]:
    """Return the event a test sends: the event shape, marked as a test."""
    return {
        "id": new_id("evt"), "type": "sms.status", "test": True,
        "tenant_id": endpoint.tenant_id, "account_id": None, "provider": "dlrhub",
        "message_id": "test", "reference": None, "phone": "+8613800138000",
        "status": "delivered", "provider_status": "DELIVRD", "error_code": None,
        "error_message": None, "segments": 1, "price": None, "submitted_at": None,
        "reported_at": now.isoformat().replace("+00:00", "Z"),
        "received_at": now.isoformat().replace("+00:00", "Z"), "text": None, "raw": {},
    }


def send_test(session: Session, box: SecretBox, endpoint: Endpoint, *, allow_private: bool,
              now: datetime) -> tuple[Delivery, Attempt]:
    """Send one signed test event now, log it as a delivery, and return its attempt.

    A test is tried once: it neither retries nor counts toward the endpoint's failures.
    """
    event = test_event(endpoint, now)
    delivery = Delivery(tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id,
                        event_ids=[event["id"]], next_attempt_at=None)
    body = orjson.dumps([event] if endpoint.batch_size > 1 else event)
    job = _job(endpoint, signing_secrets(endpoint, box), delivery.id, body,
               "application/json", now)
    (outcome,) = process_sender(allow_private=allow_private).send([job])
    ok = _accepted(job, outcome)
    delivery.status = DeliveryStatus.succeeded if ok else DeliveryStatus.failed
    delivery.attempts = 1
    delivery.last_status_code = outcome.status
    delivery.last_error = None if ok else (outcome.error or f"HTTP {outcome.status}")
    attempt = Attempt(delivery_id=delivery.id, tenant_id=delivery.tenant_id, at=now,
                      status_code=outcome.status, latency_ms=outcome.latency_ms,
                      error=outcome.error, response_excerpt=outcome.excerpt)
    session.add(delivery)
    session.flush()
    session.add(attempt)
    session.flush()
    return delivery, attempt
