"""The console in a real browser: the system's Chromium, driven by Playwright, against a
real ``dlrhub serve`` (API, worker and beat on the embedded SQLite and file broker).

Playwright's own browser download is not used: the tests launch the Chromium of the
machine's packages (``apt-get install chromium``; ``.ci/run`` installs it). Without it
they skip, saying so; under ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.processes import DLRHUB, Process, free_port, wait_healthy

ADMIN_TOKEN = "browser-admin-token"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """Return the system's Chromium, if there is one."""
    given = os.environ.get("DLRHUB_CHROMIUM")
    if given:
        return given
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        message = ("no Chromium on this machine (apt-get install chromium, or set "
                   "DLRHUB_CHROMIUM): the console's browser tests need one")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass
class Served:
    """A running ``dlrhub serve`` and where its screenshots go."""

    base_url: str
    process: Process
    shots: Path
    seen: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("console")
    port = free_port()
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("DLRHUB_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env = {**clean, "DLRHUB_DATA_DIR": str(data), "DLRHUB_PORT": str(port),
           "DLRHUB_ADMIN_TOKEN": ADMIN_TOKEN, "DLRHUB_LOG_LEVEL": "WARNING",
           "DLRHUB_SECRET_KEY": "browser-test-secret-key",
           # The endpoint tests' receiver listens on loopback.
           "DLRHUB_ALLOW_PRIVATE_ENDPOINTS": "true"}
    server = Process(["serve"], env, data / "serve.log")
    server.env = env  # nothing of the caller's DLRHUB_* may leak in
    server.start()
    base = f"http://127.0.0.1:{port}"
    shots = Path(os.environ.get("DLRHUB_CONSOLE_SCREENSHOTS") or data / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        wait_healthy(base, server, timeout=60)
        yield Served(base, server, shots)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


def simulated_tenant(api: Any, name: str, *, messages: int, seed: int
                     ) -> tuple[str, str, dict[str, str], dict[str, Any]]:
    """Make a tenant and its key through the admin API, a Tencent account, and post the
    simulator's demo scenario to it; return the tenant's id, the key, its headers and
    the account.

    ``api`` is an httpx client on the served instance.
    """
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    made = api.post("/v1/tenants", json={"name": name}, headers=admin).json()
    key: str = api.post(f"/v1/tenants/{made['id']}/keys", json={"name": "console"},
                        headers=admin).json()["key"]
    me = {"Authorization": f"Bearer {key}"}
    account: dict[str, Any] = api.post(
        "/v1/accounts", json={"provider": "tencent", "name": "Tencent CN"}, headers=me).json()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env["DLRHUB_API_KEY"] = key
    done = subprocess.run(
        [DLRHUB, "simulate", "tencent", "--url", account["callback_url"], "--messages",
         str(messages), "--seed", str(seed), "--scenario", "demo", "--late-share", "0",
         "--batch", "20", "--quiet"], env=env, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    return made["id"], key, me, account
