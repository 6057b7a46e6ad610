"""A message's correction, end to end: a real worker relays it to a real customer server."""

from __future__ import annotations

import httpx
import orjson
import pytest

from tests.customer import Customer
from tests.e2e.conftest import Stack
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def report(status: str, at: str) -> bytes:
    """One Tencent status report of message ``m-corr``; ``at`` is Beijing time."""
    return orjson.dumps([{"user_receive_time": at, "nationcode": "86",
                          "mobile": "13800000001", "report_status": status,
                          "errmsg": "DELIVRD" if status == "SUCCESS" else "MK:0005",
                          "description": "", "sid": "m-corr"}])


def test_a_disagreeing_final_receipt_is_relayed_as_a_correction(
        stack: Stack, api: tuple[httpx.Client, dict[str, str], str],
        customer: Customer) -> None:
    client, me, callback = api
    created = client.post("/v1/endpoints", headers=me, json={
        "url": customer.url, "event_types": ["sms.status_corrected"]})
    assert created.status_code == 201, created.text
    json = {"Content-Type": "application/json"}
    assert httpx.post(callback, content=report("SUCCESS", "2024-01-01 10:00:05"),
                      headers=json).status_code == 200
    wait_for(lambda: stack.settled() and stack.receipts() == 1, 20, "the delivery receipt")
    assert httpx.post(callback, content=report("FAIL", "2024-01-01 10:00:09"),
                      headers=json).status_code == 200

    wait_for(lambda: len(customer.received) == 1, 20, "the correction's webhook")
    event = orjson.loads(customer.received[0].body)
    assert (event["type"], event["message_id"], event["status"]) == (
        "sms.status_corrected", "m-corr", "delivered")
    assert (event["details"]["kept"]["status"], event["details"]["reported"]["status"]) == (
        "delivered", "failed")
    message = client.get("/v1/messages/m-corr", headers=me).json()
    [recipient] = message["recipients"]
    assert (recipient["status"], recipient["final"], recipient["corrected"]) == (
        "delivered", True, True)
    assert event["id"] in [e["id"] for e in recipient["events"]]
    assert client.get("/v1/receipts", headers=me,
                      params={"type": "sms.status_corrected"}).json()["data"][0]["id"] == \
        event["id"]
