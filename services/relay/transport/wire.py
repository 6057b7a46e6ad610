"""The relay's own HTTP/1.1 client: pooled keep-alive connections, answers parsed by httptools.

Why not aiohttp for every send: a relay send at batch_size 1 is one small POST, and
aiohttp's request machinery (its request and response objects, header multidicts,
timers, stream readers) cost more CPU than the rest of the relay together. A pass of
100 deliveries in ``bench/relay_pass.py`` cost 0.37-0.38 ms of CPU per delivery with
aiohttp and 0.20-0.21 ms with a bare protocol like this one (18:02, back to back).
aiohttp is still what sends while tracing is on (its instrumentation makes the
client span and carries the trace to the endpoint); see ``transport.http``.

What it does, and what it does not:

- one request at a time per connection (no pipelining), at most ``per_host`` at once
  per origin (scheme, host, port) and ``connections`` in all; a send waits for a slot
  inside its own timeout, which the caller sets around :meth:`Client.send`;
- HTTPS with the system's certificate authorities, the host name checked and sent
  (SNI) as aiohttp does; no proxies (the relay never took them from the environment);
- names resolved at connect time by the caller's resolver (``GuardedResolver``: an
  address that may not be called is refused then, DNS rebinding included), each
  address tried in turn; IP literals are checked before (``addresses.check_literal``);
- no redirect followed, no decompression asked for or done; the answer's status, its
  ``Retry-After`` and the first ``EXCERPT`` bytes of its body are kept;
- a connection is reused only when its answer was read to the end and neither side
  said ``close``; idle ones are closed after ``keepalive`` seconds;
- a request on a reused connection that the peer closed before any byte of an answer
  (it timed the idle connection out as we wrote) is sent once more on a new one;
  anything else is the caller's outcome to record.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import aiohappyeyeballs
import httptools
from yarl import URL

EXCERPT = 1024
KEEPALIVE = 30.0
# Once an answer's status and headers are in, how long the rest of its body may take
# before the answer is taken as it stands, its connection closed (aiohttp's read gave
# back the first bytes that came).
BODY_PAUSE = 1.0
# Tried one address after another: the next starts after this (RFC 8305, as aiohttp).
HAPPY_EYEBALLS_DELAY = 0.25
# The client frames each request itself: a header that would frame or route it too is
# never sent (one tenant's Transfer-Encoding could otherwise smuggle a request into a
# kept connection another tenant's send uses next).
FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection",
                     "keep-alive", "proxy-connection", "te", "trailer", "upgrade"})
# Header names are tokens (RFC 9110 5.6.2); values may not break a line or hold NUL.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BREAK = re.compile(r"[\r\n\x00]")

Origin = tuple[str, str, int]


class Resolver(Protocol):
    """What the client asks for a name's addresses (aiohttp's resolver interface)."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        """Return the addresses to try, each a dict of host, port, family, proto, flags."""


@dataclass(frozen=True)
class Answer:
    """What an endpoint answered: the status, Retry-After, the body's first bytes."""

    status: int
    retry_after: str | None
    excerpt: bytes


class InvalidHeader(ValueError):
    """A header name or value that would break the request; nothing is sent."""


class Disconnected(ConnectionError):
    """The peer closed the connection before its answer's status and headers came."""

    def __init__(self, answered: bool, cause: BaseException | None) -> None:
        super().__init__("the endpoint closed the connection without an answer"
                         + (f" ({cause})" if cause else ""))
        self.answered = answered  # some bytes of an answer had come


class BadAnswer(ConnectionError):
    """The answer is not HTTP/1.x the parser can read."""


class CannotConnect(ConnectionError):
    """No address of the endpoint's host took a connection."""

    def __init__(self, host: str, port: int, cause: BaseException | None) -> None:
        super().__init__(f"cannot connect to {host}:{port}" + (f" ({cause})" if cause else ""))


def request_bytes(url: URL, method: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """Return the request ``method url`` with ``headers`` and ``body`` as it is written.

    ``url`` is sent as its encoded path and query (a relayed query as it came); Host is
    the URL's, without a default port. Content-Length is sent with a body, and with
    every method but GET and HEAD.
    """
    lines = [f"{method} {url.raw_path_qs or '/'} HTTP/1.1",
             f"Host: {url.host_port_subcomponent}"]
    accept = True
    for name, value in headers.items():
        lower = name.lower()
        if not _TOKEN.fullmatch(name) or _BREAK.search(value) or lower in FRAMING:
            raise InvalidHeader(f"the header {name[:40]!r} is not valid")
        accept = accept and lower != "accept"
        lines.append(f"{name}: {value}")
    if accept:
        lines.append("Accept: */*")
    if body or method not in ("GET", "HEAD"):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8") + body


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one exchange at a time, its answer parsed as it comes."""

    def __init__(self) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._status = 0
        self._retry_after: str | None = None
        self._body = bytearray()
        self._answered = False  # a byte of the answer came
        self._headed = False  # its status and headers came
        self._pause: asyncio.TimerHandle | None = None  # BODY_PAUSE's timer

    # --- what the client calls ---

    def exchange(self, request: bytes) -> asyncio.Future[Answer]:
        """Write ``request``; return the future of its answer."""
        assert self.transport is not None
        assert self._waiter is None
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        if self.closed:
            waiter.set_exception(Disconnected(False, None))
            self._waiter = None
            return waiter
        self._parser = parser = httptools.HttpResponseParser(self)  # calls the on_* below
        # As lenient as aiohttp's parser: a bare LF ending a line, or a control
        # character in a header value, still reads (refusing them failed, and retried,
        # answers aiohttp took).
        parser.set_dangerous_leniencies(lenient_headers=True,
                                        lenient_optional_cr_before_lf=True)
        self._status, self._retry_after, self._body = 0, None, bytearray()
        self._answered = self._headed = self.reusable = False
        self.transport.write(request)
        return waiter

    def close(self) -> None:
        """Close the connection (an exchange under way ends as a disconnection)."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's or uvloop's, plain or TLS: each can write and close.
        self.transport = cast(asyncio.WriteTransport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._parser is None:  # nothing asked: out of turn
            self.close()
            return
        self._answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # 101: never asked for; its status is the answer
            self._settle(reusable=False)
            self.close()
        except httptools.HttpParserError as ex:
            if self._status == 101:  # an upgrade the parser would pause on
                self._settle(reusable=False)
            else:
                self._fail(BadAnswer(f"unreadable answer: {ex}"))
            self.close()
        if self._headed and self._waiter is not None and self._pause is None:
            # The body is coming in parts: if it stops, take the answer as it stands.
            self._pause = asyncio.get_running_loop().call_later(BODY_PAUSE, self._paused)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._headed:  # a body that ends with the connection (or was cut): what came
            self._settle(reusable=False)
        else:
            self._fail(Disconnected(self._answered, exc))

    # --- httptools' callbacks ---

    # Each does nothing once the exchange has ended: the parser may go on with the rest
    # of a chunk after an answer was settled early.

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._waiter is not None and name.lower() == b"retry-after":
            self._retry_after = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self._waiter is None or self._parser is None:
            return
        self._status = self._parser.get_status_code()
        self._headed = True

    def on_body(self, body: bytes) -> None:
        if self._waiter is None:
            return
        room = EXCERPT - len(self._body)
        if room > 0:
            self._body += body[:room]
        if len(self._body) >= EXCERPT and len(body) > room:
            # More than the excerpt: not read to its end, so the connection goes.
            self._settle(reusable=False)
            self.close()

    def on_message_complete(self) -> None:
        if self._waiter is None or self._parser is None:
            return
        if 100 <= self._status < 200 and self._status != 101:  # interim (100, 103)
            self._status, self._retry_after, self._body = 0, None, bytearray()
            self._headed = False
            return
        self._settle(reusable=self._parser.should_keep_alive())

    # --- ending an exchange ---

    def _paused(self) -> None:
        self._pause = None
        if self._waiter is not None:
            self._settle(reusable=False)
            self.close()

    def _settle(self, *, reusable: bool) -> None:
        self._stop_pause()
        waiter, self._waiter = self._waiter, None
        self.reusable = reusable and not self.closed
        if waiter is not None and not waiter.done():
            waiter.set_result(Answer(self._status, self._retry_after, bytes(self._body)))

    def _stop_pause(self) -> None:
        if self._pause is not None:
            self._pause.cancel()
            self._pause = None

    def _fail(self, ex: Exception) -> None:
        self._stop_pause()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(ex)


class Client:
    """Send requests over pooled connections; build it in the event loop it runs on."""

    def __init__(self, resolver: Resolver, *, connections: int, per_host: int,
                 keepalive: float = KEEPALIVE, ssl_context: ssl.SSLContext | None = None
                 ) -> None:
        self._resolver = resolver
        self._slots = asyncio.Semaphore(connections)
        self._per_host = per_host
        self._host_slots: dict[Origin, asyncio.Semaphore] = {}
        self._sending: Counter[Origin] = Counter()  # sends holding or awaiting a host's slot
        self._idle: dict[Origin, list[_Connection]] = {}
        self._keepalive = keepalive
        self._ssl = ssl_context or ssl.create_default_context()
        self._swept = time.monotonic()
        self._open: set[_Connection] = set()
        self._closed = False

    async def send(self, url: URL, method: str, headers: Mapping[str, str], body: bytes
                   ) -> Answer:
        """Send one request and return its answer; raise an OSError when there is none.

        The caller bounds it with a timeout: a cancelled send closes its connection.
        """
        request = request_bytes(url, method, headers, body)
        if url.scheme not in ("http", "https") or not url.raw_host:
            raise InvalidHeader(f"cannot send to {url.scheme!r} URLs")
        origin = (url.scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
        if self._closed:
            raise CannotConnect(origin[1], origin[2], None)
        slot = self._host_slots.get(origin)
        if slot is None:
            slot = self._host_slots[origin] = asyncio.Semaphore(self._per_host)
        # The host's slot first: sends waiting for a slow host must not hold the
        # process's slots that other hosts' sends need.
        self._sending[origin] += 1
        try:
            async with slot, self._slots:
                return await self._exchange(origin, request)
        finally:
            self._sending[origin] -= 1

    async def _exchange(self, origin: Origin, request: bytes) -> Answer:
        """Send ``request`` over a kept connection of ``origin``, or a new one."""
        conn, reused = self._idle_connection(origin)
        if conn is None:
            conn = await self._connect(origin)
        try:
            try:
                answer = await conn.exchange(request)
            except Disconnected as ex:
                if not reused or ex.answered:
                    raise
                # It was closed as we wrote: once more, on a new one. Were the
                # request taken before the close, it goes twice (same webhook-id);
                # recorded as failed instead it would go again later all the same.
                conn.close()
                self._open.discard(conn)
                conn = await self._connect(origin)
                answer = await conn.exchange(request)
        except BaseException:
            conn.close()
            self._open.discard(conn)
            raise
        self._release(origin, conn)
        return answer

    def close(self) -> None:
        """Close every connection, idle or in use; later sends fail."""
        self._closed = True
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()

    def _idle_connection(self, origin: Origin) -> tuple[_Connection | None, bool]:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < self._keepalive:
                return conn, True
            conn.close()
            self._open.discard(conn)
        return None, False

    def _release(self, origin: Origin, conn: _Connection) -> None:
        if not conn.reusable or conn.closed or self._closed:
            conn.close()
            self._open.discard(conn)
            return
        now = conn.idle_since = time.monotonic()
        self._idle.setdefault(origin, []).append(conn)
        if now - self._swept > self._keepalive:  # close what no send came back for
            self._swept = now
            for key, idle in list(self._idle.items()):
                for old in [c for c in idle if c.closed or now - c.idle_since >= self._keepalive]:
                    idle.remove(old)
                    old.close()
                    self._open.discard(old)
                if not idle:
                    del self._idle[key]
            # A host's slots with nobody holding or waiting for them are made again
            # when needed.
            for key in [k for k in self._host_slots if not self._sending[k]]:
                del self._host_slots[key]
                del self._sending[key]

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = scheme == "https"
        # A ForbiddenAddress (an OSError) from the guard is the send's outcome as it is.
        addresses = await self._resolver.resolve(host, port, family=socket.AF_UNSPEC)
        infos = [(a["family"], socket.SOCK_STREAM, a["proto"], "",
                  (a["host"], a["port"], 0, 0) if a["family"] == socket.AF_INET6
                  else (a["host"], a["port"])) for a in addresses]
        try:
            # Happy eyeballs: an address that swallows the connection does not take the
            # whole timeout, the next one is tried after HAPPY_EYEBALLS_DELAY.
            sock = await aiohappyeyeballs.start_connection(
                infos, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY, interleave=1)
            _, conn = await loop.create_connection(
                _Connection, sock=sock, ssl=self._ssl if tls else None,
                # a fully qualified name's final dot is not in its certificate
                server_hostname=host.rstrip(".") if tls else None)
        except OSError as ex:  # ssl.SSLError included
            raise CannotConnect(host, port, ex) from ex
        self._open.add(conn)
        return conn
