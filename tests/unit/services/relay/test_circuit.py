"""The per-endpoint circuit breaker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dlrhub.models import Endpoint
from dlrhub.services.relay.policy.circuit import Breaker, State

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
BREAKER = Breaker(threshold=3, base=5, ceiling=60)


def endpoint() -> Endpoint:
    return Endpoint(tenant_id="ten_1", url="http://127.0.0.1:9/", secret_encrypted="x")


def test_the_circuit_opens_after_threshold_failures_in_a_row() -> None:
    ep = endpoint()
    assert [BREAKER.failed(ep, NOW, probe=False) for _ in range(2)] == [None, None]
    assert BREAKER.state(ep, NOW) == State.closed
    assert BREAKER.failed(ep, NOW, probe=False) == NOW + timedelta(seconds=5)
    assert BREAKER.state(ep, NOW + timedelta(seconds=4)) == State.open
    assert BREAKER.state(ep, NOW + timedelta(seconds=5)) == State.half_open


def test_a_success_in_between_starts_the_count_again() -> None:
    ep = endpoint()
    BREAKER.failed(ep, NOW, probe=False)
    BREAKER.failed(ep, NOW, probe=False)
    assert BREAKER.succeeded(ep) is False  # it never opened: nothing parked to release
    assert BREAKER.failed(ep, NOW, probe=False) is None
    assert BREAKER.state(ep, NOW) == State.closed


def test_late_failures_do_not_lengthen_an_open_circuit_but_a_failed_probe_does() -> None:
    ep = endpoint()
    for _ in range(3):
        BREAKER.failed(ep, NOW, probe=False)
    # Sends that started before it opened come back failed: the cool-down stays.
    assert BREAKER.failed(ep, NOW + timedelta(seconds=1), probe=False) is None
    assert ep.circuit_open_until == NOW + timedelta(seconds=5)
    later = NOW + timedelta(seconds=5)
    lease = BREAKER.start_probe(ep, later, 15)
    assert BREAKER.state(ep, later) == State.open  # the others wait for the probe
    assert lease == later + timedelta(seconds=15)
    assert BREAKER.failed(ep, later + timedelta(seconds=1), probe=True) == \
        later + timedelta(seconds=1 + 10)  # the second opening: twice as long


def test_the_cool_down_doubles_up_to_the_ceiling_and_a_success_resets_it() -> None:
    assert [BREAKER.cooldown(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    ep = endpoint()
    for _ in range(3):
        BREAKER.failed(ep, NOW, probe=False)
    assert BREAKER.succeeded(ep) is True  # it had opened: release its parked work
    assert (ep.consecutive_failures, ep.circuit_trips, ep.circuit_open_until) == (0, 0, None)
