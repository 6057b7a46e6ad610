"""The console's sign-in limit: so many wrong keys per client address per window.

Each wrong key is a row (``console_signin_failure``) of the keyed hash of the address it
came from, never the address itself nor the key tried. An address with ``attempts``
failures in the last ``window`` is refused (the form answers 429) whatever it posts,
a right key included, until its oldest failure leaves the window; other addresses are
not affected. The rows are in the database, not in a process, so every API worker
(``DLRHUB_API_WORKERS``) counts the same failures; a failure is one insert, with no
row to update in place, so workers failing at once never contend for a lock.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlmodel import Session

from dlrhub.models import CONSOLE_SIGNIN_FAILURE_TABLE, ConsoleSignInFailure

FAILURES = CONSOLE_SIGNIN_FAILURE_TABLE


@dataclass(frozen=True)
class SignInLimit:
    """How many wrong keys an address may post within ``window``."""

    attempts: int = 10
    window: timedelta = timedelta(minutes=1)


def client_hash(secret_key: str, address: str) -> str:
    """Return the keyed hash an address is counted by (the address is not kept)."""
    return hmac.new(secret_key.encode(), b"signin:" + address.encode(),
                    hashlib.sha256).hexdigest()


def blocked(session: Session, limit: SignInLimit, *, client: str, now: datetime) -> bool:
    """Tell whether ``client`` posted ``limit.attempts`` wrong keys within the window."""
    count = session.execute(
        select(func.count()).select_from(FAILURES)
        .where(FAILURES.c.client_hash == client, FAILURES.c.at > now - limit.window)
    ).scalar_one()
    return int(count) >= limit.attempts


def record_failure(session: Session, limit: SignInLimit, *, client: str,
                   now: datetime) -> None:
    """Count a wrong key of ``client``; failures that left the window go (the caller commits)."""
    session.execute(delete(FAILURES).where(FAILURES.c.at <= now - limit.window))
    session.add(ConsoleSignInFailure(client_hash=client, at=now))
    session.flush()
