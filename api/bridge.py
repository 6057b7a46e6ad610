"""Serve a WSGI app from an ASGI event loop, reading each whole body before a thread runs.

One kind of route is the exception: a bulk upload of any length (``streamed``) cannot be
held in memory, so its body is handed to the app as it arrives. Those requests run in a
small pool of their own, never the API's, so slow uploads can at worst fill that pool
(the next upload gets 503 at once); each chunk must come within the body timeout, and
the whole at a minimum average rate, or the upload ends with 408.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_TIMEOUT_BODY = (b'{"type":"about:blank","title":"Request Timeout","status":408,'
                 b'"detail":"the request body did not arrive in time"}')
_BUSY_BODY = (b'{"type":"about:blank","title":"Service Unavailable","status":503,'
              b'"detail":"as many uploads as this server takes at once are under way; '
              b'retry later"}')


def _never(scope: Scope) -> bool:
    return False


class Lane(Protocol):
    """Requests the event loop answers itself, before any thread (``api/callback_lane.py``)."""

    async def open(self) -> None:
        """Get ready, in the server's event loop."""

    async def close(self) -> None:
        """Let go of what ``open`` took."""

    async def answer(self, scope: Scope, body: bytes
                     ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Answer the request whole, or return None to leave it to the WSGI app."""


class BodyStalled(Exception):
    """A streamed body stopped coming, or came too slowly: the app answers 408."""


class ClientGone(Exception):
    """The client of a streamed body went away before sending all of it."""


@dataclass(frozen=True)
class Buffered:
    """A request body read whole, or the reason it was not."""

    body: bytes
    # The length the app is told: the body's own, or past the limit when it was too
    # large (the app then answers 413 in its own form without reading anything).
    length: int
    too_large: bool = False


class WsgiBridge:
    """Run ``app`` for every HTTP request, in a bounded pool, once its body is in memory.

    A thread is taken only when the request is complete, so clients that send slowly,
    or never finish, wait in the event loop and cost a socket, not a thread. A body
    that is not complete within ``body_timeout`` seconds gets 408 and the connection
    is closed; one past ``max_body`` is not read on: the app is called with an empty
    body and a ``Content-Length`` past the limit, so that it answers 413 in its own form
    (the provider's, on the callback route).
    """

    def __init__(self, app: WsgiApp, *, max_body: int, body_timeout: float,
                 threads: int, streamed: Callable[[Scope], bool] = _never,
                 stream_threads: int = 2, min_stream_rate: int = 16 * 1024,
                 lane: Lane | None = None) -> None:
        self._app = app
        self._lane = lane
        self._max_body = max_body
        self._body_timeout = body_timeout
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._streamed = streamed
        self._stream_threads = stream_threads
        self._min_stream_rate = min_stream_rate
        self._stream_pool: ThreadPoolExecutor | None = None
        # Read and changed in the event loop only.
        self._streams_running = 0

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Return the thread pool, made on first use (after the server forked)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="wsgi")
        return self._pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection event: a lifespan or an HTTP request."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: nothing here speaks them
            return
        if self._streamed(scope):
            await self._serve_streamed(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self._body_timeout):
                got = await self._read_body(scope, receive)
        except TimeoutError:
            await _answer(send, 408, [(b"content-type", b"application/problem+json"),
                                      (b"connection", b"close")], _TIMEOUT_BODY)
            return
        if got is None:  # the client went away
            return
        if self._lane is not None and not got.too_large:
            answer = await self._lane.answer(scope, got.body)
            if answer is not None:
                await _answer(send, *answer)
                return
        environ = wsgi_environ(scope, got)
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(
            self.pool, _run_wsgi, self._app, environ)
        if got.too_large:
            # The rest of the body is still on its way: the connection cannot carry
            # another request.
            headers = [h for h in headers if h[0] != b"connection"]
            headers.append((b"connection", b"close"))
        await self._respond(send, status, headers, body)

    async def _respond(self, send: Send, status: int, headers: list[tuple[bytes, bytes]],
                       body: bytes | Iterable[bytes]) -> None:
        if isinstance(body, bytes):
            await _answer(send, status, headers, body)
        else:
            await self._stream(send, status, headers, body)

    async def _serve_streamed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app on a body it reads as it arrives, in the upload pool."""
        if self._streams_running >= self._stream_threads:
            await _answer(send, 503, [(b"content-type", b"application/problem+json"),
                                      (b"retry-after", b"5"), (b"connection", b"close")],
                          _BUSY_BODY)
            return
        if self._stream_pool is None:
            self._stream_pool = ThreadPoolExecutor(self._stream_threads,
                                                   thread_name_prefix="wsgi-upload")
        loop = asyncio.get_running_loop()
        body = StreamedBody(loop, receive, idle_timeout=self._body_timeout,
                            min_rate=self._min_stream_rate)
        environ = wsgi_environ(scope, Buffered(b"", _content_length(scope) or 0), stream=body)
        self._streams_running += 1
        try:
            status, headers, answer = await loop.run_in_executor(
                self._stream_pool, _run_wsgi, self._app, environ)
        finally:
            self._streams_running -= 1
        if not body.complete:
            # The app answered before the end of the body: the rest is still coming.
            headers = [h for h in headers if h[0] != b"connection"]
            headers.append((b"connection", b"close"))
        await self._respond(send, status, headers, answer)

    async def _stream(self, send: Send, status: int, headers: list[tuple[bytes, bytes]],
                      answer: Iterable[bytes]) -> None:
        """Send an answer the app streams (a raw body download) chunk by chunk.

        Each chunk is produced in the pool, since producing it may query the database;
        only one chunk is held at a time, whatever the answer's size.
        """
        loop = asyncio.get_running_loop()
        chunks = iter(answer)
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            while (chunk := await loop.run_in_executor(self.pool, next, chunks, None)) \
                    is not None:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk,
                                "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            close = getattr(answer, "close", None)  # PEP 3333: the app's iterable's
            if close is not None:
                await loop.run_in_executor(self.pool, close)

    async def _read_body(self, scope: Scope, receive: Receive) -> Buffered | None:
        declared = _content_length(scope)
        if declared is not None and declared > self._max_body:
            return Buffered(b"", declared, too_large=True)
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self._max_body:
                    return Buffered(b"", size, too_large=True)
                parts.append(chunk)
            if not message.get("more_body", False):
                body = b"".join(parts)
                return Buffered(body, len(body))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._lane is not None:
                    await self._lane.open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for pool in (self._pool, self._stream_pool):
                    if pool is not None:
                        # Requests already running finish; the server waited for them.
                        await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)
                if self._lane is not None:
                    await self._lane.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser refuses these before we see them
    return None


class StreamedBody:
    """``wsgi.input`` of a streamed request: each read takes the next chunk from the loop.

    Read from the app's thread. The event loop receives a chunk only when the app asks
    for one, so an upload goes no faster than the app stores it (the transport stops
    reading the socket meanwhile), and at most one chunk is held. A chunk that does not
    come within ``idle_timeout``, or an upload slower on average than ``min_rate`` bytes
    a second once ``idle_timeout`` has passed, raises ``BodyStalled``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Receive, *,
                 idle_timeout: float, min_rate: int) -> None:
        self._loop = loop
        self._receive = receive
        self._idle_timeout = idle_timeout
        self._min_rate = min_rate
        self._started = loop.time()
        self._received = 0
        self._buffer = b""
        self.complete = False

    def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` bytes (all that is left if negative); b"" at the end."""
        while not self.complete and (not self._buffer or size < 0):
            self._buffer += self._next()
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def readline(self, size: int = -1) -> bytes:
        """Return the next line, or up to ``size`` bytes of it."""
        while b"\n" not in self._buffer and not self.complete and \
                (size < 0 or len(self._buffer) < size):
            self._buffer += self._next()
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if size >= 0:
            end = min(end, size)
        out, self._buffer = self._buffer[:end], self._buffer[end:]
        return out

    def _next(self) -> bytes:
        future = asyncio.run_coroutine_threadsafe(self._receive_chunk(), self._loop)
        # The loop times the chunk out itself; this only frees the thread should the
        # loop stop (a server shutting down) before it answers.
        return future.result(timeout=self._idle_timeout + 5)

    async def _receive_chunk(self) -> bytes:
        try:
            async with asyncio.timeout(self._idle_timeout):
                message = await self._receive()
        except TimeoutError:
            raise BodyStalled(f"no part of the body came for {self._idle_timeout:g} s") \
                from None
        if message["type"] == "http.disconnect":
            raise ClientGone("the client went away")
        chunk: bytes = message.get("body", b"")
        self._received += len(chunk)
        if not message.get("more_body", False):
            self.complete = True
            return chunk
        elapsed = self._loop.time() - self._started
        if elapsed > self._idle_timeout and self._received < self._min_rate * elapsed:
            raise BodyStalled(f"the body came slower than {self._min_rate} bytes a second")
        return chunk


def wsgi_environ(scope: Scope, got: Buffered,
                 stream: StreamedBody | None = None) -> dict[str, Any]:
    """Build the PEP 3333 environ of an ASGI HTTP ``scope`` and its buffered body.

    With ``stream``, the body is read from it as it comes; ``got.length`` is then the
    declared length, 0 when the client declared none (chunked).
    """
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    # PEP 3333: native strings holding the request's bytes as latin-1; the path is
    # the percent-decoded one, as WSGI servers (gunicorn included) give it.
    path_info = scope["path"].encode("utf-8").decode("latin-1")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] if client else "",
        "REMOTE_PORT": str(client[1]) if client else "",
        "CONTENT_LENGTH": str(got.length),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(got.body) if stream is None else stream,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if stream is not None and not got.length:
        del environ["CONTENT_LENGTH"]  # chunked: the app reads the stream to its end
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body is whole: its length is what the app is told
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        # Repeated headers are joined, as RFC 9110 allows and WSGI servers do.
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def _run_wsgi(app: WsgiApp, environ: dict[str, Any]
              ) -> tuple[int, list[tuple[bytes, bytes]], bytes | Iterable[bytes]]:
    """Call ``app``; return its answer whole, or as an iterator where the app streams.

    Falcon answers ``resp.data`` and ``resp.media`` as a list of one piece: that is
    joined here, in one hand-off to the pool. Anything else (``resp.stream``) is left
    to ``WsgiBridge._stream``, which closes it.
    """
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [status, headers]
        return lambda _data: None  # the legacy write(): unused by Falcon

    result = app(environ, start_response)
    body: bytes | Iterable[bytes]
    if isinstance(result, list | tuple):
        body = b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()
    else:
        body = result
    status, headers = started
    return (int(status.split(" ", 1)[0]),
            [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers], body)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]],
                  body: bytes) -> None:
    if not any(name == b"content-length" for name, _ in headers):
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
