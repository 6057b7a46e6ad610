"""Tenant read API: receipts, message timelines, stats and the inbox, through HTTP.

Receipts are made the way production makes them: callbacks posted to the real callback
endpoint, then ingested.
"""

from __future__ import annotations

import base64
import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import falcon.testing
import orjson
import pytest
from sqlalchemy import select

from dlrhub.models import utcnow
from dlrhub.services.accounts import NewAccount
from dlrhub.services.inbox import INBOX
from dlrhub.services.ingest import ingest
from dlrhub.services.keys import create_key
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.factories import AccountFactory, TenantFactory
from tests.unit.services.test_ingest import store_callback

Client = falcon.testing.TestClient
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def key_for(runtime: Runtime, tenant_id: str) -> dict[str, str]:
    """Issue a real API key for the tenant; return its Authorization header."""
    with runtime.sessions() as session:
        new = create_key(session, tenant_id=tenant_id, name="test")
        session.commit()
    return {"Authorization": f"Bearer {new.key}"}


def post_callback(client: Client, new: NewAccount, body: bytes,
                  content_type: str = JSON) -> falcon.testing.Result:
    """Post a body to the account's callback URL, as its provider would."""
    return client.simulate_post(f"/v1/callbacks/{new.account.provider}/{new.token}",
                                body=body, headers={"Content-Type": content_type})


def post_simulated(client: Client, new: NewAccount, *, seq: int, batch: int = 1) -> None:
    """Post one simulated callback of ``batch`` records and check it was accepted."""
    callback = build_callback(new.account.provider, "http://testserver/cb", seq=seq,
                              batch=batch, kind="status", credentials={})
    result = post_callback(client, new, callback.body, callback.content_type)
    assert result.status_code == 200, result.text


def ingest_pending(runtime: Runtime) -> None:
    """Run ingest on every pending inbox row, as the worker would."""
    with runtime.sessions() as session:
        ids = list(session.execute(
            select(INBOX.c.id).where(INBOX.c.state == "pending")).scalars())
        ingest(session, runtime.box, ids, now=utcnow())
        session.commit()


def tencent(sid: str, mobile: str, status: str, at: str, ext: str = "") -> dict[str, str]:
    """Return one Tencent status report; ``at`` is Beijing time, as Tencent sends it."""
    return {"user_receive_time": at, "nationcode": "86", "mobile": mobile,
            "report_status": status, "errmsg": "DELIVRD" if status == "SUCCESS" else "MK:1",
            "description": "", "sid": sid, "ext": ext}


def huawei(msg_id: str, to: str, status: str, at: str) -> bytes:
    """Return one Huawei status report form body; ``at`` is UTC."""
    return urlencode({"sequence": "1", "total": "1", "updateTime": at, "smsMsgId": msg_id,
                      "status": status, "to": to}).encode()


def get(client: Client, path: str, headers: dict[str, str],
        **params: Any) -> falcon.testing.Result:
    return client.simulate_get(path, headers=headers, params=params or None)


def ids_of(result: falcon.testing.Result) -> set[str]:
    assert result.status_code == 200, result.text
    return {e["id"] for e in result.json["data"]}


def every_event(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
    result = get(client, "/v1/receipts", headers, limit=500)
    assert result.json["next"] is None
    data: list[dict[str, Any]] = result.json["data"]
    return data


# --- receipts: filters, one receipt --------------------------------------------------


@pytest.fixture
def mixed(client: Client, runtime: Runtime) -> dict[str, Any]:
    """A tenant with a Tencent and a Huawei account and varied receipts, in two posts."""
    tx = AccountFactory(provider="tencent")
    hw = AccountFactory(provider="huawei", tenant_id=tx.account.tenant_id)
    first = [tencent("m-1", "13800000001", "SUCCESS", "2024-01-01 10:00:00", ext="ref-a"),
             tencent("m-1", "13800000002", "FAIL", "2024-01-01 10:00:01", ext="ref-a"),
             tencent("m-2", "13800000003", "SUCCESS", "2024-01-01 10:00:02")]
    assert post_callback(client, tx, orjson.dumps(first)).status_code == 200
    reply = {"mobile": "13900000009", "nationcode": "86", "text": "hi", "sign": "",
             "time": 1704074400, "extend": ""}
    assert post_callback(client, tx, orjson.dumps(reply)).status_code == 200
    ingest_pending(runtime)
    later = huawei("h-1", "+8613800000001", "DELIVRD", "2024-01-01T02:00:05Z")
    assert post_callback(client, hw, later, FORM).status_code == 200
    ingest_pending(runtime)
    headers = key_for(runtime, tx.account.tenant_id)
    return {"tx": tx, "hw": hw, "headers": headers, "events": every_event(client, headers)}


def test_each_receipt_filter_narrows_the_list(client: Client, mixed: dict[str, Any]) -> None:
    events, headers = mixed["events"], mixed["headers"]
    assert len(events) == 5

    def expect(**where: Any) -> set[str]:
        return {e["id"] for e in events if all(e[k] == v for k, v in where.items())}

    for field, value in [("message_id", "m-1"), ("reference", "ref-a"),
                         ("phone", "+8613800000001"), ("status", "delivered"),
                         ("status", "failed"), ("provider", "huawei"),
                         ("account_id", mixed["hw"].account.id), ("type", "sms.inbound"),
                         ("type", "sms.status")]:
        wanted = expect(**{field: value})
        assert wanted, (field, value)
        assert ids_of(get(client, "/v1/receipts", headers, **{field: value})) == wanted
    both = get(client, "/v1/receipts", headers, message_id="m-1", status="failed")
    assert [e["phone"] for e in both.json["data"]] == ["+8613800000002"]
    nothing = get(client, "/v1/receipts", headers, message_id="m-1", provider="huawei")
    assert nothing.json == {"data": [], "next": None}


def test_an_unescaped_plus_in_the_phone_filter_still_matches(
        client: Client, mixed: dict[str, Any]) -> None:
    # "?phone=+86…" decodes to " 86…": the filter reads it as the E.164 number meant.
    result = client.simulate_get("/v1/receipts", query_string="phone=+8613800000001",
                                 headers=mixed["headers"])
    assert {e["phone"] for e in result.json["data"]} == {"+8613800000001"}
    assert len(result.json["data"]) == 2


@pytest.mark.dialects
def test_since_and_until_bound_the_received_time(client: Client,
                                                 mixed: dict[str, Any]) -> None:
    events, headers = mixed["events"], mixed["headers"]
    huawei_at = next(e["received_at"] for e in events if e["provider"] == "huawei")
    tencent_ids = {e["id"] for e in events if e["provider"] == "tencent"}
    assert ids_of(get(client, "/v1/receipts", headers, until=huawei_at)) == tencent_ids
    since = ids_of(get(client, "/v1/receipts", headers, since=huawei_at))
    assert since == {e["id"] for e in events if e["provider"] == "huawei"}
    window = get(client, "/v1/receipts", headers, since=huawei_at, until=huawei_at)
    assert (window.status_code, window.json["field"]) == (422, "until")


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "sent"}, "status"),
    ({"type": "sms.mms"}, "type"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2024-01-01T00:00:00"}, "since"),  # no zone: ambiguous
    ({"since": "0001-01-01T00:00:00+05:00"}, "since"),  # no UTC time
    ({"until": "0.5"}, "until"),  # not seconds since 1970: a time
    ({"provider": "tencnet"}, "provider"),  # a typo: not an empty list
    ({"since": "1700000000"}, "since"),
    ({"limit": "0"}, "limit"),
    ({"after": "not-a-cursor"}, "after"),
    ({"colour": "red"}, "colour"),
])
def test_bad_receipt_filters_are_422_naming_the_parameter(
        client: Client, mixed: dict[str, Any], params: dict[str, str], field: str) -> None:
    result = client.simulate_get("/v1/receipts", params=params, headers=mixed["headers"])
    assert result.status_code == 422, result.text
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json["field"] == field


def test_one_receipt_is_its_event(client: Client, mixed: dict[str, Any]) -> None:
    listed = next(e for e in mixed["events"] if e["provider"] == "tencent"
                  and e["status"] == "failed")
    result = get(client, f"/v1/receipts/{listed['id']}", mixed["headers"])
    assert result.status_code == 200
    assert result.json == listed
    assert result.json["reported_at"] == "2024-01-01T02:00:01Z"  # Beijing time read as such
    assert result.json["raw"]["sid"] == "m-1"
    missing = get(client, "/v1/receipts/evt_nope", mixed["headers"])
    assert (missing.status_code, missing.json["type"]) == (404, "urn:dlrhub:problem:not-found")


def test_the_tenant_routes_need_a_tenant_key(client: Client, mixed: dict[str, Any]) -> None:
    for path in ("/v1/receipts", "/v1/stats", "/v1/inbox", "/v1/messages/m-1"):
        assert client.simulate_get(path).status_code == 401
        admin = client.simulate_get(path, headers={"Authorization": "Bearer test-admin-token"})
        assert admin.status_code == 401


# --- pagination -----------------------------------------------------------------------


def test_pages_return_every_receipt_once_while_more_arrive(client: Client,
                                                           runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    for seq in range(4):
        post_simulated(client, new, seq=seq, batch=5)
    ingest_pending(runtime)
    headers = key_for(runtime, new.account.tenant_id)
    existing = {e["id"] for e in every_event(client, headers)}

    page = get(client, "/v1/receipts", headers, limit=7).json
    seen = [e["id"] for e in page["data"]]
    while page["next"]:
        post_simulated(client, new, seq=100 + len(seen), batch=3)  # lands between pages
        ingest_pending(runtime)
        page = get(client, "/v1/receipts", headers, limit=7, after=page["next"]).json
        seen += [e["id"] for e in page["data"]]

    assert len(seen) == len(set(seen)) == 20
    assert set(seen) == existing
    assert len(every_event(client, headers)) == 20 + 3 * 2  # two more posts arrived


# --- message timelines ---------------------------------------------------------------


def test_a_timeline_orders_events_and_keeps_the_first_final_status(
        client: Client, runtime: Runtime) -> None:
    tx = AccountFactory(provider="tencent")
    # Huawei's ACCEPTD is a GUESS; this account reads it as `pending`.
    hw = AccountFactory(provider="huawei", tenant_id=tx.account.tenant_id,
                        options={"acceptd_status": "pending"})
    # Arrival order is not event order: the later report is posted first.
    posts: list[tuple[NewAccount, bytes, str]] = [
        (tx, orjson.dumps([tencent("m-t", "13800000001", "SUCCESS", "2024-01-01 10:00:05"),
                           tencent("m-t", "13800000002", "SUCCESS", "2024-01-01 10:00:03")]),
         JSON),
        (tx, orjson.dumps([tencent("m-t", "13800000001", "FAIL", "2024-01-01 10:00:01")]),
         JSON),
        (hw, huawei("h-1", "+8613800000003", "DELIVRD", "2024-01-01T02:00:02Z"), FORM),
        (hw, huawei("h-1", "+8613800000003", "ACCEPTD", "2024-01-01T02:00:08Z"), FORM),
        (hw, huawei("h-1", "+8613800000004", "ACCEPTD", "2024-01-01T02:00:09Z"), FORM),
    ]
    for new, body, content_type in posts:  # each ingested as it comes
        assert post_callback(client, new, body, content_type).status_code == 200
        ingest_pending(runtime)
    headers = key_for(runtime, tx.account.tenant_id)

    sent = get(client, "/v1/messages/m-t", headers)
    assert sent.status_code == 200, sent.text
    assert sent.json["message_id"] == "m-t"
    one, two = sent.json["recipients"]
    # delivered came first, then an older failure: the first final status stays, and the
    # disagreement is an event of its own, beside the report that made it
    assert (one["phone"], one["status"], one["final"], one["corrected"]) == (
        "+8613800000001", "delivered", True, True)
    assert [(e["type"], e["status"], e["reported_at"]) for e in one["events"]] == [
        ("sms.status", "failed", "2024-01-01T02:00:01Z"),
        ("sms.status_corrected", "delivered", "2024-01-01T02:00:01Z"),
        ("sms.status", "delivered", "2024-01-01T02:00:05Z")]
    assert one["account_id"] == tx.account.id
    assert [(p["part"], p["status"]) for p in one["parts"]] == [(None, "delivered")]
    assert (two["phone"], two["status"], len(two["events"])) == ("+8613800000002",
                                                                 "delivered", 1)

    accepted = get(client, "/v1/messages/h-1", headers).json["recipients"]
    by_phone = {r["phone"]: r for r in accepted}
    late = by_phone["+8613800000003"]
    assert [e["status"] for e in late["events"]] == ["delivered", "pending"]
    assert late["status"] == "delivered"  # a late pending never replaces a final status
    assert (late["out_of_order"], late["corrected"]) == (1, False)
    assert (by_phone["+8613800000004"]["status"], by_phone["+8613800000004"]["final"]) == (
        "pending", False)

    missing = get(client, "/v1/messages/no-such-message", headers)
    assert (missing.status_code, missing.json["type"]) == (404, "urn:dlrhub:problem:not-found")


# --- stats ----------------------------------------------------------------------------


def hour_of(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp).astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.mark.dialects
def test_stats_count_what_was_stored_by_status_provider_and_hour(
        client: Client, runtime: Runtime) -> None:
    tx = AccountFactory(provider="tencent")
    hw = AccountFactory(provider="huawei", tenant_id=tx.account.tenant_id)
    post_simulated(client, tx, seq=1, batch=10)  # the 10th record of a batch fails
    post_simulated(client, hw, seq=1)
    post_simulated(client, hw, seq=9)  # Huawei's simulator fails every 9th
    session = runtime.sessions()
    # Earlier hours, and one callback older than the default 24 hours.
    for ago in (2, 5, 30):
        store_callback(session, tx, seq=1000 + ago, batch=2, received_ago=ago * 3600)
    session.close()
    ingest_pending(runtime)
    headers = key_for(runtime, tx.account.tenant_id)
    now = utcnow()
    events = [e for e in every_event(client, headers)
              if datetime.fromisoformat(e["received_at"]) > now - timedelta(hours=24)]
    assert len(events) == 16

    result = get(client, "/v1/stats", headers)

    assert result.status_code == 200, result.text
    doc = result.json
    assert doc["total"] == 16
    assert doc["by_status"] == dict(Counter(e["status"] for e in events))
    assert doc["by_status"] == {"delivered": 14, "failed": 2}
    assert doc["by_provider"] == {"tencent": 14, "huawei": 2}
    hours = Counter(hour_of(e["received_at"]) for e in events)
    assert doc["by_hour"] == [{"hour": h, "count": hours[h]} for h in sorted(hours)]
    assert len(doc["by_hour"]) >= 3
    span = datetime.fromisoformat(doc["until"]) - datetime.fromisoformat(doc["since"])
    assert span == timedelta(hours=24)

    wider = get(client, "/v1/stats", headers,
                since=(now - timedelta(hours=48)).isoformat()).json
    assert wider["total"] == 18
    only_huawei = get(client, "/v1/stats", headers, account_id=hw.account.id).json
    assert (only_huawei["total"], only_huawei["by_provider"]) == (2, {"huawei": 2})


@pytest.mark.parametrize(("params", "field"), [
    ({"since": "2024-01-02T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "until"),
    ({"since": "2024-01-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "until"),
    ({"since": "2024-01-01T00:00:00Z", "until": "2024-03-01T00:00:00Z"}, "since"),
    ({"since": "2024-01-01T00:00:00"}, "since"),
    ({"until": "soon"}, "until"),
    ({"until": "0.5"}, "until"),
    ({"until": "0001-01-01T00:00:00Z"}, "until"),  # nothing 24 hours before it
    ({"limit": "5"}, "limit"),
])
def test_bad_stats_ranges_are_422_naming_the_field(
        client: Client, runtime: Runtime, params: dict[str, str], field: str) -> None:
    headers = key_for(runtime, TenantFactory().id)
    result = client.simulate_get("/v1/stats", params=params, headers=headers)
    assert result.status_code == 422, result.text
    assert result.json["field"] == field


# --- the inbox ------------------------------------------------------------------------


def test_the_inbox_shows_a_rejected_callback_with_its_reason_and_raw_body(
        client: Client, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    post_simulated(client, new, seq=1, batch=2)
    assert post_callback(client, new, b'[{"sid": ').status_code == 400
    assert post_callback(client, new, b"\xff\xfe[").status_code == 400
    ingest_pending(runtime)
    headers = key_for(runtime, new.account.tenant_id)

    rejected = get(client, "/v1/inbox", headers, state="rejected")

    assert rejected.status_code == 200, rejected.text
    binary, broken = rejected.json["data"]  # newest first
    assert broken["state"] == "rejected"
    assert "JSON" in broken["reason"]
    assert (broken["body_excerpt"], broken["body_truncated"], broken["body_size"]) == (
        '[{"sid": ', False, 9)
    assert broken["content_type"] == JSON
    assert broken["headers"]["content-type"] == JSON
    assert (broken["account_id"], broken["provider"]) == (new.account.id, "tencent")
    assert (binary["body_excerpt"], binary["body_size"]) == ("\ufffd\ufffd[", 3)
    assert "path" not in broken  # it held the account's secret callback token

    processed = get(client, "/v1/inbox", headers, state="processed").json["data"]
    assert [(i["state"], i["receipts"], i["attempts"]) for i in processed] == [
        ("processed", 2, 1)]
    assert processed[0]["processed_at"] is not None
    assert len(get(client, "/v1/inbox", headers).json["data"]) == 3
    other = AccountFactory(provider="tencent", tenant_id=new.account.tenant_id)
    assert get(client, "/v1/inbox", headers, account_id=other.account.id).json["data"] == []

    item = get(client, f"/v1/inbox/{broken['id']}", headers)
    assert item.status_code == 200
    assert item.json == {**{k: v for k, v in broken.items() if not k.startswith("body_")},
                         "body": '[{"sid": ', "body_size": 9,
                         "body_base64": base64.b64encode(b'[{"sid": ').decode()}
    whole = get(client, f"/v1/inbox/{binary['id']}", headers).json
    assert (whole["body"], base64.b64decode(whole["body_base64"])) == (None, b"\xff\xfe[")
    assert get(client, "/v1/inbox/inb_nope", headers).status_code == 404
    assert get(client, "/v1/inbox", headers, state="lost").json["field"] == "state"


def test_a_large_inbox_is_listed_in_a_small_answer_and_each_body_downloads_whole(
        client: Client, runtime: Runtime) -> None:
    # 50 refused bodies of 1 MiB (the largest kept): a list once answered each twice.
    new = AccountFactory(provider="tencent")
    bodies = {}
    for n in range(50):
        body = (f'{{"n": {n}, "text": "'.encode() + "短信".encode() * 174762)[:1024 * 1024]
        bodies[n] = body
        assert post_callback(client, new, body, "application/json; charset=utf-8") \
            .status_code == 400
    headers = key_for(runtime, new.account.tenant_id)

    listed = get(client, "/v1/inbox", headers, limit=200)

    assert listed.status_code == 200, listed.text[:500]
    assert len(listed.content) < 300_000
    items = listed.json["data"]
    assert len(items) == 50
    for item in items:
        assert (item["body_size"], item["body_truncated"]) == (1024 * 1024, True)
        assert len(item["body_excerpt"].encode()) <= 2048
        assert "\ufffd" not in item["body_excerpt"]  # a character cut in two is left out
        n = int(item["body_excerpt"].split(",")[0].removeprefix('{"n": '))
        assert bodies[n].startswith(item["body_excerpt"].encode())
    for item in items[:3]:
        n = int(item["body_excerpt"].split(",")[0].removeprefix('{"n": '))
        whole = get(client, f"/v1/inbox/{item['id']}", headers).json
        assert base64.b64decode(whole["body_base64"]) == bodies[n]
        text = bodies[n].decode(errors="replace")
        # null where the cut at 1 MiB fell inside a character: then it is not UTF-8
        assert whole["body"] == (None if "\ufffd" in text else text)
    raw = get(client, f"/v1/inbox/{items[0]['id']}/body", headers)
    n = int(items[0]["body_excerpt"].split(",")[0].removeprefix('{"n": '))
    assert raw.status_code == 200
    assert raw.content == bodies[n]
    assert raw.headers["content-type"] == "application/json; charset=utf-8"
    assert raw.headers["content-length"] == str(1024 * 1024)
    assert raw.headers["content-disposition"] == f'attachment; filename="{items[0]["id"]}.body"'
    assert raw.headers["x-content-type-options"] == "nosniff"


@pytest.mark.dialects
def test_the_raw_body_of_a_binary_or_empty_callback_is_exact(
        client: Client, runtime: Runtime) -> None:
    new = AccountFactory(provider="huawei")
    form = b"smsMsgId=m1&status=DELIVRD&extend=\xd6\xd0"  # raw GBK: refused, but kept
    assert post_callback(client, new, form, FORM).status_code == 400
    assert post_callback(client, new, b"", FORM).status_code == 400
    headers = key_for(runtime, new.account.tenant_id)
    empty, sent = get(client, "/v1/inbox", headers).json["data"]
    raw = get(client, f"/v1/inbox/{sent['id']}/body", headers)
    assert (raw.status_code, raw.content, raw.headers["content-type"]) == (200, form, FORM)
    nothing = get(client, f"/v1/inbox/{empty['id']}/body", headers)
    assert (nothing.status_code, nothing.content) == (200, b"")
    assert get(client, "/v1/inbox/inb_nope/body", headers).status_code == 404


def test_inbox_pages_are_newest_first_and_complete(client: Client, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    for seq in range(5):
        post_simulated(client, new, seq=seq)
    headers = key_for(runtime, new.account.tenant_id)
    seen: list[dict[str, Any]] = []
    page: dict[str, Any] = {"next": None}
    while True:
        params = {"limit": 2, **({"after": page["next"]} if page["next"] else {})}
        page = get(client, "/v1/inbox", headers, **params).json
        seen += page["data"]
        if not page["next"]:
            break
    assert len({i["id"] for i in seen}) == len(seen) == 5
    stamps = [(i["received_at"], i["id"]) for i in seen]
    assert stamps == sorted(stamps, reverse=True)


# --- tenant isolation -----------------------------------------------------------------


def test_another_tenants_key_sees_nothing_of_it(client: Client, runtime: Runtime) -> None:
    mine = AccountFactory(provider="tencent")
    theirs = AccountFactory(provider="tencent")
    post_callback(client, mine, orjson.dumps(
        [tencent("m-a", "13800000001", "SUCCESS", "2024-01-01 10:00:00")]))
    post_callback(client, mine, b"[")
    ingest_pending(runtime)
    a = key_for(runtime, mine.account.tenant_id)
    b = key_for(runtime, theirs.account.tenant_id)
    (event,) = get(client, "/v1/receipts", a).json["data"]
    items = get(client, "/v1/inbox", a).json["data"]
    assert len(items) == 2
    assert get(client, "/v1/stats", a).json["total"] == 1

    assert get(client, "/v1/receipts", b).json == {"data": [], "next": None}
    assert get(client, "/v1/receipts", b, account_id=mine.account.id).json["data"] == []
    assert get(client, "/v1/receipts", b, message_id="m-a").json["data"] == []
    assert get(client, "/v1/inbox", b).json == {"data": [], "next": None}
    assert get(client, "/v1/inbox", b, state="rejected").json["data"] == []
    stats = get(client, "/v1/stats", b, account_id=mine.account.id).json
    assert (stats["total"], stats["by_status"], stats["by_hour"]) == (0, {}, [])
    assert get(client, "/v1/stats", b).json["total"] == 0
    for path in (f"/v1/receipts/{event['id']}", "/v1/messages/m-a",
                 *(f"/v1/inbox/{i['id']}" for i in items),
                 *(f"/v1/inbox/{i['id']}/body" for i in items)):
        result = get(client, path, b)
        assert (result.status_code, result.json["type"]) == (404, "urn:dlrhub:problem:not-found")


# --- export: every match, streamed ----------------------------------------------


def lines(result: Any) -> list[dict[str, Any]]:
    assert result.status_code == 200, result.text
    return [orjson.loads(line) for line in result.content.splitlines()]


def test_ndjson_is_every_receipt_as_the_list_shows_it(client: Client,
                                                      mixed: dict[str, Any]) -> None:
    result = get(client, "/v1/receipts/export", mixed["headers"])
    assert result.headers["content-type"] == "application/x-ndjson"
    assert "receipts.ndjson" in result.headers["content-disposition"]
    assert lines(result) == mixed["events"]


def test_the_filters_are_the_lists_and_csv_has_a_header(client: Client,
                                                        mixed: dict[str, Any]) -> None:
    failed = lines(get(client, "/v1/receipts/export", mixed["headers"], status="failed"))
    assert [e["phone"] for e in failed] == ["+8613800000002"]
    result = get(client, "/v1/receipts/export", mixed["headers"], format="csv",
                 provider="tencent")
    assert result.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(result.text)))
    tencent = [e for e in mixed["events"] if e["provider"] == "tencent"]
    assert [r["id"] for r in rows] == [e["id"] for e in tencent]
    # A phone starts with "+": kept from being read as a formula by a spreadsheet.
    assert {r["phone"] for r in rows if r["phone"]} == {f"'{e['phone']}" for e in tencent
                                                        if e["phone"]}


@pytest.mark.parametrize("params", [{"format": "xlsx"}, {"status": "lost"},
                                    {"since": "yesterday"}])
def test_bad_parameters_are_refused_before_the_stream(client: Client, mixed: dict[str, Any],
                                                      params: dict[str, str]) -> None:
    result = client.simulate_get("/v1/receipts/export", params=params,
                                 headers=mixed["headers"])
    assert result.status_code == 422, result.text
    assert result.headers["content-type"] == "application/problem+json"


def test_it_needs_a_tenant_key_and_shows_only_the_tenants_receipts(
        client: Client, runtime: Runtime, mixed: dict[str, Any]) -> None:
    assert client.simulate_get("/v1/receipts/export").status_code == 401
    other = AccountFactory(provider="tencent")
    assert lines(get(client, "/v1/receipts/export",
                     key_for(runtime, other.account.tenant_id))) == []
