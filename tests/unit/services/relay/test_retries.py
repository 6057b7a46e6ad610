"""Retry policies: named schedules, jitter bounds, exhaustion, validation, Retry-After."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlrhub.services.errors import InvalidInput
from dlrhub.services.relay.policy.retries import (
    NAMED,
    RetryPolicy,
    is_retryable,
    parse_policy,
    retry_after,
)

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)

SCHEDULES = {
    "standard": [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
    "ucloud": [1, 1, 1],
    "aliyun": [60, 300, 600],
    "tencent": [5, 5],
}


@pytest.mark.parametrize(("name", "waits"), SCHEDULES.items())
def test_named_policy_has_its_schedule(name: str, waits: list[int]) -> None:
    policy = parse_policy(name)
    assert policy.name == name
    assert policy.schedule() == waits
    assert policy.max_attempts == len(waits) + 1


def test_every_named_policy_is_tested() -> None:
    assert set(NAMED) == set(SCHEDULES)


@pytest.mark.parametrize("name", ["ucloud", "aliyun", "tencent"])
def test_provider_policies_wait_exactly_and_are_exhausted_after_the_last_retry(
        name: str) -> None:
    policy = parse_policy(name)
    waits = SCHEDULES[name]
    assert [policy.next_wait(n) for n in range(1, len(waits) + 1)] == waits
    assert policy.next_wait(len(waits) + 1) is None
    assert policy.next_wait(len(waits) + 10) is None


@pytest.mark.parametrize("seed", range(20))
def test_standard_jitter_stays_within_ten_percent(seed: int) -> None:
    policy = parse_policy("standard")
    rng = random.Random(seed)
    for attempt, nominal in enumerate(SCHEDULES["standard"], start=1):
        wait = policy.next_wait(attempt, rng)
        assert wait is not None
        assert nominal * 0.9 <= wait <= nominal * 1.1


def test_standard_jitter_moves_the_waits_and_keeps_zero_at_zero() -> None:
    policy = parse_policy("standard")
    rng = random.Random(7)
    draws = [policy.next_wait(5, rng) for _ in range(50)]
    assert len(set(draws)) > 1
    assert all(policy.next_wait(1, rng) == 0 for _ in range(50))


def test_jitter_is_reproducible_with_a_seeded_random() -> None:
    policy = parse_policy("standard")
    first = [policy.next_wait(n, random.Random(3)) for n in range(1, 9)]
    assert first == [policy.next_wait(n, random.Random(3)) for n in range(1, 9)]


def test_standard_is_exhausted_after_nine_attempts() -> None:
    policy = parse_policy("standard")
    assert policy.max_attempts == 9
    assert policy.next_wait(8) is not None
    assert policy.next_wait(9) is None


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        parse_policy("ucloud").next_wait(0)


def test_none_is_the_standard_policy() -> None:
    assert parse_policy(None) == NAMED["standard"]
    assert RetryPolicy.from_json(None) == NAMED["standard"]


def test_custom_waits_are_used_as_given() -> None:
    policy = parse_policy({"waits": [0, 2.5, 86400 * 3]})
    assert policy.name == "custom"
    assert policy.schedule() == [0, 2.5, 259200]
    assert [policy.next_wait(n) for n in (1, 2, 3, 4)] == [0, 2.5, 259200, None]


def test_exponential_grows_then_caps_at_max() -> None:
    policy = parse_policy({"exponential": {"initial": 2, "multiplier": 3, "max": 100,
                                           "attempts": 8}})
    assert policy.name == "exponential"
    assert policy.max_attempts == 8
    assert policy.schedule() == [2, 6, 18, 54, 100, 100, 100]
    assert policy.next_wait(7) == 100
    assert policy.next_wait(8) is None


def test_exponential_does_not_overflow_on_the_last_attempts() -> None:
    policy = parse_policy({"exponential": {"initial": 86400, "multiplier": 10,
                                           "max": 259200, "attempts": 21}})
    assert policy.schedule() == [86400] + [259200] * 19


@pytest.mark.parametrize("value", [
    *SCHEDULES,
    {"waits": [1, 2.5, 0]},
    {"exponential": {"initial": 1.5, "multiplier": 2, "max": 60, "attempts": 5}},
])
def test_json_round_trip(value: Any) -> None:
    policy = parse_policy(value)
    assert policy.to_json() == value
    assert RetryPolicy.from_json(policy.to_json()) == policy
    assert parse_policy(policy.to_json()).description == policy.description


def test_descriptions_say_the_schedule() -> None:
    assert NAMED["standard"].description == (
        "waits of 0 s, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (±10% jitter)")
    assert NAMED["aliyun"].description == "waits of 1 min, 5 min, 10 min"


@pytest.mark.parametrize(("value", "field"), [
    ("fast", "retry_policy"),
    (3, "retry_policy"),
    ([1, 2], "retry_policy"),
    ({}, "retry_policy"),
    ({"waits": [1], "exponential": {}}, "retry_policy"),
    ({"wait": [1]}, "retry_policy"),
    ({"waits": 5}, "retry_policy.waits"),
    ({"waits": []}, "retry_policy.waits"),
    ({"waits": [1] * 21}, "retry_policy.waits"),
    ({"waits": [1, 2, -1]}, "retry_policy.waits[2]"),
    ({"waits": [1, 2, 86400 * 3 + 1]}, "retry_policy.waits[2]"),
    ({"waits": [1, "5"]}, "retry_policy.waits[1]"),
    ({"waits": [True]}, "retry_policy.waits[0]"),
    ({"waits": [float("nan")]}, "retry_policy.waits[0]"),
    ({"waits": [float("inf")]}, "retry_policy.waits[0]"),
    ({"exponential": [1]}, "retry_policy.exponential"),
    ({"exponential": {"multiplier": 2, "max": 60, "attempts": 5}},
     "retry_policy.exponential.initial"),
    ({"exponential": {"initial": 1, "multiplier": 2, "max": 60, "attempts": 5, "min": 1}},
     "retry_policy.exponential.min"),
    ({"exponential": {"initial": 0, "multiplier": 2, "max": 60, "attempts": 5}},
     "retry_policy.exponential.initial"),
    ({"exponential": {"initial": 1, "multiplier": 0.5, "max": 60, "attempts": 5}},
     "retry_policy.exponential.multiplier"),
    ({"exponential": {"initial": 10, "multiplier": 2, "max": 5, "attempts": 5}},
     "retry_policy.exponential.max"),
    ({"exponential": {"initial": 1, "multiplier": 2, "max": 86400 * 4, "attempts": 5}},
     "retry_policy.exponential.max"),
    ({"exponential": {"initial": 1, "multiplier": 2, "max": 60, "attempts": 1}},
     "retry_policy.exponential.attempts"),
    ({"exponential": {"initial": 1, "multiplier": 2, "max": 60, "attempts": 22}},
     "retry_policy.exponential.attempts"),
    ({"exponential": {"initial": 1, "multiplier": 2, "max": 60, "attempts": 4.0}},
     "retry_policy.exponential.attempts"),
])
def test_invalid_policy_names_the_field(value: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_policy(value)
    assert info.value.field == field


def test_field_prefix_can_be_chosen_by_the_caller() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_policy({"waits": [1, -1]}, "endpoints[0].retry_policy")
    assert info.value.field == "endpoints[0].retry_policy.waits[1]"


@pytest.mark.parametrize(("header", "seconds"), [
    ("120", 120),
    (" 7 ", 7),
    ("0", 0),
    ("999999", 86400),
    ("Fri, 01 Mar 2024 12:01:30 GMT", 90),
    ("Friday, 01-Mar-24 12:01:30 GMT", 90),
    ("Fri Mar  1 12:01:30 2024", 90),
    ("Sat, 02 Mar 2024 13:00:00 GMT", 86400),
    ("Fri, 01 Mar 2024 11:00:00 GMT", 0),
])
def test_retry_after_reads_both_forms(header: str, seconds: float) -> None:
    assert retry_after(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "   ", "soon", "-5", "1.5", "1e3",
                                    "Fri, 32 Mar 2024 12:00:00 GMT", "٣"])
def test_retry_after_garbage_is_none(header: str | None) -> None:
    assert retry_after(header, NOW) is None


def test_retry_after_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        retry_after("5", NOW.replace(tzinfo=None))


def test_retry_after_date_is_relative_to_now() -> None:
    later = NOW + timedelta(seconds=60)
    assert retry_after("Fri, 01 Mar 2024 12:01:30 GMT", later) == 30


@pytest.mark.parametrize(("status", "retryable"), [
    (None, True),
    (408, True),
    (429, True),
    (500, True),
    (502, True),
    (503, True),
    (504, True),
    (599, True),
    (400, False),
    (401, False),
    (403, False),
    (404, False),
    (410, False),
    (413, False),
    (422, False),
    (499, False),
])
def test_is_retryable(status: int | None, retryable: bool) -> None:
    assert is_retryable(status) is retryable
