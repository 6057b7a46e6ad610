"""The functional tests' client: the real app, on the test's runtime."""

from __future__ import annotations

from typing import Any

import falcon.testing
import pytest

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.services.accounts import NewAccount
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory
from tests.functional.console_fixtures import Browser, tenant_key


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> falcon.testing.TestClient:
    """Return a test client of the real app on the test's database and broker."""
    return falcon.testing.TestClient(create_app(settings, runtime=runtime))


@pytest.fixture
def tx(runtime: Runtime) -> NewAccount:
    """Return a Tencent account of a new tenant."""
    new: NewAccount = AccountFactory(provider="tencent")
    return new


@pytest.fixture
def me(runtime: Runtime, tx: NewAccount) -> dict[str, str]:
    """Return the Authorization header of an API key of ``tx``'s tenant."""
    from tests.functional.test_receipts_api import key_for

    return key_for(runtime, tx.account.tenant_id)


# --- the console ---


@pytest.fixture
def console_tenant(runtime: Runtime) -> dict[str, Any]:
    """A tenant with a Tencent account and a key, for the console's tests."""
    new = AccountFactory(provider="tencent")
    key, key_id = tenant_key(runtime, new.account.tenant_id)
    return {"account": new.account, "token": new.token, "key": key, "key_id": key_id,
            "tenant_id": new.account.tenant_id}


@pytest.fixture
def signed_in(client: falcon.testing.TestClient, console_tenant: dict[str, Any]) -> Browser:
    """A browser signed in to the console with ``console_tenant``'s key."""
    browser = Browser(client)
    assert browser.sign_in(console_tenant["key"]).status_code == 303
    return browser


@pytest.fixture
def stranger(client: falcon.testing.TestClient, runtime: Runtime) -> Browser:
    """Another tenant, signed in to the console."""
    other = AccountFactory(provider="tencent")
    key, _ = tenant_key(runtime, other.account.tenant_id)
    browser = Browser(client)
    assert browser.sign_in(key).status_code == 303
    return browser
