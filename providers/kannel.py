"""Kannel: delivery reports by GET on each message's ``dlr-url``, its escapes expanded.

Kannel calls the ``dlr-url`` the application sent with the message, replacing escapes:
``%d`` the DLR type, ``%I`` the message id, ``%F`` the SMSC's (foreign) id, ``%P`` the
receiver, ``%p`` the sender, ``%T`` the Unix time, ``%i`` the SMSC id, ``%A`` the SMSC's
receipt text. dlrhub gives each account the template to send (``setup``). Replies come
the same way from an ``sms-service`` whose ``get-url`` is the second template. Kannel
does not sign: the secret token of the URL and the IP allow-list are the checks.

Sources: the Kannel user guide's escape table (as copied in xgp/kannel-java,
``sms/src/main/java/org/kannel/sms/Dlr.java``, https://github.com/xgp/kannel-java) and
the dlr-mask values (https://gist.github.com/atkawa7/125c02113df26337de092ab9f47f4542;
``gw/dlr.h`` in Kannel's source distribution, https://www.kannel.org/, adds 32);
the receipt text is SMPP's (``providers/smpp.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from dlrhub.core.vocabulary import EventType
from dlrhub.providers import smpp
from dlrhub.providers.base import (
    Account,
    Adapter,
    CallbackRequest,
    Event,
    ParseError,
    PlannedReport,
    Record,
    SimulatedCallback,
)
from dlrhub.providers.common import FORM, e164, query_fields, text, unix_time

# The DLR type (%d, the dlr-mask bits): 1 delivered to the phone, 2 not delivered to the
# phone, 4 queued on the SMSC, 8 delivered to the SMSC, 16 not delivered to the SMSC,
# 32 an intermediate report (Kannel's gw/dlr.h, DLR_INTERMEDIATE 0x20).
# Kannel maps ACCEPTD to 4 and UNKNOWN, EXPIRED, DELETED, UNDELIV, REJECTD to 2; a 2
# with the receipt text (%A) takes the text's stat (EXPIRED stays expired).
DELIVERED, UNDELIVERED, QUEUED, SMSC_DELIVERED, SMSC_REJECTED = 1, 2, 4, 8, 16
DLR_TEMPLATE = "type=%d&id=%I&fid=%F&to=%P&from=%p&ts=%T&smsc=%i&raw=%A"
MO_TEMPLATE = "from=%p&to=%P&text=%a&ts=%T&smsc=%i&id=%I"
_FINAL_FAILURES = frozenset({"failed", "expired", "rejected", "unknown"})


def dlr_status(dlr_type: int, receipt: smpp.Receipt | None) -> str:
    """Return the status of a DLR type, refined by the receipt text's stat when given."""
    if dlr_type & DELIVERED:
        return "delivered"
    if dlr_type & UNDELIVERED:
        refined = receipt.status if receipt is not None else "failed"
        return refined if refined in _FINAL_FAILURES else "failed"
    if dlr_type & SMSC_REJECTED:
        return "rejected"
    return "pending"  # 4 and 8: on the SMSC, not yet on the phone


def _receipt(raw: str | None) -> smpp.Receipt | None:
    if raw is None:
        return None
    try:
        return smpp.parse_receipt(raw)
    except ParseError:
        return None  # a gateway's own words in %A: kept in raw, the type decides


def _dlr_type(value: Any) -> int:
    raw = text(value)
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 3:
        raise ParseError(f"field 'type' is not a DLR type (1, 2, 4, 8, 16, 32): {value!r}")
    number = int(raw)
    if not number or number > 63:
        raise ParseError(f"field 'type' is not a DLR type (1, 2, 4, 8, 16, 32): {value!r}")
    return number


def _receipt_text(report: PlannedReport, message_id: str) -> str:
    """Render a planned report as the SMSC's receipt text, a failure's code in it."""
    delivered = report.status == "delivered"
    code = report.code or ""
    if delivered:
        stat, err = "DELIVRD", "000"
    elif code.upper().startswith("MAP:") and code[4:].isdigit():
        stat, err = "UNDELIV", f"{int(code[4:]):03d}"
    else:
        stat, err = (code or "UNDELIV"), "000"
    stamp = report.submitted_at.strftime("%y%m%d%H%M")
    done = report.reported_at.strftime("%y%m%d%H%M%S")
    return (f"id:{message_id} sub:001 dlvrd:{'001' if delivered else '000'} "
            f"submit date:{stamp} done date:{done} stat:{stat} err:{err} text:")


class Kannel(Adapter):
    """Adapter for Kannel's dlr-url (and sms-service get-url) callbacks."""

    name = "kannel"
    title = "Kannel"
    methods = frozenset({"GET"})
    content_types = frozenset({FORM})
    # The SMSC's time zone is the tenant's to say; its numbers are international.
    default_timezone = "UTC"
    default_region: str | None = None
    batch_limit: int | None = 1
    # The receipt text counts parts (sub, dlvrd) but not the message's segments.
    reports_segments = False

    def setup(self, callback_url: str) -> Mapping[str, str]:
        """Return the dlr-url to send with each message and the sms-service get-url."""
        return {"dlr_url_template": f"{callback_url}?{DLR_TEMPLATE}",
                "mo_get_url_template": f"{callback_url}?{MO_TEMPLATE}"}

    def failure_status(self, code: str) -> str:
        """Return the status a failure report with ``code`` in its receipt reads as."""
        if code.upper().startswith("MAP:"):
            return "failed"
        status = smpp.status_of(code)
        return status if status in _FINAL_FAILURES else "failed"

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the report (a ``type``) or the reply (a ``text`` and no type)."""
        fields = query_fields(request)
        if "type" in fields:
            _dlr_type(fields["type"])
            if not text(fields.get("id")) and not text(fields.get("fid")):
                raise ParseError("the report has neither id nor fid")
            return [Record("status", fields)]
        if "text" in fields and text(fields.get("from")):
            return [Record("inbound", fields)]
        raise ParseError("the query is neither a report (type=%d) nor a reply "
                         "(from=%p&text=%a)")

    def normalize(self, record: Record, account: Account) -> Event:
        """Map a report (type and receipt text) or a reply to the event shape."""
        data = record.data
        if record.kind == "inbound":
            return Event(type=EventType.inbound, status="received",
                         message_id=text(data.get("id")),
                         phone=e164(data.get("from"), region=account.default_region),
                         text=str(data.get("text") or ""),
                         reported_at=unix_time(data.get("ts"), "ts"), raw=data)
        dlr_type = _dlr_type(data.get("type"))
        receipt = _receipt(text(data.get("raw")))
        status = dlr_status(dlr_type, receipt)
        failed = status in _FINAL_FAILURES
        stat = smpp.state_name(receipt.stat) if receipt is not None else None
        code = None
        if failed:
            code = receipt.error_code if receipt is not None else None
        done = receipt.done_date if receipt is not None else None
        return Event(
            type=EventType.status,
            status=status,
            message_id=text(data.get("id")) or text(data.get("fid")),
            reference=text(data.get("fid")) if text(data.get("id")) else None,
            phone=e164(data.get("to"), region=account.default_region),
            provider_status=stat or str(dlr_type),
            error_code=code,
            submitted_at=smpp.receipt_time(receipt.submit_date if receipt else None,
                                           account.timezone, "submit date"),
            reported_at=smpp.receipt_time(done, account.timezone, "done date")
            or unix_time(data.get("ts"), "ts"),
            raw=data,
        )

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build one dlr-url (or get-url) call, by GET, its record in the query."""
        if kind == "inbound":
            fields = {"from": f"+4915{seq % 10**9:09d}", "to": "12345",
                      "text": f"reply {seq}", "ts": str(int(now.timestamp())),
                      "smsc": "smsc1", "id": f"sim-mo-{seq}"}
        else:
            report = reports[0] if reports else PlannedReport(
                message_id=f"sim-{seq}", phone=f"+4917{seq % 10**9:09d}",
                status="failed" if seq % 10 == 9 else "delivered",
                code="MAP:27" if seq % 10 == 9 else None, submitted_at=now,
                reported_at=now)
            delivered = report.status == "delivered"
            smsc_id = f"{seq:08x}"
            local = replace(report,
                            submitted_at=report.submitted_at.astimezone(account.timezone),
                            reported_at=report.reported_at.astimezone(account.timezone))
            fields = {"type": str(DELIVERED if delivered else UNDELIVERED),
                      "id": report.message_id, "fid": smsc_id, "to": report.phone,
                      "from": "dlrhub", "ts": str(int(report.reported_at.timestamp())),
                      "smsc": "smsc1", "raw": _receipt_text(local, smsc_id)}
        return SimulatedCallback(b"", {}, "", 1, method="GET", query=urlencode(fields))


provider = Kannel()
