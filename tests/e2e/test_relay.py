"""The relay, end to end: a real worker posts to a real customer server, signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import httpx
import orjson
import pytest

from tests.customer import Customer
from tests.fixtures import sample
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def independent_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    """Standard Webhooks, computed here without the product's code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def deliveries(client: httpx.Client, me: dict[str, str], **query: str) -> list[dict[str, Any]]:
    page: list[dict[str, Any]] = client.get("/v1/deliveries", params=query, headers=me
                                            ).json()["data"]
    return page


def test_a_callback_reaches_the_endpoint_signed_and_logged(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, callback = api
    created = client.post("/v1/endpoints", json={"url": customer.url}, headers=me)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert httpx.post(callback, content=sample("tencent_dlr_v2.json"),
                      headers={"Content-Type": "application/json"}).status_code == 200

    wait_for(lambda: len(customer.received) == 1, 20, "the webhook")
    got = customer.received[0]
    assert got.headers["webhook-signature"].split(" ")[0] == independent_signature(
        secret, got.headers, got.body)
    event = orjson.loads(got.body)
    assert (event["type"], event["status"], event["message_id"]) == (
        "sms.status", "delivered", "xxxxxxx")
    wait_for(lambda: deliveries(client, me)[0]["status"] == "succeeded", 10, "success")
    (delivery,) = deliveries(client, me)
    detail = client.get(f"/v1/deliveries/{delivery['id']}", headers=me).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [200]
    assert got.headers["webhook-id"] == delivery["id"]


def test_a_relayed_failure_says_why_and_where(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, callback = api
    assert client.post("/v1/endpoints", json={"url": customer.url},
                       headers=me).status_code == 201
    # Tencent passes the carrier's code through: MK:0005 on a China Telecom number is a
    # powered-off handset (on China Mobile it would be an invalid number).
    report = {"user_receive_time": "2024-01-02 03:04:05", "nationcode": "86",
              "mobile": "18912345678", "report_status": "FAIL", "errmsg": "MK:0005",
              "description": "", "sid": "sid-fail-1"}
    assert httpx.post(callback, content=orjson.dumps([report]),
                      headers={"Content-Type": "application/json"}).status_code == 200

    wait_for(lambda: len(customer.received) == 1, 20, "the webhook")
    event = orjson.loads(customer.received[0].body)
    assert (event["status"], event["error_code"]) == ("failed", "MK:0005")
    assert (event["reason_class"], event["retryable"]) == ("unreachable_powered_off", True)
    assert (event["country"], event["carrier"]) == ("CN", "china_telecom")


def test_a_5xx_is_retried_on_the_policy_and_a_4xx_is_final(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, callback = api
    client.post("/v1/endpoints", json={"url": customer.url, "retry_policy": {"waits": [1, 1]}},
                headers=me)
    customer.answer_with((503, b"busy", {}), (200, b"ok", {}))
    httpx.post(callback, content=sample("tencent_dlr_v2.json"),
               headers={"Content-Type": "application/json"})
    wait_for(lambda: deliveries(client, me) and
             deliveries(client, me)[0]["status"] == "succeeded", 30, "the retry")
    detail = client.get(f"/v1/deliveries/{deliveries(client, me)[0]['id']}", headers=me).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [503, 200]
    assert len(customer.received) == 2

    customer.answer_with((400, b"bad request", {}))
    other = sample("tencent_dlr_v2.json").replace(b'"xxxxxxx"', b'"another-sid"')
    httpx.post(callback, content=other, headers={"Content-Type": "application/json"})
    wait_for(lambda: any(d["status"] == "failed" for d in deliveries(client, me)), 20,
             "the 4xx to fail it")
    failed = next(d for d in deliveries(client, me) if d["status"] == "failed")
    assert failed["attempts"] == 1
    assert failed["last_status_code"] == 400

    customer.answer_with((200, b"ok", {}))
    retried = client.post(f"/v1/deliveries/{failed['id']}/retry", headers=me)
    assert retried.status_code == 200
    wait_for(lambda: client.get(f"/v1/deliveries/{failed['id']}", headers=me
                                ).json()["status"] == "succeeded", 20, "the manual retry")


def test_native_format_reposts_the_callback_byte_for_byte_and_judges_like_tencent(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, callback = api
    client.post("/v1/endpoints", json={"url": customer.url, "format": "native",
                                       "retry_policy": {"waits": [1]}}, headers=me)
    customer.answer_with((200, b'{"result": 1, "errmsg": "not yet"}', {}),
                         (200, b'{"result": 0, "errmsg": "OK"}', {}))
    body = sample("tencent_dlr_v2.json")
    httpx.post(callback, content=body, headers={"Content-Type": "application/json"})
    wait_for(lambda: deliveries(client, me) and
             deliveries(client, me)[0]["status"] == "succeeded", 30, "Tencent's OK")
    assert [r.body for r in customer.received] == [body, body]
    assert customer.received[0].headers["content-type"] == "application/json"
    assert "webhook-signature" in customer.received[0].headers


def test_a_private_address_is_refused_unless_allowed(
        settings: Any, runtime: Any) -> None:
    import falcon.testing

    from dlrhub.api.app import create_app
    from dlrhub.services.keys import create_key
    from tests.factories import AccountFactory

    account = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        key = create_key(session, tenant_id=account.account.tenant_id).key
        session.commit()
    client = falcon.testing.TestClient(create_app(settings, runtime=runtime))
    me = {"Authorization": f"Bearer {key}"}
    for url in ("http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.1/",
                "http://169.254.169.254/latest", "ftp://example.com/"):
        refused = client.simulate_post("/v1/endpoints", json={"url": url}, headers=me)
        assert refused.status_code == 422, url
        assert refused.json["field"] == "url"


def test_replay_sends_stored_events_again_through_the_endpoints_filters(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, callback = api
    body = sample("ucloud_dlr.json")  # not Tencent's: posted to a Tencent URL it is refused
    tencent = sample("tencent_dlr_v2.json")
    for sid in (b"r-1", b"r-2", b"r-3"):
        assert httpx.post(callback, content=tencent.replace(b'"xxxxxxx"', b'"' + sid + b'"'),
                          headers={"Content-Type": "application/json"}).status_code == 200
    assert httpx.post(callback, content=body, headers={
        "Content-Type": "application/json"}).status_code == 400
    wait_for(lambda: len(client.get("/v1/receipts", headers=me).json()["data"]) == 3, 20,
             "3 receipts")
    # registered after the fact: nothing is sent until a replay
    endpoint = client.post("/v1/endpoints", json={"url": customer.url, "batch_size": 2},
                           headers=me).json()
    assert customer.received == []

    replayed = client.post(f"/v1/endpoints/{endpoint['id']}/replay",
                           json={"since": hour_ago()}, headers=me)
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["deliveries"] == 2  # 3 events in batches of 2
    wait_for(lambda: len(customer.received) == 2, 20, "the replayed batches")
    sids = sorted(e["message_id"] for r in customer.received for e in orjson.loads(r.body))
    assert sids == ["r-1", "r-2", "r-3"]

    empty = client.post(f"/v1/endpoints/{endpoint['id']}/replay",
                        json={"since": hour_ago(), "statuses": ["failed"]},
                        headers=me)
    assert empty.json()["deliveries"] == 0
    backwards = client.post(f"/v1/endpoints/{endpoint['id']}/replay",
                            json={"since": "2030-01-01T00:00:00Z",
                                  "until": "2020-01-01T00:00:00Z"}, headers=me)
    assert (backwards.status_code, backwards.json()["field"]) == (422, "until")


def hour_ago() -> str:
    from datetime import UTC, datetime, timedelta
    return (datetime.now(UTC) - timedelta(hours=1)).isoformat()


def test_a_test_event_is_sent_now_signed_and_its_answer_returned(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, _ = api
    created = client.post("/v1/endpoints", json={"url": customer.url}, headers=me).json()
    tested = client.post(f"/v1/endpoints/{created['id']}/test", headers=me)
    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert (result["succeeded"], result["status_code"]) == (True, 200)
    (got,) = customer.received
    assert orjson.loads(got.body)["test"] is True
    assert got.headers["webhook-signature"].split(" ")[0] == independent_signature(
        created["secret"], got.headers, got.body)

    customer.answer_with((500, b"down", {}))
    failed = client.post(f"/v1/endpoints/{created['id']}/test", headers=me).json()
    assert (failed["succeeded"], failed["status_code"]) == (False, 500)
    assert len(customer.received) == 2  # tried once, not retried
    logged = client.get(f"/v1/deliveries/{failed['delivery_id']}", headers=me).json()
    assert (logged["status"], len(logged["attempt_log"])) == ("failed", 1)
    endpoint = client.get(f"/v1/endpoints/{created['id']}", headers=me).json()
    assert endpoint["enabled"] is True


def test_a_native_endpoints_test_is_its_providers_callback_judged_by_its_rule(
        api: tuple[httpx.Client, dict[str, str], str], customer: Customer) -> None:
    client, me, _ = api
    created = client.post("/v1/endpoints", json={"url": customer.url, "format": "native"},
                          headers=me).json()
    # A receiver that answers 200 "ok" would fail real Tencent deliveries: Tencent wants
    # {"result": 0}. Its test fails too, then passes once it answers as Tencent wants.
    customer.answer_with((200, b"ok", {}), (200, b'{"result": 0, "errmsg": "OK"}', {}))
    failed = client.post(f"/v1/endpoints/{created['id']}/test", headers=me).json()
    passed = client.post(f"/v1/endpoints/{created['id']}/test", headers=me).json()
    assert (failed["succeeded"], failed["status_code"]) == (False, 200)
    assert passed["succeeded"] is True
    first = customer.received[0]
    assert first.headers["content-type"] == "application/json"
    report = orjson.loads(first.body)
    assert isinstance(report, list)
    assert {"sid", "mobile", "report_status"} <= set(report[0])  # Tencent's own fields


def test_every_providers_receipts_reach_the_endpoint_signed(
        stack: Any, accounts: Any, customer: Customer) -> None:
    from dlrhub.models import EndpointCreate, utcnow
    from dlrhub.services.endpoints import create_endpoint
    from tests.catalog import cases
    from tests.factories import AccountFactory

    secrets: dict[str, str] = {}  # tenant -> its endpoint's secret
    expected = 0
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        for case in cases():
            new = AccountFactory(provider=case.provider, credentials=case.credentials or None)
            tenant_id = new.account.tenant_id
            with accounts.sessions() as session:
                _, secrets[tenant_id] = create_endpoint(
                    session, accounts.box, tenant_id=tenant_id,
                    spec=EndpointCreate(url=customer.url), allow_private=True)
                session.commit()
            answer = client.post(f"/v1/callbacks/{case.provider}/{new.token}",
                                 content=case.body, headers=case.headers(utcnow()))
            assert answer.status_code == 200, (case.id, answer.text)
            expected += case.records
    wait_for(lambda: len(customer.received) >= expected, 30, f"{expected} webhooks")
    assert len(customer.received) == expected
    providers = set()
    for got in customer.received:
        event = orjson.loads(got.body)
        assert got.headers["webhook-signature"].split(" ")[0] == independent_signature(
            secrets[event["tenant_id"]], got.headers, got.body)
        providers.add(event["provider"])
    assert providers == {case.provider for case in cases() if case.records}
