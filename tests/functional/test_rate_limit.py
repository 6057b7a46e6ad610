"""The tenant API's per-key rate limit: 429 with Retry-After; callbacks never limited."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.factories import AccountFactory
from tests.functional.test_receipts_api import key_for

ADMIN = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
def limited(settings: Settings, runtime: Runtime) -> falcon.testing.TestClient:
    """The app with a burst of 3 per key, then one request per 100 s (embedded limiter).

    So slow a rate that no test, however slow the machine, earns a request back.
    """
    tight = settings.model_copy(update={"api_rate_limit": 0.01,
                                        "api_rate_burst_seconds": 300})
    return falcon.testing.TestClient(create_app(tight, runtime=runtime))


def _burst(client: falcon.testing.TestClient, headers: dict[str, str],
           count: int) -> list[falcon.testing.Result]:
    return [client.simulate_get("/v1/receipts", headers=headers) for _ in range(count)]


def test_a_key_over_its_burst_gets_429_with_when_to_retry(
        limited: falcon.testing.TestClient, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    results = _burst(limited, key_for(runtime, new.account.tenant_id), 5)
    assert [r.status_code for r in results] == [200, 200, 200, 429, 429]
    refused = results[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json["type"] == "urn:dlrhub:problem:too-many-requests"
    assert "0.01 requests a second" in refused.json["detail"]
    assert 99 <= int(refused.headers["retry-after"]) <= 100


def test_each_key_has_its_own_limit(limited: falcon.testing.TestClient,
                                    runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    first = key_for(runtime, new.account.tenant_id)
    second = key_for(runtime, new.account.tenant_id)
    assert _burst(limited, first, 4)[-1].status_code == 429
    assert [r.status_code for r in _burst(limited, second, 3)] == [200, 200, 200]


def test_callbacks_are_never_limited(limited: falcon.testing.TestClient) -> None:
    new = AccountFactory(provider="tencent")
    for seq in range(10):
        made = build_callback("tencent", "http://testserver/cb", seq=seq, batch=1,
                              kind="status", credentials={})
        result = limited.simulate_post(f"/v1/callbacks/tencent/{new.token}", body=made.body,
                                       headers={"Content-Type": made.content_type})
        assert result.status_code == 200, result.text


def test_the_admin_gives_a_tenant_its_own_limit_and_takes_it_back(
        limited: falcon.testing.TestClient, runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    tenant_id = new.account.tenant_id
    path = f"/v1/tenants/{tenant_id}"
    raised = limited.simulate_patch(path, json={"api_rate_limit": 1000}, headers=ADMIN)
    assert raised.status_code == 200, raised.text
    assert raised.json["api_rate_limit"] == 1000
    headers = key_for(runtime, tenant_id)
    # 1000 a second: 20 at once pass.
    assert {r.status_code for r in _burst(limited, headers, 20)} == {200}
    renamed = limited.simulate_patch(path, json={"name": "renamed"}, headers=ADMIN)
    assert renamed.json["api_rate_limit"] == 1000  # absent: kept
    back = limited.simulate_patch(path, json={"api_rate_limit": None}, headers=ADMIN)
    assert back.json["api_rate_limit"] is None
    other = key_for(runtime, tenant_id)
    assert _burst(limited, other, 4)[-1].status_code == 429


@pytest.mark.parametrize("value", [0, -1, "fast", 1e9])
def test_a_bad_limit_is_422_naming_the_field(limited: falcon.testing.TestClient,
                                             value: Any) -> None:
    new = AccountFactory(provider="tencent")
    result = limited.simulate_patch(f"/v1/tenants/{new.account.tenant_id}",
                                    json={"api_rate_limit": value}, headers=ADMIN)
    assert result.status_code == 422, result.text
    assert result.json["field"] == "api_rate_limit"


def test_the_admin_is_not_limited(limited: falcon.testing.TestClient) -> None:
    results = [limited.simulate_get("/v1/tenants", headers=ADMIN) for _ in range(10)]
    assert {r.status_code for r in results} == {200}
