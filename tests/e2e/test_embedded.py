"""The README walk-through on the embedded default: `dlrhub serve`, SQLite, file broker."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.fixtures import sample
from tests.processes import DLRHUB, Process, free_port, wait_for, wait_healthy

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data = tmp_path_factory.mktemp("embedded")
    port = free_port()
    env = {"DLRHUB_DATA_DIR": str(data), "DLRHUB_PORT": str(port),
           "DLRHUB_SWEEP_INTERVAL": "1", "DLRHUB_SWEEP_GRACE": "3",
           "DLRHUB_LOG_LEVEL": "WARNING", "DLRHUB_DATABASE_URL": "", "DLRHUB_BROKER_URL": ""}
    env = {k: v for k, v in env.items() if v}
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("DLRHUB_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    full = {**clean, **env}
    server = Process(["serve"], full, data / "serve.log")
    server.env = full  # nothing of the caller's DLRHUB_* may leak into the default
    server.start()
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server, timeout=60)
        yield full
    finally:
        server.stop()


def dlrhub(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run([DLRHUB, *args], env=env, capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def receipts(env: dict[str, str], tenant: str) -> list[dict[str, Any]]:
    page: list[dict[str, Any]] = orjson.loads(
        dlrhub(env, "receipt", "list", "--tenant", tenant, "--limit", "500"))["data"]
    return page


def test_walkthrough_from_tenant_to_stored_receipts(served: dict[str, str]) -> None:
    tenant = orjson.loads(dlrhub(served, "tenant", "create", "acme", "--json"))["id"]
    account = orjson.loads(dlrhub(served, "account", "create", "--tenant", tenant,
                                  "--provider", "tencent", "--json"))
    url = account["callback_url"]
    assert url.startswith(f"http://127.0.0.1:{served['DLRHUB_PORT']}/v1/callbacks/tencent/")

    summary = dlrhub(served, "simulate", "tencent", "--url", url, "--count", "5",
                     "--batch", "10", "--quiet")

    assert "sent 5, accepted 5, rejected 0" in summary
    wait_for(lambda: len(receipts(served, tenant)) == 50, 30, "50 receipts")
    events = receipts(served, tenant)
    assert {e["status"] for e in events} == {"delivered", "failed"}
    assert all(e["phone"].startswith("+86") for e in events)


def test_a_sample_sent_twice_is_one_receipt(served: dict[str, str]) -> None:
    tenant = orjson.loads(dlrhub(served, "tenant", "create", "solo", "--json"))["id"]
    account = orjson.loads(dlrhub(served, "account", "create", "--tenant", tenant,
                                  "--provider", "ucloud", "--json"))
    for _ in range(2):
        answer = httpx.post(account["callback_url"], content=sample("ucloud_dlr.json"),
                            headers={"Content-Type": "application/json"})
        assert answer.json() == {"code": 0, "message": "ok"}
    wait_for(lambda: len(receipts(served, tenant)) == 2, 30, "2 receipts")
    metrics = httpx.get(f"http://127.0.0.1:{served['DLRHUB_PORT']}/metrics").text
    wait_for(lambda: 'dlrhub_receipts_total{provider="ucloud"' in httpx.get(
        f"http://127.0.0.1:{served['DLRHUB_PORT']}/metrics").text, 10, "worker counters")
    assert 'dlrhub_callbacks_total{outcome="accepted",provider="ucloud"} 2.0' in metrics
    assert len(receipts(served, tenant)) == 2


def test_serve_makes_an_admin_token_once_and_the_admin_api_takes_it(
        served: dict[str, str]) -> None:
    token_file = Path(served["DLRHUB_DATA_DIR"]) / "admin-token"
    token = token_file.read_text().strip()
    assert len(token) >= 24
    assert token_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    base = f"http://127.0.0.1:{served['DLRHUB_PORT']}"
    created = httpx.post(f"{base}/v1/tenants", json={"name": "via-api"},
                         headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201
    assert httpx.post(f"{base}/v1/tenants", json={"name": "x"}).status_code == 401
