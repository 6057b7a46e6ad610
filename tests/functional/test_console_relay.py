"""The console's provider accounts, endpoints and deliveries, through the real app.

Each form: good input, bad input shown in the form as a 400, a POST without the
session's CSRF token refused (403), and another tenant's id a 404. The test event, which
the API process sends with the relay's HTTP client, is sent in the browser test, against
a real server (tests/browser/test_console_relay.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import falcon.testing
import pytest

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.console import i18n
from dlrhub.models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    EndpointCreate,
    InboxState,
    ProviderAccount,
    utcnow,
)
from dlrhub.providers.base import SubscriptionChange
from dlrhub.services import endpoints, subscriptions
from dlrhub.services.runtime import Runtime
from tests.customer import Customer, customer_server
from tests.factories import AccountFactory, InboundCallbackFactory, ReceiptFactory
from tests.functional.console_fixtures import XSS, Browser


def html(text: str) -> str:
    """Return ``text`` as the templates escape it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace("'", "&#39;").replace('"', "&#34;")


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> falcon.testing.TestClient:
    """The real app, allowed to post to the loopback receiver of these tests."""
    local = settings.model_copy(update={"allow_private_endpoints": True})
    return falcon.testing.TestClient(create_app(local, runtime=runtime))


@pytest.fixture
def customer() -> Iterator[Customer]:
    with customer_server() as server:
        yield server




def endpoint_of(runtime: Runtime, tenant_id: str, url: str, **spec: Any) -> str:
    with runtime.sessions() as session:
        endpoint, _ = endpoints.create_endpoint(
            session, runtime.box, tenant_id=tenant_id,
            spec=EndpointCreate(url=url, **spec), allow_private=True)
        session.commit()
        return endpoint.id


def delivery_of(runtime: Runtime, tenant_id: str, endpoint_id: str,
                status: DeliveryStatus = DeliveryStatus.dead) -> str:
    with runtime.sessions() as session:
        delivery = Delivery(tenant_id=tenant_id, endpoint_id=endpoint_id, event_ids=["evt_1"],
                            status=status, attempts=2, last_status_code=503,
                            last_error="HTTP 503", next_attempt_at=None)
        session.add(delivery)
        session.flush()
        for n, (code, excerpt) in enumerate(((500, XSS), (503, "busy"))):
            session.add(Attempt(delivery_id=delivery.id, tenant_id=tenant_id,
                                at=utcnow() - timedelta(minutes=10 - n), status_code=code,
                                latency_ms=120.0, error=f"HTTP {code}",
                                response_excerpt=excerpt))
        session.commit()
        return delivery.id


# --- provider accounts ---------------------------------------------------------------


def test_each_provider_has_a_form_with_its_credentials_and_help(signed_in: Browser) -> None:
    chooser = signed_in.get("/console/accounts/new")
    assert chooser.status_code == 200
    assert 'name="provider"' in chooser.text
    netease = signed_in.get("/console/accounts/new", provider="netease")
    for name in ("app_key", "app_secret"):
        assert f'name="credential.{name}" type="password"' in netease.text
        assert html(i18n.t("en", f"cred.netease.{name}")) in netease.text
    huawei = signed_in.get("/console/accounts/new", provider="huawei")
    assert 'name="option.acceptd_status"' in huawei.text
    assert html(i18n.t("en", "acc.credentials_optional")) in huawei.text
    tencent = signed_in.get("/console/accounts/new", provider="tencent")
    assert 'name="credential.' not in tencent.text
    chuanglan = signed_in.get("/console/accounts/new", provider="chuanglan")
    assert 'name="credential.password" type="password"' in chuanglan.text
    assert html(i18n.t("en", "cred.chuanglan.password")) in chuanglan.text
    montnets = signed_in.get("/console/accounts/new", provider="montnets")
    assert 'name="option.pwd_check"' in montnets.text
    for name in ("kannel", "jasmin", "yunpian"):
        assert signed_in.get("/console/accounts/new", provider=name).status_code == 200


def test_a_kannel_account_shows_the_dlr_url_to_send_with_each_message(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    done = signed_in.submit("/console/accounts/new", "/console/accounts/new?provider=kannel",
                            provider="kannel", name="SMSC", timezone="UTC")
    assert done.status_code == 303, done.text
    page = signed_in.get(done.headers["location"])
    url = re.search(r'<code class="url" id="callback-url">([^<]+)</code>', page.text)
    assert url
    assert html(i18n.t("en", "setup.dlr_url_template")) in page.text
    assert (f'<code class="url" id="setup-1">{url.group(1)}?type=%d&amp;id=%I&amp;fid=%F'
            "&amp;to=%P&amp;from=%p&amp;ts=%T&amp;smsc=%i&amp;raw=%A</code>") in page.text
    assert 'data-copy="setup-1"' in page.text
    tencent = signed_in.get(f"/console/accounts/{console_tenant['account'].id}")
    assert 'id="setup-1"' not in tencent.text


def test_an_sns_account_shows_its_topics_subscriptions(
        signed_in: Browser, runtime: Runtime) -> None:
    done = signed_in.submit("/console/accounts/new", "/console/accounts/new?provider=aws_sns",
                            provider="aws_sns", name="SNS", timezone="UTC")
    assert done.status_code == 303, done.text
    account_id = done.headers["location"].rsplit("/", 1)[1].split("?")[0]
    page = signed_in.get(done.headers["location"])
    assert 'id="subscriptions"' not in page.text  # none yet
    topic = "arn:aws:sns:us-east-1:123456789012:sms-<events>"
    subscriptions.record(runtime.engine, account_id,
                         SubscriptionChange(topic, "confirmed", f"{topic}:2bcf"), utcnow())
    subscriptions.record(runtime.engine, account_id,
                         SubscriptionChange("arn:aws:sns:eu-west-1:1:old", "unsubscribed"),
                         utcnow())
    page = signed_in.get(f"/console/accounts/{account_id}")
    assert 'id="subscriptions"' in page.text
    assert html(topic) in page.text
    assert topic not in page.text  # escaped
    assert html(i18n.t("en", "acc.sub_status_confirmed")) in page.text
    assert html(i18n.t("en", "acc.sub_status_unsubscribed")) in page.text


def test_creating_an_account_shows_its_callback_url_to_copy(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    done = signed_in.submit("/console/accounts/new", "/console/accounts/new?provider=netease",
                  provider="netease", name="Yunxin <main>", timezone="Asia/Shanghai",
                  default_region="cn", ip_allowlist="203.0.113.0/24\n198.51.100.7",
                  **{"credential.app_key": "ak-1", "credential.app_secret": "s3cr3t-value"})
    assert done.status_code == 303, done.text
    page = signed_in.get(done.headers["location"])
    assert page.status_code == 200
    assert html(i18n.t("en", "acc.created")) in page.text
    url = re.search(r'<code class="url" id="callback-url">([^<]+)</code>', page.text)
    assert url
    assert "/v1/callbacks/netease/" in url.group(1)
    assert 'data-copy="callback-url"' in page.text
    assert "Yunxin &lt;main&gt;" in page.text
    assert "s3cr3t-value" not in page.text  # credentials are write-only
    assert "app_key, app_secret" in page.text
    assert "203.0.113.0/24\n198.51.100.7/32" in page.text
    listing = signed_in.get("/console/accounts")
    assert url.group(1) in listing.text
    # Saved without typing them again, the credentials stay; the form says so.
    assert html(i18n.t("en", "acc.credentials_keep")) in page.text
    path = done.headers["location"].split("?")[0]
    saved = signed_in.submit(path, name="Yunxin", timezone="Asia/Shanghai")
    assert saved.status_code == 303
    assert "app_key, app_secret" in signed_in.get(path).text
    half = signed_in.submit(path, name="Yunxin", **{"credential.app_key": "new-key"})
    assert half.status_code == 400
    assert "credentials.app_secret" in half.text


def test_a_bad_account_form_is_shown_again_with_what_is_wrong(signed_in: Browser) -> None:
    missing = signed_in.submit("/console/accounts/new", "/console/accounts/new?provider=netease",
                     provider="netease", name="n", **{"credential.app_key": "k"})
    assert missing.status_code == 400
    assert "credentials.app_secret: is required for netease" in missing.text
    assert 'name="name" value="n"' in missing.text  # what was typed stays
    bad_zone = signed_in.submit("/console/accounts/new", "/console/accounts/new?provider=tencent",
                      provider="tencent", name="t", timezone="Mars/Base")
    assert bad_zone.status_code == 400
    assert "unknown time zone" in bad_zone.text
    bad_net = signed_in.submit("/console/accounts/new", "/console/accounts/new?provider=tencent",
                     provider="tencent", name="t", ip_allowlist="not-an-ip")
    assert bad_net.status_code == 400
    assert "ip_allowlist[0]" in bad_net.text
    nobody = signed_in.submit("/console/accounts/new", provider="nobody", name="x")
    assert nobody.status_code == 400


def test_editing_an_account_keeps_its_credentials_unless_new_ones_are_typed(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    path = f"/console/accounts/{console_tenant['account'].id}"
    saved = signed_in.submit(path, name="Renamed", timezone="UTC", default_region="",
                   ip_allowlist="10.0.0.0/8")
    assert saved.status_code == 303
    page = signed_in.get(saved.headers["location"])
    assert "Renamed" in page.text
    assert 'name="timezone" value="UTC"' in page.text
    assert "10.0.0.0/8" in page.text
    wrong = signed_in.submit(path, name="Renamed", default_region="XX")
    assert wrong.status_code == 400
    assert "default_region: unknown region" in wrong.text


def test_rotating_the_token_gives_a_new_url_and_shows_the_grace_period(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    path = f"/console/accounts/{console_tenant['account'].id}"
    assert console_tenant["token"] in signed_in.get(path).text
    done = signed_in.submit(f"{path}/rotate", path, grace_seconds="3600")
    assert done.status_code == 303
    page = signed_in.get(done.headers["location"])
    assert console_tenant["token"] not in page.text
    assert html(i18n.t("en", "acc.previous_until")) in page.text
    later = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    assert later in page.text
    assert signed_in.submit(f"{path}/rotate", path, grace_seconds="999999999").status_code == 400


def test_the_rejected_callbacks_of_an_account_are_shown_escaped(
        signed_in: Browser, console_tenant: dict[str, Any]) -> None:
    account: ProviderAccount = console_tenant["account"]
    refused = InboundCallbackFactory(account=account, state=InboxState.rejected,
                                     body=XSS.encode(), reason=f"not JSON: {XSS}")
    InboundCallbackFactory(account=account, state=InboxState.processed)
    path = f"/console/accounts/{account.id}"
    page = signed_in.get(path)
    assert XSS not in page.text
    assert page.text.count("&lt;script&gt;alert") == 2  # the reason and the body
    assert page.text.count(f"{path}/callbacks/") == 1  # the processed one is not listed
    whole = signed_in.get(f"{path}/callbacks/{refused.id}")
    assert whole.status_code == 200
    assert XSS not in whole.text
    assert "&lt;script&gt;" in whole.text
    other = InboundCallbackFactory(account=AccountFactory(
        provider="tencent", tenant_id=account.tenant_id).account, state=InboxState.rejected)
    assert signed_in.get(f"{path}/callbacks/{other.id}").status_code == 404


# --- endpoints -----------------------------------------------------------------------


def test_creating_an_endpoint_with_filters_policy_and_headers(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime,
        customer: Customer) -> None:
    form = signed_in.get("/console/endpoints/new")
    assert form.status_code == 200
    assert "<strong>standard</strong>: 0 s, 5 s, 5 min" in form.text
    done = signed_in.submit("/console/endpoints/new", url=customer.url, description="ops",
                  format="normalized", batch_size="10", timeout="5", rate_limit="20",
                  retry_policy="waits", waits="10, 60, 600", headers="X-Team: sms",
                  **{"status.failed": "1", "event.sms.status": "1",
                     f"account.{console_tenant['account'].id}": "1"})
    assert done.status_code == 303, done.text
    page = signed_in.get(done.headers["location"])
    assert html(i18n.t("en", "ep.created")) in page.text
    # The schedule as the relay will run it: after 10 s, then 1 min, then 10 min.
    assert "<td>2</td><td>10 s</td><td>10 s</td>" in page.text
    assert "<td>3</td><td>1 min</td><td>1.17 min</td>" in page.text
    assert "<td>4</td><td>10 min</td><td>11.2 min</td>" in page.text
    with runtime.sessions() as session:
        (endpoint,), _ = endpoints.list_endpoints(session, tenant_id=console_tenant["tenant_id"])
    assert (endpoint.statuses, endpoint.event_types, endpoint.account_ids) == (
        ["failed"], ["sms.status"], [console_tenant["account"].id])
    assert (endpoint.batch_size, endpoint.timeout, endpoint.rate_limit) == (10, 5.0, 20.0)
    assert endpoint.retry_policy == {"waits": [10.0, 60.0, 600.0]}
    assert endpoint.headers == {"X-Team": "sms"}
    assert 'name="status.failed" value="1" checked' in page.text.replace(
        'id="e-st-2" ', "")


@pytest.mark.parametrize(("fields", "says"), [
    ({"url": "ftp://example.com/"}, "url"),
    ({"url": "https://example.com/", "batch_size": "500"}, "batch_size"),
    ({"url": "https://example.com/", "batch_size": "0"}, "batch_size"),
    ({"url": "https://example.com/", "timeout": "0"}, "timeout"),
    ({"url": "https://example.com/", "format": "native", "batch_size": "5"},
     "batch_size: must be 1 for the native format"),
    ({"url": "https://example.com/", "retry_policy": "waits", "waits": "soon"}, "waits"),
    ({"url": "https://example.com/", "headers": "Content-Type: text/plain"},
     "headers.Content-Type: is set by the relay"),
    ({"url": "https://example.com/", "headers": "Transfer-Encoding: chunked"},
     "headers.Transfer-Encoding: is set by the relay"),
    ({"url": "https://example.com/", "headers": "no colon"}, "headers[0]"),
])
def test_a_bad_endpoint_form_is_shown_again_with_what_is_wrong(
        signed_in: Browser, fields: dict[str, str], says: str) -> None:
    shown = signed_in.submit("/console/endpoints/new", **fields)
    assert shown.status_code == 400
    assert says in shown.text
    assert 'action="/console/endpoints/new"' in shown.text


def test_editing_an_endpoint_and_its_state(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/a",
                              rate_limit=5)
    path = f"/console/endpoints/{endpoint_id}"
    saved = signed_in.submit(path, url="https://example.com/b", retry_policy="aliyun",
                   batch_size="1", timeout="10", format="normalized")
    assert saved.status_code == 303
    page = signed_in.get(saved.headers["location"])
    assert "https://example.com/b" in page.text
    assert "<td>2</td><td>1 min</td><td>1 min</td>" in page.text
    with runtime.sessions() as session:
        endpoint = endpoints.get_endpoint(session, tenant_id=console_tenant["tenant_id"],
                                          endpoint_id=endpoint_id)
        assert endpoint.rate_limit is None  # a blank rate limit is none
        endpoint.enabled = False
        endpoint.disabled_reason = "failing for 5 days"
        session.add(endpoint)
        session.commit()
    disabled = signed_in.get(path)
    assert 'class="badge h-disabled"' in disabled.text
    assert "failing for 5 days" in disabled.text
    enabled = signed_in.submit(f"{path}/state", path, enabled="1")
    assert enabled.status_code == 303
    again = signed_in.get(enabled.headers["location"])
    assert 'class="badge h-healthy"' in again.text
    assert "failing for 5 days" not in again.text
    bad = signed_in.submit(path, url="https://example.com/b", timeout="99")
    assert bad.status_code == 400
    assert "timeout" in bad.text


def test_the_secret_is_revealed_and_rotated_by_post_only(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/a")
    path = f"/console/endpoints/{endpoint_id}"
    page = signed_in.get(path)
    assert "whsec_" not in page.text
    assert signed_in.get(f"{path}/secret").status_code in (404, 405)
    shown = signed_in.submit(f"{path}/secret", path)
    first = re.search(r'id="secret">(whsec_[^<]+)<', shown.text)
    assert shown.status_code == 200
    assert first
    rotated = signed_in.submit(f"{path}/secret/rotate", path)
    second = re.search(r'id="secret">(whsec_[^<]+)<', rotated.text)
    assert second
    assert second.group(1) != first.group(1)
    assert html(i18n.t("en", "ep.previous_secret")) in rotated.text
    assert "whsec_" not in signed_in.get(path).text


def test_replaying_a_range_plans_deliveries(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/a")
    for n in range(3):
        ReceiptFactory(account=console_tenant["account"], message_id=f"r{n}")
    path = f"/console/endpoints/{endpoint_id}"
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    done = signed_in.submit(f"{path}/replay", path, since=since)
    assert done.status_code == 200
    assert html(i18n.t("en", "ep.replayed", n=3)) in done.text
    narrowed = signed_in.submit(f"{path}/replay", path, since=since, **{"replay.failed": "1"})
    assert html(i18n.t("en", "ep.replayed", n=0)) in narrowed.text
    unknown = signed_in.submit(f"{path}/replay", path, since=since, **{"replay.lost": "1"})
    assert unknown.status_code == 400
    assert "statuses[0]: not a known status" in unknown.text
    backwards = signed_in.submit(f"{path}/replay", path, since=since, until="2020-01-01T00:00")
    assert backwards.status_code == 400
    assert "until: must be after since" in backwards.text
    assert signed_in.submit(f"{path}/replay", path).status_code == 400


# --- deliveries ----------------------------------------------------------------------


def test_deliveries_by_endpoint_and_status_with_their_attempts_and_a_retry(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    first = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/one")
    second = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/two")
    dead = delivery_of(runtime, console_tenant["tenant_id"], first)
    done = delivery_of(runtime, console_tenant["tenant_id"], second, DeliveryStatus.succeeded)
    listing = signed_in.get("/console/deliveries")
    assert f"/console/deliveries/{dead}" in listing.text
    assert f"/console/deliveries/{done}" in listing.text
    by_endpoint = signed_in.get("/console/deliveries", endpoint_id=second)
    assert f"/console/deliveries/{dead}" not in by_endpoint.text
    by_status = signed_in.get("/console/deliveries", status="dead")
    assert f"/console/deliveries/{done}" not in by_status.text
    assert signed_in.get("/console/deliveries", status="lost").status_code == 400
    page = signed_in.get(f"/console/deliveries/{dead}")
    assert page.text.count("<td>120 ms</td>") == 2
    assert XSS not in page.text
    assert "&lt;script&gt;" in page.text
    assert "busy" in page.text
    retried = signed_in.submit(f"/console/deliveries/{dead}/retry", f"/console/deliveries/{dead}")
    assert retried.status_code == 303
    after = signed_in.get(retried.headers["location"])
    assert html(i18n.t("en", "dlv.retried")) in after.text
    assert 'class="badge d-pending"' in after.text
    assert f'action="/console/deliveries/{dead}/retry"' not in after.text
    # A pending or succeeded delivery cannot be retried by hand: a 409, said in words.
    again = signed_in.submit(f"/console/deliveries/{done}/retry", f"/console/deliveries/{done}")
    assert again.status_code == 409


def test_the_empty_pages_say_what_to_do(signed_in: Browser) -> None:
    assert html(i18n.t("en", "ep.none")) in signed_in.get("/console/endpoints").text
    assert html(i18n.t("en", "dlv.none")) in signed_in.get("/console/deliveries").text


# --- CSRF, isolation, languages ------------------------------------------------------


def test_every_form_of_these_pages_refuses_a_post_without_the_csrf_token(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/a")
    delivery_id = delivery_of(runtime, console_tenant["tenant_id"], endpoint_id)
    account_id = console_tenant["account"].id
    for path in ("/console/accounts/new", f"/console/accounts/{account_id}",
                 f"/console/accounts/{account_id}/rotate", "/console/endpoints/new",
                 f"/console/endpoints/{endpoint_id}",
                 f"/console/endpoints/{endpoint_id}/state",
                 f"/console/endpoints/{endpoint_id}/secret",
                 f"/console/endpoints/{endpoint_id}/secret/rotate",
                 f"/console/endpoints/{endpoint_id}/test",
                 f"/console/endpoints/{endpoint_id}/replay",
                 f"/console/deliveries/{delivery_id}/retry"):
        refused = signed_in.post(path, "provider=tencent&name=x&csrf_token=" + "0" * 64)
        assert refused.status_code == 403, path
        assert "whsec_" not in refused.text
    with runtime.sessions() as session:
        assert endpoints.get_endpoint(session, tenant_id=console_tenant["tenant_id"],
                                      endpoint_id=endpoint_id).enabled


def test_another_tenants_accounts_endpoints_and_deliveries_are_404(
        signed_in: Browser, stranger: Browser, console_tenant: dict[str, Any],
        runtime: Runtime) -> None:
    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/a")
    delivery_id = delivery_of(runtime, console_tenant["tenant_id"], endpoint_id)
    account_id = console_tenant["account"].id
    for path in (f"/console/accounts/{account_id}", f"/console/endpoints/{endpoint_id}",
                 f"/console/deliveries/{delivery_id}"):
        assert signed_in.get(path).status_code == 200, path
        assert stranger.get(path).status_code == 404, path
    for path, form in ((f"/console/accounts/{account_id}", {"name": "mine"}),
                       (f"/console/accounts/{account_id}/rotate", {}),
                       (f"/console/endpoints/{endpoint_id}", {"url": "https://x.example/"}),
                       (f"/console/endpoints/{endpoint_id}/state", {"enabled": "0"}),
                       (f"/console/endpoints/{endpoint_id}/secret", {}),
                       (f"/console/endpoints/{endpoint_id}/secret/rotate", {}),
                       (f"/console/endpoints/{endpoint_id}/test", {}),
                       (f"/console/endpoints/{endpoint_id}/replay", {"since": "2020-01-01T00:00"}),
                       (f"/console/deliveries/{delivery_id}/retry", {})):
        taken = stranger.submit(path, "/console/overview", **form)
        assert taken.status_code == 404, path
        assert "whsec_" not in taken.text
    assert console_tenant["token"] not in stranger.get("/console/accounts").text
    assert f"/console/deliveries/{delivery_id}" not in stranger.get(
        "/console/deliveries", endpoint_id=endpoint_id).text
    assert stranger.get("/console/deliveries", endpoint_id=quote(endpoint_id)).status_code == 200


def test_the_pages_speak_chinese(
        client: falcon.testing.TestClient, console_tenant: dict[str, Any],
        runtime: Runtime) -> None:
    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/a")
    browser = Browser(client, **{"Accept-Language": "zh-CN"})
    assert browser.sign_in(console_tenant["key"]).status_code == 303
    pages = {"/console/accounts": "acc.title", "/console/accounts/new": "acc.choose_help",
             f"/console/accounts/{console_tenant['account'].id}": "acc.rotate",
             "/console/endpoints": "ep.intro", "/console/endpoints/new": "ep.create",
             f"/console/endpoints/{endpoint_id}": "ep.schedule",
             "/console/deliveries": "dlv.none"}
    for path, key in pages.items():
        page = browser.get(path)
        assert page.status_code == 200, path
        assert i18n.t("zh", key) in page.text, path
        assert i18n.t("zh", "nav.deliveries") in page.text


def test_these_pages_run_no_inline_script(
        signed_in: Browser, console_tenant: dict[str, Any], runtime: Runtime) -> None:
    endpoint_id = endpoint_of(runtime, console_tenant["tenant_id"], "https://example.com/a")
    delivery_id = delivery_of(runtime, console_tenant["tenant_id"], endpoint_id)
    for path in ("/console/accounts", "/console/accounts/new?provider=netease",
                 f"/console/accounts/{console_tenant['account'].id}", "/console/endpoints",
                 "/console/endpoints/new", f"/console/endpoints/{endpoint_id}",
                 "/console/deliveries", f"/console/deliveries/{delivery_id}"):
        page = signed_in.get(path)
        assert page.status_code == 200, path
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "<script>" not in page.text, path  # scripts are the console's own files
