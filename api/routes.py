"""What the bridge must know of the routes: which ones read their body as a stream."""

from __future__ import annotations

from typing import Any

# NDJSON of any length: the only route whose body is not read whole before the app runs.
STREAMED = frozenset({("POST", "/v1/expectations/bulk")})


def streamed_upload(scope: dict[str, Any]) -> bool:
    """Tell whether an ASGI request's body goes to the app as it arrives."""
    return (scope["method"], scope["path"].rstrip("/")) in STREAMED
