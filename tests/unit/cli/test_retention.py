"""``dlrhub purge`` and ``dlrhub tenant retention``, on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from dlrhub.cli.main import cli
from dlrhub.config import get_settings
from dlrhub.models import RECEIPT_TABLE, utcnow
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory, ReceiptFactory

# The command builds its engine from DLRHUB_DATABASE_URL: it reads committed rows only.
pytestmark = [pytest.mark.commits, pytest.mark.dialects]


@pytest.fixture
def run(runtime: Runtime, db_url: str, tmp_path: Path) -> Iterator[Any]:
    env = {"DLRHUB_DATABASE_URL": db_url, "DLRHUB_DATA_DIR": str(tmp_path),
           "DLRHUB_SECRET_KEY": "test-secret-key"}

    def invoke(*args: str) -> Result:
        get_settings.cache_clear()
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    yield invoke
    get_settings.cache_clear()


def receipts(runtime: Runtime) -> set[str]:
    with runtime.engine.connect() as conn:
        return set(conn.execute(select(RECEIPT_TABLE.c.id)).scalars())


def test_the_dry_run_says_what_would_go_and_the_purge_deletes_it(run: Any,
                                                                 runtime: Runtime) -> None:
    account = AccountFactory(provider="tencent").account
    ReceiptFactory(account=account, received_at=utcnow() - timedelta(days=181))
    new = ReceiptFactory(account=account, received_at=utcnow() - timedelta(days=179))

    dry = run("purge", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert re.search(r"^receipt +would delete 1$", dry.stdout, re.MULTILINE), dry.stdout
    assert len(receipts(runtime)) == 2

    done = run("purge", "--json")
    assert done.exit_code == 0, done.stderr
    doc = orjson.loads(done.stdout)
    assert (doc["dry_run"], doc["deleted"]["receipt"]) == (False, 1)
    assert receipts(runtime) == {new.id}


def test_an_unknown_tenant_is_an_error(run: Any) -> None:
    result = run("purge", "--tenant", "ten_nobody")
    assert result.exit_code == 1
    assert "dlrhub: no tenant ten_nobody" in result.stderr


def test_the_admin_sets_and_reads_a_tenants_periods(run: Any) -> None:
    tenant_id = AccountFactory(provider="tencent").account.tenant_id

    shown = orjson.loads(run("tenant", "retention", tenant_id, "--json").stdout)
    assert shown["receipts"] == {"days": 180, "default": True}

    set_ = run("tenant", "retention", tenant_id, "--receipts", "365", "--inbox", "7",
               "--json")
    assert set_.exit_code == 0, set_.stderr
    doc = orjson.loads(set_.stdout)
    assert (doc["receipts"], doc["inbox"]) == ({"days": 365, "default": False},
                                               {"days": 7, "default": False})
    back = orjson.loads(run("tenant", "retention", tenant_id, "--receipts", "default",
                            "--json").stdout)
    assert (back["receipts"], back["inbox"]) == ({"days": 180, "default": True},
                                                 {"days": 7, "default": False})


@pytest.mark.parametrize("bad", ["0", "3651", "1.5", "forever"])
def test_a_period_out_of_range_is_refused_before_anything_runs(run: Any, bad: str) -> None:
    result = run("tenant", "retention", "ten_x", "--inbox", bad)
    assert result.exit_code == 2
    assert "--inbox" in result.stderr
