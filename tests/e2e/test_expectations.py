"""Expected messages end to end: the real server streams an upload, the real beat sweeps,
the real worker relays a missing-receipt event to a real endpoint that asked for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from tests.customer import Customer
from tests.fixtures import sample
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def test_a_missing_receipt_reaches_the_endpoint_filtered_on_its_type(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, callback = api
    made = client.post("/v1/endpoints", headers=me, json={
        "url": customer.url, "event_types": ["sms.receipt_missing"]})
    assert made.status_code == 201, made.text
    (account,) = client.get("/v1/accounts", headers=me).json()["data"]
    sent_at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    registered = client.post("/v1/expectations", headers=me, json={
        "account_id": account["id"], "message_id": "never-came", "phone": "+8613800000001",
        "sent_at": sent_at, "deadline_seconds": 60, "reference": "order-7"})
    assert registered.status_code == 201, registered.text
    # A receipt of another message: an sms.status, which this endpoint did not ask for.
    assert httpx.post(callback, content=sample("tencent_dlr_v2.json"),
                      headers={"Content-Type": "application/json"}).status_code == 200

    wait_for(lambda: len(customer.received) >= 1, 30, "the missing-receipt event")
    event = orjson.loads(customer.received[0].body)
    assert (event["type"], event["message_id"], event["reference"]) == (
        "sms.receipt_missing", "never-came", "order-7")
    wait_for(lambda: client.get("/v1/receipts", params={"type": "sms.status"},
                                headers=me).json()["data"], 20, "the receipt's ingest")
    assert len(customer.received) == 1  # the receipt, planned at its ingest, was not sent
    (missing,) = client.get("/v1/expectations", params={"state": "missing"},
                            headers=me).json()["data"]
    assert missing["message_id"] == "never-came"


def test_a_stream_far_past_the_body_limit_is_stored_through_the_server(
        api: tuple[httpx.Client, dict[str, str], str]) -> None:
    client, me, _ = api
    (account,) = client.get("/v1/accounts", headers=me).json()["data"]

    def lines() -> Iterator[bytes]:  # ~1.3 MB, chunked: past DLRHUB_MAX_BODY_BYTES (1 MiB)
        for start in range(0, 20_000, 1000):
            yield b"".join(orjson.dumps({"account_id": account["id"],
                                         "message_id": f"bulk-{i:06d}",
                                         "template": "t" * 10}) + b"\n"
                           for i in range(start, start + 1000))
        yield b"{broken\n"

    result = client.post("/v1/expectations/bulk", content=lines(), timeout=120,
                         headers={**me, "Content-Type": "application/x-ndjson"})

    assert result.status_code == 200, result.text
    assert (result.json()["accepted"], result.json()["rejected"]) == (20_000, 1)
    assert result.json()["errors"][0]["line"] == 20_001
