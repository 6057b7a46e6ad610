"""Claiming and recording deliveries: the circuit parks, probes and releases; the rate
limit spreads sends; attempts are spent only on real sends. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dlrhub.models import Delivery, DeliveryStatus, Endpoint, utcnow
from dlrhub.services.relay import lease
from dlrhub.services.relay.jobs import Outcome
from dlrhub.services.relay.policy.circuit import Breaker
from dlrhub.services.runtime import Runtime
from tests.factories import TenantFactory

# Claims lock rows on PostgreSQL and not on SQLite, and do date arithmetic in SQL.
pytestmark = pytest.mark.dialects

BREAKER = Breaker(threshold=3, base=30, ceiling=600)
REFUSED = Outcome(None, 1.0, "ClientConnectorError: refused", None, None)
OK = Outcome(200, 1.0, None, "ok", None, b"ok")


def _endpoint(rt: Runtime, **spec: object) -> str:
    from dlrhub.models import EndpointCreate
    from dlrhub.services.endpoints import create_endpoint

    tenant = TenantFactory()
    with rt.sessions() as session:
        endpoint, _ = create_endpoint(session, rt.box, tenant_id=tenant.id,
                                      spec=EndpointCreate(url="http://127.0.0.1:9/", **spec),  # type: ignore[arg-type]
                                      allow_private=True)
        session.commit()
        return endpoint.id


def _deliveries(rt: Runtime, endpoint_id: str, n: int, now: datetime) -> list[str]:
    with rt.sessions() as session:
        endpoint = session.get(Endpoint, endpoint_id)
        assert endpoint is not None
        rows = [Delivery(tenant_id=endpoint.tenant_id, endpoint_id=endpoint_id,
                         event_ids=[], next_attempt_at=now) for _ in range(n)]
        session.add_all(rows)
        session.commit()
        return [r.id for r in rows]


def _claim(rt: Runtime, ids: list[str], now: datetime) -> lease.Claim:
    with rt.sessions() as session:
        claimed = lease.claim(session, rt.box, ids, now, breaker=BREAKER)
        session.commit()
        return claimed


def _record(rt: Runtime, claimed: lease.Claim, outcome: Outcome, now: datetime
            ) -> lease.FollowUps:
    with rt.sessions() as session:
        done = lease.record(session, claimed.jobs, [outcome] * len(claimed.jobs), now,
                            breaker=BREAKER)
        session.commit()
        return done


def _rows(rt: Runtime, ids: list[str]) -> list[Delivery]:
    with rt.sessions() as session:
        return [d for i in ids if (d := session.get(Delivery, i)) is not None]


def test_failures_open_the_circuit_and_its_deliveries_are_parked_not_tried(
        runtime: Runtime) -> None:
    now = utcnow()
    endpoint_id = _endpoint(runtime)
    first = _deliveries(runtime, endpoint_id, 3, now)
    done = _record(runtime, _claim(runtime, first, now), REFUSED, now)
    assert done.opened == {endpoint_id: 30.0}  # the probe comes in 30 s
    assert {d.status for d in _rows(runtime, first)} == {DeliveryStatus.pending}

    later = now + timedelta(seconds=1)
    waiting = _deliveries(runtime, endpoint_id, 4, later)
    claimed = _claim(runtime, waiting, later)
    assert (claimed.jobs, claimed.parked, dict(claimed.later)) == ([], 4, {})
    for row in _rows(runtime, waiting):
        assert row.attempts == 0  # parking spends none of the retry policy
        assert row.next_attempt_at == now + timedelta(seconds=30)


def test_after_the_cool_down_one_probe_goes_and_its_success_releases_the_rest(
        runtime: Runtime) -> None:
    now = utcnow()
    endpoint_id = _endpoint(runtime, timeout=5)
    _record(runtime, _claim(runtime, _deliveries(runtime, endpoint_id, 3, now), now),
            REFUSED, now)
    parked = _deliveries(runtime, endpoint_id, 4, now + timedelta(seconds=1))
    _claim(runtime, parked, now + timedelta(seconds=1))

    after = now + timedelta(seconds=31)
    probe = _claim(runtime, parked, after)
    assert [j.probe for j in probe.jobs] == [True]
    assert probe.parked == 3
    # While the probe is out the others stay parked, even if a task comes for them.
    assert _claim(runtime, parked, after + timedelta(seconds=1)).jobs == []

    done = _record(runtime, probe, OK, after + timedelta(seconds=2))
    assert done.closed == [endpoint_id]
    rest = [d for d in _rows(runtime, parked) if d.status == DeliveryStatus.pending]
    assert len(rest) == 3
    assert all(d.next_attempt_at == after + timedelta(seconds=2) for d in rest)
    assert len(_claim(runtime, parked, after + timedelta(seconds=2)).jobs) == 3


def test_a_failed_probe_opens_the_circuit_for_twice_as_long(runtime: Runtime) -> None:
    now = utcnow()
    endpoint_id = _endpoint(runtime)
    ids = _deliveries(runtime, endpoint_id, 3, now)
    _record(runtime, _claim(runtime, ids, now), REFUSED, now)
    after = now + timedelta(seconds=31)
    _deliveries(runtime, endpoint_id, 1, after)
    probe = _claim(runtime, ids, after)
    assert len(probe.jobs) == 1
    assert _record(runtime, probe, REFUSED, after).opened == {endpoint_id: 60.0}


def test_a_refusal_is_the_endpoint_answering_and_does_not_open_the_circuit(
        runtime: Runtime) -> None:
    now = utcnow()
    endpoint_id = _endpoint(runtime)
    ids = _deliveries(runtime, endpoint_id, 5, now)
    done = _record(runtime, _claim(runtime, ids, now),
                   Outcome(400, 1.0, None, "bad event", None, b"bad event"), now)
    assert done.opened == {}
    assert {d.status for d in _rows(runtime, ids)} == {DeliveryStatus.failed}
    assert len(_claim(runtime, _deliveries(runtime, endpoint_id, 2, now), now).jobs) == 2


def test_a_rate_limit_sends_a_second_of_slots_and_defers_the_rest_to_theirs(
        runtime: Runtime) -> None:
    now = utcnow()
    endpoint_id = _endpoint(runtime, rate_limit=4)
    ids = _deliveries(runtime, endpoint_id, 10, now)
    claimed = _claim(runtime, ids, now)
    assert [j.delay for j in claimed.jobs] == [0.0, 0.25, 0.5, 0.75]
    # The other six have slots at 1.0, 1.25 ... 2.25 s; each task wakes at or after its
    # slot, never before.
    assert {k: len(v) for k, v in claimed.later.items()} == {1: 1, 2: 4, 3: 1}
    # The next claim continues where the slots left off: no burst over the limit.
    more = _claim(runtime, _deliveries(runtime, endpoint_id, 1, now), now)
    assert more.jobs == []
    assert sum(len(v) for v in more.later.values()) == 1


def test_a_probe_refused_with_a_4xx_shows_the_endpoint_is_back(runtime: Runtime) -> None:
    now = utcnow()
    endpoint_id = _endpoint(runtime)
    ids = _deliveries(runtime, endpoint_id, 3, now)
    _record(runtime, _claim(runtime, ids, now), REFUSED, now)
    after = now + timedelta(seconds=31)
    parked = _deliveries(runtime, endpoint_id, 2, after)
    probe = _claim(runtime, parked, after)
    assert [j.probe for j in probe.jobs] == [True]
    done = _record(runtime, probe, Outcome(400, 1.0, None, "bad", None, b"bad"), after)
    assert done.closed == [endpoint_id]  # the parked ones are released, not stuck
    assert {d.status for d in _rows(runtime, parked)} == {DeliveryStatus.failed,
                                                          DeliveryStatus.pending}


def test_a_retry_is_scheduled_no_earlier_than_it_is_due(runtime: Runtime) -> None:
    now = utcnow()
    endpoint_id = _endpoint(runtime, retry_policy={"waits": [4.4]})
    ids = _deliveries(runtime, endpoint_id, 1, now)
    done = _record(runtime, _claim(runtime, ids, now),
                   Outcome(503, 1.0, None, "busy", None, b"busy"), now)
    assert dict(done.retries) == {5: [(endpoint_id, ids[0])]}  # 4.4 s: the task comes at 5
