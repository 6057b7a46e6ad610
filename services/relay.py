"""Send due deliveries to customers' endpoints, concurrently, and log every attempt.

The database is the record of work: a delivery is claimed with a lease (its
next_attempt_at moves past the send), sent, and then settled. A worker that dies
mid-send leaves the lease to expire and the sweeper sends again (at least once).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import orjson
from sqlalchemy import Engine, select
from sqlmodel import Session

from models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointFormat,
    InboundCallback,
    Receipt,
    new_id,
)
from providers.registry import PROVIDERS
from services import netguard, retry, signing
from services.crypto import SecretBox
from services.endpoints import signing_secrets
from services.errors import InvalidInput
from services.receipts import event_document

EXCERPT = 1024
# An endpoint whose deliveries have all failed this long is disabled.
DISABLE_AFTER = timedelta(days=5)
USER_AGENT = "dlrhub-relay/0.1"


@dataclass
class Job:
    """One claimed delivery with everything needed to send it."""

    delivery_id: str
    endpoint_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    timeout: float
    attempts: int
    policy: Any
    provider: str | None  # for native deliveries: whose success rule applies


@dataclass
class Outcome:
    """What the endpoint answered (or why there was no answer)."""

    status: int | None
    latency_ms: float
    error: str | None
    excerpt: str | None
    retry_after: str | None
    body: bytes = b""


def claim(session: Session, box: SecretBox, ids: Sequence[str], now: datetime) -> list[Job]:
    """Take the due, pending deliveries among ``ids`` and lease them for one send."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    query = select(Delivery).where(table.c.id.in_(list(ids)),
                                   table.c.status == DeliveryStatus.pending.value,
                                   table.c.next_attempt_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    deliveries = list(session.execute(query).scalars())
    endpoints = {e.id: e for e in session.execute(select(Endpoint).where(
        Endpoint.__table__.c.id.in_({d.endpoint_id for d in deliveries}))).scalars()}  # type: ignore[attr-defined]
    jobs = []
    for delivery in deliveries:
        endpoint = endpoints.get(delivery.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            continue  # parked: a re-enabled endpoint gets them from the sweeper
        jobs.append(_job(session, box, delivery, endpoint, now))
        delivery.next_attempt_at = now + timedelta(seconds=endpoint.timeout + 60)
        session.add(delivery)
    session.flush()
    return jobs


def _job(session: Session, box: SecretBox, delivery: Delivery, endpoint: Endpoint,
         now: datetime) -> Job:
    provider = None
    if endpoint.format == EndpointFormat.native and delivery.inbox_id:
        inbox = session.get(InboundCallback, delivery.inbox_id)
        body = inbox.body if inbox is not None else b""
        content_type = (inbox.headers.get("content-type") if inbox is not None else None) \
            or "application/octet-stream"
        provider = inbox.provider if inbox is not None else None
    else:
        table = Receipt.__table__  # type: ignore[attr-defined]
        receipts = {r.id: r for r in session.execute(select(Receipt).where(
            table.c.id.in_(delivery.event_ids))).scalars()}
        docs = [event_document(receipts[i]) for i in delivery.event_ids if i in receipts]
        single = endpoint.batch_size == 1 and len(docs) == 1
        body = orjson.dumps(docs[0] if single else docs)
        content_type = "application/json"
    headers = {**endpoint.headers, "Content-Type": content_type, "User-Agent": USER_AGENT,
               # webhook-id stays the same across retries, so receivers can dedupe.
               **signing.headers(signing_secrets(endpoint, box), delivery.id,
                                 int(now.timestamp()), body)}
    return Job(delivery.id, endpoint.id, endpoint.url, body, headers, endpoint.timeout,
               delivery.attempts, endpoint.retry_policy, provider)


async def send_all(jobs: Sequence[Job], *, allow_private: bool,
                   concurrency: int = 64) -> list[Outcome]:
    """POST every job concurrently over pooled connections; never follow redirects.

    Names are resolved by the guard at connect time, so a name re-pointed at a private
    address after the endpoint was saved (DNS rebinding) is refused; IP literals never
    reach a resolver in aiohttp, so each URL is checked again before its send.
    """
    resolver = netguard.GuardedResolver(allow_private=allow_private)
    connector = aiohttp.TCPConnector(limit=concurrency, resolver=resolver)
    try:
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as http:
            return list(await asyncio.gather(
                *(_send(http, job, allow_private) for job in jobs)))
    finally:
        await resolver.close()  # the connector does not close a resolver it was given


async def _send(http: aiohttp.ClientSession, job: Job, allow_private: bool) -> Outcome:
    started = time.perf_counter()
    try:
        await asyncio.to_thread(netguard.check_url, job.url, allow_private=allow_private)
    except InvalidInput as ex:
        return Outcome(None, 0.0, f"refused: {ex.detail}", None, None)
    try:
        async with http.post(job.url, data=job.body, headers=job.headers,
                             allow_redirects=False,
                             timeout=aiohttp.ClientTimeout(total=job.timeout)) as resp:
            body = await resp.content.read(EXCERPT)
            return Outcome(resp.status, (time.perf_counter() - started) * 1000, None,
                           body.decode("utf-8", "replace"), resp.headers.get("Retry-After"),
                           body)
    except (aiohttp.ClientError, TimeoutError, OSError) as ex:
        reason = "timeout" if isinstance(ex, TimeoutError) else f"{type(ex).__name__}: {ex}"
        return Outcome(None, (time.perf_counter() - started) * 1000, reason[:500], None, None)


@dataclass(frozen=True)
class Settled:
    """A delivery's new state after an attempt, and when to try again (seconds)."""

    delivery_id: str
    status: DeliveryStatus
    retry_in: float | None


def record(session: Session, jobs: Sequence[Job], outcomes: Sequence[Outcome],
           now: datetime) -> list[Settled]:
    """Log each attempt and move each delivery on: succeeded, pending again, failed or dead."""
    settled = []
    for job, outcome in zip(jobs, outcomes, strict=True):
        delivery = session.get(Delivery, job.delivery_id)
        endpoint = session.get(Endpoint, job.endpoint_id)
        if delivery is None or endpoint is None:
            continue
        session.add(Attempt(delivery_id=delivery.id, tenant_id=delivery.tenant_id, at=now,
                            status_code=outcome.status, latency_ms=outcome.latency_ms,
                            error=outcome.error, response_excerpt=outcome.excerpt))
        delivery.attempts += 1
        delivery.last_status_code = outcome.status
        delivery.updated_at = now
        ok = _accepted(job, outcome)
        retry_in = None
        if ok:
            delivery.status, delivery.last_error, delivery.next_attempt_at = \
                DeliveryStatus.succeeded, None, None
            endpoint.failing_since = None
        else:
            delivery.last_error = outcome.error or f"HTTP {outcome.status}: " \
                f"{(outcome.excerpt or '')[:200]}"
            retry_in = _next_wait(job, outcome, delivery.attempts, now)
            if retry_in is not None:
                delivery.status = DeliveryStatus.pending
                delivery.next_attempt_at = now + timedelta(seconds=retry_in)
            else:
                retryable = retry.is_retryable(outcome.status)
                delivery.status = DeliveryStatus.dead if retryable else DeliveryStatus.failed
                delivery.next_attempt_at = None
            _note_failure(endpoint, now)
        session.add(delivery)
        session.add(endpoint)
        settled.append(Settled(delivery.id, delivery.status, retry_in))
    session.flush()
    return settled


def _accepted(job: Job, outcome: Outcome) -> bool:
    if outcome.status is None:
        return False
    if job.provider is not None:
        adapter = PROVIDERS.get(job.provider)
        if adapter is not None:
            return adapter.accepts_answer(outcome.status, outcome.body)
    return 200 <= outcome.status < 300


def _next_wait(job: Job, outcome: Outcome, attempts: int, now: datetime) -> float | None:
    if not retry.is_retryable(outcome.status) and outcome.status is not None \
            and not (200 <= outcome.status < 300):
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
            limit: int = 10_000) -> list[str]:
    """Return pending deliveries of enabled endpoints due for longer than ``older_than``."""
    deliveries = Delivery.__table__  # type: ignore[attr-defined]
    endpoints = Endpoint.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return list(conn.execute(
            select(deliveries.c.id)
            .join(endpoints, endpoints.c.id == deliveries.c.endpoint_id)
            .where(deliveries.c.status == DeliveryStatus.pending.value,
                   deliveries.c.next_attempt_at < now - older_than,
                   endpoints.c.enabled.is_(True))
            .order_by(deliveries.c.next_attempt_at).limit(limit)).scalars())


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
    headers = {**endpoint.headers, "Content-Type": "application/json",
               "User-Agent": USER_AGENT,
               **signing.headers(signing_secrets(endpoint, box), delivery.id,
                                 int(now.timestamp()), body)}
    job = Job(delivery.id, endpoint.id, endpoint.url, body, headers, endpoint.timeout, 0,
              endpoint.retry_policy, None)
    (outcome,) = asyncio.run(send_all([job], allow_private=allow_private, concurrency=1))
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
