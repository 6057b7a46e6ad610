"""Receive a provider callback: authenticate, validate, keep it in the inbox, answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert
from sqlalchemy.exc import SQLAlchemyError

from dlrhub.config.logging import log_ids
from dlrhub.config.redaction import mask_callback_tokens, mask_query_secrets
from dlrhub.models import INBOX_TABLE, InboxState, new_id
from dlrhub.providers.base import Answer, CallbackError, CallbackRequest, Provider, Record
from dlrhub.services import sns_certificates, subscriptions
from dlrhub.services.accounts import CallbackTarget, TokenDirectory

log = logging.getLogger(__name__)

INBOX = INBOX_TABLE
# Headers kept with the raw body: what re-parsing and audits need, not cookies or auth.
_DROPPED_HEADERS = frozenset({"cookie", "authorization-proxy", "proxy-authorization"})


@dataclass(frozen=True)
class Received:
    """The outcome of one callback: the answer to send, and what to enqueue."""

    answer: Answer
    outcome: str  # accepted, rejected, unauthorized, not_found, too_large, ... for metrics
    inbox_id: str | None = None
    records: int = 0


@dataclass(frozen=True)
class CallbackLimits:
    """The limits the callback path enforces."""

    max_body_bytes: int
    max_skew: int


def receive_callback(
    engine: Engine,
    directory: TokenDirectory,
    adapter: Provider,
    token: str,
    request: CallbackRequest,
    *,
    content_length: int | None,
    limits: CallbackLimits,
    now: datetime,
) -> Received:
    """Take one callback through the checks of DESIGN §2 and store it before answering.

    ``request.body`` holds at most ``limits.max_body_bytes + 1`` bytes: the caller stops
    reading there, and one byte more than the limit means the body was too large.
    """
    target = directory.find(token)
    if target is None or target.provider != adapter.name:
        return Received(adapter.answer(request, None, ok=False, status=404,
                                       reason="unknown callback URL"), "not_found")
    # Whatever is logged from here on names the account (never its token).
    with log_ids(tenant_id=target.tenant_id, account_id=target.account_id):
        return _receive_for(engine, target, adapter, request, content_length, limits, now)


def _receive_for(engine: Engine, target: CallbackTarget, adapter: Provider,
                 request: CallbackRequest, content_length: int | None,
                 limits: CallbackLimits, now: datetime) -> Received:
    account = target.adapter_account
    try:
        records = screen(adapter, target, request, content_length, limits, now)
    except _TooLarge as ex:
        _keep_rejected(engine, target, request, now, ex.reason, keep_body=False)
        return Received(adapter.answer(request, account, ok=False, status=413,
                                       reason=ex.reason), "too_large")
    except CallbackError as ex:
        _keep_rejected(engine, target, request, now, ex.reason)
        return Received(adapter.answer(request, account, ok=False, status=ex.http_status,
                                       reason=ex.reason), ex.kind)
    inbox_id = new_id("inb")
    try:
        # One INSERT is atomic and durable on its own: autocommit spares the BEGIN and
        # COMMIT round trips of an explicit transaction on the busiest path we have.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(insert(INBOX), [pending_row(inbox_id, target, request, now)])
    except SQLAlchemyError:
        # Our outage, not the provider's fault: a 5xx makes it send the callback again.
        with log_ids(inbox_id=inbox_id):
            log.exception("could not store a %s callback", adapter.name)
        return Received(adapter.answer(request, account, ok=False, status=503,
                                       reason="temporarily unavailable, retry"), "unavailable")
    handshake = adapter.handshake_url(request)
    confirmed: bytes | None = None
    if handshake is not None:
        try:
            confirmed = sns_certificates.confirm(handshake)
        except OSError as ex:
            # The URL carries the subscription's token: only the reason is logged.
            with log_ids(inbox_id=inbox_id):
                log.warning("could not confirm a %s subscription: %s", adapter.name,
                            type(ex).__name__)
            return Received(adapter.answer(request, account, ok=False, status=503,
                                           reason="the subscription could not be "
                                                  "confirmed, retry"), "unavailable")
        with log_ids(inbox_id=inbox_id):
            log.info("confirmed a %s subscription", adapter.name)
    change = adapter.subscription_change(request, confirmed)
    if change is not None:
        subscriptions.record(engine, target.account_id, change, now)
    return Received(adapter.answer(request, account, ok=True), "accepted", inbox_id,
                    len(records))


def screen(adapter: Provider, target: CallbackTarget, request: CallbackRequest,
           content_length: int | None, limits: CallbackLimits, now: datetime) -> list[Record]:
    """Check a callback (size, IP, method, type, signature) and return its records.

    Raises ``CallbackError`` for a callback to refuse. Reads nothing but its arguments:
    the event loop's callback lane (``api/callback_lane.py``) calls it too.
    """
    _check(adapter, target, request, content_length, limits, now)
    return adapter.extract(request, target.adapter_account)


def pending_row(inbox_id: str, target: CallbackTarget, request: CallbackRequest,
                now: datetime) -> dict[str, object]:
    """Return the inbox row of an accepted callback, as it is INSERTed."""
    return _row(inbox_id, target, request, now, InboxState.pending, None)


def _masked_authorization(value: str) -> str:
    """Keep an Authorization header's scheme only: ``Basic ***``, ``Bearer ***``.

    Infobip's Basic credentials are the account's password and Vonage's bearer JWT a
    live token; they are checked on arrival, and nothing after (ingest, the native
    relay) reads them. The scheme stays, for debugging a refused callback.
    """
    scheme = value.strip().partition(" ")[0]
    return f"{scheme[:40]} ***" if scheme else "***"


class _TooLarge(CallbackError):
    http_status = 413
    kind = "too_large"


class _Forbidden(CallbackError):
    http_status = 403
    kind = "forbidden"


class _WrongMethod(CallbackError):
    http_status = 405
    kind = "method_not_allowed"


class _UnsupportedType(CallbackError):
    http_status = 415
    kind = "unsupported_media_type"


def _check(adapter: Provider, target: CallbackTarget, request: CallbackRequest,
           content_length: int | None, limits: CallbackLimits, now: datetime) -> None:
    if (content_length or 0) > limits.max_body_bytes or \
            len(request.body) > limits.max_body_bytes:
        raise _TooLarge(f"the body is larger than {limits.max_body_bytes} bytes")
    if not target.allows(request.remote_addr):
        raise _Forbidden(f"{request.remote_addr} is not in the account's IP allow-list")
    if request.method not in adapter.methods:
        raise _WrongMethod(f"{adapter.name} callbacks are sent by "
                           f"{' or '.join(sorted(adapter.methods))}, not {request.method}")
    # A missing Content-Type is let through (several providers' samples send none);
    # a wrong one is refused.
    if request.content_type and request.content_type not in adapter.content_types:
        raise _UnsupportedType(
            f"content type {request.content_type} is not one {adapter.name} sends "
            f"({', '.join(sorted(adapter.content_types))})")
    adapter.authenticate(request, target.adapter_account, now, limits.max_skew)


def _keep_rejected(engine: Engine, target: CallbackTarget, request: CallbackRequest,
                   now: datetime, reason: str, *, keep_body: bool = True) -> None:
    # Refused callbacks are kept so that a tenant can see why its provider is failing;
    # only holders of the account's secret URL can get this far.
    try:
        with engine.begin() as conn:
            conn.execute(insert(INBOX), [_row(new_id("inb"), target, request, now,
                                              InboxState.rejected, reason,
                                              keep_body=keep_body)])
    except SQLAlchemyError:
        log.exception("could not record a rejected %s callback", target.provider)


def _row(inbox_id: str, target: CallbackTarget, request: CallbackRequest, now: datetime,
         state: InboxState, reason: str | None, *, keep_body: bool = True) -> dict[str, object]:
    return {
        "id": inbox_id,
        "tenant_id": target.tenant_id,
        "account_id": target.account_id,
        "provider": target.provider,
        "received_at": now,
        "remote_addr": request.remote_addr[:64],
        "method": request.method,
        # The token is the account's credential (the only one of unsigned providers):
        # it is checked against a hash and never kept in clear.
        "path": mask_callback_tokens(request.path),
        # A password a provider puts in the query (ChuangLan's pswd) is checked on
        # arrival and never kept: re-parsing the row does not need it.
        "query": mask_query_secrets(request.query),
        "content_type": request.content_type[:200],
        # A proxy may pass the original URL on (X-Original-URI, X-Forwarded-Uri).
        "headers": {k: _masked_authorization(v) if k == "authorization"
                    else mask_callback_tokens(v)
                    for k, v in request.headers.items() if k not in _DROPPED_HEADERS},
        "body": request.body if keep_body else b"",
        "state": state.value,
        "reason": reason,
        "attempts": 0,
        "receipts": 0,
        # The caller enqueues a pending row right after storing it (the sweep's clock).
        "enqueued_at": now if state is InboxState.pending else None,
    }
