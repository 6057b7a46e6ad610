"""Volcengine (火山引擎) SMS: status reports as a JSON array.

Each report has ``message_id``, ``mobile``, ``status_code`` (``"0"`` delivered, any
other value a failure code such as ``NE:0105`` or ``CR:0201``), ``description``,
``msg_count`` (parts), ``ext`` (your tag), ``send_time`` / ``recv_time`` (ms) and
``iso_code``. Its ``signature`` field is the SMS sign name (签名), not a cryptographic
signature. How Volcengine authenticates its callbacks, what answer it wants and whether
it retries are not documented: dlrhub relies on the URL token and the IP allow-list and
answers HTTP 200.

Sources: https://www.volcengine.com/docs/6361/171584 (短信状态报告回调) and
https://www.volcengine.com/docs/6361/69438 (错误码).
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
    split_e164,
    text,
    to_count,
    unix_time,
)

DELIVERED = "0"


class Volcengine(Adapter):
    """Adapter for Volcengine SMS status-report callbacks."""

    name = "volcengine"
    title = "Volcengine SMS"

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the reports of the array (one object is read as one report)."""
        doc = json_body(request)
        items = doc if isinstance(doc, list) else [doc]
        if not items:
            raise ParseError("the body is an empty array")
        records = []
        for index, item in enumerate(items):
            where = f"report {index}"
            data = require_object(item, where)
            require_fields(data, ("message_id", "mobile", "status_code"), where)
            records.append(Record("status", data))
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a report: ``status_code`` ``"0"`` is delivered, any other a failure code."""
        data = record.data
        code = str(text(data.get("status_code")))
        delivered = code == DELIVERED
        iso = text(data.get("iso_code"))
        region = iso.upper() if iso and len(iso) == 2 and iso.isalpha() else None
        return Event(
            type=EventType.status,
            status="delivered" if delivered else "failed",
            message_id=text(data.get("message_id")),
            reference=text(data.get("ext")),
            phone=e164(data.get("mobile"), region=region or account.default_region),
            provider_status=code,
            error_code=None if delivered else code,
            error_message=None if delivered else text(data.get("description")),
            segments=to_count(data.get("msg_count"), "msg_count"),
            submitted_at=unix_time(data.get("send_time"), "send_time"),
            reported_at=unix_time(data.get("recv_time"), "recv_time"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer 200 (a GUESS: the answer is not documented); a refusal names why."""
        if ok:
            return json_answer(200, {"code": 0, "message": "ok"})
        return json_answer(status, {"code": status, "message": reason or "error"})

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept any 2xx (a GUESS: Volcengine documents no answer rule)."""
        return 200 <= status < 300

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build an array of ``count`` reports (or ``reports``); replies are not sent."""
        if reports is None:
            reports = [PlannedReport(
                message_id=f"sim-{seq}-{i}", phone=f"+86138{(seq * count + i) % 10**8:08d}",
                status="failed" if i % 10 == 9 else "delivered",
                code="NE:0105" if i % 10 == 9 else None, submitted_at=now, reported_at=now)
                for i in range(count)]
        items: list[dict[str, Any]] = []
        for report in reports:
            failed = report.status != "delivered"
            country, national = split_e164(report.phone)
            item: dict[str, Any] = {
                "account": "AC0001", "sub_account": "sim-group",
                "status_code": (report.code or "UN:0900") if failed else DELIVERED,
                "description": "发送失败" if failed else "成功",
                "signature": "火山引擎", "template_id": "ST_0001",
                "mobile": national if country == "86" else report.phone,
                "channel_type": "CN_NTC", "message_id": report.message_id,
                "msg_count": report.segments, "service_id": "",
                "ext": report.reference or "",
                "send_time": int(report.submitted_at.timestamp() * 1000),
                "recv_time": int(report.reported_at.timestamp() * 1000),
                "mccmnc": "46000", "iso_code": "CN" if country == "86" else "",
            }
            items.append(item)
        return SimulatedCallback(orjson.dumps(items), {}, JSON, len(items))


provider = Volcengine()
