"""The pure decisions of an alert rule: what it measured, and whether that changes its state.

No database here: a rule, what was counted in its window and its previous state go in;
its new state and the event to emit, if any, come out
(tests/unit/services/test_alert_evaluate.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dlrhub.core.times import iso_z
from dlrhub.models import AlertKind, AlertState, EventType, ReceiptStatus, new_id

# Where an alert names no provider, the event says it is dlrhub's own.
OWN_PROVIDER = "dlrhub"


@dataclass(frozen=True)
class Rule:
    """An alert rule as evaluation sees it."""

    id: str
    tenant_id: str
    kind: AlertKind
    threshold: float
    window_seconds: int
    min_messages: int
    reason_class: str | None
    scope: dict[str, Any]
    enabled: bool = True


@dataclass(frozen=True)
class Counts:
    """What was counted in a rule's window.

    ``part`` of ``whole``: delivered of final messages (``delivery_rate_below``), the
    class's failures of all failures (``reason_share_above``), missing of expectations
    due (``missing_share_above``); for ``no_receipts_for``, ``part`` is the receipts of
    the account in the window and ``whole`` its expectations pending for longer.
    """

    part: int
    whole: int


@dataclass(frozen=True)
class State:
    """Where a rule stands between evaluations."""

    firing: bool = False
    firing_since: datetime | None = None
    last_value: float | None = None


@dataclass(frozen=True)
class Outcome:
    """A rule's new state, and the ``state`` of the event to emit (None: emit nothing)."""

    state: State
    event: AlertState | None


def value_of(rule: Rule, counts: Counts) -> float | None:
    """Return what the rule measures, or None where there are too few messages to say."""
    if rule.kind is AlertKind.no_receipts_for:
        return float(counts.part)
    if counts.whole < rule.min_messages or counts.whole == 0:
        return None
    return counts.part / counts.whole


def breached(rule: Rule, counts: Counts) -> bool | None:
    """Tell whether the rule's condition holds; None where the window cannot tell."""
    value = value_of(rule, counts)
    if rule.kind is AlertKind.no_receipts_for:
        # Nothing waiting long enough: a quiet account, not a broken pipeline.
        return counts.whole >= rule.min_messages and counts.part == 0
    if value is None:
        return None
    if rule.kind is AlertKind.delivery_rate_below:
        return value < rule.threshold
    return value > rule.threshold


def decide(rule: Rule, counts: Counts | None, previous: State, now: datetime) -> Outcome:
    """Return the rule's new state and whether it starts firing or resolves.

    A rule fires once and stays quiet while it keeps firing; it resolves once when its
    condition stops holding, or when it is disabled (``counts`` None). A window with too
    few messages to tell changes nothing: a rule does not flap on an empty hour.
    """
    if counts is None or not rule.enabled:
        if previous.firing:
            return Outcome(State(False, None, previous.last_value), AlertState.resolved)
        return Outcome(previous, None)
    value = value_of(rule, counts)
    holds = breached(rule, counts)
    if holds is None:
        return Outcome(State(previous.firing, previous.firing_since, value), None)
    if holds and not previous.firing:
        return Outcome(State(True, now, value), AlertState.firing)
    if not holds and previous.firing:
        return Outcome(State(False, None, value), AlertState.resolved)
    return Outcome(State(previous.firing, previous.firing_since, value), None)


def alert_event(rule: Rule, outcome: Outcome, previous: State, now: datetime
                ) -> dict[str, Any]:
    """Return the ``sms.alert`` receipt row of a rule that started firing or resolved.

    Its status is ``pending``, as a missing receipt's: it is no message's final status,
    so counts of final statuses leave it out. ``inbox_id`` names the rule; the dedupe
    key names the rule, the episode (when it started firing) and the state.
    """
    assert outcome.event is not None
    since = outcome.state.firing_since if outcome.event is AlertState.firing \
        else previous.firing_since
    key = hashlib.sha256(f"{rule.id}\x1f{_iso(since)}\x1f{outcome.event.value}"
                         .encode()).hexdigest()
    scope = {k: v for k, v in rule.scope.items() if v is not None}
    return {
        "id": new_id("evt"), "tenant_id": rule.tenant_id,
        "account_id": scope.get("account_id"), "inbox_id": rule.id,
        "type": EventType.alert.value, "provider": scope.get("provider") or OWN_PROVIDER,
        "message_id": None, "reference": None, "phone": None,
        "status": ReceiptStatus.pending.value, "provider_status": None, "error_code": None,
        "error_message": None, "segments": None, "sequence": None, "part": None, "price": None,
        "submitted_at": None,
        "reported_at": None, "received_at": now, "text": None, "raw": {},
        "dedupe_key": key, "reason_class": None, "retryable": None,
        "country": scope.get("country"), "carrier": scope.get("carrier"),
        "synthetic": False,
        "details": {"rule_id": rule.id, "kind": rule.kind.value,
                    "state": outcome.event.value, "value": outcome.state.last_value,
                    "threshold": rule.threshold, "window_seconds": rule.window_seconds,
                    "min_messages": rule.min_messages, "reason_class": rule.reason_class,
                    "scope": scope, "firing_since": _iso(since)},
    }


def _iso(value: datetime | None) -> str | None:
    return iso_z(value) if value is not None else None
