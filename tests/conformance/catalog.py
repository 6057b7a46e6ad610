"""Wave-1 samples for the conformance cases, taken from ``tests/catalog.py``.

The wave-1 providers' callbacks were collected there (seeds and samples); their case
modules name one by its id rather than copy its body.
"""

from __future__ import annotations

from typing import Any

from tests.catalog import cases
from tests.conformance.kit import Sample

_BY_ID = {c.id: c for c in cases()}

STATUS = "sms.status"
INBOUND = "sms.inbound"


def catalog_sample(case_id: str, *expected: dict[str, Any], **changes: Any) -> Sample:
    """Return the catalog's callback ``case_id`` as a kit sample that becomes ``expected``."""
    case = _BY_ID[case_id]
    return Sample(name=case_id, body=case.body, content_type=case.content_type,
                  expected=expected, **changes)
