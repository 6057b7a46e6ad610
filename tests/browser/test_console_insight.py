"""The insight pages in Chromium, against a real ``dlrhub serve``: analytics of the
simulator's messages with its chart, expectations registered by form, an alert rule
created, edited and deleted through the forms; axe-core and a screenshot on every page,
in both languages and at a phone's width.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Served, simulated_tenant
from tests.browser.test_console import _context, audit, sign_in
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def tenant(served: Served) -> dict[str, Any]:
    """A tenant with a Tencent account, the simulator's messages, three expectations and
    an alert rule made by the API."""
    with httpx.Client(base_url=served.base_url, timeout=20) as api:
        _, key, me, account = simulated_tenant(api, "Insight Co", messages=80, seed=7)
        registered = api.post("/v1/expectations", headers=me, json={"data": [
            {"account_id": account["id"], "message_id": f"expected-{n}",
             "deadline_seconds": 3600} for n in range(3)]})
        assert registered.status_code == 200, registered.text
        rule = api.post("/v1/alert-rules", headers=me, json={
            "kind": "missing_share_above", "threshold": 0.05, "window_seconds": 3600,
            "min_messages": 10, "description": "receipts going missing"})
        assert rule.status_code == 201, rule.text

        def counted() -> int:
            data = api.get("/v1/analytics/delivery", headers=me).json()["data"]
            return int(data[0]["messages"]) if data else 0

        wait_for(lambda: counted() >= 70, 60, "the simulator's messages, counted")
    return {"key": key, "account": account["id"], "rule": rule.json()["id"]}


@pytest.fixture
def context(browser: Any, served: Served) -> Iterator[Any]:
    yield from _context(browser, served, locale="en-US", width=1280, height=900)


def test_analytics_of_the_simulators_messages(context: Any, served: Served,
                                              tenant: dict[str, Any]) -> None:
    page = context.new_page()
    sign_in(page, tenant["key"])
    page.get_by_role("link", name="Analytics").click()
    page.wait_for_url(re.compile("/console/analytics$"))
    page.locator("#analytics-chart").wait_for()
    drawn = page.evaluate("() => { const c = document.getElementById('analytics-chart');"
                          " return c.width > 0 && Chart.getChart(c) !== undefined; }")
    assert drawn
    assert page.get_by_role("cell", name="All messages").is_visible()
    audit(page, served, "analytics")
    page.get_by_label("Provider", exact=True).first.check()
    page.get_by_label("Hour", exact=True).check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile("group_by=provider"))
    assert page.locator("table.analytics tbody tr").count() >= 1
    assert page.get_by_role("cell", name="tencent", exact=True).first.is_visible()
    audit(page, served, "analytics-grouped")
    page.get_by_label(re.compile("^From")).fill("2024-01-02T00:00")
    page.get_by_label(re.compile("^Until")).fill("2024-01-01T00:00")
    page.get_by_role("button", name="Show").click()
    assert "must be after since" in page.get_by_role("alert").inner_text()
    audit(page, served, "analytics-error")


def test_expectations_and_registering_one(context: Any, served: Served,
                                          tenant: dict[str, Any]) -> None:
    page = context.new_page()
    sign_in(page, tenant["key"])
    page.get_by_role("link", name="Expectations").click()
    page.wait_for_url(re.compile("/console/expectations$"))
    assert page.get_by_role("link", name="expected-2").is_visible()
    audit(page, served, "expectations")
    page.get_by_label("Message id").fill("by-the-form")
    page.get_by_label("Deadline (seconds)").fill("600")
    page.get_by_role("button", name="Register", exact=True).click()
    page.wait_for_url(re.compile("registered=1"))
    assert page.get_by_role("status").is_visible()
    assert page.get_by_role("link", name="by-the-form").is_visible()
    page.get_by_role("link", name="missing", exact=True).click()
    page.wait_for_url(re.compile("state=missing"))
    audit(page, served, "expectations-missing")


def test_an_alert_rule_created_edited_and_deleted_by_its_forms(
        context: Any, served: Served, tenant: dict[str, Any]) -> None:
    page = context.new_page()
    sign_in(page, tenant["key"])
    page.get_by_role("link", name="Alert rules").click()
    page.wait_for_url(re.compile("/console/alerts$"))
    assert page.get_by_role("link", name="Missing receipts above").is_visible()
    audit(page, served, "alerts")
    page.get_by_role("link", name="New alert rule").first.click()
    page.wait_for_url(re.compile("/console/alerts/new"))
    audit(page, served, "alert-new")
    page.get_by_label("Kind").select_option("delivery_rate_below")
    page.get_by_label("Threshold").fill("0.95")
    page.get_by_label("Window (seconds)").fill("1800")
    page.get_by_label("Minimum messages").fill("5")
    page.get_by_label("Description").fill("tencent below 95%")
    page.get_by_role("button", name="Create the rule").click()
    page.wait_for_url(re.compile(r"/console/alerts/alr_\w+\?created=1"))
    assert page.get_by_role("heading", name="Delivery rate below", level=1).is_visible()
    assert page.get_by_text("It has not fired yet.").is_visible()
    audit(page, served, "alert")
    page.get_by_label("Threshold").fill("0.9")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"\?saved=1"))
    assert page.get_by_label("Threshold").input_value() == "0.9"
    page.get_by_label("Yes, delete this rule").check()
    page.get_by_role("button", name="Delete the rule").click()
    page.wait_for_url(re.compile(r"/console/alerts\?deleted=1"))
    assert page.get_by_role("status").is_visible()
    assert page.get_by_role("link", name="Delivery rate below").count() == 0


def _paths(tenant: dict[str, Any]) -> list[tuple[str, str]]:
    return [("/console/analytics", "analytics"), ("/console/expectations", "expectations"),
            ("/console/alerts", "alerts"), ("/console/alerts/new", "alert-new"),
            (f"/console/alerts/{tenant['rule']}", "alert")]


def test_the_insight_pages_in_chinese(browser: Any, served: Served,
                                      tenant: dict[str, Any]) -> None:
    for ctx in _context(browser, served, locale="zh-CN", width=1280, height=900):
        page = ctx.new_page()
        sign_in(page, tenant["key"])
        for path, name in _paths(tenant):
            page.goto(path)
            assert page.locator("html").get_attribute("lang") == "zh-Hans"
            audit(page, served, f"{name}-zh")
        page.goto("/console/overview")
        for label in ("分析", "预期短信", "告警规则"):
            assert page.get_by_role("link", name=label, exact=True).is_visible()


def test_the_insight_pages_fit_a_phone(browser: Any, served: Served,
                                       tenant: dict[str, Any]) -> None:
    for ctx in _context(browser, served, locale="en-US", width=375, height=812):
        page = ctx.new_page()
        sign_in(page, tenant["key"])
        for path, name in _paths(tenant):
            page.goto(path)
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 375, f"{path} is {wide}px wide"
            audit(page, served, f"{name}-mobile", full=False)
