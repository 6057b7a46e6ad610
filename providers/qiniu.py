"""Qiniu (七牛) SMS: ``{"items":[…]}`` pushes of status reports, or of replies (MO).

A report has ``message_id``, ``mobile``, ``status`` (``DELIVRD`` or ``FAILED``),
``delivrd_at`` (Unix seconds), ``seq`` and, on failure, ``error``: the code the carrier
(or Qiniu) returned, classified by the carrier's tables except for the codes of Qiniu's
own table. A reply has ``dest_code``, ``mobile``, ``content`` and ``time``. Qiniu does not
sign its pushes: the secret token of the URL and the IP allow-list are the checks. It
wants HTTP 200; any other status is pushed again within 10 minutes.

Sources: https://developer.qiniu.com/sms/5910/message-push and
https://developer.qiniu.com/sms/5849/sms-error-code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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
    e164,
    json_answer,
    json_body,
    require_fields,
    require_object,
    text,
    unix_time,
)

# status → event status (message-push page: DELIVRD or FAILED); others kept as unknown.
STATUS = {"DELIVRD": "delivered", "FAILED": "failed"}


class Qiniu(Adapter):
    """Adapter for Qiniu SMS status and reply pushes."""

    name = "qiniu"
    title = "Qiniu SMS"
    # Its report has no segment count and no submit time.
    reports_segments = False

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the items: status reports (``status``) or replies (``content``)."""
        doc = require_object(json_body(request), "the body")
        items = doc.get("items")
        if not isinstance(items, list):
            raise ParseError("the body: field 'items' must be an array")
        records = []
        for index, item in enumerate(items):
            where = f"item {index}"
            data = require_object(item, where)
            if "content" in data and "status" not in data:
                require_fields(data, ("mobile",), where)
                if not isinstance(data.get("content"), str):
                    raise ParseError(f"{where}: field 'content' must be a string")
                records.append(Record("inbound", data))
                continue
            require_fields(data, ("message_id", "mobile", "status"), where)
            records.append(Record("status", data))
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a report (``DELIVRD``/``FAILED`` with ``error``) or a reply."""
        data = record.data
        phone = e164(data.get("mobile"), region=account.default_region)
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received", phone=phone,
                         text=str(data["content"]), reference=text(data.get("dest_code")),
                         reported_at=unix_time(data.get("time"), "time"), raw=data)
        word = str(data["status"]).strip().upper()
        status = STATUS.get(word, "unknown")
        failed = status != "delivered"
        error = text(data.get("error"))
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("message_id")),
            reference=text(data.get("seq")),
            phone=phone,
            provider_status=error or word,
            error_code=(error or word) if failed else None,
            reported_at=unix_time(data.get("delivrd_at"), "delivrd_at"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer 200 (Qiniu reads only the status); a refusal names its reason."""
        if ok:
            return json_answer(200, {"code": 0, "message": "ok"})
        return json_answer(status, {"code": status, "message": reason or "error"})

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept exactly HTTP 200: Qiniu pushes again on any other status."""
        return status == 200

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build an ``items`` push of ``count`` reports (or ``reports``), or a reply."""
        if kind == "inbound":
            reply = {"dest_code": "1069000", "mobile": f"139{seq % 10**8:08d}",
                     "content": f"reply {seq}", "time": int(now.timestamp())}
            return SimulatedCallback(orjson.dumps({"items": [reply]}), {}, JSON, 1)
        if reports is None:
            reports = [PlannedReport(
                message_id=f"{seq}{i:04d}", phone=f"+86138{(seq * count + i) % 10**8:08d}",
                status="failed" if i % 10 == 9 else "delivered",
                code="MK:0001" if i % 10 == 9 else None, submitted_at=now, reported_at=now)
                for i in range(count)]
        items: list[dict[str, Any]] = []
        for report in reports:
            failed = report.status != "delivered"
            item: dict[str, Any] = {
                "mobile": report.phone[3:] if report.phone.startswith("+86")
                else report.phone,
                "message_id": report.message_id,
                "status": "FAILED" if failed else "DELIVRD",
                "delivrd_at": int(report.reported_at.timestamp()),
                "seq": report.reference or "",
            }
            if failed:
                item["error"] = report.code or "UNDELIV"
            items.append(item)
        return SimulatedCallback(orjson.dumps({"items": items}), {}, JSON, len(items))


provider = Qiniu()
