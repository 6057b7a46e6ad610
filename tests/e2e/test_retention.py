"""Retention end to end: the real beat sends the purge, a real worker runs it, one at a time.

On the embedded default (SQLite, file lock); the PostgreSQL advisory lock and the purge
itself on PostgreSQL are tested in tests/functional/test_retention.py and test_onlyone.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dlrhub.config import Settings
from dlrhub.models import INBOX_TABLE, RECEIPT_TABLE, utcnow
from dlrhub.models.migrate import upgrade
from dlrhub.services.onlyone import only_one
from dlrhub.services.runtime import Runtime
from dlrhub.tasks.purge import LOCK
from tests.factories import AccountFactory, InboundCallbackFactory, ReceiptFactory, bind_session
from tests.processes import Process, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """The embedded default in its own folder: SQLite and the file broker.

    Its own database and broker, not the shared test ones: the package's e2e stack runs
    on those with its sweeper and workers, which would ingest this test's old pending
    callback and take some of its beat's purge tasks.
    """
    settings = Settings(data_dir=tmp_path, secret_key="e2e-secret-key")
    upgrade(settings.effective_database_url)
    runtime = Runtime.build(settings)
    with runtime.sessions() as session:
        bind_session(session, runtime.box, commit=True)
        yield runtime
    runtime.close()


def worker(data: Path) -> Process:
    env = {"DLRHUB_DATA_DIR": str(data), "DLRHUB_SECRET_KEY": "e2e-secret-key",
           "DLRHUB_PURGE_INTERVAL": "1", "DLRHUB_LOG_LEVEL": "INFO"}
    return Process(["worker", "--beat", "--concurrency", "1"], env, data / "worker.log")


def test_the_beat_purges_what_expired_and_never_two_runs_at_once(
        rt: Runtime, tmp_path: Path) -> None:
    account = AccountFactory(provider="tencent").account
    old = ReceiptFactory(account=account, received_at=utcnow() - timedelta(days=181))
    new = ReceiptFactory(account=account, received_at=utcnow() - timedelta(days=1))
    waiting = InboundCallbackFactory(account=account,
                                     received_at=utcnow() - timedelta(days=400))

    def receipts() -> set[str]:
        # This account's only: the package's e2e stack shares the database, and its
        # beat may store events of its own meanwhile.
        with rt.engine.connect() as conn:
            return set(conn.execute(select(RECEIPT_TABLE.c.id).where(
                RECEIPT_TABLE.c.account_id == account.id)).scalars())

    proc = worker(tmp_path)
    # Another purge holds the lock: the worker's runs step aside and delete nothing.
    with only_one(rt.engine, LOCK, tmp_path) as held:
        assert held
        proc.start()
        try:
            wait_for(lambda: "another purge is running" in proc.output(), 60,
                     "a purge run to step aside")
            assert receipts() == {old.id, new.id}
        except BaseException:
            proc.stop()
            raise
    try:
        wait_for(lambda: receipts() == {new.id}, 60, "the expired receipt to be purged")
        wait_for(lambda: "purge done" in proc.output(), 30, "the purge's log line")
    finally:
        proc.stop()
    with rt.engine.connect() as conn:
        # A pending callback is never purged, however old.
        assert conn.execute(select(INBOX_TABLE.c.id)).scalars().all() == [waiting.id]
    # The log says how many rows went, never which tenant's.
    assert account.tenant_id not in proc.output()
    assert "receipt 1" in proc.output()
