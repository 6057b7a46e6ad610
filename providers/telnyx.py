"""Telnyx Messaging v2 webhooks: ``message.sent``, ``message.finalized``, ``message.received``.

Sources: docs/providers/telnyx.md (the event envelope, per-recipient statuses, the
Ed25519 signature over ``timestamp|body``, the 40xxx delivery errors). Telnyx publishes
no signature vector; ``wave2-vectors.out`` holds one computed from RFC 8032's first test
key, which the simulator also signs with (a public seed: never a real account's key).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dlrhub.core.vocabulary import EventType
from dlrhub.providers.base import (
    Account,
    Adapter,
    Answer,
    AuthError,
    CallbackRequest,
    Event,
    ParseError,
    PlannedReport,
    Record,
    SimulatedCallback,
)
from dlrhub.providers.common import (
    JSON,
    as_utc,
    check_skew,
    e164,
    epoch_header,
    json_answer,
    json_body,
    require_fields,
    require_object,
    text,
    to_count,
)

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
STATUS_EVENTS = frozenset({"message.sent", "message.finalized"})
INBOUND_EVENT = "message.received"
# RFC 8032 §7.1, test 1: a published seed, so a simulated callback can be signed and
# checked; an account holding its public key accepts what anyone can sign.
SIMULATOR_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SIMULATOR_PUBLIC_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

# to[].status → status (docs/providers/telnyx.md). `expired` is a guess of ours.
STATUS = {
    "queued": "pending",
    "sending": "pending",
    "sent": "pending",
    "delivered": "delivered",
    "sending_failed": "failed",
    "delivery_failed": "failed",
    "delivery_unconfirmed": "unknown",
    "expired": "expired",
}
# Telnyx's own delivery errors; the generic "undeliverable" first.
FAILURE_CODES = ("40008", "40001", "40002", "40003", "40004", "40005", "40006", "40009",
                 "40011")
FAILED_STATUSES = frozenset({"failed", "expired", "unknown", "rejected"})


def signed_payload(timestamp: str, body: bytes) -> bytes:
    """Return what Telnyx signs: the timestamp header as sent, ``|``, the raw body."""
    return timestamp.encode() + b"|" + body


@lru_cache(maxsize=1024)
def public_key(value: str) -> Ed25519PublicKey:
    """Read an account's base64 Ed25519 public key, or raise ``AuthError``."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as ex:
        raise AuthError("the account's public_key is not a base64 Ed25519 public key") from ex


def sign(seed: bytes, timestamp: str, body: bytes) -> str:
    """Return the base64 signature Telnyx would send, made with the private ``seed``."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return base64.b64encode(key.sign(signed_payload(timestamp, body))).decode()


def seed_public_key(seed: bytes) -> str:
    """Return the base64 public key of a private seed (what the account must hold)."""
    raw = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _time(value: Any, account: Account, field: str) -> datetime | None:
    """Read an ISO 8601 time ("…Z" or an offset); one without a zone in the account's."""
    raw = text(value)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not an ISO 8601 time: {raw!r}") from ex
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=account.timezone)
    return as_utc(moment, field, raw)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _first_error(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    errors = payload.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    return {}


def _planned(report: PlannedReport, seq: int) -> dict[str, Any]:
    """Render a planned report as a ``message.finalized`` event."""
    failed = report.status != "delivered"
    status = {"expired": "expired", "unknown": "delivery_unconfirmed"}.get(
        report.status, "delivery_failed" if failed else "delivered")
    errors = [{"code": report.code, "title": "Undeliverable",
               "detail": "The message could not be delivered."}] if failed and report.code \
        else []
    return {"data": {
        "event_type": "message.finalized", "record_type": "event",
        "id": f"0ccc7b54-4df3-4bca-a65a-{seq:012x}",
        "occurred_at": _iso(report.reported_at),
        "payload": {
            "id": report.message_id, "record_type": "message", "direction": "outbound",
            "type": "SMS", "parts": report.segments, "encoding": "GSM-7",
            "from": {"phone_number": "+13125550100", "carrier": "Telnyx",
                     "line_type": "Wireless"},
            "to": [{"phone_number": report.phone, "status": status,
                    "carrier": "", "line_type": "Wireless"}],
            "errors": errors, "text": "Your code is 123456",
            "sent_at": _iso(report.submitted_at), "completed_at": _iso(report.reported_at),
            "cost": {"amount": "0.0040", "currency": "USD"},
        }},
        "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks"}}


class Telnyx(Adapter):
    """Adapter for Telnyx messaging webhooks (API v2), signed with Ed25519."""

    name = "telnyx"
    title = "Telnyx Messaging"
    required_credentials: tuple[str, ...] = ("public_key",)
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES
    # The published RFC 8032 test key's public half (the simulator's private key).
    simulation_credentials: Mapping[str, str] = {"public_key": SIMULATOR_PUBLIC_KEY}

    def failure_status(self, code: str) -> str:
        """Return the status a failure with ``code`` reads as (40005: expired)."""
        return "expired" if code == "40005" else "failed"

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check a fresh ``telnyx-timestamp`` and the Ed25519 signature of ``ts|body``."""
        key_text = account.credentials.get("public_key") or ""
        if not key_text:
            raise AuthError("the account has no public_key to check the signature with")
        key = public_key(key_text)
        signed_at = epoch_header(request, TIMESTAMP_HEADER)
        check_skew(signed_at, now, max_skew, "telnyx-timestamp")
        given = (request.header(SIGNATURE_HEADER) or "").strip()
        if not given:
            raise AuthError("the telnyx-signature-ed25519 header is missing")
        try:
            signature = base64.b64decode(given, validate=True)
            key.verify(signature, signed_payload(
                (request.header(TIMESTAMP_HEADER) or "").strip(), request.body))
        except (binascii.Error, ValueError, InvalidSignature) as ex:
            raise AuthError("the telnyx-signature-ed25519 header does not match") from ex

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return one record per recipient of a status event, or the one inbound message.

        Events of other types (numbers, calls) sharing the URL carry no records.
        """
        doc = require_object(json_body(request), "the body")
        data = require_object(doc.get("data"), "data")
        require_fields(data, ("event_type",), "data")
        event_type = str(data["event_type"])
        if event_type not in STATUS_EVENTS and event_type != INBOUND_EVENT:
            return []
        payload = require_object(data.get("payload"), "data.payload")
        require_fields(payload, ("id",), "data.payload")
        recipients = payload.get("to")
        if event_type == INBOUND_EVENT:
            sender = require_object(payload.get("from"), "data.payload.from")
            require_fields(sender, ("phone_number",), "data.payload.from")
            return [Record("inbound", data)]
        if not isinstance(recipients, list) or not recipients:
            raise ParseError("data.payload.to must be a non-empty array")
        records = []
        for index, item in enumerate(recipients):
            where = f"data.payload.to[{index}]"
            recipient = require_object(item, where)
            require_fields(recipient, ("phone_number", "status"), where)
            records.append(Record("status", {**data, "recipient": recipient}))
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map one recipient's status, or an inbound message, to the event shape."""
        data = record.data
        payload: Mapping[str, Any] = data["payload"]
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                message_id=text(payload.get("id")),
                phone=e164(payload["from"].get("phone_number"), region=account.default_region),
                text=str(payload.get("text") or ""),
                segments=to_count(payload.get("parts"), "parts"),
                reported_at=_time(payload.get("received_at") or data.get("occurred_at"),
                                  account, "received_at"),
                report_id=text(data.get("id")),
                raw=data,
            )
        recipient: Mapping[str, Any] = data["recipient"]
        provider_status = str(recipient["status"]).strip().lower()
        status = STATUS.get(provider_status, "pending")
        error = _first_error(payload)
        failed = status in FAILED_STATUSES
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(payload.get("id")),
            phone=e164(recipient.get("phone_number"), region=account.default_region),
            provider_status=provider_status,
            error_code=text(error.get("code")) if failed else None,
            error_message=(text(error.get("detail")) or text(error.get("title")))
            if failed else None,
            segments=to_count(payload.get("parts"), "parts"),
            submitted_at=_time(payload.get("sent_at"), account, "sent_at"),
            reported_at=_time(payload.get("completed_at") or data.get("occurred_at"),
                              account, "completed_at"),
            # The event's id, the same on every retry: Telnyx promises neither order nor
            # exactly-once delivery and says to dedupe on it.
            report_id=text(data.get("id")),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer 200 ``{"status":"ok"}`` (Telnyx wants any 2xx), or the status and why."""
        if ok:
            return json_answer(200, {"status": "ok"})
        return json_answer(status, {"status": "error", "reason": reason or "error"})

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one signed event (``count`` is ignored: one message per webhook).

        Only Telnyx holds the private key of a real account, so the simulator signs with
        the published RFC 8032 test seed: raises ``ValueError`` unless the account holds
        its public key, ``SIMULATOR_PUBLIC_KEY``.
        """
        if (account.credentials.get("public_key") or "").strip() != SIMULATOR_PUBLIC_KEY:
            raise ValueError("a Telnyx account can be simulated only when its public_key is "
                             f"the simulator's ({SIMULATOR_PUBLIC_KEY}): only Telnyx holds "
                             "the private key of a real one")
        doc: dict[str, Any]
        if reports and kind == "status":
            doc = _planned(reports[0], seq)
        elif kind == "inbound":
            stamp = _iso(now)
            doc = {"data": {
                "event_type": INBOUND_EVENT, "record_type": "event",
                "id": f"5a0f3d2e-6c1b-4f7a-9e8d-{seq:012x}", "occurred_at": stamp,
                "payload": {"id": f"b301ed3f-1490-491f-995f-{seq:012x}",
                            "direction": "inbound", "type": "SMS", "parts": 1,
                            "from": {"phone_number": f"+1312555{seq % 10**4:04d}",
                                     "carrier": "T-Mobile USA", "line_type": "Wireless"},
                            "to": [{"phone_number": "+13125550100", "status": "webhook_delivered"}],
                            "text": f"reply {seq}", "received_at": stamp}},
                "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks"}}
        else:
            failed = seq % 10 == 9
            doc = _planned(PlannedReport(
                message_id=f"40385f64-5717-4562-b3fc-{seq:012x}",
                phone=f"+1312555{seq % 10**4:04d}",
                status="failed" if failed else "delivered", code="40008" if failed else None,
                submitted_at=now, reported_at=now), seq)
        body = orjson.dumps(doc)
        timestamp = str(int(now.timestamp()))
        headers = {"telnyx-timestamp": timestamp,
                   "telnyx-signature-ed25519": sign(SIMULATOR_SEED, timestamp, body)}
        return SimulatedCallback(body, headers, JSON, 1)


provider = Telnyx()
