"""Fill a batch of receipt rows with their reason class, retryable, country and carrier.

Ingest calls ``enrich`` once per batch, before the bulk insert, and
``dlrhub receipt reclassify`` calls ``facts`` on stored rows: both give the same
answer for the same receipt, account overrides and dictionary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from dlrhub.models import EventType
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.insight.numbers import locate
from dlrhub.services.insight.reasons import classify

_STATUS = EventType.status.value
# The columns ``facts`` decides, in the order it returns them.
COLUMNS = ("reason_class", "retryable", "country", "carrier")


def facts(row: Mapping[str, Any],
          overrides: Mapping[str, str] | None) -> tuple[str | None, bool | None,
                                                         str | None, str | None]:
    """Return (reason_class, retryable, country, carrier) of one receipt row.

    Only status reports dlrhub did not make itself are classified: its own events
    (missing receipts, corrections, alerts, synthetic finals) keep what they were given.
    ``row`` has the receipt's columns, ``raw`` included (a provider may flag a failure
    permanent or temporary in it: ``Adapter.retryable``).
    """
    country, carrier = locate(row["phone"])
    if row["type"] != _STATUS or row.get("synthetic"):
        return row.get("reason_class"), row.get("retryable"), country, carrier
    adapter = PROVIDERS.get(row["provider"])
    verdict = classify(row["provider"], row["status"],
                       row["error_code"] or row["provider_status"],
                       carrier=carrier, country=country, overrides=overrides,
                       provider_retryable=None if adapter is None
                       else partial(adapter.retryable, row["raw"]))
    reason = verdict.reason_class.value if verdict.reason_class is not None else None
    return reason, verdict.retryable, country, carrier


def enrich(rows: Iterable[dict[str, Any]],
           overrides: Mapping[str, Mapping[str, str]]) -> None:
    """Set the four columns of each row in place; ``overrides`` are by account id."""
    for row in rows:
        (row["reason_class"], row["retryable"], row["country"],
         row["carrier"]) = facts(row, overrides.get(row["account_id"]))
