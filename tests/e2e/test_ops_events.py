"""Operational events, end to end: a real worker (and its beat) tells a real customer server
what happened to the tenant's other endpoint, or account, once each and signed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import update

from dlrhub.models import ENDPOINT_TABLE, utcnow
from tests.customer import Customer, customer_server
from tests.e2e.conftest import Stack
from tests.e2e.test_relay import independent_signature
from tests.fixtures import sample
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

OPS = ["endpoint.circuit_opened", "endpoint.recovered", "endpoint.disabled", "delivery.dead",
       "account.callbacks_rejected"]
DOWN = (503, b"down", {})
UP = (200, b"ok", {})
Api = tuple[httpx.Client, dict[str, str], str]


def _endpoint(client: httpx.Client, me: dict[str, str], url: str, **spec: Any
              ) -> dict[str, Any]:
    created = client.post("/v1/endpoints", json={"url": url, **spec}, headers=me)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def _told(customer: Customer) -> list[dict[str, Any]]:
    """Return the operational events the customer received, in order."""
    out = []
    for got in list(customer.received):
        event = orjson.loads(got.body)
        if event["type"] in OPS:
            out.append(event)
    return out


def _callback(callback: str) -> None:
    assert httpx.post(callback, content=sample("tencent_dlr_v2.json"),
                      headers={"Content-Type": "application/json"}).status_code == 200


def test_a_circuit_that_opens_and_recovers_is_told_to_the_watching_endpoint_once_each(
        api: Api, customer: Customer) -> None:
    client, me, callback = api
    with customer_server() as flaky, customer_server() as plain:
        flaky.answer_with(*[DOWN] * 5, UP)
        _endpoint(client, me, flaky.url, retry_policy={"waits": [1] * 10},
                  event_types=["sms.status", *OPS])
        watcher = _endpoint(client, me, customer.url, event_types=OPS)
        _endpoint(client, me, plain.url)  # every event: the message events only
        _callback(callback)

        wait_for(lambda: len(_told(customer)) == 2, 60, "the circuit's two events")
        wait_for(lambda: len(plain.received) == 1, 10, "the receipt")
    assert [e["type"] for e in _told(customer)] == [
        "endpoint.circuit_opened", "endpoint.recovered"]
    assert _told(customer)[0]["data"]["url"] == flaky.url
    for got in customer.received:
        assert got.headers["webhook-signature"].split(" ")[0] == independent_signature(
            watcher["secret"], got.headers, got.body)
    # Neither the endpoint they are about nor one that asked for no operational event.
    assert _told(flaky) == []
    assert [orjson.loads(r.body)["type"] for r in plain.received] == ["sms.status"]


def test_a_dead_delivery_and_a_disabled_endpoint_are_told_with_their_reasons(
        api: Api, customer: Customer, stack: Stack) -> None:
    client, me, callback = api
    with customer_server() as dead, customer_server() as gone:
        dead.answer_with(DOWN)
        gone.answer_with(DOWN)
        dying = _endpoint(client, me, dead.url, retry_policy={"waits": [1]},
                          event_types=["sms.status"])
        disabling = _endpoint(client, me, gone.url, event_types=["sms.status"])
        _endpoint(client, me, customer.url, event_types=OPS)
        # Failing for six days already: its next failure disables it.
        with stack.engine.begin() as conn:
            conn.execute(update(ENDPOINT_TABLE).where(ENDPOINT_TABLE.c.id == disabling["id"])
                         .values(failing_since=utcnow() - timedelta(days=6)))
        _callback(callback)
        wait_for(lambda: len(_told(customer)) == 2, 60, "the dead delivery and the disabling")
    by_type = {e["type"]: e for e in _told(customer)}
    assert set(by_type) == {"delivery.dead", "endpoint.disabled"}
    assert by_type["delivery.dead"]["data"]["endpoint_id"] == dying["id"]
    assert by_type["delivery.dead"]["data"]["last_status_code"] == 503
    assert by_type["endpoint.disabled"]["data"]["endpoint_id"] == disabling["id"]
    assert "every delivery failed since" in by_type["endpoint.disabled"]["data"]["reason"]
    listed = client.get("/v1/events", headers=me).json()["data"]
    assert {e["id"] for e in listed} == {e["id"] for e in _told(customer)}


def test_a_burst_of_rejected_callbacks_is_told_once(api: Api, customer: Customer) -> None:
    client, me, callback = api
    _endpoint(client, me, customer.url, event_types=["account.callbacks_rejected"])
    for _ in range(12):
        assert httpx.post(callback, content=b'[{"sid": ',
                          headers={"Content-Type": "application/json"}).status_code == 400
    wait_for(lambda: len(_told(customer)) == 1, 30, "the burst")
    (event,) = _told(customer)
    assert event["type"] == "account.callbacks_rejected"
    assert event["data"]["state"] == "firing"
    assert event["data"]["rejected"] >= 10
    # One event per burst however many evaluations see it: tests/functional/test_ops_events.py.
