"""With DLRHUB_LOG_JSON, every line every process of `dlrhub serve` writes is JSON.

`make run` is `dlrhub serve`: the API server and its workers, the Celery worker with
its pool and its beat, and serve itself, all writing to one terminal (here a file).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest

from dlrhub.services.simulate import build_callback
from tests.customer import customer_server
from tests.processes import Process, free_port, wait_for, wait_healthy

pytestmark = [pytest.mark.e2e]

ADMIN_TOKEN = "adm-json-logs-7f3a9c1e5b"
ACCESS_KEY, SECRET_KEY = "ak-json-logs-4d2e", "sk-json-logs-9b8c7a6f5e"


def test_every_line_of_every_process_is_json_with_a_zone_and_no_secret(
        tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("DLRHUB_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env = {**clean, "DLRHUB_DATA_DIR": str(tmp_path / "data"), "DLRHUB_PORT": str(port),
           "DLRHUB_LOG_JSON": "true", "DLRHUB_LOG_LEVEL": "DEBUG",
           "DLRHUB_ADMIN_TOKEN": ADMIN_TOKEN, "DLRHUB_SECRET_KEY": "json-logs-secret-key",
           "DLRHUB_ALLOW_PRIVATE_ENDPOINTS": "true", "DLRHUB_SWEEP_INTERVAL": "1"}
    log = tmp_path / "serve.log"
    server = Process(["serve"], env, log)
    server.env = env  # nothing of the caller's DLRHUB_* may leak in
    secrets = [ADMIN_TOKEN, SECRET_KEY]
    with customer_server() as customer:
        server.start()
        try:
            wait_healthy(base, server, timeout=60)
            with httpx.Client(base_url=base, timeout=10) as client:
                admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
                tenant = client.post("/v1/tenants", json={"name": "logs"}, headers=admin).json()
                key = client.post(f"/v1/tenants/{tenant['id']}/keys", json={},
                                  headers=admin).json()["key"]
                me = {"Authorization": f"Bearer {key}"}
                account = client.post("/v1/accounts", headers=me, json={
                    "provider": "huawei", "name": "h",
                    "credentials": {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY}})
                assert account.status_code == 201, account.text
                url = account.json()["callback_url"]
                endpoint = client.post("/v1/endpoints", json={"url": customer.url},
                                       headers=me)
                assert endpoint.status_code == 201, endpoint.text
                token = url.rsplit("/", 1)[1]
                secrets += [key, token, endpoint.json()["secret"].removeprefix("whsec_")]

                sim = build_callback("huawei", url, seq=0, batch=1, kind="status",
                                     credentials={"access_key": ACCESS_KEY,
                                                  "secret_key": SECRET_KEY})
                sent = httpx.post(url, content=sim.body,
                                  headers={**sim.headers, "Content-Type": sim.content_type})
                assert sent.status_code == 200, sent.text
                # A callback refused (unsigned) and a path no route knows: lines too.
                httpx.post(url, content=sim.body, headers={"Content-Type": sim.content_type})
                client.get("/nowhere")
                wait_for(lambda: len(customer.received) == 1, 30, "the delivery")
                wait_for(lambda: client.get("/v1/deliveries", headers=me).json()["data"][0]
                         ["status"] == "succeeded", 15, "the delivery recorded")
        finally:
            server.stop()

    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert len(lines) > 10
    loggers, ids = set(), set()
    for line in lines:
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            pytest.fail(f"not JSON: {line!r}")
        at = datetime.fromisoformat(doc["time"])
        assert at.utcoffset() == timedelta(0), line
        assert {"level", "logger", "message", "request_id"} <= doc.keys(), line
        loggers.add(doc["logger"].split(".")[0])
        ids |= doc.keys() & {"inbox_id", "delivery_id"}
        for secret in secrets:
            assert secret not in line, f"a secret in {line!r}"
    # The API server's, the worker's and serve's own lines are all among them.
    assert {"uvicorn", "celery", "dlrhub"} <= loggers, loggers
    # The worker's lines name the inbox row it ingested and the delivery it relayed.
    assert ids == {"inbox_id", "delivery_id"}
