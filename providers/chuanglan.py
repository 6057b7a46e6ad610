"""ChuangLan (创蓝253): status reports and replies by GET, a password in the query.

The tenant configures at ChuangLan a ``receiver`` and a ``pswd`` that ChuangLan sends in
clear in every push's query string. dlrhub holds them as the account's ``account`` and
``password`` credentials and compares them in constant time; the password never
reaches the inbox or a log (``config/redaction.py`` masks ``pswd``), nor a receipt's
``raw``. The answer is the plain text ``OK``.

Sources: the international API's push description,
https://github.com/chuanglan-international/SMS/blob/master/englishAPI/README.md; the
domestic 253 push (``statusDesc``, ``uid``, ``length``) as a second-hand copy,
https://apifox.com/apidoc/docs-site/473703 (unconfirmed on ChuangLan's own site).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dlrhub.core.vocabulary import EventType
from dlrhub.providers import smpp
from dlrhub.providers.base import (
    Account,
    Adapter,
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
    e164,
    local_strftime,
    query_fields,
    same_secret,
    text,
)

# status → dlrhub status: DELIVRD is delivered; UNKNOWN and REJECTD are the SMPP states;
# MBBLACK (blacklist), SM11, SM12 and any carrier code are failures.
STATUS = {"DELIVRD": "delivered", "UNKNOWN": "unknown", "REJECTD": "rejected"}
# What a push carries that is a credential, not a record.
_CREDENTIAL_FIELDS = frozenset({"receiver", "pswd"})


def _times(data: dict[str, Any], name: str, account: Account) -> datetime | None:
    return smpp.receipt_time(text(data.get(name)), account.timezone, name)


class ChuangLan(Adapter):
    """Adapter for ChuangLan's status report and reply pushes."""

    name = "chuanglan"
    title = "ChuangLan 253"
    methods = frozenset({"GET"})
    content_types = frozenset({FORM})
    required_credentials: tuple[str, ...] = ("account", "password")
    batch_limit: int | None = 1
    reports_segments = False

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check ``receiver`` and ``pswd`` against the account's, in constant time."""
        fields = query_fields(request)
        expected_account = account.credentials.get("account") or ""
        expected_password = account.credentials.get("password") or ""
        if not expected_account or not expected_password:
            raise AuthError("the account has no ChuangLan account and password")
        account_ok = same_secret(fields.get("receiver"), expected_account)
        password_ok = same_secret(fields.get("pswd"), expected_password)
        if not (account_ok and password_ok):
            raise AuthError("receiver or pswd is missing or not the account's")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the report (``msgid`` and ``status``) or the reply (``msg``)."""
        fields = {k: v for k, v in query_fields(request).items()
                  if k not in _CREDENTIAL_FIELDS}
        if text(fields.get("msgid")) and text(fields.get("status")):
            return [Record("status", fields)]
        if text(fields.get("mobile")) and "msg" in fields:
            return [Record("inbound", fields)]
        raise ParseError("the query is neither a report (msgid, status) nor a reply "
                         "(mobile, msg)")

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a report or a reply to the event shape."""
        data = dict(record.data)
        # The international API sends numbers with their country code, without "+": an
        # account with no default region reads them so.
        phone = e164(data.get("mobile"), region=account.default_region,
                     international=account.default_region is None)
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received", phone=phone,
                         text=str(data.get("msg") or ""),
                         reference=text(data.get("destcode")),
                         reported_at=_times(data, "moTime", account), raw=data)
        code = str(data["status"]).strip()
        status = STATUS.get(code.upper(), "failed")
        failed = status != "delivered"
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("msgid")),
            reference=text(data.get("uid")),
            phone=phone,
            provider_status=code,
            error_code=code if failed else None,
            error_message=text(data.get("statusDesc")) if failed else None,
            reported_at=_times(data, "reportTime", account),
            raw=data,
        )

    def failure_status(self, code: str) -> str:
        """Return the status a failure report with ``code`` reads as."""
        return STATUS.get(code.upper(), "failed")

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept a 2xx whose body is ``OK``."""
        return 200 <= status < 300 and body.strip() == b"OK"

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one push by GET, with the account's receiver and pswd in the query."""
        tz = account.timezone
        creds = {"receiver": account.credentials.get("account", ""),
                 "pswd": account.credentials.get("password", "")}
        if kind == "inbound":
            fields = {**creds, "moTime": local_strftime(now, tz, "%y%m%d%H%M%S"),
                      "mobile": f"139{seq % 10**8:08d}", "msg": f"reply {seq}",
                      "destcode": "1069000"}
        else:
            report = reports[0] if reports else PlannedReport(
                message_id=f"{seq:020d}", phone=f"+86138{seq % 10**8:08d}",
                status="failed" if seq % 10 == 9 else "delivered",
                code="MK:0001" if seq % 10 == 9 else None, submitted_at=now, reported_at=now)
            failed = report.status != "delivered"
            fields = {**creds, "msgid": report.message_id,
                      "reportTime": local_strftime(report.reported_at, tz, "%y%m%d%H%M%S"),
                      "mobile": report.phone.removeprefix("+86"),
                      "status": (report.code or "UNDELIV") if failed else "DELIVRD",
                      "notifyTime": local_strftime(report.reported_at, tz, "%y%m%d%H%M%S"),
                      "batchSeq": "", "uid": report.reference or ""}
        return SimulatedCallback(b"", {}, "", 1, method="GET", query=urlencode(fields))


provider = ChuangLan()
