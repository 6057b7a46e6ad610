"""Provider accounts, endpoints and deliveries in Chromium, against a real ``dlrhub
serve`` and a real receiver on loopback: create an account of each provider, an
endpoint, reveal and rotate its secret, send a test event, see a delivery die and
retry it, replay; axe-core and a screenshot on every page, in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dlrhub.providers.registry import PROVIDERS
from tests.browser.conftest import ADMIN_TOKEN, Served
from tests.browser.test_console import _context, audit, sign_in
from tests.customer import Customer, customer_server
from tests.fixtures import sample
from tests.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Each provider's required credentials, as a person would type them.
CREDENTIALS = {"netease": {"app_key": "yunxin-app", "app_secret": "yunxin-secret"},
               # Providers whose callbacks are always signed need theirs.
               "plivo": {"auth_token": "plivo-token"},
               "telnyx": {"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
               "vonage_messages": {"signature_secret": "vonage-secret"},
               "bird": {"signing_key": "bird-key"},
               "infobip": {"username": "infobip-user", "password": "infobip-pw"}}


@pytest.fixture(scope="module")
def key(served: Served) -> str:
    """A tenant's key, made by the admin API; everything else is made in the console."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=served.base_url, timeout=20) as api:
        made = api.post("/v1/tenants", json={"name": "Relay Co"}, headers=admin).json()
        got: str = api.post(f"/v1/tenants/{made['id']}/keys", json={"name": "console"},
                            headers=admin).json()["key"]
    return got


@pytest.fixture
def context(browser: Any, served: Served) -> Iterator[Any]:
    yield from _context(browser, served, locale="en-US", width=1280, height=900)


@pytest.fixture
def customer() -> Iterator[Customer]:
    with customer_server() as server:
        yield server


def status_of(page: Any) -> str:
    text: str = page.locator("dl.facts .badge").first.inner_text()
    return text


def test_accounts_endpoints_and_deliveries_without_curl(
        context: Any, served: Served, key: str, customer: Customer) -> None:
    page = context.new_page()
    sign_in(page, key)
    page.get_by_role("link", name="Provider accounts").click()
    page.wait_for_url(re.compile("/console/accounts$"))
    assert page.get_by_text("No provider account yet").is_visible()
    audit(page, served, "accounts-empty")

    # One account of each provider, each with its own form.
    page.get_by_role("link", name="New provider account").first.click()
    providers = page.get_by_label("Provider").locator("option").evaluate_all(
        "os => os.map(o => o.value)")
    assert len(providers) >= 7
    for provider in providers:
        page.goto("/console/accounts/new")
        page.get_by_label("Provider").select_option(provider)
        page.get_by_role("button", name="Show its form").click()
        page.wait_for_url(re.compile(f"provider={provider}"))
        if provider == "huawei":
            audit(page, served, "account-new")
        page.get_by_label("Name", exact=True).fill(f"{provider} main")
        # Every credential the provider requires (a new provider needs no line here),
        # with the ones above where the value matters.
        required = dict.fromkeys(PROVIDERS[provider].required_credentials, "typed-secret")
        for name, value in {**required, **CREDENTIALS.get(provider, {})}.items():
            page.get_by_label(name, exact=True).fill(value)
        page.get_by_role("button", name="Create the account").click()
        page.wait_for_url(re.compile(r"/console/accounts/acc_\w+\?created=1"))
        assert page.get_by_role("status").inner_text().startswith("Account created")
        assert f"/v1/callbacks/{provider}/" in page.locator("#callback-url").inner_text()
    callback_url = page.locator("#callback-url").inner_text()  # the last provider's
    page.goto("/console/accounts")
    assert page.locator("table tbody tr").count() == len(providers)
    audit(page, served, "accounts")
    page.get_by_role("link", name="tencent main").click()
    audit(page, served, "account")
    tencent_url = page.locator("#callback-url").inner_text()
    page.get_by_label("Grace period of the current URL").select_option("3600")
    page.get_by_role("button", name="Rotate the callback URL").click()
    page.wait_for_url(re.compile(r"\?rotated=1"))
    rotated_url = page.locator("#callback-url").inner_text()
    assert rotated_url != tencent_url
    assert page.get_by_text("The previous callback URL keeps working until").is_visible()
    assert callback_url

    # An endpoint on the receiver: a quick policy so that a failure is final in seconds.
    page.get_by_role("link", name="Endpoints").click()
    page.get_by_role("link", name="New endpoint").first.click()
    audit(page, served, "endpoint-new")
    page.get_by_label("URL").fill(customer.url)
    page.get_by_label("Policy", exact=True).select_option("ucloud")
    page.get_by_role("button", name="Create the endpoint").click()
    page.wait_for_url(re.compile(r"/console/endpoints/\w+\?created=1"))
    endpoint_path = page.url.split("?")[0]
    assert page.get_by_role("row").filter(has_text="3 s").count() >= 1  # 1 s, 1 s, 1 s
    assert "whsec_" not in page.content()
    page.get_by_role("button", name="Show the secret").click()
    first = page.locator("#secret").inner_text()
    assert first.startswith("whsec_")
    assert "whsec_" not in page.url
    page.get_by_role("button", name="Rotate the secret").click()
    second = page.locator("#secret").inner_text()
    assert second.startswith("whsec_")
    assert second != first
    page.get_by_role("button", name="Send a test event").click()
    assert page.get_by_text("accepted", exact=True).is_visible()
    assert len(customer.received) == 1
    audit(page, served, "endpoint")

    # A receipt whose delivery fails for good, then a retry that gets through.
    customer.answer_with((503, b"down for maintenance", {}))
    assert httpx.post(rotated_url, content=sample("tencent_dlr_v2.json"),
                      headers={"Content-Type": "application/json"}).status_code == 200
    page.goto("/console/deliveries?status=dead")

    def dead_listed() -> bool:
        page.reload()
        return page.locator("table tbody tr").count() == 1

    wait_for(dead_listed, 30, "the delivery, dead after the policy's four attempts",
             interval=1)
    audit(page, served, "deliveries")
    page.locator("table tbody tr a").first.click()
    page.wait_for_url(re.compile("/console/deliveries/dlv_"))
    assert page.locator("table tbody tr").count() == 4
    assert page.get_by_text("down for maintenance").first.is_visible()
    audit(page, served, "delivery")
    customer.answer_with((200, b"ok", {}))
    page.get_by_role("button", name="Retry now").click()
    page.wait_for_url(re.compile(r"\?retried=1"))

    def succeeded() -> bool:
        page.reload()
        return status_of(page) == "succeeded"

    wait_for(succeeded, 30, "the retried delivery, succeeded", interval=1)
    assert page.locator("table tbody tr").count() == 5

    # Replay the last hour: the receipt goes out again as a new delivery.
    page.goto(endpoint_path)
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    page.get_by_label(re.compile("^Received from")).fill(since)
    page.get_by_role("button", name="Replay").click()
    assert page.get_by_text("1 deliveries planned.").is_visible()
    wait_for(lambda: len(customer.received) >= 7, 30, "the replayed delivery")

    # The same pages in Chinese, and at a phone's width.
    for path, name in (("/console/accounts", "accounts-zh"), (endpoint_path, "endpoint-zh"),
                       ("/console/deliveries", "deliveries-zh")):
        page.goto(path)
        page.get_by_label("Language").select_option("zh")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "zh-Hans"
        audit(page, served, name)
        page.get_by_label("语言").select_option("en")
        page.get_by_role("button", name="应用").click()
        page.wait_for_load_state()
    page.set_viewport_size({"width": 375, "height": 812})
    for path in ("/console/accounts", endpoint_path, "/console/deliveries"):
        page.goto(path)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 375, f"{path} is {wide}px wide"
    audit(page, served, "deliveries-mobile", full=False)


def test_an_sns_accounts_subscriptions_read_in_both_languages_and_on_a_phone(
        browser: Any, served: Served, key: str) -> None:
    from pathlib import Path

    from dlrhub.models import make_engine, utcnow
    from dlrhub.providers.base import SubscriptionChange
    from dlrhub.services import subscriptions

    with httpx.Client(base_url=served.base_url, timeout=20) as api:
        account = api.post("/v1/accounts", json={"provider": "aws_sns", "name": "SNS events"},
                           headers={"Authorization": f"Bearer {key}"}).json()
    # What dlrhub writes once SNS's confirmation was visited, and when SNS says a topic
    # unsubscribed (a real SNS cannot reach this machine).
    engine = make_engine(f"sqlite:///{Path(served.process.env['DLRHUB_DATA_DIR'])}"
                         "/dlrhub.sqlite3")
    topic = "arn:aws:sns:us-east-1:123456789012:sms-delivery-events"
    subscriptions.record(engine, account["id"], SubscriptionChange(
        topic, "confirmed", f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"), utcnow())
    subscriptions.record(engine, account["id"], SubscriptionChange(
        "arn:aws:sns:eu-west-1:123456789012:old-events", "unsubscribed"), utcnow())
    engine.dispose()
    for locale, width, name in (("en-US", 1280, "account-sns"),
                                ("zh-CN", 1280, "account-sns-zh"),
                                ("en-US", 375, "account-sns-375")):
        for ctx in _context(browser, served, locale=locale, width=width, height=900):
            page = ctx.new_page()
            sign_in(page, key)
            page.goto(f"/console/accounts/{account['id']}")
            table = page.locator("#subscriptions")
            assert table.is_visible()
            assert table.locator("li").count() == 2
            assert "sms-delivery-events" in table.inner_text()
            assert re.search("confirmed|确认于", table.inner_text())
            # the subscription is explained in the viewer's language, with nothing to copy
            assert page.locator("#setup-1").count() == 0
            assert re.search("Subscribe the callback URL|订阅到配置集", page.content())
            audit(page, served, name)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{name} is {wide}px wide"
