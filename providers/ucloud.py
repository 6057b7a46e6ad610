"""UCloud USMS: status reports (MsgType 2) and replies (MsgType 0) in one JSON envelope.

Sources: seed 002 (status report, answer, retry), docs/providers/ucloud.md (UCloudDoc-Team/usms
``retStatus.md``, ``upMes.md``, ``usmsUp.md``: the reply shape, the English result values;
UCloud does not sign its callbacks).
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
    coded_answer,
    e164,
    json_body,
    json_field,
    require_fields,
    require_object,
    split_e164,
    text,
    to_count,
    to_int,
    unix_time,
)

# MsgType values (seed 002: "2代表 回执状态报告"; docs/providers/ucloud.md / upMes.md: 0 = reply).
STATUS_REPORT = 2
REPLY = 0
STATUS_FIELDS = ("SessionNo", "Phone", "ReceiptResult")
REPLY_FIELDS = ("Phone", "ReplyContent")

# ReceiptResult → status, keys lower-cased. Seed 002 shows 发送成功/发送失败; retStatus.md
# (docs/providers/ucloud.md) adds Success/Fail and 状态未知/Unknow (sic: the carrier sent no report,
# so it is final `unknown`, not `pending`). "Unknown" is accepted in case UCloud fixes the
# spelling. Values not listed here are kept as `unknown` too.
STATUS = {
    "发送成功": "delivered",
    "success": "delivered",
    "发送失败": "failed",
    "fail": "failed",
    "状态未知": "unknown",
    "unknow": "unknown",
    "unknown": "unknown",
}


def _msg_type(value: Any) -> int:
    """Read ``MsgType``, which the doc types as int but a string is tolerated."""
    if value is None:
        raise ParseError("field 'MsgType' is missing")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ParseError(f"field 'MsgType' must be a number: {value!r}")
    number = to_int(value, "MsgType")
    if number not in (STATUS_REPORT, REPLY):
        raise ParseError(f"unknown MsgType {value!r} (expected 2 for status reports, "
                         "0 for replies)")
    return number


def _record(item: Any, kind_of: int | None, where: str) -> Record:
    """Check one element of ``Data``; ``kind_of`` None means infer it from its fields."""
    data = require_object(item, where)
    if kind_of is None:
        # A bare array carries no MsgType: only replies have ReplyContent.
        kind_of = REPLY if "ReplyContent" in data else STATUS_REPORT
    if kind_of == REPLY:
        require_fields(data, REPLY_FIELDS, where)
        return Record("inbound", data)
    require_fields(data, STATUS_FIELDS, where)
    return Record("status", data)


def _planned(report: PlannedReport) -> dict[str, Any]:
    """Render a planned report: ReceiptCode carries the carrier's code (or UCloud's own)."""
    _code, national = split_e164(report.phone)
    failed = report.status != "delivered"
    data: dict[str, Any] = {
        "SessionNo": report.message_id,
        "Phone": national,
        "CostCount": report.segments,
        "ReceiptTime": int(report.reported_at.timestamp()),
        "ReceiptResult": "发送失败" if failed else "发送成功",
        "ReceiptCode": report.code if failed and report.code else "DELIVRD",
        "ReceiptDesc": "用户接收失败" if failed else "用户接收成功",
    }
    if report.reference:
        data["UserId"] = report.reference
    return data


class UCloud(Adapter):
    """Adapter for UCloud USMS status-report and reply callbacks."""

    name = "ucloud"
    title = "UCloud USMS"

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the records of a ``{MsgType, Data}`` envelope, or of a bare array."""
        doc = json_body(request)
        if isinstance(doc, dict):
            kind_of = _msg_type(doc.get("MsgType"))
            items = doc.get("Data")
            if items is None:
                raise ParseError("field 'Data' is missing")
            if not isinstance(items, list):
                raise ParseError("field 'Data' must be an array")
            return [_record(item, kind_of, f"record {index}")
                    for index, item in enumerate(items)]
        if isinstance(doc, list):
            # The doc's prose says "JSON Array" while its example is an object: accept both.
            return [_record(item, None, f"record {index}") for index, item in enumerate(doc)]
        raise ParseError("the body must be a {MsgType, Data} object or an array of records")

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a status report or a reply to the event shape."""
        data = record.data
        phone = e164(data.get("Phone"), region=account.default_region)
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                phone=phone,
                text=str(data.get("ReplyContent")),
                # UserId is the sender's own id; the older usmsUp.md has only ExtendCode.
                reference=text(data.get("UserId")) or text(data.get("ExtendCode")),
                reported_at=unix_time(data.get("ReplyTime"), "ReplyTime"),
                raw=data,
            )
        result = text(data.get("ReceiptResult")) or ""
        status = STATUS.get(result.lower(), "unknown")
        failed = status != "delivered"
        code = text(data.get("ReceiptCode"))
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("SessionNo")),
            reference=text(data.get("UserId")),
            phone=phone,
            provider_status=code or result,
            error_code=code if failed else None,
            error_message=text(data.get("ReceiptDesc")) if failed else None,
            segments=to_count(data.get("CostCount"), "CostCount"),
            reported_at=unix_time(data.get("ReceiptTime"), "ReceiptTime"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``{"code": 0, "message": "ok"}``, or a non-zero code and why."""
        return coded_answer(ok, status, reason, code="code", message="message", ok_message="ok")

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept a 2xx whose JSON ``code`` is 0 (seed 002: non-zero is "not received")."""
        return 200 <= status < 300 and json_field(body, "code") == 0

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build a status-report envelope of ``count`` records (or ``reports``), or replies."""
        stamp = int(now.timestamp())
        if reports is not None and kind == "status":
            planned = {"MsgType": STATUS_REPORT, "Data": [_planned(r) for r in reports]}
            return SimulatedCallback(orjson.dumps(planned), {}, JSON, len(reports))
        if kind == "inbound":
            doc: dict[str, Any] = {
                "MsgType": REPLY,
                "Data": [
                    {
                        "ExtendCode": "12345",
                        "UserId": f"sim-ref-{seq}-{i}",
                        "Phone": f"139{(seq * count + i) % 10**8:08d}",
                        "ReplyContent": f"reply {seq}-{i}",
                        "ReplyTime": stamp,
                    }
                    for i in range(count)
                ],
            }
        else:
            doc = {
                "MsgType": STATUS_REPORT,
                "Data": [
                    {
                        "SessionNo": f"sim-{seq}-{i}",
                        "Phone": f"138{(seq * count + i) % 10**8:08d}",
                        "CostCount": 1,
                        "ReceiptTime": stamp,
                        "ReceiptResult": "发送失败" if i % 10 == 9 else "发送成功",
                        "ReceiptCode": "MSBLACK" if i % 10 == 9 else "Delivrd",
                        "ReceiptDesc": ("手机在运营商防骚扰黑名单" if i % 10 == 9
                                        else "用户接收成功"),
                        "UserId": f"sim-ref-{seq}-{i}",
                    }
                    for i in range(count)
                ],
            }
        return SimulatedCallback(orjson.dumps(doc), {}, JSON, count)


provider = UCloud()
