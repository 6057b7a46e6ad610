"""Receipt export in constant memory, and `dlrhub receipt export`.

The HTTP route's filters and forms are tested with the receipt list, in
tests/functional/test_receipts_api.py.
"""

from __future__ import annotations

import csv
import tracemalloc
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from dlrhub.cli.main import cli
from dlrhub.config import get_settings
from dlrhub.models import dialect, new_id, utcnow
from dlrhub.services import export
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory

pytestmark = pytest.mark.commits


def _store(runtime: Runtime, tenant_id: str, account_id: str, count: int) -> None:
    now = utcnow()
    rows = [{
        "id": new_id("evt"), "tenant_id": tenant_id, "account_id": account_id,
        "inbox_id": "inb_bulk", "type": "sms.status", "provider": "tencent",
        "message_id": f"m-{i}", "reference": None, "phone": f"+86138{i:08d}",
        "status": "delivered", "provider_status": "SUCCESS", "error_code": None,
        "error_message": None, "segments": 1, "sequence": None, "part": None, "price": None,
        "submitted_at": None, "reported_at": now, "received_at": now - timedelta(seconds=i),
        "text": None, "raw": {"sid": f"m-{i}", "pad": "x" * 200}, "dedupe_key": f"k-{i}",
        "reason_class": None, "retryable": None, "country": "CN", "carrier": "china_mobile",
        "synthetic": False, "details": None} for i in range(count)]
    with runtime.sessions() as session:
        for start in range(0, count, 5000):
            dialect.insert_receipts(session, rows[start:start + 5000])
        session.commit()


def _peak(runtime: Runtime, tenant_id: str, fmt: str) -> tuple[int, int]:
    """Stream the tenant's export; return its lines and the peak of memory allocated."""
    stream = export.lines(fmt, export.documents(runtime.sessions, tenant_id, {}))
    tracemalloc.start()
    try:
        count = sum(chunk.count(b"\n") for chunk in stream)
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_an_export_holds_a_page_in_memory_not_the_whole_set(runtime: Runtime,
                                                            fmt: str) -> None:
    small, large = AccountFactory(provider="tencent"), AccountFactory(provider="tencent")
    _store(runtime, small.account.tenant_id, small.account.id, 2_000)
    _store(runtime, large.account.tenant_id, large.account.id, 12_000)
    header = 1 if fmt == "csv" else 0
    count_small, peak_small = _peak(runtime, small.account.tenant_id, fmt)
    count_large, peak_large = _peak(runtime, large.account.tenant_id, fmt)
    assert (count_small, count_large) == (2_000 + header, 12_000 + header)
    # Six times the receipts, about the same memory: a page at a time (a set held whole
    # would need six times as much).
    assert peak_large < 1.5 * peak_small, (peak_small, peak_large)


def test_the_command_writes_the_same_stream(runtime: Runtime, db_url: str,
                                            tmp_path: Any) -> None:
    new = AccountFactory(provider="tencent")
    _store(runtime, new.account.tenant_id, new.account.id, 1_200)
    env = {"DLRHUB_DATABASE_URL": db_url, "DLRHUB_DATA_DIR": str(tmp_path),
           "DLRHUB_SECRET_KEY": "test-secret-key"}
    out = tmp_path / "r.csv"
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["receipt", "export", "--tenant", new.account.tenant_id,
                                      "--format", "csv", "-o", str(out)], env=env)
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1_200
    assert rows[0]["message_id"] == "m-0"  # newest first
    missing = CliRunner().invoke(cli, ["receipt", "export", "--tenant", "ten_nobody"],
                                 env=env)
    get_settings.cache_clear()
    assert missing.exit_code == 1
