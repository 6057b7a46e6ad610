"""The vocabularies are defined once: what adapters produce is what dlrhub stores."""

from __future__ import annotations

from typing import get_args

from dlrhub.models import EventType, ReceiptStatus
from dlrhub.providers import base


def test_adapters_speak_the_stored_vocabulary() -> None:
    # Adapters sit below models/ and keep their own plain-string names for the same
    # words; a status or type added on one side only would be refused at ingest.
    assert tuple(s.value for s in ReceiptStatus) == base.STATUSES
    assert get_args(base.EventType) == tuple(t.value for t in EventType)
