"""Jasmin SMS gateway: DLRs on each message's ``dlr-url`` and SMS-MO on an HTTP connector.

Both come by POST (a form) or GET (the query), as the message's ``dlr-method`` or the
connector's ``method`` says, and both must be answered ``200`` with the body exactly
``ACK/Jasmin``: anything else is thrown again, ``retry_delay`` (30 s) apart, up to
``max_retries`` (3) times. A level-1 DLR says what the SMSC answered the submit
(``message_status`` an ``ESME_*`` command status); levels 2 and 3 carry the SMSC's
receipt fields (``id_smsc``, ``sub``, ``dlvrd``, ``subdate``, ``donedate``, ``err``,
``text``), ``message_status`` its ``stat``. Jasmin does not sign: the secret token of
the URL and the IP allow-list are the checks.

Source: Jasmin's HTTP API documentation, "Receiving DLR" and "Receiving SMS-MO"
(https://docs.jasminsms.com/en/latest/apis/http/index.html); the receipt's states are
SMPP's (``providers/smpp.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode

from dlrhub.core.vocabulary import EventType
from dlrhub.providers import smpp
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
from dlrhub.providers.common import FORM, e164, form_body, query_fields, text, text_answer

ACK = b"ACK/Jasmin"
# A level-1 DLR's message_status is the submit_sm_resp command status: ESME_ROK means
# the SMSC took the message (not the handset), any other ESME_* that it refused it.
SUBMITTED = "ESME_ROK"
_FAILURES = frozenset({"failed", "expired", "rejected", "unknown"})


def _fields(request: CallbackRequest) -> dict[str, str]:
    if request.method == "GET":
        return query_fields(request)
    return form_body(request)


def status_of(message_status: str) -> str:
    """Return the status of a DLR's ``message_status``: an ESME_* status or a stat."""
    value = message_status.strip().upper()
    if value.startswith("ESME_"):
        return "pending" if value == SUBMITTED else "rejected"
    return smpp.status_of(value)


def _receipt(data: dict[str, str]) -> smpp.Receipt:
    return smpp.Receipt(id=text(data.get("id_smsc")), sub=text(data.get("sub")),
                        dlvrd=text(data.get("dlvrd")), submit_date=text(data.get("subdate")),
                        done_date=text(data.get("donedate")),
                        stat=text(data.get("message_status")), err=text(data.get("err")),
                        text=text(data.get("text")))


class Jasmin(Adapter):
    """Adapter for Jasmin's DLR and SMS-MO HTTP calls."""

    name = "jasmin"
    title = "Jasmin SMS Gateway"
    methods = frozenset({"POST", "GET"})
    content_types = frozenset({FORM})
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    reports_segments = False
    # A DLR names the message (id, id_smsc), not the phone it went to.
    reports_phone = False

    def failure_status(self, code: str) -> str:
        """Return the status a failure report with ``code`` reads as."""
        if code.upper().startswith("MAP:"):
            return "failed"
        status = status_of(code)
        return status if status in _FAILURES else "failed"

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the DLR (a ``message_status``) or the SMS-MO (``from`` and ``content``)."""
        data = _fields(request)
        if "message_status" in data:
            if not text(data.get("id")) or not text(data.get("message_status")):
                raise ParseError("the DLR has no id or no message_status")
            return [Record("status", data)]
        if text(data.get("from")) and "content" in data:
            return [Record("inbound", data)]
        raise ParseError("the call is neither a DLR (id, message_status) nor an SMS-MO "
                         "(from, content)")

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a DLR (any level) or an SMS-MO to the event shape."""
        data = dict(record.data)
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received",
                         message_id=text(data.get("id")),
                         phone=e164(data.get("from"), region=account.default_region),
                         text=str(data.get("content") or ""), raw=data)
        message_status = str(data["message_status"]).strip()
        status = status_of(message_status)
        receipt = _receipt(data)
        code = None
        if status in _FAILURES:
            code = message_status.upper() if message_status.upper().startswith("ESME_") \
                else receipt.error_code
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("id")),
            reference=text(data.get("id_smsc")),
            provider_status=smpp.state_name(message_status),
            error_code=code,
            submitted_at=smpp.receipt_time(receipt.submit_date, account.timezone, "subdate"),
            reported_at=smpp.receipt_time(receipt.done_date, account.timezone, "donedate"),
            raw=data,
        )

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer exactly ``ACK/Jasmin``; a refusal is anything else, so Jasmin retries."""
        if ok:
            return text_answer(200, ACK.decode())
        return text_answer(status, f"NACK/{reason or 'error'}")

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Accept a 200 whose body is exactly ``ACK/Jasmin`` (as Jasmin's throwers do)."""
        return status == 200 and body == ACK

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one level-3 DLR (or an SMS-MO) as a form POST."""
        if kind == "inbound":
            fields = {"id": f"sim-mo-{seq}", "from": f"+4915{seq % 10**9:09d}",
                      "to": "12345", "origin-connector": "smsc1", "priority": "1",
                      "coding": "0", "content": f"reply {seq}",
                      "binary": f"reply {seq}".encode().hex().upper()}
        else:
            report = reports[0] if reports else PlannedReport(
                message_id=f"sim-{seq}", phone=f"+4917{seq % 10**9:09d}",
                status="failed" if seq % 10 == 9 else "delivered",
                code="MAP:27" if seq % 10 == 9 else None, submitted_at=now,
                reported_at=now)
            delivered = report.status == "delivered"
            code = report.code or ""
            if delivered:
                stat, err = "DELIVRD", "0"
            elif code.upper().startswith("MAP:") and code[4:].isdigit():
                stat, err = "UNDELIV", str(int(code[4:]))
            else:
                stat, err = code or "UNDELIV", "0"
            fields = {
                "id": report.message_id, "id_smsc": str(10**9 + seq), "message_status": stat,
                "level": "3", "connector": "smsc1",
                "subdate": report.submitted_at.astimezone(account.timezone).strftime(
                    "%y%m%d%H%M"),
                "donedate": report.reported_at.astimezone(account.timezone).strftime(
                    "%y%m%d%H%M"),
                "sub": "1", "dlvrd": "1" if delivered else "0", "err": err, "text": "",
            }
        return SimulatedCallback(urlencode(fields).encode(), {}, FORM, 1)


provider = Jasmin()
