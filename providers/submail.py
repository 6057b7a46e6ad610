"""Submail (赛邮) SUBHOOK: one event per push, by form POST, JSON POST or GET.

Events: ``request`` and ``sending`` (pending), ``delivered``, ``dropped`` (failed, with
the gateway's ``report`` code), ``unknown`` (the docs also spell it ``unkown``), ``mo``
(a reply), and ``template_accept`` / ``template_reject`` (acknowledged, no event).
Each push carries ``token`` (32 random characters) and ``signature`` = md5(token +
key), where the key is the SUBHOOK's, shown when it is created. The signature covers no
field of the event, so a captured push can be replayed: dlrhub also requires the push's
``timestamp`` (Unix seconds; "not part of the signature") to be recent, unless the
account turns that off. Without a ``key`` the account relies on the URL token and the
IP allow-list. Submail's answer rule is not documented: HTTP 200 is assumed.

Sources: https://github.com/submail-developers/submail.documents (短信/API开发文档/
SUBHOOK 状态回调/短信 SUBHOOK 事件.md; 国际短信 SUBHOOK 概览.md). The signature scheme is
from a third-party SDK's SUBHOOK notes, not Submail's own pages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dlrhub.core.vocabulary import EventType
from dlrhub.providers.base import (
    Account,
    Adapter,
    Answer,
    AuthError,
    CallbackRequest,
    Event,
    Option,
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
    form_pairs,
    json_answer,
    json_body,
    require_fields,
    require_object,
    same_secret,
    text,
    unix_time,
)

# events → status (短信 SUBHOOK 事件). "unkown" is how the overview page spells it.
STATUS = {"request": "pending", "sending": "pending", "delivered": "delivered",
          "dropped": "failed", "unknown": "unknown", "unkown": "unknown"}
INBOUND = "mo"
TIMESTAMP_CHECK = "timestamp_check"


def signature(token: str, key: str) -> str:
    """Return a SUBHOOK signature: md5(token + key), lower-case hex."""
    return hashlib.md5((token + key).encode(), usedforsecurity=False).hexdigest()


def _params(request: CallbackRequest) -> dict[str, Any]:
    """Return a push's fields: its query (GET), its JSON object or its form."""
    if request.method == "GET":
        return dict(form_pairs(request.query.encode()))
    if request.content_type == JSON or request.body.lstrip()[:1] == b"{":
        return require_object(json_body(request), "the body")
    return dict(form_pairs(request.body))


class Submail(Adapter):
    """Adapter for Submail's SMS SUBHOOK pushes."""

    name = "submail"
    title = "Submail SUBHOOK"
    content_types = frozenset({FORM, JSON})
    methods = frozenset({"POST", "GET"})
    optional_credentials: tuple[str, ...] = ("key",)
    options: Mapping[str, Option] = {
        TIMESTAMP_CHECK: Option(
            default="on", choices=("on", "off"),
            help="Refuse a signed push whose timestamp is further than the allowed skew "
                 "from now (the signature covers no event field, so this is what stops "
                 "a replay); off if Submail's retries arrive with their first timestamp."),
    }
    batch_limit: int | None = 1
    # A SUBHOOK event has no segment count.
    reports_segments = False

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """With a ``key``: check md5(token + key) and, unless off, the timestamp's age."""
        key = account.credentials.get("key") or ""
        if not key:
            return
        try:
            fields = _params(request)
        except ParseError as ex:
            raise AuthError(f"the push cannot be read to check its signature: "
                            f"{ex.reason}") from ex
        token = text(fields.get("token"))
        if token is None or not same_secret(text(fields.get("signature")),
                                            signature(token, key), ignore_case=True):
            raise AuthError("signature does not match md5(token + the account's key)")
        if account.options.get(TIMESTAMP_CHECK, "on") == "off":
            return
        try:
            moment = unix_time(fields.get("timestamp"), "timestamp")
        except ParseError as ex:
            raise AuthError("the timestamp is not a Unix time") from ex
        if moment is None:
            raise AuthError("the timestamp is missing")
        check_skew(moment, now, max_skew, "timestamp")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the push's event; a template review (or another event) carries none."""
        fields = _params(request)
        require_fields(fields, ("events",), "the push")
        event = str(fields["events"]).strip().lower()
        if event == INBOUND:
            require_fields(fields, ("address",), "the mo push")
            if not isinstance(fields.get("content"), str):
                raise ParseError("the mo push: field 'content' is missing")
            return [Record("inbound", fields)]
        if event not in STATUS:
            return []
        require_fields(fields, ("address", "send_id"), f"the {event} push")
        return [Record("status", fields)]

    def normalize(self, record: Record, account: Account) -> Event:
        """Map an event: its name is the status; ``report`` the failure code."""
        data = record.data
        phone = e164(data.get("address"), region=account.default_region)
        reported_at = unix_time(data.get("timestamp"), "timestamp")
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received", phone=phone,
                         text=str(data["content"]), reported_at=reported_at, raw=data)
        event = str(data["events"]).strip().lower()
        status = STATUS[event]
        report = text(data.get("report"))
        failed = status in ("failed", "unknown")
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("send_id")),
            reference=text(data.get("tag")),
            phone=phone,
            provider_status=report or event,
            error_code=(report or None) if failed else None,
            reported_at=reported_at,
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer 200 (assumed: Submail documents no answer); a refusal names why."""
        if ok:
            return json_answer(200, {"status": "success"})
        return json_answer(status, {"status": "error", "msg": reason or "error"})

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept exactly HTTP 200 (a GUESS: Submail documents no answer)."""
        return status == 200

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one signed form push (one event per push): a reply or a report."""
        token = hashlib.md5(f"sim-{seq}".encode(), usedforsecurity=False).hexdigest()
        key = account.credentials.get("key", "")
        fields: dict[str, Any]
        if kind == "inbound":
            fields = {"events": "mo", "address": f"139{seq % 10**8:08d}", "app": "10001",
                      "content": f"reply {seq}"}
        else:
            if reports is None:
                failed = seq % 10 == 9
                reports = [PlannedReport(
                    message_id=hashlib.md5(f"send-{seq}".encode(),
                                           usedforsecurity=False).hexdigest(),
                    phone=f"+86138{seq % 10**8:08d}",
                    status="failed" if failed else "delivered",
                    code="MK:0001" if failed else None, submitted_at=now, reported_at=now)]
            report = reports[0]
            failed = report.status != "delivered"
            fields = {"events": "dropped" if failed else "delivered",
                      "address": report.phone[3:] if report.phone.startswith("+86")
                      else report.phone,
                      "app": "10001", "send_id": report.message_id}
            if failed:
                fields["report"] = report.code or "UNDELIV"
            else:
                fields |= {"operator": "中国移动", "location": "上海 上海"}
            if report.reference:
                fields["tag"] = report.reference
            now = report.reported_at
        fields |= {"timestamp": str(int(now.timestamp())), "token": token,
                   "signature": signature(token, key) if key else ""}
        return SimulatedCallback(urlencode(fields).encode(), {}, FORM, 1)


provider = Submail()
