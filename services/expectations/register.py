"""Store what a tenant sent (one, a thousand, or a stream in chunks) and list it back.

Every function on tenant data takes ``tenant_id`` and scopes its query by it: another
tenant's account is as unknown as one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session

from dlrhub.models import (
    ACCOUNT_TABLE,
    EXPECTATION_TABLE,
    RECEIPT_TABLE,
    EventType,
    Expectation,
    ExpectationState,
    ProviderAccount,
    ReceiptStatus,
    dialect,
    new_id,
)
from dlrhub.providers.common import e164
from dlrhub.services.errors import InvalidInput, NotFound
from dlrhub.services.expectations import rules, tally
from dlrhub.services.expectations.matching import mark_met
from dlrhub.services.pagination import newest_by_id

EXPECTATIONS = EXPECTATION_TABLE
RECEIPTS = RECEIPT_TABLE


@dataclass(frozen=True)
class NewExpectation:
    """One message the tenant says it sent, as the API or a stream line gives it."""

    account_id: str
    message_id: str
    phone: str | None = None
    sent_at: datetime | None = None
    deadline_seconds: int | None = None
    template: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class Stored:
    """What storing a chunk did: the ids created, by their position in the chunk."""

    created: dict[int, str]
    duplicates: int


def live_accounts(session: Session, *, tenant_id: str,
                  ids: Iterable[str]) -> dict[str, ProviderAccount]:
    """Return the tenant's live accounts among ``ids``, by id (others are left out)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    table = ACCOUNT_TABLE
    rows = session.execute(select(ProviderAccount).where(
        table.c.tenant_id == tenant_id, table.c.id.in_(wanted),
        table.c.deleted_at.is_(None))).scalars()
    return {a.id: a for a in rows}


@dataclass(frozen=True)
class Sender:
    """What registering reads of an account, read once per request rather than per row.

    (An ORM object's attributes cost a descriptor call each, six per row.)
    """

    tenant_id: str
    id: str
    provider: str
    deadline_seconds: int
    horizon_seconds: int
    default_region: str | None
    # Whether the account has registered expectations before.
    using: bool

    @classmethod
    def of(cls, account: ProviderAccount) -> Sender:
        """Return the registration's view of ``account``."""
        return cls(account.tenant_id, account.id, account.provider,
                   account.expectation_deadline_seconds, account.expectation_horizon_seconds,
                   account.default_region, account.expectations_since is not None)


def live_senders(session: Session, *, tenant_id: str,
                 ids: Iterable[str]) -> dict[str, Sender]:
    """Return the tenant's live accounts among ``ids`` as registration reads them, by id."""
    return {i: Sender.of(a) for i, a in live_accounts(session, tenant_id=tenant_id,
                                                        ids=ids).items()}


def build_row(item: NewExpectation, account: Sender, now: datetime) -> dict[str, Any]:
    """Return the row of one expectation, or raise ``InvalidInput`` naming the field.

    The phone is read as the account's receipts read theirs (E.164 with the account's
    default region), so that ``13800000000`` meets a receipt to ``+8613800000000``.
    """
    sent_at = rules.check_sent_at(item.sent_at or now, now)
    seconds = rules.check_seconds(
        "deadline_seconds", item.deadline_seconds or account.deadline_seconds)
    when = rules.due(sent_at, seconds, account.horizon_seconds)
    phone = _phone(item.phone, account.default_region)
    if phone is not None and len(phone) > 64:
        raise InvalidInput("phone", "is longer than 64 characters")
    return {
        "id": new_id("exp"), "tenant_id": account.tenant_id, "account_id": account.id,
        "provider": account.provider, "message_id": item.message_id, "phone": phone,
        "phone_key": rules.phone_key(phone), "sent_at": sent_at,
        "deadline_at": when.deadline_at, "horizon_at": when.horizon_at,
        "template": item.template, "reference": item.reference,
        "state": _PENDING, "missing_at": None, "synthetic_at": None,
        "met_at": None, "receipt_id": None, "created_at": now,
    }


_PENDING = ExpectationState.pending.value


# "+" and digits: already what a receipt stores, and parsing it (a tenth of a
# millisecond) would be most of what a registration costs.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def _phone(given: str | None, region: str | None) -> str | None:
    if not given:
        return None
    if _E164.fullmatch(given):
        return given
    return e164(given, region=region)


def store(session: Session, rows: Sequence[dict[str, Any]], now: datetime, *,
          using: Iterable[str] = ()) -> Stored:
    """Insert expectation rows in bulk; an already registered send is a duplicate.

    Registering the same (account, message id, phone) again changes nothing, so a
    client may resend a chunk after a time-out. A final receipt that came before its
    expectation (a fast provider, a late registration) meets it here at once. A few
    statements per chunk whatever its size: the insert, the aggregate's upsert, the
    receipts already in, and the accounts that start using expectations (left out for
    the accounts of ``using``, known to have started).
    """
    if not rows:
        return Stored({}, 0)
    first: dict[tuple[str, str, str], int] = {}
    for at, row in enumerate(rows):
        first.setdefault((row["account_id"], row["message_id"], row["phone_key"]), at)
    unique = [rows[at] for at in first.values()]
    inserted = dialect.insert_expectations(session, unique)
    created = {at: rows[at]["id"] for at in first.values() if rows[at]["id"] in inserted}
    new_rows = [r for r in unique if r["id"] in inserted]
    tally.registered(session, new_rows)
    _meet_from_stored_receipts(session, new_rows, now)
    _start_using(session, {r["account_id"] for r in new_rows} - set(using), now)
    return Stored(created, len(rows) - len(created))


def _meet_from_stored_receipts(session: Session, rows: Sequence[dict[str, Any]],
                               now: datetime) -> None:
    if not rows:
        return
    found = session.execute(
        select(RECEIPTS.c.id, RECEIPTS.c.account_id, RECEIPTS.c.message_id,
               RECEIPTS.c.phone, RECEIPTS.c.type, RECEIPTS.c.status, RECEIPTS.c.synthetic)
        .where(RECEIPTS.c.tenant_id == rows[0]["tenant_id"],
               dialect.one_of(session, RECEIPTS.c.message_id, (r["message_id"] for r in rows)),
               dialect.one_of(session, RECEIPTS.c.account_id, (r["account_id"] for r in rows)),
               RECEIPTS.c.type == EventType.status.value,
               RECEIPTS.c.status.not_in([ReceiptStatus.pending.value]))
        .order_by(RECEIPTS.c.received_at, RECEIPTS.c.id)).mappings().all()
    finals = [dict(r) for r in found if rules.is_final(dict(r))]
    if finals:
        waiting = [rules.Waiting(r["id"], r["account_id"], r["message_id"], r["phone_key"],
                                 r["state"]) for r in rows]
        mark_met(session, rules.match(finals, waiting).met, now)


def _start_using(session: Session, account_ids: set[str], now: datetime) -> None:
    # From now on the account's receipts without an expectation count as unmatched.
    if account_ids:
        table = ACCOUNT_TABLE
        session.execute(update(table).where(table.c.id.in_(sorted(account_ids)),
                                            table.c.expectations_since.is_(None))
                        .values(expectations_since=now))


def existing(session: Session, *, tenant_id: str,
             keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], Expectation]:
    """Return the tenant's stored expectations of (account, message id, phone key)."""
    wanted = set(keys)
    if not wanted:
        return {}
    found = session.execute(select(Expectation).where(
        EXPECTATIONS.c.tenant_id == tenant_id,
        dialect.one_of(session, EXPECTATIONS.c.account_id, (k[0] for k in wanted)),
        dialect.one_of(session, EXPECTATIONS.c.message_id, (k[1] for k in wanted)))).scalars()
    by_key = {(e.account_id, e.message_id, e.phone_key): e for e in found}
    return {k: e for k, e in by_key.items() if k in wanted}


def get_many(session: Session, ids: Sequence[str]) -> dict[str, Expectation]:
    """Return the expectations of ``ids`` (just stored by the caller), by id."""
    if not ids:
        return {}
    rows = session.execute(select(Expectation).where(
        dialect.one_of(session, EXPECTATIONS.c.id, ids)))
    return {e.id: e for e in rows.scalars()}


def list_expectations(session: Session, *, tenant_id: str, state: str | None = None,
                      account_id: str | None = None, message_id: str | None = None,
                      limit: int = 50, after: str | None = None
                      ) -> tuple[list[Expectation], str | None]:
    """Return a tenant's expectations, newest first, and the cursor of the next page.

    An ``account_id`` of another tenant (or of none) is ``NotFound``, as on every route.
    """
    if account_id is not None and not live_accounts(session, tenant_id=tenant_id,
                                                    ids=[account_id]):
        raise NotFound(f"no account {account_id}")
    query = select(Expectation).where(EXPECTATIONS.c.tenant_id == tenant_id)
    for column, value in (("state", state), ("account_id", account_id),
                          ("message_id", message_id)):
        if value is not None:
            query = query.where(EXPECTATIONS.c[column] == value)
    return newest_by_id(session, query, EXPECTATIONS.c.id, limit=limit, after=after)


def count_in_state(session: Session, *, tenant_id: str, state: str, cap: int = 10_000) -> int:
    """Return how many of the tenant's expectations are in ``state``, counting at most
    ``cap`` + 1 (a caller shows "more than ``cap``"): an index range, never the table."""
    capped = (select(EXPECTATIONS.c.id)
              .where(EXPECTATIONS.c.tenant_id == tenant_id, EXPECTATIONS.c.state == state)
              .limit(cap + 1).subquery())
    return int(session.execute(select(func.count()).select_from(capped)).scalar_one())


def document(exp: Expectation) -> dict[str, Any]:
    """Return an expectation as the API answers it."""
    return {
        "id": exp.id, "account_id": exp.account_id, "provider": exp.provider,
        "message_id": exp.message_id, "phone": exp.phone, "sent_at": exp.sent_at,
        "deadline_at": exp.deadline_at, "horizon_at": exp.horizon_at,
        "template": exp.template, "reference": exp.reference, "state": exp.state,
        "late": exp.state == ExpectationState.met and exp.missing_at is not None,
        "missing_at": exp.missing_at, "synthetic_at": exp.synthetic_at,
        "met_at": exp.met_at, "receipt_id": exp.receipt_id, "created_at": exp.created_at,
    }


def key_of(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """Return the unique key of an expectation row."""
    return (row["account_id"], row["message_id"], row["phone_key"])
