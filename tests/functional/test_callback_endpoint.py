"""The callback endpoint through HTTP: every sample in, every bad input refused."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import falcon.testing
import orjson
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import delete, func, select
from sqlmodel import Session

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.models import WORKER_SEEN_TABLE, InboundCallback, Receipt, utcnow
from dlrhub.services import heartbeats
from dlrhub.services.ingest import ingest
from dlrhub.services.runtime import Runtime
from dlrhub.tasks.app import create_celery
from dlrhub.tasks.enqueue import Enqueuer
from tests.catalog import NETEASE_CREDS, Case, cases
from tests.factories import AccountFactory

CASES = cases()


def post(client: falcon.testing.TestClient, url: str, body: bytes,
         headers: dict[str, str] | None = None, **kw: Any) -> falcon.testing.Result:
    return client.simulate_post(url, body=body, headers=headers or {}, **kw)


def path_of(token: str, provider: str) -> str:
    return f"/v1/callbacks/{provider}/{token}"


def inbox(session: Session) -> list[InboundCallback]:
    session.expire_all()
    return list(session.execute(select(InboundCallback)).scalars())


def receipts(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Receipt)).scalar_one()


def ingest_all(rt: Runtime) -> None:
    with rt.sessions() as session:
        ids = [r.id for r in inbox(session) if r.state == "pending"]
        ingest(session, rt.box, ids, now=utcnow())
        session.commit()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_sample_is_accepted_stored_raw_and_becomes_its_receipts_once(
        client: falcon.testing.TestClient, runtime: Runtime, case: Case) -> None:
    new = AccountFactory(provider=case.provider, credentials=case.credentials or None)
    url = path_of(new.token, case.provider)

    first = post(client, url, case.body, case.headers(utcnow()))

    assert first.status_code == 200, first.text
    session = runtime.sessions()
    (row,) = inbox(session)
    assert (row.state, row.body, row.account_id) == ("pending", case.body, new.account.id)
    ingest_all(runtime)
    assert receipts(session) == case.records
    assert inbox(session)[0].state == "processed"

    again = post(client, url, case.body, case.headers(utcnow()))

    assert again.status_code == 200
    ingest_all(runtime)
    assert receipts(session) == case.records  # the provider's retry is stored once
    assert [r.state for r in inbox(session)] == ["processed", "processed"]
    session.close()


@pytest.mark.parametrize(("provider", "expected"), [
    ("tencent", {"result": 0, "errmsg": "OK"}),
    ("ucloud", {"code": 0, "message": "ok"}),
    ("aliyun", {"code": 0, "msg": "接收成功"}),
    ("cloopen", {"statusCode": "000000"}),
    ("huawei", {"returnCode": 0, "returnCodeDesc": "Success"}),
    ("netease", {"code": 200, "msg": "ok"}),
])
def test_success_answers_are_each_providers_own(client: falcon.testing.TestClient,
                                                provider: str, expected: dict[str, Any]) -> None:
    case = next(c for c in CASES if c.provider == provider and c.content_type != "")
    new = AccountFactory(provider=provider, credentials=case.credentials or None)
    result = post(client, path_of(new.token, provider), case.body, case.headers(utcnow()))
    assert (result.status_code, result.json) == (200, expected)


def test_nxcloud_answers_success_in_plain_text(client: falcon.testing.TestClient) -> None:
    case = next(c for c in CASES if c.id == "nxcloud-form-unsigned")
    new = AccountFactory(provider="nxcloud")
    result = post(client, path_of(new.token, "nxcloud"), case.body, case.headers(utcnow()))
    assert (result.status_code, result.text) == (200, "success")


def test_cloopen_xml_is_answered_in_xml(client: falcon.testing.TestClient) -> None:
    case = next(c for c in CASES if c.id == "cloopen-xml")
    new = AccountFactory(provider="cloopen")
    result = post(client, path_of(new.token, "cloopen"), case.body, case.headers(utcnow()))
    assert result.status_code == 200
    assert "<statuscode>000000</statuscode>" in result.text


# --- bad input: each class gets its status and the provider's failure form -------------

TENCENT = next(c for c in CASES if c.id == "tencent-dlr-v2")
NETEASE = next(c for c in CASES if c.id == "netease-dlr")


def assert_tencent_failure(result: falcon.testing.Result, status: int) -> str:
    assert result.status_code == status, result.text
    doc = result.json
    assert doc["result"] != 0
    reason: str = doc["errmsg"]
    return reason


def test_unknown_token_is_404_in_the_providers_form_and_writes_nothing(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    AccountFactory(provider="tencent")
    result = post(client, path_of("no-such-token", "tencent"), TENCENT.body,
                  TENCENT.headers(utcnow()))
    assert "unknown" in assert_tencent_failure(result, 404)
    with runtime.sessions() as session:
        assert inbox(session) == []


def test_a_token_of_another_provider_is_404(client: falcon.testing.TestClient) -> None:
    new = AccountFactory(provider="ucloud")
    result = post(client, path_of(new.token, "tencent"), TENCENT.body, TENCENT.headers(utcnow()))
    assert_tencent_failure(result, 404)


def test_unknown_provider_is_a_problem_document(client: falcon.testing.TestClient) -> None:
    result = post(client, "/v1/callbacks/nosuch/abc", b"{}")
    assert result.status_code == 404
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json["type"] == "urn:dlrhub:problem:unknown-provider"


def test_broken_json_is_400_and_kept_as_rejected_with_its_reason(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    result = post(client, path_of(new.token, "tencent"), b'[{"sid": ', TENCENT.headers(utcnow()))
    assert "JSON" in assert_tencent_failure(result, 400)
    with runtime.sessions() as session:
        (row,) = inbox(session)
        assert (row.state, row.body) == ("rejected", b'[{"sid": ')
        assert row.reason is not None
        assert "JSON" in row.reason
        assert receipts(session) == 0


def test_a_record_missing_a_field_is_400_naming_it(client: falcon.testing.TestClient) -> None:
    new = AccountFactory(provider="tencent")
    body = orjson.dumps([{"sid": "1", "mobile": "13800138000"}])
    result = post(client, path_of(new.token, "tencent"), body, TENCENT.headers(utcnow()))
    assert "report_status" in assert_tencent_failure(result, 400)


def test_wrong_content_type_is_415(client: falcon.testing.TestClient,
                                   runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    result = post(client, path_of(new.token, "tencent"), TENCENT.body,
                  {"Content-Type": "image/png"})
    assert "image/png" in assert_tencent_failure(result, 415)
    with runtime.sessions() as session:
        assert [r.state for r in inbox(session)] == ["rejected"]


def test_a_body_over_the_limit_is_413_and_not_kept(settings: Settings, runtime: Runtime) -> None:
    small = settings.model_copy(update={"max_body_bytes": 64})
    client = falcon.testing.TestClient(create_app(small, runtime=runtime))
    new = AccountFactory(provider="tencent")
    result = post(client, path_of(new.token, "tencent"), TENCENT.body, TENCENT.headers(utcnow()))
    assert_tencent_failure(result, 413)
    with runtime.sessions() as session:
        (row,) = inbox(session)
        assert (row.state, row.body) == ("rejected", b"")


def test_an_address_outside_the_allow_list_is_403(client: falcon.testing.TestClient) -> None:
    new = AccountFactory(provider="tencent", ip_allowlist=["203.0.113.0/24"])
    url = path_of(new.token, "tencent")
    refused = post(client, url, TENCENT.body, TENCENT.headers(utcnow()), remote_addr="10.1.1.1")
    allowed = post(client, url, TENCENT.body, TENCENT.headers(utcnow()),
                   remote_addr="203.0.113.7")
    assert_tencent_failure(refused, 403)
    assert allowed.status_code == 200


@pytest.mark.parametrize("tamper", ["checksum", "body", "md5", "appkey", "stale", "missing"])
def test_bad_or_stale_signatures_are_401_and_kept_as_rejected(
        client: falcon.testing.TestClient, runtime: Runtime, tamper: str) -> None:
    new = AccountFactory(provider="netease", credentials=NETEASE_CREDS)
    now = utcnow()
    headers = NETEASE.headers(now - timedelta(minutes=10) if tamper == "stale" else now)
    body = NETEASE.body
    if tamper == "checksum":
        headers["CheckSum"] = "0" * 40
    elif tamper == "body":
        body = body.replace(b"DELIVRD", b"UNDELIV", 1)
    elif tamper == "md5":
        headers["MD5"] = hashlib.md5(b"other").hexdigest()
    elif tamper == "appkey":
        headers["AppKey"] = "someone-else"
    elif tamper == "missing":
        del headers["CheckSum"]
    result = post(client, path_of(new.token, "netease"), body, headers)
    assert result.status_code == 401
    assert result.json["code"] != 200
    with runtime.sessions() as session:
        assert [r.state for r in inbox(session)] == ["rejected"]
        assert receipts(session) == 0


def test_database_down_is_a_503_in_the_providers_form(tmp_path: Any) -> None:
    down = Settings(data_dir=tmp_path,
                    database_url="postgresql+psycopg://postgres@127.0.0.1:1/none")
    rt = Runtime.build(down)
    client = falcon.testing.TestClient(create_app(down, runtime=rt))
    result = post(client, path_of("any-token", "tencent"), TENCENT.body,
                  TENCENT.headers(utcnow()))
    rt.close()
    assert_tencent_failure(result, 503)


def test_broker_down_still_accepts_and_keeps_the_callback_pending(
        settings: Settings, runtime: Runtime) -> None:
    no_broker = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    enqueuer = Enqueuer(create_celery(no_broker))
    client = falcon.testing.TestClient(create_app(no_broker, runtime=runtime,
                                                  enqueuer=enqueuer))
    dropped = REGISTRY.get_sample_value("dlrhub_enqueue_dropped_total") or 0.0
    new = AccountFactory(provider="tencent")
    result = post(client, path_of(new.token, "tencent"), TENCENT.body, TENCENT.headers(utcnow()))
    assert result.status_code == 200
    with runtime.sessions() as session:
        assert [r.state for r in inbox(session)] == ["pending"]  # the sweeper's to pick up
    # An operator sees the wake-up that never reached the broker.
    assert enqueuer.flush(timeout=30)
    assert REGISTRY.get_sample_value("dlrhub_enqueue_dropped_total") == dropped + 1


def test_an_accepted_callback_is_marked_enqueued_for_the_sweep(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    before = utcnow()
    result = post(client, path_of(new.token, "tencent"), TENCENT.body, TENCENT.headers(utcnow()))
    assert result.status_code == 200
    with runtime.sessions() as session:
        [row] = inbox(session)
        # The sweep counts a grace from here, not from the arrival of a long backlog.
        assert row.enqueued_at is not None
        assert row.enqueued_at >= before


def test_health_and_readiness(client: falcon.testing.TestClient) -> None:
    assert client.simulate_get("/healthz").json == {"status": "ok"}
    ready = client.simulate_get("/readyz")
    assert (ready.status_code, ready.json["checks"]) == (200, {"database": "ok",
                                                              "broker": "ok"})


def test_readiness_reports_the_workers_heartbeat_without_failing_on_it(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    with runtime.sessions() as session:  # no worker of another test still beating
        session.execute(delete(WORKER_SEEN_TABLE))
        session.commit()
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 200  # the API keeps callbacks with no worker up
    assert ready.json["workers"] == {"status": "not seen", "last_seen_seconds": None}
    now = utcnow()
    with runtime.sessions() as session:
        heartbeats.beat(session, name="box:1", started_at=now - timedelta(hours=1),
                        now=now - timedelta(minutes=10))
        session.commit()
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 200
    assert ready.json["workers"]["status"] == "not seen"
    assert 600 <= ready.json["workers"]["last_seen_seconds"] < 660
    page = client.simulate_get("/metrics").text
    seconds = float(re.search(r"^dlrhub_worker_last_seen_seconds (\S+)$", page, re.M)[1])
    assert 600 <= seconds < 660
    with runtime.sessions() as session:
        heartbeats.beat(session, name="box:2", started_at=now, now=utcnow())
        session.commit()
    ready = client.simulate_get("/readyz")
    assert ready.json["workers"]["status"] == "ok"
    assert ready.json["workers"]["last_seen_seconds"] < 60


def test_readiness_fails_when_the_broker_is_down(settings: Settings, runtime: Runtime) -> None:
    no_broker = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    client = falcon.testing.TestClient(create_app(no_broker, runtime=runtime))
    ready = client.simulate_get("/readyz")
    assert ready.status_code == 503
    assert ready.json["checks"]["broker"].startswith("error")


def test_metrics_count_callbacks_by_outcome(client: falcon.testing.TestClient) -> None:
    new = AccountFactory(provider="tencent")
    post(client, path_of(new.token, "tencent"), TENCENT.body, TENCENT.headers(utcnow()))
    post(client, path_of(new.token, "tencent"), b"[", TENCENT.headers(utcnow()))
    page = client.simulate_get("/metrics").text
    assert 'dlrhub_callbacks_total{outcome="accepted",provider="tencent"}' in page
    assert 'dlrhub_callbacks_total{outcome="invalid",provider="tencent"}' in page
    assert "dlrhub_inbox_pending 1.0" in page


def test_unknown_routes_and_methods_are_problem_documents(
        client: falcon.testing.TestClient) -> None:
    missing = client.simulate_get("/nowhere")
    wrong = client.simulate_put("/v1/callbacks/tencent/abc")
    assert (missing.status_code, missing.headers["content-type"]) == (
        404, "application/problem+json")
    assert (wrong.status_code, wrong.headers["content-type"]) == (405, "application/problem+json")
    assert {"GET", "POST"} <= set(wrong.headers["allow"].replace(" ", "").split(","))


def test_a_get_to_a_provider_that_posts_is_405_in_its_form_and_kept_as_rejected(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    unknown = client.simulate_get(path_of("not-a-token", "tencent"), query_string="sid=1")
    wrong = client.simulate_get(path_of(new.token, "tencent"), query_string="sid=1")
    assert_tencent_failure(unknown, 404)
    assert "by POST, not GET" in assert_tencent_failure(wrong, 405)
    with runtime.sessions() as session:
        (row,) = inbox(session)
        assert (row.state, row.method, row.query) == ("rejected", "GET", "sid=1")


@pytest.mark.parametrize("encoding", ["x-unknown", "hex", "rot13"])
def test_cloopen_xml_in_an_unknown_encoding_is_400_in_xml_and_kept_as_rejected(
        client: falcon.testing.TestClient, runtime: Runtime, encoding: str) -> None:
    new = AccountFactory(provider="cloopen")
    body = (f'<?xml version="1.0" encoding="{encoding}"?><Request><action>SMSArrived'
            "</action></Request>").encode()
    result = post(client, path_of(new.token, "cloopen"), body,
                  {"Content-Type": "application/xml"})
    assert result.status_code == 400, result.text
    assert result.headers["content-type"] == "application/xml"
    assert "<statuscode>111111</statuscode>" in result.text
    with runtime.sessions() as session:
        (row,) = inbox(session)
        assert (row.state, row.body) == ("rejected", body)
        assert row.reason is not None
        assert "encoding" in row.reason


def test_a_nul_character_in_a_record_still_becomes_a_receipt(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    # PostgreSQL's text and jsonb refuse U+0000: it must not stop the worker.
    new = AccountFactory(provider="tencent")
    body = orjson.dumps([{"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86",
                          "mobile": "13800138000", "report_status": "SUCCESS",
                          "errmsg": "DELIVRD", "description": "ok\u0000", "sid": "s\u00001"}])
    result = post(client, path_of(new.token, "tencent"), body, TENCENT.headers(utcnow()))
    assert result.status_code == 200, result.text
    ingest_all(runtime)
    with runtime.sessions() as session:
        (row,) = inbox(session)
        assert (row.state, row.body) == ("processed", body)
        stored = session.execute(select(Receipt)).scalar_one()
        assert stored.message_id == "s\ufffd1"
        assert stored.raw["description"] == "ok\ufffd"


@pytest.mark.parametrize(("field", "value"), [
    ("user_receive_time", "0001-01-01 00:00:00"),  # no UTC time east of Greenwich
])
def test_a_value_out_of_range_fails_the_callback_with_its_reason(
        client: falcon.testing.TestClient, runtime: Runtime, field: str, value: str) -> None:
    new = AccountFactory(provider="tencent")
    record = {"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86",
              "mobile": "13800138000", "report_status": "SUCCESS", "sid": "s1"}
    body = orjson.dumps([{**record, field: value}])
    assert post(client, path_of(new.token, "tencent"), body,
                TENCENT.headers(utcnow())).status_code == 200
    ingest_all(runtime)
    with runtime.sessions() as session:
        (row,) = inbox(session)
        assert row.state == "failed"
        assert row.reason is not None
        assert field in row.reason
        assert "out of range" in row.reason


def test_a_segment_count_no_column_holds_fails_the_callback_not_the_batch(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    # The column is 32-bit: PostgreSQL's binary COPY would store 10**12 wrapped around.
    good, bad = (AccountFactory(provider="ucloud") for _ in range(2))
    record = {"SessionNo": "s1", "Phone": "13800138000", "ReceiptTime": 1563867000,
              "ReceiptResult": "ok", "ReceiptCode": "Delivrd", "UserId": "u1"}
    for new, count in ((good, 1), (bad, 10**12)):
        body = orjson.dumps({"MsgType": 2, "Data": [{**record, "CostCount": count}]})
        assert post(client, path_of(new.token, "ucloud"), body,
                    {"Content-Type": "application/json"}).status_code == 200
    ingest_all(runtime)
    with runtime.sessions() as session:
        states = {row.account_id: (row.state, row.reason) for row in inbox(session)}
        assert states[good.account.id] == ("processed", None)
        assert states[bad.account.id][0] == "failed"
        assert "CostCount" in str(states[bad.account.id][1])
        assert receipts(session) == 1


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_inbox_keeps_no_callback_token_and_still_ingests(
        client: falcon.testing.TestClient, runtime: Runtime, case: Case) -> None:
    # Huawei's AK/SK signature covers the path as received: it is checked before the
    # row is stored, and the worker's re-parse does not need the token.
    new = AccountFactory(provider=case.provider, credentials=case.credentials or None)
    url = path_of(new.token, case.provider)
    headers = {**case.headers(utcnow()), "X-Original-URI": url}  # as a proxy passes it on
    assert post(client, url, case.body, headers).status_code == 200
    # Refused (401 where the provider signs, 400 elsewhere), and kept as rejected.
    assert post(client, url, b"\x00broken", {"X-Original-URI": url}).status_code in (400, 401)
    ingest_all(runtime)
    with runtime.sessions() as session:
        rows = inbox(session)
        assert sorted(r.state for r in rows) == ["processed", "rejected"]
        for row in rows:
            assert row.path == f"/v1/callbacks/{case.provider}/***"
            assert row.headers["x-original-uri"] == row.path
            kept = orjson.dumps({c: getattr(row, c) for c in ("path", "query", "headers",
                                                              "reason", "remote_addr")})
            assert new.token.encode() not in kept
        assert receipts(session) == case.records


def test_a_password_in_the_query_is_checked_then_kept_nowhere(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    password = "pa55-in-the-query"
    new = AccountFactory(provider="chuanglan",
                         credentials={"account": "N1234567", "password": password})
    url = path_of(new.token, "chuanglan")
    query = (f"receiver=N1234567&pswd={password}&msgid=190103103836&reportTime=1901031038"
             "&mobile=13800138000&status=DELIVRD")

    ok = client.simulate_get(url, query_string=query)
    wrong = client.simulate_get(url, query_string=query.replace(password, "guess"))

    assert (ok.status_code, ok.text, wrong.status_code) == (200, "OK", 401)
    ingest_all(runtime)
    with runtime.sessions() as session:
        rows = inbox(session)
        assert sorted(r.state for r in rows) == ["processed", "rejected"]
        assert all("pswd=***" in r.query for r in rows)
        kept = orjson.dumps([{c: getattr(r, c) for c in ("query", "headers", "reason")}
                             for r in rows])
        assert password.encode() not in kept
        (receipt,) = session.execute(select(Receipt)).scalars()
        assert receipt.status == "delivered"
        assert set(receipt.raw).isdisjoint({"pswd", "receiver"})


def test_an_authorization_headers_secret_is_never_kept(client: falcon.testing.TestClient,
                                                      runtime: Runtime) -> None:
    from dlrhub.providers.infobip import basic_authorization

    new = AccountFactory(provider="infobip",
                         credentials={"username": "acme", "password": "s3cret-Pa55"})
    body = orjson.dumps({"results": [{"messageId": "m-1", "to": "41793026727",
                                      "status": {"groupName": "DELIVERED",
                                                 "name": "DELIVERED_TO_HANDSET"}}]})
    result = client.simulate_post(
        path_of(new.token, "infobip"), body=body,
        headers={"Content-Type": "application/json",
                 "Authorization": basic_authorization("acme", "s3cret-Pa55")})
    assert result.status_code == 200, result.text
    refused = client.simulate_post(
        path_of(new.token, "infobip"), body=body,
        headers={"Content-Type": "application/json",
                 "Authorization": basic_authorization("acme", "wrong-Pa55")})
    assert refused.status_code == 401
    with runtime.sessions() as session:
        kept = [row.headers for row in inbox(session)]
    # checked on arrival, kept as its scheme only, accepted or refused alike
    assert [h["authorization"] for h in kept] == ["Basic ***", "Basic ***"]
    assert "s3cret" not in str(kept)
    assert basic_authorization("acme", "s3cret-Pa55").split()[1] not in str(kept)
