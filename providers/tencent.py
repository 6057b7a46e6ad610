"""Tencent Cloud SMS: status reports (a JSON array) and replies (one JSON object).

Sources: seeds 000/001 (status report, answer), docs/providers/tencent.md (``ext``, replies,
IP allow-list; Tencent does not sign its callbacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

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
    coded_answer,
    e164,
    json_body,
    json_field,
    local_strftime,
    local_time,
    require_fields,
    require_object,
    split_e164,
    text,
    unix_time,
)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# report_status → status (seed 000: "SUCCESS (success), FAIL (failure)"). Tencent sends
# final reports only; anything else it may add later is kept as `unknown`.
STATUS = {"SUCCESS": "delivered", "FAIL": "failed"}


def _planned(report: PlannedReport, tz: ZoneInfo) -> dict[str, Any]:
    """Render a planned report; Tencent has no segment count, so ``segments`` is lost."""
    nationcode, mobile = split_e164(report.phone)
    failed = report.status != "delivered"
    data = {
        "user_receive_time": local_strftime(report.reported_at, tz, TIME_FORMAT),
        "nationcode": nationcode,
        "mobile": mobile,
        "report_status": "FAIL" if failed else "SUCCESS",
        "errmsg": report.code if failed and report.code else "DELIVRD",
        "description": "用户短信送达失败" if failed else "用户短信送达成功",
        "sid": report.message_id,
    }
    if report.reference:
        data["ext"] = report.reference
    return data


class Tencent(Adapter):
    """Adapter for Tencent Cloud SMS status and reply callbacks."""

    name = "tencent"
    title = "Tencent Cloud SMS"
    # Its status report has no segment count (seed 000).
    reports_segments = False

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the status reports of an array, or the one reply of an object."""
        doc = json_body(request)
        if isinstance(doc, list):
            records = []
            for index, item in enumerate(doc):
                where = f"record {index}"
                data = require_object(item, where)
                require_fields(data, ("sid", "mobile", "report_status"), where)
                records.append(Record("status", data))
            return records
        if isinstance(doc, dict):
            require_fields(doc, ("mobile", "text"), "reply")
            return [Record("inbound", doc)]
        raise ParseError("the body must be an array of status reports or a reply object")

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a status report or a reply to the event shape."""
        data = record.data
        phone = e164(data.get("mobile"), region=account.default_region,
                     country_code=text(data.get("nationcode")))
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                phone=phone,
                text=str(data.get("text")),
                reference=text(data.get("extend")),
                reported_at=unix_time(data.get("time"), "time"),
                raw=data,
            )
        report_status = str(data["report_status"]).upper()
        status = STATUS.get(report_status, "unknown")
        failed = status != "delivered"
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("sid")),
            reference=text(data.get("ext")),
            phone=phone,
            provider_status=text(data.get("errmsg")) or report_status,
            error_code=text(data.get("errmsg")) if failed else None,
            error_message=text(data.get("description")) if failed else None,
            reported_at=local_time(data.get("user_receive_time"), TIME_FORMAT,
                                   account.timezone, "user_receive_time"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``{"result": 0, "errmsg": "OK"}``, or a non-zero result and why."""
        return coded_answer(ok, status, reason, code="result", message="errmsg", ok_message="OK")

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept a 2xx whose JSON ``result`` is 0 (seed 000: non-zero means failure)."""
        return 200 <= status < 300 and json_field(body, "result") == 0

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build a status-report array of ``count`` records (or ``reports``), or one reply."""
        stamp = local_strftime(now, account.timezone, TIME_FORMAT)
        if reports is not None and kind == "status":
            planned = [_planned(r, account.timezone) for r in reports]
            return SimulatedCallback(orjson.dumps(planned), {}, JSON, len(planned))
        if kind == "inbound":
            doc: Any = {"extend": "", "mobile": f"139{seq % 10**8:08d}", "nationcode": "86",
                        "sign": "dlrhub", "text": f"reply {seq}", "time": int(now.timestamp())}
            count = 1
        else:
            doc = [
                {
                    "user_receive_time": stamp,
                    "nationcode": "86",
                    "mobile": f"138{(seq * count + i) % 10**8:08d}",
                    "report_status": "FAIL" if i % 10 == 9 else "SUCCESS",
                    "errmsg": "MK:0001" if i % 10 == 9 else "DELIVRD",
                    "description": "用户短信送达失败" if i % 10 == 9 else "用户短信送达成功",
                    "sid": f"sim-{seq}-{i}",
                }
                for i in range(count)
            ]
        return SimulatedCallback(orjson.dumps(doc), {}, JSON, count)


provider = Tencent()
