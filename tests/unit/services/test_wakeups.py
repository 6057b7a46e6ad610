"""Wake-ups held on a session go out once it commits, never after a rollback."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from dlrhub.models import make_engine, make_session_factory
from dlrhub.services.wakeups import after_commit, bind


class Recorded:
    """A Wakeups that notes what it was told."""

    def __init__(self, *, broken: bool = False) -> None:
        self.calls: list[tuple[str, object]] = []
        self.broken = broken

    def inbox_ready(self, inbox_ids: Sequence[str], records: int = 1) -> None:
        self._note("inbox", (list(inbox_ids), records))

    def deliveries_ready(self, planned: Sequence[tuple[str, str]], *,
                         countdown: float = 0) -> None:
        self._note("deliveries", (list(planned), countdown))

    def endpoint_ready(self, endpoint_id: str, *, countdown: float, limit: int) -> None:
        self._note("endpoint", (endpoint_id, countdown, limit))

    def _note(self, name: str, args: object) -> None:
        if self.broken:
            raise ConnectionError("the broker is down")
        self.calls.append((name, args))


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'wake.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE work (id INTEGER PRIMARY KEY)"))
    yield make_session_factory(engine)
    engine.dispose()  # Python 3.13 warns of a connection left to the garbage collector


def test_a_wake_up_is_sent_after_the_commit_and_not_before(
        sessions: sessionmaker[Session]) -> None:
    told = Recorded()
    with bind(sessions, told)() as session:
        session.execute(text("INSERT INTO work (id) VALUES (1)"))
        after_commit(session).deliveries_ready([("ep_1", "dlv_1")], countdown=5)
        after_commit(session).inbox_ready(["inb_1"], 3)
        after_commit(session).endpoint_ready("ep_2", countdown=1, limit=1)
        assert told.calls == []  # a worker woken now could not see the row yet
        session.commit()
        assert told.calls == [("deliveries", ([("ep_1", "dlv_1")], 5)),
                              ("inbox", (["inb_1"], 3)), ("endpoint", ("ep_2", 1, 1))]
        session.commit()  # a later commit does not send them again
        assert len(told.calls) == 3


def test_a_wake_up_is_dropped_when_the_session_rolls_back(
        sessions: sessionmaker[Session]) -> None:
    told = Recorded()
    with bind(sessions, told)() as session:
        session.execute(text("INSERT INTO work (id) VALUES (1)"))
        after_commit(session).deliveries_ready([("ep_1", "dlv_1")])
        session.rollback()
        session.execute(text("INSERT INTO work (id) VALUES (2)"))
        session.commit()  # the next transaction of the session wakes nothing
    with bind(sessions, told)() as session:
        after_commit(session).deliveries_ready([("ep_1", "dlv_2")])
    # Closed without a commit: dropped as well.
    assert told.calls == []


def test_a_lost_wake_up_does_not_undo_the_commit(sessions: sessionmaker[Session]) -> None:
    with bind(sessions, Recorded(broken=True))() as session:
        session.execute(text("INSERT INTO work (id) VALUES (1)"))
        after_commit(session).deliveries_ready([("ep_1", "dlv_1")])
        session.commit()  # the broker is down: the sweep finds the work instead
    with sessions() as session:
        assert session.execute(text("SELECT count(*) FROM work")).scalar() == 1


def test_an_unbound_session_wakes_nobody(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        after_commit(session).deliveries_ready([("ep_1", "dlv_1")])
        session.commit()
        assert session.info == {}
