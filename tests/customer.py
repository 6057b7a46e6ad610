"""A real HTTP server standing in for a customer's webhook endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request the customer got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # when the request arrived
    method: str = "POST"


@dataclass
class Customer:
    """The server's address, what it received, and what it answers next."""

    url: str
    received: list[Received] = field(default_factory=list)
    # Answers to give, in order; the last one repeats.
    answers: list[tuple[int, bytes, dict[str, str]]] = field(
        default_factory=lambda: [(200, b"ok", {})])
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Seconds to wait before answering (a slow endpoint).
    delay: float = 0.0
    # Called while a request is being answered (what else the world does meanwhile).
    during: Callable[[], None] | None = None

    def answer_with(self, *answers: tuple[int, bytes, dict[str, str]]) -> None:
        with self.lock:
            self.answers = list(answers)

    def next_answer(self) -> tuple[int, bytes, dict[str, str]]:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@contextmanager
def customer_server() -> Iterator[Customer]:
    """Run the customer's endpoint on a free loopback port for the block."""
    state: dict[str, Customer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.do_POST()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            customer = state["c"]
            with customer.lock:
                customer.received.append(Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                    method=self.command))
            if customer.during is not None:
                customer.during()
            if customer.delay:
                time.sleep(customer.delay)
            status, answer, headers = customer.next_answer()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # The relay opens dozens of connections at once; socketserver's default
        # backlog of 5 drops the rest's SYNs, which then wait 1, 3, 7 s to retry.
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    state["c"] = Customer(f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["c"]
    finally:
        server.shutdown()
        server.server_close()
