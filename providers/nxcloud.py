"""NXCloud DID SMS pushes: delivery receipts (``dr``) and uplink messages (``mo``).

Sources: seed 004 (signed push: headers, fields, answer) and docs/providers/nxcloud.md (the exact
sign algorithm and the ``algorithm`` header from NXCloud's WhatsApp verify page, the
unsigned form variant, field meanings). The vector in ``nxcloud_did_signed_dr.txt`` is
our own, self-computed one: NXCloud publishes none with its secret.

One URL receives both kinds. The customer's number configuration chooses signed JSON or
an unsigned form with the same fields; an account with an access key and secret accepts
signed pushes only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode
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
    FORM,
    JSON,
    check_skew,
    e164,
    epoch_header,
    form_body,
    json_body,
    key_pair,
    local_strftime,
    local_time,
    require_fields,
    require_object,
    same_secret,
    split_e164,
    text,
    text_answer,
    to_count,
)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# bizType is "4" for DID (seed 004); it is signed as sent, whatever its value.
DID_BIZ_TYPE = "4"

# smsStatus → status: "DELIVRD (delivered), UNDELIVR (undelivered)" (seed 004); the
# mapping is ours, and a value NXCloud has not documented is kept as `unknown`.
STATUS = {"DELIVRD": "delivered", "UNDELIVR": "failed"}
# header `action` (seed 004) and field `type` ("0 for upstream, 1 for downstream").
ACTIONS: Mapping[str, Literal["status", "inbound"]] = {"dr": "status", "mo": "inbound"}
TYPES: Mapping[str, Literal["status", "inbound"]] = {"1": "status", "0": "inbound"}


def sign(access_key: str, action: str, biz_type: str, ts: str, body: bytes,
         access_secret: str, algorithm: str | None = None) -> str:
    """Return NXCloud's ``sign``: lower-case hex MD5 (or SHA-256) of the signed string.

    The string is ``accessKey=…&action=…&bizType=…&ts=…[&body=<raw body>]&accessSecret=…``;
    the body takes part only when it is not empty, byte for byte as sent.
    """
    signed = f"accessKey={access_key}&action={action}&bizType={biz_type}&ts={ts}".encode()
    if body:
        signed += b"&body=" + body
    signed += f"&accessSecret={access_secret}".encode()
    # "algorithm=sha256(忽略大小写)时使用SHA-256，其它值默认MD5" (docs/providers/nxcloud.md).
    if (algorithm or "").strip().lower() == "sha256":
        return hashlib.sha256(signed).hexdigest()
    # NXCloud fixes MD5; usedforsecurity=False only lets it run under FIPS.
    return hashlib.md5(signed, usedforsecurity=False).hexdigest()



def _required_header(request: CallbackRequest, name: str) -> str:
    """Return a signed header's stripped value, or raise ``AuthError`` when missing."""
    value = (request.header(name) or "").strip()
    if not value:
        raise AuthError(f"the {name} header is missing")
    return value


def _is_json(request: CallbackRequest) -> bool:
    """Tell the signed JSON variant from the unsigned form one."""
    media = request.content_type.split(";")[0].strip().lower()
    if media in (JSON, FORM):
        return media == JSON
    # No usable content type: a JSON body is an object (maybe after a UTF-8 BOM, which
    # the JSON reader skips), a form never starts with "{".
    return request.body.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")


def _planned(report: PlannedReport, tz: ZoneInfo) -> dict[str, str]:
    """Render a planned report: the user's number in full, the send time, no reason."""
    code, national = split_e164(report.phone)
    failed = report.status != "delivered"
    return {"messageId": report.message_id, "toPhone": code + national,
            "size": str(report.segments), "content": "message",
            # For a receipt receiveTime is the send time (docs/providers/nxcloud.md).
            "receiveTime": local_strftime(report.submitted_at, tz, TIME_FORMAT),
            "smsStatus": "UNDELIVR" if failed else "DELIVRD"}


class NXCloud(Adapter):
    """Adapter for NXCloud DID SMS delivery receipts and uplink messages."""

    name = "nxcloud"
    title = "NXCloud DID SMS"
    content_types = frozenset({JSON, FORM})
    optional_credentials: tuple[str, ...] = ("access_key", "access_secret")
    # GUESS: NXCloud is based in China but its DID numbers are abroad, and no document
    # names the zone of receiveTime; an account's time zone overrides this one.
    default_timezone = "Asia/Shanghai"
    # NXCloud sends international numbers in full (without "+"), so no default country.
    default_region: str | None = None
    batch_limit: int | None = 1
    # UNDELIVR is its only failure: it never says why (docs/providers/nxcloud.md).
    failure_codes: tuple[str, ...] | None = ("UNDELIVR",)

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check ``accessKey``, a fresh ``ts`` and ``sign`` when the account has a key."""
        pair = key_pair(account, "access_key", "access_secret")
        if pair is None:
            # Unsigned pushes are an account choice; the callback token is the check.
            return
        access_key, access_secret = pair
        given_key = _required_header(request, "accessKey")
        if not same_secret(given_key, access_key):
            raise AuthError("the accessKey header is not the account's access_key")
        ts = _required_header(request, "ts")
        if not (ts.isdigit() and len(ts) == 13):
            raise AuthError("the ts header is not a 13-digit millisecond timestamp")
        check_skew(epoch_header(request, "ts"), now, max_skew, "ts")
        biz_type = _required_header(request, "bizType")
        action = _required_header(request, "action")
        given_sign = _required_header(request, "sign")
        expected = sign(given_key, action, biz_type, ts, request.body, access_secret,
                        request.header("algorithm"))
        if not same_secret(given_sign, expected, ignore_case=True):
            raise AuthError("the sign header does not match")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the push's single receipt or uplink message."""
        if _is_json(request):
            data = require_object(json_body(request), "the body")
        else:
            data = form_body(request)
        action = (request.header("action") or "").strip().lower()
        kind = ACTIONS.get(action) or TYPES.get(text(data.get("type")) or "")
        if kind is None:
            raise ParseError("the push is neither a receipt nor an uplink message: no "
                             "action header dr/mo and no field type 1/0")
        fields = ("messageId", "smsStatus") if kind == "status" else ("messageId",)
        require_fields(data, fields, "push")
        for name in fields:
            if text(data[name]) is None:
                raise ParseError(f"push: field '{name}' is blank")
        return [Record(kind, data)]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a receipt or an uplink message to the event shape."""
        data = record.data
        if record.kind == "inbound":
            # toPhone is the DID that received the message; it stays in `raw`.
            return Event(
                type=EventType.inbound,
                status="received",
                message_id=text(data.get("messageId")),
                phone=self._phone(data.get("fromPhone"), account),
                text=str(data.get("content") or ""),
                reported_at=local_time(data.get("receiveTime"), TIME_FORMAT,
                                       account.timezone, "receiveTime"),
                raw=data,
            )
        sms_status = str(data["smsStatus"]).strip().upper()
        status = STATUS.get(sms_status, "unknown")
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("messageId")),
            # For a receipt toPhone is the end user (docs/providers/nxcloud.md).
            phone=self._phone(data.get("toPhone"), account),
            provider_status=sms_status,
            error_code=sms_status if status == "failed" else None,
            segments=to_count(data.get("size"), "size"),
            price=text(data.get("price")),
            # For a receipt receiveTime is the send time (docs/providers/nxcloud.md).
            submitted_at=local_time(data.get("receiveTime"), TIME_FORMAT, account.timezone,
                                    "receiveTime"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer the plain text ``success``, or ``error`` with the failure status."""
        if ok:
            return text_answer(200, "success")
        return text_answer(status, "error")

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept a 2xx whose body is ``success`` (seed 004)."""
        return 200 <= status < 300 and body.strip() == b"success"

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one push: signed JSON (MD5) when the account has a key, else a form.

        ``count`` is ignored: NXCloud pushes one record per request, so of ``reports``
        only the first is sent.
        """
        inbound = kind == "inbound"
        user = f"1818{seq % 10**7:07d}"
        did = "12347200160"
        data: dict[str, Any] = {
            "messageId": f"sim{seq:029d}",
            "type": "0" if inbound else "1",
            "toPhone": did if inbound else user,
            "fromPhone": user if inbound else did,
            "content": f"reply {seq}" if inbound else f"message {seq}",
            "size": "1",
            "price": "0.0360",
            "receiveTime": local_strftime(now, account.timezone, TIME_FORMAT),
            "smsStatus": "UNDELIVR" if not inbound and seq % 10 == 9 else "DELIVRD",
        }
        if reports and not inbound:
            data |= _planned(reports[0], account.timezone)
        pair = key_pair(account, "access_key", "access_secret")
        if pair is None:
            return SimulatedCallback(urlencode(data).encode(), {}, FORM, 1)
        access_key, access_secret = pair
        body = orjson.dumps(data)
        action = "mo" if inbound else "dr"
        ts = str(int(now.timestamp() * 1000))
        headers = {
            "accessKey": access_key, "ts": ts, "bizType": DID_BIZ_TYPE, "action": action,
            "sign": sign(access_key, action, DID_BIZ_TYPE, ts, body, access_secret),
        }
        return SimulatedCallback(body, headers, JSON, 1)

    @staticmethod
    def _phone(value: Any, account: Account) -> str | None:
        """Return a number NXCloud sends in full international form, in E.164."""
        return e164(value, international=True, region=account.default_region)


provider = NXCloud()
