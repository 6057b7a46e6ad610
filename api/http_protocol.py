"""uvicorn's HTTP/1.1 protocol, with a deadline and a size limit on request headers."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from dlrhub.config import get_settings


def _problem(status: int, kind: str, reason: str, detail: str) -> bytes:
    # The same problem types as the app's own answers (api/errors.py).
    body = (f'{{"type":"urn:dlrhub:problem:{kind}","title":"{reason}","status":{status},'
            f'"detail":"{detail}"}}').encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


_HEADER_TIMEOUT = _problem(408, "request-timeout", "Request Timeout",
                           "the request headers did not arrive in time")
_HEADER_TOO_LARGE = _problem(431, "request-header-fields-too-large",
                             "Request Header Fields Too Large",
                             "the request headers are too large")
_URI_TOO_LONG = _problem(414, "uri-too-long", "URI Too Long",
                         "the request's URL is longer than the server takes")


class HeadersTooLarge(Exception):
    """A request's headers passed ``DLRHUB_MAX_HEADER_BYTES``."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Close connections whose request headers are too slow or too large.

    uvicorn waits for headers without a deadline; a client that opens a connection and
    sends nothing, or trickles its headers, would hold the socket for ever. Here a
    request's headers must be complete within ``DLRHUB_HEADER_TIMEOUT`` seconds of the
    connection (or of the request's first byte, on a kept-alive connection) and within
    ``DLRHUB_MAX_HEADER_BYTES``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self._header_timeout = settings.header_timeout
        self._max_header_bytes = settings.max_header_bytes
        self._header_timer: asyncio.TimerHandle | None = None
        self._awaiting_headers = True
        # Bytes of headers still incomplete after a read (a huge header that is being
        # trickled), and of the URL and headers parsed so far: either may not pass the limit.
        self._header_bytes = 0
        self._parsed_bytes = 0
        self._url_bytes = 0
        self._request_bytes_seen = False
        self._message_ended = False

    # asyncio.Protocol takes any BaseTransport; uvicorn narrows it to Transport, as here.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept the connection and start the clock on its first request's headers."""
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and its header clock."""
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Parse ``data``, refusing headers that grow past the limit."""
        waiting = self._awaiting_headers
        if waiting:
            self._request_bytes_seen = True
            if self._header_timer is None:  # the first byte of a kept-alive request
                self._arm_header_timer()
        self._message_ended = False
        super().data_received(data)
        # Counted after parsing, and only for data that neither completed the headers
        # nor ended a message, so that a packet holding whole headers and the start of
        # a large body, or the end of a body, is never taken for headers.
        if waiting and self._awaiting_headers and not self._message_ended \
                and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self._max_header_bytes:
                self._refuse(self._too_large())

    def on_url(self, url: bytes) -> None:
        """Take the URL, counted with the headers."""
        self._url_bytes += len(url)
        self._count_parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """Take one header, refusing the request once its headers pass the limit."""
        self._count_parsed(len(name) + len(value) + 4)
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        """Answer a request the parser refused: 431 when it was for its headers' size."""
        if self._parsed_bytes > self._max_header_bytes:
            self._refuse(self._too_large())
        else:
            super().send_400_response(msg)

    def _too_large(self) -> bytes:
        """414 when the URL alone passed the limit (or is still coming), else 431."""
        if self._url_bytes > self._max_header_bytes or \
                (self._url_bytes and not self._parsed_bytes - self._url_bytes):
            return _URI_TOO_LONG
        return _HEADER_TOO_LARGE

    def _count_parsed(self, size: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > self._max_header_bytes:
            # Stops the parser: uvicorn answers through send_400_response above.
            raise HeadersTooLarge

    def on_headers_complete(self) -> None:
        """Stop the header clock; the body's own deadline is the app bridge's."""
        self._awaiting_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """Wait for the next request's headers (the keep-alive timeout covers idleness)."""
        super().on_message_complete()
        self._message_ended = True
        self._awaiting_headers = True
        self._header_bytes = self._parsed_bytes = self._url_bytes = 0
        self._request_bytes_seen = False

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_late)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers or self.transport.is_closing():
            return
        if self._request_bytes_seen:
            self._refuse(_HEADER_TIMEOUT)
        else:  # a connection that never said anything gets no answer either
            self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        self._cancel_header_timer()
        self.transport.write(answer)
        self.transport.close()
