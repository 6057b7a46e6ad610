"""Admin routes: tenants and keys; authentication; the errors every route shares."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest
from sqlalchemy import func, select, text, update

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.models import (
    DELIVERY_STATS_TABLE,
    MESSAGE_TABLE,
    RECEIPT_TABLE,
    AlertKind,
    AlertRuleCreate,
    AlertScope,
    Expectation,
    ProviderAccount,
    tenant_data_tables,
    utcnow,
)
from dlrhub.services.alerts.rules import create_rule
from dlrhub.services.ingest import ingest
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.factories import AccountFactory, InboundCallbackFactory

ADMIN = {"Authorization": "Bearer test-admin-token"}


def tenant(client: falcon.testing.TestClient, name: str = "acme") -> dict[str, Any]:
    result = client.simulate_post("/v1/tenants", json={"name": name}, headers=ADMIN)
    assert result.status_code == 201, result.text
    doc: dict[str, Any] = result.json
    return doc


def issue_key(client: falcon.testing.TestClient, tenant_id: str) -> dict[str, Any]:
    result = client.simulate_post(f"/v1/tenants/{tenant_id}/keys", json={"name": "ci"},
                                  headers=ADMIN)
    assert result.status_code == 201, result.text
    doc: dict[str, Any] = result.json
    return doc


def test_tenant_lifecycle(client: falcon.testing.TestClient) -> None:
    created = tenant(client)
    assert created["status"] == "active"
    assert created["id"].startswith("ten_")
    path = f"/v1/tenants/{created['id']}"
    assert client.simulate_get(path, headers=ADMIN).json == created

    renamed = client.simulate_patch(path, json={"name": "acme2"}, headers=ADMIN)
    assert (renamed.status_code, renamed.json["name"]) == (200, "acme2")
    assert client.simulate_delete(path, headers=ADMIN).status_code == 204
    assert client.simulate_get(path, headers=ADMIN).status_code == 404


def test_tenants_list_pages_every_tenant_once(client: falcon.testing.TestClient) -> None:
    ids = {tenant(client, f"t{i}")["id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        query = "limit=2" + (f"&after={cursor}" if cursor else "")
        page = client.simulate_get("/v1/tenants", query_string=query, headers=ADMIN).json
        seen += [t["id"] for t in page["data"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)
    suspended = client.simulate_get("/v1/tenants", query_string="status=suspended",
                                    headers=ADMIN).json
    assert suspended["data"] == []


def test_deleting_a_tenant_with_accounts_is_refused(client: falcon.testing.TestClient,
                                                    runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        create_rule(session, tenant_id=new.account.tenant_id, spec=AlertRuleCreate(
            kind=AlertKind.no_receipts_for, window_seconds=600,
            scope=AlertScope(account_id=new.account.id)))
        session.add(Expectation(tenant_id=new.account.tenant_id, account_id=new.account.id,
                                provider="tencent", message_id="m-1", sent_at=utcnow(),
                                deadline_at=utcnow(), horizon_at=utcnow()))
        session.commit()
    # Receipts, their messages and the delivery aggregate, of this tenant and another.
    other = AccountFactory(provider="tencent")
    inbox = [InboundCallbackFactory(account=a.account, records=3) for a in (new, other)]
    with runtime.sessions() as session:
        ingest(session, runtime.box, [row.id for row in inbox], now=utcnow())
        session.commit()
    path = f"/v1/tenants/{new.account.tenant_id}"
    refused = client.simulate_delete(path, headers=ADMIN)
    assert refused.status_code == 409
    assert refused.json["type"] == "urn:dlrhub:problem:conflict"
    assert client.simulate_get(path, headers=ADMIN).status_code == 200
    # once its accounts are deleted, the tenant goes with everything it had
    with runtime.engine.begin() as conn:
        # Through the typed column: sqlite3's default datetime adapter is deprecated.
        conn.execute(update(ProviderAccount).values(deleted_at=utcnow()))
    assert client.simulate_delete(path, headers=ADMIN).status_code == 204
    with runtime.engine.connect() as conn:
        left = {table.name: conn.execute(select(func.count()).select_from(table).where(
            table.c.tenant_id == new.account.tenant_id)).scalar_one()
            for table in tenant_data_tables()}
        kept = {table.name: conn.execute(select(func.count()).select_from(table).where(
            table.c.tenant_id == other.account.tenant_id)).scalar_one()
            for table in (MESSAGE_TABLE, RECEIPT_TABLE, DELIVERY_STATS_TABLE)}
    assert set(left) >= {"provider_account", "alert_rule", "expectation", "receipt",
                         "message", "delivery_stats", "inbound_callback"}
    assert not any(left.values()), left
    assert kept["message"] == kept["receipt"] == 3
    assert kept["delivery_stats"] > 0


def test_keys_are_shown_once_and_only_their_hash_is_stored(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    created = tenant(client)
    issued = issue_key(client, created["id"])
    assert issued["key"].startswith("dlrhub_sk_")
    listed = client.simulate_get(f"/v1/tenants/{created['id']}/keys", headers=ADMIN).json
    assert [k["id"] for k in listed["data"]] == [issued["id"]]
    assert "key" not in listed["data"][0]
    assert listed["data"][0]["hint"] == issued["key"][-4:]
    with runtime.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM api_key")).mappings().one()
    assert issued["key"] not in " ".join(str(v) for v in row.values())


def test_a_revoked_key_stops_working_at_once(client: falcon.testing.TestClient) -> None:
    created = tenant(client)
    issued = issue_key(client, created["id"])
    me = {"Authorization": f"Bearer {issued['key']}"}
    assert client.simulate_get("/v1/tenants", headers=me).status_code == 401  # admin only
    revoked = client.simulate_delete(f"/v1/tenants/{created['id']}/keys/{issued['id']}",
                                     headers=ADMIN)
    assert revoked.status_code == 200
    assert revoked.json["revoked_at"] is not None


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dGVzdA==", "Bearer "])
def test_admin_routes_need_the_admin_token(client: falcon.testing.TestClient,
                                          header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    result = client.simulate_post("/v1/tenants", json={"name": "x"}, headers=headers)
    assert result.status_code == 401
    assert result.headers["www-authenticate"].startswith("Bearer")
    assert result.headers["content-type"] == "application/problem+json"


def test_without_an_admin_token_the_admin_api_is_off(settings: Settings,
                                                     runtime: Runtime) -> None:
    off = settings.model_copy(update={"admin_token": None})
    client = falcon.testing.TestClient(create_app(off, runtime=runtime))
    result = client.simulate_get("/v1/tenants", headers={"Authorization": "Bearer "})
    assert result.status_code == 401
    assert "DLRHUB_ADMIN_TOKEN" in result.json["detail"]


def test_a_suspended_tenant_is_refused_but_its_callbacks_are_still_stored(
        client: falcon.testing.TestClient, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    tenant_id = new.account.tenant_id
    issued = issue_key(client, tenant_id)
    suspended = client.simulate_patch(f"/v1/tenants/{tenant_id}", json={"status": "suspended"},
                                      headers=ADMIN)
    assert suspended.json["status"] == "suspended"

    refused = client.simulate_get("/v1/receipts",
                                  headers={"Authorization": f"Bearer {issued['key']}"})
    assert refused.status_code == 403
    assert refused.json["type"] == "urn:dlrhub:problem:forbidden"
    sim = build_callback("tencent", "http://x/", seq=1, batch=2, kind="status",
                         credentials={})
    answer = client.simulate_post(f"/v1/callbacks/tencent/{new.token}", body=sim.body,
                                  headers={"Content-Type": "application/json"})
    assert answer.status_code == 200
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM inbound_callback")).scalar_one() == 1


@pytest.mark.parametrize(("body", "headers", "status", "field"), [
    (b'{"name": ""}', {"Content-Type": "application/json"}, 422, "name"),
    (b'{"name": "x", "plan": "gold"}', {"Content-Type": "application/json"}, 422, "plan"),
    (b'{"name": 5}', {"Content-Type": "application/json"}, 422, "name"),
    (b"[1, 2]", {"Content-Type": "application/json"}, 422, None),
    (b"{", {"Content-Type": "application/json"}, 400, None),
    (b"name=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415, None),
    (b'{"name": "' + b"x" * 2_000_000 + b'"}', {"Content-Type": "application/json"}, 413,
     None),
])
def test_bad_bodies_get_a_problem_naming_what_is_wrong(
        client: falcon.testing.TestClient, body: bytes, headers: dict[str, str], status: int,
        field: str | None) -> None:
    result = client.simulate_post("/v1/tenants", body=body, headers={**ADMIN, **headers})
    assert result.status_code == status, result.text
    assert result.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert result.json["field"] == field


def test_unknown_routes_and_wrong_methods(client: falcon.testing.TestClient) -> None:
    assert client.simulate_get("/v1/nothing", headers=ADMIN).status_code == 404
    wrong = client.simulate_put("/v1/tenants", json={}, headers=ADMIN)
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
