"""The GCRA request limiter: a burst at once, then the rate, and exactly when to retry."""

from __future__ import annotations

import logging

import pytest

from dlrhub.services.ratelimit import Limit, MemoryLimiter, RedisLimiter, decide


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_at_once_then_the_next_waits_one_interval() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock)
    limit = Limit.of(10, 0.5)  # 10 a second, 5 at once
    assert limit.burst == 5
    assert [limiter.take("k", limit) for _ in range(5)] == [0.0] * 5
    assert limiter.take("k", limit) == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.take("k", limit) == 0.0
    assert limiter.take("k", limit) == pytest.approx(0.1)


def test_a_refusal_does_not_push_the_next_admission_further() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock)
    limit = Limit(rate=1, burst=1)
    assert limiter.take("k", limit) == 0.0
    for _ in range(50):  # hammering while refused costs nothing more
        assert limiter.take("k", limit) == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.take("k", limit) == 0.0


def test_an_idle_key_gets_its_whole_burst_back_and_keys_are_apart() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock)
    limit = Limit(rate=2, burst=3)
    for _ in range(3):
        limiter.take("a", limit)
    assert limiter.take("a", limit) > 0
    assert limiter.take("b", limit) == 0.0
    clock.now += 60
    assert [limiter.take("a", limit) for _ in range(3)] == [0.0] * 3


def test_the_process_forgets_the_keys_it_saw_longest_ago() -> None:
    limiter = MemoryLimiter(Clock(), max_keys=100)  # the clock stands still
    limit = Limit(rate=1, burst=1)
    for i in range(1000):
        assert limiter.take(f"key-{i}", limit) == 0.0
    # The newest are remembered (refused); the oldest were forgotten, so memory stays
    # bounded however many keys come, at the price of a fresh burst for those.
    assert limiter.take("key-999", limit) > 0
    assert limiter.take("key-0", limit) == 0.0


def test_decide_never_admits_past_the_burst() -> None:
    limit = Limit(rate=5, burst=4)
    tat, admitted = 0.0, 0
    for _ in range(100):  # 100 requests at the same instant
        wait, tat = decide(tat, 10.0, limit)
        admitted += wait == 0
    assert admitted == 4


def test_redis_shares_the_limit_between_limiters(redis_url: str) -> None:
    one, two = RedisLimiter(redis_url, prefix="t:rl:"), RedisLimiter(redis_url, prefix="t:rl:")
    try:
        limit = Limit(rate=1, burst=3)
        # Two API processes, one key: three in all, whichever process takes them.
        assert [one.take("shared", limit), two.take("shared", limit),
                one.take("shared", limit)] == [0.0, 0.0, 0.0]
        wait = two.take("shared", limit)
        assert 0 < wait <= 1.0
        assert one.take("other", limit) == 0.0
    finally:
        one.close()
        two.close()


def test_redis_away_admits_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisLimiter("redis://127.0.0.1:1/0", prefix="t:rl:")
    with caplog.at_level(logging.WARNING):
        assert [limiter.take("secret-key-id", Limit(1, 1)) for _ in range(3)] == [0.0] * 3
    warnings = [r for r in caplog.records if "not enforced" in r.getMessage()]
    assert len(warnings) == 1
    assert "secret-key-id" not in caplog.text
    limiter.close()
