"""Which of an endpoint's due deliveries go now: circuit, sends under way, rate limit.

Pure decisions over an unsaved endpoint: no database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dlrhub.models import Endpoint
from dlrhub.services.relay.policy.circuit import Breaker
from dlrhub.services.relay.policy.pacing import MAX_INFLIGHT, pace

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
BREAKER = Breaker(threshold=3, base=30, ceiling=600)


def endpoint(**fields: object) -> Endpoint:
    return Endpoint(tenant_id="ten_1", url="http://127.0.0.1:9/", secret_encrypted="x",
                    timeout=10, **fields)


def test_a_healthy_endpoint_without_a_limit_sends_everything_now() -> None:
    paced = pace(endpoint(), 3, NOW, BREAKER, busy=0)
    assert (paced.sends, paced.parks) == ([(0.0, False)] * 3, [])


def test_an_open_circuit_parks_all_until_it_closes_and_schedules_no_task() -> None:
    until = NOW + timedelta(seconds=30)
    ep = endpoint(consecutive_failures=3, circuit_trips=1, circuit_open_until=until)
    paced = pace(ep, 4, NOW, BREAKER, busy=0)
    assert (paced.sends, paced.parks) == ([], [(until, False)] * 4)


def test_a_half_open_circuit_sends_one_probe_and_holds_the_rest_while_it_is_out() -> None:
    ep = endpoint(consecutive_failures=3, circuit_trips=1,
                  circuit_open_until=NOW - timedelta(seconds=1))
    paced = pace(ep, 3, NOW, BREAKER, busy=0)
    held = NOW + timedelta(seconds=15)  # its timeout plus 5 s
    assert (paced.sends, paced.parks) == ([(0.0, True)], [(held, False)] * 2)
    assert ep.circuit_open_until == held  # a second claim meanwhile sends no probe


def test_an_endpoint_with_too_many_sends_under_way_waits_its_timeout() -> None:
    paced = pace(endpoint(), 2, NOW, BREAKER, busy=MAX_INFLIGHT)
    assert (paced.sends, paced.parks) == ([], [(NOW + timedelta(seconds=10), True)] * 2)


def test_a_rate_limit_spreads_a_second_of_sends_and_parks_the_rest_at_their_slots() -> None:
    ep = endpoint(rate_limit=4.0)
    paced = pace(ep, 6, NOW, BREAKER, busy=0)
    assert paced.sends == [(0.0, False), (0.25, False), (0.5, False), (0.75, False)]
    second = NOW + timedelta(seconds=1)
    assert paced.parks == [(second, True), (second + timedelta(seconds=0.25), True)]
    assert ep.rate_cursor == second  # the next claim continues from here
