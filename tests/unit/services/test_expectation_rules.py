"""The pure rules of expected messages: deadlines, horizons, matching, the events."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlrhub.api.ndjson import numbered_lines
from dlrhub.services.errors import InvalidInput
from dlrhub.services.expectations import rules
from dlrhub.services.expectations.rules import Waiting

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_the_deadline_counts_from_the_send_and_the_horizon_never_comes_before_it() -> None:
    assert rules.due(T0, 600, 72 * 3600) == rules.Due(T0 + timedelta(minutes=10),
                                                      T0 + timedelta(hours=72))
    week = 7 * 24 * 3600
    assert rules.due(T0, week, 72 * 3600) == rules.Due(T0 + timedelta(days=7),
                                                       T0 + timedelta(days=7))


@pytest.mark.parametrize("seconds", [1, 600, 30 * 24 * 3600])
def test_deadlines_from_one_second_to_thirty_days_are_kept(seconds: int) -> None:
    assert rules.check_seconds("deadline_seconds", seconds) == seconds


@pytest.mark.parametrize("seconds", [0, -5, 30 * 24 * 3600 + 1])
def test_other_deadlines_are_refused_naming_the_field(seconds: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.check_seconds("deadline_seconds", seconds)
    assert caught.value.field == "deadline_seconds"


@pytest.mark.parametrize(("sent_at", "ok"), [
    (T0, True), (T0 + timedelta(minutes=59), True), (T0 + timedelta(hours=2), False),
    (T0 - timedelta(days=29), True), (T0 - timedelta(days=31), False),
])
def test_a_send_time_must_be_plausible(sent_at: datetime, ok: bool) -> None:
    if ok:
        assert rules.check_sent_at(sent_at, T0) == sent_at
    else:
        with pytest.raises(InvalidInput, match="sent_at"):
            rules.check_sent_at(sent_at, T0)


def receipt(rid: str, message_id: str, phone: str | None, status: str = "delivered",
            account: str = "acc_1", **extra: Any) -> dict[str, Any]:
    return {"id": rid, "account_id": account, "message_id": message_id, "phone": phone,
            "type": "sms.status", "status": status, "provider": "tencent",
            "synthetic": False, **extra}


def test_only_a_providers_final_status_of_a_message_can_meet_an_expectation() -> None:
    assert rules.is_final(receipt("r", "m", None, "failed"))
    assert not rules.is_final(receipt("r", "m", None, "pending"))
    assert not rules.is_final(receipt("r", "", None))
    assert not rules.is_final(receipt("r", "m", None, "unknown", synthetic=True))
    assert not rules.is_final({**receipt("r", "m", None, "received"), "type": "sms.inbound"})


def test_a_phone_expectation_is_met_by_its_recipient_only_and_one_without_by_any() -> None:
    waiting = [Waiting("e1", "acc_1", "m", "+8613800000001", "pending"),
               Waiting("e2", "acc_1", "m", "+8613800000002", "missing"),
               Waiting("e3", "acc_1", "n", "", "pending")]
    got = rules.match([receipt("r1", "m", "+8613800000002"),
                       receipt("r2", "n", "+8613800000009"),
                       receipt("r3", "n", "+8613800000008")], waiting)

    assert got.met == {"e2": "r1", "e3": "r2"}  # e3 keeps the first receipt that met it
    assert got.unmatched == []


def test_receipts_of_unregistered_sends_are_unmatched_but_a_second_final_is_not() -> None:
    waiting = [Waiting("e1", "acc_1", "m", "", "met")]
    unknown = receipt("r2", "other", None)
    other_account = receipt("r3", "m", None, account="acc_2")
    got = rules.match([receipt("r1", "m", None), unknown, other_account], waiting)

    assert got.met == {}
    assert got.unmatched == [unknown, other_account]


def expectation() -> dict[str, Any]:
    return {"id": "exp_1", "tenant_id": "ten_1", "account_id": "acc_1",
            "provider": "tencent", "message_id": "m-1", "phone": "+8613800000001",
            "template": "otp", "reference": "order-9", "sent_at": T0,
            "deadline_at": T0 + timedelta(minutes=10), "horizon_at": T0 + timedelta(hours=72)}


def test_the_missing_event_says_what_was_expected_and_by_when() -> None:
    now = T0 + timedelta(minutes=11)
    event = rules.missing_event(expectation(), now)

    assert (event["type"], event["status"], event["synthetic"]) == (
        "sms.receipt_missing", "pending", False)
    assert (event["message_id"], event["phone"], event["reference"]) == (
        "m-1", "+8613800000001", "order-9")
    assert event["details"] == {"expected_by": "2024-05-01T12:10:00Z", "template": "otp",
                                "sent_at": "2024-05-01T12:00:00Z", "expectation_id": "exp_1"}
    assert event["received_at"] == now
    assert event["reason_class"] is None
    assert (event["country"], event["carrier"]) == ("CN", "china_mobile")


def test_an_event_for_every_recipient_of_a_send_names_no_carrier() -> None:
    event = rules.missing_event({**expectation(), "phone": None}, T0)

    assert (event["phone"], event["country"], event["carrier"]) == (None, None, None)


def test_the_synthetic_status_is_final_unknown_and_says_so() -> None:
    event = rules.synthetic_status(expectation(), T0 + timedelta(hours=73))

    assert (event["type"], event["status"], event["reason_class"], event["synthetic"]) == (
        "sms.status", "unknown", "other_unknown", True)
    assert event["details"]["horizon_at"] == "2024-05-04T12:00:00Z"


def test_each_event_of_an_expectation_has_one_dedupe_key_whenever_it_is_made() -> None:
    exp = expectation()
    later = T0 + timedelta(days=1)
    assert rules.missing_event(exp, T0)["dedupe_key"] == \
        rules.missing_event(exp, later)["dedupe_key"]
    assert rules.missing_event(exp, T0)["dedupe_key"] != \
        rules.synthetic_status(exp, T0)["dedupe_key"]


def test_ndjson_lines_are_numbered_and_an_overlong_one_is_skipped_whole() -> None:
    body = b'{"a":1}\n\n{"b":2}\r\n' + b"x" * 200_000 + b'\n{"c":3}'
    assert list(numbered_lines(io.BytesIO(body), max_line=1000)) == [
        (1, b'{"a":1}'), (2, b""), (3, b'{"b":2}'), (4, None), (5, b'{"c":3}')]
