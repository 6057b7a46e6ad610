"""The relay under trouble: a slow endpoint, an outage, a killed worker, a lost broker.

A real worker posts to real customer servers; the stack runs with a 1 s circuit
cool-down and a 3 s lease slack (tests/e2e/conftest.py) so recovery fits a test.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
import redis
from sqlalchemy import func, select

from dlrhub.models import Attempt, Delivery, Endpoint
from dlrhub.services.simulate import build_callback
from tests.customer import Customer, customer_server
from tests.e2e.conftest import Stack
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]
API = tuple[httpx.Client, dict[str, str], str]


def post_callbacks(callback: str, count: int, batch: int, seed: int) -> dict[str, float]:
    """Post ``count`` Tencent callbacks of ``batch`` records; return sid -> time posted."""
    posted: dict[str, float] = {}
    with httpx.Client(timeout=10) as client:
        for seq in range(count):
            sim = build_callback("tencent", callback, seq=seed + seq, batch=batch,
                                 kind="status", credentials={})
            at = time.time()
            answer = client.post(callback, content=sim.body,
                                 headers={"Content-Type": sim.content_type})
            assert answer.status_code == 200, answer.text
            for record in orjson.loads(sim.body):
                posted[record["sid"]] = at
    return posted


def arrivals(customer: Customer) -> dict[str, float]:
    """Return message id -> first arrival of every event the customer got."""
    first: dict[str, float] = {}
    with customer.lock:
        received = list(customer.received)
    for request in received:
        body = orjson.loads(request.body)
        for event in body if isinstance(body, list) else [body]:
            first.setdefault(event["message_id"], request.at)
    return first


def statuses(stack: Stack, endpoint_id: str) -> dict[str, int]:
    table = Delivery.__table__  # type: ignore[attr-defined]
    with stack.engine.connect() as conn:
        return dict(conn.execute(select(table.c.status, func.count())
                                 .where(table.c.endpoint_id == endpoint_id)
                                 .group_by(table.c.status)).all())


def attempts(stack: Stack, endpoint_id: str) -> int:
    deliveries = Delivery.__table__  # type: ignore[attr-defined]
    table = Attempt.__table__  # type: ignore[attr-defined]
    with stack.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).join(
            deliveries, deliveries.c.id == table.c.delivery_id).where(
            deliveries.c.endpoint_id == endpoint_id)).scalar_one()


def circuit_open(stack: Stack, endpoint_id: str) -> bool:
    table = Endpoint.__table__  # type: ignore[attr-defined]
    with stack.engine.connect() as conn:
        return conn.execute(select(table.c.circuit_trips).where(
            table.c.id == endpoint_id)).scalar_one() > 0


def endpoint(client: httpx.Client, me: dict[str, str], **spec: Any) -> str:
    created = client.post("/v1/endpoints", json=spec, headers=me)
    assert created.status_code == 201, created.text
    endpoint_id: str = created.json()["id"]
    return endpoint_id


def test_a_slow_endpoint_does_not_delay_a_healthy_one(
        stack: Stack, api: API, customer: Customer) -> None:
    client, me, callback = api
    with customer_server() as slow:
        slow.delay = 10.0  # it answers long after its 1 s timeout
        healthy_id = endpoint(client, me, url=customer.url)
        slow_id = endpoint(client, me, url=slow.url, timeout=1,
                           retry_policy={"waits": [1, 1, 1, 1, 1, 1, 1, 1]})
        warm = post_callbacks(callback, count=1, batch=1, seed=999)  # a first, cold run
        wait_for(lambda: len(arrivals(customer)) == 1, 30, "the warm-up event")
        customer.received.clear()
        posted = post_callbacks(callback, count=40, batch=5, seed=1000)  # 200 events each

        wait_for(lambda: len(arrivals(customer)) == len(posted), 30,
                 "every event at the healthy endpoint")
        wait_for(lambda: not set(posted).isdisjoint(arrivals(slow)), 30,
                 "the slow endpoint's first request")
        healthy_done = max(arrivals(customer)[sid] for sid in posted)
        slow_first_answer = min(at for sid, at in arrivals(slow).items()
                                if sid in posted) + slow.delay
        # Each slow send waits out a 1 s timeout: 200 of them in series would be 200 s,
        # spread over two worker processes still 100 s. The healthy endpoint sees none
        # of it: it has every event before the slow one answers its first request.
        assert healthy_done < slow_first_answer, (healthy_done, slow_first_answer)
        wait_for(lambda: statuses(stack, healthy_id) == {
            "succeeded": len(posted) + len(warm)}, 10, "the healthy deliveries recorded")
        # The slow endpoint's circuit opened: after the sends under way timed out, its
        # deliveries were parked instead of retried every second as its policy says
        # (which would have doubled the attempts by now), and none was given up.
        wait_for(lambda: circuit_open(stack, slow_id), 10, "the slow endpoint's circuit")
        assert attempts(stack, slow_id) <= len(posted) + len(warm) + 5
        assert set(statuses(stack, slow_id)) == {"pending"}


def test_an_outage_parks_deliveries_and_the_recovery_delivers_them_all(
        stack: Stack, api: API, customer: Customer) -> None:
    client, me, callback = api
    endpoint_id = endpoint(client, me, url=customer.url)
    customer.answer_with((503, b"down for maintenance", {}))
    posted = post_callbacks(callback, count=20, batch=5, seed=2000)  # 100 deliveries
    wait_for(lambda: circuit_open(stack, endpoint_id), 20, "the circuit to open")
    time.sleep(3)  # the outage lasts: deliveries stay parked, one probe now and then
    tried_while_down = attempts(stack, endpoint_id)
    # Without the circuit the standard policy's immediate retry alone would have
    # sent every delivery again; with it, each is tried at most once (the sends under
    # way when it opened, however many a loaded machine had started), and the only
    # repeats are the retries of the 5 failures that opened it and the probes (1 s, 2 s).
    assert tried_while_down <= len(posted) + 5 + 4
    assert statuses(stack, endpoint_id) == {"pending": len(posted)}
    customer.answer_with((200, b"ok", {}))

    wait_for(lambda: statuses(stack, endpoint_id) == {"succeeded": len(posted)}, 60,
             "every delivery after the recovery")
    assert set(arrivals(customer)) == set(posted)
    # The standard policy allows 8 attempts each; parking spent none of them.
    assert attempts(stack, endpoint_id) <= tried_while_down + len(posted) + 5


def test_a_worker_killed_mid_delivery_loses_none(
        stack: Stack, api: API, customer: Customer) -> None:
    client, me, callback = api
    endpoint_id = endpoint(client, me, url=customer.url, timeout=10)
    customer.delay = 0.5  # sends are under way when the kill comes
    stack.worker.kill()
    posted = post_callbacks(callback, count=20, batch=5, seed=3000)
    stack.worker.start()
    wait_for(lambda: len(customer.received) > 0, 30, "the first delivery to start",
             interval=0.01)
    stack.worker.kill()  # SIGKILL mid-send: leases and unacked tasks are left behind
    settled_before = statuses(stack, endpoint_id).get("succeeded", 0)
    customer.delay = 0.0
    stack.worker.start()

    wait_for(lambda: statuses(stack, endpoint_id) == {"succeeded": len(posted)}, 60,
             "every delivery after the restart")
    assert settled_before < len(posted)
    assert set(arrivals(customer)) == set(posted)  # at least once: nothing lost
    # Resent deliveries keep their webhook-id, so the customer can drop the repeats.
    ids = [r.headers["webhook-id"] for r in customer.received]
    assert len(set(ids)) == len(posted)


def test_a_broker_that_lost_its_messages_delays_but_loses_no_delivery(
        stack: Stack, api: API, customer: Customer, redis_url: str) -> None:
    client, me, callback = api
    endpoint_id = endpoint(client, me, url=customer.url, retry_policy={"waits": [2]})
    customer.answer_with((503, b"busy", {}))
    posted = post_callbacks(callback, count=1, batch=3, seed=4000)  # under the threshold
    wait_for(lambda: attempts(stack, endpoint_id) == 3, 20, "the first attempts")
    # The retries wait in the broker as countdown tasks: a restart without persistence
    # loses them (and the worker's reserved copies die with it).
    stack.worker.kill()
    redis.Redis.from_url(redis_url).flushdb()
    customer.answer_with((200, b"ok", {}))
    stack.worker.start()

    wait_for(lambda: statuses(stack, endpoint_id) == {"succeeded": 3}, 30,
             "the sweeper to send them again")
    assert set(arrivals(customer)) == set(posted)


def test_a_rate_limit_spaces_the_requests(
        stack: Stack, api: API, customer: Customer) -> None:
    client, me, callback = api
    endpoint(client, me, url=customer.url, rate_limit=5)
    posted = post_callbacks(callback, count=1, batch=15, seed=5000)
    wait_for(lambda: len(customer.received) == len(posted), 30, "15 rate-limited requests")
    times = sorted(r.at for r in customer.received)
    assert times[-1] - times[0] >= 14 / 5 - 0.2  # 15 requests at 5/s: 2.8 s at least
    for i in range(len(times) - 5):
        assert times[i + 5] - times[i] >= 1.0 - 0.1  # never 6 within a second
