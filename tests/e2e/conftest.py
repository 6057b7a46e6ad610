"""The PostgreSQL + Redis stack the end-to-end tests share: the real API server, real Celery."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select, text

from dlrhub.config import Settings
from dlrhub.models import InboundCallback, Receipt, make_engine
from dlrhub.services.runtime import Runtime
from tests.conftest import truncate
from tests.customer import Customer, customer_server
from tests.factories import bind_session
from tests.processes import Process, free_port, wait_healthy

SECRET = "e2e-secret-key"
ADMIN_TOKEN = "e2e-admin-token"


@dataclass
class Stack:
    """A running API and worker, and how to reach their database."""

    base_url: str
    engine: Engine
    api: Process
    worker: Process

    def receipts(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Receipt)).scalar_one()

    def states(self) -> dict[str, int]:
        table = InboundCallback.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c.state, func.count()).group_by(table.c.state))
            return dict(rows.all())

    def settled(self) -> bool:
        return self.states().get("pending", 0) == 0


# Stopped after the last end-to-end test: a worker left sweeping the test database
# would take the inbox rows that later tests write for themselves.
@pytest.fixture(scope="package")
def stack(pg_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("e2e")
    port = free_port()
    env = {
        "DLRHUB_DATABASE_URL": pg_url, "DLRHUB_BROKER_URL": redis_url,
        "DLRHUB_DATA_DIR": str(data), "DLRHUB_SECRET_KEY": SECRET,
        "DLRHUB_ADMIN_TOKEN": ADMIN_TOKEN, "DLRHUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "DLRHUB_ALLOW_PRIVATE_ENDPOINTS": "true",  # the customer server is on loopback
        "DLRHUB_SWEEP_INTERVAL": "1", "DLRHUB_SWEEP_GRACE": "3",
        # Short enough for a test to see a circuit close and a lease run out.
        "DLRHUB_CIRCUIT_COOLDOWN": "1", "DLRHUB_RELAY_LEASE_SLACK": "3",
        "DLRHUB_API_WORKERS": "1", "DLRHUB_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(data / "metrics"),
    }
    (data / "metrics").mkdir()
    api = Process(["api", "--port", str(port)], env, data / "api.log").start()
    worker = Process(["worker", "--beat", "--concurrency", "2"], env,
                     data / "worker.log").start()
    base = f"http://127.0.0.1:{port}"
    engine = make_engine(pg_url)
    try:
        wait_healthy(base, api)
        yield Stack(base, engine, api, worker)
    finally:
        api.stop()
        worker.stop()
        engine.dispose()


@pytest.fixture
def accounts(stack: Stack, pg_url: str) -> Iterator[Runtime]:
    """Empty the tables and let the factories create accounts the stack can decrypt."""
    truncate(stack.engine)
    rt = Runtime.build(Settings(database_url=pg_url, secret_key=SECRET))
    with rt.sessions() as session:
        bind_session(session, rt.box, commit=True)
        yield rt
    # Leave the worker idle for whatever runs next: a test's endpoint that is still
    # failing would otherwise keep it probing and retrying.
    with stack.engine.begin() as conn:
        conn.execute(text("UPDATE endpoint SET enabled = false"))
    rt.close()


@pytest.fixture
def customer() -> Iterator[Customer]:
    """A real HTTP server on loopback standing in for the customer's endpoint."""
    with customer_server() as server:
        yield server


@pytest.fixture
def api(stack: Stack, accounts: Any) -> Iterator[tuple[httpx.Client, dict[str, str], str]]:
    """A client, a tenant's key headers, and the callback URL of its Tencent account."""
    with httpx.Client(base_url=stack.base_url, timeout=10) as client:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        tenant = client.post("/v1/tenants", json={"name": "relay"}, headers=admin).json()
        key = client.post(f"/v1/tenants/{tenant['id']}/keys", json={}, headers=admin).json()
        me = {"Authorization": f"Bearer {key['key']}"}
        account = client.post("/v1/accounts", json={"provider": "tencent", "name": "t"},
                              headers=me).json()
        yield client, me, account["callback_url"]
