"""Vonage (Nexmo) SMS API: delivery receipts and inbound messages, optionally signed.

Sources: docs/providers/vonage.md (the DLR's fields and statuses, the ``err-code`` table,
signed webhooks with ``sig``). The sample ``vonage_signature_vector.txt`` holds the
official SDK's ``md5hash`` vector.

Vonage posts by GET, form POST or JSON POST, as the account's dashboard says. Signed
webhooks (enabled by Vonage support) add ``timestamp``, ``nonce`` and ``sig`` to the
parameters; an account without ``signature_secret`` is checked by the callback token and
the allow-list alone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
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
    FORM,
    JSON,
    check_skew,
    e164,
    form_pairs,
    json_body,
    local_strftime,
    local_time,
    require_fields,
    require_object,
    same_secret,
    text,
    unix_time,
)

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
# scts: when the carrier reported, YYMMDDHHMM (minute precision, no zone).
SCTS_FORMAT = "%y%m%d%H%M"
DEFAULT_METHOD = "md5hash"
_HMACS: Mapping[str, Callable[..., Any]] = {
    "md5": hashlib.md5, "sha1": hashlib.sha1, "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
METHODS = (DEFAULT_METHOD, *_HMACS)

# status → status (Vonage's DLR statuses; `undelivered` is the older `failed`).
STATUS = {
    "delivered": "delivered",
    "accepted": "pending",
    "buffered": "pending",
    "expired": "expired",
    "failed": "failed",
    "undelivered": "failed",
    "rejected": "rejected",
    "unknown": "unknown",
}
FAILED = frozenset({"failed", "expired", "rejected", "unknown"})
# Vonage's err-code table (it passes no carrier code); 99, "general error", first.
FAILURE_CODES = ("99", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
                 "14", "15")


def signature(params: Mapping[str, Any], secret: str, method: str = DEFAULT_METHOD) -> str:
    """Return Vonage's ``sig`` of ``params`` (``sig`` itself left out), in lower-case hex.

    Each parameter in sorted order as ``&name=value``, ``&`` and ``=`` inside a value
    replaced by ``_``; ``md5hash`` is md5 of that string and the secret, the others are
    an HMAC of it keyed with the secret.
    """
    data = "".join(
        f"&{name}=" + str(params[name]).replace("&", "_").replace("=", "_")
        for name in sorted(params) if name != "sig")
    if method == DEFAULT_METHOD:
        return hashlib.md5((data + secret).encode(), usedforsecurity=False).hexdigest()
    return hmac.new(secret.encode(), data.encode(), _HMACS[method]).hexdigest()


def _params(request: CallbackRequest) -> dict[str, Any]:
    """Return a callback's parameters: its query (GET), its JSON object or its form."""
    if request.method == "GET":
        return dict(form_pairs(request.query.encode()))
    if request.content_type == JSON or request.body.lstrip()[:1] == b"{":
        return require_object(json_body(request), "the body")
    return dict(form_pairs(request.body))


def _method(account: Account) -> str:
    method = (account.credentials.get("signature_method") or DEFAULT_METHOD).strip().lower()
    if method not in METHODS:
        raise AuthError(f"the account's signature_method must be one of {', '.join(METHODS)}")
    return method


def _planned(report: PlannedReport, account: Account) -> dict[str, str]:
    failed = report.status != "delivered"
    fields = {
        "msisdn": report.phone.lstrip("+"), "to": "Vonage APIs",
        "network-code": "46000", "messageId": report.message_id, "price": "0.03330000",
        "status": {"expired": "expired", "rejected": "rejected"}.get(report.status, "failed")
        if failed else "delivered",
        "scts": local_strftime(report.reported_at, account.timezone, SCTS_FORMAT),
        "err-code": (report.code or FAILURE_CODES[0]) if failed else "0",
        "api-key": "abcd1234",
        "message-timestamp": local_strftime(report.reported_at, account.timezone,
                                            TIMESTAMP_FORMAT),
    }
    if report.reference:
        fields["client-ref"] = report.reference
    return fields


class Vonage(Adapter):
    """Adapter for Vonage SMS API delivery receipts and inbound SMS (MO)."""

    name = "vonage"
    title = "Vonage SMS API"
    content_types = frozenset({FORM, JSON})
    methods = frozenset({"POST", "GET"})
    optional_credentials: tuple[str, ...] = ("signature_secret", "signature_method")
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES
    # Vonage reports each part of a long SMS under a message id of its own.
    reports_segments = False

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check ``sig`` and a fresh ``timestamp`` when the account has its secret."""
        secret = account.credentials.get("signature_secret") or ""
        if not secret:
            if account.credentials.get("signature_method"):
                raise AuthError("the account has a signature_method but no signature_secret")
            return
        method = _method(account)
        try:
            params = _params(request)
        except ParseError as ex:
            raise AuthError("the callback cannot be read to check its sig") from ex
        given = text(params.get("sig"))
        if given is None:
            raise AuthError("the callback has no sig")
        stamp = text(params.get("timestamp"))
        if stamp is None or not (stamp.isascii() and stamp.isdigit()):
            raise AuthError("the callback's timestamp is missing or not a Unix time")
        try:
            signed_at = unix_time(stamp, "timestamp")
        except ParseError as ex:
            raise AuthError("the callback's timestamp is not a Unix time") from ex
        if signed_at is None:
            raise AuthError("the callback's timestamp is missing")
        check_skew(signed_at, now, max_skew, "timestamp")
        if not same_secret(given, signature(params, secret, method), ignore_case=True):
            raise AuthError("the callback's sig does not match")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the one delivery receipt (``status``) or inbound message (``text``)."""
        data = _params(request)
        kind: Literal["status", "inbound"]
        if "status" in data:
            kind = "status"
            require_fields(data, ("messageId", "status"), "delivery receipt")
        elif "text" in data or data.get("type") in ("text", "unicode", "binary"):
            kind = "inbound"
            require_fields(data, ("messageId", "msisdn"), "inbound message")
        else:
            raise ParseError("the callback is neither a delivery receipt (status) nor an "
                             "inbound message (text)")
        return [Record(kind, data)]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a delivery receipt or an inbound message to the event shape."""
        data = record.data
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                message_id=text(data.get("messageId")),
                phone=e164(data.get("msisdn"), region=account.default_region,
                           international=True),
                text=str(data.get("text") or ""),
                reported_at=local_time(data.get("message-timestamp"), TIMESTAMP_FORMAT,
                                       account.timezone, "message-timestamp"),
                raw=data,
            )
        provider_status = str(data["status"]).strip().lower()
        status = STATUS.get(provider_status, "unknown")
        code = text(data.get("err-code"))
        failed = status in FAILED
        reported = local_time(data.get("scts"), SCTS_FORMAT, account.timezone, "scts") \
            if text(data.get("scts")) else local_time(
                data.get("message-timestamp"), TIMESTAMP_FORMAT, account.timezone,
                "message-timestamp")
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("messageId")),
            reference=text(data.get("client-ref")),
            # msisdn: the recipient, international without "+".
            phone=e164(data.get("msisdn"), region=account.default_region, international=True),
            provider_status=provider_status,
            error_code=code if failed and code not in (None, "0") else None,
            price=text(data.get("price")),
            reported_at=reported,
            raw=data,
        )

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one JSON receipt (or inbound SMS), signed when the account has a secret.

        ``count`` is ignored: Vonage sends one receipt per message (and part), so of
        ``reports`` only the first is sent.
        """
        fields: dict[str, str]
        if reports and kind == "status":
            fields = _planned(reports[0], account)
        elif kind == "inbound":
            fields = {"msisdn": f"44770090{seq % 10**4:04d}", "to": "447700900000",
                      "messageId": f"{0x0A0000000000000 + seq:016X}", "text": f"reply {seq}",
                      "type": "text", "keyword": "REPLY",
                      "message-timestamp": local_strftime(now, account.timezone,
                                                          TIMESTAMP_FORMAT)}
        else:
            failed = seq % 10 == 9
            fields = _planned(PlannedReport(
                message_id=f"{0x0B0000000000000 + seq:016X}",
                phone=f"+44770090{seq % 10**4:04d}",
                status="failed" if failed else "delivered", code="2" if failed else None,
                submitted_at=now, reported_at=now), account)
        secret = account.credentials.get("signature_secret")
        if secret:
            method = (account.credentials.get("signature_method") or DEFAULT_METHOD).lower()
            if method not in METHODS:
                raise ValueError(f"signature_method must be one of {', '.join(METHODS)}")
            fields["timestamp"] = str(int(now.astimezone(UTC).timestamp()))
            fields["nonce"] = f"{seq:08x}-sim"
            fields["sig"] = signature(fields, secret, method)
        return SimulatedCallback(orjson.dumps(fields), {}, JSON, 1)


provider = Vonage()
