"""The audit trail: every change through the API or the console leaves one row.

Which routes change something is read from the app itself (its router), so that a
route added later without an audit action, or without a call in the walk below, fails
here rather than going unrecorded.
"""

from __future__ import annotations

import gc
import warnings
from datetime import timedelta
from typing import Any

import falcon.inspect
import falcon.testing
import orjson
import pytest
from sqlalchemy import func, select

from dlrhub.api.app import create_app
from dlrhub.api.openapi import operation_of
from dlrhub.config import Settings
from dlrhub.models import AUDIT_TABLE, Delivery, DeliveryStatus, utcnow
from dlrhub.services.runtime import Runtime
from tests.functional.console_fixtures import Browser, tenant_key

Client = falcon.testing.TestClient
ADMIN = {"Authorization": "Bearer test-admin-token"}
MUTATING = ("POST", "PUT", "PATCH", "DELETE")
# The console's forms that change none of dlrhub's data (a session, cookies).
NOT_CHANGES = {"/console/login", "/console/logout", "/console/prefs"}

# The trail's filters (a prefix LIKE, times) on both databases.
pytestmark = pytest.mark.dialects


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Endpoints on loopback: a test event goes nowhere, quickly."""
    return settings.model_copy(update={"allow_private_endpoints": True})


def mutating_routes(app: Any) -> list[tuple[str, str, Any]]:
    """Return (method, route template, resource) of every mutating responder of ``app``."""
    found = []
    for route in falcon.inspect.inspect_app(app).routes:
        resource = app._router.find(route.path)[0]  # the template matches itself
        for method in route.methods:
            if method.method in MUTATING and not method.internal:
                found.append((method.method, route.path, resource))
    return found


def rows(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(AUDIT_TABLE).order_by(AUDIT_TABLE.c.id))]


def count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AUDIT_TABLE)).scalar_one())


def test_every_mutating_route_declares_what_it_changes(client: Client) -> None:
    routes = mutating_routes(client.app)
    assert len(routes) > 40
    for method, path, resource in routes:
        if path.startswith("/console"):
            action = resource.audit
            assert action is None if path in NOT_CHANGES else action, (method, path)
            continue
        op = operation_of(resource, method)
        assert op is not None, (method, path)
        if path.startswith("/v1/callbacks/"):
            assert op.auth == "public"  # a provider's post is data, not a change
            continue
        assert "." in op.audit, (method, path)


class Walk:
    """Call routes and check that each success left exactly one audit row."""

    def __init__(self, client: Client, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime
        self.seen: dict[tuple[str, str], dict[str, Any]] = {}

    def call(self, method: str, template: str, headers: dict[str, str], *,
             json: Any = None, body: bytes | None = None, **params: str) -> Any:
        before = count(self.runtime)
        path = template.format(**params)
        extra = {"Content-Type": "application/x-ndjson"} if body is not None else {}
        result = self.client.simulate_request(method, path, json=json, body=body,
                                              headers={**headers, **extra})
        assert result.status_code < 300, (method, path, result.text)
        assert count(self.runtime) == before + 1, (method, path)
        self.seen[(method, template)] = rows(self.runtime)[-1]
        return result.json if result.content else None


def test_every_mutating_api_route_writes_one_row_naming_who_what_and_which(
        settings: Settings, runtime: Runtime) -> None:
    # An app of its own: the HTTP client its test event starts is let go of at the end.
    client = Client(create_app(settings, runtime=runtime))
    try:
        walk_every_api_route(client, runtime)
    finally:
        del client
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def walk_every_api_route(client: Client, runtime: Runtime) -> None:
    w = Walk(client, runtime)
    tenant = w.call("POST", "/v1/tenants", ADMIN, json={"name": "acme"})
    t = tenant["id"]
    w.call("PATCH", "/v1/tenants/{tenant_id}", ADMIN, json={"name": "acme 2"}, tenant_id=t)
    issued = w.call("POST", "/v1/tenants/{tenant_id}/keys", ADMIN, json={"name": "ci"}, tenant_id=t)
    me = {"Authorization": f"Bearer {issued['key']}"}
    spare = tenant_key(runtime, t)[1]
    w.call("DELETE", "/v1/tenants/{tenant_id}/keys/{key_id}", ADMIN, tenant_id=t, key_id=spare)
    account = w.call("POST", "/v1/accounts", me, json={
        "provider": "huawei", "name": "hw", "credentials": {"access_key": "ak",
                                                           "secret_key": "s3cret-value"}})
    a = account["id"]
    w.call("PATCH", "/v1/accounts/{account_id}", me, json={"name": "hw 2"}, account_id=a)
    w.call("POST", "/v1/accounts/{account_id}/rotate-token", me, json={"grace_seconds": 0},
           account_id=a)
    endpoint = w.call("POST", "/v1/endpoints", me, json={"url": "http://127.0.0.1:9/hook"})
    e = endpoint["id"]
    w.call("PATCH", "/v1/endpoints/{endpoint_id}", me, json={"description": "ops"}, endpoint_id=e)
    w.call("POST", "/v1/endpoints/{endpoint_id}/secret/rotate", me, endpoint_id=e)
    w.call("POST", "/v1/endpoints/{endpoint_id}/replay", me,
           json={"since": (utcnow() - timedelta(hours=1)).isoformat()}, endpoint_id=e)
    w.call("POST", "/v1/endpoints/{endpoint_id}/test", me, endpoint_id=e)
    with runtime.sessions() as session:
        dead = Delivery(tenant_id=t, endpoint_id=e, event_ids=[], status=DeliveryStatus.dead,
                        next_attempt_at=None)
        session.add(dead)
        session.commit()
        d = dead.id
    w.call("POST", "/v1/deliveries/{delivery_id}/retry", me, delivery_id=d)
    w.call("POST", "/v1/expectations", me, json={"account_id": a, "message_id": "m-1"})
    w.call("POST", "/v1/expectations/bulk", me,
           body=orjson.dumps({"account_id": a, "message_id": "m-2"}))
    rule = w.call("POST", "/v1/alert-rules", me, json={
        "kind": "delivery_rate_below", "threshold": 0.9, "window_seconds": 3600})
    w.call("PATCH", "/v1/alert-rules/{rule_id}", me, json={"threshold": 0.8}, rule_id=rule["id"])
    w.call("DELETE", "/v1/alert-rules/{rule_id}", me, rule_id=rule["id"])
    w.call("POST", "/v1/erasures", me, json={"phone": "+8613800000001"})
    w.call("DELETE", "/v1/endpoints/{endpoint_id}", me, endpoint_id=e)
    w.call("DELETE", "/v1/accounts/{account_id}", me, account_id=a)
    w.call("PATCH", "/v1/tenants/{tenant_id}", ADMIN, json={"status": "suspended"}, tenant_id=t)
    w.call("DELETE", "/v1/tenants/{tenant_id}", ADMIN, tenant_id=t)

    api = {(m, p): r for m, p, r in mutating_routes(client.app)
           if p.startswith("/v1/") and not p.startswith("/v1/callbacks/")}
    assert set(w.seen) == set(api)
    for (method, template), row in w.seen.items():
        op = operation_of(api[(method, template)], method)
        assert op is not None
        assert row["action"] == op.audit
        assert row["tenant_id"] == t, (method, template)
        admin = "/v1/tenants" in template
        assert (row["actor_kind"], row["actor_id"]) == (
            ("admin", "admin") if admin else ("key", issued["id"])), (method, template)
    created = w.seen[("POST", "/v1/accounts")]
    assert (created["target_type"], created["target_id"]) == ("account", a)
    assert created["detail"] == {"fields": ["credentials", "name", "provider"]}
    assert w.seen[("DELETE", "/v1/tenants/{tenant_id}/keys/{key_id}")]["target_id"] == spare
    assert w.seen[("PATCH", "/v1/tenants/{tenant_id}")]["detail"] == {"fields": ["status"]}
    # Never a secret: not the key, not a credential, not the endpoint's secret.
    dumped = orjson.dumps(rows(runtime), default=str)
    for secret in (issued["key"].encode(), b"s3cret-value", b"whsec_"):
        assert secret not in dumped


def test_a_refused_or_failed_change_writes_nothing(client: Client, runtime: Runtime) -> None:
    assert client.simulate_post("/v1/tenants", json={"name": ""},
                                headers=ADMIN).status_code == 422
    assert client.simulate_delete("/v1/tenants/ten_nope", headers=ADMIN).status_code == 404
    assert client.simulate_post("/v1/tenants", json={"name": "x"}).status_code == 401
    assert count(runtime) == 0


def test_a_tenant_lists_its_own_trail_and_the_admin_everyones(
        client: Client, runtime: Runtime) -> None:
    made = [client.simulate_post("/v1/tenants", json={"name": n}, headers=ADMIN).json
            for n in ("a", "b")]
    keys = {}
    for tenant in made:
        issued = client.simulate_post(f"/v1/tenants/{tenant['id']}/keys", json={},
                                      headers=ADMIN).json
        keys[tenant["id"]] = {"Authorization": f"Bearer {issued['key']}"}
        for n in range(3):
            result = client.simulate_post("/v1/alert-rules", headers=keys[tenant["id"]], json={
                "kind": "delivery_rate_below", "threshold": 0.9, "window_seconds": 600 + n})
            assert result.status_code == 201, result.text
    a, b = (t["id"] for t in made)

    first = client.simulate_get("/v1/audit", params={"limit": "2"}, headers=keys[a])
    assert first.status_code == 200, first.text
    rest = client.simulate_get("/v1/audit", params={"limit": "2", "after": first.json["next"]},
                               headers=keys[a]).json
    mine = first.json["data"] + rest["data"]
    while rest["next"]:
        rest = client.simulate_get("/v1/audit", params={"after": rest["next"]},
                                   headers=keys[a]).json
        mine += rest["data"]
    assert {e["tenant_id"] for e in mine} == {a}
    assert [e["action"] for e in mine] == ["alert_rule.create"] * 3 + ["key.create",
                                                                       "tenant.create"]
    rules = client.simulate_get("/v1/audit", params={"action": "alert_rule."},
                                headers=keys[b]).json["data"]
    assert len(rules) == 3
    none_yet = client.simulate_get("/v1/audit", headers=keys[b], params={
        "since": (utcnow() + timedelta(minutes=1)).isoformat()}).json["data"]
    assert none_yet == []

    everyone = client.simulate_get("/v1/admin/audit", params={"limit": "500"},
                                   headers=ADMIN).json["data"]
    assert len(everyone) == 10
    of_b = client.simulate_get("/v1/admin/audit", params={"tenant_id": b, "target_type": "key"},
                               headers=ADMIN).json["data"]
    assert [e["action"] for e in of_b] == ["key.create"]
    assert client.simulate_get("/v1/admin/audit", headers=keys[a]).status_code == 401
    for wrong in ("yesterday", "1700000000"):
        bad = client.simulate_get("/v1/audit", params={"since": wrong}, headers=keys[a])
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json["field"] == "since"


def test_the_consoles_changes_are_recorded_as_its_sessions(
        client: Client, runtime: Runtime) -> None:
    admin = Browser(client)
    assert admin.sign_in("test-admin-token").status_code == 303
    made = admin.submit("/console/tenants", name="console corp")
    assert made.status_code == 303, made.text
    tenant_id = made.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    issued = admin.submit(f"/console/tenants/{tenant_id}/keys",
                          f"/console/tenants/{tenant_id}", name="web")
    assert issued.status_code == 200
    key, key_id = tenant_key(runtime, tenant_id)
    browser = Browser(client)
    assert browser.sign_in(key).status_code == 303
    endpoint = browser.submit("/console/endpoints/new", url="https://example.com/hook",
                              retry_policy="standard")
    assert endpoint.status_code == 303, endpoint.text
    endpoint_id = endpoint.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    refused = browser.submit("/console/endpoints/new", url="ftp://nowhere")
    assert refused.status_code == 400
    browser.submit("/console/logout", "/console/overview")

    trail = rows(runtime)
    assert [(r["action"], r["actor_kind"], r["actor_id"], r["tenant_id"], r["target_id"])
            for r in trail] == [
        ("tenant.create", "console-session", "admin", tenant_id, tenant_id),
        ("key.create", "console-session", "admin", tenant_id, trail[1]["target_id"]),
        ("endpoint.create", "console-session", key_id, tenant_id, endpoint_id),
    ]
    assert trail[1]["target_id"].startswith("key_")
    assert trail[2]["detail"]["fields"] == sorted(trail[2]["detail"]["fields"])
    assert "url" in trail[2]["detail"]["fields"]


class ConsoleWalk:
    """Submit console forms and check that each success left exactly one audit row."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.seen: dict[str, dict[str, Any]] = {}

    def submit(self, browser: Browser, template: str, page: str | None = None, *,
               expect: int = 303, **fields: str) -> Any:
        before = count(self.runtime)
        ids = {k: v for k, v in fields.items() if k.endswith("_id") and "{" + k + "}" in template}
        form = {k: v for k, v in fields.items() if k not in ids}
        path = template.format(**ids)
        result = browser.submit(path, page.format(**ids) if page else None, **form)
        assert result.status_code == expect, (path, result.text[:500])
        assert count(self.runtime) == before + 1, path
        self.seen[template] = rows(self.runtime)[-1]
        return result


def new_id_in(result: Any) -> str:
    return str(result.headers["location"].split("?")[0].rsplit("/", 1)[-1])


def test_every_console_form_that_changes_something_writes_one_row(
        settings: Settings, runtime: Runtime) -> None:
    client = Client(create_app(settings, runtime=runtime))
    try:
        walk_every_console_form(client, runtime)
    finally:
        del client
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def walk_every_console_form(client: Client, runtime: Runtime) -> None:
    w = ConsoleWalk(runtime)
    admin = Browser(client)
    assert admin.sign_in("test-admin-token").status_code == 303
    t = new_id_in(w.submit(admin, "/console/tenants", name="walk"))
    page = "/console/tenants/{tenant_id}"
    w.submit(admin, "/console/tenants/{tenant_id}", tenant_id=t, name="walk 2")
    w.submit(admin, "/console/tenants/{tenant_id}/keys", page, expect=200, tenant_id=t,
             name="spare")
    spare = w.seen["/console/tenants/{tenant_id}/keys"]["target_id"]
    w.submit(admin, "/console/tenants/{tenant_id}/keys/{key_id}/revoke", page, tenant_id=t,
             key_id=spare)
    key, key_id = tenant_key(runtime, t)
    me = Browser(client)
    assert me.sign_in(key).status_code == 303
    a = new_id_in(w.submit(me, "/console/accounts/new", "/console/accounts/new?provider=tencent",
                           provider="tencent", name="tx", timezone="Asia/Shanghai"))
    w.submit(me, "/console/accounts/{account_id}", account_id=a, name="tx 2", timezone="UTC")
    w.submit(me, "/console/accounts/{account_id}/rotate", "/console/accounts/{account_id}",
             account_id=a, grace_seconds="0")
    e = new_id_in(w.submit(me, "/console/endpoints/new", url="http://127.0.0.1:9/hook",
                           retry_policy="standard"))
    ep = "/console/endpoints/{endpoint_id}"
    w.submit(me, ep, endpoint_id=e, url="http://127.0.0.1:9/hook2", retry_policy="standard")
    w.submit(me, ep + "/state", ep, endpoint_id=e, enabled="1")
    w.submit(me, ep + "/secret", ep, expect=200, endpoint_id=e)
    w.submit(me, ep + "/secret/rotate", ep, expect=200, endpoint_id=e)
    w.submit(me, ep + "/test", ep, expect=200, endpoint_id=e)
    w.submit(me, ep + "/replay", ep, expect=200, endpoint_id=e,
             since=(utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    with runtime.sessions() as session:
        dead = Delivery(tenant_id=t, endpoint_id=e, event_ids=[], status=DeliveryStatus.dead,
                        next_attempt_at=None)
        session.add(dead)
        session.commit()
        d = dead.id
    w.submit(me, "/console/deliveries/{delivery_id}/retry", "/console/deliveries/{delivery_id}",
             delivery_id=d)
    w.submit(me, "/console/expectations", account_id=a, message_id="m-1",
             deadline_seconds="600")
    r = new_id_in(w.submit(me, "/console/alerts/new", kind="delivery_rate_below",
                           threshold="0.9", window_seconds="3600", min_messages="1"))
    w.submit(me, "/console/alerts/{rule_id}", rule_id=r, threshold="0.8", window_seconds="7200",
             min_messages="1")
    w.submit(me, "/console/alerts/{rule_id}/delete", "/console/alerts/{rule_id}", rule_id=r,
             confirm="1")
    w.submit(admin, "/console/tenants/{tenant_id}/state", page, tenant_id=t, status="suspended")
    empty = new_id_in(w.submit(admin, "/console/tenants", name="empty"))
    w.submit(admin, "/console/tenants/{tenant_id}/delete", tenant_id=empty)

    routes = {p: r for m, p, r in mutating_routes(client.app)
              if p.startswith("/console") and p not in NOT_CHANGES}
    assert set(w.seen) == set(routes)
    for template, row in w.seen.items():
        assert row["action"] == routes[template].audit, template
        assert row["actor_kind"] == "console-session"
        tenant_page = template.startswith("/console/tenants")
        assert row["actor_id"] == ("admin" if tenant_page else key_id), template
        # The last tenant made (and deleted) by the walk is the empty one.
        last = template in ("/console/tenants", "/console/tenants/{tenant_id}/delete")
        assert row["tenant_id"] == (empty if last else t), template
    assert w.seen["/console/accounts/new"]["target_id"] == a
    assert w.seen["/console/tenants/{tenant_id}/keys/{key_id}/revoke"]["target_id"] == spare
    assert w.seen["/console/endpoints/{endpoint_id}"]["detail"]["fields"] == sorted(
        w.seen["/console/endpoints/{endpoint_id}"]["detail"]["fields"])
    dumped = orjson.dumps(rows(runtime), default=str)
    assert key.encode() not in dumped
    assert b"whsec_" not in dumped
