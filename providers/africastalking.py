"""Africa's Talking SMS: delivery reports and incoming messages, POSTed as forms.

A delivery report carries ``id`` (the message id the send answered with), ``status``,
``phoneNumber``, ``networkCode``, ``retryCount`` and, on a Rejected or Failed report
where the carrier says why, ``failureReason``. An incoming message carries ``id``,
``from``, ``to``, ``text``, ``date``, ``linkId`` and ``networkCode``. Africa's Talking
does not sign: the secret token of the URL and the IP allow-list are the checks.

Sources: https://developers.africastalking.com/docs/sms/notifications (delivery
reports and incoming messages); https://help.africastalking.com/en/articles/742491
(failure reasons). The form media type is a GUESS the fields make likely.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode

from dlrhub.core.vocabulary import EventType
from dlrhub.providers.base import (
    Account,
    Adapter,
    Answer,
    CallbackRequest,
    Event,
    ParseError,
    PlannedReport,
    Record,
    SimulatedCallback,
)
from dlrhub.providers.common import FORM, JSON, e164, form_body, json_body, text, text_answer

# status → dlrhub status (Africa's Talking, SMS notifications: delivery reports).
STATUS = {
    "sent": "pending",
    "submitted": "pending",
    "buffered": "pending",
    "success": "delivered",
    "rejected": "rejected",
    "failed": "failed",
}
# failureReason values; the catch-all first (what a failure without a reason is sent as).
FAILURE_CODES = ("DeliveryFailure", "InsufficientCredit", "InvalidLinkId", "UserIsInactive",
                 "UserInBlackList", "UserAccountSuspended", "AbsentSubscriber")
_FAILURES = frozenset({"rejected", "failed"})


def _fields(request: CallbackRequest) -> dict[str, str]:
    if request.content_type == JSON:
        doc = json_body(request)
        if not isinstance(doc, dict):
            raise ParseError("the body is not a JSON object")
        return {str(k): "" if v is None else str(v) for k, v in doc.items()}
    return form_body(request)


class AfricasTalking(Adapter):
    """Adapter for Africa's Talking delivery reports and incoming messages."""

    name = "africastalking"
    title = "Africa's Talking SMS"
    content_types = frozenset({FORM, JSON})
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES
    reports_segments = False

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the delivery report (``status``) or incoming message (``from``, ``text``)."""
        data = _fields(request)
        if text(data.get("status")):
            if not text(data.get("id")):
                raise ParseError("the delivery report has no id")
            return [Record("status", data)]
        if text(data.get("from")) and "text" in data:
            return [Record("inbound", data)]
        raise ParseError("the call is neither a delivery report (id, status) nor an "
                         "incoming message (from, text)")

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a delivery report or an incoming message to the event shape."""
        data = dict(record.data)
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received",
                         message_id=text(data.get("id")),
                         phone=e164(data.get("from"), region=account.default_region),
                         text=str(data.get("text") or ""), raw=data)
        provider_status = str(data["status"]).strip()
        status = STATUS.get(provider_status.lower(), "unknown")
        reason = text(data.get("failureReason"))
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("id")),
            phone=e164(data.get("phoneNumber"), region=account.default_region),
            provider_status=provider_status,
            error_code=reason if status in _FAILURES else None,
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``OK``; Africa's Talking reads only the HTTP status."""
        if ok:
            return text_answer(200, "OK")
        return text_answer(status, reason or "error")

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one delivery report (or incoming message) as a form POST."""
        fields: dict[str, str]
        if kind == "inbound":
            fields = {"date": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                      "from": f"+2547{seq % 10**8:08d}", "id": f"ATXid_{seq:032x}",
                      "linkId": f"link-{seq}", "text": f"reply {seq}", "to": "40404",
                      "networkCode": "63902"}
        else:
            report = reports[0] if reports else PlannedReport(
                message_id=f"ATXid_{seq:032x}", phone=f"+2547{seq % 10**8:08d}",
                status="failed" if seq % 10 == 9 else "delivered",
                code="AbsentSubscriber" if seq % 10 == 9 else None, submitted_at=now,
                reported_at=now)
            failed = report.status != "delivered"
            fields = {"id": report.message_id,
                      "status": report.status.capitalize() if failed else "Success",
                      "phoneNumber": report.phone, "networkCode": "63902",
                      "retryCount": "0"}
            if failed:
                fields["failureReason"] = report.code or FAILURE_CODES[0]
        return SimulatedCallback(urlencode(fields).encode(), {}, FORM, 1)


provider = AfricasTalking()
