"""One status per message, whatever order its receipts come in: the rules, as pure functions.

Providers resend, reorder and contradict themselves: a ``pending`` report may arrive after
the ``delivered`` one, a second final report may disagree with the first, and a long SMS
may be reported part by part. ``apply`` folds a message's new receipts into its state and
``summarize`` says where the message stands; ``services/messages.py`` keeps the state in
the database. Nothing here reads a clock or a database, so every rule is a unit test.

The rules, per part (a message reported whole is the one part ``''``):

- a final status is never replaced by a later ``pending``: that receipt is counted as out
  of order (so is a ``pending`` older than the ``pending`` the part already has);
- a second final status that disagrees with the first keeps the first and yields a
  ``Correction`` (dlrhub emits ``sms.status_corrected``); one that agrees changes nothing;
- ``unknown`` is final but says nothing: a later delivered, failed, expired or rejected
  report replaces it without a correction, and a later ``unknown`` never replaces those.

Which of two reports came later is the provider's word where it numbers its reports
(``sequence``: Plivo's ``Sequence``), else the time it says the report happened, else
the time it arrived.

A message with parts is ``delivered`` when every part is (all ``segments`` of them, where
the provider says how many); otherwise it takes its worst part's status, reason class and
retryable, in the order of ``WORST``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

PENDING = "pending"
UNKNOWN = "unknown"
DELIVERED = "delivered"
# Worst first: a long SMS takes the status of its worst part. A rejected or failed part
# makes the message undeliverable whatever the others do; an expired part gave up; an
# unknown part may or may not have arrived; a pending one still may; delivered is best.
WORST = ("rejected", "failed", "expired", UNKNOWN, PENDING, DELIVERED)
_RANK = {status: rank for rank, status in enumerate(WORST)}
# The part of a message reported whole.
WHOLE = ""
# Where a report has no sequence: before every numbered one (sequences start at 0 or 1).
_NO_SEQUENCE = -1


@dataclass(frozen=True, slots=True)
class Report:
    """What the rules read of one receipt of the message."""

    id: str
    status: str
    received_at: datetime
    reported_at: datetime | None = None
    submitted_at: datetime | None = None
    provider_status: str | None = None
    part: str = WHOLE
    segments: int | None = None
    reason_class: str | None = None
    retryable: bool | None = None
    sequence: int | None = None

    @property
    def happened(self) -> tuple[int, datetime, datetime, str]:
        """Order of events: the provider's sequence, when it says it happened, arrival, id.

        A receipt without a reported time counts as happening when it was received; one
        without a sequence (most providers give none) comes before any that has one.
        """
        return (_NO_SEQUENCE if self.sequence is None else self.sequence,
                self.reported_at or self.received_at, self.received_at, self.id)


@dataclass(frozen=True, slots=True)
class Part:
    """Where one part stands: its status and the receipt that set it."""

    status: str
    receipt_id: str
    received_at: datetime
    reported_at: datetime | None = None
    provider_status: str | None = None
    reason_class: str | None = None
    retryable: bool | None = None
    sequence: int | None = None

    @classmethod
    def of(cls, report: Report) -> Part:
        """Return the part as ``report`` sets it."""
        return cls(report.status, report.id, report.received_at, report.reported_at,
                   report.provider_status, report.reason_class, report.retryable,
                   report.sequence)

    @property
    def final(self) -> bool:
        """Every status but ``pending`` is final."""
        return self.status != PENDING

    @property
    def happened(self) -> tuple[int, datetime, datetime, str]:
        """The order key of the receipt that set the part (see ``Report.happened``)."""
        return (_NO_SEQUENCE if self.sequence is None else self.sequence,
                self.reported_at or self.received_at, self.received_at, self.receipt_id)

    def document(self) -> dict[str, Any]:
        """Return the part as JSON (what the message row keeps and the API shows)."""
        return {"status": self.status, "receipt_id": self.receipt_id,
                "provider_status": self.provider_status, "reported_at": _iso(self.reported_at),
                "received_at": _iso(self.received_at), "reason_class": self.reason_class,
                "retryable": self.retryable, "sequence": self.sequence}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Part:
        """Read back what ``document`` wrote."""
        received = _time(doc["received_at"])
        assert received is not None
        return cls(doc["status"], doc["receipt_id"], received, _time(doc.get("reported_at")),
                   doc.get("provider_status"), doc.get("reason_class"), doc.get("retryable"),
                   doc.get("sequence"))


@dataclass(frozen=True, slots=True)
class Correction:
    """A final report that disagrees with the part's first final status, which stays."""

    part: str
    kept: Part
    reported: Report


@dataclass(slots=True)
class State:
    """What a message row keeps between batches."""

    parts: dict[str, Part] = field(default_factory=dict)
    segments: int | None = None
    submitted_at: datetime | None = None
    out_of_order: int = 0
    corrected: bool = False
    first_receipt_id: str | None = None
    last_receipt_id: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The state after a batch, the corrections it yields and its out-of-order receipts."""

    state: State
    corrections: list[Correction]
    out_of_order: int


@dataclass(frozen=True, slots=True)
class Summary:
    """Where a message stands, from its parts."""

    status: str
    final: bool
    reason_class: str | None = None
    retryable: bool | None = None
    provider_status: str | None = None
    # The receipt that decided the status (the last part's, for a delivered long SMS).
    receipt_id: str | None = None
    sequence: int | None = None
    reported_at: datetime | None = None
    received_at: datetime | None = None
    handset_latency_ms: int | None = None
    receipt_lag_ms: int | None = None


def stored_parts(row: Mapping[str, Any] | object) -> dict[str, Part]:
    """Return a message row's parts: its ``parts`` document, else its status columns.

    ``row`` is a mapping (a Core row) or a ``Message``. A message reported whole (most
    are) keeps no document: its one part is the receipt that set its status, whose every
    fact the row's own columns hold. That keeps the row about half as wide, which is
    most of what writing it costs.
    """
    get = row.__getitem__ if isinstance(row, Mapping) else partial(getattr, row)
    document = get("parts")
    if document is not None:
        return {k: Part.from_document(v) for k, v in document.items()}
    if get("status_receipt_id") is None:
        return {}
    return {WHOLE: Part(get("status"), get("status_receipt_id"), get("received_at"),
                        get("reported_at"), get("provider_status"), get("reason_class"),
                        get("retryable"), get("sequence"))}


def parts_document(parts: dict[str, Part]) -> dict[str, Any] | None:
    """Return the ``parts`` document a row keeps: None for a message reported whole."""
    if parts.keys() == {WHOLE}:
        return None
    return {k: p.document() for k, p in parts.items()}


def ordered(reports: Iterable[Report]) -> list[Report]:
    """Return ``reports`` in the order they happened (``Report.happened``)."""
    return sorted(reports, key=lambda r: r.happened)


def apply(state: State, reports: Sequence[Report]) -> Outcome:
    """Fold a batch of a message's new receipts into its state, in the order they happened.

    ``state`` is not changed; the receipts are each new (dedupe dropped repeats).
    """
    parts = dict(state.parts)
    corrections: list[Correction] = []
    late = 0
    segments = state.segments
    submitted = state.submitted_at
    first = state.first_receipt_id
    last = state.last_receipt_id
    for report in ordered(reports):
        first = first or report.id
        last = report.id
        if report.segments is not None:
            segments = max(segments or 0, report.segments)
        if report.submitted_at is not None and (submitted is None
                                                or report.submitted_at < submitted):
            submitted = report.submitted_at
        current = parts.get(report.part)
        verdict = _verdict(current, report)
        if verdict == "take":
            parts[report.part] = Part.of(report)
        elif verdict == "late":
            late += 1
        elif verdict == "disagree":
            assert current is not None
            corrections.append(Correction(report.part, current, report))
    new = replace(state, parts=parts, segments=segments, submitted_at=submitted,
                  out_of_order=state.out_of_order + late,
                  corrected=state.corrected or bool(corrections),
                  first_receipt_id=first, last_receipt_id=last)
    return Outcome(new, corrections, late)


def _verdict(current: Part | None, report: Report) -> str:
    """Say what ``report`` does to a part: take it, late, disagree, or keep (nothing)."""
    if current is None:
        return "take"
    if not current.final:
        if report.status != PENDING or report.happened >= current.happened:
            return "take"
        return "late"
    if report.status == PENDING:
        return "late"
    if report.status == current.status or report.status == UNKNOWN:
        return "keep"
    if current.status == UNKNOWN:
        return "take"
    return "disagree"


def summarize(state: State) -> Summary:
    """Return the message's status from its parts, and its two latencies.

    Parts the provider announced (``segments``) but has not reported count as pending,
    where the parts are numbered. Handset latency (reported - submitted) is given once the
    status is final; receipt lag (received - reported) for the deciding receipt; both in
    milliseconds, None where a time is missing.
    """
    parts = state.parts
    if not parts:
        return Summary(PENDING, False)
    numbered = [p for key, p in parts.items() if key != WHOLE]
    missing = bool(numbered) and state.segments is not None and len(numbered) < state.segments
    worst = min(parts.values(), key=lambda p: (_RANK.get(p.status, 0), p.happened))
    if worst.status == DELIVERED:
        # Delivered when the last part was; or still pending while parts are unreported.
        decider = max(parts.values(), key=lambda p: p.happened)
        if missing:
            decider = replace(decider, status=PENDING)
    else:
        decider = worst
    final = decider.final
    handset = (_ms(decider.reported_at, state.submitted_at)
               if final and decider.reported_at else None)
    return Summary(
        status=decider.status, final=final, reason_class=decider.reason_class,
        retryable=decider.retryable, provider_status=decider.provider_status,
        receipt_id=decider.receipt_id, sequence=decider.sequence, reported_at=decider.reported_at,
        received_at=decider.received_at, handset_latency_ms=handset,
        receipt_lag_ms=_ms(decider.received_at, decider.reported_at))


def _ms(later: datetime | None, earlier: datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() * 1000)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
