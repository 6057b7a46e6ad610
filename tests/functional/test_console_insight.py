"""The console's insight pages through the real app: analytics, expectations, alert rules.

Each page is fed hand-made data and must show the figures worked out by hand; bad input
is the form again with the API's words and a 400; a POST without the session's CSRF
token is refused (403); another tenant's rule is a 404.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import falcon.testing
import pytest
from markupsafe import escape
from sqlalchemy import update

from dlrhub.console import i18n
from dlrhub.core.vocabulary import ReasonClass, ReceiptStatus
from dlrhub.models import (
    EXPECTATION_TABLE,
    AlertKind,
    AlertRuleCreate,
    AlertState,
    ExpectationState,
    dialect,
    utcnow,
)
from dlrhub.services.alerts import rules
from dlrhub.services.alerts.evaluate import Outcome, Rule, State, alert_event
from dlrhub.services.analytics import MessageFacts, record_messages
from dlrhub.services.expectations import intake
from dlrhub.services.expectations.register import NewExpectation
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory
from tests.functional.console_fixtures import XSS, Browser, tenant_key
from tests.functional.test_analytics_api import load

RANGE = {"since": "2024-01-01T00:00", "until": "2024-01-03T00:00"}  # the viewer's zone: UTC




def cells(text: str) -> list[list[str]]:
    """Return the body rows of the page's first table in <tbody>, as cell texts."""
    body = re.search(r"<tbody>(.*?)</tbody>", text, re.S)
    assert body, text
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)] for r in rows]


def chart_of(text: str) -> dict[str, Any]:
    found = re.search(r'id="analytics-chart-data">(.*?)</script>', text, re.S)
    assert found, text
    data: dict[str, Any] = json.loads(found.group(1))
    return data


# --- analytics -----------------------------------------------------------------------


@pytest.mark.dialects
def test_analytics_shows_each_groups_figures_and_the_chart(
        runtime: Runtime, signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    load(runtime, console_tenant["tenant_id"])
    page = signed_in.get("/console/analytics", **RANGE, group_by="provider")
    assert page.status_code == 200, page.text
    by_provider = {row[0]: row for row in cells(page.text)}
    # provider, messages, delivered, failed, expired, rejected, unknown, pending, rate,
    # missing / expected, top reasons, latency, lag
    assert by_provider["huawei"][1:10] == ["2", "0", "0", "1", "0", "0", "1", "0.0%", "0 / 1"]
    assert by_provider["tencent"][1:10] == ["5", "3", "2", "0", "0", "0", "0", "60.0%",
                                            "1 / 2"]
    assert "invalid number (1)" in by_provider["tencent"][10]
    assert "rate limited (1)" in by_provider["tencent"][10]
    # The chart: every hour of the two days, a rate where messages were final.
    chart = chart_of(page.text)
    assert len(chart["labels"]) == 48
    assert chart["labels"][0] == "01-01 00:00"
    rates = {label: rate for label, rate in zip(chart["labels"], chart["rate"]["data"],
                                                strict=True) if rate is not None}
    assert rates == {"01-01 10:00": 50.0, "01-01 20:00": 100.0, "01-01 23:00": 0.0,
                     "01-02 03:00": 0.0, "01-02 09:00": 100.0}
    assert [len([v for v in s["data"] if v is not None]) for s in chart["latency"]] == [3, 3]
    # Messages that give no handset latency draw (and name) no latency line.
    huawei = chart_of(signed_in.get("/console/analytics", **RANGE, provider="huawei").text)
    assert [r for r in huawei["rate"]["data"] if r is not None] == [0.0]
    assert huawei["latency"] == []
    # Days in the chosen zone: a point a day, whichever grouping the table has.
    days = chart_of(signed_in.get("/console/analytics", since="2023-12-01T00:00",
                           until="2024-01-03T00:00", tz="Asia/Shanghai").text)
    assert days["labels"][-3:] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert days["rate"]["data"][-3:] == [50.0, 50.0, None]  # m1 m2 | m3 m5 m6 m7


@pytest.mark.dialects
def test_analytics_groups_by_a_combination_and_days_in_the_chosen_zone(
        runtime: Runtime, signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    load(runtime, console_tenant["tenant_id"])
    page = signed_in.client.simulate_get(
        "/console/analytics", headers=signed_in._headers(),
        query_string=urlencode({**RANGE, "group_by": ["day", "provider"],
                                "tz": "Asia/Shanghai"}, doseq=True))
    assert page.status_code == 200, page.text
    rows = {(r[0], r[1]): r[2] for r in cells(page.text)}
    assert rows == {("2024-01-01", "tencent"): "2", ("2024-01-01", "huawei"): "1",
                    ("2024-01-02", "tencent"): "3", ("2024-01-02", "huawei"): "1"}
    # Grouped by a reason class, the table has no column of top reasons.
    by_reason = signed_in.get("/console/analytics", **RANGE, group_by="reason_class")
    assert i18n.t("en", "overview.top_reasons") not in by_reason.text
    assert "invalid number" in by_reason.text


def test_analytics_filters_and_escapes_what_it_shows(
        runtime: Runtime, signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    load(runtime, console_tenant["tenant_id"])
    with runtime.sessions() as session:
        record_messages(session, [(None, MessageFacts(
            tenant_id=console_tenant["tenant_id"], account_id="acc_x", provider="tencent",
            country="CN", carrier="china_mobile", template=XSS, reason_class=None,
            status=ReceiptStatus.delivered, final=True,
            anchor_at=datetime(2024, 1, 1, 12, tzinfo=UTC), handset_latency_s=None,
            receipt_lag_s=None))])
        session.commit()
    page = signed_in.get("/console/analytics", **RANGE, group_by="template",
                  carrier="china_mobile")
    assert page.status_code == 200
    assert XSS not in page.text
    assert "&lt;script&gt;" in page.text
    rows = {r[0]: r[1] for r in cells(page.text)}
    assert rows["otp"] == "4"  # m1, m2, m6, m7: china_mobile only


@pytest.mark.parametrize(("params", "said"), [
    ({"group_by": "nope"}, "unknown key &#39;nope&#39;"),
    ({"since": "2024-01-03T00:00", "until": "2024-01-01T00:00"}, "must be after since"),
    ({"since": "yesterday"}, "not a date and time"),
    ({"since": "2023-01-01T00:00", "until": "2024-01-01T00:00"}, "at most 93 days"),
    ({"reason_class": "bogus"}, "reason_class"),
    ({"tz": "Mars/Olympus"}, "not an IANA time zone"),
    ({"country": "CHN"}, "country"),
])
def test_bad_analytics_input_is_the_form_again_with_a_400(
        signed_in: Browser, params: dict[str, str], said: str) -> None:
    page = signed_in.get("/console/analytics", **params)
    assert page.status_code == 400
    assert said in page.text
    assert 'role="alert"' in page.text
    assert 'name="group_by"' in page.text  # the form, to correct it


def test_analytics_without_messages_says_what_to_do_next(signed_in: Browser) -> None:
    page = signed_in.get("/console/analytics")
    assert page.status_code == 200
    assert str(escape(i18n.t("en", "analytics.empty"))) in page.text
    assert "dlrhub simulate" in page.text
    assert "analytics-chart-data" not in page.text


# --- expectations --------------------------------------------------------------------


def expect(runtime: Runtime, tenant: dict[str, Any], n: int, prefix: str = "m") -> None:
    with runtime.sessions() as session:
        intake.register_items(session, tenant_id=tenant["tenant_id"], items=[
            NewExpectation(account_id=tenant["account"].id, message_id=f"{prefix}{i:03d}",
                           phone=f"+86138000{i:05d}") for i in range(n)], now=utcnow())
        session.commit()


def test_expectations_list_by_state_with_counts_and_pages(
        runtime: Runtime, signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    expect(runtime, console_tenant, 53)
    with runtime.sessions() as session:
        session.execute(update(EXPECTATION_TABLE).where(
            EXPECTATION_TABLE.c.message_id.in_(["m001", "m002"]))
            .values(state=ExpectationState.missing.value, missing_at=utcnow()))
        session.commit()
    page = signed_in.get("/console/expectations")
    assert page.status_code == 200
    tiles = re.findall(r'class="figure">([^<]+)<', page.text)
    assert tiles == ["51", "2"]  # pending, missing
    assert len(cells(page.text)) == 50
    more = re.search(r'href="\?([^"]+)" rel="next"', page.text)
    assert more
    second = signed_in.get("/console/expectations?" + more.group(1).replace("&amp;", "&"))
    assert len(cells(second.text)) == 3
    missing = signed_in.get("/console/expectations", state="missing")
    assert sorted(r[0] for r in cells(missing.text)) == ["m001", "m002"]
    assert 'href="/console/messages/m002"' in missing.text
    assert len(cells(signed_in.get("/console/expectations", state="pending").text)) == 50
    assert signed_in.get("/console/expectations", state="late").status_code == 400


def test_expectations_empty_state_shows_how_to_register(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    page = signed_in.get("/console/expectations")
    assert i18n.t("en", "exp.none") in page.text
    assert "curl -X POST" in page.text
    assert "/v1/expectations" in page.text
    assert console_tenant["account"].id in page.text


def test_registering_one_expectation_by_the_form(
        signed_in: Browser, stranger: Browser, console_tenant: dict[str, Any]) -> None:
    done = signed_in.submit("/console/expectations", account_id=console_tenant["account"].id,
                  message_id="form-1", phone="+8613800000001", deadline_seconds="600")
    assert done.status_code == 303, done.text
    page = signed_in.get(done.headers["location"])
    assert i18n.t("en", "exp.registered") in page.text
    assert [r[0] for r in cells(page.text)] == ["form-1"]
    bad = signed_in.submit("/console/expectations", account_id=console_tenant["account"].id,
                 message_id="form-2", deadline_seconds="0")
    assert bad.status_code == 400
    assert "deadline_seconds" in bad.text
    assert 'value="form-2"' in bad.text  # the form keeps what was typed
    theirs = stranger.submit("/console/expectations", account_id=console_tenant["account"].id,
                    message_id="form-3")
    assert theirs.status_code == 400
    assert "no such account" in theirs.text
    forged = signed_in.post("/console/expectations",
                     urlencode({"account_id": console_tenant["account"].id, "message_id": "x"}))
    assert forged.status_code == 403
    assert [r[0] for r in cells(signed_in.get("/console/expectations").text)] == ["form-1"]


# --- alert rules ---------------------------------------------------------------------


def rule_of(runtime: Runtime, tenant_id: str, **spec: Any) -> str:
    with runtime.sessions() as session:
        rule = rules.create_rule(session, tenant_id=tenant_id, spec=AlertRuleCreate(
            **{"kind": AlertKind.delivery_rate_below, "threshold": 0.9,
               "window_seconds": 3600, "min_messages": 10, **spec}))
        session.commit()
        return rule.id


def fire(runtime: Runtime, tenant_id: str, rule_id: str) -> None:
    """Store the events of a rule that fired, resolved and fired again, as evaluation does."""
    t0 = datetime(2024, 5, 1, 8, tzinfo=UTC)
    rule = Rule(id=rule_id, tenant_id=tenant_id, kind=AlertKind.delivery_rate_below,
                threshold=0.9, window_seconds=3600, min_messages=10, reason_class=None,
                scope={})
    steps = [(t0, State(), State(True, t0, 0.5), AlertState.firing),
             (t0 + timedelta(hours=1), State(True, t0, 0.5), State(False, None, 0.95),
              AlertState.resolved),
             (t0 + timedelta(hours=2), State(), State(True, t0 + timedelta(hours=2), 0.4),
              AlertState.firing)]
    with runtime.sessions() as session:
        dialect.insert_receipts(session, [alert_event(rule, Outcome(new, event), old, at)
                                          for at, old, new, event in steps])
        session.execute(update(rules.ALERT_RULE_TABLE)
                        .where(rules.ALERT_RULE_TABLE.c.id == rule_id)
                        .values(firing=True, firing_since=t0 + timedelta(hours=2),
                                last_value=0.4, last_evaluated_at=t0 + timedelta(hours=2)))
        session.commit()


def test_the_rules_list_shows_where_each_stands(
        runtime: Runtime, signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    assert i18n.t("en", "alert.none") in signed_in.get("/console/alerts").text
    quiet = rule_of(runtime, console_tenant["tenant_id"], description=XSS)
    firing = rule_of(runtime, console_tenant["tenant_id"])
    fire(runtime, console_tenant["tenant_id"], firing)
    page = signed_in.get("/console/alerts")
    rows = cells(page.text)
    assert rows[0][:4] == ["Delivery rate below", "firing", "2024-05-01 10:00:00", "40.0%"]
    assert rows[0][4] == "90.0%"
    assert rows[1][1] == "not firing"
    assert rows[1][3] == "—"
    assert XSS not in page.text
    assert f'href="/console/alerts/{quiet}"' in page.text


@pytest.mark.dialects
def test_a_rules_page_shows_its_firing_history(
        runtime: Runtime, signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    rule_id = rule_of(runtime, console_tenant["tenant_id"])
    assert i18n.t("en", "alert.no_history") in signed_in.get(f"/console/alerts/{rule_id}").text
    fire(runtime, console_tenant["tenant_id"], rule_id)
    page = signed_in.get(f"/console/alerts/{rule_id}")
    assert page.status_code == 200
    history = cells(page.text)
    assert history == [["2024-05-01 10:00:00", "started firing", "40.0%", "90.0%"],
                       ["2024-05-01 09:00:00", "resolved", "95.0%", "90.0%"],
                       ["2024-05-01 08:00:00", "started firing", "50.0%", "90.0%"]]


def test_creating_a_rule_through_the_form(
        runtime: Runtime, signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    form = signed_in.get("/console/alerts/new")
    for kind in AlertKind:
        assert str(escape(i18n.t("en", f"alert.help_{kind.value}"))) in form.text
    done = signed_in.submit("/console/alerts/new", kind="reason_share_above", threshold="0.3",
                  window_seconds="1800", min_messages="5", reason_class="rate_limited",
                  **{"scope.account_id": console_tenant["account"].id, "scope.country": "cn",
                     "description": "throttling", "enabled": "1"})
    assert done.status_code == 303, done.text
    rule_id = done.headers["location"].split("/")[-1].split("?")[0]
    with runtime.sessions() as session:
        rule = rules.get_rule(session, tenant_id=console_tenant["tenant_id"], rule_id=rule_id)
        assert (rule.kind, rule.threshold, rule.window_seconds, rule.min_messages,
                rule.reason_class, rule.scope, rule.enabled) == (
            "reason_share_above", 0.3, 1800, 5, ReasonClass.rate_limited,
            {"account_id": console_tenant["account"].id, "country": "CN"}, True)
    page = signed_in.get(done.headers["location"])
    assert i18n.t("en", "alert.created") in page.text
    # no_receipts_for takes no threshold, and needs the account.
    quiet = signed_in.submit("/console/alerts/new", "/console/alerts/new", kind="no_receipts_for",
                   window_seconds="600", min_messages="1",
                   **{"scope.account_id": console_tenant["account"].id, "enabled": "1"})
    assert quiet.status_code == 303, quiet.text


@pytest.mark.parametrize(("fields", "said"), [
    ({"kind": "delivery_rate_below", "threshold": "2", "window_seconds": "3600"},
     "between 0 and 1"),
    ({"kind": "reason_share_above", "threshold": "0.5", "window_seconds": "3600"},
     "is required by reason_share_above"),
    ({"kind": "delivery_rate_below", "threshold": "0.5", "window_seconds": "5"},
     "window_seconds"),
    ({"kind": "delivery_rate_below", "threshold": "lots", "window_seconds": "3600"},
     "must be a number"),
    ({"kind": "no_receipts_for", "window_seconds": "3600"}, "scope.account_id"),
    ({"kind": "louder", "threshold": "0.5", "window_seconds": "3600"}, "kind"),
])
def test_a_bad_rule_is_the_form_again_with_a_400(
        signed_in: Browser, fields: dict[str, str], said: str) -> None:
    page = signed_in.submit("/console/alerts/new", **fields)
    assert page.status_code == 400
    assert said in page.text
    assert 'role="alert"' in page.text


def test_editing_and_deleting_a_rule(
        runtime: Runtime, signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    rule_id = rule_of(runtime, console_tenant["tenant_id"])
    path = f"/console/alerts/{rule_id}"
    page = signed_in.get(path)
    assert 'value="0.9"' in page.text
    assert 'value="3600"' in page.text
    saved = signed_in.submit(path, threshold="0.8", window_seconds="7200", min_messages="3",
                   description="after the edit")
    assert saved.status_code == 303, saved.text
    with runtime.sessions() as session:
        rule = rules.get_rule(session, tenant_id=console_tenant["tenant_id"], rule_id=rule_id)
        assert (rule.threshold, rule.window_seconds, rule.min_messages, rule.enabled) == (
            0.8, 7200, 3, False)  # the box left unticked disables it
    bad = signed_in.submit(path, threshold="1.5", window_seconds="7200")
    assert bad.status_code == 400
    assert "between 0 and 1" in bad.text
    unconfirmed = signed_in.submit(f"{path}/delete", path)
    assert unconfirmed.status_code == 400
    assert signed_in.get(path).status_code == 200
    gone = signed_in.submit(f"{path}/delete", path, confirm="1")
    assert gone.status_code == 303
    assert i18n.t("en", "alert.deleted") in signed_in.get(gone.headers["location"]).text
    assert signed_in.get(path).status_code == 404


def test_rule_forms_need_the_csrf_token_and_another_tenants_rule_is_404(
        runtime: Runtime, signed_in: Browser, stranger: Browser,
        console_tenant: dict[str, Any]) -> None:
    rule_id = rule_of(runtime, console_tenant["tenant_id"])
    path = f"/console/alerts/{rule_id}"
    for target, fields in ((path, {"threshold": "0.1", "window_seconds": "60"}),
                           (f"{path}/delete", {"confirm": "1"}),
                           ("/console/alerts/new", {"kind": "delivery_rate_below",
                                                    "threshold": "0.5",
                                                    "window_seconds": "60"})):
        assert signed_in.post(target, urlencode(fields)).status_code == 403, target
    assert stranger.get(path).status_code == 404
    token = stranger.csrf("/console/alerts")
    assert stranger.post(path, urlencode({"threshold": "0.1", "window_seconds": "60",
                                          "csrf_token": token})).status_code == 404
    assert stranger.post(f"{path}/delete", urlencode({"confirm": "1", "csrf_token": token})
                         ).status_code == 404
    assert rule_id not in stranger.get("/console/alerts").text
    with runtime.sessions() as session:
        rule = rules.get_rule(session, tenant_id=console_tenant["tenant_id"], rule_id=rule_id)
        assert rule.threshold == 0.9


def test_the_insight_pages_are_in_the_navigation_in_both_languages(signed_in: Browser) -> None:
    page = signed_in.get("/console/overview")
    for path, key in (("analytics", "nav.analytics"), ("expectations", "nav.expectations"),
                      ("alerts", "nav.alerts")):
        assert f'href="/console/{path}"' in page.text
        assert i18n.t("en", key) in page.text
    signed_in.cookies["dlrhub_lang"] = "zh"
    for path in ("/console/analytics", "/console/expectations", "/console/alerts",
                 "/console/alerts/new"):
        zh = signed_in.get(path)
        assert zh.status_code == 200, path
        assert 'lang="zh-Hans"' in zh.text


def test_the_api_reads_the_same_firing_history(
        client: falcon.testing.TestClient, runtime: Runtime,
        console_tenant: dict[str, Any]) -> None:
    rule_id = rule_of(runtime, console_tenant["tenant_id"])
    fire(runtime, console_tenant["tenant_id"], rule_id)
    mine = {"Authorization": f"Bearer {console_tenant['key']}"}
    answer = client.simulate_get(f"/v1/alert-rules/{rule_id}/events", headers=mine,
                                 params={"limit": "2"})
    assert answer.status_code == 200, answer.text
    assert [(e["state"], e["value"], e["at"]) for e in answer.json["data"]] == [
        ("firing", 0.4, "2024-05-01T10:00:00Z"), ("resolved", 0.95, "2024-05-01T09:00:00Z")]
    assert answer.json["data"][1]["firing_since"] == "2024-05-01T08:00:00Z"
    other = AccountFactory(provider="tencent")
    key, _ = tenant_key(runtime, other.account.tenant_id)
    theirs = client.simulate_get(f"/v1/alert-rules/{rule_id}/events",
                                 headers={"Authorization": f"Bearer {key}"})
    assert theirs.status_code == 404
    assert client.simulate_get(f"/v1/alert-rules/{rule_id}/events", headers=mine,
                               params={"limit": "0"}).status_code == 422
