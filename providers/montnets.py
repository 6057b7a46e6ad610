"""Montnets (梦网): pushed status reports (``rpts``), answered with an echo of ``seqid``.

A push is one JSON object: ``cmd``, ``seqid``, ``userid``, ``pwd``, ``timestamp`` and
``rpts``, an array of reports. The answer echoes it:
``{"cmd": "RPT_RESP", "seqid": <the same>, "result": 0, "desc": "success"}``.
``msgid`` and ``seqid`` are 64-bit integers, kept as the digits sent (never a float).

How a push proves it is Montnets' is not documented for pushes: the demo's outbound
scheme, ``pwd = md5(UPPER(userid) + "00000000" + password + timestamp)``, is the guess,
and the per-account option ``pwd_check`` turns the check off where it does not hold
(``userid`` is then still compared). Replies (MO) are acknowledged with ``MO_RESP`` in
the demo, but their fields are not documented: such a push is answered and kept in the
inbox, with no events.

Source: MontnetsCloud/montnets-rms-api-demo (``CallbackApplication.java``, ``Rpt.java``,
``CallbackRequest``/``BaseRequest``, ``RmsUtil``),
https://github.com/MontnetsCloud/montnets-rms-api-demo.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
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
    Option,
    ParseError,
    PlannedReport,
    Record,
    SimulatedCallback,
)
from dlrhub.providers.common import (
    JSON,
    e164,
    json_answer,
    json_body,
    json_field,
    local_strftime,
    local_time,
    require_exact_id,
    require_fields,
    require_object,
    same_secret,
    text,
    to_count,
)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
REPORTS = "RPT_REQ"
PWD_CHECK = "pwd_check"  # noqa: S105 - an option's name, not a password


def pwd_digest(userid: str, password: str, timestamp: str) -> str:
    """Return ``md5(UPPER(userid) + "00000000" + password + timestamp)`` in hex."""
    material = f"{userid.upper()}00000000{password}{timestamp}".encode()
    return hashlib.md5(material, usedforsecurity=False).hexdigest()


def _push(request: CallbackRequest) -> dict[str, Any]:
    return require_object(json_body(request), "the body")


def _response_cmd(cmd: Any) -> str:
    """Return the answer's ``cmd``: ``RPT_REQ`` → ``RPT_RESP`` (``MO_REQ`` → ``MO_RESP``)."""
    name = text(cmd) or REPORTS
    return name[:-4] + "_RESP" if name.upper().endswith("_REQ") else "RPT_RESP"


def _seqid(body: bytes) -> Any:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    seqid = doc.get("seqid")
    return seqid if isinstance(seqid, int | str) and not isinstance(seqid, bool) else None


class Montnets(Adapter):
    """Adapter for Montnets' pushed status reports."""

    name = "montnets"
    title = "Montnets"
    required_credentials: tuple[str, ...] = ("userid", "password")
    options: Mapping[str, Option] = {
        PWD_CHECK: Option(
            default="md5", choices=("md5", "off"),
            help="How a push's pwd is checked: md5 of the upper-case userid, 8 zeros, "
                 "the password and the push's timestamp (the outbound scheme of "
                 "Montnets' demo, assumed for pushes), or off (userid only)."),
    }
    # pknum / pktotal: every part of a long SMS is reported.
    reports_parts = True

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Check ``userid`` and, unless turned off, the ``pwd`` digest."""
        userid = account.credentials.get("userid") or ""
        password = account.credentials.get("password") or ""
        if not userid or not password:
            raise AuthError("the account has no Montnets userid and password")
        try:
            push = _push(request)
        except ParseError as ex:
            raise AuthError(f"the push cannot be read to check its pwd: {ex.reason}") from ex
        if not same_secret(text(push.get("userid")), userid):
            raise AuthError("userid is missing or not the account's")
        if account.options.get(PWD_CHECK, "md5") == "off":
            return
        timestamp = text(push.get("timestamp")) or ""
        if not same_secret(text(push.get("pwd")), pwd_digest(userid, password, timestamp),
                           ignore_case=True):
            raise AuthError("pwd does not match the account's password and the timestamp")

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the reports of an ``RPT_REQ`` push; another push carries none."""
        push = _push(request)
        require_fields(push, ("cmd", "seqid"), "the push")
        if str(push["cmd"]).strip().upper() != REPORTS:
            return []
        rpts = push.get("rpts")
        if not isinstance(rpts, list):
            raise ParseError("the push: field 'rpts' must be an array")
        records = []
        for index, item in enumerate(rpts):
            where = f"report {index}"
            data = require_object(item, where)
            require_fields(data, ("msgid", "mobile", "status"), where)
            require_exact_id(data, "msgid", where)
            records.append(Record("status", data))
        return records

    def normalize(self, record: Record, account: Account) -> Event:
        """Map one report: ``status`` 0 is delivered, any other a failure (``errcode``)."""
        data = record.data
        status_value = text(data.get("status"))
        delivered = status_value == "0"
        total = to_count(data.get("pktotal"), "pktotal")
        part = to_count(data.get("pknum"), "pknum")
        return Event(
            type=EventType.status,
            status="delivered" if delivered else "failed",
            # int64: orjson reads an exact integer, str() gives its digits.
            message_id=text(data.get("msgid")),
            reference=text(data.get("custid")),
            phone=e164(data.get("mobile"), region=account.default_region),
            provider_status=text(data.get("errcode")) or status_value,
            error_code=None if delivered else text(data.get("errcode")) or status_value,
            error_message=None if delivered else text(data.get("errdesc")),
            segments=total,
            part=str(part) if part is not None and total is not None and total > 1 else None,
            submitted_at=local_time(data.get("stime"), TIME_FORMAT, account.timezone, "stime"),
            reported_at=local_time(data.get("rtime"), TIME_FORMAT, account.timezone, "rtime"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Echo the push's ``cmd`` (as ``*_RESP``) and ``seqid``, ``result`` 0 or not."""
        try:
            cmd = _response_cmd(orjson.loads(request.body).get("cmd"))
        except (orjson.JSONDecodeError, AttributeError):
            cmd = "RPT_RESP"
        seqid = _seqid(request.body)
        if ok:
            return json_answer(200, {"cmd": cmd, "seqid": seqid, "result": 0,
                                     "desc": "success"})
        return json_answer(status, {"cmd": cmd, "seqid": seqid, "result": 1,
                                    "desc": reason or "error"})

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept a 2xx whose JSON ``result`` is 0."""
        return 200 <= status < 300 and json_field(body, "result") == 0

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build an ``RPT_REQ`` push of ``count`` reports (or ``reports``), pwd signed.

        A reply push (``kind="inbound"``) is an ``MO_REQ`` with no records: its fields
        are not documented, so dlrhub acknowledges and keeps it, and reads none.
        """
        tz = account.timezone
        userid = account.credentials.get("userid", "")
        timestamp = local_strftime(now, tz, "%m%d%H%M%S")
        pwd = pwd_digest(userid, account.credentials.get("password", ""), timestamp)
        if kind == "inbound":
            push = {"cmd": "MO_REQ", "seqid": seq, "userid": userid, "pwd": pwd,
                    "timestamp": timestamp}
            return SimulatedCallback(orjson.dumps(push), {}, JSON, 0)
        if reports is None:
            reports = [PlannedReport(
                message_id=str(9 * 10**18 + seq * count + i),
                phone=f"+86138{(seq * count + i) % 10**8:08d}",
                status="failed" if i % 10 == 9 else "delivered",
                code="MK:0001" if i % 10 == 9 else None, submitted_at=now, reported_at=now)
                for i in range(count)]
        rpts = []
        for report in reports:
            failed = report.status != "delivered"
            rpts.append({
                "msgid": int(report.message_id) if report.message_id.isdigit()
                else report.message_id,
                "custid": report.reference or "", "pknum": report.part or 1,
                "pktotal": report.segments, "mobile": report.phone.removeprefix("+86"),
                "spno": "1000457", "exno": "",
                "stime": local_strftime(report.submitted_at, tz, TIME_FORMAT),
                "rtime": local_strftime(report.reported_at, tz, TIME_FORMAT),
                "status": 1 if failed else 0,
                "errcode": (report.code or "UNDELIV") if failed else "DELIVRD",
                "errdesc": "failed" if failed else "success", "exdata": "", "type": 0,
            })
        push = {"cmd": REPORTS, "seqid": seq, "userid": userid, "pwd": pwd,
                "timestamp": timestamp, "rpts": rpts}
        return SimulatedCallback(orjson.dumps(push), {}, JSON, len(rpts))


provider = Montnets()
