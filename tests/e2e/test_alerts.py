"""Alerts end to end: the real beat evaluates a rule, the real worker relays its firing and
its resolution to a real endpoint that asked for alerts."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.customer import Customer
from tests.fixtures import sample
from tests.processes import DLRHUB, wait_for

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


def test_a_degraded_provider_fires_a_delivery_rate_alert_and_its_missing_receipts_arrive(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    """The README's demo: the simulator's bad hour, as the customer's endpoint sees it."""
    client, me, callback = api
    made = client.post("/v1/endpoints", headers=me, json={
        "url": customer.url, "event_types": ["sms.alert", "sms.receipt_missing"]})
    assert made.status_code == 201, made.text
    rule = client.post("/v1/alert-rules", headers=me, json={
        "kind": "delivery_rate_below", "threshold": 0.8, "window_seconds": 600,
        "min_messages": 50, "scope": {"provider": "tencent"}})
    assert rule.status_code == 201, rule.text
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env["DLRHUB_API_KEY"] = me["Authorization"].removeprefix("Bearer ")
    done = subprocess.run(
        [DLRHUB, "simulate", "tencent", "--url", callback, "--scenario", "degraded",
         "--messages", "100", "--seed", "3", "--expect", "--deadline-seconds", "10",
         # Late receipts would race the sweep (sent long ago, overdue at registration).
         "--late-share", "0", "--batch", "50", "--quiet"],
        env=env, capture_output=True, timeout=120, check=False)
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()

    # What the rule must measure: delivered over final reports, second finals included.
    counts = re.search(r"delivered (\d+), failed (\d+), never sent (\d+)", out)
    assert counts is not None, out
    delivered, failed, never = map(int, counts.groups())
    seconds = {name: int(n) for name, n in re.findall(
        r"([a-z_]+) (\d+)", out.split("posted after the first: ")[1].split(")")[0])}
    rate = (delivered + seconds.get("delivered", 0)) / (delivered + failed + sum(seconds.values()))
    assert rate < 0.8, out

    def alerts() -> list[dict[str, Any]]:
        return [e for e in map(orjson.loads, (r.body for r in customer.received))
                if e["type"] == "sms.alert"]

    wait_for(lambda: len(alerts()) >= 1, 30, "the firing alert")
    (firing,) = alerts()
    assert (firing["provider"], firing["details"]["rule_id"], firing["details"]["state"]) == (
        "tencent", rule.json()["id"], "firing")
    assert firing["details"]["value"] < 0.8
    # Once every report is stored the rule reads exactly the simulator's mix.
    wait_for(lambda: client.get(f"/v1/alert-rules/{rule.json()['id']}", headers=me)
             .json()["last_value"] == pytest.approx(rate), 30, f"a delivery rate of {rate}")
    # The sends that never got a receipt: one event each, past their 10 s deadline.
    wait_for(lambda: len(customer.received) >= never + 1, 40, f"{never} missing receipts")
    missing = [e for e in map(orjson.loads, (r.body for r in customer.received))
               if e["type"] == "sms.receipt_missing"]
    listed = client.get("/v1/expectations", headers=me,
                        params={"state": "missing", "limit": 500}).json()["data"]
    assert sorted(e["message_id"] for e in missing) == sorted(
        e["message_id"] for e in listed)
    assert len(missing) == never
    assert len(alerts()) == 1  # still firing: said once
