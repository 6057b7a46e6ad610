"""The README walk-through on the embedded default: `dlrhub serve`, SQLite, file broker."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from dlrhub.models import utcnow
from tests.catalog import cases
from tests.fixtures import sample
from tests.processes import DLRHUB, Process, free_port, post_status_reports, wait_for, wait_healthy

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
        yield {**full, "SERVE_PID": str(server.proc.pid) if server.proc else ""}
    finally:
        server.stop()


def dlrhub(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run([DLRHUB, *args], env=env, capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def receipts(env: dict[str, str], tenant: str) -> list[dict[str, Any]]:
    page: list[dict[str, Any]] = orjson.loads(
        dlrhub(env, "receipt", "list", "--tenant", tenant, "--limit", "500", "--json"))["data"]
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


def _count(env: dict[str, str], sql: str, *args: str) -> Any:
    with sqlite3.connect(Path(env["DLRHUB_DATA_DIR"]) / "dlrhub.sqlite3", timeout=10) as db:
        return db.execute(sql, args).fetchall()


def _receipts_of(env: dict[str, str], tenant: str) -> int:
    count: int = _count(env, "SELECT count(*) FROM receipt WHERE tenant_id = ?",
                        tenant)[0][0]
    return count


def _inbox_states(env: dict[str, str], tenant: str) -> dict[str, int]:
    return dict(_count(env, "SELECT state, count(*) FROM inbound_callback "
                       "WHERE tenant_id = ? GROUP BY state", tenant))


def test_every_sample_becomes_its_receipts_once_even_when_sent_twice(
        served: dict[str, str]) -> None:
    tenant = orjson.loads(dlrhub(served, "tenant", "create", "samples", "--json"))["id"]
    expected = 0
    for case in cases():
        account = orjson.loads(dlrhub(
            served, "account", "create", "--tenant", tenant, "--provider", case.provider,
            "--credentials", orjson.dumps(dict(case.credentials)).decode(), "--json"))
        for _ in range(2):  # the provider retries: the same callback comes twice
            answer = httpx.post(account["callback_url"], content=case.body,
                                headers=case.headers(utcnow()))
            assert answer.status_code == 200, (case.id, answer.text)
        expected += case.records
    wait_for(lambda: _inbox_states(served, tenant).get("pending", 0) == 0
             and _receipts_of(served, tenant) >= expected, 30, f"{expected} receipts")
    assert _receipts_of(served, tenant) == expected
    assert _inbox_states(served, tenant) == {"processed": 2 * len(cases())}


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _kill_worker(serve_pid: int) -> int:
    """SIGKILL the main process of serve's Celery worker, as the OOM killer would."""
    masters = [pid for pid in _children(serve_pid)
               if b"celery" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(masters) == 1, masters
    assert _children(masters[0]), "the worker has no pool processes to leave behind"
    os.kill(masters[0], signal.SIGKILL)
    return masters[0]


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_worker_killed_mid_work_is_started_again_and_loses_nothing(
        served: dict[str, str]) -> None:
    tenant = orjson.loads(dlrhub(served, "tenant", "create", "crash", "--json"))["id"]
    url = orjson.loads(dlrhub(served, "account", "create", "--tenant", tenant,
                              "--provider", "tencent", "--json"))["callback_url"]
    callbacks, batch = 300, 100
    total = callbacks * batch
    # serve would start a stopped worker again, so the callbacks go in while it works,
    # and the kill lands at its first stored receipts, however fast this machine is.
    with ThreadPoolExecutor(1) as poster:
        posted = poster.submit(post_status_reports, url, callbacks, batch)
        wait_for(lambda: _receipts_of(served, tenant) > 0, 60,
                 "the worker to start storing", interval=0.01)
        old = _kill_worker(int(served["SERVE_PID"]))
        stored_at_kill = _receipts_of(served, tenant)
        assert posted.result(timeout=120) == total

    wait_for(lambda: _receipts_of(served, tenant) >= total, 120,
             f"all {total} receipts, with no help")
    assert stored_at_kill < total
    assert _receipts_of(served, tenant) == total
    wait_for(lambda: _inbox_states(served, tenant) == {"processed": callbacks}, 30,
             "every callback processed")
    log = (Path(served["DLRHUB_DATA_DIR"]) / "serve.log").read_text()
    assert f"the worker exited with -{int(signal.SIGKILL)}; starting it again" in log
    # The dead worker's pool and beat went with it: one beat, one set of sweeps.
    wait_for(lambda: _group_gone(old), 10, "the old worker's processes to be gone")
    (new_master,) = [pid for pid in _children(int(served["SERVE_PID"]))
                     if b"celery" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert new_master != old


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
