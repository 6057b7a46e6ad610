"""Infobip SMS: delivery reports and incoming messages, POSTed as ``{"results": [...]}``.

A delivery report carries ``messageId``, ``to``, ``sentAt``, ``doneAt``, ``smsCount``,
``price``, a ``status`` (``groupId``/``groupName``, ``id``/``name``) and an ``error``
(``groupId``, ``id``, ``name`` such as ``EC_ABSENT_SUBSCRIBER``, ``permanent``); up to
100 reports come in one request. An incoming message carries ``messageId``, ``from``,
``to``, ``text`` and ``receivedAt``.

Status groups (Infobip's message-status-codes page): 1 PENDING, 2 UNDELIVERABLE,
3 DELIVERED, 4 EXPIRED, 5 REJECTED. ``DELIVERED_TO_OPERATOR`` is in the DELIVERED group
but not final: only ``DELIVERED_TO_HANDSET`` is read as delivered.

Infobip's callback authentication and retry schedule are not public. GUESS: a
subscription may send Basic credentials; when the account holds ``username`` and
``password`` they are checked against the ``Authorization`` header, otherwise the
secret token of the URL and the IP allow-list are the checks.

Sources: https://www.infobip.com/docs/api/channels/sms/sms-messaging/logs-and-status-reports/receive-outbound-sms-message-report,
https://www.infobip.com/docs/essentials/api-essentials/response-status-and-error-codes.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

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
    e164,
    json_answer,
    json_body,
    require_object,
    same_secret,
    text,
    to_count,
)

# status.groupName → status (Infobip message-status-codes page).
GROUPS = {
    "PENDING": "pending",
    "UNDELIVERABLE": "failed",
    "DELIVERED": "delivered",
    "EXPIRED": "expired",
    "REJECTED": "rejected",
}
# The only DELIVERED status that is final; DELIVERED_TO_OPERATOR is intermediate.
TO_HANDSET = "DELIVERED_TO_HANDSET"
# Infobip's error names of the GSM MAP errors (its error-code reference, group 1
# "Handset errors"); the first is what a failure without a known reason is simulated with.
FAILURE_CODES = ("EC_SM_DELIVERY_FAILURE", "EC_UNKNOWN_SUBSCRIBER",
                 "EC_UNIDENTIFIED_SUBSCRIBER", "EC_ABSENT_SUBSCRIBER_SM",
                 "EC_UNKNOWN_EQUIPMENT", "EC_ROAMING_NOT_ALLOWED", "EC_ILLEGAL_SUBSCRIBER",
                 "EC_TELESERVICE_NOT_PROVISIONED", "EC_CALL_BARRED", "EC_ABSENT_SUBSCRIBER",
                 "EC_SUBSCRIBER_BUSY_FOR_MT_SMS", "EC_MESSAGE_WAITING_LIST_FULL",
                 "EC_SYSTEM_FAILURE", "EC_DATA_MISSING", "EC_UNEXPECTED_DATA_VALUE")
_NO_ERROR = frozenset({"NO_ERROR", "0"})


def _time(value: Any, field: str) -> datetime | None:
    """Read Infobip's ``2019-11-09T16:00:00.000+0000`` (or any ISO 8601 with a zone)."""
    raw = text(value)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not an ISO 8601 time: {raw!r}") from ex
    if moment.tzinfo is None:
        raise ParseError(f"field '{field}' has no zone: {raw!r}")
    return as_utc(moment, field, raw)


def status_of(group: str, name: str) -> str:
    """Return the status of a report's ``status.groupName`` and ``status.name``."""
    status = GROUPS.get(group.upper(), "unknown")
    if status == "delivered" and name.upper() != TO_HANDSET:
        return "pending"
    return status


def basic_authorization(username: str, password: str) -> str:
    """Return the ``Authorization`` header value of Basic credentials."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _rendered(report: PlannedReport, seq: int) -> dict[str, Any]:
    failed = report.status != "delivered"
    code = report.code or FAILURE_CODES[0]
    status = ({"groupId": 2, "groupName": "UNDELIVERABLE", "id": 9,
               "name": "UNDELIVERABLE_NOT_DELIVERED",
               "description": "Message sent not delivered"} if failed else
              {"groupId": 3, "groupName": "DELIVERED", "id": 5, "name": TO_HANDSET,
               "description": "Message delivered to handset"})
    error = ({"groupId": 1, "groupName": "HANDSET_ERRORS", "id": 27, "name": code,
              "description": code, "permanent": False} if failed else
             {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR",
              "description": "No Error", "permanent": False})
    return {"bulkId": f"bulk-{seq}", "messageId": report.message_id,
            "to": report.phone.lstrip("+"),
            "sentAt": _stamp(report.submitted_at), "doneAt": _stamp(report.reported_at),
            "smsCount": report.segments, "mccMnc": "22801",
            "price": {"pricePerMessage": 0.01, "currency": "EUR"},
            "status": status, "error": error}


class Infobip(Adapter):
    """Adapter for Infobip's SMS delivery reports and incoming messages."""

    name = "infobip"
    title = "Infobip SMS"
    content_types = frozenset({JSON})
    optional_credentials: tuple[str, ...] = ("username", "password")
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 100
    failure_codes: tuple[str, ...] | None = FAILURE_CODES

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check Basic credentials when the account holds ``username`` and ``password``."""
        username = account.credentials.get("username") or ""
        password = account.credentials.get("password") or ""
        if not username and not password:
            return
        if not same_secret(request.header("authorization"),
                           basic_authorization(username, password)):
            raise AuthError("the Authorization header does not carry the account's "
                            "username and password")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return each report (a ``status``) or incoming message (``text``) of ``results``."""
        doc = require_object(json_body(request), "the body")
        results = doc.get("results")
        if not isinstance(results, list):
            raise ParseError("the body has no 'results' array")
        records: list[Record] = []
        for at, item in enumerate(results):
            data = require_object(item, f"results[{at}]")
            if not text(data.get("messageId")):
                raise ParseError(f"results[{at}] has no messageId")
            if isinstance(data.get("status"), dict):
                status = data["status"]
                if not text(status.get("groupName")):
                    raise ParseError(f"results[{at}].status has no groupName")
                records.append(Record("status", data))
            elif "text" in data and text(data.get("from")):
                records.append(Record("inbound", data))
            else:
                raise ParseError(f"results[{at}] is neither a delivery report (status) nor "
                                 "an incoming message (from, text)")
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a delivery report or an incoming message to the event shape."""
        data = record.data
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received",
                         message_id=text(data.get("messageId")),
                         phone=e164(data.get("from"), region=account.default_region,
                                    international=True),
                         text=str(data.get("text") or ""),
                         segments=to_count(data.get("smsCount"), "smsCount"),
                         reported_at=_time(data.get("receivedAt"), "receivedAt"), raw=data)
        status_doc = data["status"]
        name = text(status_doc.get("name")) or ""
        status = status_of(str(status_doc.get("groupName")), name)
        found = data.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else {}
        code = text(error.get("name"))
        if code is None and text(error.get("id")) not in (None, "0"):
            code = text(error.get("id"))
        failed = status in ("failed", "rejected", "expired", "unknown")
        cost = data.get("price")
        price: dict[str, Any] = cost if isinstance(cost, dict) else {}
        amount = text(price.get("pricePerMessage"))
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("messageId")),
            reference=text(data.get("bulkId")),
            phone=e164(data.get("to"), region=account.default_region, international=True),
            provider_status=name or None,
            error_code=code if failed and code and code.upper() not in _NO_ERROR else None,
            error_message=text(error.get("description")) if failed else None,
            segments=to_count(data.get("smsCount", data.get("messageCount")), "smsCount"),
            price=f"{amount} {text(price.get('currency')) or ''}".strip() if amount else None,
            submitted_at=_time(data.get("sentAt"), "sentAt"),
            reported_at=_time(data.get("doneAt"), "doneAt"),
            raw=data,
        )

    def retryable(self, raw: Mapping[str, Any]) -> bool | None:
        """Return the opposite of the report's ``error.permanent``, Infobip's own flag.

        A report without an error, with the no-error group (0), or whose flag is not a
        boolean says nothing: the reason class decides.
        """
        error = raw.get("error")
        if not isinstance(error, dict) or str(error.get("groupId")) == "0":
            return None
        permanent = error.get("permanent")
        return (not permanent) if isinstance(permanent, bool) else None

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``{"status":"ok"}``; Infobip reads only the HTTP status (any 2xx)."""
        if ok:
            return json_answer(200, {"status": "ok"})
        return json_answer(status, {"status": "error", "reason": reason or "error"})

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one ``{"results": [...]}`` POST of ``count`` reports (or messages)."""
        results: list[dict[str, Any]]
        if kind == "inbound":
            results = [{"messageId": f"mo-{seq}-{i}", "from": f"4179{(seq + i) % 10**7:07d}",
                        "to": "41793026834", "text": f"reply {seq}", "cleanText": f"reply {seq}",
                        "keyword": "", "receivedAt": _stamp(now),
                        "smsCount": 1, "price": {"pricePerMessage": 0, "currency": "EUR"},
                        "callbackData": ""} for i in range(count)]
            doc: dict[str, Any] = {"results": results, "messageCount": count,
                                   "pendingMessageCount": 0}
        else:
            planned = list(reports) if reports else [PlannedReport(
                message_id=f"sim-{seq}-{i}", phone=f"+4179{(seq + i) % 10**7:07d}",
                status="failed" if (seq + i) % 10 == 9 else "delivered",
                code="EC_ABSENT_SUBSCRIBER" if (seq + i) % 10 == 9 else None,
                submitted_at=now, reported_at=now) for i in range(count)]
            doc = {"results": [_rendered(r, seq) for r in planned]}
        headers: dict[str, str] = {}
        username = account.credentials.get("username") or ""
        password = account.credentials.get("password") or ""
        if username or password:
            headers["Authorization"] = basic_authorization(username, password)
        return SimulatedCallback(orjson.dumps(doc), headers, JSON, len(doc["results"]))


provider = Infobip()
