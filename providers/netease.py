"""NetEase Yunxin SMS 抄送 (CC) callbacks: status receipts and uplink replies.

Sources: seed 003 (status receipt body and headers), docs/providers/netease.md (headers and the
``CheckSum`` algorithm, corroborated by several independent implementations; eventType
11 and 12; the ``reason`` field; the answer). The sample
``netease_signature_vector_partial.txt`` holds our own, self-computed signature vector:
NetEase publishes none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

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
    coded_answer,
    e164,
    epoch_header,
    json_body,
    local_strftime,
    local_time,
    require_fields,
    require_object,
    same_secret,
    split_e164,
    text,
    to_count,
    to_int,
)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# eventType values (docs/providers/netease.md): 11 is the SMS receipt (CONFIRMED-2nd), 12 the uplink
# reply (one third-party source). Types 1-10 are IM events sharing the same 抄送 URL.
STATUS_EVENT = 11
INBOUND_EVENT = 12

# result → status: "DELIVRD = delivered, else failed" (docs/providers/netease.md, seed 003).
STATUS = {"DELIVRD": "delivered"}


def checksum(app_secret: str, md5: str, cur_time: str) -> str:
    """Return NetEase's ``CheckSum``: hex sha1 of the secret, body MD5 and ``CurTime``."""
    # NetEase fixes SHA-1 and MD5; usedforsecurity=False only lets them run under FIPS.
    return hashlib.sha1((app_secret + md5 + cur_time).encode(), usedforsecurity=False).hexdigest()


def _credentials(account: Account) -> tuple[str, str]:
    """Return the account's app key and secret, or raise ``AuthError`` without them."""
    app_key = account.credentials.get("app_key") or ""
    app_secret = account.credentials.get("app_secret") or ""
    if not app_key or not app_secret:
        raise AuthError("the account has no app_key and app_secret to check CheckSum with")
    return app_key, app_secret


def _planned(report: PlannedReport, tz: ZoneInfo) -> dict[str, Any]:
    """Render a planned report: ``result`` carries the carrier's code for a failure."""
    _code, national = split_e164(report.phone)
    failed = report.status != "delivered"
    data: dict[str, Any] = {
        "mobile": national,
        "sendid": report.message_id,
        "result": report.code if failed and report.code else "DELIVRD",
        "sendTime": local_strftime(report.submitted_at, tz, TIME_FORMAT),
        "reportTime": local_strftime(report.reported_at, tz, TIME_FORMAT),
        "spliced": str(report.segments),
        "templateId": 1234,
    }
    if failed:
        data["reason"] = "用户接收失败"
    return data


class NetEase(Adapter):
    """Adapter for NetEase Yunxin SMS receipt and reply 抄送 callbacks."""

    name = "netease"
    title = "NetEase Yunxin SMS"
    required_credentials: tuple[str, ...] = ("app_key", "app_secret")

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check ``AppKey``, a fresh ``CurTime``, ``MD5`` of the body and ``CheckSum``."""
        app_key, app_secret = _credentials(account)
        if not same_secret((request.header("appkey") or "").strip(), app_key):
            raise AuthError("the AppKey header is missing or not the account's app_key")
        signed_at = epoch_header(request, "CurTime")
        check_skew(signed_at, now, max_skew, "CurTime")
        cur_time = (request.header("curtime") or "").strip()
        md5 = (request.header("md5") or "").strip()
        if not md5:
            raise AuthError("the MD5 header is missing")
        body_md5 = hashlib.md5(request.body, usedforsecurity=False).hexdigest()
        if not same_secret(md5, body_md5, ignore_case=True):
            raise AuthError("the MD5 header is not the MD5 of the body")
        # The sum is over the MD5 header as sent: its case is part of what was signed.
        if not same_secret(request.header("checksum"), checksum(app_secret, md5, cur_time),
                           ignore_case=True):
            raise AuthError("the CheckSum header does not match")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the receipts (eventType 11) or replies (12); other events carry none."""
        doc = require_object(json_body(request), "the body")
        if doc.get("eventType") is None:
            raise ParseError("the body has no eventType")
        # The doc shows "11"; live callbacks send 11 (docs/providers/netease.md): accept both.
        event_type = to_int(doc["eventType"], "eventType")
        kind: Literal["status", "inbound"]
        fields: tuple[str, ...]
        if event_type == STATUS_EVENT:
            kind, fields = "status", ("mobile", "sendid", "result")
        elif event_type == INBOUND_EVENT:
            kind, fields = "inbound", ("mobile", "content")
        else:
            # IM events (1-10) share the URL when IM is on; they have no `objects` at all.
            return []
        objects = doc.get("objects")
        if not isinstance(objects, list):
            raise ParseError("the body's objects must be an array")
        records = []
        for index, item in enumerate(objects):
            where = f"object {index}"
            data = require_object(item, where)
            require_fields(data, fields, where)
            records.append(Record(kind, data))
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a receipt or a reply to the event shape."""
        data = record.data
        phone = e164(data.get("mobile"), region=account.default_region)
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                phone=phone,
                text=str(data.get("content")),
                reported_at=local_time(data.get("receiveTime"), TIME_FORMAT,
                                       account.timezone, "receiveTime"),
                raw=data,
            )
        result = str(data["result"]).strip().upper()
        status = STATUS.get(result, "failed")
        failed = status != "delivered"
        return Event(
            type=EventType.status,
            status=status,
            # Batch sends share one sendid; the phone tells their receipts apart.
            message_id=text(data.get("sendid")),
            phone=phone,
            provider_status=result,
            error_code=result if failed else None,
            error_message=text(data.get("reason")) if failed else None,
            segments=to_count(data.get("spliced"), "spliced"),
            submitted_at=local_time(data.get("sendTime"), TIME_FORMAT, account.timezone,
                                    "sendTime"),
            reported_at=local_time(data.get("reportTime"), TIME_FORMAT, account.timezone,
                                   "reportTime"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``{"code": 200, "msg": "ok"}``, or the HTTP status as code and why."""
        return coded_answer(ok, status, reason, code="code", message="msg", ok_message="ok",
                            ok_code=200, fail_code=None)

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build a signed receipt (or reply) callback of ``count`` objects (or ``reports``).

        Raises ``ValueError`` when the account lacks its app key and secret.
        """
        app_key = account.credentials.get("app_key")
        app_secret = account.credentials.get("app_secret")
        if not app_key or not app_secret:
            raise ValueError("a NetEase account needs app_key and app_secret to sign with")
        stamp = local_strftime(now, account.timezone, TIME_FORMAT)
        doc: dict[str, Any]
        if reports is not None and kind == "status":
            doc = {"eventType": STATUS_EVENT,
                   "objects": [_planned(r, account.timezone) for r in reports]}
            count = len(reports)
        elif kind == "inbound":
            doc = {"eventType": INBOUND_EVENT, "objects": [
                {"mobile": f"139{(seq * count + i) % 10**8:08d}", "content": f"reply {seq}-{i}",
                 "receiveTime": stamp}
                for i in range(count)
            ]}
        else:
            doc = {"eventType": STATUS_EVENT, "objects": [
                {"mobile": f"138{(seq * count + i) % 10**8:08d}", "sendid": f"{seq}",
                 "result": "UNDELIV" if i % 10 == 9 else "DELIVRD", "sendTime": stamp,
                 "reportTime": stamp, "spliced": "1", "templateId": 1234}
                for i in range(count)
            ]}
        body = orjson.dumps(doc)
        cur_time = str(int(now.timestamp() * 1000))
        md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        headers = {"AppKey": app_key, "CurTime": cur_time, "MD5": md5,
                   "CheckSum": checksum(app_secret, md5, cur_time)}
        return SimulatedCallback(body, headers, JSON, count)


provider = NetEase()
