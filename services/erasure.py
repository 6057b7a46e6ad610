"""Erasure of one person's data by phone number, from everything kept for a tenant.

What happens per table (docs/privacy.md says it for people):

- ``receipt``: the receipts to the number are deleted (found by ``ix_receipt_tenant_phone``);
  receipts to other numbers whose text or raw record mention it (a batch body, an
  inbound message) have each mention masked.
- ``message``: the number's rows are deleted (read on the primary key's index, whose
  first column is the tenant and which holds the phone: no table row is read to find them).
- ``expectation``: the number's rows are deleted (``ix_expectation_tenant_phone``).
- ``inbound_callback``: the raw bodies, query strings and headers that mention the number
  are kept, with every form of the number masked in the stored bytes (``+*************``:
  each digit a ``*``), so that the rest stays readable and a JSON body stays JSON. No
  index can find a number inside bytes: the tenant's inbox is read once, in batches,
  by the database (only rows holding the number's national digits leave it).
- ``delivery`` and ``attempt``: a delivery holds no body (its events are read when it is
  sent), so the deliveries that carried the erased receipts or a masked body have their
  error text and their attempts' response excerpts masked; those still pending with no
  event left are ended (``dead``, "erased") rather than sending an empty batch.

Aggregates (``delivery_stats``) keep their counts: they hold no number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import phonenumbers
from sqlalchemy import LargeBinary, Text, cast, delete, func, literal, or_, select, update
from sqlmodel import Session

from dlrhub.core.vocabulary import DeliveryStatus
from dlrhub.models import (
    ACCOUNT_TABLE,
    ATTEMPT_TABLE,
    DELIVERY_TABLE,
    EXPECTATION_TABLE,
    INBOX_TABLE,
    MESSAGE_TABLE,
    RECEIPT_TABLE,
    utcnow,
)
from dlrhub.services.errors import InvalidInput

# Rows per statement: bounds each batch's memory and each IN list.
BATCH = 500
DEFAULT_REGION = "CN"
_GIVEN = re.compile(r"\+?[0-9][0-9 ()\-.]{0,30}")
_SEPARATORS = re.compile(r"[ ()\-.]")


@dataclass(frozen=True)
class NumberForms:
    """A number in E.164 and every textual form a provider may send it in."""

    e164: str
    # What a phone column may hold: E.164, without "+", with "00", national, bare.
    stored: tuple[str, ...]
    # Every form contains these digits (the national significant number).
    needle: str
    text: re.Pattern[str]
    raw: re.Pattern[bytes]

    def mask(self, value: str) -> str:
        """Return ``value`` with every form of the number masked."""
        return self.text.sub(_mask, value)

    def mentions(self, value: str) -> bool:
        """Tell whether ``value`` holds a form of the number."""
        return self.text.search(value) is not None


def _mask(match: re.Match[str]) -> str:
    # The "+" (or "%2B") stays, each digit is a "*": the value keeps its kind and length.
    return (match.group("plus") or "") + "*" * len(match.group("digits"))


def _mask_bytes(match: re.Match[bytes]) -> bytes:
    return (match.group("plus") or b"") + b"*" * len(match.group("digits"))


def forms_of(given: Any, region: str | None) -> NumberForms:
    """Return the forms of a phone number given in any form; ``InvalidInput`` if it is none.

    A national number (no ``+``, no ``00``) is read in ``region``; digits that are no
    valid number there but are one with a ``+`` (``8613800000000``) are read so.
    """
    if not isinstance(given, str) or not given.strip():
        raise InvalidInput("phone", "must be a phone number")
    raw = given.strip()
    if not _GIVEN.fullmatch(raw):
        raise InvalidInput("phone", "must be a phone number: digits, optionally a leading +")
    digits = _SEPARATORS.sub("", raw)
    number = _parse(digits, (region or DEFAULT_REGION).upper())
    if number is None:
        raise InvalidInput("phone", "is not a phone number of any region")
    cc = str(number.country_code)
    nsn = phonenumbers.national_significant_number(number)
    national = re.sub(r"[^0-9]", "", phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.NATIONAL))
    stored = tuple(dict.fromkeys((f"+{cc}{nsn}", f"{cc}{nsn}", f"00{cc}{nsn}",
                                  national, nsn)))
    # Longest first, so that "0086…" is masked whole rather than from its "86…".
    alternatives = sorted({s.lstrip("+") for s in stored}, key=len, reverse=True)
    body = "|".join(re.escape(a) for a in alternatives)
    # A "+" (or its form encoding) before the digits goes with them; no digit may
    # touch either end, so that a longer number holding these digits is left alone.
    pattern = rf"(?P<plus>\+|%2[Bb])?(?<![0-9])(?P<digits>{body})(?![0-9])"
    return NumberForms(e164=f"+{cc}{nsn}", stored=stored, needle=nsn,
                       text=re.compile(pattern), raw=re.compile(pattern.encode()))


def _parse(digits: str, region: str) -> phonenumbers.PhoneNumber | None:
    candidates: list[tuple[str, str | None]] = []
    if digits.startswith("+"):
        candidates.append((digits, None))
    elif digits.startswith("00"):
        candidates.append(("+" + digits[2:], None))
    else:
        candidates += [(digits, region), ("+" + digits, None)]
    found: list[phonenumbers.PhoneNumber] = []
    for text, where in candidates:
        try:
            number = phonenumbers.parse(text, where)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
        if phonenumbers.is_possible_number(number):
            found.append(number)
    return found[0] if found else None


def redact_bytes(body: bytes, forms: NumberForms) -> bytes:
    """Return ``body`` with every form of the number masked, JSON kept JSON.

    A number sent as a JSON number (unquoted) would not stay JSON with its digits
    masked: such a body is parsed and written again with the mask as a string.
    """
    out = forms.raw.sub(_mask_bytes, body)
    if out == body or body.lstrip()[:1] not in (b"{", b"["):
        return out
    try:
        orjson.loads(out)
        return out
    except orjson.JSONDecodeError:
        pass
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return out
    return orjson.dumps(redact_json(doc, forms))


def redact_json(doc: Any, forms: NumberForms) -> Any:
    """Return a JSON document with every form of the number masked in its values and keys."""
    if isinstance(doc, str):
        return forms.mask(doc)
    if isinstance(doc, bool) or doc is None or isinstance(doc, float):
        return doc
    if isinstance(doc, int):
        return forms.mask(str(doc)) if forms.mentions(str(doc)) else doc
    if isinstance(doc, list):
        return [redact_json(v, forms) for v in doc]
    if isinstance(doc, dict):
        return {forms.mask(str(k)): redact_json(v, forms) for k, v in doc.items()}
    return doc


@dataclass
class Report:
    """What an erasure changed, per table: rows deleted and rows masked."""

    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    # The receipts deleted and the inbox rows masked: the deliveries to look at.
    receipt_ids: set[str] = field(default_factory=set)
    inbox_ids: set[str] = field(default_factory=set)

    def add(self, table: str, what: str, n: int) -> None:
        """Count ``n`` rows of ``table`` as ``what`` (deleted, redacted)."""
        counts = self.tables.setdefault(table, {"deleted": 0, "redacted": 0})
        counts[what] += n


def region_of(session: Session, *, tenant_id: str, given: str | None) -> str:
    """Return the region national numbers are read in: given, the accounts' one, or CN."""
    if given:
        return given.upper()
    a = ACCOUNT_TABLE
    regions = set(session.execute(select(a.c.default_region).distinct().where(
        a.c.tenant_id == tenant_id, a.c.default_region.is_not(None))).scalars())
    return regions.pop() if len(regions) == 1 else DEFAULT_REGION


def erase(session: Session, *, tenant_id: str, forms: NumberForms) -> Report:
    """Remove a number's data from everything kept for ``tenant_id``.

    Commits after each batch: the scan of a large tenant's inbox takes a while, and one
    transaction around it would hold SQLite's one write lock (callbacks and ingest would
    wait) or every changed row on PostgreSQL until the end. Each step is idempotent, so
    an erasure cut short is finished by asking again. The number's receipts, messages
    and expectations are deleted again at the end: a worker may have stored some from a
    callback it read before the inbox was masked.
    """
    report = Report()
    for table in ("receipt", "message", "expectation", "inbound_callback", "delivery",
                  "attempt"):
        report.tables[table] = {"deleted": 0, "redacted": 0}
    _direct(session, tenant_id, forms, report)
    _inbox(session, tenant_id, forms, report)
    _deliveries(session, tenant_id, forms, report)
    _direct(session, tenant_id, forms, report)
    return report


def _direct(session: Session, tenant_id: str, forms: NumberForms, report: Report) -> None:
    """Delete the rows kept under the number itself: receipts, messages, expectations."""
    _receipts(session, tenant_id, forms, report)
    m = MESSAGE_TABLE
    report.add("message", "deleted", _deleted(session.execute(delete(m).where(
        m.c.tenant_id == tenant_id, m.c.phone.in_(forms.stored)))))
    e = EXPECTATION_TABLE
    report.add("expectation", "deleted", _deleted(session.execute(delete(e).where(
        e.c.tenant_id == tenant_id, e.c.phone.in_(forms.stored)))))
    session.commit()


def _deleted(result: Any) -> int:
    # A DELETE's result is a CursorResult, which the session's execute() does not say.
    return int(result.rowcount)


def _receipts(session: Session, tenant_id: str, forms: NumberForms, report: Report) -> None:
    r = RECEIPT_TABLE
    while True:
        ids = list(session.execute(select(r.c.id).where(
            r.c.tenant_id == tenant_id, r.c.phone.in_(forms.stored)).limit(BATCH)).scalars())
        if not ids:
            return
        session.execute(delete(r).where(r.c.id.in_(ids)))
        report.receipt_ids.update(ids)
        report.add("receipt", "deleted", len(ids))
        session.commit()


def _inbox(session: Session, tenant_id: str, forms: NumberForms, report: Report) -> None:
    i = INBOX_TABLE
    needle = forms.needle
    last = ""
    while True:
        rows = session.execute(
            select(i.c.id, i.c.body, i.c.query, i.c.reason, i.c.headers, i.c.received_at)
            .where(i.c.tenant_id == tenant_id, i.c.id > last, or_(
                _holds_bytes(session, i.c.body, needle.encode()),
                i.c.query.contains(needle),
                i.c.reason.contains(needle), cast(i.c.headers, Text).contains(needle)))
            .order_by(i.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        changed = []
        for row in rows:
            values = {"body": redact_bytes(row.body, forms), "query": forms.mask(row.query),
                      "reason": forms.mask(row.reason) if row.reason else row.reason,
                      "headers": redact_json(row.headers or {}, forms)}
            if (values["body"], values["query"], values["reason"], values["headers"]) != (
                    row.body, row.query, row.reason, row.headers or {}):
                session.execute(update(i).where(i.c.id == row.id).values(**values))
                changed.append(row)
        report.add("inbound_callback", "redacted", len(changed))
        report.inbox_ids.update(r.id for r in changed)
        if changed:
            _receipts_of(session, tenant_id, [r.id for r in changed],
                         min(r.received_at for r in changed), forms, report)
        session.commit()


def _holds_bytes(session: Session, column: Any, needle: bytes) -> Any:
    """Return a test of a bytes column holding ``needle``, in the database's own terms."""
    found = literal(needle, LargeBinary)
    if session.get_bind().dialect.name == "sqlite":
        return func.instr(column, found) > 0  # LIKE would read the BLOB as text
    return func.position(found.op("IN")(column)) > 0


def _receipts_of(session: Session, tenant_id: str, inbox_ids: list[str], since: Any,
                 forms: NumberForms, report: Report) -> None:
    """Mask the number in the other receipts that came in the masked callbacks.

    Read by the tenant's receipts from the earliest of those callbacks on
    (``ix_receipt_tenant_received``): a receipt is stored after its callback came.
    """
    r = RECEIPT_TABLE
    rows = session.execute(select(r.c.id, r.c.text, r.c.error_message, r.c.raw, r.c.details)
                           .where(r.c.tenant_id == tenant_id, r.c.received_at >= since,
                                  r.c.inbox_id.in_(inbox_ids))).all()
    for row in rows:
        values = {"text": _mask_text(row.text, forms),
                  "error_message": _mask_text(row.error_message, forms),
                  "raw": redact_json(row.raw, forms),
                  "details": redact_json(row.details, forms)}
        if (values["text"], values["error_message"], values["raw"], values["details"]) != (
                row.text, row.error_message, row.raw, row.details):
            session.execute(update(r).where(r.c.id == row.id).values(**values))
            report.add("receipt", "redacted", 1)


def _mask_text(value: str | None, forms: NumberForms) -> str | None:
    return forms.mask(value) if value else value


def _deliveries(session: Session, tenant_id: str, forms: NumberForms, report: Report) -> None:
    """Mask the deliveries (and their attempts) that carried the number; end the empty ones.

    The tenant's deliveries are read in batches on ``ix_delivery_tenant_endpoint``: which
    events a delivery carries is a JSON list no index can look into.
    """
    if not report.receipt_ids and not report.inbox_ids:
        return
    d = DELIVERY_TABLE
    last = ""
    while True:
        rows = session.execute(
            select(d.c.id, d.c.event_ids, d.c.inbox_id, d.c.status, d.c.last_error)
            .where(d.c.tenant_id == tenant_id, d.c.id > last)
            .order_by(d.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        touched = [row for row in rows if row.inbox_id in report.inbox_ids
                   or not report.receipt_ids.isdisjoint(row.event_ids or [])]
        changed = 0
        for row in touched:
            values: dict[str, Any] = {}
            if row.last_error and forms.mentions(row.last_error):
                values["last_error"] = forms.mask(row.last_error)
            if row.status == DeliveryStatus.pending.value:
                # Still to be sent: without the erased events, or not at all.
                left = [e for e in row.event_ids or [] if e not in report.receipt_ids]
                values["event_ids"] = left
                if not left and not row.inbox_id:
                    values.update(status=DeliveryStatus.dead.value, next_attempt_at=None,
                                  last_error="erased: its events were erased")
            if values:
                values["updated_at"] = utcnow()
                session.execute(update(d).where(d.c.id == row.id).values(**values))
                changed += 1
        report.add("delivery", "redacted", changed)
        _attempts(session, [row.id for row in touched], forms, report)
        session.commit()


def _attempts(session: Session, delivery_ids: Iterable[str], forms: NumberForms,
              report: Report) -> None:
    a = ATTEMPT_TABLE
    ids = list(delivery_ids)
    if not ids:
        return
    rows = session.execute(select(a.c.id, a.c.error, a.c.response_excerpt)
                           .where(a.c.delivery_id.in_(ids))).all()
    for row in rows:
        error = _mask_text(row.error, forms)
        excerpt = _mask_text(row.response_excerpt, forms)
        if (error, excerpt) != (row.error, row.response_excerpt):
            session.execute(update(a).where(a.c.id == row.id).values(
                error=error, response_excerpt=excerpt))
            report.add("attempt", "redacted", 1)
