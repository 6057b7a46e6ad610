"""Twilio Programmable Messaging: StatusCallback reports and incoming-message webhooks.

Sources: docs/providers/twilio.md (fields, the status enum, ``RawDlrDoneDate``, the
``X-Twilio-Signature`` algorithm and its JSON-body variant, connection overrides).
The sample ``twilio_signature_vector.txt`` holds Twilio's own published vector (its
helper libraries' request-validator tests).

Twilio signs every webhook with the account's Auth Token over the full URL it called
(query included) followed by the sorted POST parameters. It signs no timestamp, so a
replayed callback cannot be told from a retry: the dedupe of ingest makes it harmless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
    FORM,
    JSON,
    e164,
    form_pairs,
    json_body,
    local_strftime,
    local_time,
    require_fields,
    require_object,
    same_secret,
    text,
    text_answer,
    to_count,
)

SIGNATURE_HEADER = "x-twilio-signature"
IDEMPOTENCY_HEADER = "i-twilio-idempotency-token"
# Where extract() keeps the idempotency token in the record (Twilio sends it as a header).
IDEMPOTENCY_FIELD = "I-Twilio-Idempotency-Token"
BODY_HASH_PARAM = "bodySHA256"
# The carrier's done date: YYMMDDhhmm, minute precision, no zone (Twilio changelog, 2023).
DONE_DATE_FORMAT = "%y%m%d%H%M"
# An empty TwiML document: Twilio reads the answer to an incoming message as TwiML, and
# an empty <Response> makes it send no reply (a status callback's answer is ignored).
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
TWIML = "text/xml"

# MessageStatus → status (Twilio's MessageStatus enum, docs/providers/twilio.md).
STATUS = {
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
# accepted, scheduled, queued, sending, sent, receiving, received, partially_delivered
PENDING = "pending"
INBOUND_STATUSES = frozenset({"received", "receiving"})
# Twilio's own error codes (it passes no carrier code through); the unknown error first,
# which is what a failure without a known reason is sent as.
FAILURE_CODES = ("30008", "30001", "30002", "30003", "30004", "30005", "30006", "30007",
                 "30009", "30010", "30022", "30023", "30024", "30034", "21610")


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Return ``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL and the sorted params.

    As Twilio's helper libraries compute it: each name in sorted order, then each of its
    distinct values in sorted order, appended as name + value.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values)
                         for value in sorted(values[name]))
    # Twilio fixes SHA-1; usedforsecurity is not needed for HMAC.
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def body_hash(body: bytes) -> str:
    """Return the ``bodySHA256`` a JSON-bodied webhook's URL carries: hex sha256 of it."""
    return hashlib.sha256(body).hexdigest()


def _port_variants(url: str) -> list[str]:
    """Return ``url`` and the same URL with its default port added or removed.

    Twilio's validators accept either: a proxy may or may not show the port Twilio used.
    """
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or not parts.hostname:
        return [url]
    try:
        port = parts.port
    except ValueError:
        return [url]
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = parts.netloc[:-len(host)]
    bare = host.rsplit(":", 1)[0] if port is not None else host
    if port is None:
        other = f"{userinfo}{bare}:{default}"
    elif port == default:
        other = f"{userinfo}{bare}"
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=other))]


def _signed_params(request: CallbackRequest) -> list[tuple[str, str]]:
    """Return the POST parameters Twilio signed: every pair of a form body, else none."""
    if request.method != "POST" or request.content_type == JSON:
        return []
    try:
        return list(form_pairs(request.body))
    except ParseError as ex:
        raise AuthError("the body cannot be read to check X-Twilio-Signature") from ex


def _query_value(url: str, name: str) -> str | None:
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == name:
            return value
    return None


def _planned(report: PlannedReport, account: Account) -> dict[str, str]:
    """Render a planned report as a StatusCallback's form fields."""
    failed = report.status != "delivered"
    fields = {
        "SmsSid": report.message_id, "SmsStatus": "undelivered" if failed else "delivered",
        "MessageStatus": "undelivered" if failed else "delivered",
        "To": report.phone, "MessageSid": report.message_id,
        "AccountSid": "AC" + "0" * 32, "From": "+15017122661", "ApiVersion": "2010-04-01",
        "RawDlrDoneDate": local_strftime(report.reported_at, account.timezone,
                                         DONE_DATE_FORMAT),
    }
    if failed:
        fields["ErrorCode"] = report.code or FAILURE_CODES[0]
    return fields


class Twilio(Adapter):
    """Adapter for Twilio StatusCallback reports and incoming messages (MO)."""

    name = "twilio"
    title = "Twilio Programmable Messaging"
    content_types = frozenset({FORM, JSON})
    # Incoming-message webhooks may be set to GET; status callbacks are POSTed.
    methods = frozenset({"POST", "GET"})
    optional_credentials: tuple[str, ...] = ("auth_token",)
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES
    # Status callbacks do not say how many segments a message took.
    reports_segments = False

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check ``X-Twilio-Signature`` when the account holds its ``auth_token``.

        The URL is the one Twilio called (``DLRHUB_PUBLIC_URL`` + path + query); a JSON
        body is signed through the ``bodySHA256`` its URL carries.
        """
        auth_token = account.credentials.get("auth_token") or ""
        if not auth_token:
            return
        given = request.header(SIGNATURE_HEADER)
        if not given:
            raise AuthError("the X-Twilio-Signature header is missing")
        given = given.strip()
        if request.content_type == JSON:
            expected_hash = _query_value(request.url, BODY_HASH_PARAM)
            if expected_hash is None:
                raise AuthError("a JSON body's URL has no bodySHA256 to check it by")
            if not same_secret(expected_hash, body_hash(request.body), ignore_case=True):
                raise AuthError("the bodySHA256 of the URL is not the SHA-256 of the body")
        params = _signed_params(request)
        for url in _port_variants(request.url):
            if same_secret(given, signature(auth_token, url, params)):
                return
        raise AuthError("the X-Twilio-Signature header does not match")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the one status report or incoming message of the form (or query)."""
        data: dict[str, Any]
        if request.method == "GET":
            data = dict(form_pairs(request.query.encode()))
        elif request.content_type == JSON:
            data = require_object(json_body(request), "the body")
        else:
            data = dict(form_pairs(request.body))
        status = str(data.get("MessageStatus") or data.get("SmsStatus") or "").strip()
        kind: Literal["status", "inbound"]
        if "Body" in data and (not status or status.lower() in INBOUND_STATUSES):
            kind = "inbound"
            require_fields(data, ("MessageSid", "From"), "incoming message")
        elif status:
            kind = "status"
            require_fields(data, ("MessageSid",), "status callback")
        else:
            raise ParseError("the body is neither a status callback (MessageStatus) nor "
                             "an incoming message (Body)")
        token = request.header(IDEMPOTENCY_HEADER)
        if token:
            data = {**data, IDEMPOTENCY_FIELD: token}
        return [Record(kind, data)]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a status report or an incoming message to the event shape."""
        data = record.data
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                message_id=text(data.get("MessageSid")),
                phone=e164(data.get("From"), region=account.default_region),
                text=str(data.get("Body")),
                segments=to_count(data.get("NumSegments"), "NumSegments"),
                raw=data,
            )
        provider_status = (text(data.get("MessageStatus")) or text(data.get("SmsStatus"))
                           or "").lower()
        status = STATUS.get(provider_status, PENDING)
        failed = status == "failed"
        code = text(data.get("ErrorCode"))
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("MessageSid")),
            phone=e164(data.get("To"), region=account.default_region),
            provider_status=provider_status,
            error_code=code if failed and code != "0" else None,
            segments=to_count(data.get("NumSegments"), "NumSegments"),
            reported_at=local_time(data.get("RawDlrDoneDate"), DONE_DATE_FORMAT,
                                   account.timezone, "RawDlrDoneDate"),
            # No report_id from I-Twilio-Idempotency-Token: X-Twilio-Signature does not
            # cover headers, so anyone replaying a captured callback could pick a new
            # token and have it stored (and relayed) again; the content decides.
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer an empty TwiML ``<Response>``, or the HTTP status and why in plain text."""
        if ok:
            return Answer(status=200, body=EMPTY_TWIML, content_type=TWIML)
        return text_answer(status, reason or "error")

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one form callback, signed over ``account.callback_url`` with its token.

        ``count`` is ignored: Twilio sends one callback per message and status, so of
        ``reports`` only the first is sent.
        """
        fields: dict[str, Any]
        if reports and kind == "status":
            fields = _planned(reports[0], account)
        elif kind == "inbound":
            sid = f"SM{seq:032x}"
            fields = {"ToCountry": "US", "SmsMessageSid": sid, "NumMedia": "0",
                      "SmsSid": sid, "SmsStatus": "received", "Body": f"reply {seq}",
                      "To": "+15017122661", "NumSegments": "1", "MessageSid": sid,
                      "AccountSid": "AC" + "0" * 32, "From": f"+1415555{seq % 10**4:04d}",
                      "ApiVersion": "2010-04-01"}
        else:
            failed = seq % 10 == 9
            fields = _planned(PlannedReport(
                message_id=f"SM{seq:032x}", phone=f"+1415555{seq % 10**4:04d}",
                status="failed" if failed else "delivered", code="30003" if failed else None,
                submitted_at=now, reported_at=now), account)
        form = {k: str(v) for k, v in fields.items()}
        body = urlencode(form).encode()
        headers = {"User-Agent": "TwilioProxy/1.1",
                   "I-Twilio-Idempotency-Token": hashlib.sha256(body).hexdigest()[:36]}
        auth_token = account.credentials.get("auth_token")
        if auth_token:
            headers["X-Twilio-Signature"] = signature(auth_token, account.callback_url,
                                                      form.items())
        return SimulatedCallback(body, headers, FORM, 1)


provider = Twilio()
