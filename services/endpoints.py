"""Customers' webhook endpoints: create, read, update, delete; signing secrets; test events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson
from sqlalchemy import delete, select
from sqlmodel import Session

from dlrhub.models import (
    ACCOUNT_TABLE,
    ATTEMPT_TABLE,
    DELIVERY_TABLE,
    ENDPOINT_TABLE,
    Attempt,
    Delivery,
    DeliveryStatus,
    Endpoint,
    EndpointCreate,
    EndpointFormat,
    EndpointUpdate,
    EventType,
    ProviderAccount,
    ReceiptStatus,
    new_id,
    utcnow,
)
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.accounts import adapter_account
from dlrhub.services.crypto import SecretBox
from dlrhub.services.errors import InvalidInput, NotFound
from dlrhub.services.pagination import newest_by_id
from dlrhub.services.relay.jobs import Job, Outcome, signed_job
from dlrhub.services.relay.policy.outcomes import accepted
from dlrhub.services.relay.policy.retries import parse_policy
from dlrhub.services.relay.transport import signing
from dlrhub.services.relay.transport.addresses import check_url
from dlrhub.services.relay.transport.wire import FRAMING

EVENT_TYPES = tuple(t.value for t in EventType)
STATUSES = tuple(s.value for s in ReceiptStatus)
# The relay sets these itself; a custom header must not override them.
# Nor one that frames or routes the request (Transfer-Encoding, Connection, ...): one
# tenant's could smuggle a request into a kept connection another tenant's send uses.
_RESERVED_HEADERS = frozenset({"content-type", "webhook-id", "webhook-timestamp",
                               "webhook-signature", "user-agent"}) | FRAMING
ROTATION_OVERLAP = timedelta(hours=24)
W = TypeVar("W", bound=str)


# What a tenant sets: all of it on create; on update, ``None`` leaves a field as it is.
EndpointSpec = EndpointCreate | EndpointUpdate


def create_endpoint(session: Session, box: SecretBox, *, tenant_id: str,
                    spec: EndpointCreate, allow_private: bool) -> tuple[Endpoint, str]:
    """Create an endpoint; return it with its signing secret (shown here, and on request)."""
    secret = signing.new_secret()
    endpoint = Endpoint(tenant_id=tenant_id, url="", secret_encrypted=box.encrypt(secret))
    _apply(session, endpoint, spec, allow_private)
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def update_endpoint(session: Session, *, tenant_id: str, endpoint_id: str,
                    spec: EndpointUpdate, allow_private: bool) -> Endpoint:
    """Change an endpoint; re-enabling it clears why it was disabled."""
    endpoint = get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    _apply(session, endpoint, spec, allow_private)
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint


def _apply(session: Session, endpoint: Endpoint, spec: EndpointSpec,
           allow_private: bool) -> None:
    if spec.url is not None:
        check_url(spec.url, allow_private=allow_private)
        endpoint.url = spec.url
    if spec.description is not None:
        endpoint.description = spec.description
    if spec.event_types is not None:
        endpoint.event_types = _subset("event_types", spec.event_types, EVENT_TYPES)
    if spec.statuses is not None:
        endpoint.statuses = _subset("statuses", spec.statuses, STATUSES)
    if spec.account_ids is not None:
        endpoint.account_ids = _own_accounts(session, endpoint.tenant_id, spec.account_ids)
    if spec.format is not None:
        endpoint.format = spec.format
    if spec.batch_size is not None:
        endpoint.batch_size = spec.batch_size
    if endpoint.format == EndpointFormat.native and endpoint.batch_size != 1:
        # A provider's callback is re-posted as it came: one request each.
        raise InvalidInput("batch_size", "must be 1 for the native format")
    if spec.retry_policy is not None:
        endpoint.retry_policy = parse_policy(spec.retry_policy).to_json()
    if spec.timeout is not None:
        endpoint.timeout = spec.timeout
    if spec.rate_limit is not None:
        endpoint.rate_limit = spec.rate_limit or None
    if spec.headers is not None:
        endpoint.headers = _headers(spec.headers)
    if spec.enabled is not None:
        endpoint.enabled = spec.enabled
        if spec.enabled:
            endpoint.disabled_reason = None
            endpoint.failing_since = None


def _subset(field: str, values: list[W], allowed: tuple[str, ...]) -> list[W]:
    for index, value in enumerate(values):
        if value not in allowed:
            raise InvalidInput(f"{field}[{index}]", f"must be one of {', '.join(allowed)}")
    return sorted(set(values))


def _own_accounts(session: Session, tenant_id: str, ids: list[str]) -> list[str]:
    table = ACCOUNT_TABLE
    found = set(session.execute(select(table.c.id).where(
        table.c.tenant_id == tenant_id, table.c.id.in_(ids))).scalars())
    for index, account_id in enumerate(ids):
        if account_id not in found:
            raise InvalidInput(f"account_ids[{index}]", "no such account")
    return sorted(set(ids))


def _headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if name.lower() in _RESERVED_HEADERS:
            raise InvalidInput(f"headers.{name}", "is set by the relay")
        if not name.isascii() or any(c in name for c in " :\r\n") or "\n" in value \
                or "\r" in value:
            raise InvalidInput(f"headers.{name}", "is not a valid header")
    return dict(headers)


def get_endpoint(session: Session, *, tenant_id: str, endpoint_id: str) -> Endpoint:
    """Return one of the tenant's endpoints, or raise ``NotFound`` (also if not theirs)."""
    table = ENDPOINT_TABLE
    endpoint: Endpoint | None = session.execute(select(Endpoint).where(
        table.c.tenant_id == tenant_id, table.c.id == endpoint_id)).scalars().first()
    if endpoint is None:
        raise NotFound(f"no endpoint {endpoint_id}")
    return endpoint


def list_endpoints(session: Session, *, tenant_id: str, limit: int = 50,
                   after: str | None = None) -> tuple[list[Endpoint], str | None]:
    """Return the tenant's endpoints, newest first, and the next cursor."""
    table = ENDPOINT_TABLE
    query = select(Endpoint).where(table.c.tenant_id == tenant_id)
    return newest_by_id(session, query, table.c.id, limit=limit, after=after)


def delete_endpoint(session: Session, *, tenant_id: str, endpoint_id: str) -> None:
    """Delete an endpoint with its deliveries and their attempts."""
    endpoint = get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    # The endpoint first, then its deliveries: the relay locks in the same order.
    session.refresh(endpoint, with_for_update=True)
    deliveries = DELIVERY_TABLE
    attempts = ATTEMPT_TABLE
    ids = select(deliveries.c.id).where(deliveries.c.endpoint_id == endpoint.id)
    session.execute(delete(attempts).where(attempts.c.delivery_id.in_(ids)))
    session.execute(delete(deliveries).where(deliveries.c.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()


def rotate_secret(session: Session, box: SecretBox, *, tenant_id: str,
                  endpoint_id: str) -> tuple[Endpoint, str]:
    """Give an endpoint a new secret; the old one keeps signing beside it for 24 h."""
    endpoint = get_endpoint(session, tenant_id=tenant_id, endpoint_id=endpoint_id)
    secret = signing.new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    endpoint.secret_encrypted = box.encrypt(secret)
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def signing_secrets(endpoint: Endpoint, box: SecretBox) -> list[str]:
    """Return the secrets that sign for an endpoint now: the current one, then the old."""
    out = [box.decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > utcnow():
        out.append(box.decrypt(endpoint.previous_secret_encrypted))
    return out


def test_event(endpoint: Endpoint, now: datetime) -> dict[str, Any]:
    """Return the event a test sends: the event shape, marked as a test."""
    return {
        "id": new_id("evt"), "type": EventType.status.value, "test": True,
        "tenant_id": endpoint.tenant_id, "account_id": None, "provider": "dlrhub",
        "message_id": "test", "reference": None, "phone": "+8613800138000",
        "status": ReceiptStatus.delivered.value, "provider_status": "DELIVRD", "error_code": None,
        "error_message": None, "segments": 1, "part": None, "price": None, "submitted_at": None,
        "reported_at": now.isoformat().replace("+00:00", "Z"),
        "received_at": now.isoformat().replace("+00:00", "Z"), "text": None, "raw": {},
        "reason_class": None, "retryable": None, "country": "CN", "carrier": "china_mobile",
        "synthetic": False, "details": None,
    }


def native_test_body(session: Session, box: SecretBox, endpoint: Endpoint,
                     now: datetime) -> tuple[bytes, str, str]:
    """Return a provider's callback as a native endpoint would get it, and that provider.

    A native endpoint gets providers' callbacks byte for byte and is judged by the
    provider's own rule, so its test is one such callback: a realistic status report of
    the first account the endpoint relays (of the tenant's, if it names none), built by
    the adapter's simulator. A receiver that would fail real deliveries fails it too.
    """
    query = select(ProviderAccount).where(
        ACCOUNT_TABLE.c.tenant_id == endpoint.tenant_id,
        ACCOUNT_TABLE.c.deleted_at.is_(None)).order_by(ACCOUNT_TABLE.c.created_at)
    if endpoint.account_ids:
        query = query.where(ACCOUNT_TABLE.c.id.in_(endpoint.account_ids))
    account = session.execute(query.limit(1)).scalars().first()
    if account is None:
        raise InvalidInput("format", "a native endpoint relays provider callbacks as they "
                           "came; add a provider account first, so the test has one to send")
    adapter = PROVIDERS[account.provider]
    provider_account = adapter_account(account, box)
    if adapter.simulation_credentials:
        # The endpoint gets the body and its content type, never the provider's signature
        # headers: a body signed with the simulator's key is the same body.
        provider_account = replace(provider_account, credentials={
            **provider_account.credentials, **adapter.simulation_credentials})
    try:
        made = adapter.simulate(provider_account, count=1, seq=int(now.timestamp()), now=now)
    except ValueError as ex:
        raise InvalidInput("format", f"no test callback of {adapter.title} can be made for "
                           f"this endpoint's first account: {ex}") from ex
    return made.body, made.content_type or "application/octet-stream", adapter.name


def send_test(session: Session, box: SecretBox, endpoint: Endpoint, *,
              send: Callable[[list[Job]], list[Outcome]], now: datetime
              ) -> tuple[Delivery, Attempt]:
    """Send one signed test event now with ``send``, log it as a delivery, return its attempt.

    A test is tried once: it neither retries nor counts toward the endpoint's failures.
    """
    event = test_event(endpoint, now)
    delivery = Delivery(tenant_id=endpoint.tenant_id, endpoint_id=endpoint.id,
                        event_ids=[event["id"]], next_attempt_at=None)
    if endpoint.format == EndpointFormat.native:
        body, content_type, provider = native_test_body(session, box, endpoint, now)
    else:
        body = orjson.dumps([event] if endpoint.batch_size > 1 else event)
        content_type, provider = "application/json", None
    job = signed_job(endpoint, signing_secrets(endpoint, box), delivery.id, body,
                     content_type, now, provider=provider)
    (outcome,) = send([job])
    ok = accepted(job, outcome)
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
