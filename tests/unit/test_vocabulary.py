"""The vocabularies are defined once: what adapters produce is what dlrhub stores."""

from __future__ import annotations

from typing import get_args

from dlrhub.models import EventType, ReceiptStatus
from dlrhub.providers import base


def test_adapters_speak_the_stored_vocabulary() -> None:
    # Adapters sit below models/ and keep their own plain-string names for the same
    # words; a status or type added on one side only would be refused at ingest.
    assert tuple(s.value for s in ReceiptStatus) == base.STATUSES
    # Adapters make receipts and inbound messages; the other types are dlrhub's own.
    assert set(get_args(base.EventType)) == {EventType.status.value, EventType.inbound.value}
    assert set(get_args(base.EventType)) <= {t.value for t in EventType}
