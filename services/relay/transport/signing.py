"""Sign outbound events the Standard Webhooks way, and verify them as a customer would.

The scheme is the one of https://www.standardwebhooks.com as svix implements it
(``svix/svix-webhooks: python/svix/webhooks.py``): three headers, ``webhook-id``,
``webhook-timestamp`` (Unix seconds) and ``webhook-signature``, the last holding
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``. The key is the base64 part of
a ``whsec_`` secret. During a rotation the header carries one signature per secret,
separated by single spaces, so that receivers holding either secret accept the message.

``verify`` is what the receiving side runs; we use it in tests and to document for
customers exactly what their endpoint must check.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Mapping, Sequence
from datetime import datetime

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's marker, not a secret
SECRET_BYTES = 24
# Five minutes each way, the spec's and svix's default: enough for clock skew and a
# slow hop, short enough that a captured request cannot be replayed much later.
DEFAULT_TOLERANCE = 300

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
VERSION = "v1"


class VerificationError(ValueError):
    """A signed message fails verification: missing headers, stale, or no matching signature."""


def new_secret() -> str:
    """Return a new random endpoint secret, ``whsec_`` and the base64 of 24 bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature of one message under one secret.

    Raise ``ValueError`` if ``secret`` is not base64 (with or without ``whsec_``).
    """
    return f"{VERSION},{base64.b64encode(_digest(_key(secret), msg_id, timestamp, body)).decode()}"


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Return the three Standard Webhooks headers of a message.

    ``secrets`` holds the endpoint's current secret and, during a rotation, the previous
    ones; the signature header carries one signature for each, space-separated, so the
    receiver may hold either. At least one secret is required.
    """
    if isinstance(secrets, str):
        # A bare string is a Sequence[str] of characters; signing with each would be a bug.
        raise TypeError("secrets must be a sequence of secrets, not one string")
    if not secrets:
        raise ValueError("at least one secret is required to sign a message")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: datetime,
           tolerance: int = DEFAULT_TOLERANCE) -> None:
    """Check a signed message as its receiver would; raise ``VerificationError`` if it fails.

    Header names are matched case-insensitively. The timestamp must be within
    ``tolerance`` seconds of ``now`` in either direction, and at least one of the
    space-separated ``v1`` signatures must match; other versions are skipped, as the
    spec asks. ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id = lowered.get(ID_HEADER)
    raw_timestamp = lowered.get(TIMESTAMP_HEADER)
    raw_signatures = lowered.get(SIGNATURE_HEADER)
    if not msg_id or not raw_timestamp or not raw_signatures:
        raise VerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    # Unix seconds as a plain integer; anything else (a float, a sign, spaces) is not
    # what a sender of the spec writes.
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()):
        raise VerificationError("webhook-timestamp is not an integer")
    timestamp = int(raw_timestamp)
    age = now.timestamp() - timestamp
    if age > tolerance:
        raise VerificationError("message timestamp too old")
    if age < -tolerance:
        raise VerificationError("message timestamp too new")

    expected = _digest(_key(secret), msg_id, timestamp, body)
    for versioned in raw_signatures.split(" "):
        version, _, encoded = versioned.partition(",")
        if version != VERSION or not encoded:
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(expected, given):
            return
    raise VerificationError("no matching signature found")


def _key(secret: str) -> bytes:
    # svix accepts the secret with or without its prefix; so do we.
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as ex:
        raise ValueError("the webhook secret is not base64") from ex
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()
