"""Tracing, end to end: one trace from a provider's callback to the customer's endpoint.

The real ``dlrhub serve`` (API, worker and beat processes, on the embedded SQLite and
file broker) sends its spans to an OTLP/HTTP receiver in this test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.customer import Customer, customer_server
from tests.otlp import Receiver, Span, otlp_receiver
from tests.processes import Process, free_port, wait_for, wait_healthy

pytestmark = pytest.mark.e2e

ADMIN = "tracing-admin-token"
PHONE = "13912345678"
CALLBACK_ROUTE = "/v1/callbacks/{provider}/{token}"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with otlp_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def served(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("tracing")
    port = free_port()
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DLRHUB_", "OTEL_")) and k != "PROMETHEUS_MULTIPROC_DIR"}
    env = {**clean, "DLRHUB_DATA_DIR": str(data), "DLRHUB_PORT": str(port),
           "DLRHUB_ADMIN_TOKEN": ADMIN, "DLRHUB_ALLOW_PRIVATE_ENDPOINTS": "true",
           "DLRHUB_LOG_LEVEL": "WARNING", "DLRHUB_WORKER_CONCURRENCY": "2",
           "DLRHUB_OTEL_ENDPOINT": receiver.url,
           # Spans are exported every 200 ms instead of 5 s: the test waits less.
           "OTEL_BSP_SCHEDULE_DELAY": "200"}
    server = Process(["serve"], env, data / "serve.log")
    server.env = env
    server.start()
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def customer() -> Iterator[Customer]:
    with customer_server() as server:
        yield server


def callback_account(base: str, customer: Customer) -> str:
    """Create a tenant with a Tencent account and a webhook endpoint; return the callback URL."""
    with httpx.Client(base_url=base, timeout=10) as client:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        created_tenant = client.post("/v1/tenants", json={"name": "traced"}, headers=admin)
        assert created_tenant.status_code == 201, created_tenant.text
        tenant = created_tenant.json()
        key = client.post(f"/v1/tenants/{tenant['id']}/keys", json={}, headers=admin).json()
        me = {"Authorization": f"Bearer {key['key']}"}
        account = client.post("/v1/accounts", json={"provider": "tencent", "name": "t"},
                              headers=me).json()
        created = client.post("/v1/endpoints", json={"url": customer.url}, headers=me)
        assert created.status_code == 201, created.text
        url: str = account["callback_url"]
        return url


def trace_of(receiver: Receiver, trace_id: str) -> list[Span]:
    return [s for s in receiver.snapshot() if s.trace_id == trace_id]


def callback_span(receiver: Receiver) -> Span | None:
    return next((s for s in receiver.snapshot()
                 if s.attributes.get("http.route") == CALLBACK_ROUTE), None)


def complete(spans: list[Span]) -> bool:
    """Whether the worker's spans are in, each with its parent.

    Each process exports its spans in batches as they end, a parent after its children:
    a task's span can reach the receiver after the relay send inside it (seen once in a
    full run), so the trace is waited for until it is one tree, not only until the
    named spans are there.
    """
    names = {s.name for s in spans}
    ids = {s.span_id for s in spans}
    parents_in = sum(s.parent_id not in ids for s in spans) <= 1  # the request only
    return "relay send" in names and "run/dlrhub.ingest_many" in names and parents_in


def test_one_trace_spans_the_callback_the_ingest_and_the_relay_send(
        served: str, receiver: Receiver, customer: Customer) -> None:
    url = callback_account(served, customer)
    token = url.rsplit("/", 1)[1]
    report = {"user_receive_time": "2024-01-02 03:04:05", "nationcode": "86",
              "mobile": PHONE, "report_status": "SUCCESS", "errmsg": "DELIVRD",
              "description": "ok", "sid": "traced-sid-1"}
    answer = httpx.post(url, content=orjson.dumps([report]),
                        headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 200, answer.text
    wait_for(lambda: len(customer.received) == 1, 30, "the webhook")

    wait_for(lambda: callback_span(receiver) is not None, 30, "the callback's span")
    request = callback_span(receiver)
    assert request is not None
    wait_for(lambda: complete(trace_of(receiver, request.trace_id)), 30,
             "the worker's spans in the callback's trace")
    spans = trace_of(receiver, request.trace_id)

    assert request.service == "dlrhub-api"
    assert request.attributes["dlrhub.provider"] == "tencent"
    assert request.attributes["dlrhub.callback.outcome"] == "accepted"
    ingest = next(s for s in spans if s.name == "run/dlrhub.ingest_many")
    assert ingest.service == "dlrhub-worker"
    assert any(s.attributes.get("db.system") == "sqlite" for s in spans), \
        [s.name for s in spans]
    send = next(s for s in spans if s.name == "relay send")
    assert send.service == "dlrhub-worker"
    delivery = customer.received[0].headers["webhook-id"]
    assert send.attributes["dlrhub.delivery_id"] == delivery
    assert send.attributes["http.response.status_code"] == 200
    # Each span's parent is in the trace: one tree, from the request down.
    ids = {s.span_id for s in spans}
    assert all(s.parent_id in ids for s in spans if s is not request)

    # Nothing any process exported holds the token or the phone number.
    leaks = [(s.name, text) for s in receiver.snapshot() for text in s.texts()
             if token in text or PHONE in text]
    assert leaks == []


def test_a_query_string_never_reaches_a_span(served: str, receiver: Receiver) -> None:
    phone = "+8613912349876"
    answer = httpx.get(f"{served}/v1/receipts", params={"phone": phone},
                       headers={"Authorization": "Bearer not-a-key"}, timeout=10)
    assert answer.status_code == 401

    def seen() -> list[Any]:
        return [s for s in receiver.snapshot() if s.attributes.get("http.route") ==
                "/v1/receipts"]
    wait_for(lambda: bool(seen()), 30, "the request's span")
    assert all(phone not in text and "8613912349876" not in text
               for s in receiver.snapshot() for text in s.texts())
