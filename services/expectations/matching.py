"""Ingest's one call per batch: final receipts meet the expectations of their messages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlmodel import Session

from dlrhub.models import EXPECTATION_TABLE, ExpectationState, ProviderAccount
from dlrhub.services.expectations import rules, tally

EXPECTATIONS = EXPECTATION_TABLE
# Rows per UPDATE: a batch of ingest rarely holds more, and the CASE stays well under
# every database's limit of bound parameters.
_UPDATE_CHUNK = 5000


def match_receipts(session: Session, receipts: Sequence[Mapping[str, Any]],
                   now: datetime) -> Counter[str]:
    """Mark met the expectations that ``receipts`` (just stored) answer; count the rest.

    Return, by provider, the final receipts of accounts that use expectations for which
    no expectation exists (the sender never registered the send). Accounts that never
    registered one cost nothing: the account rows are those ingest already loaded. For
    the others, two statements per batch: one read of the expectations of the batch's
    message ids, one UPDATE of those met, guarded on their state so that a sweep or a
    second worker racing this one never meets an expectation twice.
    """
    finals = [r for r in receipts if rules.is_final(r)]
    if not finals:
        return Counter()
    using = set()
    for account_id in {r["account_id"] for r in finals}:
        # The identity map holds the accounts ingest read: no query.
        account = session.get(ProviderAccount, account_id)
        if account is not None and account.expectations_since is not None:
            using.add(account_id)
    finals = [r for r in finals if r["account_id"] in using]
    if not finals:
        return Counter()
    found = session.execute(
        select(EXPECTATIONS.c.id, EXPECTATIONS.c.account_id, EXPECTATIONS.c.message_id,
               EXPECTATIONS.c.phone_key, EXPECTATIONS.c.state)
        .where(EXPECTATIONS.c.account_id.in_(sorted(using)),
               EXPECTATIONS.c.message_id.in_(sorted({r["message_id"] for r in finals}))))
    waiting = [rules.Waiting(r.id, r.account_id, r.message_id, r.phone_key, r.state)
               for r in found]
    result = rules.match(finals, waiting)
    # A receipt after the deadline: the expectation stops counting as missing too.
    late = {w.id for w in waiting if w.state == ExpectationState.missing.value}
    tally.meet_late(session, {i: r for i, r in result.met.items() if i in late}, now)
    mark_met(session, result.met, now)
    return Counter(r["provider"] for r in result.unmatched)


def mark_met(session: Session, met: Mapping[str, str], now: datetime) -> None:
    """Set expectations met by their receipt, unless already met (by a racing worker)."""
    ids = list(met)
    for start in range(0, len(ids), _UPDATE_CHUNK):
        chunk = ids[start:start + _UPDATE_CHUNK]
        session.execute(
            update(EXPECTATIONS)
            .where(EXPECTATIONS.c.id.in_(chunk), EXPECTATIONS.c.state.in_(rules.WAITING))
            .values(state=ExpectationState.met.value, met_at=now,
                    receipt_id=case({i: met[i] for i in chunk}, value=EXPECTATIONS.c.id)))
