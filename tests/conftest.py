"""Shared fixtures: real PostgreSQL, Redis and SQLite databases, apps and factories.

Tests that need PostgreSQL or Redis use the real servers named by
``DLRHUB_TEST_DATABASE_URL`` and ``DLRHUB_TEST_REDIS_URL``. Where those are not
running (a laptop) the tests skip and say why; under ``CI=true`` they fail instead.

Which database: a test that asks for ``db_url`` (or ``settings``, ``runtime``,
``client``) runs on one database, PostgreSQL (what production runs) or, where it is not
reachable and ``CI`` is not set, SQLite. A test whose outcome depends on the SQL dialect
(the bulk insert, locks, the sweep's scans, migrations, date arithmetic: anything of
``dlrhub.models.dialect``) is marked ``@pytest.mark.dialects`` and runs on both.

Isolation: ``runtime`` runs each test in one transaction rolled back at its end (see
``tests/rollback.py``); the factories only flush. A test whose data must really be
committed, because another connection reads it (a subprocess, the CLI's own engine, a
worker, Alembic), is marked ``@pytest.mark.commits``: its runtime is a plain one on
truncated tables, and its factories commit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from dlrhub.config import Settings
from dlrhub.models import make_engine, make_session_factory
from dlrhub.models.migrate import upgrade
from dlrhub.services.crypto import SecretBox
from dlrhub.services.runtime import Runtime
from tests.factories import bind_session
from tests.rollback import TABLES, RolledBackDatabase, truncate

__all__ = ["TABLES", "truncate", "wipeable"]

PG_URL = os.environ.get("DLRHUB_TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/dlrhub_test")
REDIS_URL = os.environ.get("DLRHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BOTH_DIALECTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests marked ``dialects`` on SQLite and on PostgreSQL.

    A test that parametrizes ``db_url`` itself (``indirect=True``) keeps its own choice.
    """
    if "db_url" not in metafunc.fixturenames or \
            metafunc.definition.get_closest_marker("dialects") is None:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if "db_url" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return
    metafunc.parametrize("db_url", BOTH_DIALECTS, indirect=True)


@pytest.fixture
def db_url(request: pytest.FixtureRequest) -> str:
    """Return the test's database: the one of its parameter, else the default one.

    The default is PostgreSQL, or SQLite where PostgreSQL is not reachable (never under
    ``CI=true``, where PostgreSQL's absence fails the run).
    """
    name = getattr(request, "param", None)
    if name is not None:
        url: str = request.getfixturevalue("sqlite_url" if name == "sqlite" else "pg_url")
        return url
    try:
        url = request.getfixturevalue("pg_url")
    except pytest.skip.Exception:
        url = request.getfixturevalue("sqlite_url")
    return url


@pytest.fixture(scope="session")
def rolled_back() -> Iterator[dict[str, RolledBackDatabase]]:
    """Return this run's rolled-back databases by URL, each opened on first use."""
    databases: dict[str, RolledBackDatabase] = {}
    yield databases
    for database in databases.values():
        database.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Return settings on the test database, with the embedded broker in ``tmp_path``."""
    # No API rate limit: tests call in tight loops; tests/functional/test_rate_limit.py
    # sets its own.
    return Settings(data_dir=tmp_path, database_url=db_url,
                    secret_key="test-secret-key", admin_token="test-admin-token",
                    api_rate_limit=0)


@pytest.fixture
def runtime(request: pytest.FixtureRequest, settings: Settings, db_url: str,
            rolled_back: dict[str, RolledBackDatabase]) -> Iterator[Runtime]:
    """Return a runtime on empty tables; factories write through its session.

    Its engine works inside one transaction rolled back after the test, so the app, the
    services and the factories (which only flush) see each other's rows and nothing is
    left behind, at the cost of a ROLLBACK instead of a TRUNCATE. Marked ``commits``:
    a plain runtime on truncated tables, whose factories commit, for a test whose rows
    another connection must read; and for settings that a test pointed elsewhere.
    """
    url = settings.effective_database_url
    if request.node.get_closest_marker("commits") is not None or url != db_url:
        rt = Runtime.build(settings)
        truncate(rt.engine)
        with rt.sessions() as session:
            bind_session(session, rt.box, commit=True)
            yield rt
        truncate(rt.engine)
        rt.close()
        return
    if url not in rolled_back:
        rolled_back[url] = RolledBackDatabase(url)
    with rolled_back[url].transaction() as engine:
        rt = Runtime(settings, engine, make_session_factory(engine),
                     SecretBox(settings.secret_key))
        with rt.sessions() as session:
            bind_session(session, rt.box)
            yield rt


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """Return an engine on the emptied PostgreSQL test database."""
    engine = make_engine(pg_url)
    truncate(engine)
    yield engine
    engine.dispose()
