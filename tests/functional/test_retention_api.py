"""Retention periods: the admin sets a tenant's, ``GET /v1/tenant`` shows the effective ones."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.services.accounts import NewAccount
from dlrhub.services.runtime import Runtime

ADMIN = {"Authorization": "Bearer test-admin-token"}
DEFAULTS = {"inbox": 30, "receipts": 180, "deliveries": 30, "expectations": 90}


def own(client: falcon.testing.TestClient, me: dict[str, str]) -> dict[str, Any]:
    result = client.simulate_get("/v1/tenant", headers=me)
    assert result.status_code == 200, result.text
    doc: dict[str, Any] = result.json
    return doc


def test_a_new_tenant_sees_the_system_defaults(client: falcon.testing.TestClient,
                                               tx: NewAccount, me: dict[str, str]) -> None:
    doc = own(client, me)
    assert doc["id"] == tx.account.tenant_id
    assert doc["retention"] == {kind: {"days": days, "default": True}
                                for kind, days in DEFAULTS.items()}


def test_the_admin_sets_a_period_and_null_sets_it_back(client: falcon.testing.TestClient,
                                                       tx: NewAccount,
                                                       me: dict[str, str]) -> None:
    path = f"/v1/tenants/{tx.account.tenant_id}"
    set_ = client.simulate_patch(path, json={"retain_receipts_days": 365,
                                             "retain_inbox_days": 7}, headers=ADMIN)
    assert set_.status_code == 200, set_.text
    assert (set_.json["retain_receipts_days"], set_.json["retain_inbox_days"],
            set_.json["retain_deliveries_days"]) == (365, 7, None)
    retention = own(client, me)["retention"]
    assert retention["receipts"] == {"days": 365, "default": False}
    assert retention["inbox"] == {"days": 7, "default": False}
    assert retention["deliveries"] == {"days": 30, "default": True}

    # A field left out stays; null goes back to the default.
    renamed = client.simulate_patch(path, json={"name": "renamed"}, headers=ADMIN)
    assert renamed.json["retain_receipts_days"] == 365
    reset = client.simulate_patch(path, json={"retain_receipts_days": None}, headers=ADMIN)
    assert (reset.json["retain_receipts_days"], reset.json["retain_inbox_days"]) == (None, 7)
    assert own(client, me)["retention"]["receipts"] == {"days": 180, "default": True}


def test_the_defaults_come_from_the_settings(settings: Settings, runtime: Runtime,
                                             tx: NewAccount, me: dict[str, str]) -> None:
    app = create_app(settings.model_copy(update={"retain_inbox_days": 3}), runtime=runtime)
    doc = own(falcon.testing.TestClient(app), me)
    assert doc["retention"]["inbox"] == {"days": 3, "default": True}


@pytest.mark.parametrize("bad", [0, 3651, -1, 1.5, 30.0, "30", True, [30]])
def test_a_period_that_is_not_whole_days_in_range_is_refused(
        client: falcon.testing.TestClient, tx: NewAccount, bad: Any) -> None:
    path = f"/v1/tenants/{tx.account.tenant_id}"
    result = client.simulate_patch(path, json={"retain_expectations_days": bad},
                                   headers=ADMIN)
    assert result.status_code == 422, result.text
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json["field"] == "retain_expectations_days"
    unchanged = client.simulate_get(path, headers=ADMIN).json
    assert unchanged["retain_expectations_days"] is None


def test_an_unknown_period_is_refused(client: falcon.testing.TestClient,
                                      tx: NewAccount) -> None:
    result = client.simulate_patch(f"/v1/tenants/{tx.account.tenant_id}",
                                   json={"retain_logs_days": 5}, headers=ADMIN)
    assert result.status_code == 422
    assert result.json["type"] == "urn:dlrhub:problem:validation"


def test_only_a_tenant_key_reads_its_tenant(client: falcon.testing.TestClient) -> None:
    anonymous = client.simulate_get("/v1/tenant")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    # The admin has no tenant of its own: it reads tenants by id.
    assert client.simulate_get("/v1/tenant", headers=ADMIN).status_code == 401


def test_the_openapi_document_describes_the_route(client: falcon.testing.TestClient) -> None:
    spec = client.simulate_get("/openapi.json").json
    get = spec["paths"]["/v1/tenant"]["get"]
    assert "200" in get["responses"]
    patch = spec["paths"]["/v1/tenants/{tenant_id}"]["patch"]
    assert "retain" in patch["description"]
