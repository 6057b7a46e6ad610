"""Alerts end to end: the real beat evaluates a rule, the real worker relays its firing and
its resolution to a real endpoint that asked for alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from tests.customer import Customer
from tests.fixtures import sample
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def test_a_silent_account_fires_an_alert_and_its_first_receipt_resolves_it(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, callback = api
    made = client.post("/v1/endpoints", headers=me, json={
        "url": customer.url, "event_types": ["sms.alert"]})
    assert made.status_code == 201, made.text
    (account,) = client.get("/v1/accounts", headers=me).json()["data"]
    # Sent five minutes ago, allowed an hour: waiting, not yet missing.
    sent_at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    registered = client.post("/v1/expectations", headers=me, json={
        "account_id": account["id"], "message_id": "waiting", "sent_at": sent_at,
        "deadline_seconds": 3600})
    assert registered.status_code == 201, registered.text
    rule = client.post("/v1/alert-rules", headers=me, json={
        "kind": "no_receipts_for", "window_seconds": 60,
        "scope": {"account_id": account["id"]}})
    assert rule.status_code == 201, rule.text

    wait_for(lambda: len(customer.received) >= 1, 30, "the firing alert")
    firing = orjson.loads(customer.received[0].body)
    assert (firing["type"], firing["account_id"], firing["details"]["rule_id"],
            firing["details"]["state"]) == ("sms.alert", account["id"], rule.json()["id"],
                                           "firing")
    assert client.get(f"/v1/alert-rules/{rule.json()['id']}",
                      headers=me).json()["firing"] is True
    # A receipt from the provider: its pipeline works again.
    assert httpx.post(callback, content=sample("tencent_dlr_v2.json"),
                      headers={"Content-Type": "application/json"}).status_code == 200

    wait_for(lambda: len(customer.received) >= 2, 30, "the resolved alert")
    resolved = orjson.loads(customer.received[1].body)
    assert (resolved["type"], resolved["details"]["state"]) == ("sms.alert", "resolved")
    listed = client.get("/v1/receipts", params={"type": "sms.alert"}, headers=me).json()
    assert {e["details"]["state"] for e in listed["data"]} == {"firing", "resolved"}
    assert len(customer.received) == 2  # the receipt itself was not for this endpoint
