"""The functional tests' client: the real app, on the test's runtime."""

from __future__ import annotations

import falcon.testing
import pytest

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.services.accounts import NewAccount
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory


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
