"""The admin's console pages through the real app: tenants, their keys, the system page,
and the sign-in limit.

Each action as the admin does it; its rules are the API's (the same services), so a
tenant with provider accounts is not deleted; a POST without the session's CSRF token
is refused (403); a tenant's session is refused every admin page (403); bad input is
the form again with what is wrong (400), never a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import falcon
import falcon.testing
import pytest
from sqlalchemy import delete, text

from dlrhub.config import Settings
from dlrhub.console import app as console_app
from dlrhub.console import i18n
from dlrhub.models import WORKER_SEEN_TABLE, DeliveryStatus, InboxState, TenantStatus, utcnow
from dlrhub.services import accounts, heartbeats, keys, system, tenancy
from dlrhub.services.errors import NotFound
from dlrhub.services.keys import KeyDirectory
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory, InboundCallbackFactory
from tests.functional.console_fixtures import XSS, Browser
from tests.functional.test_console_relay import delivery_of, endpoint_of, html

ADMIN_TOKEN = "test-admin-token"  # the test settings'


@pytest.fixture
def admin(client: falcon.testing.TestClient) -> Browser:
    browser = Browser(client)
    assert browser.sign_in(ADMIN_TOKEN).status_code == 303
    return browser



def tenant_named(runtime: Runtime, tenant_id: str) -> Any:
    with runtime.sessions() as session:
        return tenancy.get_tenant(session, tenant_id)


# --- tenants -------------------------------------------------------------------------


def test_the_admin_creates_a_tenant_and_opens_its_page(admin: Browser) -> None:
    empty = admin.get("/console/tenants")
    assert html(i18n.t("en", "tenants.none")) in empty.text
    made = admin.submit("/console/tenants", name=f"acme {XSS}")
    assert made.status_code == 303
    page = admin.get(made.headers["location"])
    assert page.status_code == 200
    assert html(i18n.t("en", "tenant.created")) in page.text
    assert html(f"acme {XSS}") in page.text
    assert XSS not in page.text
    assert html(i18n.t("en", "tenant.no_keys")) in page.text
    listing = admin.get("/console/tenants")
    assert html(f"acme {XSS}") in listing.text
    assert re.search(r'href="/console/tenants/ten_\w+"', listing.text)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_bad_tenant_name_is_the_form_again_with_what_is_wrong(
        admin: Browser, runtime: Runtime, name: str) -> None:
    refused = admin.submit("/console/tenants", name=name)
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "name" in refused.text
    with runtime.sessions() as session:
        assert tenancy.list_tenants(session)[0] == []


def test_renaming_a_tenant_and_refusing_a_blank_name(
        admin: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    path = f"/console/tenants/{console_tenant['tenant_id']}"
    done = admin.submit(path, name="renamed")
    assert done.status_code == 303
    assert html(i18n.t("en", "tenant.renamed")) in admin.get(done.headers["location"]).text
    assert tenant_named(runtime, console_tenant["tenant_id"]).name == "renamed"
    refused = admin.submit(path, name=" ")
    assert refused.status_code == 400
    assert tenant_named(runtime, console_tenant["tenant_id"]).name == "renamed"


def test_suspending_a_tenant_ends_its_console_sessions_at_once_and_resuming_lets_it_in(
        admin: Browser, signed_in: Browser, console_tenant: dict[str, Any],
        runtime: Runtime) -> None:
    assert signed_in.get("/console/overview").status_code == 200
    path = f"/console/tenants/{console_tenant['tenant_id']}"
    done = admin.submit(f"{path}/state", page=path, status="suspended")
    assert done.status_code == 303
    page = admin.get(done.headers["location"])
    assert html(i18n.t("en", "tenant.suspended")) in page.text
    assert tenant_named(runtime, console_tenant["tenant_id"]).status == TenantStatus.suspended
    # The tenant's very next request: its session has ended.
    ended = signed_in.get("/console/overview")
    assert ended.status_code == 303
    assert ended.headers["location"] == "/console/login?ended=1"
    assert Browser(signed_in.client).sign_in(console_tenant["key"]).status_code == 200
    resumed = admin.submit(f"{path}/state", page=path, status="active")
    assert resumed.status_code == 303
    assert tenant_named(runtime, console_tenant["tenant_id"]).status == TenantStatus.active
    # The ended session stays ended; the key signs in again.
    assert signed_in.get("/console/overview").status_code == 303
    assert Browser(signed_in.client).sign_in(console_tenant["key"]).status_code == 303


def test_an_unknown_state_is_a_400_and_changes_nothing(
        admin: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    path = f"/console/tenants/{console_tenant['tenant_id']}"
    refused = admin.submit(f"{path}/state", page=path, status="deleted")
    assert refused.status_code == 400
    assert tenant_named(runtime, console_tenant["tenant_id"]).status == TenantStatus.active


def test_deleting_is_refused_while_the_tenant_has_accounts_then_done_after_confirming(
        admin: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    tenant_id = console_tenant["tenant_id"]
    path = f"/console/tenants/{tenant_id}/delete"
    ask = admin.get(path)
    assert ask.status_code == 200
    assert html(i18n.t("en", "tdel.blocked", n=1)) in ask.text
    assert console_tenant["account"].id in ask.text
    assert f'action="{path}"' not in ask.text  # no button while it cannot be done
    refused = admin.post(path, urlencode({"csrf_token": admin.csrf(path)}))
    assert refused.status_code == 409
    assert html(i18n.t("en", "tdel.blocked", n=1)) in refused.text
    assert tenant_named(runtime, tenant_id).id == tenant_id
    with runtime.sessions() as session:
        accounts.delete_account(session, tenant_id=tenant_id,
                                account_id=console_tenant["account"].id)
        session.commit()
    confirm = admin.get(path)
    assert html(i18n.t("en", "tdel.confirm")) in confirm.text
    assert f'action="{path}"' in confirm.text
    done = admin.post(path, urlencode({"csrf_token": admin.csrf(path)}))
    assert done.status_code == 303
    assert done.headers["location"] == "/console/tenants?deleted=1"
    assert html(i18n.t("en", "tenants.deleted")) in admin.get(done.headers["location"]).text
    with runtime.sessions() as session, pytest.raises(NotFound):
        tenancy.get_tenant(session, tenant_id)
    assert admin.get(f"/console/tenants/{tenant_id}").status_code == 404


# --- keys ----------------------------------------------------------------------------


def test_a_key_is_shown_once_with_a_copy_button_and_signs_in(
        admin: Browser, client: falcon.testing.TestClient, console_tenant: dict[str, Any],
        runtime: Runtime) -> None:
    path = f"/console/tenants/{console_tenant['tenant_id']}"
    issued = admin.submit(f"{path}/keys", page=path, name="billing <server>")
    assert issued.status_code == 200
    found = re.search(r'<code class="url" id="new-key">(dlrhub_sk_[\w-]+)</code>', issued.text)
    assert found, issued.text
    key = found.group(1)
    assert 'data-copy="new-key"' in issued.text
    assert '<script src="/console/static/copy.js" defer></script>' in issued.text
    assert html("billing <server>") in issued.text
    assert "billing <server>" not in issued.text
    assert issued.headers["cache-control"] == "no-store"
    # Never again: not on the page, and not in the database.
    again = admin.get(path)
    assert key not in again.text
    assert f"…{key[-4:]}" in again.text
    with runtime.sessions() as session:
        stored = session.execute(text("SELECT * FROM api_key")).mappings().all()
    assert key not in " ".join(str(v) for row in stored for v in row.values())
    tenant = Browser(client)
    assert tenant.sign_in(key).status_code == 303
    assert tenant.get("/console/overview").status_code == 200


def test_revoking_a_key_ends_its_console_sessions_at_once(
        admin: Browser, signed_in: Browser, console_tenant: dict[str, Any],
        runtime: Runtime) -> None:
    assert signed_in.get("/console/receipts").status_code == 200
    path = f"/console/tenants/{console_tenant['tenant_id']}"
    done = admin.submit(f"{path}/keys/{console_tenant['key_id']}/revoke", page=path)
    assert done.status_code == 303
    page = admin.get(done.headers["location"])
    assert html(i18n.t("en", "tenant.revoked")) in page.text
    assert html(i18n.t("en", "tenant.revoked_at")) in page.text
    ended = signed_in.get("/console/receipts")
    assert ended.status_code == 303
    assert ended.headers["location"] == "/console/login?ended=1"
    assert Browser(signed_in.client).sign_in(console_tenant["key"]).status_code == 200


def test_another_tenants_key_or_an_unknown_tenant_is_a_404(
        admin: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    other = AccountFactory(provider="tencent").account.tenant_id
    path = f"/console/tenants/{other}"
    wrong = admin.submit(f"{path}/keys/{console_tenant['key_id']}/revoke", page=path)
    assert wrong.status_code == 404
    with runtime.sessions() as session:
        listed, _ = keys.list_keys(session, tenant_id=console_tenant["tenant_id"])
    assert listed[0].revoked_at is None
    assert admin.get("/console/tenants/ten_nope").status_code == 404
    assert admin.get("/console/tenants/ten_nope/delete").status_code == 404
    gone = admin.submit("/console/tenants/ten_nope/keys", page="/console/tenants",
                  name="x")
    assert gone.status_code == 404
    long_name = admin.submit(f"{path}/keys", page=path, name="k" * 201)
    assert long_name.status_code == 400


def test_every_admin_form_refuses_a_post_without_the_csrf_token(
        admin: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    base = f"/console/tenants/{console_tenant['tenant_id']}"
    for path, body in (("/console/tenants", "name=x"), (base, "name=x"),
                       (f"{base}/state", "status=suspended"), (f"{base}/keys", "name=x"),
                       (f"{base}/keys/{console_tenant['key_id']}/revoke", ""),
                       (f"{base}/delete", "")):
        for token in ("", "&csrf_token=" + "0" * 64):
            refused = admin.post(path, body + token)
            assert refused.status_code == 403, path
            assert html(i18n.t("en", "error.csrf")) in refused.text
    with runtime.sessions() as session:
        tenants, _ = tenancy.list_tenants(session)
        listed, _ = keys.list_keys(session, tenant_id=console_tenant["tenant_id"])
    assert [(t.name, t.status) for t in tenants] == [
        (tenants[0].name, TenantStatus.active)]
    assert len(listed) == 1
    assert listed[0].revoked_at is None


def test_a_tenants_session_is_refused_every_admin_page(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    base = f"/console/tenants/{console_tenant['tenant_id']}"
    for path in ("/console/tenants", base, f"{base}/delete", "/console/system"):
        page = signed_in.get(path)
        assert page.status_code == 403, path
        assert html(i18n.t("en", "error.admin_only")) in page.text
    token = signed_in.csrf("/console/overview")
    for path, body in ((f"{base}/state", "status=suspended"), (f"{base}/keys", "name=x"),
                       (f"{base}/keys/{console_tenant['key_id']}/revoke", ""),
                       (f"{base}/delete", ""), ("/console/tenants", "name=x")):
        assert signed_in.post(path, f"{body}&csrf_token={token}").status_code == 403, path
    assert tenant_named(runtime, console_tenant["tenant_id"]).status == TenantStatus.active
    nav = signed_in.get("/console/overview").text
    assert 'href="/console/system"' not in nav
    assert 'href="/console/tenants"' not in nav


def test_the_admin_pages_speak_chinese(
        client: falcon.testing.TestClient, console_tenant: dict[str, Any]) -> None:
    admin = Browser(client, **{"Accept-Language": "zh-CN"})
    assert admin.sign_in(ADMIN_TOKEN).status_code == 303
    base = f"/console/tenants/{console_tenant['tenant_id']}"
    for path, key in (("/console/tenants", "tenants.new"), (base, "tenant.issue"),
                      (f"{base}/delete", "tdel.blocked_title"),
                      ("/console/system", "system.workers_help")):
        page = admin.get(path)
        assert page.status_code == 200, path
        assert html(i18n.t("zh", key)) in page.text, path
        assert '<html lang="zh-Hans">' in page.text


# --- the system page -----------------------------------------------------------------


def test_the_system_page_shows_the_checks_backlogs_and_the_workers_last_work(
        admin: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    with runtime.sessions() as session:  # no worker of another test still beating
        session.execute(delete(WORKER_SEEN_TABLE))
        session.commit()
    page = admin.get("/console/system")
    assert page.status_code == 200
    assert page.text.count(html(i18n.t("en", "system.ok"))) == 2  # database, broker
    assert html(i18n.t("en", "system.workers_none")) in page.text  # no heartbeat yet
    assert 'href="/console/system" aria-current="page"' in page.text
    now = utcnow()
    for minutes in (5, 1):
        InboundCallbackFactory(account=console_tenant["account"],
                               received_at=now - timedelta(minutes=minutes))
    InboundCallbackFactory(account=console_tenant["account"], state=InboxState.processed,
                           received_at=now - timedelta(hours=1), processed_at=now)
    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/a")
    delivery_of(runtime, console_tenant["tenant_id"], endpoint_id)
    for _ in range(3):
        delivery_of(runtime, console_tenant["tenant_id"], endpoint_id,
                    status=DeliveryStatus.pending)
    page = admin.get("/console/system")
    figures = re.findall(r'<span class="figure">([^<]+)</span>', page.text)
    assert figures[0] == "2"  # callbacks pending
    assert figures[1].startswith("5")  # the oldest's age, in minutes
    assert "min" in figures[1]
    assert figures[2:] == ["3", "1"]  # deliveries pending, dead
    assert page.text.count("<time ") >= 3  # read at, last ingest, last attempt


def test_the_system_status_says_which_part_cannot_be_reached(runtime: Runtime) -> None:
    def broker_down() -> None:
        raise ConnectionRefusedError("no broker")

    now = utcnow()
    status = system.system_status(runtime.engine, broker_down, now)
    assert status.checks == {"database": "ok", "broker": "error: ConnectionRefusedError"}
    assert not status.ready
    assert status.inbox == system.InboxBacklog(0, None)
    assert status.deliveries == system.DeliveryBacklog(0, 0)
    assert status.work == system.WorkSeen(None, None, None)


# --- the sign-in limit ---------------------------------------------------------------


class Clock:
    """The console's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(settings: Settings, runtime: Runtime, clock: Clock) -> falcon.testing.TestClient:
    """The console alone, mounted as the API mounts it, on a clock the test moves."""
    app = falcon.App(middleware=console_app.middleware())
    app.req_options.auto_parse_form_urlencoded = False
    app.req_options.strip_url_path_trailing_slash = True
    no_sends: Callable[[list[Any]], list[Any]] = lambda jobs: []  # noqa: E731
    console_app.mount(app, sessions=runtime.sessions, keys=KeyDirectory(runtime.engine),
                      box=runtime.box, settings=settings, send=no_sends,
                      engine=runtime.engine, check_broker=lambda: None, clock=clock)
    return falcon.testing.TestClient(app)


def test_ten_wrong_keys_a_minute_then_the_address_is_refused_until_the_minute_passes(
        limited: falcon.testing.TestClient, console_tenant: dict[str, Any],
        clock: Clock, runtime: Runtime) -> None:
    guesser = Browser(limited, address="203.0.113.7")
    for n in range(10):
        wrong = guesser.sign_in(f"dlrhub_sk_guess{n}")
        assert wrong.status_code == 200, n
        assert html(i18n.t("en", "login.wrong")) in wrong.text
        clock.now += timedelta(seconds=3)
    refused = guesser.sign_in("dlrhub_sk_guess11")
    assert refused.status_code == 429
    assert html(i18n.t("en", "login.limited", minutes=1)) in refused.text
    assert '<input id="key" name="key"' in refused.text  # the form, to try again later
    assert refused.headers["retry-after"] == "60"
    # Refused whatever it posts now, a right key included, and no cookie is given.
    right = guesser.sign_in(console_tenant["key"])
    assert right.status_code == 429
    assert "dlrhub_session" not in right.cookies
    # Another address is not affected.
    assert Browser(limited, address="198.51.100.2").sign_in(console_tenant["key"]) \
        .status_code == 303
    # The address is counted by a keyed hash, never kept.
    with runtime.sessions() as session:
        rows = session.execute(text("SELECT * FROM console_signin_failure")).mappings().all()
    assert len(rows) == 10
    assert "203.0.113.7" not in " ".join(str(v) for row in rows for v in row.values())
    # The first failure leaves the window a minute after it came: one try more.
    clock.now += timedelta(seconds=31)
    assert guesser.sign_in("dlrhub_sk_guess12").status_code == 200
    assert guesser.sign_in(console_tenant["key"]).status_code == 429
    clock.now += timedelta(minutes=1)
    assert guesser.sign_in(console_tenant["key"]).status_code == 303


def test_the_limit_speaks_chinese_and_counts_the_admin_tokens_guesses_too(
        limited: falcon.testing.TestClient) -> None:
    guesser = Browser(limited, address="203.0.113.8", **{"Accept-Language": "zh-CN"})
    for _ in range(10):
        assert guesser.sign_in("not-the-admin-token").status_code == 200
    refused = guesser.sign_in(ADMIN_TOKEN)
    assert refused.status_code == 429
    assert html(i18n.t("zh", "login.limited", minutes=1)) in refused.text


def test_the_system_page_lists_the_workers_seen_in_the_last_two_minutes(
        admin: Browser, runtime: Runtime) -> None:
    now = utcnow()
    with runtime.sessions() as session:
        heartbeats.beat(session, name="box-a:101", started_at=now - timedelta(hours=3),
                        now=now - timedelta(seconds=20))
        heartbeats.beat(session, name="box-b:202", started_at=now - timedelta(hours=5),
                        now=now - timedelta(minutes=10))  # stopped: not listed
        session.commit()
    page = admin.get("/console/system")
    assert "box-a:101" in page.text
    assert "box-b:202" not in page.text
    assert html(i18n.t("en", "system.workers_none")) not in page.text


def test_a_heartbeat_updates_its_row_and_forgets_processes_gone_for_a_day(
        runtime: Runtime) -> None:
    now = utcnow()
    with runtime.sessions() as session:
        heartbeats.beat(session, name="gone:1", started_at=now - timedelta(days=3),
                        now=now - timedelta(days=2))
        heartbeats.beat(session, name="up:2", started_at=now - timedelta(hours=1),
                        now=now - timedelta(minutes=1))
        heartbeats.beat(session, name="up:2", started_at=now - timedelta(hours=1), now=now)
        session.commit()
        seen = heartbeats.seen_since(session.connection(), now - timedelta(days=30))
    mine = [(w.name, w.seen_at) for w in seen if w.name in ("gone:1", "up:2")]
    assert mine == [("up:2", now)]
