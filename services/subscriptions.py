"""The provider's subscriptions of an account's callback URL (AWS SNS topics).

An SNS topic subscribes the URL, asks for a confirmation (dlrhub visits its
SubscribeURL: services/callbacks.py) and, when someone unsubscribes it, says so. Each
change is kept on the account, by topic, so that the tenant sees which topics send to
it (``subscriptions`` of ``GET /v1/accounts/{id}``) and which stopped.

A change is written in a short transaction of its own after the callback is stored and
confirmed: it is a note about the subscription, not data, so a failure to write it is
logged and the provider is still answered as the callback deserves. At most
``MAX_TOPICS`` topics are kept per account, the most recently changed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from dlrhub.models import ACCOUNT_TABLE, SubscriptionPublic
from dlrhub.providers.base import SubscriptionChange

log = logging.getLogger(__name__)
MAX_TOPICS = 20


def apply_change(kept: dict[str, Any] | None, change: SubscriptionChange,
                 now: datetime) -> dict[str, Any]:
    """Return the account's subscriptions document with ``change`` made at ``now``.

    Each entry carries when it last changed: PostgreSQL's JSONB does not keep the order
    of a document's keys, so that time, not the order, says which changed last.
    """
    doc = dict(kept or {})
    entry = dict(doc.get(change.topic) or {"topic": change.topic})
    stamp = now.isoformat()
    entry.update(status=change.status, changed_at=stamp)
    if change.status == "confirmed":
        entry.update(confirmed_at=stamp, unsubscribed_at=None)
        if change.subscription_id is not None:
            entry["subscription_id"] = change.subscription_id
    else:
        entry["unsubscribed_at"] = stamp
    doc[change.topic] = entry
    for stale in _newest_first(doc)[MAX_TOPICS:]:
        del doc[stale["topic"]]
    return doc


def public(kept: dict[str, Any] | None) -> list[SubscriptionPublic]:
    """Return the subscriptions as answered, most recently changed first."""
    return [SubscriptionPublic.model_validate(entry) for entry in _newest_first(kept or {})]


def _newest_first(doc: dict[str, Any]) -> list[dict[str, Any]]:
    # ISO 8601 times in UTC sort as text.
    return sorted(doc.values(), key=lambda e: (e.get("changed_at") or "", e["topic"]),
                  reverse=True)


def record(engine: Engine, account_id: str, change: SubscriptionChange,
           now: datetime) -> None:
    """Keep ``change`` on the account; log (never raise) if the database refuses."""
    table = ACCOUNT_TABLE
    try:
        with engine.begin() as conn:
            # Two changes of one account at once (two topics confirming) take turns
            # (SQLite, which renders no FOR UPDATE, has one writer anyway).
            kept = conn.execute(select(table.c.subscriptions).where(table.c.id == account_id)
                                .with_for_update()).scalar_one_or_none()
            conn.execute(update(table).where(table.c.id == account_id)
                         .values(subscriptions=apply_change(kept, change, now)))
    except SQLAlchemyError as ex:
        log.warning("could not keep the account's subscription change (%s)",
                    type(ex).__name__)
