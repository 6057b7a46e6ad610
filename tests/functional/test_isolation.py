"""Tenant isolation: B's key against every tenant route with A's ids gets 404, changes nothing.

The routes come from /openapi.json, so a tenant route added later is covered without
anyone remembering to add it here.
"""

from __future__ import annotations

import re
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import text

from dlrhub.models import AlertKind, AlertRuleCreate, EndpointCreate, utcnow
from dlrhub.services.alerts.rules import create_rule
from dlrhub.services.endpoints import create_endpoint
from dlrhub.services.ingest import ingest
from dlrhub.services.keys import create_key
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.factories import AccountFactory

# A body that would succeed if the id were the caller's own.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/v1/accounts/{account_id}"): {"name": "taken over"},
    ("post", "/v1/accounts/{account_id}/rotate-token"): {"grace_seconds": 0},
    ("patch", "/v1/endpoints/{endpoint_id}"): {"description": "taken over"},
    ("post", "/v1/endpoints/{endpoint_id}/replay"): {"since": "2020-01-01T00:00:00Z"},
    ("patch", "/v1/alert-rules/{rule_id}"): {"enabled": False},
}


@pytest.fixture
def two_tenants(client: falcon.testing.TestClient, runtime: Runtime) -> dict[str, Any]:
    """Tenant A with an account, a receipt and an inbox row; tenant B with a key."""
    a = AccountFactory(provider="tencent")
    b = AccountFactory(provider="tencent")
    with runtime.sessions() as session:
        endpoint, _ = create_endpoint(session, runtime.box, tenant_id=a.account.tenant_id,
                                      spec=EndpointCreate(url="http://127.0.0.1:9/hook"),
                                      allow_private=True)
        rule = create_rule(session, tenant_id=a.account.tenant_id, spec=AlertRuleCreate(
            kind=AlertKind.delivery_rate_below, threshold=0.9, window_seconds=600))
        session.commit()
        endpoint_id, rule_id = endpoint.id, rule.id
    sim = build_callback("tencent", "http://x/", seq=1, batch=1, kind="status",
                         credentials={})
    assert client.simulate_post(f"/v1/callbacks/tencent/{a.token}", body=sim.body,
                                headers={"Content-Type": "application/json"}).status_code == 200
    with runtime.sessions() as session:
        (inbox_id,) = session.execute(text("SELECT id FROM inbound_callback")).scalars()
        ingest(session, runtime.box, [inbox_id], now=utcnow())
        receipt_id, message_id = session.execute(
            text("SELECT id, message_id FROM receipt")).one()
        delivery_id = session.execute(text("SELECT id FROM delivery")).scalar_one()
        key_a = create_key(session, tenant_id=a.account.tenant_id).key
        key_b = create_key(session, tenant_id=b.account.tenant_id).key
        session.commit()
    return {
        "client": client,
        "ids": {"account_id": a.account.id, "receipt_id": receipt_id,
                "message_id": message_id, "inbox_id": inbox_id,
                "endpoint_id": endpoint_id, "delivery_id": delivery_id, "rule_id": rule_id},
        "body": sim.body,
        "a": {"Authorization": f"Bearer {key_a}"},
        "b": {"Authorization": f"Bearer {key_b}"},
    }


def tenant_operations(client: falcon.testing.TestClient) -> list[tuple[str, str]]:
    doc = client.simulate_get("/openapi.json").json
    return [(method, path) for path, item in doc["paths"].items() for method, op in item.items()
            if op.get("security") == [{"tenant": []}] and "{" in path]


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


def snapshot(client: falcon.testing.TestClient, ops: list[tuple[str, str]],
             ids: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    # Bytes, not JSON: the raw body download answers whatever the provider sent.
    return {path: client.simulate_get(fill(path, ids), headers=headers).content
            for method, path in ops if method == "get"}


def test_another_tenants_key_gets_404_on_every_route_and_changes_nothing(
        two_tenants: dict[str, Any]) -> None:
    client, ids = two_tenants["client"], two_tenants["ids"]
    ops = tenant_operations(client)
    assert len(ops) >= 6, ops  # accounts, rotation, receipts, messages, inbox at least
    assert ("get", "/v1/inbox/{inbox_id}/body") in ops  # the raw download, streamed
    before = snapshot(client, ops, ids, two_tenants["a"])
    own = client.simulate_get(f"/v1/inbox/{ids['inbox_id']}/body", headers=two_tenants["a"])
    assert (own.status_code, own.content) == (200, two_tenants["body"])

    for method, path in ops:
        body = BODIES.get((method, path))
        result = client.simulate_request(method.upper(), fill(path, ids),
                                         headers=two_tenants["b"],
                                         json=body if body is not None else None)
        assert result.status_code == 404, (method, path, result.status_code, result.text)
        assert result.headers["content-type"] == "application/problem+json"

    assert snapshot(client, ops, ids, two_tenants["a"]) == before


def test_another_tenants_lists_and_filters_show_nothing_of_a(
        two_tenants: dict[str, Any]) -> None:
    client, ids = two_tenants["client"], two_tenants["ids"]
    b = two_tenants["b"]
    for path, query in [("/v1/accounts", ""), ("/v1/receipts", ""),
                        ("/v1/receipts", f"account_id={ids['account_id']}"),
                        ("/v1/receipts", f"message_id={ids['message_id']}"),
                        ("/v1/inbox", ""), ("/v1/inbox", f"account_id={ids['account_id']}")]:
        page = client.simulate_get(path, query_string=query, headers=b).json
        assert all(ids["account_id"] != row.get("account_id") and
                   ids["account_id"] != row.get("id") for row in page["data"]), (path, query)
    stats = client.simulate_get("/v1/stats", query_string=f"account_id={ids['account_id']}",
                                headers=b).json
    assert stats["total"] == 0
