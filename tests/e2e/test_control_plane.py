"""The README's API walk-through against the real server, on PostgreSQL and Redis.

An admin creates a tenant and a key; the tenant creates an account for
every provider, a simulated callback for each becomes receipts it can list and
filter; another tenant sees none of it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.simulate import simulate
from tests.e2e.conftest import ADMIN_TOKEN, Stack
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

CREDENTIALS: dict[str, dict[str, str]] = {
    "netease": {"app_key": "demo-key", "app_secret": "demo-secret"},
    "nxcloud": {"access_key": "demo-ak", "access_secret": "demo-secret"},
    "huawei": {"access_key": "demo-ak", "secret_key": "demo-sk"},
    "chuanglan": {"account": "demo-account", "password": "demo-pswd"},
    "montnets": {"userid": "demo-userid", "password": "demo-password"},
    "baidu": {"token": "demo-baidu-token"},
    "twilio": {"auth_token": "demo-twilio-token"},
    "plivo": {"auth_token": "demo-plivo-token"},
    # The simulator signs Telnyx with RFC 8032's test seed: its public key.
    "telnyx": {"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
    "vonage": {"signature_secret": "demo-vonage-secret", "signature_method": "md5hash"},
    "vonage_messages": {"signature_secret": "demo-vonage-messages-secret"},
    "bird": {"signing_key": "demo-bird-signing-key"},
    "infobip": {"username": "demo-infobip-user", "password": "demo-infobip-password"},
}


def tenant_with_key(api: httpx.Client, name: str) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    tenant = api.post("/v1/tenants", json={"name": name}, headers=admin)
    assert tenant.status_code == 201, tenant.text
    key = api.post(f"/v1/tenants/{tenant.json()['id']}/keys", json={"name": "walkthrough"},
                   headers=admin)
    assert key.status_code == 201, key.text
    return {"Authorization": f"Bearer {key.json()['key']}"}

# Simulated with a certificate that exists only in the simulating process (AWS SNS):
# the server, another process, refuses them (401) without fetching anything.
SIGNED_IN_PROCESS = {"aws_sns"}


def test_walkthrough_for_every_provider(stack: Stack, accounts: Any) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as api:
        me = tenant_with_key(api, "acme")
        other = tenant_with_key(api, "globex")
        expected = 0
        for provider in sorted(PROVIDERS):
            body: dict[str, Any] = {"provider": provider, "name": f"{provider} main"}
            if provider in CREDENTIALS:
                body["credentials"] = CREDENTIALS[provider]
            created = api.post("/v1/accounts", json=body, headers=me)
            assert created.status_code == 201, created.text
            account = created.json()
            assert account["callback_url"].startswith(
                f"{stack.base_url}/v1/callbacks/{provider}/")
            for secret in CREDENTIALS.get(provider, {}).values():
                assert secret not in created.text

            report = simulate(provider, account["callback_url"], count=2, batch=3,
                              credentials=CREDENTIALS.get(provider, {}))
            if provider in SIGNED_IN_PROCESS:
                assert (report.accepted, report.rejected) == (0, 2), provider
                continue
            assert (report.accepted, report.rejected) == (2, 0), provider
            expected += report.records

        wait_for(lambda: stack.settled() and stack.receipts() == expected, 30,
                 f"{expected} receipts")

        listed: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 10, **({"after": cursor} if cursor else {})}
            page = api.get("/v1/receipts", params=params, headers=me).json()
            listed += page["data"]
            cursor = page["next"]
            if cursor is None:
                break
        assert len(listed) == len({e["id"] for e in listed}) == expected
        assert {e["provider"] for e in listed} == set(PROVIDERS) - SIGNED_IN_PROCESS

        netease = api.get("/v1/receipts", params={"provider": "netease"}, headers=me).json()
        assert netease["data"]
        assert {e["provider"] for e in netease["data"]} == {"netease"}
        one = netease["data"][0]
        assert api.get(f"/v1/receipts/{one['id']}", headers=me).json() == one
        timeline = api.get(f"/v1/messages/{one['message_id']}", headers=me).json()
        assert one["id"] in [e["id"] for r in timeline["recipients"] for e in r["events"]]
        stats = api.get("/v1/stats", headers=me).json()
        assert stats["total"] == expected
        assert sum(stats["by_provider"].values()) == expected

        # the other tenant sees none of it, and cannot reach it by id
        assert api.get("/v1/receipts", headers=other).json()["data"] == []
        assert api.get(f"/v1/receipts/{one['id']}", headers=other).status_code == 404
        assert api.get(f"/v1/accounts/{one['account_id']}", headers=other).status_code == 404
        assert api.get("/v1/stats", headers=other).json()["total"] == 0


def test_credentials_and_errors_through_the_real_server(stack: Stack, accounts: Any) -> None:
    with httpx.Client(base_url=stack.base_url, timeout=10) as api:
        assert api.get("/v1/receipts").status_code == 401
        assert api.get("/v1/receipts",
                       headers={"Authorization": "Bearer dlrhub_sk_nope"}).status_code == 401
        me = tenant_with_key(api, "initech")
        bad = api.post("/v1/accounts", json={"provider": "netease", "name": "x",
                                             "credentials": {"app_key": "k"}}, headers=me)
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["field"] == "credentials.app_secret"
        assert api.post("/v1/accounts", content=b"provider=x", headers={
            **me, "Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
        assert api.delete("/v1/receipts", headers=me).status_code == 405
        spec = api.get("/openapi.json").json()
        assert spec["openapi"] == "3.1.0"
        assert "/v1/accounts/{account_id}/rotate-token" in spec["paths"]
