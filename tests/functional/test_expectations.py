"""Expected messages through HTTP and the sweep, on SQLite and PostgreSQL.

Receipts come the way production makes them (a provider's callback, then ingest); time
is driven by passing ``now`` to the sweep and ``sent_at`` to the registration.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import falcon.testing
import orjson
import pytest
from sqlalchemy import select

from dlrhub.config import Settings
from dlrhub.models import DELIVERY_TABLE, INBOX_TABLE, utcnow
from dlrhub.services.accounts import NewAccount
from dlrhub.services.expectations.sweep import sweep
from dlrhub.services.ingest import IngestReport, ingest
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory
from tests.functional.test_receipts_api import key_for, post_callback, tencent

Client = falcon.testing.TestClient
NDJSON = {"Content-Type": "application/x-ndjson"}


# The sweep's UPDATE ... RETURNING with SKIP LOCKED and the COPY of a bulk registration
# differ by database.
pytestmark = pytest.mark.dialects


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with endpoints on loopback: nothing is sent, only planned."""
    return settings.model_copy(update={"allow_private_endpoints": True})


def expect(client: Client, me: dict[str, str], body: Any) -> falcon.testing.Result:
    return client.simulate_post("/v1/expectations", json=body, headers=me)


def ago(**kw: float) -> str:
    return (utcnow() - timedelta(**kw)).isoformat()


def deliver(client: Client, runtime: Runtime, tx: NewAccount, sid: str, mobile: str,
            status: str = "SUCCESS") -> IngestReport:
    """Post a Tencent receipt of ``sid`` to ``mobile`` and ingest it, as the worker would."""
    body = orjson.dumps([tencent(sid, mobile, status, "2024-01-01 10:00:00")])
    assert post_callback(client, tx, body).status_code == 200
    with runtime.sessions() as session:
        ids = list(session.execute(select(INBOX_TABLE.c.id).where(
            INBOX_TABLE.c.state == "pending")).scalars())
        report = ingest(session, runtime.box, ids, now=utcnow())
        session.commit()
    return report


def events(client: Client, me: dict[str, str], kind: str) -> list[dict[str, Any]]:
    result = client.simulate_get("/v1/receipts", params={"type": kind}, headers=me)
    assert result.status_code == 200, result.text
    data: list[dict[str, Any]] = result.json["data"]
    return data


def listed(client: Client, me: dict[str, str], **params: str) -> list[dict[str, Any]]:
    result = client.simulate_get("/v1/expectations", params=params, headers=me)
    assert result.status_code == 200, result.text
    data: list[dict[str, Any]] = result.json["data"]
    return data


def test_one_expectation_is_stored_once_and_listed_pending(
        client: Client, tx: NewAccount, me: dict[str, str]) -> None:
    body = {"account_id": tx.account.id, "message_id": "m-1", "phone": "13800000001",
            "template": "otp", "reference": "order-1"}
    first = expect(client, me, body)
    again = expect(client, me, body)

    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]
    assert first.json["phone"] == "+8613800000001"  # read as the account's receipts are
    assert first.json["state"] == "pending"
    assert [e["id"] for e in listed(client, me, state="pending")] == [first.json["id"]]
    assert listed(client, me, state="met") == []


def test_a_list_is_stored_whole_up_to_a_thousand_and_refused_whole_past_it(
        client: Client, tx: NewAccount, me: dict[str, str]) -> None:
    items = [{"account_id": tx.account.id, "message_id": f"m-{i}"} for i in range(1000)]
    ok = expect(client, me, {"data": items})
    too_many = expect(client, me, {"data": [*items, {"account_id": tx.account.id,
                                                     "message_id": "one-more"}]})
    again = expect(client, me, {"data": items[:3]})

    assert ok.status_code == 200, ok.text
    assert (ok.json["accepted"], ok.json["duplicates"], len(ok.json["data"])) == (1000, 0, 1000)
    assert too_many.status_code == 422
    assert too_many.json["field"] == "data"
    assert (again.json["accepted"], again.json["duplicates"]) == (0, 3)
    assert [e["id"] for e in again.json["data"]] == [e["id"] for e in ok.json["data"][:3]]


@pytest.mark.parametrize(("change", "field"), [
    ({"deadline_seconds": 0}, "data.1.deadline_seconds"),
    ({"deadline_seconds": 30 * 24 * 3600 + 1}, "data.1.deadline_seconds"),
    ({"sent_at": "2024-01-01T00:00:00"}, "data.1.sent_at"),
    ({"message_id": ""}, "data.1.message_id"),
])
def test_a_bad_item_refuses_the_list_naming_it(client: Client, tx: NewAccount,
                                               me: dict[str, str], change: dict[str, Any],
                                               field: str) -> None:
    items = [{"account_id": tx.account.id, "message_id": "a"},
             {"account_id": tx.account.id, "message_id": "b", **change}]
    result = expect(client, me, {"data": items})

    assert result.status_code == 422
    assert result.json["field"] == field
    assert listed(client, me) == []


def test_a_send_time_too_long_ago_is_refused_naming_it(
        client: Client, tx: NewAccount, me: dict[str, str]) -> None:
    result = expect(client, me, {"account_id": tx.account.id, "message_id": "a",
                                 "sent_at": ago(days=40)})
    assert result.status_code == 422
    assert result.json["field"] == "sent_at"


def test_another_tenants_account_is_not_found(client: Client, runtime: Runtime,
                                              tx: NewAccount, me: dict[str, str]) -> None:
    theirs = AccountFactory(provider="tencent").account
    expect(client, key_for(runtime, theirs.tenant_id),
           {"account_id": theirs.id, "message_id": "theirs"})

    posted = expect(client, me, {"account_id": theirs.id, "message_id": "m"})
    in_list = expect(client, me, {"data": [{"account_id": tx.account.id, "message_id": "m"},
                                           {"account_id": theirs.id, "message_id": "m"}]})
    filtered = client.simulate_get("/v1/expectations", params={"account_id": theirs.id},
                                   headers=me)

    assert (posted.status_code, in_list.status_code, filtered.status_code) == (404, 404, 404)
    assert listed(client, me) == []  # all or none: the good item was not stored either


def test_a_final_receipt_meets_its_expectation_and_a_pending_one_does_not(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    created = expect(client, me, {"account_id": tx.account.id, "message_id": "sid-1",
                                  "phone": "+8613800000001"}).json
    expect(client, me, {"account_id": tx.account.id, "message_id": "sid-1",
                        "phone": "+8613800000002"})
    report = deliver(client, runtime, tx, "sid-1", "13800000001")

    (met,) = listed(client, me, state="met")
    assert met["id"] == created["id"]
    assert met["late"] is False
    (stored,) = events(client, me, "sms.status")
    assert met["receipt_id"] == stored["id"]
    assert [e["phone"] for e in listed(client, me, state="pending")] == ["+8613800000002"]
    assert sum(report.unmatched.values()) == 0


def test_an_overdue_expectation_is_reported_missing_once_however_often_swept(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    expect(client, me, {"account_id": tx.account.id, "message_id": "late-1",
                        "phone": "+8613800000001", "sent_at": ago(minutes=20),
                        "deadline_seconds": 600, "template": "otp", "reference": "r-1"})
    expect(client, me, {"account_id": tx.account.id, "message_id": "on-time",
                        "deadline_seconds": 3600})
    now = utcnow()

    first = sweep(runtime.sessions, now=now)
    second = sweep(runtime.sessions, now=now + timedelta(seconds=30))

    assert (first.missing, second.missing, first.synthetic) == (1, 0, 0)
    (event,) = events(client, me, "sms.receipt_missing")
    assert (event["message_id"], event["phone"], event["reference"], event["status"]) == (
        "late-1", "+8613800000001", "r-1", "pending")
    assert event["details"]["template"] == "otp"
    (missing,) = listed(client, me, state="missing")
    assert event["details"]["expected_by"] == missing["deadline_at"].replace("+00:00", "Z")
    assert [e["message_id"] for e in listed(client, me, state="pending")] == ["on-time"]


def test_a_receipt_after_the_deadline_still_meets_it_late_and_emits_its_event(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    expect(client, me, {"account_id": tx.account.id, "message_id": "sid-9",
                        "sent_at": ago(minutes=20)})
    sweep(runtime.sessions, now=utcnow())
    deliver(client, runtime, tx, "sid-9", "13800000001", status="FAIL")

    (met,) = listed(client, me, state="met")
    assert met["late"] is True
    assert [e["status"] for e in events(client, me, "sms.status")] == ["failed"]
    assert len(events(client, me, "sms.receipt_missing")) == 1


def test_at_the_horizon_a_synthetic_final_unknown_status_is_emitted_once(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    created = expect(client, me, {"account_id": tx.account.id, "message_id": "never",
                                  "sent_at": ago(minutes=1), "deadline_seconds": 30}).json
    horizon = utcnow() + timedelta(hours=72)

    before = sweep(runtime.sessions, now=horizon - timedelta(minutes=5))
    at = sweep(runtime.sessions, now=horizon)
    after = sweep(runtime.sessions, now=horizon + timedelta(hours=1))

    assert (before.missing, before.synthetic, at.synthetic, after.synthetic) == (1, 0, 1, 0)
    (status,) = events(client, me, "sms.status")
    assert (status["status"], status["reason_class"], status["synthetic"]) == (
        "unknown", "other_unknown", True)
    assert status["message_id"] == "never"
    (gone,) = listed(client, me, state="missing")
    assert gone["id"] == created["id"]
    assert gone["synthetic_at"] is not None


def test_a_receipt_that_came_before_its_registration_meets_it_at_once(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    deliver(client, runtime, tx, "fast", "13800000001")
    created = expect(client, me, {"account_id": tx.account.id, "message_id": "fast",
                                  "phone": "13800000001"})

    assert created.json["state"] == "met"
    assert sweep(runtime.sessions, now=utcnow() + timedelta(days=5)).missing == 0


def test_receipts_without_an_expectation_count_once_the_account_uses_them(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    before = deliver(client, runtime, tx, "early", "13800000001")
    expect(client, me, {"account_id": tx.account.id, "message_id": "known"})
    after = deliver(client, runtime, tx, "stray", "13800000002")
    known = deliver(client, runtime, tx, "known", "13800000003")

    assert sum(before.unmatched.values()) == 0
    assert after.unmatched == {"tencent": 1}
    assert sum(known.unmatched.values()) == 0


def test_missing_events_are_planned_for_endpoints_that_want_them(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    for types in (["sms.receipt_missing"], ["sms.status"]):
        made = client.simulate_post("/v1/endpoints", headers=me, json={
            "url": "http://127.0.0.1:9/hook", "event_types": types})
        assert made.status_code == 201, made.text
    expect(client, me, {"account_id": tx.account.id, "message_id": "x",
                        "sent_at": ago(minutes=20)})
    report = sweep(runtime.sessions, now=utcnow())

    with runtime.engine.connect() as conn:
        rows = conn.execute(select(DELIVERY_TABLE.c.event_ids)).scalars().all()
    (event,) = events(client, me, "sms.receipt_missing")
    assert rows == [[event["id"]]]
    assert len(report.deliveries) == 1


def test_a_stream_stores_good_lines_and_reports_bad_ones_by_number(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    theirs = AccountFactory(provider="tencent").account
    good = [{"account_id": tx.account.id, "message_id": f"m-{i}"} for i in range(2500)]
    lines = [orjson.dumps(g) for g in good[:1200]] + [
        b"not json",
        orjson.dumps({"account_id": tx.account.id}),
        orjson.dumps({"account_id": theirs.id, "message_id": "m"}),
        b"",
        orjson.dumps(good[0]),
        orjson.dumps({"account_id": tx.account.id, "message_id": "m", "deadline_seconds": 0}),
    ] + [orjson.dumps(g) for g in good[1200:]]
    result = client.simulate_post("/v1/expectations/bulk", headers={**me, **NDJSON},
                                  body=b"\n".join(lines))

    assert result.status_code == 200, result.text
    doc = result.json
    assert (doc["accepted"], doc["duplicates"], doc["rejected"]) == (2500, 1, 4)
    assert [(e["line"], e["field"]) for e in doc["errors"]] == [
        (1201, "line"), (1202, "message_id"), (1203, "account_id"),
        (1206, "deadline_seconds")]
    assert len(listed(client, me, limit="500")) == 500


def test_a_stream_of_several_chunks_meets_early_receipts_and_starts_counting_strays(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    early = deliver(client, runtime, tx, "m-1400", "13800001400")
    body = b"\n".join(orjson.dumps({"account_id": tx.account.id, "message_id": f"m-{i}",
                                    "phone": f"138{i:08d}"}) for i in range(1500))
    result = client.simulate_post("/v1/expectations/bulk", headers={**me, **NDJSON},
                                  body=body)
    stray = deliver(client, runtime, tx, "never-registered", "13800000009")

    assert result.status_code == 200, result.text
    assert result.json["accepted"] == 1500
    assert sum(early.unmatched.values()) == 0
    (met,) = listed(client, me, state="met")
    assert (met["message_id"], met["phone"]) == ("m-1400", "+8613800001400")
    assert stray.unmatched == {"tencent": 1}


def test_a_stream_sent_again_stores_only_what_it_had_not(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    def upload(first: int, last: int) -> dict[str, Any]:
        body = b"\n".join(orjson.dumps({"account_id": tx.account.id, "message_id": f"m-{i}"})
                          for i in range(first, last))
        result = client.simulate_post("/v1/expectations/bulk", headers={**me, **NDJSON},
                                      body=body)
        assert result.status_code == 200, result.text
        doc: dict[str, Any] = result.json
        return doc

    first = upload(0, 1500)
    # A client whose upload broke off sends it again, with what it had not sent yet.
    again = upload(0, 2500)

    assert (first["accepted"], first["duplicates"]) == (1500, 0)
    assert (again["accepted"], again["duplicates"]) == (1000, 1500)
    assert len(listed(client, me, limit="500", state="pending")) == 500


def test_a_stream_must_be_ndjson(client: Client, me: dict[str, str]) -> None:
    result = client.simulate_post("/v1/expectations/bulk", headers=me, json={"a": 1})
    assert result.status_code == 415


def test_the_account_sets_the_default_deadline_and_the_horizon(
        client: Client, tx: NewAccount, me: dict[str, str]) -> None:
    path = f"/v1/accounts/{tx.account.id}"
    assert client.simulate_get(path, headers=me).json["expectation_deadline_seconds"] == 600
    changed = client.simulate_patch(path, headers=me, json={
        "expectation_deadline_seconds": 60, "expectation_horizon_seconds": 3600})
    wrong = client.simulate_patch(path, headers=me, json={"expectation_horizon_seconds": 0})
    created = expect(client, me, {"account_id": tx.account.id, "message_id": "m",
                                  "sent_at": "2030-01-01T00:00:00Z"})

    assert changed.status_code == 200, changed.text
    assert wrong.status_code == 422
    assert created.status_code == 422  # far in the future
    made = expect(client, me, {"account_id": tx.account.id, "message_id": "m"}).json
    sent = datetime.fromisoformat(made["sent_at"])
    assert datetime.fromisoformat(made["deadline_at"]) - sent == timedelta(seconds=60)
    assert datetime.fromisoformat(made["horizon_at"]) - sent == timedelta(seconds=3600)


def test_analytics_count_expected_and_missing_and_a_late_receipt_takes_missing_back(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    def figures() -> dict[str, Any]:
        result = client.simulate_get("/v1/analytics/delivery", headers=me, params={
            "since": ago(hours=3), "until": ago(hours=-1), "group_by": "template"})
        assert result.status_code == 200, result.text
        return {g["template"]: (g["expected"], g["missing"]) for g in result.json["data"]}

    for sid in ("a-1", "a-2", "a-3"):
        expect(client, me, {"account_id": tx.account.id, "message_id": sid,
                            "phone": "13800000001", "sent_at": ago(minutes=20),
                            "template": "otp"})
    assert figures() == {"otp": (3, 0)}  # no receipt yet: no message
    sweep(runtime.sessions, now=utcnow())
    sweep(runtime.sessions, now=utcnow())  # a second sweep counts nothing again
    assert figures() == {"otp": (3, 3)}

    deliver(client, runtime, tx, "a-2", "13800000001")
    # The message itself counts without a template: receipts do not carry one.
    assert figures() == {"otp": (3, 2), None: (0, 0)}
