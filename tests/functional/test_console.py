"""The console over HTTP: sign-in, sessions, CSRF, escaping, isolation, export, languages.

The browser tests (tests/browser) drive the same pages in Chromium; these check, through
the real app, what a browser cannot easily see: cookies' flags, what the database keeps,
the answers to forged requests.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

import falcon.inspect
import falcon.testing
import pytest
from sqlalchemy import text, update

from dlrhub.console import i18n
from dlrhub.models import CONSOLE_SESSION_TABLE, utcnow
from dlrhub.services import tenancy
from dlrhub.services.ingest import ingest
from dlrhub.services.keys import revoke_key
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.factories import AccountFactory, InboundCallbackFactory, ReceiptFactory
from tests.functional.console_fixtures import XSS, Browser, tenant_key

# --- sign-in -------------------------------------------------------------------------


def test_the_login_form_asks_for_the_key_and_carries_a_csrf_token(
        client: falcon.testing.TestClient) -> None:
    page = Browser(client).get("/console/login")
    assert page.status_code == 200
    assert re.search(r'<input id="key" name="key" type="password"', page.text)
    assert re.search(r'<input type="hidden" name="csrf_token" value="[0-9a-f]{64}">', page.text)
    assert '<label for="key">' in page.text


def test_a_good_key_opens_a_session_kept_only_as_a_hash(
        client: falcon.testing.TestClient, console_tenant: dict[str, Any],
        runtime: Runtime) -> None:
    browser = Browser(client)
    done = browser.sign_in(console_tenant["key"])
    assert done.status_code == 303
    assert done.headers["location"].endswith("/console/")
    cookie = done.cookies["dlrhub_session"]
    assert cookie.http_only
    assert cookie.same_site == "Lax"
    assert not cookie.secure
    assert cookie.path == "/console"
    assert console_tenant["key"] not in done.headers["set-cookie"]
    with runtime.sessions() as session:
        rows = session.execute(text("SELECT * FROM console_session")).mappings().all()
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0].values())
    assert cookie.value not in stored
    assert console_tenant["key"] not in stored
    assert rows[0]["tenant_id"] == console_tenant["tenant_id"]
    overview = browser.get("/console/overview")
    assert overview.status_code == 200
    assert "Overview" in overview.text
    with runtime.sessions() as session:
        name = tenancy.get_tenant(session, console_tenant["tenant_id"]).name
    assert f"Signed in as {name}<" in overview.text


def test_the_cookie_is_secure_when_served_over_https(
        client: falcon.testing.TestClient, console_tenant: dict[str, Any]) -> None:
    browser = Browser(client, **{"X-Forwarded-Proto": "https"})
    done = browser.sign_in(console_tenant["key"])
    assert done.status_code == 303
    assert done.cookies["dlrhub_session"].secure


@pytest.mark.parametrize("key", ["dlrhub_sk_not-a-key", "test-admin-token-wrong", ""])
def test_a_wrong_key_shows_the_form_again_with_an_error_and_no_cookie(
        client: falcon.testing.TestClient, console_tenant: dict[str, Any], key: str) -> None:
    browser = Browser(client)
    again = browser.sign_in(key)
    assert again.status_code == 200
    assert i18n.t("en", "login.wrong").replace("'", "&#39;") in again.text
    assert 'name="key"' in again.text
    assert "dlrhub_session" not in again.cookies
    assert browser.get("/console/overview").status_code == 303


def test_a_post_without_a_valid_csrf_token_is_refused(
        client: falcon.testing.TestClient, console_tenant: dict[str, Any],
        signed_in: Browser) -> None:
    stranger = Browser(client)
    stranger.get("/console/login")
    assert stranger.post("/console/login", f"key={console_tenant['key']}").status_code == 403
    forged = stranger.post("/console/login", f"key={console_tenant['key']}&csrf_token={'0' * 64}")
    assert forged.status_code == 403
    assert "dlrhub_session" not in forged.cookies
    # Signed in, a form without the session's token changes nothing.
    assert signed_in.post("/console/logout", "csrf_token=").status_code == 403
    assert signed_in.post("/console/logout", f"csrf_token={stranger.csrf()}").status_code == 403
    assert signed_in.get("/console/overview").status_code == 200


def test_signing_out_ends_the_session_on_the_server(
        client: falcon.testing.TestClient, signed_in: Browser) -> None:
    kept = dict(signed_in.cookies)
    done = signed_in.post("/console/logout",
                          f"csrf_token={signed_in.csrf('/console/overview')}")
    assert done.status_code == 303
    assert done.headers["location"].endswith("/console/login")
    assert "dlrhub_session" not in signed_in.cookies
    replay = Browser(client)
    replay.cookies = kept  # the old cookie, as a copy of it would be
    assert replay.get("/console/overview").headers["location"].startswith("/console/login")


def test_revoking_the_key_ends_its_sessions_at_once(
        runtime: Runtime, console_tenant: dict[str, Any], signed_in: Browser) -> None:
    with runtime.sessions() as session:
        revoke_key(session, tenant_id=console_tenant["tenant_id"], key_id=console_tenant["key_id"])
        session.commit()
    gone = signed_in.get("/console/receipts")
    assert gone.status_code == 303
    assert gone.headers["location"] == "/console/login?ended=1"
    assert i18n.t("en", "login.ended") in signed_in.get(gone.headers["location"]).text


def test_suspending_the_tenant_ends_its_sessions_at_once(
        runtime: Runtime, console_tenant: dict[str, Any], signed_in: Browser) -> None:
    with runtime.sessions() as session:
        tenancy.update_tenant(session, console_tenant["tenant_id"], status="suspended")
        session.commit()
    kept = dict(signed_in.cookies)
    assert signed_in.get("/console/overview").status_code == 303
    with runtime.sessions() as session:
        tenancy.update_tenant(session, console_tenant["tenant_id"], status="active")
        session.commit()
    # Resuming does not bring the ended session back: a copy of its cookie stays out.
    signed_in.cookies = kept
    assert signed_in.get("/console/overview").status_code == 303


def test_a_session_expires_and_is_forgotten(
        client: falcon.testing.TestClient, runtime: Runtime, console_tenant: dict[str, Any],
        signed_in: Browser) -> None:
    with runtime.sessions() as session:
        session.execute(update(CONSOLE_SESSION_TABLE).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert signed_in.get("/console/overview").status_code == 303
    abandoned = Browser(client)
    abandoned.sign_in(console_tenant["key"])
    with runtime.sessions() as session:
        session.execute(update(CONSOLE_SESSION_TABLE).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    Browser(client).sign_in(console_tenant["key"])  # a new sign-in clears the expired ones
    with runtime.sessions() as session:
        left = session.execute(text("SELECT count(*) FROM console_session")).scalar_one()
    assert left == 1


def test_the_admin_signs_in_with_the_admin_token_and_sees_the_tenants(
        client: falcon.testing.TestClient, console_tenant: dict[str, Any]) -> None:
    admin = Browser(client)
    assert admin.sign_in("test-admin-token").status_code == 303
    assert admin.get("/console/").headers["location"] == "/console/tenants"
    page = admin.get("/console/tenants")
    assert page.status_code == 200
    assert console_tenant["tenant_id"] in page.text
    assert admin.get("/console/receipts").status_code == 403


def test_a_tenant_cannot_open_the_admin_pages(signed_in: Browser) -> None:
    assert signed_in.get("/console/tenants").status_code == 403


# --- safety --------------------------------------------------------------------------


def test_every_page_forbids_framing_and_inline_scripts(signed_in: Browser) -> None:
    for path in ("/console/login", "/console/overview", "/console/receipts"):
        page = signed_in.get(path)
        policy = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in page.text  # every script is a file of the console


def test_a_receipts_text_is_shown_as_text(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    ReceiptFactory(account=console_tenant["account"], message_id="m-<b>1&", text=XSS,
                   provider_status=XSS)
    listing = signed_in.get("/console/receipts")
    assert XSS not in listing.text
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in listing.text
    assert 'href="/console/messages/m-%3Cb%3E1%26"' in listing.text
    message = signed_in.get("/console/messages/m-<b>1&")
    assert message.status_code == 200
    assert XSS not in message.text
    assert "<b>" not in message.text
    assert "&lt;script&gt;" in message.text


def test_a_tenant_sees_only_its_own_data_on_every_page(
        client: falcon.testing.TestClient, runtime: Runtime,
        console_tenant: dict[str, Any]) -> None:
    theirs = ReceiptFactory(account=console_tenant["account"], message_id="their-message",
                            text="their text")
    other = AccountFactory(provider="tencent")
    key, _ = tenant_key(runtime, other.account.tenant_id)
    me = Browser(client)
    assert me.sign_in(key).status_code == 303
    assert me.get(f"/console/messages/{theirs.message_id}").status_code == 404
    for path in ("/console/receipts", "/console/overview"):
        page = me.get(path, message_id="their-message")
        assert page.status_code == 200
        assert "their text" not in page.text
    exported = me.get("/console/receipts/export", format="ndjson")
    assert exported.status_code == 200
    assert exported.text == ""


# --- the pages -----------------------------------------------------------------------


def test_receipts_filter_page_and_link_to_their_message(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    for n in range(55):
        ReceiptFactory(account=console_tenant["account"], message_id=f"msg-{n:02d}",
                       status="failed" if n % 5 == 0 else "delivered",
                       reason_class="invalid_number" if n % 5 == 0 else None)
    first = signed_in.get("/console/receipts")
    assert first.text.count('href="/console/messages/msg-') == 50
    nxt = re.search(r'href="(/console/receipts\?after=[^"]+)" rel="next"', first.text)
    assert nxt
    second = signed_in.get(nxt.group(1).replace("&amp;", "&"))
    assert second.text.count('href="/console/messages/msg-') == 5
    failed = signed_in.get("/console/receipts", status="failed")
    assert failed.text.count('href="/console/messages/msg-') == 11
    assert 'rel="next"' not in failed.text
    assert 'href="/console/receipts/export?format=csv&amp;status=failed"' in failed.text


def test_a_bad_filter_is_a_400_page_that_says_which(signed_in: Browser) -> None:
    page = signed_in.get("/console/receipts", status="nonsense")
    assert page.status_code == 400
    assert "status" in page.text
    assert "text/html" in page.headers["content-type"]
    assert signed_in.get("/console/receipts", since="yesterday").status_code == 400
    assert signed_in.get("/console/receipts", phone="1" * 201).status_code == 400


def test_times_in_filters_are_read_in_the_viewers_zone(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    signed_in.cookies["dlrhub_tz"] = "Asia/Shanghai"
    ReceiptFactory(account=console_tenant["account"], message_id="late",
                   received_at=utcnow().replace(year=2026, month=1, day=1, hour=17, minute=0,
                                                second=0, microsecond=0))
    # 17:00 UTC is 01:00 the next day in Shanghai.
    shown = signed_in.get("/console/receipts", since="2026-01-02T00:30",
                          until="2026-01-02T01:30")
    assert 'href="/console/messages/late"' in shown.text
    assert 'title="2026-01-01 17:00:00 UTC">2026-01-02 01:00:00</time>' in shown.text
    missed = signed_in.get("/console/receipts", since="2026-01-01T16:30",
                           until="2026-01-01T17:30")
    assert 'href="/console/messages/late"' not in missed.text


def test_the_export_streams_every_match_as_csv_and_ndjson(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    for n in range(3):
        ReceiptFactory(account=console_tenant["account"], message_id=f"x-{n}", text="=1+1")
    ReceiptFactory(account=console_tenant["account"], message_id="other", status="failed")
    done = signed_in.get("/console/receipts/export", format="csv", status="delivered")
    assert done.status_code == 200
    assert done.headers["content-type"].startswith("text/csv")
    assert "attachment" in done.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(done.text)))
    assert sorted(r["message_id"] for r in rows) == ["x-0", "x-1", "x-2"]
    assert {r["text"] for r in rows} == {"'=1+1"}  # no spreadsheet formula runs
    lines = signed_in.get("/console/receipts/export", format="ndjson").text.splitlines()
    assert len(lines) == 4
    assert {json.loads(x)["message_id"] for x in lines} >= {"other"}


def test_the_message_page_shows_each_recipient_and_what_to_do(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    ReceiptFactory(account=console_tenant["account"], message_id="m1", phone="+8613800000001",
                   status="failed", reason_class="invalid_number", provider_status="MK:0001")
    ReceiptFactory(account=console_tenant["account"], message_id="m1", phone="+8613800000002")
    page = signed_in.get("/console/messages/m1")
    assert page.status_code == 200
    assert "Recipient +8613800000001" in page.text
    assert "Recipient +8613800000002" in page.text
    assert "Remove the number or have the user correct it" in page.text
    assert "MK:0001" in page.text
    assert signed_in.get("/console/messages/nothing-here").status_code == 404


def test_the_overview_shows_figures_and_says_what_to_do_when_empty(
        client: falcon.testing.TestClient, runtime: Runtime, signed_in: Browser,
        console_tenant: dict[str, Any]) -> None:
    empty = signed_in.get("/console/overview")
    assert i18n.t("en", "overview.empty").replace("—", "—") in empty.text
    assert f"/v1/callbacks/tencent/{console_tenant['token']}" in empty.text
    sim = build_callback("tencent", "http://x/", seq=1, batch=20, kind="status",
                         credentials={})
    assert client.simulate_post(f"/v1/callbacks/tencent/{console_tenant['token']}", body=sim.body,
                                headers={"Content-Type": "application/json"}).status_code == 200
    with runtime.sessions() as session:
        ids = session.execute(text("SELECT id FROM inbound_callback")).scalars().all()
        ingest(session, runtime.box, list(ids), now=utcnow())
        session.commit()
    page = signed_in.get("/console/overview")
    assert 'id="status-chart-data"' in page.text
    data = json.loads(re.search(r'id="status-chart-data">(.*?)</script>', page.text,
                                re.S).group(1))  # type: ignore[union-attr]
    assert sum(sum(s["data"]) for s in data["series"]) == 20
    assert ">tencent<" in page.text
    # No endpoint yet: the overview says so and leads to the page that makes one.
    assert i18n.t("en", "overview.no_endpoints") in page.text
    assert 'href="/console/endpoints/new"' in page.text
    assert signed_in.get("/console/overview", range="7d").status_code == 200


# --- languages and time zones --------------------------------------------------------


def test_the_browsers_language_chooses_chinese_and_the_viewer_can_switch(
        client: falcon.testing.TestClient) -> None:
    browser = Browser(client, **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    page = browser.get("/console/login")
    assert '<html lang="zh-Hans">' in page.text
    assert i18n.t("zh", "login.title") in page.text
    switched = browser.post("/console/prefs",
                            f"lang=en&tz=Asia%2FShanghai&next=%2Fconsole%2Flogin"
                            f"&csrf_token={browser.csrf()}")
    assert switched.status_code == 303
    assert switched.headers["location"] == "/console/login"
    again = browser.get("/console/login")
    assert '<html lang="en">' in again.text
    assert '<option value="Asia/Shanghai" selected>' in again.text


def test_preferences_never_send_the_viewer_to_another_site(
        client: falcon.testing.TestClient) -> None:
    browser = Browser(client)
    for target in ("https://evil.example/", "//evil.example/console/", "/v1/tenants"):
        done = browser.post("/console/prefs",
                            f"lang=zh&next={target}&csrf_token={browser.csrf()}")
        assert done.headers["location"] == "/console/"


def test_an_unknown_console_path_is_an_html_404_and_static_files_are_served(
        signed_in: Browser) -> None:
    missing = signed_in.get("/console/no-such-page")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert i18n.t("en", "error.not_found") in missing.text
    css = signed_in.get("/console/static/console.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert signed_in.get("/console/static/vendor/htmx.min.js").status_code == 200


def test_every_console_route_with_an_id_is_404_for_another_tenant(
        client: falcon.testing.TestClient, runtime: Runtime,
        console_tenant: dict[str, Any]) -> None:
    # Found from the app's routes: a page added later is covered without a word here.
    theirs = ReceiptFactory(account=console_tenant["account"], message_id="theirs", text="secret A")
    ids = {"message_id": theirs.message_id}
    # --- provider accounts, endpoints, deliveries ---
    from tests.functional.test_console_relay import delivery_of, endpoint_of

    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/hook")
    ids.update(account_id=console_tenant["account"].id, endpoint_id=endpoint_id,
               delivery_id=delivery_of(runtime, console_tenant["tenant_id"], endpoint_id),
               inbox_id=InboundCallbackFactory(account=console_tenant["account"],
                                               state="rejected").id)
    # --- insight ---
    from tests.functional.test_console_insight import rule_of

    ids.update(rule_id=rule_of(runtime, console_tenant["tenant_id"]))
    # --- admin: a tenant is refused the admin's pages (403), its own tenant's included ---
    ids.update(tenant_id=console_tenant["tenant_id"], key_id=console_tenant["key_id"])
    other = AccountFactory(provider="tencent")
    key, _ = tenant_key(runtime, other.account.tenant_id)
    me = Browser(client)
    assert me.sign_in(key).status_code == 303
    routes = [r for r in falcon.inspect.inspect_routes(client.app)
              if r.path.startswith("/console/")]
    with_ids = [r for r in routes if "{" in r.path]
    assert with_ids
    for route in routes:
        path = re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], route.path)
        if any(m.method == "GET" and not m.internal for m in route.methods):
            seen = me.get(path)
            assert "secret A" not in seen.text, path
            if route.path.startswith(("/console/tenants", "/console/system")):
                assert seen.status_code == 403, path
            elif route in with_ids:
                assert seen.status_code == 404, path
