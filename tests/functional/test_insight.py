"""What receipts mean, on both databases: ingest fills reason class, retryable, country
and carrier; accounts override classes; receipts filter and stats count by class;
``reclassify`` applies a change to stored receipts; ``/v1/reason-classes`` lists them.

Receipts are made as production makes them: Tencent callbacks posted to the callback
endpoint, then ingested.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY
from sqlalchemy import select

from dlrhub.cli.main import cli
from dlrhub.cli.receipts import REASON_CLASSES
from dlrhub.config import get_settings
from dlrhub.models import RECEIPT_TABLE, ReasonClass, utcnow
from dlrhub.services.accounts import NewAccount
from dlrhub.services.ingest import ingest
from dlrhub.services.metrics import record_ingest
from dlrhub.services.reclassify import reclassify
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.factories import AccountFactory
from tests.functional.test_receipts_api import (
    Client,
    get,
    ingest_pending,
    key_for,
    post_callback,
    tencent,
)
from tests.unit.services.test_ingest import store_callback

CMCC, CT, CU = "13812345678", "18912345678", "13012345678"


def report(sid: str, mobile: str, errmsg: str, *, nation: str = "86") -> dict[str, str]:
    """Return a failed Tencent report whose errmsg is a carrier's code."""
    record = tencent(sid, mobile, "FAIL" if errmsg != "DELIVRD" else "SUCCESS",
                     "2024-01-02 03:04:05")
    record.update(errmsg=errmsg, nationcode=nation)
    return record


def store(client: Client, runtime: Runtime, new: NewAccount,
          records: list[dict[str, str]]) -> None:
    result = post_callback(client, new, orjson.dumps(records))
    assert result.status_code == 200, result.text
    ingest_pending(runtime)


def facts(runtime: Runtime) -> dict[str, tuple[Any, ...]]:
    """Return (status, reason_class, retryable, country, carrier) by message id."""
    t = RECEIPT_TABLE
    with runtime.sessions() as session:
        rows = session.execute(select(t.c.message_id, t.c.status, t.c.reason_class,
                                      t.c.retryable, t.c.country, t.c.carrier)).all()
    return {r[0]: tuple(r[1:]) for r in rows}


# Reclassify's bulk UPDATE and the columns' types differ by database.
pytestmark = pytest.mark.dialects


@pytest.fixture
def tx() -> NewAccount:
    return AccountFactory(provider="tencent")


def test_ingest_fills_class_retryable_country_and_carrier(client: Client, runtime: Runtime,
                                                          tx: NewAccount) -> None:
    store(client, runtime, tx, [
        report("a", CMCC, "MK:0005"),
        report("b", CT, "MK:0005"),
        report("c", CU, "DELIVRD"),
        report("d", CMCC, "NOT-A-CODE"),
        report("e", "138****0000", "DB:0141"),
        report("f", "7400123456", "MK:0005", nation="44"),
    ])

    assert facts(runtime) == {
        "a": ("failed", "invalid_number", False, "CN", "china_mobile"),
        "b": ("failed", "unreachable_powered_off", True, "CN", "china_telecom"),
        "c": ("delivered", None, None, "CN", "china_unicom"),
        "d": ("failed", "other_unknown", None, "CN", "china_mobile"),
        # Masked: kept as given, so neither country nor carrier; DB:0141 is a
        # blacklist whichever mainland carrier it is.
        "e": ("failed", "blacklisted", False, None, None),
        # MK:0005 means nothing certain outside the mainland carriers.
        "f": ("failed", "other_unknown", None, "GB", "three"),
    }


def test_the_receipt_counter_carries_the_reason_class(runtime: Runtime,
                                                      tx: NewAccount) -> None:
    # Tencent's simulator fails every 10th record with China Mobile's MK:0001.
    callback = build_callback("tencent", "http://x/", seq=1, batch=10, kind="status",
                              credentials={})
    labels = {"provider": "tencent", "status": "failed", "reason_class": "invalid_number"}
    before = REGISTRY.get_sample_value("dlrhub_receipts_total", labels) or 0.0
    with runtime.sessions() as session:
        inbox_id = store_callback(session, tx, seq=1, body=callback.body)
        done = ingest(session, runtime.box, [inbox_id], now=utcnow())
        session.commit()

    record_ingest(done)

    assert done.by_status == {("tencent", "delivered", ""): 9,
                              ("tencent", "failed", "invalid_number"): 1}
    assert REGISTRY.get_sample_value("dlrhub_receipts_total", labels) == before + 1


def test_an_accounts_overrides_are_set_checked_and_applied(
        client: Client, runtime: Runtime, tx: NewAccount) -> None:
    headers = key_for(runtime, tx.account.tenant_id)
    path = f"/v1/accounts/{tx.account.id}"

    bad = client.simulate_patch(path, headers=headers,
                                json={"reason_overrides": {"MK:0005": "bogus"}})
    changed = client.simulate_patch(path, headers=headers,
                                    json={"reason_overrides": {"mk:0005": "blacklisted"}})

    assert bad.status_code == 422, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "bogus" not in str(get(client, path, headers).json["reason_overrides"])
    assert changed.status_code == 200, changed.text
    assert changed.json["reason_overrides"] == {"MK:0005": "blacklisted"}
    store(client, runtime, tx, [report("a", CMCC, "MK:0005"), report("b", CMCC, "MK:0001")])
    assert facts(runtime)["a"][1:3] == ("blacklisted", False)
    assert facts(runtime)["b"][1] == "invalid_number"


def test_an_account_is_created_with_overrides_and_refused_an_unknown_class(
        client: Client, runtime: Runtime, tx: NewAccount) -> None:
    headers = key_for(runtime, tx.account.tenant_id)
    made = client.simulate_post("/v1/accounts", headers=headers, json={
        "provider": "aliyun", "name": "a", "reason_overrides": {"IB:0008": "rate_limited"}})
    refused = client.simulate_post("/v1/accounts", headers=headers, json={
        "provider": "aliyun", "name": "b", "reason_overrides": {"": "rate_limited"}})

    assert made.status_code == 201, made.text
    assert made.json["reason_overrides"] == {"IB:0008": "rate_limited"}
    assert refused.status_code == 422, refused.text
    assert refused.json["title"]


def test_receipts_filter_and_stats_count_by_reason_class(client: Client, runtime: Runtime,
                                                         tx: NewAccount) -> None:
    store(client, runtime, tx, [
        report("a", CMCC, "MK:0005"), report("b", CMCC, "MK:0001"),
        report("c", CT, "MK:0005"), report("d", CU, "DELIVRD"),
    ])
    headers = key_for(runtime, tx.account.tenant_id)

    invalid = get(client, "/v1/receipts", headers, reason_class="invalid_number")
    unknown_class = get(client, "/v1/receipts", headers, reason_class="nonsense")
    stats = get(client, "/v1/stats", headers)

    assert invalid.status_code == 200, invalid.text
    assert sorted(e["message_id"] for e in invalid.json["data"]) == ["a", "b"]
    assert {e["retryable"] for e in invalid.json["data"]} == {False}
    assert unknown_class.status_code == 422
    assert stats.json["by_reason_class"] == {"invalid_number": 2,
                                             "unreachable_powered_off": 1}
    assert stats.json["total"] == 4


def test_reclassify_applies_a_changed_override_to_stored_receipts(
        client: Client, runtime: Runtime, tx: NewAccount) -> None:
    other = AccountFactory(provider="tencent", tenant_id=tx.account.tenant_id)
    store(client, runtime, tx, [report(f"m{i}", CMCC, "MK:0005") for i in range(7)])
    store(client, runtime, other, [report("o", CMCC, "MK:0005")])
    headers = key_for(runtime, tx.account.tenant_id)
    client.simulate_patch(f"/v1/accounts/{tx.account.id}", headers=headers,
                          json={"reason_overrides": {"MK:0005": "blacklisted"}})

    first = reclassify(runtime.sessions, batch=3)
    again = reclassify(runtime.sessions, batch=3)

    assert (first.examined, first.changed) == (8, 7)
    assert (again.examined, again.changed) == (8, 0)
    got = facts(runtime)
    assert {got[f"m{i}"][1:3] for i in range(7)} == {("blacklisted", False)}
    # The other account has no override: its receipt keeps the dictionary's class.
    assert got["o"][1] == "invalid_number"


@pytest.mark.commits  # the command opens its own engine on the database
def test_reclassify_fills_receipts_stored_before_the_dictionary(
        client: Client, runtime: Runtime, tx: NewAccount, db_url: str,
        tmp_path: Path) -> None:
    store(client, runtime, tx, [report("a", CMCC, "MK:0005"), report("b", CU, "DELIVRD")])
    t = RECEIPT_TABLE
    with runtime.sessions() as session:  # as receipts stored before this release were
        session.execute(t.update().values(reason_class=None, retryable=None, country=None,
                                          carrier=None))
        session.commit()
    env = {"DLRHUB_DATABASE_URL": db_url, "DLRHUB_DATA_DIR": str(tmp_path),
           "DLRHUB_SECRET_KEY": "test-secret-key"}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["receipt", "reclassify", "--account",
                                          tx.account.id, "--json"], env=env,
                                    catch_exceptions=False)
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 0, result.stderr
    assert orjson.loads(result.stdout) == {"examined": 2, "changed": 2}
    assert facts(runtime) == {
        "a": ("failed", "invalid_number", False, "CN", "china_mobile"),
        "b": ("delivered", None, None, "CN", "china_unicom"),
    }


def test_reason_classes_are_listed_in_english_and_chinese(client: Client,
                                                          runtime: Runtime,
                                                          tx: NewAccount) -> None:
    headers = key_for(runtime, tx.account.tenant_id)

    listed = get(client, "/v1/reason-classes", headers)
    anonymous = client.simulate_get("/v1/reason-classes")

    assert listed.status_code == 200, listed.text
    data = listed.json["data"]
    assert [c["reason_class"] for c in data] == [rc.value for rc in ReasonClass]
    assert set(REASON_CLASSES) == {rc.value for rc in ReasonClass}
    by_class = {c["reason_class"]: c for c in data}
    assert by_class["invalid_number"]["retryable"] is False
    assert by_class["rate_limited"]["retryable"] is True
    assert by_class["other_unknown"]["retryable"] is None
    assert all(c["meaning"] and c["action"] and c["meaning_zh"] and c["action_zh"]
               for c in data)
    assert anonymous.status_code == 401
