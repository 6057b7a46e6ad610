"""A test's rows are seen by everything it runs and gone when it ends, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from dlrhub.models import Tenant, make_engine, make_session_factory
from tests.rollback import RolledBackDatabase

TENANT = Tenant.__table__  # type: ignore[attr-defined]
pytestmark = pytest.mark.dialects


@pytest.fixture
def database(db_url: str) -> Iterator[RolledBackDatabase]:
    database = RolledBackDatabase(db_url)
    yield database
    database.close()


def row(name: str) -> dict[str, Any]:
    return Tenant(name=name).model_dump()


def names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(TENANT.c.name)).scalars())


def test_commits_inside_are_seen_and_everything_is_gone_after(
        database: RolledBackDatabase, db_url: str) -> None:
    outside = make_engine(db_url)
    with database.transaction() as engine:
        sessions = make_session_factory(engine)
        held = sessions()
        held.add(Tenant(name="flushed"))
        held.flush()
        with sessions() as session:
            session.add(Tenant(name="committed"))
            session.commit()
        with sessions() as session:
            session.add(Tenant(name="rolled back"))
            session.flush()
            session.rollback()
        # The callback endpoint's one-statement insert: kept when its connection closes.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(insert(TENANT), [row("autocommitted")])

        assert names(engine) == ["autocommitted", "committed", "flushed"]
        assert names(outside) == []
        held.close()
    assert names(outside) == []
    outside.dispose()


def test_rows_another_connection_committed_are_emptied_before_the_next_test(
        database: RolledBackDatabase, db_url: str) -> None:
    outside = make_engine(db_url)
    with outside.begin() as conn:
        conn.execute(insert(TENANT), [row("left behind")])

    with database.transaction() as engine, engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TENANT)).scalar_one() == 0
    outside.dispose()
