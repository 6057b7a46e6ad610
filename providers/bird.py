"""Bird (formerly MessageBird): legacy SMS status reports by GET, and Bird's signed webhooks.

Sources: docs/providers/bird.md (the legacy status report's query fields and statuses,
the ``MessageBird-Signature`` over timestamp, sorted query and body hash, whose official
example is the vector in ``wave2-vectors.out``'s notes; Bird's ``messagebird-signature``
over timestamp, full URL and body hash, with a vector of ours).

The legacy report carries the downstream provider's error code as it came
(``statusErrorCode``), so a failure is classified by the carrier's code. The body of
Bird's own (Channels) webhooks is read from a shape Bird's reference shows only in part:
``docs/providers/bird.md`` marks what is a guess.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote_plus, urlencode

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
    as_utc,
    check_skew,
    e164,
    epoch_header,
    form_pairs,
    json_body,
    require_fields,
    require_object,
    same_secret,
    text,
)

SIGNATURE_HEADER = "messagebird-signature"
TIMESTAMP_HEADER = "messagebird-request-timestamp"
JSON = "application/json"
# Bird's event of a message the number received (its payload's direction is "incoming");
# the channel's other sms.* events are status updates of messages sent.
INBOUND_EVENT = "sms.inbound"

# Legacy status report: status → status (MessageBird's SMS status list).
LEGACY_STATUS = {
    "scheduled": "pending",
    "sent": "pending",
    "buffered": "pending",
    "delivered": "delivered",
    "expired": "expired",
    "delivery_failed": "failed",
}
# Bird Channels message status → status.
BIRD_STATUS = {
    "accepted": "pending",
    "sending": "pending",
    "sent": "pending",
    "delivered": "delivered",
    "sending_failed": "failed",
    "delivery_failed": "failed",
}
FAILED = frozenset({"failed", "expired"})


def _hmac(key: str, payload: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), payload, hashlib.sha256).digest()).decode()


def bird_signature(key: str, timestamp: str, url: str, body: bytes) -> str:
    """Return Bird's ``messagebird-signature``: over timestamp, full URL and body hash."""
    return _hmac(key, b"\n".join([timestamp.encode(), url.encode(),
                                  hashlib.sha256(body).digest()]))


def legacy_query(query: str) -> str:
    """Return a query as MessageBird's legacy signature sorts and escapes it.

    Its Ruby library signs ``params.sort.to_h.to_query``: each ``key=value`` form-escaped
    (a space is ``+``), the pairs sorted.
    """
    return "&".join(sorted(f"{quote_plus(k)}={quote_plus(v)}"
                           for k, v in dict(form_pairs(query.encode())).items()))


def legacy_signature(key: str, timestamp: str, query: str, body: bytes) -> str:
    """Return the legacy ``MessageBird-Signature``: timestamp, sorted query, body hash."""
    return _hmac(key, b"\n".join([timestamp.encode(), legacy_query(query).encode(),
                                  hashlib.sha256(body).digest()]))


def _time(value: Any, account: Account, field: str) -> datetime | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not an RFC 3339 time: {raw!r}") from ex
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=account.timezone)
    return as_utc(moment, field, raw)


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _planned(report: PlannedReport) -> dict[str, str]:
    failed = report.status != "delivered"
    fields = {"id": report.message_id, "recipient": report.phone.lstrip("+"),
              "status": "delivery_failed" if failed else "delivered",
              "statusDatetime": report.reported_at.astimezone(UTC).isoformat(),
              "statusReason": "unknown" if failed else "successfully delivered",
              "mccmnc": "46000", "ported": "0", "datacoding": "plain"}
    if failed and report.code:
        fields["statusErrorCode"] = report.code
    if report.reference:
        fields["reference"] = report.reference
    return fields


class Bird(Adapter):
    """Adapter for MessageBird's legacy status reports and Bird's SMS webhooks."""

    name = "bird"
    title = "Bird (MessageBird)"
    content_types = frozenset({JSON})
    methods = frozenset({"GET", "POST"})
    required_credentials: tuple[str, ...] = ("signing_key",)
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    reports_segments = False

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check a fresh timestamp and the signature, Bird's (URL) or the legacy (query)."""
        key = account.credentials.get("signing_key") or ""
        if not key:
            raise AuthError("the account has no signing_key to check the signature with")
        signed_at = epoch_header(request, "MessageBird-Request-Timestamp")
        check_skew(signed_at, now, max_skew, "MessageBird-Request-Timestamp")
        given = (request.header(SIGNATURE_HEADER) or "").strip()
        if not given:
            raise AuthError("the MessageBird-Signature header is missing")
        timestamp = (request.header(TIMESTAMP_HEADER) or "").strip()
        try:
            legacy = partial(legacy_signature, key, timestamp, request.query, request.body)
            bird = partial(bird_signature, key, timestamp, request.url, request.body)
            # MessageBird reports by GET, Bird posts: the likelier form is computed first.
            for expected in (legacy, bird) if request.method == "GET" else (bird, legacy):
                if same_secret(given, expected()):
                    return
        except ParseError as ex:
            raise AuthError("the query cannot be read to check MessageBird-Signature") from ex
        raise AuthError("the MessageBird-Signature header does not match")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the legacy status report of a GET, or the SMS status of Bird's POST."""
        if request.method == "GET":
            data = dict(form_pairs(request.query.encode()))
            if "status" not in data and "originator" in data:
                require_fields(data, ("id", "originator"), "incoming message")
                return [Record("inbound", {**data, "format": "legacy"})]
            require_fields(data, ("id", "recipient", "status"), "status report")
            return [Record("status", {**data, "format": "legacy"})]
        doc = require_object(json_body(request), "the body")
        payload = doc.get("payload")
        event = str(doc.get("event") or "")
        if not isinstance(payload, dict) or not event.startswith("sms."):
            return []  # other services' events (contacts, payments…) share the URL
        if event == INBOUND_EVENT or payload.get("direction") == "incoming":
            sender = _object(payload.get("sender"))
            contact = _object(sender.get("contact"))
            require_fields(payload, ("id",), "payload")
            require_fields(contact, ("identifierValue",), "payload.sender.contact")
            return [Record("inbound", {**doc, "format": "bird"})]
        require_fields(payload, ("id", "status"), "payload")
        return [Record("status", {**doc, "format": "bird"})]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a legacy status report or a Bird SMS status to the event shape."""
        data = record.data
        if data.get("format") == "bird":
            if record.kind == "inbound":
                return self._bird_inbound(data, account)
            return self._bird(data, account)
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                message_id=text(data.get("id")),
                phone=e164(data.get("originator"), region=account.default_region,
                           international=True),
                text=str(data.get("body") or ""),
                reported_at=_time(data.get("createdDatetime"), account, "createdDatetime"),
                raw=data,
            )
        provider_status = str(data["status"]).strip().lower()
        status = LEGACY_STATUS.get(provider_status, "pending")
        failed = status in FAILED
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("id")),
            reference=text(data.get("reference")),
            phone=e164(data.get("recipient"), region=account.default_region,
                       international=True),
            provider_status=provider_status,
            error_code=text(data.get("statusErrorCode")) if failed else None,
            error_message=text(data.get("statusReason")) if failed else None,
            reported_at=_time(data.get("statusDatetime"), account, "statusDatetime"),
            raw=data,
        )

    @staticmethod
    def _bird_inbound(data: Mapping[str, Any], account: Account) -> Event:
        """Map Bird's ``sms.inbound`` (a message the number received) to the event shape."""
        payload: Mapping[str, Any] = data["payload"]
        contact = _object(_object(payload.get("sender")).get("contact"))
        body = _object(payload.get("body"))
        return Event(
            type=EventType.inbound,
            status="received",
            message_id=text(payload.get("id")),
            phone=e164(contact.get("identifierValue"), region=account.default_region),
            text=str(_object(body.get("text")).get("text") or ""),
            reported_at=_time(payload.get("createdAt"), account, "createdAt"),
            raw=data,
        )

    @staticmethod
    def _bird(data: Mapping[str, Any], account: Account) -> Event:
        payload: Mapping[str, Any] = data["payload"]
        provider_status = str(payload["status"]).strip().lower()
        status = BIRD_STATUS.get(provider_status, "pending")
        failed = status in FAILED
        failure = _object(payload.get("failure"))
        source = _object(failure.get("source"))
        receiver = payload.get("receiver")
        contacts = receiver.get("contacts") if isinstance(receiver, dict) else None
        first = contacts[0] if isinstance(contacts, list) and contacts and \
            isinstance(contacts[0], dict) else {}
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(payload.get("id")),
            reference=text(payload.get("reference")),
            phone=e164(first.get("identifierValue"), region=account.default_region),
            provider_status=provider_status,
            # The downstream source's code says the most; Bird's own code otherwise.
            error_code=(text(source.get("code")) or text(failure.get("code")))
            if failed else None,
            reported_at=_time(payload.get("updatedAt"), account, "updatedAt"),
            raw=data,
        )

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one legacy report (or incoming message) by GET, signed over its query.

        ``count`` is ignored: MessageBird reports one message per request.

        Raises ``ValueError`` when the account has no signing key.
        """
        key = account.credentials.get("signing_key")
        if not key:
            raise ValueError("a Bird account needs signing_key to sign with")
        fields: dict[str, str]
        if reports and kind == "status":
            fields = _planned(reports[0])
        elif kind == "inbound":
            fields = {"id": f"0b8c1f4e5d6a7b8c9d0e{seq:012x}", "recipient": "3197010260000",
                      "originator": f"3161234{seq % 10**4:04d}", "body": f"reply {seq}",
                      "createdDatetime": now.astimezone(UTC).isoformat()}
        else:
            failed = seq % 10 == 9
            fields = _planned(PlannedReport(
                message_id=f"eef0ab57a9e049be946f{seq:012x}",
                phone=f"+3161234{seq % 10**4:04d}",
                status="failed" if failed else "delivered", code="MK:0005" if failed else None,
                submitted_at=now, reported_at=now, reference=f"ref-{seq}"))
        query = urlencode(fields)
        timestamp = str(int(now.timestamp()))
        headers = {"MessageBird-Request-Timestamp": timestamp,
                   "MessageBird-Signature": legacy_signature(key, timestamp, query, b"")}
        return SimulatedCallback(b"", headers, "", 1, method="GET", query=query)


provider = Bird()
