"""Sinch SMS REST API: delivery reports and inbound messages, POSTed as JSON.

Three callback types matter here:

- ``recipient_delivery_report_sms`` (per recipient, and ``per_recipient_final``): one
  recipient's ``status``, ``code``, ``at``, ``number_of_message_parts``, ``operator``;
- ``delivery_report_sms`` (per batch, ``summary`` or ``full``): ``statuses[]`` each with a
  ``status``, ``code``, ``count`` and, in a full report, its ``recipients``;
- ``mo_text``: an inbound message (``from``, ``to``, ``body``, ``received_at``).

Other inbound types (``mo_binary``, ``mo_media``) are acknowledged and kept in the inbox
without a receipt. Sinch retries a 5xx or 429 answer with a back-off from 5 s doubling
up to 81,920 s; another 4xx is not retried.

Sinch authenticates callbacks by Basic, OAuth 2.0, mTLS or (since 2025-02) an HMAC
configured per service plan, all set up by its account managers. The HMAC's header and
algorithm are not public, so dlrhub verifies none of them: the secret token of the URL
and the IP allow-list are the checks.

Sources: https://developers.sinch.com/docs/sms/api-reference/sms/tag/Webhooks/,
https://developers.sinch.com/docs/sms/api-reference/sms/tag/Delivery-reports/,
https://developers.sinch.com/docs/sms/release-notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

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
from dlrhub.providers.common import (
    JSON,
    as_utc,
    e164,
    json_answer,
    json_body,
    require_object,
    text,
    to_count,
)

RECIPIENT = "recipient_delivery_report_sms"
BATCH = "delivery_report_sms"
MO_TEXT = "mo_text"
# status → dlrhub status (Sinch "Delivery report statuses").
STATUS = {
    "queued": "pending",
    "dispatched": "pending",
    "delivered": "delivered",
    "aborted": "failed",
    "cancelled": "failed",
    "deleted": "failed",
    "failed": "failed",
    "rejected": "rejected",
    "expired": "expired",
    "unknown": "unknown",
}
# Sinch's own delivery report codes it sends with a failure (kept raw: the meaning of
# each is not mapped to a reason class yet); the first is what a simulation sends.
FAILURE_CODES = ("403", "402", "404", "408", "413")
_FINAL_FAILURES = frozenset({"failed", "rejected", "expired", "unknown"})
_NO_CODE = frozenset({"0", "400", "401"})  # no error; Queued; Dispatched


def _time(value: Any, field: str) -> datetime | None:
    raw = text(value)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not an ISO 8601 time: {raw!r}") from ex
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return as_utc(moment, field, raw)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Sinch(Adapter):
    """Adapter for Sinch SMS delivery reports (per batch and per recipient) and MO text."""

    name = "sinch"
    title = "Sinch SMS"
    content_types = frozenset({JSON})
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    failure_codes: tuple[str, ...] | None = FAILURE_CODES

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the report's records: one per recipient, per batch status, or the MO."""
        doc = require_object(json_body(request), "the body")
        kind = text(doc.get("type"))
        if kind == RECIPIENT:
            for name in ("batch_id", "recipient", "status"):
                if not text(doc.get(name)):
                    raise ParseError(f"the recipient delivery report has no {name}")
            return [Record("status", doc)]
        if kind == BATCH:
            return self._batch(doc)
        if kind == MO_TEXT:
            if not text(doc.get("from")) or "body" not in doc:
                raise ParseError("the mo_text has no from or no body")
            return [Record("inbound", doc)]
        if kind and kind.startswith("mo_"):
            return []  # binary or media inbound: kept in the inbox, no receipt
        raise ParseError("the body's type is none of recipient_delivery_report_sms, "
                         "delivery_report_sms or mo_text")

    @staticmethod
    def _batch(doc: dict[str, Any]) -> list[Record]:
        if not text(doc.get("batch_id")):
            raise ParseError("the delivery report has no batch_id")
        statuses = doc.get("statuses")
        if not isinstance(statuses, list):
            raise ParseError("the delivery report has no statuses array")
        records: list[Record] = []
        common = {k: v for k, v in doc.items() if k != "statuses"}
        for at, item in enumerate(statuses):
            entry = require_object(item, f"statuses[{at}]")
            if not text(entry.get("status")):
                raise ParseError(f"statuses[{at}] has no status")
            recipients = entry.get("recipients")
            if recipients is None:
                records.append(Record("status", {**common, **entry, "type": BATCH}))
                continue
            if not isinstance(recipients, list):
                raise ParseError(f"statuses[{at}].recipients is not an array")
            for phone in recipients:
                records.append(Record("status", {**common, "type": BATCH,
                                                 "status": entry["status"],
                                                 "code": entry.get("code"),
                                                 "recipient": phone}))
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a delivery report record or an MO text to the event shape."""
        data = record.data
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received",
                         message_id=text(data.get("id")),
                         phone=e164(data.get("from"), region=account.default_region,
                                    international=True),
                         text=str(data.get("body") or ""),
                         reported_at=_time(data.get("received_at"), "received_at"),
                         raw=data)
        provider_status = str(data["status"]).strip()
        status = STATUS.get(provider_status.lower(), "unknown")
        code = text(data.get("code"))
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("batch_id")),
            reference=text(data.get("client_reference")),
            phone=e164(data.get("recipient"), region=account.default_region,
                       international=True),
            provider_status=provider_status,
            error_code=code if status in _FINAL_FAILURES and code not in _NO_CODE else None,
            segments=to_count(data.get("number_of_message_parts"),
                              "number_of_message_parts"),
            reported_at=_time(data.get("at"), "at"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``{"status":"ok"}``; Sinch reads only the HTTP status."""
        if ok:
            return json_answer(200, {"status": "ok"})
        return json_answer(status, {"status": "error", "reason": reason or "error"})

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one recipient delivery report (or one ``mo_text``)."""
        doc: dict[str, Any]
        if kind == "inbound":
            doc = {"type": MO_TEXT, "id": f"01SIMMO{seq:019d}", "from": f"4673{seq % 10**7:07d}",
                   "to": "12345", "body": f"reply {seq}", "received_at": _stamp(now),
                   "operator_id": "24001"}
        else:
            report = reports[0] if reports else PlannedReport(
                message_id=f"01SIM{seq:021d}", phone=f"+4673{seq % 10**7:07d}",
                status="failed" if seq % 10 == 9 else "delivered",
                code=FAILURE_CODES[0] if seq % 10 == 9 else None, submitted_at=now,
                reported_at=now)
            failed = report.status != "delivered"
            doc = {"type": RECIPIENT, "batch_id": report.message_id,
                   "recipient": report.phone.lstrip("+"),
                   "code": int(report.code or FAILURE_CODES[0]) if failed else 0,
                   "status": "Failed" if failed else "Delivered", "at": _stamp(report.reported_at),
                   "operator_status_at": _stamp(report.reported_at),
                   "number_of_message_parts": report.segments, "encoding": "GSM",
                   "applied_originator": "12345", "operator": "24001"}
            if report.reference:
                doc["client_reference"] = report.reference
        return SimulatedCallback(orjson.dumps(doc), {}, JSON, 1)


provider = Sinch()
