"""The message rules: out of order, disagreeing finals, parts, latencies (no database)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from dlrhub.services.message_state import (
    WORST,
    Part,
    Report,
    State,
    apply,
    summarize,
)

T0 = datetime(2024, 1, 1, 10, 0, tzinfo=UTC)


def report(rid: str, status: str, reported: float | None, *, received: float = 100.0,
           part: str = "", segments: int | None = None, submitted: float | None = None,
           reason: str | None = None) -> Report:
    """A report ``reported`` seconds after T0 (None: the provider gives no time)."""
    return Report(id=rid, status=status, received_at=T0 + timedelta(seconds=received),
                  reported_at=None if reported is None else T0 + timedelta(seconds=reported),
                  submitted_at=None if submitted is None else T0 + timedelta(seconds=submitted),
                  provider_status=status.upper(), part=part, segments=segments,
                  reason_class=reason, retryable=None if reason is None else False)


def one_by_one(reports: list[Report]) -> State:
    """Fold each report in a batch of its own, in the order given (arrival)."""
    state = State()
    for r in reports:
        state = apply(state, [r]).state
    return state


# --- one part: finals, intermediates, corrections -----------------------------------


def numbered(rid: str, status: str, sequence: int | None, *, received: float) -> Report:
    """A report without a time, numbered by its provider (Plivo's ``Sequence``)."""
    r = report(rid, status, None, received=received)
    return Report(id=r.id, status=r.status, received_at=r.received_at,
                  provider_status=rid, sequence=sequence)


def test_the_providers_sequence_orders_reports_whatever_their_arrival() -> None:
    # "sent" (2) arrives before "queued" (1): queued is the late one, sent stays
    state = one_by_one([numbered("sent", "pending", 2, received=10),
                        numbered("queued", "pending", 1, received=11)])
    assert (state.parts[""].provider_status, state.parts[""].sequence) == ("sent", 2)
    assert state.out_of_order == 1
    # in one batch too, and in arrival order nothing is late
    outcome = apply(State(), [numbered("sent", "pending", 2, received=10),
                              numbered("queued", "pending", 1, received=11)])
    assert (outcome.state.parts[""].provider_status, outcome.out_of_order) == ("sent", 0)
    state = one_by_one([numbered("queued", "pending", 1, received=10),
                        numbered("sent", "pending", 2, received=11)])
    assert (state.parts[""].provider_status, state.out_of_order) == ("sent", 0)
    # without a sequence, arrival decides (the provider gives no time either)
    state = one_by_one([numbered("sent", "pending", None, received=10),
                        numbered("queued", "pending", None, received=11)])
    assert (state.parts[""].provider_status, state.out_of_order) == ("queued", 0)
    # the sequence that set a part survives the trip through the database's document
    assert Part.from_document(state.parts[""].document()) == state.parts[""]
    numbered_part = Part.of(numbered("sent", "pending", 7, received=1))
    assert Part.from_document(numbered_part.document()).sequence == 7


def test_a_late_pending_never_replaces_a_final_status_and_counts_as_out_of_order() -> None:
    state = apply(State(), [report("a", "delivered", 5)]).state
    outcome = apply(state, [report("b", "pending", 1)])
    assert (summarize(outcome.state).status, outcome.out_of_order) == ("delivered", 1)
    assert (outcome.state.out_of_order, outcome.corrections) == (1, [])
    # even a pending the provider dates after the final one: finals are final
    again = apply(outcome.state, [report("c", "pending", 9)])
    assert (summarize(again.state).status, again.state.out_of_order) == ("delivered", 2)


def test_an_older_pending_arriving_after_a_newer_one_is_out_of_order() -> None:
    state = one_by_one([report("a", "pending", 5), report("b", "pending", 1)])
    assert (state.parts[""].receipt_id, state.out_of_order) == ("a", 1)


def test_within_a_batch_reports_are_taken_in_the_order_they_happened() -> None:
    outcome = apply(State(), [report("final", "delivered", 5), report("early", "pending", 1)])
    assert (summarize(outcome.state).status, outcome.out_of_order) == ("delivered", 0)
    # a report without a time happened when it was received
    outcome = apply(State(), [report("late", "pending", None, received=50),
                              report("final", "delivered", 40, received=60)])
    assert summarize(outcome.state).status == "delivered"


def test_a_second_final_that_disagrees_keeps_the_first_and_yields_a_correction() -> None:
    first = apply(State(), [report("a", "delivered", 5)])
    second = apply(first.state, [report("b", "failed", 9, reason="handset_error")])
    assert summarize(second.state).status == "delivered"
    assert second.state.corrected
    [correction] = second.corrections
    assert (correction.kept.receipt_id, correction.kept.status) == ("a", "delivered")
    assert (correction.reported.id, correction.reported.status) == ("b", "failed")
    # each disagreeing report yields its own; an agreeing one yields none
    third = apply(second.state, [report("c", "expired", 10), report("d", "delivered", 11)])
    assert [c.reported.id for c in third.corrections] == ["c"]


def test_unknown_is_replaced_by_a_definite_final_without_a_correction() -> None:
    outcome = apply(apply(State(), [report("a", "unknown", 5)]).state,
                    [report("b", "failed", 3, reason="invalid_number")])
    summary = summarize(outcome.state)
    assert (summary.status, summary.reason_class, outcome.corrections) == (
        "failed", "invalid_number", [])
    # and a later unknown says nothing new about a definite status
    after = apply(outcome.state, [report("c", "unknown", 9)])
    assert (summarize(after.state).status, after.corrections) == ("failed", [])


@pytest.mark.parametrize("statuses", [
    ["pending", "delivered"], ["pending", "pending", "failed"], ["delivered", "failed"],
    ["pending", "expired", "delivered", "pending"],
])
def test_a_batch_and_one_report_per_batch_agree_when_reports_come_in_time_order(
        statuses: list[str]) -> None:
    reports = [report(f"r{i}", s, i) for i, s in enumerate(statuses)]
    batch = summarize(apply(State(), reports).state)
    alone = summarize(one_by_one(reports))
    assert (batch.status, batch.receipt_id) == (alone.status, alone.receipt_id)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_pending_and_an_agreeing_final_give_one_state_in_any_order(
        order: tuple[int, ...]) -> None:
    reports = [report("p1", "pending", 1), report("p2", "pending", 2),
               report("d", "delivered", 3, submitted=0)]
    state = one_by_one([reports[i] for i in order])
    summary = summarize(state)
    assert (summary.status, summary.final, summary.receipt_id) == ("delivered", True, "d")
    assert summary.handset_latency_ms == 3000


# --- parts -----------------------------------------------------------------------------


def test_a_long_sms_is_delivered_only_when_every_part_is() -> None:
    parts = [report(f"p{n}", "delivered", n, part=str(n), segments=3) for n in (1, 2)]
    state = apply(State(), parts).state
    summary = summarize(state)
    assert (summary.status, summary.final) == ("pending", False)  # part 3 unreported
    state = apply(state, [report("p3", "delivered", 7, part="3", segments=3)]).state
    summary = summarize(state)
    # delivered when the last part was
    assert (summary.status, summary.final, summary.receipt_id) == ("delivered", True, "p3")


@pytest.mark.parametrize(("statuses", "worst"), [
    (["delivered", "failed", "delivered"], "failed"),
    (["delivered", "rejected", "failed"], "rejected"),
    (["expired", "delivered", "unknown"], "expired"),
    (["unknown", "pending", "delivered"], "unknown"),
    (["pending", "delivered", "delivered"], "pending"),
    (["delivered", "delivered", "delivered"], "delivered"),
])
def test_a_long_sms_takes_its_worst_parts_status_and_class(statuses: list[str],
                                                          worst: str) -> None:
    reports = [report(f"p{n}", s, n, part=str(n), segments=3,
                      reason=None if s in ("delivered", "pending") else f"why-{n}")
               for n, s in enumerate(statuses, start=1)]
    summary = summarize(apply(State(), reports).state)
    assert summary.status == worst
    assert summary.final == (worst != "pending")
    if worst not in ("delivered", "pending"):
        assert summary.reason_class == f"why-{statuses.index(worst) + 1}"


def test_the_worst_order_is_the_documented_one() -> None:
    assert WORST == ("rejected", "failed", "expired", "unknown", "pending", "delivered")


def test_a_failed_part_makes_the_message_final_even_with_parts_unreported() -> None:
    summary = summarize(apply(State(), [report("p1", "failed", 1, part="1", segments=4,
                                               reason="blacklisted")]).state)
    assert (summary.status, summary.final, summary.reason_class) == (
        "failed", True, "blacklisted")


def test_a_correction_of_one_part_names_the_part() -> None:
    state = apply(State(), [report("p1", "delivered", 1, part="1", segments=2)]).state
    outcome = apply(state, [report("p1b", "failed", 2, part="1", segments=2)])
    assert [c.part for c in outcome.corrections] == ["1"]


# --- latencies and bookkeeping ---------------------------------------------------------


def test_latencies_are_in_milliseconds_and_null_where_a_time_is_missing() -> None:
    summary = summarize(apply(State(), [report("a", "delivered", 2.5, received=4,
                                               submitted=0)]).state)
    assert (summary.handset_latency_ms, summary.receipt_lag_ms) == (2500, 1500)
    no_submit = summarize(apply(State(), [report("a", "delivered", 2.5, received=4)]).state)
    assert (no_submit.handset_latency_ms, no_submit.receipt_lag_ms) == (None, 1500)
    no_report = summarize(apply(State(), [report("a", "delivered", None, submitted=0)]).state)
    assert (no_report.handset_latency_ms, no_report.receipt_lag_ms) == (None, None)
    # no handset latency before the status is final
    pending = summarize(apply(State(), [report("a", "pending", 1, submitted=0)]).state)
    assert (pending.handset_latency_ms, pending.receipt_lag_ms) == (None, 99000)


def test_the_earliest_submit_time_and_first_and_last_receipts_are_kept() -> None:
    state = one_by_one([report("a", "pending", 1, submitted=0.5),
                        report("b", "delivered", 2, submitted=0.2)])
    assert state.submitted_at == T0 + timedelta(seconds=0.2)
    assert (state.first_receipt_id, state.last_receipt_id) == ("a", "b")


def test_a_part_reads_back_what_it_wrote() -> None:
    part = Part.of(report("a", "failed", 1, reason="rate_limited"))
    assert Part.from_document(part.document()) == part
    assert Part.from_document(Part.of(report("b", "pending", None)).document()).reported_at \
        is None


def test_no_parts_is_pending() -> None:
    assert (summarize(State()).status, summarize(State()).final) == ("pending", False)
