"""Aliyun SMS (Dysms) HTTP batch push: status reports, replies and international reports.

Sources: seed 003 (SmsReport body), docs/providers/aliyun.md (help.aliyun.com 101867 SmsReport,
60127 SmsUp, 414224 SendMessage variant, ``smsreport-http-intl``; the answer and retry
rules; Aliyun does not sign its HTTP push). All three record kinds arrive as elements of
one JSON array and are told apart by their keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
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
    as_utc,
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
    to_count,
)

# SmsReport and SmsUp times: "yyyy-MM-dd HH:mm:ss" without a zone (101867, 60127).
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# The intl SendDate/ReceiveDate are RFC 1123 with an offset (smsreport-http-intl sample);
# written out by hand because strftime's %a/%b follow the process locale.
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# The `kind` of a Record is status/inbound only; which schema a status record follows is
# read again from its keys (the intl report has capitalised ones).
REPORT_FIELDS = ("phone_number", "biz_id")
REPLY_FIELDS = ("phone_number", "content")
INTL_FIELDS = ("To", "MessageId", "Status")

# `success` → status (101867: "true 成功接收, false 接收失败"). Aliyun pushes final
# reports only, so there is no pending state.
SUCCESS = {True: "delivered", False: "failed"}

# Intl `Status` → status (smsreport-http-intl: "1" success, "2" fail, "6" expired). Any
# other value is not documented and is kept as `unknown`.
INTL_STATUS = {"1": "delivered", "2": "failed", "6": "expired"}


def _is_report(data: Mapping[str, Any]) -> bool:
    """Tell whether a record is a domestic SmsReport (only it has ``success``)."""
    return "success" in data


def _is_reply(data: Mapping[str, Any]) -> bool:
    """Tell whether a record is a SmsUp reply (only it has ``content``)."""
    return "content" in data


def _is_intl(data: Mapping[str, Any]) -> bool:
    """Tell whether a record is an international report (capitalised keys)."""
    return "Status" in data and "MessageId" in data


def _success(value: Any, where: str) -> bool:
    """Read ``success``: a JSON boolean, or the strings "true"/"false" some relays send."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ParseError(f"{where}: field 'success' must be true or false, not {value!r}")


def _intl_time(value: Any, field: str, tz: ZoneInfo) -> datetime | None:
    """Read an intl RFC 1123 time as UTC; a zone-less one is read in the account's zone."""
    raw = text(value)
    if raw is None:
        return None
    try:
        # parsedate_to_datetime, unlike strptime's %a/%b, does not depend on the locale.
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError) as ex:
        raise ParseError(f"field '{field}' is not a time of the form "
                         f"'Thu, 25 Nov 2021 10:25:00 +0800': {raw!r}") from ex
    if moment.tzinfo is None:
        # No offset (or "-0000"): DESIGN §3 reads zone-less provider times in the account's.
        moment = moment.replace(tzinfo=tz)
    return as_utc(moment, field, raw)


def _rfc1123(moment: datetime, tz: ZoneInfo) -> str:
    """Format a moment as the intl push does, in the account's zone."""
    local = moment.astimezone(tz)
    return (f"{DAYS[local.weekday()]}, {local.day:02d} {MONTHS[local.month - 1]} "
            f"{local:%Y %H:%M:%S %z}")


def _planned(report: PlannedReport, tz: ZoneInfo) -> dict[str, Any]:
    """Render a planned report as a domestic SmsReport (national number, local times)."""
    _code, national = split_e164(report.phone)
    failed = report.status != "delivered"
    data: dict[str, Any] = {
        "phone_number": national,
        "send_time": local_strftime(report.submitted_at, tz, TIME_FORMAT),
        "report_time": local_strftime(report.reported_at, tz, TIME_FORMAT),
        "success": not failed,
        "err_code": report.code if failed and report.code else "DELIVERED",
        "err_msg": "用户接收失败" if failed else "用户接收成功",
        "sms_size": str(report.segments),
        "biz_id": report.message_id,
    }
    if report.reference:
        data["out_id"] = report.reference
    return data


class Aliyun(Adapter):
    """Adapter for Aliyun SMS HTTP batch-push callbacks (SmsReport, SmsUp, intl report)."""

    name = "aliyun"
    title = "Aliyun SMS (Dysms)"

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the reports and replies of the pushed array, each checked by its kind."""
        doc = json_body(request)
        if not isinstance(doc, list):
            raise ParseError("the body must be a JSON array of reports or replies")
        records = []
        for index, item in enumerate(doc):
            where = f"record {index}"
            data = require_object(item, where)
            if _is_report(data):
                require_fields(data, REPORT_FIELDS, where)
                _success(data["success"], where)
                records.append(Record("status", data))
            elif _is_reply(data):
                require_fields(data, REPLY_FIELDS, where)
                records.append(Record("inbound", data))
            elif _is_intl(data):
                require_fields(data, INTL_FIELDS, where)
                records.append(Record("status", data))
            else:
                raise ParseError(f"{where} is neither a SmsReport ('success'), a SmsUp "
                                 "('content') nor an international report "
                                 "('Status', 'MessageId')")
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a SmsReport, a SmsUp or an international report to the event shape."""
        data = record.data
        tz = account.timezone
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                # sequence_id is a Number in 60127; the event's ids are strings.
                message_id=text(data.get("sequence_id")),
                phone=e164(data.get("phone_number"), region=account.default_region),
                text=str(data.get("content")),
                reported_at=local_time(data.get("send_time"), TIME_FORMAT, tz, "send_time"),
                raw=data,
            )
        if _is_report(data):
            return self._report(data, account)
        return self._intl(data, account)

    def _report(self, data: Mapping[str, Any], account: Account) -> Event:
        """Map a (domestic) SmsReport."""
        status = SUCCESS[_success(data.get("success"), "record")]
        failed = status != "delivered"
        tz = account.timezone
        return Event(
            type=EventType.status,
            status=status,
            # The SendMessage variant (414224) adds message_id; biz_id stays the id so that
            # both variants correlate the same way, and raw keeps message_id.
            message_id=text(data.get("biz_id")),
            reference=text(data.get("out_id")),
            phone=e164(data.get("phone_number"), region=account.default_region),
            provider_status=text(data.get("err_code")),
            error_code=text(data.get("err_code")) if failed else None,
            error_message=text(data.get("err_msg")) if failed else None,
            segments=to_count(data.get("sms_size"), "sms_size"),
            submitted_at=local_time(data.get("send_time"), TIME_FORMAT, tz, "send_time"),
            reported_at=local_time(data.get("report_time"), TIME_FORMAT, tz, "report_time"),
            raw=data,
        )

    def _intl(self, data: Mapping[str, Any], account: Account) -> Event:
        """Map an international report (capitalised keys, numbers with country code)."""
        code = text(data.get("Status")) or ""
        status = INTL_STATUS.get(code, "unknown")
        failed = status != "delivered"
        tz = account.timezone
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("MessageId")),
            phone=e164(data.get("To"), international=True),
            provider_status=code or None,
            error_code=text(data.get("ErrorCode")) if failed else None,
            error_message=text(data.get("ErrorDescription")) if failed else None,
            segments=to_count(data.get("SmsSize"), "SmsSize"),
            submitted_at=_intl_time(data.get("SendDate"), "SendDate", tz),
            reported_at=_intl_time(data.get("ReceiveDate"), "ReceiveDate", tz),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``{"code": 0, "msg": "接收成功"}``, or the failure status, a code and why."""
        # Aliyun retries on any non-200 status, so the given 4xx/5xx is what matters.
        return coded_answer(ok, status, reason, code="code", message="msg", ok_message="接收成功")

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept HTTP 200 with a numeric ``code``: all Aliyun checks (docs/providers/aliyun.md)."""
        code = json_field(body, "code")
        return status == 200 and isinstance(code, int) and not isinstance(code, bool)

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build an array of SmsReports (``count``, or the ``reports``), SmsUps or intl."""
        tz = account.timezone
        stamp = local_strftime(now, tz, TIME_FORMAT)
        doc: list[dict[str, Any]]
        if reports is not None and kind == "status":
            doc = [_planned(r, tz) for r in reports]
        elif kind == "inbound":
            doc = [
                {
                    "phone_number": f"139{(seq * count + i) % 10**8:08d}",
                    "send_time": stamp,
                    "content": f"reply {seq}-{i}",
                    "sign_name": "dlrhub",
                    "dest_code": "1234",
                    "sequence_id": seq * count + i,
                }
                for i in range(count)
            ]
        elif kind == "intl":
            rfc = _rfc1123(now, tz)
            doc = [
                {
                    "To": f"852{(seq * count + i) % 10**8:08d}",
                    "SendDate": rfc,
                    "ReceiveDate": rfc,
                    "Status": "2" if i % 10 == 9 else "1",
                    "ErrorCode": "UNDELIV" if i % 10 == 9 else "success",
                    "ErrorDescription": "UNDELIV" if i % 10 == 9 else "success",
                    "TaskId": str(seq),
                    "SmsSize": "1",
                    "MessageId": f"sim-{seq}-{i}",
                }
                for i in range(count)
            ]
        else:
            doc = [
                {
                    "phone_number": f"138{(seq * count + i) % 10**8:08d}",
                    "send_time": stamp,
                    "report_time": stamp,
                    "success": i % 10 != 9,
                    "err_code": "MK:0001" if i % 10 == 9 else "DELIVERED",
                    "err_msg": "用户接收失败" if i % 10 == 9 else "用户接收成功",
                    "sms_size": "1",
                    "biz_id": f"sim-{seq}-{i}",
                    "out_id": f"sim-ref-{seq}-{i}",
                }
                for i in range(count)
            ]
        return SimulatedCallback(orjson.dumps(doc), {}, JSON, count)


provider = Aliyun()
