"""The ASGI-to-WSGI bridge: whole bodies, the size limit and the body deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from dlrhub.api.bridge import WsgiBridge

Message = dict[str, Any]


class EchoApp:
    """A WSGI app that answers what it was given: the body, its length, a header."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        self.calls.append({**environ, "body": body})
        status = "413 Payload Too Large" if int(environ["CONTENT_LENGTH"]) > 10 else "200 OK"
        start_response(status, [("Content-Type", "text/plain")])
        return [body]


def _scope(*headers: tuple[bytes, bytes]) -> Message:
    return {"type": "http", "method": "POST", "path": "/v1/callbacks/tencent/t",
            "query_string": b"", "headers": list(headers), "http_version": "1.1",
            "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5555), "scheme": "http"}


def _call(bridge: WsgiBridge, scope: Message, chunks: list[bytes],
          then_wait: bool = False) -> list[Message]:
    """Run one request whose body arrives in ``chunks`` (and then nothing, if waiting)."""
    sent: list[Message] = []

    async def run() -> None:
        pending = list(chunks)

        async def receive() -> Message:
            if pending:
                chunk = pending.pop(0)
                return {"type": "http.request", "body": chunk,
                        "more_body": bool(pending) or then_wait}
            await asyncio.sleep(3600)  # a client that never sends the rest
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            sent.append(message)

        await bridge(scope, receive, send)

    asyncio.run(run())
    return sent


def _headers(sent: list[Message]) -> dict[bytes, bytes]:
    return dict(sent[0]["headers"])


def test_a_chunked_body_reaches_the_app_whole_with_its_length() -> None:
    app = EchoApp()
    bridge = WsgiBridge(app, max_body=10, body_timeout=5, threads=1)
    sent = _call(bridge, _scope((b"transfer-encoding", b"chunked")), [b"ab", b"", b"cde"])

    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"abcde"
    assert app.calls[0]["CONTENT_LENGTH"] == "5"
    assert "HTTP_TRANSFER_ENCODING" not in app.calls[0]


def test_a_chunked_body_past_the_limit_is_not_read_on_and_the_app_answers_413() -> None:
    app = EchoApp()
    bridge = WsgiBridge(app, max_body=10, body_timeout=5, threads=1)
    sent = _call(bridge, _scope((b"transfer-encoding", b"chunked")),
                 [b"x" * 8, b"x" * 8], then_wait=True)

    assert sent[0]["status"] == 413
    assert app.calls[0]["body"] == b""
    assert _headers(sent)[b"connection"] == b"close"


def test_a_declared_length_past_the_limit_is_answered_without_reading() -> None:
    app = EchoApp()
    bridge = WsgiBridge(app, max_body=10, body_timeout=5, threads=1)
    sent = _call(bridge, _scope((b"content-length", b"11")), [], then_wait=True)

    assert sent[0]["status"] == 413
    assert app.calls[0]["CONTENT_LENGTH"] == "11"


def test_a_body_that_does_not_complete_in_time_gets_408_without_the_app() -> None:
    app = EchoApp()
    bridge = WsgiBridge(app, max_body=10, body_timeout=0.2, threads=1)
    sent = _call(bridge, _scope((b"content-length", b"5")), [b"ab"], then_wait=True)

    assert sent[0]["status"] == 408
    assert _headers(sent)[b"connection"] == b"close"
    assert app.calls == []


@pytest.mark.parametrize(("headers", "expected"), [
    ([(b"content-type", b"application/json"), (b"content-type", b"text/plain")],
     {"CONTENT_TYPE": "application/json,text/plain"}),
    ([(b"x-a", b"1"), (b"x-a", b"2")], {"HTTP_X_A": "1,2"}),
])
def test_repeated_headers_are_joined(headers: list[tuple[bytes, bytes]],
                                     expected: dict[str, str]) -> None:
    app = EchoApp()
    _call(WsgiBridge(app, max_body=10, body_timeout=5, threads=1), _scope(*headers), [b""])

    assert {k: app.calls[0][k] for k in expected} == expected



class StreamingApp:
    """A WSGI app that streams its answer, as Falcon does for ``resp.stream``."""

    def __init__(self) -> None:
        self.produced = 0
        self.closed = False

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", "9")])
        app = self

        class Chunks:
            def __iter__(self) -> Chunks:
                return self

            def __next__(self) -> bytes:
                if app.produced == 3:
                    raise StopIteration
                app.produced += 1
                return b"abc"

            def close(self) -> None:
                app.closed = True

        return Chunks()


def test_a_streamed_answer_is_sent_chunk_by_chunk_and_closed() -> None:
    app = StreamingApp()
    sent = _call(WsgiBridge(app, max_body=10, body_timeout=5, threads=1), _scope(), [b""])

    assert sent[0]["status"] == 200
    assert [m["body"] for m in sent[1:]] == [b"abc", b"abc", b"abc", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, True, False]
    assert app.closed
