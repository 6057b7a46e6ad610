"""The bridge's streamed route: a body of any length reaches the app as it arrives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from dlrhub.api.bridge import BodyStalled, WsgiBridge
from dlrhub.api.routes import streamed_upload

Message = dict[str, Any]
UPLOAD = "/v1/expectations/bulk"


def _scope(path: str = UPLOAD, *headers: tuple[bytes, bytes]) -> Message:
    return {"type": "http", "method": "POST", "path": path, "query_string": b"",
            "headers": list(headers), "http_version": "1.1", "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 5555), "scheme": "http"}


class ReadingApp:
    """Reads ``reads`` chunks of 4 bytes (all, when None), then answers what it read."""

    def __init__(self, reads: int | None = None) -> None:
        self.reads = reads
        self.environ: dict[str, Any] = {}
        self.pieces: list[bytes] = []
        self.error: Exception | None = None

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.environ = environ
        try:
            while self.reads is None or len(self.pieces) < self.reads:
                piece = environ["wsgi.input"].read(4)
                if not piece:
                    break
                self.pieces.append(piece)
        except BodyStalled as ex:
            self.error = ex
            start_response("408 Request Timeout", [])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"".join(self.pieces)]


class Client:
    """An ASGI client whose body arrives in ``chunks``, then (if ``hang``) never ends."""

    def __init__(self, chunks: list[bytes], hang: bool = False) -> None:
        self.chunks = list(chunks)
        self.hang = hang
        self.received = 0
        self.sent: list[Message] = []
        self.release = asyncio.Event()

    async def receive(self) -> Message:
        if self.chunks:
            self.received += 1
            chunk = self.chunks.pop(0)
            return {"type": "http.request", "body": chunk,
                    "more_body": bool(self.chunks) or self.hang}
        await self.release.wait()  # a client that sends nothing more until released
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])


def _bridge(app: Any, **kw: Any) -> WsgiBridge:
    return WsgiBridge(app, max_body=10, body_timeout=kw.pop("body_timeout", 5), threads=1,
                      streamed=streamed_upload, **kw)


def _run(bridge: WsgiBridge, client: Client, path: str = UPLOAD,
         *headers: tuple[bytes, bytes]) -> Client:
    asyncio.run(bridge(_scope(path, *headers), client.receive, client.send))
    return client


def test_only_the_bulk_upload_route_is_streamed() -> None:
    assert streamed_upload(_scope())
    assert streamed_upload(_scope(UPLOAD + "/"))
    assert not streamed_upload(_scope("/v1/expectations"))
    assert not streamed_upload({**_scope(), "method": "GET"})


def test_a_body_far_past_the_size_limit_reaches_the_app_in_pieces() -> None:
    app = ReadingApp()
    chunks = [bytes([65 + i]) * 8 for i in range(20)]  # 160 bytes; the limit is 10
    client = _run(_bridge(app), Client(chunks), UPLOAD, (b"transfer-encoding", b"chunked"))

    assert client.status == 200
    assert client.sent[1]["body"] == b"".join(chunks)
    assert "CONTENT_LENGTH" not in app.environ
    assert b"connection" not in client.headers


def test_the_body_is_received_only_as_fast_as_the_app_reads_it() -> None:
    app = ReadingApp(reads=2)
    client = _run(_bridge(app), Client([b"abcd", b"efgh", b"ijkl", b"mnop"]))

    assert client.status == 200
    assert client.sent[1]["body"] == b"abcdefgh"
    assert client.received == 2
    # The rest of the body is still on its way: the connection cannot be reused.
    assert client.headers[b"connection"] == b"close"


def test_a_body_that_stops_coming_raises_in_the_app_within_the_body_timeout() -> None:
    app = ReadingApp()
    client = _run(_bridge(app, body_timeout=0.2), Client([b"abcd"], hang=True))

    assert client.status == 408
    assert isinstance(app.error, BodyStalled)
    assert app.pieces == [b"abcd"]


def test_uploads_past_the_pool_are_refused_at_once_and_other_routes_still_answer() -> None:
    async def scenario() -> tuple[Client, Client, Client]:
        bridge = _bridge(ReadingApp(), stream_threads=1)
        slow = Client([b"abcd"], hang=True)
        second = Client([b"efgh"])
        other = Client([b"{}"])
        first = asyncio.create_task(bridge(_scope(), slow.receive, slow.send))
        while slow.received == 0:  # the first upload is under way, waiting for its body
            await asyncio.sleep(0)
        await bridge(_scope(), second.receive, second.send)
        await bridge(_scope("/v1/expectations"), other.receive, other.send)
        slow.release.set()
        await first
        return slow, second, other

    slow, second, other = asyncio.run(scenario())

    assert second.status == 503
    assert second.headers[b"retry-after"] == b"5"
    assert second.received == 0
    assert other.status == 200
    assert slow.status == 200
