"""Claim due deliveries for one send (the lease) and record what the sends got.

A claimed delivery's next_attempt_at moves past its send: a concurrent run or the
sweeper skips it, and a worker that dies mid-send leaves it to the sweeper once the
lease is over (at least once). Statements are set-based: a claim or a record costs a
handful of round trips whatever the number of deliveries. The decisions themselves
are the policy's (``policy.pacing``, ``policy.outcomes``, ``policy.circuit``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from math import ceil
from typing import Any

import orjson
from sqlalchemy import Row, Text, cast, select, update
from sqlmodel import Session

from dlrhub.models import (
    DELIVERY_TABLE,
    ENDPOINT_TABLE,
    INBOX_TABLE,
    RECEIPT_TABLE,
    DeliveryStatus,
    Endpoint,
    EndpointFormat,
    new_id,
)
from dlrhub.models.dialect import (
    insert_attempts,
    lease_deliveries,
    lock_for_key_share,
    lock_skipping_locked,
    one_of,
    settle_deliveries,
)
from dlrhub.services import ops_events
from dlrhub.services.crypto import SecretBox
from dlrhub.services.endpoints import signing_secrets
from dlrhub.services.receipts import EVENT_FIELDS
from dlrhub.services.relay.jobs import Job, Outcome, signed_job
from dlrhub.services.relay.policy import outcomes
from dlrhub.services.relay.policy.circuit import Breaker
from dlrhub.services.relay.policy.pacing import pace

DEFAULT_BREAKER = Breaker()

DELIVERIES = DELIVERY_TABLE
ENDPOINTS = ENDPOINT_TABLE
RECEIPTS = RECEIPT_TABLE
INBOX = INBOX_TABLE


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
    # Endpoints are locked before deliveries, here and in record(), so the two never
    # wait on each other in opposite orders. The circuit and the rate cursor change here.
    endpoints = _lock_endpoints(session, select(DELIVERIES.c.endpoint_id).where(
        one_of(session, DELIVERIES.c.id, ids)).scalar_subquery())
    out = Claim()
    if not endpoints:
        return out
    # By primary key only, due or not: with "pending and due" in the WHERE clause the
    # planner may walk the due index over a whole backlog (stale statistics after a
    # burst made it look small), ~2 ms of database CPU per delivery.
    query = select(DELIVERIES.c.id, DELIVERIES.c.endpoint_id, DELIVERIES.c.event_ids,
                   DELIVERIES.c.inbox_id, DELIVERIES.c.attempts, DELIVERIES.c.status,
                   DELIVERIES.c.next_attempt_at).where(
        one_of(session, DELIVERIES.c.id, ids)).order_by(DELIVERIES.c.id)
    query = lock_skipping_locked(session, query)
    by_endpoint: dict[str, list[Row[Any]]] = defaultdict(list)
    for row in session.execute(query):
        if row.status == DeliveryStatus.pending.value and row.next_attempt_at is not None \
                and row.next_attempt_at <= now:
            by_endpoint[row.endpoint_id].append(row)
    moves: list[tuple[str, datetime]] = []  # new next_attempt_at of each claimed or parked row
    sending: list[tuple[Endpoint, Row[Any], float, bool]] = []
    for endpoint_id, group in by_endpoint.items():
        endpoint = endpoints.get(endpoint_id)
        if endpoint is None or not endpoint.enabled:
            continue
        paced = pace(endpoint, len(group), now, breaker, inflight(endpoint_id))
        sending.extend((endpoint, row, delay, probe)
                       for row, (delay, probe) in zip(group, paced.sends, strict=False))
        for row, (until, wake) in zip(group[len(paced.sends):], paced.parks, strict=True):
            out.parked += 1
            moves.append((row.id, until))
            if wake:  # a task will come for it; else the circuit's probe releases it
                out.later[max(1, ceil((until - now).total_seconds()))].append(
                    (endpoint.id, row.id))
    bodies = _bodies(session, [row for _, row, _, _ in sending], endpoints)
    # Decrypted once per endpoint, not once per delivery.
    secrets = {e.id: signing_secrets(e, box)
               for e in {e.id: e for e, _, _, _ in sending}.values()}
    for endpoint, row, delay, probe in sending:
        payload = bodies[row.id]
        out.jobs.append(signed_job(endpoint, secrets[endpoint.id], row.id, payload.body,
                                   payload.content_type, now, attempts=row.attempts,
                                   provider=payload.provider, probe=probe, delay=delay,
                                   method=payload.method, query=payload.query))
        moves.append((row.id, now + timedelta(seconds=delay + endpoint.timeout + lease_slack)))
    lease_deliveries(session, moves)
    session.flush()
    return out


def _lock_endpoints(session: Session, ids: Any) -> dict[str, Endpoint]:
    """Load and, on PostgreSQL, lock the endpoints ``ids`` selects, in id order.

    FOR NO KEY UPDATE: ingest's delivery inserts (a foreign key to the endpoint) need
    not wait for it.
    """
    query = lock_for_key_share(
        session, select(Endpoint).where(ENDPOINTS.c.id.in_(ids)).order_by(ENDPOINTS.c.id))
    return {e.id: e for e in session.execute(query).scalars()}


@dataclass(frozen=True)
class Payload:
    """What one delivery sends: the body, its type, and for a native one how it came."""

    body: bytes
    content_type: str
    provider: str | None = None  # whose success rule judges a native delivery's answer
    method: str = "POST"
    query: str = ""


def _bodies(session: Session, rows: Sequence[Row[Any]], endpoints: dict[str, Endpoint]
            ) -> dict[str, Payload]:
    """Return what each delivery row sends.

    A native delivery is the provider's callback as it came: its body byte for byte,
    its content type, and its method; one sent by GET carries its query string.
    """
    out: dict[str, Payload] = {}
    native = [r for r in rows if endpoints[r.endpoint_id].format == EndpointFormat.native
              and r.inbox_id]
    if native:
        inbox = {i.id: i for i in session.execute(select(
            INBOX.c.id, INBOX.c.body, INBOX.c.headers, INBOX.c.provider, INBOX.c.method,
            INBOX.c.query).where(INBOX.c.id.in_({r.inbox_id for r in native})))}
        for r in native:
            got = inbox.get(r.inbox_id)
            if got is None:
                out[r.id] = Payload(b"", "application/octet-stream")
                continue
            method = got.method or "POST"
            content_type = (got.headers or {}).get("content-type") or (
                "" if method == "GET" else "application/octet-stream")
            out[r.id] = Payload(got.body, content_type, got.provider, method,
                                got.query or "")
    rest = [r for r in rows if r.id not in out]
    wanted = {i for r in rest for i in r.event_ids}
    # One array parameter, not an IN list of a parameter per event: a batch of 100
    # rendered 100 parameters into a query too long for psycopg's cache, and SQLAlchemy
    # and psycopg spent a sixth of the relay's CPU building and parsing it each time.
    # all(): the driver's fetchall in one call, not a fetchone per row.
    receipts = {r[0]: r for r in session.execute(
        select(*_EVENT_COLUMNS).where(one_of(session, RECEIPTS.c.id, wanted))).all()
    } if wanted else {}
    for r in rest:
        docs = [_event(receipts[i]) for i in r.event_ids if i in receipts]
        single = endpoints[r.endpoint_id].batch_size == 1 and len(docs) == 1
        out[r.id] = Payload(event_json(docs[0] if single else docs), "application/json")
    return out


# The event's columns in its order. The provider's raw record is read as JSON text and
# embedded as it is, not parsed and serialized again (a third of the CPU of a batch of
# 100); ``details`` (a correction's, an alert's) is parsed, it is small and rare.
_EVENT_COLUMNS = [cast(RECEIPTS.c.raw, Text).label("raw") if name == "raw"
                  else RECEIPTS.c[name] for name in EVENT_FIELDS]
_RAW_AT = EVENT_FIELDS.index("raw")


def _event(row: Row[Any]) -> dict[str, Any]:
    """Return the event document of a row of ``_EVENT_COLUMNS``, for ``event_json``.

    Zipped from the row rather than read field by field (``event_document``): looking up
    26 attributes by name on each of 100 rows was a third of the relay's CPU at batch
    100. Its times stay datetimes: orjson writes them as ``iso_z`` does, in C
    (``event_json``). tests/functional/test_relay_event_rows.py holds the two equal.
    """
    if ops_events.is_operational(row.type):
        return ops_events.document(row)
    values = list(row)
    values[_RAW_AT] = orjson.Fragment(values[_RAW_AT] or "{}")
    return dict(zip(EVENT_FIELDS, values, strict=True))


def event_json(doc: Any) -> bytes:
    """Return an event document (or a list of them) as the relay sends it.

    A time is UTC (``UTCDateTime``): orjson writes it ISO 8601 with ``Z``, microseconds
    only when there are some, as ``core.times.iso_z`` does; one in ten of the relay's
    CPU at batch_size 100 went to ``iso_z`` (bench/relay_pass.py, py-spy).
    """
    return orjson.dumps(doc, option=orjson.OPT_UTC_Z)


@dataclass
class FollowUps:
    """What recording some attempts leaves for the workers to do later."""

    # countdown (s) -> (endpoint, delivery) pairs to try again then
    retries: dict[int, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    opened: dict[str, float] = field(default_factory=dict)  # endpoint -> probe in s
    closed: list[str] = field(default_factory=list)  # endpoints with parked work to release
    # Each recorded attempt: what it left its delivery as, and its seconds (metrics).
    recorded: list[tuple[DeliveryStatus, float]] = field(default_factory=list)


def record(session: Session, jobs: Sequence[Job], results: Sequence[Outcome],
           now: datetime, *, breaker: Breaker = DEFAULT_BREAKER) -> FollowUps:
    """Log each attempt and move each delivery on: succeeded, pending again, failed or dead.

    Also moves each endpoint's circuit: a success closes it (and its parked deliveries
    become due now), failures in a row open it.
    """
    out = FollowUps()
    if not jobs:
        return out
    endpoints = _lock_endpoints(session, list({j.endpoint_id for j in jobs}))
    # A delivery deleted meanwhile (its endpoint was) has no attempt log to add to;
    # read after the lock, which a deletion takes too.
    present = set(session.execute(select(DELIVERIES.c.id).where(
        one_of(session, DELIVERIES.c.id, [j.delivery_id for j in jobs]))).scalars())
    kept = [(j, o) for j, o in zip(jobs, results, strict=True) if j.delivery_id in present]
    attempts: list[tuple[Any, ...]] = []  # in ATTEMPT_COLUMNS order
    changes: list[tuple[Any, ...]] = []  # in SETTLE_COLUMNS order
    released: dict[str, datetime] = {}
    events: list[dict[str, Any]] = []  # the operational events these attempts make
    dead: list[tuple[Endpoint, Job, Outcome, str | None]] = []
    for job, outcome in kept:
        endpoint = endpoints.get(job.endpoint_id)
        verdict = outcomes.judge(job, outcome, now)
        out.recorded.append((verdict.status, outcome.latency_ms / 1000))
        attempts.append((new_id("att"), job.delivery_id,
                         endpoint.tenant_id if endpoint else "", now, outcome.status,
                         # float: a binary array takes one type (an int here would not do)
                         float(outcome.latency_ms), outcome.error, outcome.excerpt))
        changes.append((job.delivery_id, verdict.status.value, job.attempts + 1,
                        outcome.status, verdict.error, None if verdict.retry_in is None
                        else now + timedelta(seconds=verdict.retry_in)))
        if verdict.retry_in is not None:
            # Never before it is due: a task that comes early finds nothing to do.
            out.retries[ceil(verdict.retry_in)].append((job.endpoint_id, job.delivery_id))
        if endpoint is None:
            continue
        if verdict.status == DeliveryStatus.dead:
            dead.append((endpoint, job, outcome, verdict.error))
        succeeded = verdict.status == DeliveryStatus.succeeded
        if succeeded or (job.probe and not verdict.unavailable):
            # Any answer but "unavailable" to a probe shows the endpoint is back.
            was_open_until = endpoint.circuit_open_until
            if breaker.succeeded(endpoint):
                released[endpoint.id] = max(was_open_until or now, now)
                events.append(ops_events.recovered(endpoint, now))
        if succeeded:
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
            continue
        if verdict.unavailable:
            until = breaker.failed(endpoint, now, probe=job.probe)
            if until is not None:
                out.opened[endpoint.id] = (until - now).total_seconds()
                if endpoint.circuit_trips == 1:  # one event per incident, not per probe
                    events.append(ops_events.circuit_opened(endpoint, until, verdict.error,
                                                            now))
        failing_since, was_enabled = endpoint.failing_since, endpoint.enabled
        outcomes.note_failure(endpoint, now)
        if was_enabled and not endpoint.enabled:
            events.append(ops_events.disabled(endpoint, failing_since, now))
    if not kept:
        return out
    insert_attempts(session, attempts)
    settle_deliveries(session, changes, now)
    for endpoint_id, until in released.items():
        if endpoint_id in out.opened:
            continue  # it failed again in the same batch
        # Parked deliveries become due now; the run wakes them.
        session.execute(update(DELIVERIES).where(
            DELIVERIES.c.endpoint_id == endpoint_id,
            DELIVERIES.c.status == DeliveryStatus.pending.value,
            DELIVERIES.c.next_attempt_at <= until).values(next_attempt_at=now))
        out.closed.append(endpoint_id)
    events += _dead_events(session, dead, now)
    # Planned in this transaction; the relay is woken once it commits.
    ops_events.emit(session, events, now)
    session.flush()
    return out


def _dead_events(session: Session, dead: list[tuple[Endpoint, Job, Outcome, str | None]],
                 now: datetime) -> list[dict[str, Any]]:
    """Return the ``delivery.dead`` events of dead deliveries of message events.

    A delivery that carried operational events only tells nothing new when it dies:
    leaving it out is what keeps a ``delivery.dead`` from making another.
    """
    if not dead:
        return []
    carried: dict[str, Any] = {r.id: r.event_ids for r in session.execute(
        select(DELIVERIES.c.id, DELIVERIES.c.event_ids).where(
            one_of(session, DELIVERIES.c.id, [j.delivery_id for _, j, _, _ in dead])))}
    wanted = {i for ids in carried.values() for i in ids or []}
    told = ops_events.dead_worth_telling(session.execute(
        select(RECEIPTS.c.id, RECEIPTS.c.type).where(RECEIPTS.c.id.in_(wanted))).all()
    ) if wanted else set()
    events = []
    for endpoint, job, outcome, error in dead:
        ids = list(carried.get(job.delivery_id) or [])
        if not any(i in told for i in ids):
            continue
        events.append(ops_events.delivery_dead(endpoint, job.delivery_id, ids,
                                               job.attempts + 1, outcome.status, error, now))
    return events
