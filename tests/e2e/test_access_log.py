"""The API's own log at DEBUG (an access line per request) never shows a callback token."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import orjson
import pytest

from dlrhub.models import utcnow
from tests.catalog import cases
from tests.processes import DLRHUB, Process, free_port, wait_healthy

pytestmark = pytest.mark.e2e
TENCENT = next(c for c in cases() if c.id == "tencent-dlr-v2")


def test_the_access_log_masks_the_callback_token(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DLRHUB_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({"DLRHUB_DATA_DIR": str(tmp_path), "DLRHUB_PORT": str(port),
                "DLRHUB_LOG_LEVEL": "DEBUG", "DLRHUB_API_WORKERS": "1"})
    api = Process(["api"], env, tmp_path / "api.log")
    api.env = env  # nothing of the caller's DLRHUB_* may leak into the default
    api.start()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, api, timeout=60)

        def cli(*args: str) -> dict[str, str]:
            done = subprocess.run([DLRHUB, *args, "--json"], env=env, capture_output=True,
                                  timeout=120, check=True)
            doc: dict[str, str] = orjson.loads(done.stdout)
            return doc

        tenant = cli("tenant", "create", "acme")["id"]
        url = cli("account", "create", "--tenant", tenant, "--provider", "tencent")[
            "callback_url"]
        token = url.rsplit("/", 1)[1]
        with httpx.Client(base_url=base, timeout=10) as client:
            path = f"/v1/callbacks/tencent/{token}"
            answers = [
                client.post(path, content=TENCENT.body, headers=TENCENT.headers(utcnow())),
                client.post(path, content=b"[{"),
                client.post(f"{path}?x=1"),
                client.get(path),
                client.post(f"{path}/more"),
            ]
            assert [a.status_code for a in answers] == [200, 400, 400, 405, 404]
            # Nor does any answer, in the provider's form or as a problem document.
            assert all(token not in a.text for a in answers)
    finally:
        api.stop()
    log = (tmp_path / "api.log").read_text(errors="replace")
    assert "/v1/callbacks/tencent/***" in log, log[-2000:]  # the access lines were written
    assert token not in log
