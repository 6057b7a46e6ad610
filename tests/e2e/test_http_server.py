"""The real API server under hostile HTTP: slow clients, chunked bodies, odd headers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import Engine, func, select

from dlrhub.models import InboundCallback, make_engine, utcnow
from tests.catalog import NETEASE_CREDS, Case, cases
from tests.conftest import truncate
from tests.processes import Process, free_port, wait_healthy

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": "Bearer http-admin-token"}
MAX_BODY = 64 * 1024
# Short, so that the test sees the server close the slow connections itself.
HEADER_TIMEOUT = 2
BODY_TIMEOUT = 2


@dataclass
class Server:
    """A running ``dlrhub api`` and the callback URLs of its accounts."""

    base: str
    port: int
    engine: Engine
    urls: dict[str, str]
    process: Process

    def stored(self, provider: str) -> int:
        """Return how many callbacks of the provider's account the inbox keeps to ingest."""
        table = InboundCallback.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(
                table.c.provider == provider, table.c.state != "rejected")).scalar_one()


def _case(name: str) -> Case:
    return next(c for c in cases() if c.id == name)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                                 marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    """Start ``dlrhub api`` (2 processes) on SQLite or PostgreSQL, with two accounts."""
    db_url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite"
                                          else "pg_url")
    data: Path = tmp_path_factory.mktemp("http")
    port = free_port()
    env = {
        "DLRHUB_DATABASE_URL": db_url, "DLRHUB_DATA_DIR": str(data),
        "DLRHUB_SECRET_KEY": "http-secret", "DLRHUB_ADMIN_TOKEN": ADMIN["Authorization"][7:],
        "DLRHUB_PUBLIC_URL": f"http://127.0.0.1:{port}", "DLRHUB_LOG_LEVEL": "WARNING",
        "DLRHUB_API_WORKERS": "2", "DLRHUB_MAX_BODY_BYTES": str(MAX_BODY),
        "DLRHUB_HEADER_TIMEOUT": str(HEADER_TIMEOUT), "DLRHUB_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "PROMETHEUS_MULTIPROC_DIR": str(data / "metrics"),
    }
    if request.param == "postgres":
        env["DLRHUB_BROKER_URL"] = request.getfixturevalue("redis_url")
    (data / "metrics").mkdir()
    engine = make_engine(db_url)
    truncate(engine)
    api = Process(["api", "--port", str(port)], env, data / "api.log").start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, api, timeout=60)
        with httpx.Client(base_url=base, timeout=10) as client:
            tenant = client.post("/v1/tenants", json={"name": "http"}, headers=ADMIN).json()
            key = client.post(f"/v1/tenants/{tenant['id']}/keys", json={},
                              headers=ADMIN).json()
            me = {"Authorization": f"Bearer {key['key']}"}
            urls = {}
            for provider, creds in (("tencent", None), ("netease", NETEASE_CREDS)):
                account = client.post("/v1/accounts", headers=me, json={
                    "provider": provider, "name": provider, "credentials": creds}).json()
                urls[provider] = account["callback_url"]
        yield Server(base, port, engine, urls, api)
    finally:
        api.stop()
        engine.dispose()


def _chunks(body: bytes, size: int = 100) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i:i + size]


# --- slow clients ------------------------------------------------------------------------

async def _slow_client(port: int, path: str, kind: str, stop: asyncio.Event) -> bytes:
    """Hold one slow connection until the server closes it; return what it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\n").encode()
    if kind == "headers":      # the headers, one byte every 0.2 s
        pending = head + b"X-Slow: " + b"a" * 400
    elif kind == "body":       # whole headers, then a body that never completes
        writer.write(head + b"Content-Length: 1000\r\n\r\n")
        pending = b"[" + b" " * 998
    else:                      # "silent": connects and says nothing
        pending = b""

    async def trickle() -> None:
        for i in range(len(pending)):
            if stop.is_set() or writer.is_closing():
                return
            writer.write(pending[i:i + 1])
            await asyncio.sleep(0.2)

    sender = asyncio.create_task(trickle())
    try:
        # EOF (b"" or a last answer) means the server closed the connection.
        return await asyncio.wait_for(reader.read(), timeout=30)
    except ConnectionResetError:  # closed while a trickled byte was on its way
        return b"<reset>"
    except TimeoutError:
        return b"<still open>"
    finally:
        sender.cancel()
        writer.close()


async def _slow_scenario(server: Server, per_kind: int) -> tuple[dict[str, list[bytes]], int]:
    """Hold ``per_kind`` slow connections of each kind while a callback is posted."""
    path = httpx.URL(server.urls["tencent"]).path
    stop = asyncio.Event()
    kinds = ("headers", "body", "silent")
    tasks = {kind: [asyncio.create_task(_slow_client(server.port, path, kind, stop))
                    for _ in range(per_kind)] for kind in kinds}
    await asyncio.sleep(1.0)  # all connected and trickling
    case = _case("tencent-dlr-v2")
    async with httpx.AsyncClient(timeout=15) as client:
        answer = await client.post(server.urls["tencent"], content=case.body,
                                   headers=case.headers(utcnow()))
    results = {kind: list(await asyncio.gather(*ts)) for kind, ts in tasks.items()}
    stop.set()
    return results, answer.status_code


def test_a_callback_is_answered_while_hundreds_of_slow_clients_hold_connections(
        server: Server) -> None:
    before = server.stored("tencent")
    results, status = asyncio.run(_slow_scenario(server, per_kind=100))

    assert status == 200
    assert server.stored("tencent") == before + 1
    # Every slow connection was closed by the server's timeouts, not left open: the
    # trickling ones with a 408 (unless a byte sent meanwhile made the close a reset),
    # the silent ones without a word.
    for kind in ("headers", "body"):
        assert all(r.startswith(b"HTTP/1.1 408") or r == b"<reset>"
                   for r in results[kind]), {r[:40] for r in results[kind]}
        assert any(r.startswith(b"HTTP/1.1 408") for r in results[kind])
    assert set(results["silent"]) <= {b"", b"<reset>"}


# --- chunked bodies ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tencent-dlr-v2", "netease-dlr"])
def test_a_chunked_callback_is_read_and_kept(server: Server, name: str) -> None:
    case = _case(name)
    before = server.stored(case.provider)
    answer = httpx.post(server.urls[case.provider], content=_chunks(case.body),
                        headers=case.headers(utcnow()), timeout=10)

    assert answer.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 200, answer.text
    assert server.stored(case.provider) == before + 1


def test_a_chunked_body_over_the_limit_gets_413_in_the_providers_form(server: Server) -> None:
    before = server.stored("tencent")
    body = b"[" + b" " * (MAX_BODY + 1000) + b"]"
    answer = httpx.post(server.urls["tencent"], content=_chunks(body, 8192),
                        headers={"Content-Type": "application/json"}, timeout=10)

    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/json")
    assert orjson.loads(answer.content)["result"] != 0  # Tencent's failure form
    assert server.stored("tencent") == before


# --- headers the HTTP layer judges ----------------------------------------------------------

def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        out = b""
        while b"\r\n\r\n" not in out or not _complete(out):
            got = sock.recv(65536)
            if not got:
                break
            out += got
        return out


def _complete(raw: bytes) -> bool:
    head, _, body = raw.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


def _request(path: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
             "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_a_callback_with_a_9000_byte_header_is_kept(server: Server) -> None:
    case = _case("tencent-dlr-v2")
    before = server.stored("tencent")
    answer = _raw(server.port, _request(httpx.URL(server.urls["tencent"]).path, case.body,
                                        "Content-Type: application/json",
                                        "X-Trace: " + "t" * 9000))

    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert server.stored("tencent") == before + 1


def test_headers_past_the_limit_get_431_and_are_not_kept(server: Server) -> None:
    case = _case("tencent-dlr-v2")
    before = server.stored("tencent")
    answer = _raw(server.port, _request(httpx.URL(server.urls["tencent"]).path, case.body,
                                        "Content-Type: application/json",
                                        *[f"X-Trace-{i}: " + "t" * 4000 for i in range(20)]))

    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"urn:dlrhub:problem:request-header-fields-too-large" in answer
    assert server.stored("tencent") == before


def test_a_url_past_the_limit_gets_414_as_a_problem_not_html(server: Server) -> None:
    path = httpx.URL(server.urls["tencent"]).path + "?pad=" + "x" * 70_000
    head, _, body = _raw(server.port, _request(path, b"{}")).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414"), head[:200]
    assert b"content-type: application/problem+json" in head.lower()
    assert orjson.loads(body)["type"] == "urn:dlrhub:problem:uri-too-long"


def test_a_duplicated_content_type_is_refused_in_the_providers_form(server: Server) -> None:
    case = _case("tencent-dlr-v2")
    before = server.stored("tencent")
    answer = _raw(server.port, _request(httpx.URL(server.urls["tencent"]).path, case.body,
                                        "Content-Type: application/json",
                                        "Content-Type: application/json"))

    # Joined into "application/json,application/json", which is no type Tencent sends.
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 415"), head
    assert orjson.loads(body)["result"] != 0  # Tencent's failure form
    assert server.stored("tencent") == before
