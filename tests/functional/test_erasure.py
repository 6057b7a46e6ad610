"""Erasure by phone number: no form of the number is left in any of the tenant's tables."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import falcon.testing
import orjson
import pytest
from sqlalchemy import JSON, LargeBinary, String, TypeDecorator, select
from sqlmodel import SQLModel

from dlrhub.config import Settings
from dlrhub.models import (
    AUDIT_TABLE,
    DELIVERY_TABLE,
    EXPECTATION_TABLE,
    INBOX_TABLE,
    MESSAGE_TABLE,
    RECEIPT_TABLE,
    Attempt,
    utcnow,
)
from dlrhub.services import erasure
from dlrhub.services.audit import keyed_hash
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory
from tests.functional.test_receipts_api import (
    FORM,
    huawei,
    ingest_pending,
    key_for,
    post_callback,
    tencent,
)

Client = falcon.testing.TestClient
ADMIN = {"Authorization": "Bearer test-admin-token"}
# The person, and the digits every form of their number holds (E.164, 86…, 0086…, national).
NATIONAL = "13812345678"
E164 = "+86" + NATIONAL
OTHER = "13900000002"

# Deletes, the inbox's scan of bytes (LIKE on bytea and on a BLOB) and JSON rewrites.
pytestmark = pytest.mark.dialects


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Endpoints on loopback: deliveries are planned, never sent."""
    return settings.model_copy(update={"allow_private_endpoints": True})


def texts_of(runtime: Runtime, tenant_id: str) -> list[tuple[str, str, str]]:
    """Return (table, column, text) of every text, bytes and JSON value of the tenant's rows.

    Every table of the metadata is read, so a table added later is scanned too; rows of
    a table without a tenant are all read.
    """
    found = []
    with runtime.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.c if _holds_text(c.type)]
            query = select(*columns)
            if "tenant_id" in table.c:
                query = query.where(table.c.tenant_id == tenant_id)
            for row in conn.execute(query):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = (value.decode("utf-8", "replace") if isinstance(value, bytes)
                            else value if isinstance(value, str)
                            else orjson.dumps(value).decode())
                    found.append((table.name, column.name, text))
    return found


def _holds_text(kind: Any) -> bool:
    if isinstance(kind, TypeDecorator):  # SQLModel's AutoString, the UTC timestamps
        kind = kind.impl
    return isinstance(kind, String | LargeBinary | JSON)


def mentions(runtime: Runtime, tenant_id: str, digits: str) -> set[tuple[str, str]]:
    return {(t, c) for t, c, text in texts_of(runtime, tenant_id) if digits in text}


@pytest.fixture
def person(client: Client, runtime: Runtime) -> dict[str, Any]:
    """A tenant holding the number in every table, in several forms, from two providers."""
    tx = AccountFactory(provider="tencent")
    tenant_id = tx.account.tenant_id
    hw = AccountFactory(provider="huawei", tenant_id=tenant_id)
    me = key_for(runtime, tenant_id)
    normalized = client.simulate_post("/v1/endpoints", headers=me, json={
        "url": "http://127.0.0.1:9/events"}).json
    native = client.simulate_post("/v1/endpoints", headers=me, json={
        "url": "http://127.0.0.1:9/native", "format": "native"})
    assert native.status_code == 201, native.text
    for phone, message_id in ((f"+86{NATIONAL}", "m-1"), (OTHER, "m-9")):
        made = client.simulate_post("/v1/expectations", headers=me, json={
            "account_id": tx.account.id, "message_id": message_id, "phone": phone})
        assert made.status_code == 201, made.text
    # Tencent: the national form in JSON, beside another recipient in the same body.
    batch = [tencent("m-1", NATIONAL, "SUCCESS", "2024-01-01 10:00:00"),
             tencent("m-9", OTHER, "SUCCESS", "2024-01-01 10:00:01")]
    assert post_callback(client, tx, orjson.dumps(batch)).status_code == 200
    # An inbound message from someone else that gives the number (as 86…) in its text.
    reply = {"mobile": OTHER, "nationcode": "86", "text": f"call me at 86{NATIONAL}",
             "sign": "", "time": 1704074400, "extend": ""}
    assert post_callback(client, tx, orjson.dumps(reply)).status_code == 200
    # Huawei: E.164 in a form body, its "+" encoded.
    assert post_callback(client, hw, huawei("h-1", E164, "DELIVRD", "2024-01-01T02:00:05Z"),
                         FORM).status_code == 200
    ingest_pending(runtime)
    with runtime.engine.connect() as conn:
        receipt_ids = list(conn.execute(select(RECEIPT_TABLE.c.id).where(
            RECEIPT_TABLE.c.phone == E164)).scalars())
        delivery_id = conn.execute(select(DELIVERY_TABLE.c.id).where(
            DELIVERY_TABLE.c.endpoint_id == normalized["id"])).scalars().first()
    with runtime.sessions() as session:
        session.add(Attempt(delivery_id=delivery_id, tenant_id=tenant_id, at=utcnow(),
                            status_code=400, error=f"HTTP 400: unknown 0086{NATIONAL}",
                            response_excerpt=f'{{"error": "no user {E164}"}}'))
        session.commit()
    # Someone else's tenant with the same person: left alone.
    theirs = AccountFactory(provider="tencent")
    assert post_callback(client, theirs, orjson.dumps(
        [tencent("t-1", NATIONAL, "SUCCESS", "2024-01-01 10:00:00")])).status_code == 200
    ingest_pending(runtime)
    return {"tenant_id": tenant_id, "me": me, "theirs": theirs.account.tenant_id,
            "receipts": receipt_ids}


def test_no_form_of_the_number_is_left_and_the_report_counts_each_table(
        client: Client, runtime: Runtime, settings: Settings, person: dict[str, Any]) -> None:
    tenant_id = person["tenant_id"]
    before = mentions(runtime, tenant_id, NATIONAL)
    # The setup put the number where the erasure must find it.
    assert {("receipt", "phone"), ("receipt", "text"), ("message", "phone"),
            ("expectation", "phone"), ("inbound_callback", "body"),
            ("attempt", "response_excerpt"), ("attempt", "error")} <= before
    other_before = mentions(runtime, tenant_id, OTHER)

    result = client.simulate_post("/v1/erasures", headers=person["me"],
                                  json={"phone": NATIONAL})

    assert result.status_code == 200, result.text
    tables = result.json["tables"]
    assert tables["receipt"] == {"deleted": len(person["receipts"]), "redacted": 1}
    assert len(person["receipts"]) == 2  # Tencent's and Huawei's
    assert tables["message"]["deleted"] == 2
    assert tables["expectation"]["deleted"] == 1
    assert tables["inbound_callback"]["redacted"] == 3
    assert tables["attempt"]["redacted"] == 1
    assert mentions(runtime, tenant_id, NATIONAL) == set()
    # The other recipient and the other tenant keep everything.
    assert mentions(runtime, tenant_id, OTHER) == other_before
    assert ("receipt", "phone") in mentions(runtime, person["theirs"], NATIONAL)

    with runtime.engine.connect() as conn:
        bodies = {r.provider: r.body for r in conn.execute(select(
            INBOX_TABLE.c.provider, INBOX_TABLE.c.body).where(
            INBOX_TABLE.c.tenant_id == tenant_id, INBOX_TABLE.c.content_type != FORM))}
        form = conn.execute(select(INBOX_TABLE.c.body).where(
            INBOX_TABLE.c.tenant_id == tenant_id, INBOX_TABLE.c.provider == "huawei")
        ).scalar_one()
        left = conn.execute(select(EXPECTATION_TABLE.c.phone).where(
            EXPECTATION_TABLE.c.tenant_id == tenant_id)).scalars().all()
        messages = conn.execute(select(MESSAGE_TABLE.c.phone).where(
            MESSAGE_TABLE.c.tenant_id == tenant_id)).scalars().all()
        (trail,) = conn.execute(select(AUDIT_TABLE).where(
            AUDIT_TABLE.c.action == "erasure.create")).all()
    # Masked in place: the bodies are still what they were, but for the number.
    assert "tencent" in bodies
    assert parse_qs(form.decode())["to"] == ["+" + "*" * 13]
    assert parse_qs(form.decode())["smsMsgId"] == ["h-1"]
    assert left == ["+86" + OTHER]
    assert set(messages) == {"+86" + OTHER}
    # The audit trail keeps the keyed hash, never the number.
    digest = keyed_hash(settings.secret_key, E164)
    assert result.json["phone_hash"] == digest
    assert (trail.target_type, trail.target_id, trail.tenant_id) == ("phone", digest, tenant_id)
    assert trail.detail["tables"] == tables


def test_every_form_finds_the_same_person_and_a_second_erasure_finds_nothing(
        client: Client, runtime: Runtime, person: dict[str, Any]) -> None:
    first = client.simulate_post("/v1/erasures", headers=person["me"],
                                 json={"phone": f"86{NATIONAL}"})
    assert first.status_code == 200, first.text
    assert first.json["tables"]["receipt"]["deleted"] == 2
    for form in (E164, f"0086{NATIONAL}", NATIONAL, "+86 138 1234 5678"):
        again = client.simulate_post("/v1/erasures", headers=person["me"],
                                     json={"phone": form})
        assert again.status_code == 200, again.text
        assert again.json["phone_hash"] == first.json["phone_hash"]
        assert all(c == {"deleted": 0, "redacted": 0}
                   for c in again.json["tables"].values()), again.json


def test_a_pending_delivery_of_erased_events_only_is_ended_not_sent_empty(
        client: Client, runtime: Runtime, person: dict[str, Any]) -> None:
    with runtime.engine.connect() as conn:
        pending = {r.id: r.event_ids for r in conn.execute(select(
            DELIVERY_TABLE.c.id, DELIVERY_TABLE.c.event_ids).where(
            DELIVERY_TABLE.c.tenant_id == person["tenant_id"],
            DELIVERY_TABLE.c.status == "pending", DELIVERY_TABLE.c.inbox_id.is_(None)))}
    erased = {i for ids in pending.values() for i in ids if i in person["receipts"]}
    assert erased

    client.simulate_post("/v1/erasures", headers=person["me"], json={"phone": E164})

    with runtime.engine.connect() as conn:
        after = {r.id: r for r in conn.execute(select(DELIVERY_TABLE).where(
            DELIVERY_TABLE.c.id.in_(pending)))}
    for delivery_id, ids in pending.items():
        row = after[delivery_id]
        if set(ids) <= erased:
            assert (row.status, row.event_ids) == ("dead", [])
        else:
            assert row.status == "pending"
            assert row.event_ids == [i for i in ids if i not in erased]


def test_the_admin_names_the_tenant_and_a_tenant_only_its_own(
        client: Client, runtime: Runtime, person: dict[str, Any]) -> None:
    mine = client.simulate_post("/v1/erasures", headers=person["me"], json={
        "phone": E164, "tenant_id": person["theirs"]})
    assert mine.status_code == 422
    assert mine.json["field"] == "tenant_id"
    unnamed = client.simulate_post("/v1/erasures", headers=ADMIN, json={"phone": E164})
    assert (unnamed.status_code, unnamed.json["field"]) == (422, "tenant_id")
    unknown = client.simulate_post("/v1/erasures", headers=ADMIN,
                                   json={"phone": E164, "tenant_id": "ten_nope"})
    assert unknown.status_code == 404
    done = client.simulate_post("/v1/erasures", headers=ADMIN,
                                json={"phone": E164, "tenant_id": person["theirs"]})
    assert done.status_code == 200, done.text
    assert done.json["tables"]["receipt"]["deleted"] == 1
    assert mentions(runtime, person["theirs"], NATIONAL) == set()
    assert ("receipt", "phone") in mentions(runtime, person["tenant_id"], NATIONAL)
    with runtime.engine.connect() as conn:
        trail = conn.execute(select(AUDIT_TABLE.c.actor_kind, AUDIT_TABLE.c.tenant_id).where(
            AUDIT_TABLE.c.action == "erasure.create")).all()
    assert [tuple(r) for r in trail] == [("admin", person["theirs"])]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"phone": "not a number"}, 422, "phone"),
    ({"phone": ""}, 422, "phone"),
    ({"phone": "   "}, 422, "phone"),
    ({"phone": "12"}, 422, "phone"),
    ({"phone": 8613812345678}, 422, "phone"),
    ({"phone": ["+8613812345678"]}, 422, "phone"),
    ({}, 422, "phone"),
    ({"phone": E164, "region": "C"}, 422, "region"),
    ({"phone": E164, "extra": 1}, 422, "extra"),
])
def test_bad_input_is_a_problem_not_a_500(client: Client, runtime: Runtime,
                                          body: Any, status: int, field: str) -> None:
    tx = AccountFactory(provider="tencent")
    result = client.simulate_post("/v1/erasures", json=body,
                                  headers=key_for(runtime, tx.account.tenant_id))
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json["field"] == field
    with runtime.engine.connect() as conn:
        assert conn.execute(select(AUDIT_TABLE.c.id)).first() is None


def test_a_body_that_is_not_json_is_a_400(client: Client, runtime: Runtime) -> None:
    tx = AccountFactory(provider="tencent")
    result = client.simulate_post("/v1/erasures", body=b"{phone",
                                  headers={**key_for(runtime, tx.account.tenant_id),
                                           "Content-Type": "application/json"})
    assert result.status_code == 400
    assert result.headers["content-type"] == "application/problem+json"


def test_a_callback_erased_before_the_worker_stored_it_gives_receipts_without_the_number(
        client: Client, runtime: Runtime) -> None:
    tx = AccountFactory(provider="tencent")
    me = key_for(runtime, tx.account.tenant_id)
    body = [tencent("m-1", NATIONAL, "SUCCESS", "2024-01-01 10:00:00"),
            tencent("m-2", OTHER, "FAIL", "2024-01-01 10:00:01")]
    assert post_callback(client, tx, orjson.dumps(body)).status_code == 200

    erased = client.simulate_post("/v1/erasures", headers=me, json={"phone": E164})
    ingest_pending(runtime)

    assert erased.json["tables"]["inbound_callback"]["redacted"] == 1
    assert mentions(runtime, tx.account.tenant_id, NATIONAL) == set()
    with runtime.engine.connect() as conn:
        phones = set(conn.execute(select(RECEIPT_TABLE.c.phone).where(
            RECEIPT_TABLE.c.tenant_id == tx.account.tenant_id)).scalars())
    assert phones == {"*" * 11, "+86" + OTHER}


def test_receipts_a_worker_stores_while_the_inbox_is_scanned_are_erased_too(
        client: Client, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker read the callback before the erasure masked it, and commits its receipt
    # while the erasure scans the inbox: the erasure's last pass deletes it.
    tx = AccountFactory(provider="tencent")
    me = key_for(runtime, tx.account.tenant_id)
    late = post_callback(client, tx, orjson.dumps(
        [tencent("m-late", NATIONAL, "SUCCESS", "2024-01-01 10:00:00")]))
    assert late.status_code == 200
    scan = erasure._inbox

    def scan_while_a_worker_commits(*args: Any) -> None:
        ingest_pending(runtime)  # the worker's commit, between two batches
        scan(*args)

    monkeypatch.setattr(erasure, "_inbox", scan_while_a_worker_commits)
    erased = client.simulate_post("/v1/erasures", headers=me, json={"phone": E164})

    assert erased.status_code == 200, erased.text
    assert erased.json["tables"]["receipt"]["deleted"] == 1
    assert erased.json["tables"]["message"]["deleted"] == 1
    assert mentions(runtime, tx.account.tenant_id, NATIONAL) == set()
