"""How the API writes a moment: ISO 8601, UTC as ``Z``."""

from __future__ import annotations

from datetime import datetime


def iso_z(value: datetime) -> str:
    """Return an aware UTC ``value`` as ISO 8601 text ending in ``Z`` (``…T10:00:00Z``)."""
    return value.isoformat().replace("+00:00", "Z")
