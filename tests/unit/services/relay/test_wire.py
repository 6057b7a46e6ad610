"""The relay's own HTTP/1.1 client against real local servers: what it writes, what it
reads, when it reuses a connection, and what it refuses."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from yarl import URL

from dlrhub.services.relay.transport.resolver import ForbiddenAddress, GuardedResolver
from dlrhub.services.relay.transport.wire import (
    EXCERPT,
    Answer,
    CannotConnect,
    Client,
    Disconnected,
    InvalidHeader,
)

T = TypeVar("T")
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop, the sender's loop."""
    return uvloop.run(coro)


@dataclass
class Peer:
    """What a test server saw: connections opened, and each request's raw bytes."""

    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0


Handler = Callable[[Peer, int, int, bytes, asyncio.StreamWriter], Awaitable[bool]]


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    """Read one request (headers, then a Content-Length body); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


@asynccontextmanager
async def server(handle: Handler, tls: ssl.SSLContext | None = None
                 ) -> AsyncIterator[tuple[Peer, int]]:
    """Serve on a loopback port; ``handle(peer, connection, n, request, writer)`` answers
    the connection's n-th request and returns whether to keep the connection."""
    peer = Peer()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer.connections += 1
        number = peer.connections
        peer.open_now += 1
        peer.most_open = max(peer.most_open, peer.open_now)
        try:
            n = 0
            while (request := await read_request(reader)) is not None:
                peer.requests.append(request)
                n += 1
                if not await handle(peer, number, n, request, writer):
                    break
                await writer.drain()
        except ConnectionError:
            pass  # the client closed first (a long answer it stopped reading)
        finally:
            peer.open_now -= 1
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield peer, port
    finally:
        srv.close()


async def answer_ok(peer: Peer, conn: int, n: int, request: bytes,
                    writer: asyncio.StreamWriter) -> bool:
    writer.write(OK)
    return True


def client(**kw: Any) -> Client:
    return Client(GuardedResolver(allow_private=True), connections=kw.pop("connections", 8),
                  per_host=kw.pop("per_host", 4), **kw)


async def send(c: Client, port: int, *, path: str = "/hook", method: str = "POST",
               headers: dict[str, str] | None = None, body: bytes = b"{}",
               host: str = "127.0.0.1", scheme: str = "http") -> Answer:
    url = URL(f"{scheme}://{host}:{port}{path}", encoded=True)
    return await c.send(url, method, headers or {"Content-Type": "application/json"}, body)


def twice(handle: Handler) -> tuple[Peer, list[Answer]]:
    """Send two requests one after the other to a server answering with ``handle``."""
    async def scenario() -> tuple[Peer, list[Answer]]:
        async with server(handle) as (peer, port):
            c = client()
            try:
                return peer, [await send(c, port), await send(c, port)]
            finally:
                c.close()

    return run(scenario())


def test_a_request_is_written_as_the_relay_means_it_and_the_connection_is_kept() -> None:
    async def scenario() -> tuple[Peer, list[Answer]]:
        async with server(answer_ok) as (peer, port):
            c = client()
            got = [await send(c, port, path="/hook/a?x=%3A&y=1",
                              headers={"Content-Type": "application/json",
                                       "webhook-id": "dlv_1"}, body=b'{"a":1}'),
                   await send(c, port, method="GET", path="/native?q=1", body=b"",
                              headers={})]
            c.close()
            return peer, got

    peer, got = run(scenario())
    assert [a.status for a in got] == [200, 200]
    assert got[0].excerpt == b"ok"
    assert peer.connections == 1  # the second went on the first one's connection
    first = peer.requests[0]
    port_line = next(line for line in first.split(b"\r\n") if line.startswith(b"Host:"))
    assert first.startswith(b"POST /hook/a?x=%3A&y=1 HTTP/1.1\r\n")  # the query as it came
    assert port_line.startswith(b"Host: 127.0.0.1:")
    assert b"\r\nwebhook-id: dlv_1\r\n" in first
    assert b"\r\nContent-Length: 7\r\n" in first
    assert first.endswith(b'\r\n\r\n{"a":1}')
    second = peer.requests[1]
    assert second.startswith(b"GET /native?q=1 HTTP/1.1\r\n")
    assert b"Content-Length" not in second  # a relayed GET has no body


@pytest.mark.parametrize("peer_closes", [True, False])
def test_an_answer_that_says_close_is_not_reused(peer_closes: bool) -> None:
    async def closing(peer: Peer, conn: int, n: int, request: bytes,
                      writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nConnection: close\r\n"
                     b"Content-Length: 4\r\n\r\nbusy")
        return not peer_closes  # said close, but may leave it open: never reused

    peer, got = twice(closing)
    assert got[0] == Answer(503, "7", b"busy")
    assert peer.connections == 2


def test_chunked_interim_and_eof_delimited_answers_are_read() -> None:
    async def varied(peer: Peer, conn: int, n: int, request: bytes,
                     writer: asyncio.StreamWriter) -> bool:
        if n == 1:  # an interim 100, then a chunked answer
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            return True
        writer.write(b"HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\nuntil the end")
        return False

    peer, got = twice(varied)
    assert got == [Answer(201, None, b"abcde"), Answer(202, None, b"until the end")]
    assert peer.connections == 1


def test_a_long_answer_keeps_its_excerpt_and_its_connection_is_closed() -> None:
    big = b"x" * (EXCERPT * 64)

    async def long(peer: Peer, conn: int, n: int, request: bytes,
                   writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 400 Bad\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
        return True

    peer, got = twice(long)
    assert [(a.status, a.excerpt) for a in got] == [(400, big[:EXCERPT])] * 2
    assert peer.connections == 2  # not read to its end: never reused


def test_a_kept_connection_the_peer_closed_is_replaced_once() -> None:
    # The endpoint answers the first request, then drops the connection when the next
    # one comes on it (as one that timed it out as we wrote): sent once more, new one.
    async def drops(peer: Peer, conn: int, n: int, request: bytes,
                    writer: asyncio.StreamWriter) -> bool:
        if n == 2:
            return False
        writer.write(OK)
        return True

    peer, got = twice(drops)
    assert [a.status for a in got] == [200, 200]
    assert peer.connections == 2
    assert len(peer.requests) == 3


def test_a_new_connection_closed_without_an_answer_is_an_error_not_a_retry() -> None:
    async def drops(peer: Peer, conn: int, n: int, request: bytes,
                    writer: asyncio.StreamWriter) -> bool:
        return False

    async def scenario() -> Peer:
        async with server(drops) as (peer, port):
            c = client()
            with pytest.raises(Disconnected):
                await send(c, port)
            c.close()
            return peer

    peer = run(scenario())
    assert len(peer.requests) == 1


def test_a_send_cut_by_its_timeout_closes_its_connection() -> None:
    async def silent(peer: Peer, conn: int, n: int, request: bytes,
                     writer: asyncio.StreamWriter) -> bool:
        return True  # never answers; reads on until the client goes

    async def scenario() -> Peer:
        async with server(silent) as (peer, port):
            c = client()
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await send(c, port)
            # the server sees the connection go (its read ends)
            async with asyncio.timeout(5):
                while peer.open_now:
                    await asyncio.sleep(0.01)
            c.close()
            return peer

    assert run(scenario()).connections == 1


def test_no_more_connections_per_host_than_allowed() -> None:
    async def slow(peer: Peer, conn: int, n: int, request: bytes,
                   writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.1)
        writer.write(OK)
        return True

    async def scenario() -> tuple[Peer, list[Answer]]:
        async with server(slow) as (peer, port):
            c = client(per_host=2)
            got = await asyncio.gather(*(send(c, port) for _ in range(6)))
            c.close()
            return peer, list(got)

    peer, got = run(scenario())
    assert [a.status for a in got] == [200] * 6
    assert peer.most_open == 2
    assert peer.connections == 2


@pytest.mark.parametrize("headers", [{"X-Evil": "a\r\nHost: elsewhere"},
                                     {"Bad Name": "x"}, {"X-Nul": "a\x00b"},
                                     # framing is the client's: a second one could
                                     # smuggle a request into a kept connection
                                     {"Transfer-Encoding": "chunked"},
                                     {"connection": "close"}, {"Host": "elsewhere"}])
def test_a_header_that_would_break_the_request_is_never_sent(headers: dict[str, str]
                                                             ) -> None:
    async def scenario() -> Peer:
        async with server(answer_ok) as (peer, port):
            c = client()
            with pytest.raises(InvalidHeader):
                await send(c, port, headers=headers)
            c.close()
            return peer

    peer = run(scenario())
    assert peer.connections == 0


def test_a_name_that_resolves_to_a_private_address_is_refused_at_connect_time() -> None:
    async def scenario(allow: bool) -> Peer:
        async with server(answer_ok) as (peer, port):
            c = Client(GuardedResolver(allow_private=allow), connections=4, per_host=2)
            try:
                await send(c, port, host="localhost")
            finally:
                c.close()
            return peer

    with pytest.raises(ForbiddenAddress):
        run(scenario(allow=False))
    # the same send reaches the server when allowed: the refusal above is the guard's
    assert run(scenario(allow=True)).connections == 1


def test_nothing_listening_is_a_connection_error() -> None:
    async def scenario() -> None:
        async with server(answer_ok) as (_, port):
            pass  # closed: nothing listens on the port any more
        c = client()
        try:
            await send(c, port)
        finally:
            c.close()

    with pytest.raises(CannotConnect, match=r"cannot connect to 127\.0\.0\.1"):
        run(scenario())


def _certificate(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Return a server context for a self-signed 127.0.0.1 certificate, and a client
    context that trusts it (and nothing else)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dlrhub test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    return served, trusting


def test_https_is_verified_against_the_trusted_authorities(tmp_path: Path) -> None:
    served, trusting = _certificate(tmp_path)

    async def scenario(context: ssl.SSLContext | None) -> Answer:
        async with server(answer_ok, tls=served) as (_, port):
            c = Client(GuardedResolver(allow_private=True), connections=4, per_host=2,
                       ssl_context=context)
            try:
                return await send(c, port, scheme="https")
            finally:
                c.close()

    assert run(scenario(trusting)).status == 200
    # The system's authorities do not know the self-signed certificate: no answer.
    with pytest.raises(CannotConnect) as caught:
        run(scenario(None))
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


def test_a_slow_host_does_not_hold_the_slots_other_hosts_need() -> None:
    # Two slots in all, one per host: sends queued for a slow host wait for its slot
    # without taking the process's, so another host's send goes at once.
    release = asyncio.Event()

    async def held(peer: Peer, conn: int, n: int, request: bytes,
                   writer: asyncio.StreamWriter) -> bool:
        await release.wait()
        writer.write(OK)
        return True

    async def scenario() -> list[int]:
        async with server(held) as (_, slow), server(answer_ok) as (_, fast):
            c = client(connections=2, per_host=1)
            queued = [asyncio.create_task(send(c, slow)) for _ in range(3)]
            await asyncio.sleep(0.05)  # the three are in: one sent, two waiting
            async with asyncio.timeout(5):
                other = await send(c, fast)
            release.set()
            done = [other.status] + [a.status for a in await asyncio.gather(*queued)]
            c.close()
            return done

    assert run(scenario()) == [200] * 4


def test_an_answer_with_bare_line_feeds_is_read_as_aiohttp_read_it() -> None:
    async def lf(peer: Peer, conn: int, n: int, request: bytes,
                 writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\nContent-Length: 2\nX-Odd: a\x01b\n\nok")
        return True

    async def scenario() -> Answer:
        async with server(lf) as (_, port):
            c = client()
            try:
                return await send(c, port)
            finally:
                c.close()

    assert run(scenario()) == Answer(200, None, b"ok")


def test_a_101_answer_is_its_status_and_the_connection_goes() -> None:
    async def upgrade(peer: Peer, conn: int, n: int, request: bytes,
                      writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\n\r\n")
        return True

    peer, got = twice(upgrade)
    assert [a.status for a in got] == [101, 101]
    assert peer.connections == 2


def test_a_body_that_stalls_after_its_status_gives_the_status() -> None:
    async def stalls(peer: Peer, conn: int, n: int, request: bytes,
                     writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\naccepted")
        return True  # the other 92 bytes never come

    async def scenario() -> Answer:
        async with server(stalls) as (_, port):
            c = client()
            try:
                async with asyncio.timeout(10):
                    return await send(c, port)
            finally:
                c.close()

    assert run(scenario()) == Answer(200, None, b"accepted")
