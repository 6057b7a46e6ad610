"""The conformance kit's client: the real app, on the test's runtime."""

from __future__ import annotations

import falcon.testing
import pytest

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.services.runtime import Runtime


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> falcon.testing.TestClient:
    """Return a test client of the real app on the test's database and broker."""
    return falcon.testing.TestClient(create_app(settings, runtime=runtime))
