"""Vonage Messages API: SMS message status and inbound webhooks, signed with a JWT.

Sources: docs/providers/vonage_messages.md (the status webhook's fields and statuses,
signed webhooks: ``Authorization: Bearer`` HS256 JWT with ``payload_hash``, the Messages
API error codes). Vonage publishes no vector; ``wave2-vectors.out`` holds one of ours.

The JWT is checked here rather than with a JWT library: one algorithm (HS256) is
accepted and its name is checked before anything else, so ``none`` or an asymmetric
``alg`` cannot be smuggled in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from dlrhub.core.vocabulary import EventType
from dlrhub.providers.base import (
    Account,
    Adapter,
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
    json_body,
    require_fields,
    require_object,
    same_secret,
    text,
)

# status → status (Vonage's Messages API status callbacks, SMS channel).
STATUS = {
    "submitted": "pending",
    "delivered": "delivered",
    "read": "delivered",
    "rejected": "rejected",
    "undeliverable": "failed",
}
FAILED = frozenset({"failed", "rejected"})
# Messages API error codes (its error.title, or the #fragment of error.type); the
# platform's internal error first.
FAILURE_CODES = ("1030", "1000", "1040", "1050", "1090", "1100", "1120")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def payload_hash(body: bytes) -> str:
    """Return the ``payload_hash`` claim of a body: hex SHA-256 of its raw bytes."""
    return hashlib.sha256(body).hexdigest()


def make_jwt(claims: Mapping[str, Any], secret: str) -> str:
    """Return an HS256 JWT of ``claims`` (what Vonage sends, and what ``simulate`` signs)."""
    signing_input = (_b64url(orjson.dumps({"alg": "HS256", "typ": "JWT"})) + "."
                     + _b64url(orjson.dumps(dict(claims))))
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}"


def verify_jwt(token: str, secret: str) -> dict[str, Any]:
    """Return the claims of an HS256 JWT signed with ``secret``, or raise ``AuthError``."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError("the bearer token is not a JWT")
    try:
        header = orjson.loads(_unb64url(parts[0]))
        signature = _unb64url(parts[2])
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as ex:
        raise AuthError("the bearer token is not a JWT") from ex
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise AuthError("the bearer token is not signed with HS256")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise AuthError("the bearer token's signature does not match")
    try:
        claims = orjson.loads(_unb64url(parts[1]))
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as ex:
        raise AuthError("the bearer token's claims are not JSON") from ex
    if not isinstance(claims, dict):
        raise AuthError("the bearer token's claims are not an object")
    return claims


def _epoch(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthError(f"the bearer token's {name} is not a Unix time")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as ex:
        raise AuthError(f"the bearer token's {name} is not a Unix time") from ex


def _time(value: Any, account: Account, field: str) -> datetime | None:
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


def error_code(error: Any) -> str | None:
    """Return a Messages API error's code: its ``title``, else the ``#…`` of its ``type``."""
    if not isinstance(error, dict):
        return None
    title = text(error.get("title"))
    if title and title.isdigit():
        return title
    kind = text(error.get("type"))
    if kind and "#" in kind:
        return kind.rsplit("#", 1)[1] or None
    return title


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _planned(report: PlannedReport) -> dict[str, Any]:
    failed = report.status != "delivered"
    doc: dict[str, Any] = {
        "message_uuid": report.message_id, "to": report.phone.lstrip("+"),
        "from": "Acme", "timestamp": _iso(report.reported_at),
        "status": ("undeliverable" if report.status == "failed" else "rejected")
        if failed else "delivered",
        "channel": "sms", "usage": {"currency": "EUR", "price": "0.0333"},
        "destination": {"network_code": "46000"},
        "sms": {"count_total": str(report.segments)},
    }
    if failed:
        code = report.code or FAILURE_CODES[0]
        doc["error"] = {"type": f"https://developer.vonage.com/api-errors/messages#{code}",
                        "title": code, "detail": "The message was not delivered.",
                        "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf"}
    if report.reference:
        doc["client_ref"] = report.reference
    return doc


class VonageMessages(Adapter):
    """Adapter for Vonage Messages API webhooks on the SMS channel."""

    name = "vonage_messages"
    title = "Vonage Messages API"
    required_credentials: tuple[str, ...] = ("signature_secret",)
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES
    reports_segments = False

    def failure_status(self, code: str) -> str:
        """Return ``rejected``: for SMS a failed message typically ends rejected."""
        return "rejected"

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check the bearer JWT (HS256), its ``payload_hash`` and a fresh ``iat``."""
        secret = account.credentials.get("signature_secret") or ""
        if not secret:
            raise AuthError("the account has no signature_secret to check the JWT with")
        scheme, _, token = (request.header("authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header is missing or not a bearer token")
        claims = verify_jwt(token.strip(), secret)
        if not same_secret(text(claims.get("payload_hash")), payload_hash(request.body),
                           ignore_case=True):
            raise AuthError("the bearer token's payload_hash is not the SHA-256 of the body")
        issued = _epoch(claims, "iat")
        if issued is None:
            raise AuthError("the bearer token has no iat")
        check_skew(issued, now, max_skew, "iat")
        expires = _epoch(claims, "exp")
        if expires is not None and now > expires + timedelta(seconds=max_skew):
            raise AuthError("the bearer token has expired")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the one message status or inbound message of the body."""
        doc = require_object(json_body(request), "the body")
        kind: Literal["status", "inbound"]
        if "status" in doc:
            kind = "status"
            require_fields(doc, ("message_uuid", "status"), "message status")
        elif "message_type" in doc or "text" in doc:
            kind = "inbound"
            require_fields(doc, ("message_uuid", "from"), "inbound message")
        else:
            raise ParseError("the body is neither a message status (status) nor an "
                             "inbound message (message_type)")
        channel = text(doc.get("channel"))
        if channel not in (None, "sms"):
            return []  # WhatsApp, MMS, RCS…: not SMS receipts
        return [Record(kind, doc)]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a message status or an inbound SMS to the event shape."""
        data = record.data
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                message_id=text(data.get("message_uuid")),
                phone=e164(data.get("from"), region=account.default_region,
                           international=True),
                text=str(data.get("text") or ""),
                reported_at=_time(data.get("timestamp"), account, "timestamp"),
                raw=data,
            )
        provider_status = str(data["status"]).strip().lower()
        status = STATUS.get(provider_status, "pending")
        error = data.get("error")
        failed = status in FAILED
        usage = data.get("usage")
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("message_uuid")),
            reference=text(data.get("client_ref")),
            phone=e164(data.get("to"), region=account.default_region, international=True),
            provider_status=provider_status,
            error_code=error_code(error) if failed else None,
            error_message=text(error.get("detail")) if failed and isinstance(error, dict)
            else None,
            price=text(usage.get("price")) if isinstance(usage, dict) else None,
            reported_at=_time(data.get("timestamp"), account, "timestamp"),
            raw=data,
        )

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one JSON webhook with its bearer JWT (``count`` is ignored).

        Raises ``ValueError`` when the account has no signature secret.
        """
        secret = account.credentials.get("signature_secret")
        if not secret:
            raise ValueError("a Vonage Messages account needs signature_secret to sign with")
        doc: dict[str, Any]
        if reports and kind == "status":
            doc = _planned(reports[0])
        elif kind == "inbound":
            doc = {"channel": "sms", "message_uuid": f"aaaaaaaa-bbbb-4ccc-8ddd-{seq:012x}",
                   "to": "447700900000", "from": f"44770090{seq % 10**4:04d}",
                   "timestamp": _iso(now), "text": f"reply {seq}", "message_type": "text",
                   "sms": {"num_messages": "1"}}
        else:
            failed = seq % 10 == 9
            doc = _planned(PlannedReport(
                message_id=f"aaaaaaaa-bbbb-4ccc-9ddd-{seq:012x}",
                phone=f"+44770090{seq % 10**4:04d}",
                status="rejected" if failed else "delivered", code="1050" if failed else None,
                submitted_at=now, reported_at=now))
        body = orjson.dumps(doc)
        claims = {"iat": int(now.timestamp()), "jti": f"c5b4b0a2-0000-4000-8000-{seq:012x}",
                  "iss": "Vonage", "payload_hash": payload_hash(body), "api_key": "abcd1234",
                  "application_id": "aaaaaaaa-0000-4000-8000-000000000000"}
        return SimulatedCallback(body, {"Authorization": f"Bearer {make_jwt(claims, secret)}"},
                                 JSON, 1)


provider = VonageMessages()
