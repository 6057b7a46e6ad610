"""Plivo messaging: message status callbacks and incoming messages.

Sources: docs/providers/plivo.md (fields, statuses, error codes, ``X-Plivo-Signature-V3``
as Plivo's official Python library computes it, and V2). ``plivo_v3_algorithm.txt`` is
that algorithm in words; ``wave2-vectors.out`` holds Plivo's own V2 vectors and one V3
vector of ours computed with it (Plivo publishes none for V3).

Plivo signs the URL it calls and, for a POST, every form parameter, with a random nonce
and no timestamp: a replay cannot be told from a retry, and ingest's dedupe makes it
harmless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from dlrhub.core.vocabulary import EventType
from dlrhub.providers.base import (
    Account,
    Adapter,
    Answer,
    AuthError,
    CallbackRequest,
    Event,
    Option,
    ParseError,
    PlannedReport,
    Record,
    SimulatedCallback,
)
from dlrhub.providers.common import (
    FORM,
    as_utc,
    e164,
    form_pairs,
    require_fields,
    same_secret,
    text,
    text_answer,
    to_count,
)

V3_HEADER = "x-plivo-signature-v3"
V3_NONCE = "x-plivo-signature-v3-nonce"
V2_HEADER = "x-plivo-signature-v2"
# The option that lets a callback signed with V2 alone in (see Plivo.options).
SIGNATURE_V2 = "signature_v2"
V2_NONCE = "x-plivo-signature-v2-nonce"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# An empty Plivo XML document: the answer to an incoming message is read as Plivo XML,
# and an empty <Response> sends no reply (a status callback's answer is ignored).
EMPTY_XML = b"<Response></Response>"
XML = "application/xml"

# Status → status (docs/providers/plivo.md). `rejected` is in older docs only.
STATUS = {
    "queued": "pending",
    "sent": "pending",
    "delivered": "delivered",
    "read": "delivered",
    "failed": "failed",
    "undelivered": "failed",
    "rejected": "rejected",
}
FAILED = frozenset({"failed", "rejected", "expired"})
# Plivo's own error codes (it passes no carrier code); 1000, "unknown error", first.
FAILURE_CODES = ("1000", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100", "110",
                 "200", "300", "420")


def _base_url(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return (f"{parts.scheme}://{parts.netloc}{parts.path}",
            parse_qs(parts.query, keep_blank_values=True))


def _sorted_query(query: Mapping[str, list[str]]) -> str:
    return "&".join(f"{key}={value}" for key in sorted(query) for value in sorted(query[key]))


def v3_base(method: str, url: str, params: Mapping[str, str]) -> str:
    """Return the string V3 signs before its nonce, as Plivo's Python library builds it.

    POST: the URL without its query, ``?``, the sorted query as ``k=v&…`` and a ``.`` if
    it had one, then every form parameter sorted as name + value. GET: the URL without
    its query, then ``?`` and its (and the params') pairs sorted as ``k=v&…``.
    """
    base, query = _base_url(url)
    if method.upper() == "GET":
        merged = {key: list(values) for key, values in query.items()}
        for key, value in params.items():
            merged.setdefault(key, []).append(value)
        pairs = _sorted_query(merged)
        return f"{base}?{pairs}" if pairs else base
    pairs = _sorted_query(query)
    if params:
        return (f"{base}?{pairs}" + ("." if pairs else "")
                + "".join(key + params[key] for key in sorted(params)))
    return f"{base}?{pairs}" if pairs else base


def v3_signature(auth_token: str, method: str, url: str, params: Mapping[str, str],
                 nonce: str) -> str:
    """Return ``X-Plivo-Signature-V3``: base64 HMAC-SHA256 of the base, ``.``, the nonce."""
    payload = f"{v3_base(method, url, params)}.{nonce}"
    return base64.b64encode(hmac.new(auth_token.encode(), payload.encode(),
                                     hashlib.sha256).digest()).decode()


def v2_signature(auth_token: str, url: str, nonce: str) -> str:
    """Return ``X-Plivo-Signature-V2``: base64 HMAC-SHA256 of the URL (no query) + nonce."""
    base, _query = _base_url(url)
    return base64.b64encode(hmac.new(auth_token.encode(), (base + nonce).encode(),
                                     hashlib.sha256).digest()).decode()


def _auth_token(account: Account) -> str:
    token = account.credentials.get("auth_token") or ""
    if not token:
        raise AuthError("the account has no auth_token to check X-Plivo-Signature with")
    return token


def _fields(request: CallbackRequest) -> dict[str, str]:
    return dict(form_pairs(request.query.encode() if request.method == "GET"
                           else request.body))


def _time(value: Any, account: Account, field: str) -> datetime | None:
    """Read a Plivo time (``YYYY-mm-dd HH:MM:SS[.ffffff][+00:00]``); UTC when zone-less."""
    raw = text(value)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not a time of the form {TIME_FORMAT}: "
                         f"{raw!r}") from ex
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=account.timezone)
    return as_utc(moment, field, raw)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def _planned(report: PlannedReport, seq: int) -> dict[str, str]:
    failed = report.status != "delivered"
    return {
        "MessageUUID": report.message_id, "ParentMessageUUID": report.message_id,
        "From": "14155550000", "To": report.phone.lstrip("+"), "Type": "sms",
        "Status": ("rejected" if report.status == "rejected" else "undelivered")
        if failed else "delivered",
        "ErrorCode": (report.code or FAILURE_CODES[0]) if failed else "",
        "Units": str(report.segments), "TotalRate": "0.00500", "TotalAmount": "0.00500",
        "MCC": "460", "MNC": "00", "PartInfo": "", "Sequence": str(seq),
        "MessageTime": _stamp(report.submitted_at), "QueuedTime": _stamp(report.submitted_at),
        "SentTime": _stamp(report.submitted_at),
        "DeliveryReportTime": _stamp(report.reported_at),
    }


def _sequence(value: Any) -> int | None:
    """Return Plivo's ``Sequence`` (its count of a message's callbacks), if it is one.

    It orders the message's reports (services/message_state.py); a value that is not a
    count from 0 to 2**63 - 1 is left in ``raw`` and the report orders by time instead.
    """
    found = text(value)
    if found is None or not (found.isascii() and found.isdigit()) or len(found) > 18:
        return None
    return int(found)


class Plivo(Adapter):
    """Adapter for Plivo message status callbacks and incoming messages (MO)."""

    name = "plivo"
    title = "Plivo Messaging"
    content_types = frozenset({FORM})
    methods = frozenset({"POST", "GET"})
    required_credentials: tuple[str, ...] = ("auth_token",)
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES
    options: Mapping[str, Option] = {
        SIGNATURE_V2: Option(
            default="refuse", choices=("refuse", "accept"),
            help="A callback signed with X-Plivo-Signature-V2 alone: V2 signs the URL and a "
                 "nonce but not the body, so anyone holding one signed request could send "
                 "any body; Plivo signs with V3 as well, which dlrhub checks. Accept only "
                 "for an integration that sends V2 alone."),
    }

    def failure_status(self, code: str) -> str:
        """Return the status of a failure report with ``code``: Plivo says undelivered."""
        return "failed"

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check ``X-Plivo-Signature-V3`` (any of its comma-separated values), else V2."""
        auth_token = _auth_token(account)
        given_v3 = request.header(V3_HEADER)
        if given_v3 is not None:
            nonce = (request.header(V3_NONCE) or "").strip()
            if not nonce:
                raise AuthError("the X-Plivo-Signature-V3-Nonce header is missing")
            params = {} if request.method == "GET" else _form_or_refuse(request)
            expected = v3_signature(auth_token, request.method, request.url, params, nonce)
            if any(same_secret(given.strip(), expected) for given in given_v3.split(",")):
                return
            raise AuthError("the X-Plivo-Signature-V3 header does not match")
        given_v2 = request.header(V2_HEADER)
        if given_v2 is None:
            raise AuthError("the X-Plivo-Signature-V3 header is missing")
        if account.options.get(SIGNATURE_V2, "refuse") != "accept":
            # V2 signs the URL and a nonce, not the body: a captured V2 signature would
            # pass any body. Plivo sends V3 beside it; a request without V3 is refused.
            raise AuthError("only X-Plivo-Signature-V2 was sent, which does not sign the "
                            "body; the account accepts it only with option "
                            "signature_v2=accept")
        nonce = (request.header(V2_NONCE) or "").strip()
        if not nonce:
            raise AuthError("the X-Plivo-Signature-V2-Nonce header is missing")
        if not same_secret(given_v2.strip(), v2_signature(auth_token, request.url, nonce)):
            raise AuthError("the X-Plivo-Signature-V2 header does not match")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the one status callback (``Status``) or incoming message (``Text``)."""
        data = _fields(request)
        kind: Literal["status", "inbound"]
        if "Status" in data:
            kind = "status"
            require_fields(data, ("MessageUUID", "Status"), "status callback")
        elif "Text" in data:
            kind = "inbound"
            require_fields(data, ("MessageUUID", "From"), "incoming message")
        else:
            raise ParseError("the body is neither a status callback (Status) nor an "
                             "incoming message (Text)")
        return [Record(kind, data)]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a status callback or an incoming message to the event shape."""
        data = record.data
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                message_id=text(data.get("MessageUUID")),
                phone=e164(data.get("From"), region=account.default_region,
                           international=True),
                text=str(data.get("Text")),
                segments=to_count(data.get("Units"), "Units"),
                raw=data,
            )
        provider_status = str(data["Status"]).strip().lower()
        status = STATUS.get(provider_status, "pending")
        failed = status in FAILED
        code = text(data.get("ErrorCode"))
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("MessageUUID")),
            # Plivo writes numbers with their country code but without the "+".
            phone=e164(data.get("To"), region=account.default_region, international=True),
            provider_status=provider_status,
            error_code=code if failed and code not in ("0", "000") else None,
            segments=to_count(data.get("Units"), "Units"),
            submitted_at=_time(data.get("SentTime") or data.get("QueuedTime"), account,
                               "SentTime"),
            reported_at=_time(data.get("DeliveryReportTime"), account, "DeliveryReportTime"),
            sequence=_sequence(data.get("Sequence")),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer an empty ``<Response>``, or the HTTP status and why in plain text."""
        if ok:
            return Answer(status=200, body=EMPTY_XML, content_type=XML)
        return text_answer(status, reason or "error")

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one form callback signed (V3 and V2) over ``account.callback_url``.

        ``count`` is ignored: Plivo calls back once per message and status, so of
        ``reports`` only the first is sent. Raises ``ValueError`` without ``auth_token``.
        """
        auth_token = account.credentials.get("auth_token")
        if not auth_token:
            raise ValueError("a Plivo account needs auth_token to sign with")
        fields: dict[str, str]
        if reports and kind == "status":
            fields = _planned(reports[0], seq)
        elif kind == "inbound":
            fields = {"From": f"1415555{seq % 10**4:04d}", "To": "14155550000",
                      "Text": f"reply {seq}", "Type": "sms", "Units": "1",
                      "MessageUUID": f"3a2c1f00-0000-4000-8000-{seq:012x}",
                      "TotalRate": "0", "TotalAmount": "0"}
        else:
            failed = seq % 10 == 9
            fields = _planned(PlannedReport(
                message_id=f"db3ce55a-7f1d-11e1-8ea7-{seq:012x}",
                phone=f"+1415555{seq % 10**4:04d}",
                status="failed" if failed else "delivered", code="80" if failed else None,
                submitted_at=now, reported_at=now), seq)
        body = urlencode(fields).encode()
        nonce = f"{int(now.timestamp() * 1000) % 10**13:013d}{seq % 10**7:07d}"
        headers = {
            "X-Plivo-Signature-V3": v3_signature(auth_token, "POST", account.callback_url,
                                                 fields, nonce),
            "X-Plivo-Signature-V3-Nonce": nonce,
            "X-Plivo-Signature-V2": v2_signature(auth_token, account.callback_url, nonce),
            "X-Plivo-Signature-V2-Nonce": nonce,
        }
        return SimulatedCallback(body, headers, FORM, 1)


def _form_or_refuse(request: CallbackRequest) -> dict[str, str]:
    try:
        return dict(form_pairs(request.body))
    except ParseError as ex:
        raise AuthError("the body cannot be read to check X-Plivo-Signature-V3") from ex


provider = Plivo()
