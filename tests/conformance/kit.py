"""What the conformance kit must be told about one provider, beyond its adapter.

Every provider in the registry has a module ``tests/conformance/cases/<slug>.py`` that
defines ``KIT = ProviderKit(...)``; the kit's tests run each adapter through the same
checks (samples, signatures, answers, hostile bodies, simulator, native relay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from dlrhub.providers.base import CallbackRequest


@dataclass(frozen=True)
class Sample:
    """A realistic callback of the provider's, and the receipts it must become."""

    name: str
    body: bytes = b""
    content_type: str = ""
    method: str = "POST"
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    # The events it must become, in order; each maps event fields (type, status,
    # message_id, phone, error_code, provider_status, reason_class, retryable, segments, part,
    # submitted_at, reported_at, text...) to the value they must have exactly.
    expected: Sequence[Mapping[str, Any]] = ()
    # False where ``headers`` already carry a published signature that must pass as is.
    sign: bool = True

    def with_(self, **changes: Any) -> Sample:
        """Return a copy with ``changes``: what signers and tampers build on."""
        return replace(self, **changes)


# (sample, the URL the provider calls without its query, credentials, now) -> sample
Signer = Callable[[Sample, str, Mapping[str, str], datetime], Sample]


@dataclass(frozen=True)
class Vector:
    """A signature vector published by the provider (or built from its algorithm)."""

    name: str
    request: CallbackRequest
    credentials: Mapping[str, str]
    now: datetime
    # Account options the vector needs beyond the defaults (Plivo's V2 alone).
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderKit:
    """The provider-specific facts the conformance kit checks an adapter against."""

    slug: str
    # What POST /v1/accounts takes for an account that accepts ``samples``.
    credentials: Mapping[str, str]
    samples: Sequence[Sample]
    # Signs a sample as the provider does; None for a provider that does not sign.
    signer: Signer | None = None
    # Named ways to spoil a signed callback (a tampered field, a stale timestamp, a
    # missing header); each gets the unsigned sample and must come out refused (401).
    tampers: Mapping[str, Signer] = field(default_factory=dict)
    vectors: Sequence[Vector] = ()
    # The exact body of the success answer, where the provider checks it (``SUCCESS``,
    # ``OK``, ``ACK/Jasmin``); None where any 2xx is success.
    success_body: bytes | None = None
