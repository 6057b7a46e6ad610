"""The pure decisions about expected messages: deadlines, matching, the events emitted.

No database here: the functions take plain values and return plain values, so that
each rule is tested on its own (tests/unit/services/test_expectation_rules.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from dlrhub.core.times import iso_z
from dlrhub.models import EventType, ExpectationState, ReasonClass, ReceiptStatus, new_id
from dlrhub.models.account import (
    MAX_DEADLINE_SECONDS,
    MIN_DEADLINE_SECONDS,
)
from dlrhub.services.errors import InvalidInput
from dlrhub.services.insight.numbers import locate

# Clocks differ: a send a little in the future is the sender's clock, not an error.
MAX_FUTURE_SENT_AT = timedelta(hours=1)
MAX_PAST_SENT_AT = timedelta(seconds=MAX_DEADLINE_SECONDS)
# The JSON route takes at most this many expectations in one request.
MAX_ITEMS = 1000

WAITING = (ExpectationState.pending.value, ExpectationState.missing.value)
_NOT_FINAL = frozenset({ReceiptStatus.pending.value, ReceiptStatus.received.value})
_STATUS = EventType.status.value


@dataclass(frozen=True)
class Due:
    """When an expected message's receipt is overdue, and when dlrhub gives up on it."""

    deadline_at: datetime
    horizon_at: datetime


def check_seconds(field: str, seconds: int) -> int:
    """Return ``seconds`` if it is a deadline or horizon dlrhub keeps, else raise naming it."""
    if not MIN_DEADLINE_SECONDS <= seconds <= MAX_DEADLINE_SECONDS:
        raise InvalidInput(field, f"must be between {MIN_DEADLINE_SECONDS} and "
                                  f"{MAX_DEADLINE_SECONDS} seconds (30 days)")
    return seconds


def check_sent_at(sent_at: datetime, now: datetime) -> datetime:
    """Return ``sent_at`` if it is a plausible send time, else raise naming it."""
    if sent_at.tzinfo is None:
        raise InvalidInput("sent_at", "must carry a time zone (e.g. 2024-01-01T00:00:00Z)")
    if sent_at > now + MAX_FUTURE_SENT_AT:
        raise InvalidInput("sent_at", "is more than an hour in the future")
    if sent_at < now - MAX_PAST_SENT_AT:
        raise InvalidInput("sent_at", "is more than 30 days in the past")
    return sent_at


def due(sent_at: datetime, deadline_seconds: int, horizon_seconds: int) -> Due:
    """Return the deadline and the horizon of a message sent at ``sent_at``.

    The horizon is never before the deadline: a sender who allows 7 days on an account
    whose horizon is 72 h gets its missing event after 7 days and the synthetic status
    with it, not a synthetic status before the receipt was even late.
    """
    deadline = sent_at + _seconds(deadline_seconds)
    return Due(deadline, max(deadline, sent_at + _seconds(horizon_seconds)))


@lru_cache(maxsize=256)
def _seconds(seconds: int) -> timedelta:
    # An account's few deadlines and horizons: made once, not once per registration.
    return timedelta(seconds=seconds)


def phone_key(phone: str | None) -> str:
    """Return the unique key's phone part: "" for an expectation of every recipient."""
    return phone or ""


def is_final(receipt: Mapping[str, Any]) -> bool:
    """Tell whether a stored receipt row is a provider's final status of a message."""
    return (receipt["type"] == _STATUS and receipt["status"] not in _NOT_FINAL
            and bool(receipt["message_id"]) and not receipt.get("synthetic"))


@dataclass(frozen=True)
class Waiting:
    """An expectation as matching sees it."""

    id: str
    account_id: str
    message_id: str
    phone_key: str
    state: str


@dataclass(frozen=True)
class Matches:
    """What a batch of final receipts does to the expectations of their messages."""

    # Expectation id -> the id of the first receipt of the batch that meets it.
    met: dict[str, str]
    # The receipts no expectation (in any state) stands for, as stored rows.
    unmatched: list[Mapping[str, Any]]


def match(receipts: Sequence[Mapping[str, Any]], expectations: Iterable[Waiting]) -> Matches:
    """Decide which expectations ``receipts`` (final, in arrival order) meet.

    An expectation with a phone is met by a receipt to that phone; one without, by any
    receipt of its message id (several recipients of one send may share it). Only
    ``pending`` and ``missing`` ones change: one already met keeps its first receipt.
    A receipt for which no expectation exists at all is unmatched.
    """
    by_message: dict[tuple[str, str], list[Waiting]] = {}
    for exp in expectations:
        by_message.setdefault((exp.account_id, exp.message_id), []).append(exp)
    met: dict[str, str] = {}
    unmatched: list[Mapping[str, Any]] = []
    for receipt in receipts:
        phone = receipt["phone"] or ""
        found = [e for e in by_message.get((receipt["account_id"], receipt["message_id"]), ())
                 if e.phone_key in ("", phone)]
        if not found:
            unmatched.append(receipt)
        for exp in found:
            if exp.state in WAITING and exp.id not in met:
                met[exp.id] = receipt["id"]
    return Matches(met, unmatched)


# --- the events dlrhub emits about an expected message ---------------------------


def missing_event(expectation: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Return the ``sms.receipt_missing`` receipt row of an overdue expectation.

    Its status is ``pending``: the message has no final status yet. ``inbox_id`` names
    the expectation, as a receipt's names the callback it came from; the dedupe key
    makes a second emission of the same event a conflict the insert skips.
    """
    return _event(expectation, now, EventType.receipt_missing, ReceiptStatus.pending,
                  synthetic=False)


def synthetic_status(expectation: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Return dlrhub's final ``unknown`` status of an expectation past its horizon."""
    row = _event(expectation, now, EventType.status, ReceiptStatus.unknown, synthetic=True)
    row["reason_class"] = ReasonClass.other_unknown.value
    row["details"]["horizon_at"] = iso_z(expectation["horizon_at"])
    return row


def _event(exp: Mapping[str, Any], now: datetime, kind: EventType, status: ReceiptStatus,
           *, synthetic: bool) -> dict[str, Any]:
    key = hashlib.sha256(f"{kind.value}\x1f{synthetic}\x1f{exp['id']}".encode()).hexdigest()
    # Where the message went, as a receipt to that phone would say: missing receipts are
    # filtered and counted by carrier too.
    country, carrier = locate(exp["phone"])
    return {
        "id": new_id("evt"), "tenant_id": exp["tenant_id"], "account_id": exp["account_id"],
        "inbox_id": exp["id"], "type": kind.value, "provider": exp["provider"],
        "message_id": exp["message_id"], "reference": exp["reference"],
        "phone": exp["phone"], "status": status.value, "provider_status": None,
        "error_code": None, "error_message": None, "segments": None, "sequence": None,
        "part": None, "price": None,
        "submitted_at": exp["sent_at"], "reported_at": None, "received_at": now,
        "text": None, "raw": {}, "dedupe_key": key, "reason_class": None,
        "retryable": None, "country": country, "carrier": carrier, "synthetic": synthetic,
        "details": {"expected_by": iso_z(exp["deadline_at"]), "template": exp["template"],
                    "sent_at": iso_z(exp["sent_at"]), "expectation_id": exp["id"]},
    }

