"""Baidu AI Cloud SMS (百度智能云): one status report per POST, JSON, signed with md5.

Headers ``requestId`` (the push's id), ``timestamp`` (ms) and ``signature`` =
md5(token + timestamp + body), where ``token`` is the value set in Baidu's console (by
default the Baidu Cloud account ID). A timestamp further than the allowed skew from now
is refused like a bad signature. ``code`` is 0 (sent) or 2 (failed); ``carrierCode`` is
the carrier's own code, passed through. ``deliverTime`` and ``requestTime`` are UTC.
Baidu reads only the HTTP status: 200 is success; otherwise it retries 3 times at once,
then hourly, at most 10 times, so the same report may come twice.

Source: https://cloud.baidu.com/doc/SMS/s/Fkijy9cdv (状态回调).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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
    check_skew,
    e164,
    epoch_header,
    json_answer,
    json_body,
    require_fields,
    require_object,
    same_secret,
    text,
    to_count,
)

# code → status (the doc: "0-发送成功, 2-发送失败"); any other value is kept as unknown.
STATUS = {"0": "delivered", "2": "failed"}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def signature(token: str, timestamp: str, body: bytes) -> str:
    """Return Baidu's push signature: md5(token + timestamp + body), lower-case hex."""
    return hashlib.md5(token.encode() + timestamp.encode() + body,
                       usedforsecurity=False).hexdigest()


def _utc_time(value: Any, field: str) -> datetime | None:
    """Read a UTC time: ISO 8601 (``Z`` or an offset) or ``YYYY-MM-DD HH:MM:SS``.

    The page says only "UTC时间"; its example does not show the format (a GUESS).
    """
    raw = text(value)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not a UTC time: {raw!r}") from ex
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as ex:
        raise ParseError(f"field '{field}' is out of range: {raw!r}") from ex


class Baidu(Adapter):
    """Adapter for Baidu AI Cloud SMS status callbacks."""

    name = "baidu"
    title = "Baidu AI Cloud SMS"
    required_credentials: tuple[str, ...] = ("token",)
    batch_limit: int | None = 1

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check ``signature`` against the account's token, and ``timestamp``'s age."""
        token = account.credentials.get("token") or ""
        if not token:
            raise AuthError("the account has no Baidu token")
        moment = epoch_header(request, "timestamp")
        check_skew(moment, now, max_skew, "timestamp")
        timestamp = (request.header("timestamp") or "").strip()
        expected = signature(token, timestamp, request.body)
        if not same_secret(request.header("signature"), expected, ignore_case=True):
            raise AuthError("signature does not match the account's token and the body")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the report of the body (an object; an array of them is read too)."""
        doc = json_body(request)
        items = doc if isinstance(doc, list) else [doc]
        records = []
        for index, item in enumerate(items):
            where = f"report {index}"
            data = require_object(item, where)
            require_fields(data, ("code", "messageId", "mobile"), where)
            records.append(Record("status", data))
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a report: ``code`` 0 delivered, 2 failed; ``carrierCode`` is the reason."""
        data = record.data
        code = str(text(data.get("code")))
        status = STATUS.get(code, "unknown")
        carrier = text(data.get("carrierCode"))
        failed = status != "delivered"
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("messageId")),
            reference=text(data.get("custom")),
            phone=e164(data.get("mobile"), region=account.default_region),
            provider_status=carrier or code,
            error_code=(carrier or code) if failed else None,
            segments=to_count(data.get("segmentCount"), "segmentCount"),
            submitted_at=_utc_time(data.get("requestTime"), "requestTime"),
            reported_at=_utc_time(data.get("deliverTime"), "deliverTime"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer 200 (Baidu reads only the status); a refusal names its reason."""
        if ok:
            return json_answer(200, {"code": 0, "message": "ok"})
        return json_answer(status, {"code": status, "message": reason or "error"})

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept exactly HTTP 200, as Baidu does ("Status为200表示回调成功")."""
        return status == 200

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one signed report (Baidu posts one per request): the first planned."""
        if reports is None:
            failed = seq % 10 == 9
            reports = [PlannedReport(
                message_id=f"sim-{seq}", phone=f"+86138{seq % 10**8:08d}",
                status="failed" if failed else "delivered",
                code="MK:0001" if failed else None, submitted_at=now, reported_at=now)]
        report = reports[0]
        failed = report.status != "delivered"
        doc: dict[str, Any] = {
            "code": "2" if failed else "0",
            "requestId": f"req-{report.message_id}",
            "messageId": report.message_id,
            "mobile": report.phone[3:] if report.phone.startswith("+86") else report.phone,
            "carrierCode": (report.code or "UNDELIV") if failed else "DELIVRD",
            "attemptCount": 1,
            "segmentCount": report.segments,
            "deliverTime": report.reported_at.astimezone(UTC).strftime(TIME_FORMAT),
            "requestTime": report.submitted_at.astimezone(UTC).strftime(TIME_FORMAT),
        }
        if report.reference:
            doc["custom"] = report.reference
        body = orjson.dumps(doc)
        timestamp = str(int(now.timestamp() * 1000))
        headers = {"requestId": f"push-{seq}", "timestamp": timestamp,
                   "signature": signature(account.credentials.get("token", ""), timestamp,
                                          body)}
        return SimulatedCallback(body, headers, JSON, 1)


provider = Baidu()
