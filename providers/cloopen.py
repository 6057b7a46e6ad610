"""CloOpen (Ronglian, 容联云通讯) SMSArrived: one status report or reply, in JSON or XML.

Sources: seed 003 (JSON status report), docs/providers/cloopen.md (all CONFIRMED-2nd: shanliu/lsys
``sender_cloopen.rs`` for the JSON form, the ifrabbit "nk" MessageController for the XML
form and the field meanings; the answer is a GUESS, hence the ``answer`` option; CloOpen
documents no signature).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import orjson

from dlrhub.core.vocabulary import EventType
from dlrhub.providers.base import (
    Account,
    Adapter,
    Answer,
    CallbackRequest,
    Event,
    Option,
    ParseError,
    PlannedReport,
    Record,
    SimulatedCallback,
)
from dlrhub.providers.common import (
    JSON,
    XML_TYPES,
    e164,
    json_answer,
    json_body,
    local_strftime,
    local_time,
    require_fields,
    require_object,
    split_e164,
    text,
    text_answer,
    to_count,
    xml_body,
)

# dateSent/recvTime are "YYYYMMDDHHMMSS" without a zone (docs/providers/cloopen.md field table).
TIME_FORMAT = "%Y%m%d%H%M%S"
XML = "application/xml"
ACTION = "SMSArrived"
# smsType: "1" = 手机接收状态报告, "0" = 上行短信 (nk MessageController, docs/providers/cloopen.md).
KINDS: Mapping[str, Literal["status", "inbound"]] = {"1": "status", "0": "inbound"}
# For a status report `content` is the smsMessageSid of the downlink message.
STATUS_FIELDS = ("content", "fromNum", "status")
REPLY_FIELDS = ("fromNum", "content")

# status → status (nk MessageController: "0 = 成功接收, 其他 = 失败"). lsys's "progress" for a
# missing dateSent is its own choice and is not followed: CloOpen sends final reports.
# Every code not in the table is a failure.
STATUS: Mapping[str, str] = {"0": "delivered"}

OK_CODE = "000000"
# CloOpen REST failures use six-digit codes other than 000000; which one it would expect
# from us is unknown (docs/providers/cloopen.md: GUESS), any non-000000 code says "not received".
FAIL_CODE = "111111"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

ANSWERS = ("auto", "xml", "json", "empty")


def _media_type(request: CallbackRequest) -> str:
    """Return the request's media type, lower-case and without parameters."""
    return request.content_type.split(";", 1)[0].strip().lower()


def _is_xml(request: CallbackRequest) -> bool:
    """Tell an XML request from a JSON one: by content type, else by the first byte."""
    media = _media_type(request)
    if media in XML_TYPES:
        return True
    if media == JSON:
        return False
    # No (or an unhelpful) content type, as in seed 003: sniff, skipping a UTF-8 BOM.
    head = request.body.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<")


def _local_name(tag: str) -> str:
    """Drop a ``{namespace}`` prefix from an element tag."""
    return tag.rsplit("}", 1)[-1]


def _request_fields(request: CallbackRequest) -> dict[str, Any]:
    """Return the fields of ``Request``, from a JSON object or an XML document."""
    if not request.body.strip():
        raise ParseError("the body is empty")
    if _is_xml(request):
        root = xml_body(request)
        if _local_name(root.tag) != "Request":
            raise ParseError(f"the XML root element must be <Request>, not <{root.tag}>")
        # Child texts become the values, like the JSON form's all-string fields.
        return {_local_name(child.tag): (child.text or "").strip() for child in root}
    doc = require_object(json_body(request), "the body")
    if "Request" not in doc:
        raise ParseError("field 'Request' is missing")
    return require_object(doc["Request"], "field 'Request'")


def _answer_form(request: CallbackRequest, account: Account | None) -> str:
    """Return the configured answer form, with ``auto`` resolved to xml or json."""
    chosen = account.options.get("answer", "auto") if account is not None else "auto"
    if chosen not in ANSWERS:
        chosen = "auto"
    if chosen == "auto":
        return "xml" if _is_xml(request) else "json"
    return str(chosen)


def _planned(report: PlannedReport, tz: ZoneInfo) -> dict[str, str]:
    """Render a planned report: ``deliverCode`` carries the carrier gateway's code."""
    _code, national = split_e164(report.phone)
    failed = report.status != "delivered"
    fields = {
        "action": ACTION, "smsType": "1", "apiVersion": "2013-12-26",
        "content": report.message_id, "fromNum": national,
        "dateSent": local_strftime(report.submitted_at, tz, TIME_FORMAT),
        "deliverCode": report.code if failed and report.code else "DELIVRD",
        "recvTime": local_strftime(report.reported_at, tz, TIME_FORMAT),
        "status": "1" if failed else "0", "smsCount": str(report.segments),
        "spCode": "10690876",
    }
    if report.reference:
        fields["reqId"] = report.reference
    return fields


class CloOpen(Adapter):
    """Adapter for CloOpen SMSArrived status-report and reply callbacks."""

    name = "cloopen"
    title = "CloOpen (Ronglian)"
    content_types = frozenset({JSON, *XML_TYPES})
    batch_limit: int | None = 1
    options: Mapping[str, Option] = {
        "answer": Option(
            default="auto",
            choices=ANSWERS,
            help=(
                "How to acknowledge a push; CloOpen's expected answer is not documented. "
                "auto: <Response><statuscode>000000</statuscode></Response> to an XML "
                'request, {"statusCode":"000000"} to a JSON one; xml/json: always that '
                "form; empty: HTTP 200 with an empty body (failures still carry a code)."
            ),
        ),
    }

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the one status report or reply of an SMSArrived push."""
        data = _request_fields(request)
        require_fields(data, ("action", "smsType"), "Request")
        action = text(data["action"])
        if action != ACTION:
            raise ParseError(f"unknown action {data['action']!r} (expected {ACTION!r})")
        kind = KINDS.get(text(data["smsType"]) or "")
        if kind is None:
            raise ParseError(f"unknown smsType {data['smsType']!r} (expected '1' for a "
                             "status report, '0' for a reply)")
        fields = STATUS_FIELDS if kind == "status" else REPLY_FIELDS
        # An empty XML element counts as missing: require_fields refuses blanks.
        require_fields(data, fields, "Request")
        return [Record(kind, data)]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a status report or a reply to the event shape."""
        data = record.data
        tz = account.timezone
        phone = e164(data.get("fromNum"), region=account.default_region)
        if record.kind == "inbound":
            return Event(
                type=EventType.inbound,
                status="received",
                phone=phone,
                text=str(data.get("content")),
                # subAppend is the sender's own extension; appendCode names the signature.
                reference=text(data.get("subAppend")) or text(data.get("appendCode")),
                reported_at=local_time(data.get("recvTime"), TIME_FORMAT, tz, "recvTime"),
                raw=data,
            )
        code = text(data.get("status")) or ""
        status = STATUS.get(code, "failed")
        failed = status != "delivered"
        # deliverCode is the carrier's code (e.g. DELIVRD); the XML sample lacks it.
        provider_status = text(data.get("deliverCode")) or code
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("content")),
            reference=text(data.get("reqId")),
            phone=phone,
            provider_status=provider_status,
            error_code=provider_status if failed else None,
            segments=to_count(data.get("smsCount"), "smsCount"),
            submitted_at=local_time(data.get("dateSent"), TIME_FORMAT, tz, "dateSent"),
            reported_at=local_time(data.get("recvTime"), TIME_FORMAT, tz, "recvTime"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer with statuscode 000000 in the configured form, or a failure code and why."""
        form = _answer_form(request, account)
        if form == "empty":
            if ok:
                return text_answer(200, "")
            # A failure needs its reason; answer it in the form the request came in.
            form = "xml" if _is_xml(request) else "json"
        code = OK_CODE if ok else FAIL_CODE
        http = 200 if ok else status
        message = reason or "error"
        if form == "xml":
            body = f"{XML_DECLARATION}<Response><statuscode>{code}</statuscode>"
            if not ok:
                body += f"<statusmsg>{escape(message)}</statusmsg>"
            body += "</Response>"
            return Answer(status=http, body=body.encode(), content_type=XML)
        doc = {"statusCode": code} if ok else {"statusCode": code, "statusMsg": message}
        return json_answer(http, doc)

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one SMSArrived push (CloOpen sends one record each), JSON unless XML is set.

        Of ``reports`` only the first is sent.
        """
        tz = account.timezone
        stamp = local_strftime(now, tz, TIME_FORMAT)
        phone = f"138{seq % 10**8:08d}"
        fields: dict[str, str]
        if reports and kind == "status":
            fields = _planned(reports[0], tz)
        elif kind == "inbound":
            fields = {
                "action": ACTION, "smsType": "0", "apiVersion": "2013-12-26",
                "content": f"reply {seq}", "fromNum": phone, "recvTime": stamp,
                "appendCode": "12345", "subAppend": f"{seq % 1000:03d}",
            }
        else:
            # One record per push, so every tenth push fails rather than every tenth record.
            failed = seq % 10 == 9
            fields = {
                "action": ACTION, "smsType": "1", "apiVersion": "2013-12-26",
                "content": f"sim-{seq}-0", "fromNum": phone, "dateSent": stamp,
                "deliverCode": "MK:0001" if failed else "DELIVRD", "recvTime": stamp,
                "status": "1" if failed else "0", "reqId": f"sim-ref-{seq}",
                "smsCount": "1", "spCode": "10690876",
            }
        if account.options.get("answer") == "xml":
            inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
            body = f"{XML_DECLARATION}<Request>{inner}</Request>".encode()
            return SimulatedCallback(body, {}, XML, 1)
        return SimulatedCallback(orjson.dumps({"Request": fields}), {}, JSON, 1)


provider = CloOpen()
