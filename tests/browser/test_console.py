"""A person's walk through the console in Chromium: sign in as the admin, as a tenant,
see the simulator's receipts, a message's timeline, both languages, a phone's width,
the keyboard; the XSS and CSRF cases; axe-core on every page; a screenshot of each.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ADMIN_TOKEN, AXE, Served, simulated_tenant
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

XSS_TEXT = "<script>window.__xss = 1</script>"
XSS_ID = "<img src=x onerror=window.__xss=2>"
# axe-core's impacts that fail a page.
BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def tenant(served: Served) -> dict[str, Any]:
    """A tenant made by the admin API, a Tencent account, the simulator's receipts."""
    with httpx.Client(base_url=served.base_url, timeout=20) as api:
        tenant_id, key, me, account = simulated_tenant(api, "Acme SMS", messages=120, seed=11)
        # A reply whose text, and a report whose message id, are markup.
        reply = {"extend": "", "mobile": "13900000001", "nationcode": "86", "sign": "x",
                 "text": XSS_TEXT, "time": int(time.time())}
        report = [{"user_receive_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                   "nationcode": "86", "mobile": "13800000009", "report_status": "FAIL",
                   "errmsg": "MK:0001", "description": XSS_TEXT, "sid": XSS_ID}]
        for body in (reply, report):
            assert api.post(account["callback_url"], json=body).status_code == 200

        def stored() -> int:
            page = api.get("/v1/receipts", headers=me, params={"limit": 500}).json()
            return len(page["data"])

        wait_for(lambda: stored() >= 100, 60, "the simulator's receipts, ingested")
        wait_for(lambda: api.get("/v1/receipts", headers=me,
                                 params={"message_id": XSS_ID}).json()["data"] != [],
                 30, "the markup receipts, ingested")
        first = api.get("/v1/receipts", headers=me,
                        params={"type": "sms.status", "status": "failed"}).json()["data"]
    return {"id": tenant_id, "key": key, "callback_url": account["callback_url"],
            "failed_message": first[-1]["message_id"]}


@pytest.fixture
def context(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh browser profile in English on a desktop, with axe-core on every page."""
    yield from _context(browser, served, locale="en-US", width=1280, height=900)


def _context(browser: Any, served: Served, *, locale: str, width: int,
             height: int) -> Iterator[Any]:
    ctx = browser.new_context(base_url=served.base_url, locale=locale,
                              viewport={"width": width, "height": height})
    # Injected by the browser itself, not as a page script: the console's CSP stays on.
    ctx.add_init_script(path=str(AXE))
    ctx.csp_violations = []

    def watch(page: Any) -> None:
        page.on("console", lambda msg: ctx.csp_violations.append(msg.text)
                if "Content Security Policy" in msg.text else None)
        page.on("pageerror", lambda err: ctx.csp_violations.append(f"page error: {err}"))

    ctx.on("page", watch)
    try:
        yield ctx
    finally:
        ctx.close()


def audit(page: Any, served: Served, name: str, *, full: bool = True) -> None:
    """Fail on axe-core's serious or critical findings and on CSP refusals; screenshot."""
    page.wait_for_load_state("networkidle")
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    blocking = [v for v in found if v["impact"] in BLOCKING]
    assert blocking == [], f"{name}: {blocking}"
    assert page.context.csp_violations == [], f"{name}: {page.context.csp_violations}"
    page.screenshot(path=str(served.shots / f"{name}.png"), full_page=full)


def sign_in(page: Any, key: str) -> None:
    page.goto("/console/")
    page.get_by_label(re.compile("API key|API 密钥")).fill(key)
    page.get_by_role("button", name=re.compile("^(Sign in|登录)$")).click()
    page.wait_for_url(re.compile(r"/console/(overview|tenants)"))


# --- the admin ------------------------------------------------------------------------


def test_the_admin_signs_in_and_sees_the_tenants(context: Any, served: Served,
                                                 tenant: dict[str, Any]) -> None:
    page = context.new_page()
    page.goto("/console/")
    assert page.url.endswith("/console/login")
    audit(page, served, "login")
    page.get_by_label("API key or admin token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That key is unknown")
    assert not [c for c in context.cookies() if c["name"] == "dlrhub_session"]
    audit(page, served, "login-error")
    sign_in(page, ADMIN_TOKEN)
    assert page.url.endswith("/console/tenants")
    row = page.get_by_role("row").filter(has_text=tenant["id"])
    assert row.get_by_role("cell").first.inner_text() == "Acme SMS"
    audit(page, served, "tenants")
    session = next(c for c in context.cookies() if c["name"] == "dlrhub_session")
    assert session["httpOnly"]
    assert session["sameSite"] == "Lax"
    assert ADMIN_TOKEN not in session["value"]


# --- a tenant ------------------------------------------------------------------------


def test_a_tenant_sees_its_overview_with_the_chart(context: Any, served: Served,
                                                   tenant: dict[str, Any]) -> None:
    page = context.new_page()
    sign_in(page, tenant["key"])
    assert page.get_by_role("heading", name="Overview", level=1).is_visible()
    assert page.get_by_text("Signed in as Acme SMS").is_visible()
    chart = page.locator("#status-chart")
    chart.wait_for()
    drawn = page.evaluate("() => { const c = document.getElementById('status-chart');"
                          " return c.width > 0 && Chart.getChart(c) !== undefined; }")
    assert drawn
    assert page.get_by_role("link", name="Overview").get_attribute("aria-current") == "page"
    assert page.get_by_role("heading", name="Delivery rate by provider").is_visible()
    assert page.get_by_role("cell", name="tencent", exact=True).is_visible()
    audit(page, served, "overview")
    page.get_by_role("link", name="Last 7 days").click()
    page.wait_for_url(re.compile(r"range=7d"))
    audit(page, served, "overview-7d")


def test_receipts_filter_and_lead_to_a_message_timeline(context: Any, served: Served,
                                                        tenant: dict[str, Any]) -> None:
    page = context.new_page()
    sign_in(page, tenant["key"])
    page.get_by_role("link", name="Receipts", exact=True).click()
    page.wait_for_url(re.compile("/console/receipts"))
    rows = page.locator("table.receipts tbody tr")
    assert rows.count() == 50
    assert page.get_by_role("link", name="Next page").is_visible()
    audit(page, served, "receipts")
    page.get_by_label("Status").select_option("failed")
    page.get_by_label("Event type").select_option("sms.status")
    page.get_by_role("button", name="Show").click()  # htmx swaps the results in place
    page.wait_for_url(re.compile("status=failed"))
    badges = page.locator("table.receipts tbody tr td:nth-child(4) .badge")
    badges.first.wait_for()
    assert set(badges.all_inner_texts()) == {"failed"}
    audit(page, served, "receipts-failed")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="CSV").click()
    exported = waiting.value.path().read_text()
    assert exported.startswith("received_at,id,type,message_id")
    assert ",delivered," not in exported
    page.get_by_role("link", name=tenant["failed_message"], exact=True).click()
    page.wait_for_url(re.compile("/console/messages/"))
    assert page.get_by_role("heading", name="Timeline").first.is_visible()
    assert page.get_by_text("What to do").first.is_visible()
    audit(page, served, "message")


def test_markup_from_a_provider_shows_as_text(context: Any, served: Served,
                                              tenant: dict[str, Any]) -> None:
    page = context.new_page()
    sign_in(page, tenant["key"])
    page.goto("/console/receipts")
    assert page.get_by_text(XSS_TEXT, exact=True).first.is_visible()
    page.get_by_role("link", name=XSS_ID).click()
    page.wait_for_url(re.compile("/console/messages/"))
    assert page.get_by_role("heading", level=1).inner_text() == f"Message {XSS_ID}"
    assert page.evaluate("() => window.__xss") is None
    audit(page, served, "message-markup")


def test_a_form_without_its_csrf_token_is_refused(context: Any, served: Served,
                                                  tenant: dict[str, Any]) -> None:
    page = context.new_page()
    sign_in(page, tenant["key"])
    # The same browser, its session cookie sent along, but a forged or missing token.
    for form in ({"lang": "zh"}, {"lang": "zh", "csrf_token": "0" * 64}):
        refused = context.request.post(f"{served.base_url}/console/logout", form=form,
                                       max_redirects=0)
        assert refused.status == 403
    page.goto("/console/overview")
    assert page.url.endswith("/console/overview")  # still signed in


def test_chinese_from_the_browser_and_switching_languages_and_zones(
        browser: Any, served: Served, tenant: dict[str, Any]) -> None:
    for ctx in _context(browser, served, locale="zh-CN", width=1280, height=900):
        page = ctx.new_page()
        page.goto("/console/login")
        assert page.get_by_role("heading", name="登录").is_visible()
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        audit(page, served, "login-zh")
        sign_in(page, tenant["key"])
        assert page.get_by_role("heading", name="概览", level=1).is_visible()
        audit(page, served, "overview-zh")
        page.get_by_role("link", name="回执", exact=True).click()
        page.wait_for_url(re.compile("/console/receipts"))
        audit(page, served, "receipts-zh")
        page.get_by_label("时区").select_option("Asia/Shanghai")
        page.get_by_role("button", name="应用").click()
        page.wait_for_url(re.compile("/console/receipts"))
        first = page.locator("table.receipts time").first
        utc, local = first.get_attribute("title"), first.inner_text()
        assert utc.endswith("UTC")
        assert local != utc.removesuffix(" UTC")  # eight hours apart
        page.get_by_label("语言").select_option("en")
        page.get_by_role("button", name="应用").click()
        page.wait_for_url(re.compile("/console/receipts"))
        assert page.get_by_role("heading", name="Receipts", level=1).is_visible()


def test_the_pages_fit_a_phone_and_work_with_the_keyboard(
        browser: Any, served: Served, tenant: dict[str, Any]) -> None:
    for ctx in _context(browser, served, locale="en-US", width=375, height=812):
        page = ctx.new_page()
        sign_in(page, tenant["key"])
        for path, name in (("/console/overview", "overview-mobile"),
                           ("/console/receipts", "receipts-mobile")):
            page.goto(path)
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 375, f"{path} is {wide}px wide"
            audit(page, served, name, full=False)
        page.keyboard.press("Tab")
        focused = page.evaluate("() => [document.activeElement.textContent,"
                                " getComputedStyle(document.activeElement).outlineStyle]")
        assert focused == ["Skip to content", "solid"]
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"


def test_signing_out_ends_the_session(context: Any, served: Served,
                                      tenant: dict[str, Any]) -> None:
    page = context.new_page()
    sign_in(page, tenant["key"])
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile("/console/login"))
    page.goto("/console/overview")
    assert page.url.endswith("/console/login")
