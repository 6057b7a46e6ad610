"""Tell the workers that work is ready, once the session that made it has committed.

The database is the record of work; a wake-up only saves the sweep's delay. Services
announce work through :func:`after_commit`: the calls are held on the session and
sent when it commits, dropped when it rolls back, so a worker never looks for rows
it cannot see yet. The composition roots bind their :class:`Wakeups` (the tasks
package implements it) to their session factory with :func:`bind`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = logging.getLogger(__name__)

S = TypeVar("S", bound=Session)

_WAKEUPS = "dlrhub.wakeups"  # session.info: the Wakeups the session's factory was bound to
_HELD = "dlrhub.wakeups.held"  # session.info: the calls waiting for the commit


class Wakeups(Protocol):
    """Where services say which work is ready; one implementation, in ``tasks``."""

    def inbox_ready(self, inbox_ids: Sequence[str], records: int = 1) -> None:
        """Announce inbox rows to ingest (``records``: about how many each holds, to batch)."""

    def deliveries_ready(self, planned: Sequence[tuple[str, str]], *,
                         countdown: float = 0) -> None:
        """Announce (endpoint, delivery) pairs due in ``countdown`` seconds."""

    def endpoint_ready(self, endpoint_id: str, *, countdown: float, limit: int) -> None:
        """Announce up to ``limit`` of the endpoint's due deliveries, in ``countdown`` seconds."""


def bind(sessions: sessionmaker[S], wakeups: Wakeups) -> sessionmaker[S]:
    """Return a copy of the factory ``sessions`` whose sessions wake ``wakeups``."""
    kw = dict(sessions.kw)
    kw["info"] = {**(kw.get("info") or {}), _WAKEUPS: wakeups}
    return sessionmaker(class_=sessions.class_, **kw)


def after_commit(session: Session) -> Wakeups:
    """Return the wake-ups of ``session``: held until it commits, dropped on rollback.

    A session whose factory was never bound (a unit test, a CLI command) drops them:
    the sweep finds the work all the same.
    """
    return _Held(session)


class _Held:
    """A :class:`Wakeups` that holds each call on the session until its commit."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def inbox_ready(self, inbox_ids: Sequence[str], records: int = 1) -> None:
        """Send ``inbox_ready`` after the commit."""
        self._hold(lambda w: w.inbox_ready(list(inbox_ids), records))

    def deliveries_ready(self, planned: Sequence[tuple[str, str]], *,
                         countdown: float = 0) -> None:
        """Send ``deliveries_ready`` after the commit."""
        if planned:
            self._hold(lambda w: w.deliveries_ready(list(planned), countdown=countdown))

    def endpoint_ready(self, endpoint_id: str, *, countdown: float, limit: int) -> None:
        """Send ``endpoint_ready`` after the commit."""
        self._hold(lambda w: w.endpoint_ready(endpoint_id, countdown=countdown, limit=limit))

    def _hold(self, call: Callable[[Wakeups], None]) -> None:
        if self._session.info.get(_WAKEUPS) is not None:
            self._session.info.setdefault(_HELD, []).append(call)


@event.listens_for(Session, "after_commit")
def _send_held(session: Session) -> None:
    held = session.info.pop(_HELD, None)
    if not held:
        return
    wakeups = session.info[_WAKEUPS]
    for call in held:
        try:
            call(wakeups)
        except Exception:  # a lost wake-up costs only time: the sweep finds the work
            log.warning("could not wake the workers; the sweep will", exc_info=True)


@event.listens_for(Session, "after_transaction_end")
def _drop_held(session: Session, transaction: SessionTransaction) -> None:
    # After a commit (whose wake-ups went out first) or a rollback, or a close.
    if transaction.parent is None:
        session.info.pop(_HELD, None)
