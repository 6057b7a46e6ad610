"""Behind a proxy: the client address an IP allow-list checks is the proxy's word only
when the proxy is named (``DLRHUB_FORWARDED_ALLOW_IPS``), as docs/scaling.md deploys it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from dlrhub.models import InboundCallback, make_engine
from tests.catalog import cases
from tests.conftest import truncate
from tests.processes import Process, free_port, wait_healthy

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": "Bearer forwarded-admin"}
PROVIDER_NET = "203.0.113.0/24"


def _serve(tmp: Path, sqlite_db: str, trusted: str | None) -> Iterator[tuple[str, str]]:
    """Run ``dlrhub api`` with an account that only admits PROVIDER_NET; yield its
    base URL and the account's callback URL."""
    port = free_port()
    env = {"DLRHUB_DATABASE_URL": sqlite_db, "DLRHUB_DATA_DIR": str(tmp),
           "DLRHUB_SECRET_KEY": "forwarded-secret",
           "DLRHUB_ADMIN_TOKEN": ADMIN["Authorization"][7:],
           "DLRHUB_PUBLIC_URL": f"http://127.0.0.1:{port}", "DLRHUB_LOG_LEVEL": "WARNING",
           "DLRHUB_API_WORKERS": "1", "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics")}
    if trusted is not None:
        env["DLRHUB_FORWARDED_ALLOW_IPS"] = trusted
    (tmp / "metrics").mkdir()
    api = Process(["api", "--port", str(port)], env, tmp / "api.log").start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, api, timeout=60)
        with httpx.Client(base_url=base, timeout=10) as client:
            tenant = client.post("/v1/tenants", json={"name": "fwd"}, headers=ADMIN).json()
            key = client.post(f"/v1/tenants/{tenant['id']}/keys", json={},
                              headers=ADMIN).json()["key"]
            account = client.post("/v1/accounts", headers={"Authorization": f"Bearer {key}"},
                                  json={"provider": "tencent", "name": "fwd",
                                        "ip_allowlist": [PROVIDER_NET]}).json()
        yield base, account["callback_url"]
    finally:
        api.stop()


@pytest.fixture
def sqlite_db(sqlite_url: str) -> str:
    engine = make_engine(sqlite_url)
    truncate(engine)
    engine.dispose()
    return sqlite_url


def _post(url: str, forwarded_for: str) -> httpx.Response:
    case = next(c for c in cases() if c.id == "tencent-dlr-v2")
    headers = {**case.headers(datetime.now(UTC)), "X-Forwarded-For": forwarded_for}
    return httpx.post(url, content=case.body, headers=headers, timeout=10)


def _addresses(sqlite_db: str) -> list[tuple[str, str]]:
    engine = make_engine(sqlite_db)
    table = InboundCallback.__table__  # type: ignore[attr-defined]
    try:
        with engine.connect() as conn:
            return [(r.state, r.remote_addr) for r in conn.execute(
                select(table.c.state, table.c.remote_addr).order_by(table.c.received_at))]
    finally:
        engine.dispose()


def test_a_named_proxy_s_forwarded_address_is_the_one_the_allow_list_checks(
        tmp_path: Path, sqlite_db: str) -> None:
    for _base, url in _serve(tmp_path, sqlite_db, "127.0.0.1"):
        inside = _post(url, "203.0.113.7")
        outside = _post(url, "198.51.100.1")
        assert inside.status_code == 200, inside.text
        assert outside.status_code == 403, outside.text
    states = _addresses(sqlite_db)
    assert ("rejected", "198.51.100.1") in states
    assert [a for s, a in states if s != "rejected"] == ["203.0.113.7"]


def test_without_a_named_proxy_a_forwarded_header_is_ignored(
        tmp_path: Path, sqlite_db: str) -> None:
    for _base, url in _serve(tmp_path, sqlite_db, None):
        # The socket's peer is 127.0.0.1, outside the list, whatever the header claims.
        spoofed = _post(url, "203.0.113.7")
        assert spoofed.status_code == 403, spoofed.text
    assert all(addr == "127.0.0.1" for _state, addr in _addresses(sqlite_db))
