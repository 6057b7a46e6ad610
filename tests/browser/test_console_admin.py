"""The admin's console pages in Chromium: create a tenant, issue it a key and copy it,
sign in as that tenant, suspend it; the system page; axe-core on each page in English,
in Chinese and at a phone's width; a screenshot of each.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ADMIN_TOKEN, Served
from tests.browser.test_console import _context, audit, sign_in
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def context(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh English desktop profile that may use the clipboard."""
    for ctx in _context(browser, served, locale="en-US", width=1280, height=900):
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=served.base_url)
        yield ctx


def create_tenant(page: Any, name: str) -> str:
    """Create a tenant from the list's form; return its id (the admin is signed in)."""
    page.goto("/console/tenants")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create the tenant").click()
    page.wait_for_url(re.compile(r"/console/tenants/ten_\w+\?created=1"))
    found = re.search(r"/console/tenants/(ten_\w+)", page.url)
    assert found
    return found.group(1)


def test_the_admin_makes_a_tenant_and_a_key_that_the_tenant_signs_in_with(
        context: Any, browser: Any, served: Served) -> None:
    from playwright.sync_api import expect  # as conftest.py: imported once Chromium is found

    page = context.new_page()
    sign_in(page, ADMIN_TOKEN)
    page.get_by_role("button", name="Create the tenant").click()  # a blank name
    assert page.url.endswith("/console/tenants")  # the browser asks first (required)
    tenant_id = create_tenant(page, "Globex <Ltd>")
    assert page.get_by_role("heading", level=1).inner_text() == "Tenant Globex <Ltd>"
    assert page.get_by_role("status").inner_text().startswith("The tenant was created")
    audit(page, served, "tenant-new")
    page.get_by_label("Key name (optional)").fill("laptop")
    page.get_by_role("button", name="Issue the key").click()
    page.wait_for_load_state()
    key = page.locator("#new-key").inner_text()
    assert key.startswith("dlrhub_sk_")
    page.get_by_role("button", name="Copy the key").click()
    expect(page.locator('button.copy[data-copy="new-key"]')).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    audit(page, served, "tenant-key")
    page.goto(f"/console/tenants/{tenant_id}")
    assert key not in page.content()  # shown once
    row = page.get_by_role("row").filter(has_text="laptop")
    assert row.get_by_role("cell").nth(1).inner_text() == f"…{key[-4:]}"
    audit(page, served, "tenant")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile("/console/login"))
    # The tenant signs in with the key the admin copied.
    sign_in(page, page.evaluate("() => navigator.clipboard.readText()"))
    assert page.url.endswith("/console/overview")
    assert page.get_by_text("Signed in as Globex <Ltd>").is_visible()
    # The admin, in another browser, suspends it: the tenant's next page is the sign-in.
    for other in _context(browser, served, locale="en-US", width=1280, height=900):
        admin = other.new_page()
        sign_in(admin, ADMIN_TOKEN)
        admin.goto(f"/console/tenants/{tenant_id}")
        admin.get_by_role("button", name="Suspend").click()
        admin.wait_for_url(re.compile(r"\?suspended=1"))
        assert admin.get_by_role("status").inner_text().startswith("The tenant is suspended")
        assert admin.get_by_role("button", name="Resume").is_visible()
        audit(admin, served, "tenant-suspended")
    page.goto("/console/receipts")
    assert page.url.endswith("/console/login?ended=1")
    assert page.get_by_role("status").inner_text() == "Your session has ended. Sign in again."


def test_revoking_a_key_and_deleting_a_tenant_after_confirming(
        context: Any, served: Served) -> None:
    page = context.new_page()
    sign_in(page, ADMIN_TOKEN)
    tenant_id = create_tenant(page, "Initech")
    page.get_by_label("Key name (optional)").fill("old-server")
    page.get_by_role("button", name="Issue the key").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Revoke the key old-server").click()
    page.wait_for_url(re.compile(r"\?revoked=1"))
    row = page.get_by_role("row").filter(has_text="old-server")
    assert row.get_by_role("cell").nth(4).inner_text().startswith("Revoked")
    page.get_by_role("link", name="Delete…").click()
    page.wait_for_url(re.compile(r"/delete$"))
    assert page.get_by_role("heading", name="Delete it for good?").is_visible()
    audit(page, served, "tenant-delete")
    page.get_by_role("button", name="Delete the tenant").click()
    page.wait_for_url(re.compile(r"/console/tenants\?deleted=1"))
    assert page.get_by_role("status").inner_text().startswith("The tenant was deleted")
    assert page.get_by_role("row").filter(has_text=tenant_id).count() == 0


def test_the_system_page(context: Any, served: Served) -> None:
    # A callback the worker stores: its time is the workers' last recorded work.
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=served.base_url, timeout=20) as api:
        made = api.post("/v1/tenants", json={"name": "Hooli"}, headers=admin).json()
        key = api.post(f"/v1/tenants/{made['id']}/keys", json={}, headers=admin).json()["key"]
        me = {"Authorization": f"Bearer {key}"}
        account = api.post("/v1/accounts", json={"provider": "tencent", "name": "main"},
                           headers=me).json()
        report = [{"user_receive_time": time.strftime("%Y-%m-%d %H:%M:%S"),
                   "nationcode": "86", "mobile": "13800000001", "report_status": "SUCCESS",
                   "errmsg": "DELIVRD", "description": "ok", "sid": "system-page-1"}]
        assert api.post(account["callback_url"], json=report).status_code == 200
        wait_for(lambda: api.get("/v1/receipts", headers=me).json()["data"] != [], 30,
                 "the callback, stored by the worker")
    page = context.new_page()
    sign_in(page, ADMIN_TOKEN)
    page.get_by_role("link", name="System").click()
    page.wait_for_url(re.compile("/console/system$"))
    checks = page.get_by_role("region", name="Connections")
    assert checks.get_by_text("reachable").count() == 2  # the database and the broker
    workers = page.get_by_role("region", name="Workers")
    # dlrhub serve's worker processes, each seen by its heartbeat ("host:pid").
    processes = workers.get_by_role("region", name="Process (host:pid)").get_by_role("row")
    assert processes.count() >= 2  # the header and at least one process
    assert re.search(r":\d+$", processes.nth(1).locator("code").inner_text())
    assert workers.locator("dl time").count() == 1  # the callback stored; no relay, no alerts
    audit(page, served, "system")


def test_the_admin_pages_in_chinese_and_at_a_phones_width(
        browser: Any, served: Served) -> None:
    for ctx in _context(browser, served, locale="en-US", width=1280, height=900):
        setup = ctx.new_page()
        sign_in(setup, ADMIN_TOKEN)
        tenant_id = create_tenant(setup, "Umbrella 保护伞")
    pages = (("/console/tenants", "tenants"), (f"/console/tenants/{tenant_id}", "tenant"),
             (f"/console/tenants/{tenant_id}/delete", "tenant-delete"),
             ("/console/system", "system"))
    for ctx in _context(browser, served, locale="zh-CN", width=1280, height=900):
        page = ctx.new_page()
        sign_in(page, ADMIN_TOKEN)
        for path, name in pages:
            page.goto(path)
            assert page.evaluate("() => document.documentElement.lang") == "zh-Hans"
            audit(page, served, f"{name}-zh")
        assert page.get_by_role("heading", name="系统", level=1).is_visible()
    for ctx in _context(browser, served, locale="en-US", width=375, height=812):
        page = ctx.new_page()
        sign_in(page, ADMIN_TOKEN)
        for path, name in pages:
            page.goto(path)
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= 375, f"{path} is {wide}px wide"
            audit(page, served, f"{name}-mobile", full=False)
