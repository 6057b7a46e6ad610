"""Yunpian (云片): status reports in a form field ``sms_status``, replies in ``sms_reply``.

Each field holds URL-encoded JSON: an array of up to 100 reports, or one reply object.
Some accounts get it URL-encoded twice; both are read. Yunpian does not sign its status
pushes: the secret token of the URL and the IP allow-list are the checks. ``sid`` is a
64-bit integer: it is kept as the digits sent, never through a float. Yunpian wants the
body ``SUCCESS`` back (or ``0``); otherwise it pushes again, 3 more times, 5 minutes
apart.

Sources: https://www.yunpian.com/official/document/sms/en/domestic_push_report and
https://www.yunpian.com/official/document/sms/zh_CN/intl_push_report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlencode

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
    FORM,
    e164,
    form_body,
    local_strftime,
    local_time,
    require_exact_id,
    require_fields,
    require_object,
    text,
    text_answer,
)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
STATUS = {"SUCCESS": "delivered", "FAIL": "failed"}
ACKS = (b"SUCCESS", b"0")


def _json_field(value: str, name: str) -> Any:
    """Decode a field's JSON, URL-decoding it once more if it arrived encoded twice."""
    for candidate in (value, unquote(value)):
        stripped = candidate.strip()
        if stripped[:1] in ("[", "{"):
            try:
                return orjson.loads(stripped)
            except orjson.JSONDecodeError as ex:
                raise ParseError(f"field '{name}' is not valid JSON: {ex}") from ex
    raise ParseError(f"field '{name}' is not a JSON array or object")


class Yunpian(Adapter):
    """Adapter for Yunpian's status report and reply pushes."""

    name = "yunpian"
    title = "Yunpian"
    content_types = frozenset({FORM})
    batch_limit: int | None = 100
    # Its report has no segment count.
    reports_segments = False

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the reports of ``sms_status``, or the reply of ``sms_reply``."""
        fields = form_body(request)
        if "sms_status" in fields:
            doc = _json_field(fields["sms_status"], "sms_status")
            items = doc if isinstance(doc, list) else [doc]
            records = []
            for index, item in enumerate(items):
                where = f"report {index}"
                data = require_object(item, where)
                require_fields(data, ("sid", "mobile", "report_status"), where)
                require_exact_id(data, "sid", where)
                records.append(Record("status", data))
            return records
        if "sms_reply" in fields:
            data = require_object(_json_field(fields["sms_reply"], "sms_reply"), "sms_reply")
            require_fields(data, ("mobile",), "sms_reply")
            if not isinstance(data.get("text"), str):
                raise ParseError("sms_reply: field 'text' is missing")
            return [Record("inbound", data)]
        raise ParseError("the form has neither sms_status nor sms_reply")

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a report or a reply to the event shape."""
        data = record.data
        phone = e164(data.get("mobile"), region=account.default_region)
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received",
                         message_id=text(data.get("id")), phone=phone,
                         text=str(data.get("text")), reference=text(data.get("extend")),
                         reported_at=local_time(data.get("reply_time"), TIME_FORMAT,
                                                account.timezone, "reply_time"),
                         raw=data)
        report_status = str(data["report_status"]).strip().upper()
        status = STATUS.get(report_status, "unknown")
        failed = status != "delivered"
        return Event(
            type=EventType.status,
            status=status,
            # An int64: orjson reads it as an exact integer, str() gives its digits.
            message_id=text(data.get("sid")),
            reference=text(data.get("uid")),
            phone=phone,
            provider_status=text(data.get("error_msg")) or report_status,
            error_code=text(data.get("error_msg")) if failed else None,
            error_message=text(data.get("error_detail")) if failed else None,
            reported_at=local_time(data.get("user_receive_time"), TIME_FORMAT,
                                   account.timezone, "user_receive_time"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``SUCCESS``; anything else (``FAIL: <why>``) makes Yunpian push again."""
        return text_answer(200, "SUCCESS") if ok else text_answer(status,
                                                                  f"FAIL: {reason or 'error'}")

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept a 2xx whose body is ``SUCCESS`` (or ``0``), as Yunpian does."""
        return 200 <= status < 300 and body.strip() in ACKS

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build an ``sms_status`` form of ``count`` reports (or ``reports``), or a reply."""
        tz = account.timezone
        if kind == "inbound":
            reply = {"id": f"sim-mo-{seq}", "mobile": f"139{seq % 10**8:08d}",
                     "text": f"reply {seq}",
                     "reply_time": local_strftime(now, tz, TIME_FORMAT), "extend": "",
                     "base_extend": "8888", "_sign": ""}
            body = urlencode({"sms_reply": orjson.dumps(reply).decode()})
            return SimulatedCallback(body.encode(), {}, FORM, 1)
        if reports is None:
            reports = [PlannedReport(
                message_id=str(10**15 + seq * count + i),
                phone=f"+86138{(seq * count + i) % 10**8:08d}",
                status="failed" if i % 10 == 9 else "delivered",
                code="MK:0001" if i % 10 == 9 else None, submitted_at=now, reported_at=now)
                for i in range(count)]
        items = []
        for report in reports:
            failed = report.status != "delivered"
            items.append({
                # sid is a JSON integer where the id is all digits, as Yunpian sends it.
                "sid": int(report.message_id) if report.message_id.isdigit()
                else report.message_id,
                "uid": report.reference,
                "user_receive_time": local_strftime(report.reported_at, tz, TIME_FORMAT),
                "error_msg": (report.code or "UNDELIV") if failed else "DELIVRD",
                "mobile": _mobile(report.phone), "report_status": "FAIL" if failed
                else "SUCCESS",
                "error_detail": "发送失败" if failed else "",
            })
        body = urlencode({"sms_status": orjson.dumps(items).decode()})
        return SimulatedCallback(body.encode(), {}, FORM, len(items))


def _mobile(phone: str) -> str:
    """Return a number as Yunpian writes it: ``+86`` stripped, others with their code."""
    return phone[3:] if phone.startswith("+86") else phone


provider = Yunpian()
