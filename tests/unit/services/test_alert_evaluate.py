"""The pure decisions of alert rules: fire once, stay quiet while firing, resolve once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dlrhub.models import AlertKind, AlertState
from dlrhub.services.alerts.evaluate import (
    Counts,
    Outcome,
    Rule,
    State,
    alert_event,
    decide,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def rule(kind: AlertKind = AlertKind.delivery_rate_below, threshold: float = 0.9,
         min_messages: int = 10, **scope: str) -> Rule:
    return Rule(id="alr_1", tenant_id="ten_1", kind=kind, threshold=threshold,
                window_seconds=600, min_messages=min_messages,
                reason_class="rate_limited" if kind is AlertKind.reason_share_above else None,
                scope=scope)


def run(r: Rule, counts: list[Counts | None]) -> list[Outcome]:
    """Evaluate ``r`` once a minute over ``counts``, each from the state the last left."""
    state, out = State(), []
    for minute, measured in enumerate(counts):
        outcome = decide(r, measured, state, T0 + timedelta(minutes=minute))
        out.append(outcome)
        state = outcome.state
    return out


def events(outcomes: list[Outcome]) -> list[AlertState | None]:
    return [o.event for o in outcomes]


def test_a_dropping_delivery_rate_fires_once_stays_quiet_and_resolves_once() -> None:
    outcomes = run(rule(), [Counts(95, 100), Counts(80, 100), Counts(70, 100),
                            Counts(85, 100), Counts(92, 100), Counts(93, 100)])

    assert events(outcomes) == [None, AlertState.firing, None, None, AlertState.resolved,
                                None]
    assert [o.state.firing for o in outcomes] == [False, True, True, True, False, False]
    assert outcomes[2].state.firing_since == T0 + timedelta(minutes=1)
    assert outcomes[3].state.last_value == pytest.approx(0.85)


def test_too_few_final_messages_neither_fire_nor_resolve() -> None:
    outcomes = run(rule(min_messages=10), [Counts(0, 9), Counts(2, 10), Counts(9, 9),
                                           Counts(10, 10)])

    assert events(outcomes) == [None, AlertState.firing, None, AlertState.resolved]
    assert outcomes[0].state.last_value is None
    assert outcomes[2].state.firing  # a quiet window does not clear a firing rule


def test_a_reason_class_share_above_its_threshold_fires() -> None:
    r = rule(AlertKind.reason_share_above, threshold=0.3, min_messages=5)

    assert events(run(r, [Counts(1, 5), Counts(2, 5), Counts(1, 4), Counts(1, 5)])) == [
        None, AlertState.firing, None, AlertState.resolved]


def test_a_missing_share_equal_to_its_threshold_does_not_fire() -> None:
    r = rule(AlertKind.missing_share_above, threshold=0.1, min_messages=1)

    assert events(run(r, [Counts(1, 10), Counts(2, 10)])) == [None, AlertState.firing]


def test_no_receipts_fires_only_while_expectations_wait_and_resolves_on_one_receipt() -> None:
    r = rule(AlertKind.no_receipts_for, threshold=0, min_messages=1, account_id="acc_1")
    outcomes = run(r, [Counts(0, 0), Counts(0, 3), Counts(0, 3), Counts(1, 3)])

    assert events(outcomes) == [None, AlertState.firing, None, AlertState.resolved]


def test_no_receipts_resolves_when_nothing_waits_any_more() -> None:
    r = rule(AlertKind.no_receipts_for, threshold=0, min_messages=1, account_id="acc_1")

    assert events(run(r, [Counts(0, 2), Counts(0, 0)])) == [AlertState.firing,
                                                             AlertState.resolved]


def test_a_disabled_rule_resolves_if_it_was_firing_and_is_silent_otherwise() -> None:
    assert events(run(rule(), [Counts(0, 100), None, None])) == [
        AlertState.firing, AlertState.resolved, None]
    assert events(run(rule(), [None])) == [None]


def test_the_event_carries_the_rule_the_measure_and_its_scope() -> None:
    r = rule(provider="aliyun", carrier="china_telecom")
    fired = decide(r, Counts(50, 100), State(), T0)
    event = alert_event(r, fired, State(), T0)

    assert (event["type"], event["status"], event["account_id"], event["provider"],
            event["carrier"]) == ("sms.alert", "pending", None, "aliyun", "china_telecom")
    assert event["details"] == {
        "rule_id": "alr_1", "kind": "delivery_rate_below", "state": "firing", "value": 0.5,
        "threshold": 0.9, "window_seconds": 600, "min_messages": 10, "reason_class": None,
        "scope": {"provider": "aliyun", "carrier": "china_telecom"},
        "firing_since": "2024-05-01T12:00:00Z"}


def test_a_firing_and_its_resolution_are_two_events_and_a_repeat_is_the_same_one() -> None:
    r = rule(account_id="acc_1")
    fired = decide(r, Counts(0, 100), State(), T0)
    resolved = decide(r, Counts(100, 100), fired.state, T0 + timedelta(minutes=5))
    first = alert_event(r, fired, State(), T0)
    again = alert_event(r, fired, State(), T0)
    cleared = alert_event(r, resolved, fired.state, T0 + timedelta(minutes=5))

    assert first["dedupe_key"] == again["dedupe_key"] != cleared["dedupe_key"]
    assert cleared["details"]["firing_since"] == "2024-05-01T12:00:00Z"
    assert (first["account_id"], first["provider"]) == ("acc_1", "dlrhub")
