"""The rate limit's send slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dlrhub.services.relay.policy.rate_limit import reserve

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def test_rate_slots_are_evenly_spaced_and_never_in_the_past() -> None:
    slots, cursor = reserve(None, NOW, 4.0, 3)
    assert slots == [NOW, NOW + timedelta(seconds=0.25), NOW + timedelta(seconds=0.5)]
    assert cursor == NOW + timedelta(seconds=0.75)
    # The next claim continues after the last slot...
    again, _ = reserve(cursor, NOW + timedelta(seconds=0.1), 4.0, 1)
    assert again == [cursor]
    # ...and after a quiet spell starts at once instead of catching up.
    quiet, _ = reserve(cursor, NOW + timedelta(seconds=10), 4.0, 1)
    assert quiet == [NOW + timedelta(seconds=10)]


def test_a_window_takes_only_the_slots_that_start_within_it() -> None:
    slots, cursor = reserve(None, NOW, 4.0, 10, window=1.0)
    assert len(slots) == 4  # 0, 0.25, 0.5, 0.75 s
    assert cursor == NOW + timedelta(seconds=1)
    later, _ = reserve(cursor, NOW, 4.0, 10, window=1.0)
    assert later == []  # the next second is already taken
