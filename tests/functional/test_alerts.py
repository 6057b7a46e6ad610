"""Alert rules through HTTP and their evaluation, on SQLite and PostgreSQL.

Receipts and expectations are made by hand at chosen times; time is driven by passing
``now`` to the evaluation, never slept.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import falcon.testing
import pytest
from sqlalchemy import select

from dlrhub.config import Settings
from dlrhub.models import ALERT_RULE_TABLE, DELIVERY_TABLE, Expectation, utcnow
from dlrhub.services.accounts import NewAccount
from dlrhub.services.alerts.run import EvaluationReport, evaluate_all, evaluate_batch
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory, ReceiptFactory
from tests.functional.test_receipts_api import key_for

Client = falcon.testing.TestClient

# The evaluation's counts, the guarded UPDATE and the bulk insert of its events.
pytestmark = pytest.mark.dialects


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with endpoints on loopback: nothing is sent, only planned."""
    return settings.model_copy(update={"allow_private_endpoints": True})


def create(client: Client, me: dict[str, str], **body: Any) -> falcon.testing.Result:
    return client.simulate_post("/v1/alert-rules", json=body, headers=me)


def alerts(client: Client, me: dict[str, str]) -> list[dict[str, Any]]:
    result = client.simulate_get("/v1/receipts", params={"type": "sms.alert"}, headers=me)
    assert result.status_code == 200, result.text
    data: list[dict[str, Any]] = result.json["data"]
    return sorted(data, key=lambda e: e["received_at"])


def receipts(tx: NewAccount, at: datetime, statuses: dict[str, int],
             reason_class: str | None = None, carrier: str | None = None) -> None:
    for status, n in statuses.items():
        for _ in range(n):
            ReceiptFactory(account=tx.account, status=status, received_at=at,
                           carrier=carrier,
                           reason_class=None if status == "delivered" else reason_class)


def expectation(runtime: Runtime, tx: NewAccount, sent_at: datetime, deadline: datetime,
                state: str, n: int = 1) -> None:
    with runtime.sessions() as session:
        for _ in range(n):
            exp = Expectation(tenant_id=tx.account.tenant_id, account_id=tx.account.id,
                              provider=tx.account.provider, message_id=f"m-{id(object())}",
                              sent_at=sent_at, deadline_at=deadline,
                              horizon_at=sent_at + timedelta(hours=72), state=state)
            exp.phone_key = exp.id
            session.add(exp)
        session.commit()


# --- the rules' CRUD -------------------------------------------------------------------


def test_a_rule_is_created_read_listed_changed_and_deleted(
        client: Client, tx: NewAccount, me: dict[str, str]) -> None:
    made = create(client, me, kind="delivery_rate_below", threshold=0.9,
                  window_seconds=900, min_messages=50,
                  scope={"provider": "tencent", "country": "cn"})
    assert made.status_code == 201, made.text
    rule = made.json
    assert (rule["firing"], rule["last_value"], rule["scope"]) == (
        False, None, {"provider": "tencent", "country": "CN"})

    read = client.simulate_get(f"/v1/alert-rules/{rule['id']}", headers=me)
    listed = client.simulate_get("/v1/alert-rules", headers=me)
    changed = client.simulate_patch(f"/v1/alert-rules/{rule['id']}",
                                    json={"threshold": 0.8, "enabled": False}, headers=me)
    deleted = client.simulate_delete(f"/v1/alert-rules/{rule['id']}", headers=me)
    gone = client.simulate_get(f"/v1/alert-rules/{rule['id']}", headers=me)

    assert read.json == rule
    assert [r["id"] for r in listed.json["data"]] == [rule["id"]]
    assert (changed.json["threshold"], changed.json["enabled"],
            changed.json["window_seconds"]) == (0.8, False, 900)
    assert (deleted.status_code, gone.status_code) == (204, 404)


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "delivery_rate_below", "threshold": 1.5, "window_seconds": 600}, "threshold"),
    ({"kind": "delivery_rate_below", "threshold": -0.1, "window_seconds": 600}, "threshold"),
    ({"kind": "delivery_rate_below", "threshold": 0.9, "window_seconds": 59},
     "window_seconds"),
    ({"kind": "delivery_rate_below", "threshold": 0.9, "window_seconds": 7 * 86400 + 1},
     "window_seconds"),
    ({"kind": "delivery_rate_below", "threshold": 0.9, "window_seconds": 600,
      "min_messages": 0}, "min_messages"),
    ({"kind": "reason_share_above", "threshold": 0.2, "window_seconds": 600},
     "reason_class"),
    ({"kind": "delivery_rate_below", "threshold": 0.9, "window_seconds": 600,
      "reason_class": "blacklisted"}, "reason_class"),
    ({"kind": "reason_share_above", "threshold": 0.2, "window_seconds": 600,
      "reason_class": "no_such_class"}, "reason_class"),
    ({"kind": "no_receipts_for", "window_seconds": 600}, "scope.account_id"),
    ({"kind": "missing_share_above", "threshold": 0.1, "window_seconds": 600,
      "scope": {"carrier": "china_mobile"}}, "scope.carrier"),
    ({"kind": "delivery_rate_below", "threshold": 0.9, "window_seconds": 600,
      "scope": {"planet": "mars"}}, "scope.planet"),
    ({"kind": "no_such_kind", "threshold": 0.9, "window_seconds": 600}, "kind"),
    ({"kind": "delivery_rate_below", "window_seconds": 600}, "threshold"),
])
def test_a_bad_rule_is_refused_naming_its_field(client: Client, me: dict[str, str],
                                                body: dict[str, Any], field: str) -> None:
    result = client.simulate_post("/v1/alert-rules", json=body, headers=me)

    assert result.status_code == 422, result.text
    assert result.headers["content-type"].startswith("application/problem+json")
    assert result.json["field"] == field
    assert client.simulate_get("/v1/alert-rules", headers=me).json["data"] == []


def test_a_change_that_breaks_the_rule_is_refused_and_changes_nothing(
        client: Client, me: dict[str, str]) -> None:
    rule = create(client, me, kind="missing_share_above", threshold=0.1,
                  window_seconds=600).json
    result = client.simulate_patch(f"/v1/alert-rules/{rule['id']}",
                                   json={"threshold": 2}, headers=me)

    cleared = client.simulate_patch(f"/v1/alert-rules/{rule['id']}",
                                    json={"window_seconds": None}, headers=me)

    assert (result.status_code, result.json["field"]) == (422, "threshold")
    assert (cleared.status_code, cleared.json["field"]) == (422, "window_seconds")
    assert client.simulate_get(f"/v1/alert-rules/{rule['id']}",
                               headers=me).json["threshold"] == 0.1


def test_another_tenants_rules_and_accounts_are_not_found(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    theirs = AccountFactory(provider="tencent").account
    them = key_for(runtime, theirs.tenant_id)
    their_rule = create(client, them, kind="no_receipts_for", window_seconds=600,
                        scope={"account_id": theirs.id}).json
    path = f"/v1/alert-rules/{their_rule['id']}"

    aimed = create(client, me, kind="no_receipts_for", window_seconds=600,
                   scope={"account_id": theirs.id})

    assert (aimed.status_code, aimed.json["field"]) == (422, "scope.account_id")
    assert client.simulate_get(path, headers=me).status_code == 404
    assert client.simulate_patch(path, json={"threshold": 0.5}, headers=me).status_code == 404
    assert client.simulate_delete(path, headers=me).status_code == 404
    assert client.simulate_get("/v1/alert-rules", headers=me).json["data"] == []
    assert client.simulate_get(path, headers=them).json["enabled"] is True


# --- evaluation ------------------------------------------------------------------------


def test_a_delivery_rate_drop_fires_once_then_resolves_once_and_each_is_planned(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    endpoint = client.simulate_post("/v1/endpoints", json={
        "url": "http://127.0.0.1:9/hook", "event_types": ["sms.alert"]}, headers=me).json
    rule = create(client, me, kind="delivery_rate_below", threshold=0.9,
                  window_seconds=600, min_messages=10, scope={"provider": "tencent"}).json
    t0 = utcnow()
    receipts(tx, t0 - timedelta(minutes=5), {"delivered": 6, "failed": 4, "pending": 5})

    fired = evaluate_all(runtime.sessions, now=t0)
    again = evaluate_all(runtime.sessions, now=t0 + timedelta(minutes=1))
    # Five minutes on, the failures have left the window and good receipts came.
    receipts(tx, t0 + timedelta(minutes=8), {"delivered": 10})
    resolved = evaluate_all(runtime.sessions, now=t0 + timedelta(minutes=11))
    quiet = evaluate_all(runtime.sessions, now=t0 + timedelta(minutes=12))

    assert [(r.firing, r.resolved) for r in (fired, again, resolved, quiet)] == [
        (1, 0), (0, 0), (0, 1), (0, 0)]
    firing, cleared = alerts(client, me)
    assert firing["details"] | {"firing_since": None} == {
        "rule_id": rule["id"], "kind": "delivery_rate_below", "state": "firing",
        "value": 0.6, "threshold": 0.9, "window_seconds": 600, "min_messages": 10,
        "reason_class": None, "scope": {"provider": "tencent"}, "firing_since": None}
    assert (firing["account_id"], firing["provider"], firing["status"]) == (
        None, "tencent", "pending")
    assert (cleared["details"]["state"], cleared["details"]["value"]) == ("resolved", 1.0)
    with runtime.sessions() as session:
        planned = session.execute(select(DELIVERY_TABLE.c.event_ids).where(
            DELIVERY_TABLE.c.endpoint_id == endpoint["id"])).scalars().all()
    assert sorted(i for ids in planned for i in ids) == sorted([firing["id"], cleared["id"]])
    state = client.simulate_get(f"/v1/alert-rules/{rule['id']}", headers=me).json
    assert (state["firing"], state["last_value"]) == (False, 1.0)


def test_a_rule_scoped_to_a_carrier_counts_only_that_carrier(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    create(client, me, kind="delivery_rate_below", threshold=0.5, window_seconds=600,
           min_messages=4, scope={"carrier": "china_telecom"})
    t0 = utcnow()
    receipts(tx, t0 - timedelta(minutes=1), {"failed": 3, "delivered": 1},
             carrier="china_telecom")
    receipts(tx, t0 - timedelta(minutes=1), {"delivered": 50}, carrier="china_mobile")

    assert evaluate_all(runtime.sessions, now=t0).firing == 1
    (event,) = alerts(client, me)
    assert (event["carrier"], event["details"]["value"]) == ("china_telecom", 0.25)


def test_a_reason_class_share_fires_on_that_class_of_failures(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    create(client, me, kind="reason_share_above", threshold=0.5, window_seconds=600,
           reason_class="rate_limited", min_messages=4, scope={"account_id": tx.account.id})
    t0 = utcnow()
    receipts(tx, t0 - timedelta(minutes=1), {"failed": 3}, reason_class="rate_limited")
    receipts(tx, t0 - timedelta(minutes=1), {"failed": 1}, reason_class="blacklisted")
    receipts(tx, t0 - timedelta(minutes=1), {"delivered": 100})

    assert evaluate_all(runtime.sessions, now=t0).firing == 1
    (event,) = alerts(client, me)
    assert (event["account_id"], event["details"]["value"]) == (tx.account.id, 0.75)


def test_a_share_of_missing_receipts_counts_expectations_due_in_the_window(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    create(client, me, kind="missing_share_above", threshold=0.2, window_seconds=600,
           min_messages=5)
    t0 = utcnow()
    due = t0 - timedelta(minutes=2)
    expectation(runtime, tx, due - timedelta(minutes=10), due, "missing", n=2)
    expectation(runtime, tx, due - timedelta(minutes=10), due, "met", n=3)
    # Due long ago, or not yet: outside the window.
    expectation(runtime, tx, t0 - timedelta(hours=2), t0 - timedelta(hours=1), "missing",
                n=5)
    expectation(runtime, tx, t0, t0 + timedelta(minutes=10), "pending", n=5)

    assert evaluate_all(runtime.sessions, now=t0).firing == 1
    (event,) = alerts(client, me)
    assert event["details"]["value"] == 0.4


def test_an_account_silent_with_expectations_waiting_fires_until_a_receipt_comes(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    create(client, me, kind="no_receipts_for", window_seconds=900,
           scope={"account_id": tx.account.id})
    t0 = utcnow()
    expectation(runtime, tx, t0 - timedelta(minutes=30), t0 + timedelta(minutes=30),
                "pending", n=3)
    receipts(tx, t0 - timedelta(minutes=20), {"delivered": 1})  # before the window

    fired = evaluate_all(runtime.sessions, now=t0)
    receipts(tx, t0 + timedelta(minutes=1), {"delivered": 1})
    resolved = evaluate_all(runtime.sessions, now=t0 + timedelta(minutes=2))

    assert (fired.firing, resolved.resolved) == (1, 1)
    assert [(e["account_id"], e["details"]["state"]) for e in alerts(client, me)] == [
        (tx.account.id, "firing"), (tx.account.id, "resolved")]


def test_disabling_a_firing_rule_resolves_it_once(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    rule = create(client, me, kind="delivery_rate_below", threshold=0.9,
                  window_seconds=600).json
    t0 = utcnow()
    receipts(tx, t0 - timedelta(minutes=1), {"failed": 1})
    evaluate_all(runtime.sessions, now=t0)
    client.simulate_patch(f"/v1/alert-rules/{rule['id']}", json={"enabled": False},
                          headers=me)

    first = evaluate_all(runtime.sessions, now=t0 + timedelta(minutes=1))
    second = evaluate_all(runtime.sessions, now=t0 + timedelta(minutes=2))

    assert (first.resolved, second.evaluated) == (1, 0)
    assert [e["details"]["state"] for e in alerts(client, me)] == ["firing", "resolved"]


def test_one_tenants_receipts_never_fire_another_tenants_rule(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    create(client, me, kind="delivery_rate_below", threshold=0.9, window_seconds=600)
    theirs = AccountFactory(provider="tencent")
    t0 = utcnow()
    receipts(theirs, t0 - timedelta(minutes=1), {"failed": 10})

    assert evaluate_all(runtime.sessions, now=t0).firing == 0
    assert alerts(client, me) == []


def test_an_evaluation_that_read_the_old_state_emits_nothing_more(
        client: Client, runtime: Runtime, tx: NewAccount, me: dict[str, str]) -> None:
    create(client, me, kind="delivery_rate_below", threshold=0.9, window_seconds=600)
    t0 = utcnow()
    receipts(tx, t0 - timedelta(minutes=1), {"failed": 3})
    with runtime.sessions() as session:
        stale = session.execute(select(ALERT_RULE_TABLE)).all()  # read before the other

    first = evaluate_all(runtime.sessions, now=t0)
    late = EvaluationReport()
    with runtime.sessions() as session:
        evaluate_batch(session, stale, t0, late)
        session.commit()

    assert (first.firing, late.evaluated, late.firing) == (1, 1, 0)
    assert [e["details"]["state"] for e in alerts(client, me)] == ["firing"]
