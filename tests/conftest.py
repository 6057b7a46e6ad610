"""Shared fixtures: real PostgreSQL, Redis and SQLite databases, apps and factories.

Tests that need PostgreSQL or Redis use the real servers named by
``DLRHUB_TEST_DATABASE_URL`` and ``DLRHUB_TEST_REDIS_URL``. Where those are not
running (a laptop) the tests skip and say why; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError

from dlrhub.config import Settings
from dlrhub.models import make_engine
from dlrhub.models.migrate import upgrade
from dlrhub.services.runtime import Runtime
from tests.factories import bind_session

PG_URL = os.environ.get("DLRHUB_TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/dlrhub_test")
REDIS_URL = os.environ.get("DLRHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TABLES = ("attempt", "delivery", "endpoint", "message", "receipt", "inbound_callback",
          "provider_account", "api_key", "tenant")


def _unavailable(what: str, url: str, ex: Exception) -> None:
    message = f"{what} is not reachable at {url} ({type(ex).__name__}: {ex})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(f"{message}; start it or set the DLRHUB_TEST_* URL to run these tests")


def wipeable(url: str) -> str:
    """Return the database name of ``url``, or fail if it does not say it is for tests.

    The suite drops the whole schema of its database: a URL pointed at real data by
    mistake (a copied environment, a typo) must stop it before anything is dropped.
    """
    name = make_url(url).database or ""
    if "test" not in name.lower() or not re.fullmatch(r"\w+", name):
        pytest.exit(f"refusing to wipe the database {name!r} of DLRHUB_TEST_DATABASE_URL: "
                    "the test suite only wipes a database whose name (letters, digits, _) "
                    "contains 'test'",
                    returncode=4)
    return name


def _create_if_missing(url: str, name: str) -> None:
    """Create the test database on first use, from the server's maintenance database."""
    server = create_engine(make_url(url).set(database="postgres"),
                           isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": name}).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        server.dispose()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """Return the URL of a migrated, empty PostgreSQL test database (made if missing)."""
    name = wipeable(PG_URL)
    try:
        _create_if_missing(PG_URL, name)
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except OperationalError as ex:
        _unavailable("PostgreSQL", PG_URL, ex)
    upgrade(PG_URL)
    return PG_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Return the URL of an emptied Redis test database."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.flushdb()
        client.close()
    except redis.exceptions.ConnectionError as ex:
        _unavailable("Redis", REDIS_URL, ex)
    return REDIS_URL


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the URL of a migrated SQLite database file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'dlrhub.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Run a test once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url


def truncate(engine: Engine) -> None:
    """Empty every table, children first.

    The end-to-end stack's worker may still be settling a test's last deliveries;
    if its locks and TRUNCATE's meet in a deadlock, PostgreSQL aborts one of them,
    and truncating again is all it takes.
    """
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
                else:
                    for table in TABLES:
                        conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
            return
        except DBAPIError:
            if attempt == 4:
                raise
            time.sleep(0.2)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Return settings on the test database, with the embedded broker in ``tmp_path``."""
    return Settings(data_dir=tmp_path, database_url=db_url,
                    secret_key="test-secret-key", admin_token="test-admin-token")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """Return a runtime on emptied tables; factories write through its session."""
    rt = Runtime.build(settings)
    truncate(rt.engine)
    with rt.sessions() as session:
        bind_session(session, rt.box)
        yield rt
    rt.close()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """Return an engine on the emptied PostgreSQL test database."""
    engine = make_engine(pg_url)
    truncate(engine)
    yield engine
    engine.dispose()
