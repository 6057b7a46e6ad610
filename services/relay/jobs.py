"""A delivery ready to send (a :class:`Job`) and what its endpoint answered (:class:`Outcome`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dlrhub.models import Endpoint
from dlrhub.services.relay.transport import signing
from dlrhub.services.relay.transport.wire import FRAMING

USER_AGENT = "dlrhub-relay/0.1"


@dataclass
class Job:
    """One claimed delivery with everything needed to send it."""

    delivery_id: str
    endpoint_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    timeout: float
    attempts: int
    policy: Any
    provider: str | None  # for native deliveries: whose success rule applies
    probe: bool = False  # the one send of a half-open circuit
    delay: float = 0.0  # seconds to wait first (the endpoint's rate limit)
    # A native delivery of a callback sent by GET goes by GET, its record in the query
    # (sent byte for byte after the endpoint URL's own, never re-encoded).
    method: str = "POST"
    query: str = ""


@dataclass
class Outcome:
    """What the endpoint answered (or why there was no answer)."""

    status: int | None
    latency_ms: float
    error: str | None
    excerpt: str | None
    retry_after: str | None
    body: bytes = field(default=b"", repr=False)


def signed_job(endpoint: Endpoint, secrets: list[str], delivery_id: str, body: bytes,
               content_type: str, now: datetime, *, attempts: int = 0,
               provider: str | None = None, probe: bool = False, delay: float = 0.0,
               method: str = "POST", query: str = "") -> Job:
    """Build a signed request for one delivery to ``endpoint``.

    ``method`` and ``query`` are those of a natively relayed callback: a provider that
    reports by GET has its query string appended to the endpoint's URL.
    """
    # A GET relayed as it came has no body, and no content type unless it had one.
    typed = {"Content-Type": content_type} if content_type else {}
    # An endpoint saved before framing headers were refused may still hold one: the
    # client frames the request itself (transport.wire.FRAMING).
    custom = {k: v for k, v in endpoint.headers.items() if k.lower() not in FRAMING}
    headers = {**custom, **typed, "User-Agent": USER_AGENT,
               # webhook-id stays the same across retries, so receivers can dedupe.
               **signing.headers(secrets, delivery_id, int(now.timestamp()) + round(delay),
                                 body)}
    return Job(delivery_id, endpoint.id, endpoint.url, body, headers, endpoint.timeout,
               attempts, endpoint.retry_policy, provider, probe=probe, delay=delay,
               method=method, query=query)
