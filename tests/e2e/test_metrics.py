"""/metrics under a real run: a callback relayed by a real worker moves the counters."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.customer import Customer
from tests.e2e.conftest import Stack
from tests.fixtures import sample
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base_url: str) -> Samples:
    page = httpx.get(f"{base_url}/metrics", timeout=10)
    assert page.status_code == 200
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(page.text) for s in family.samples}


def value(page: Samples, name: str, **labels: str) -> float:
    return page.get((name, frozenset(labels.items())), 0.0)


def test_a_relayed_callback_moves_the_pipeline_metrics(
        stack: Stack, api: tuple[httpx.Client, dict[str, str], str],
        customer: Customer) -> None:
    client, me, callback = api
    before = scrape(stack.base_url)
    assert client.post("/v1/endpoints", json={"url": customer.url},
                       headers=me).status_code == 201
    assert httpx.post(callback, content=sample("tencent_dlr_v2.json"),
                      headers={"Content-Type": "application/json"}).status_code == 200
    wait_for(lambda: len(customer.received) == 1, 20, "the webhook")

    def moved(name: str, **labels: str) -> float:
        return value(scrape(stack.base_url), name, **labels) - value(before, name, **labels)

    # The worker counts the attempt once it is recorded, in its own process.
    wait_for(lambda: moved("dlrhub_deliveries_total", outcome="succeeded") == 1, 10,
             "the relay's counter")
    after = scrape(stack.base_url)
    assert value(after, "dlrhub_delivery_attempt_seconds_count") - value(
        before, "dlrhub_delivery_attempt_seconds_count") == 1
    for outcome in ("failed", "retrying", "dead"):
        assert ("dlrhub_deliveries_total", frozenset({("outcome", outcome)})) in after
    # The API's requests, by route template: the callback's token is in no label.
    token = callback.rsplit("/", 1)[1]
    assert value(after, "dlrhub_http_requests_total", route="/v1/callbacks/{provider}/{token}",
                 method="POST", status="200") >= 1
    assert value(after, "dlrhub_http_requests_total", route="/v1/endpoints", method="POST",
                 status="201") >= 1
    assert not any(token in v for _, labels in after for _, v in labels)
    # Read at scrape, from the database and from Redis.
    assert value(after, "dlrhub_deliveries_pending") == 0
    assert value(after, "dlrhub_deliveries_dead") == 0
    assert value(after, "dlrhub_deliveries_oldest_pending_seconds") == 0
    assert value(after, "dlrhub_endpoints_circuit_open") == 0
    assert value(after, "dlrhub_endpoints_disabled") == 0
    assert {("dlrhub_queue_depth", frozenset({("queue", q)})) for q in ("ingest", "relay")
            } <= after.keys()
