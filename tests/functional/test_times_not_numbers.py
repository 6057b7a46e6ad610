"""A time the API takes, in a query or a body, is ISO 8601 with a zone, never a number.

pydantic alone reads `0.5` or `0` as seconds since 1970: `until=0.5` listed nothing
instead of saying why, and `replay {"since": 0}` replayed every event ever stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import falcon.testing
import pytest

from dlrhub.config import Settings
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory
from tests.functional.test_receipts_api import key_for


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Endpoints on this machine may be registered (none is ever called here)."""
    return settings.model_copy(update={"allow_private_endpoints": True})


@pytest.fixture
def tenant(client: falcon.testing.TestClient, runtime: Runtime) -> dict[str, Any]:
    new = AccountFactory(provider="tencent")
    headers = key_for(runtime, new.account.tenant_id)
    endpoint = client.simulate_post("/v1/endpoints", headers=headers,
                                    json={"url": "http://127.0.0.1:9/dlr"})
    assert endpoint.status_code == 201, endpoint.text
    return {"headers": headers, "account_id": new.account.id,
            "endpoint_id": endpoint.json["id"]}


def _refused(result: falcon.testing.Result, field: str) -> None:
    assert result.status_code == 422, result.text
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json["field"] == field
    assert "not a number" in result.json["detail"]


@pytest.mark.parametrize("path", ["/v1/receipts", "/v1/receipts/export", "/v1/stats",
                                  "/v1/analytics/delivery"])
@pytest.mark.parametrize("value", ["0.5", "0", "1700000000", "-1", "1e9"])
def test_a_number_in_a_time_filter_is_refused(client: falcon.testing.TestClient,
                                              tenant: dict[str, Any], path: str,
                                              value: str) -> None:
    _refused(client.simulate_get(path, params={"until": value}, headers=tenant["headers"]),
             "until")


@pytest.mark.parametrize("since", [0, 1700000000, 0.5, "0"])
def test_a_replay_from_a_number_is_refused(client: falcon.testing.TestClient,
                                           tenant: dict[str, Any], since: Any) -> None:
    result = client.simulate_post(f"/v1/endpoints/{tenant['endpoint_id']}/replay",
                                  json={"since": since}, headers=tenant["headers"])
    _refused(result, "since")


def test_an_expectation_sent_at_a_number_is_refused(client: falcon.testing.TestClient,
                                                    tenant: dict[str, Any]) -> None:
    result = client.simulate_post("/v1/expectations", headers=tenant["headers"], json={
        "account_id": tenant["account_id"], "message_id": "m-1", "sent_at": 1700000000})
    assert result.status_code == 422, result.text
    assert "sent_at" in result.json["field"]


def test_a_time_with_a_zone_still_passes(client: falcon.testing.TestClient,
                                         tenant: dict[str, Any]) -> None:
    result = client.simulate_get("/v1/receipts", headers=tenant["headers"],
                                 params={"until": "2026-01-31T00:00:00+08:00"})
    assert result.status_code == 200, result.text


def test_a_replay_from_before_the_retention_period_is_refused_naming_the_bound(
        client: falcon.testing.TestClient, tenant: dict[str, Any]) -> None:
    path = f"/v1/endpoints/{tenant['endpoint_id']}/replay"
    old = client.simulate_post(path, json={"since": "2020-01-01T00:00:00Z"},
                               headers=tenant["headers"])
    assert old.status_code == 422, old.text
    assert old.json["field"] == "since"
    assert "retention period" in old.json["detail"]
    # Inside the default 180 days: planned (nothing to send here, but not refused).
    since = (datetime.now(UTC) - timedelta(days=179)).isoformat()
    recent = client.simulate_post(path, json={"since": since}, headers=tenant["headers"])
    assert recent.status_code == 202, recent.text
