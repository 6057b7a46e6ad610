"""The tenant's ``/v1/accounts`` API through HTTP: its URLs work, its secrets stay in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import falcon.testing
import pytest

from dlrhub.api.app import create_app
from dlrhub.config import Settings
from dlrhub.models import TenantStatus, utcnow
from dlrhub.services import keys, tenancy
from dlrhub.services.errors import Conflict
from dlrhub.services.runtime import Runtime
from dlrhub.services.simulate import build_callback
from tests.factories import TenantFactory

# Every provider, with credentials where it takes them; each value is a distinct secret.
CREDENTIALS: dict[str, dict[str, str]] = {
    "tencent": {},
    "ucloud": {},
    "aliyun": {},
    "cloopen": {},
    "huawei": {"access_key": "huawei-ak-secret-1", "secret_key": "huawei-sk-secret-2"},
    "netease": {"app_key": "netease-key-secret-3", "app_secret": "netease-secret-4"},
    "nxcloud": {"access_key": "nxcloud-ak-secret-5", "access_secret": "nxcloud-secret-6"},
    "kannel": {},
    "jasmin": {},
    "yunpian": {},
    "qiniu": {},
    "volcengine": {},
    "chuanglan": {"account": "chuanglan-account-7", "password": "chuanglan-pswd-8"},
    "montnets": {"userid": "montnets-userid-9", "password": "montnets-password-10"},
    "baidu": {"token": "baidu-token-secret-12"},
    "submail": {"key": "submail-key-secret-13"},
    "twilio": {"auth_token": "twilio-token-secret-7"},
    # The simulator signs with RFC 8032's test seed: only its public key can be simulated.
    "telnyx": {"public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
    "plivo": {"auth_token": "plivo-token-secret-8"},
    "vonage": {"signature_secret": "vonage-secret-9", "signature_method": "sha512"},
    "vonage_messages": {"signature_secret": "vonage-messages-secret-10"},
    "bird": {"signing_key": "bird-signing-key-11"},
    "africastalking": {},
    "sinch": {},
    "aws_sns": {"topic_arn": "arn:aws:sns:us-east-1:123456789012:aws-sns-topic-14"},
    "infobip": {"username": "infobip-user-12", "password": "infobip-password-13"},
}
SECRETS = [value for creds in CREDENTIALS.values() for value in creds.values()]


@dataclass
class Api:
    """A tenant's client of the real app; it keeps every answer to check for leaks."""

    settings: Settings
    runtime: Runtime
    key: str
    tenant_id: str
    answers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = self.fresh_client()

    def fresh_client(self) -> falcon.testing.TestClient:
        """Return a client of a new app, whose callback token cache is empty."""
        return falcon.testing.TestClient(create_app(self.settings, runtime=self.runtime))

    def call(self, method: str, path: str, json: Any = None, key: str | None = "",
             headers: dict[str, str] | None = None, **kw: Any) -> falcon.testing.Result:
        """Call the API with this tenant's key (or ``key``; ``None`` sends none)."""
        key = self.key if key == "" else key
        headers = dict(headers or {})
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        result = self.client.simulate_request(method, path, headers=headers, json=json, **kw)
        self.answers.append(result.text)
        return result

    def create(self, provider: str = "tencent", **body: Any) -> dict[str, Any]:
        """Create an account and return its answer."""
        body.setdefault("name", f"{provider} account")
        result = self.call("POST", "/v1/accounts", {"provider": provider, **body})
        assert result.status_code == 201, result.text
        doc: dict[str, Any] = result.json
        return doc


@pytest.fixture
def api(settings: Settings, runtime: Runtime) -> Api:
    """Return a client of an active tenant with a real API key."""
    return make_api(settings, runtime)


def make_api(settings: Settings, runtime: Runtime) -> Api:
    """Return a client of a new active tenant, with a key issued the product's way."""
    tenant = TenantFactory()
    with runtime.sessions() as session:
        new = keys.create_key(session, tenant_id=tenant.id, name="test")
        session.commit()
    return Api(settings, runtime, new.key, tenant.id)


def post_callback(client: falcon.testing.TestClient, provider: str, url: str,
                  credentials: dict[str, str], seq: int = 1) -> falcon.testing.Result:
    """Post a simulated status report to a callback URL, signed as the provider signs."""
    callback = build_callback(provider, url, seq=seq, batch=1, kind="status",
                              credentials=credentials)
    parts = urlsplit(url)
    # Huawei signs the Host header; send the one of the URL, as a provider would.
    headers = {"Host": parts.netloc, **callback.headers}
    if callback.content_type:
        headers["Content-Type"] = callback.content_type
    # Kannel reports by GET, its record in the query.
    return client.simulate_request(callback.method, parts.path, body=callback.body,
                                   headers=headers, query_string=callback.query or None)


def at(value: str) -> datetime:
    """Parse a timestamp of an answer."""
    return datetime.fromisoformat(value)


# --- create, and the callback URL works ---------------------------------------------------

@pytest.mark.parametrize("provider", list(CREDENTIALS))
def test_each_provider_gets_an_account_whose_callback_url_works(api: Api,
                                                                provider: str) -> None:
    creds = CREDENTIALS[provider]
    doc = api.create(provider, credentials=creds or None)

    assert doc["provider"] == provider
    assert doc["credentials"] == sorted(creds)
    assert doc["callback_url"].startswith(
        f"{api.settings.effective_public_url}/v1/callbacks/{provider}/")
    result = post_callback(api.client, provider, doc["callback_url"], creds)
    assert result.status_code == 200, result.text
    assert api.call("GET", f"/v1/accounts/{doc['id']}").json == doc
    assert_no_secret_in(api.answers)


def test_kannel_accounts_show_the_dlr_url_to_send_with_each_message(api: Api) -> None:
    doc = api.create("kannel")
    template = doc["setup"]["dlr_url_template"]

    assert template == (doc["callback_url"]
                        + "?type=%d&id=%I&fid=%F&to=%P&from=%p&ts=%T&smsc=%i&raw=%A")
    assert doc["setup"]["mo_get_url_template"].startswith(doc["callback_url"] + "?")
    assert api.create("tencent")["setup"] == {}
    rotated = api.call("POST", f"/v1/accounts/{doc['id']}/rotate-token", {}).json
    assert rotated["setup"]["dlr_url_template"].startswith(rotated["callback_url"] + "?")
    assert rotated["callback_url"] != doc["callback_url"]


def test_provider_defaults_fill_what_is_left_out(api: Api) -> None:
    doc = api.create("tencent")
    assert (doc["timezone"], doc["default_region"], doc["ip_allowlist"], doc["options"],
            doc["credentials"], doc["previous_token_expires_at"]) == (
        "Asia/Shanghai", "CN", [], {}, [], None)


@pytest.mark.dialects
def test_given_settings_are_normalized_and_kept(api: Api) -> None:
    doc = api.create("cloopen", timezone="Europe/Paris", default_region="fr",
                     ip_allowlist=["203.0.113.7/24", "2001:db8::1"],
                     options={"answer": "xml"})
    assert (doc["timezone"], doc["default_region"], doc["ip_allowlist"], doc["options"]) == (
        "Europe/Paris", "FR", ["203.0.113.0/24", "2001:db8::1/128"], {"answer": "xml"})


def assert_no_secret_in(answers: list[str]) -> None:
    """Assert that no answer holds a credential, nor a token outside a callback URL."""
    for answer in answers:
        for secret in SECRETS:
            assert secret not in answer
        for url in _callback_urls(answer):
            token = url.rsplit("/", 1)[1]
            assert answer.count(token) == answer.count(url)


def _callback_urls(answer: str) -> list[str]:
    marker = '"callback_url":"'
    return [chunk.split('"', 1)[0] for chunk in answer.split(marker)[1:]]


@pytest.mark.parametrize(("body", "field"), [
    ({"provider": "netease", "credentials": {"app_key": "k"}}, "credentials.app_secret"),
    ({"provider": "netease"}, "credentials.app_key"),
    ({"provider": "netease", "credentials": {"app_key": "k", "app_secret": 7}},
     "credentials.app_secret"),
    ({"provider": "tencent", "credentials": {"token": "x"}}, "credentials.token"),
    ({"provider": "huawei", "credentials": {"access_key": "ak"}}, "credentials.secret_key"),
    ({"provider": "nosuch"}, "provider"),
    ({"provider": "tencent", "timezone": "Mars/Base"}, "timezone"),
    ({"provider": "tencent", "default_region": "XX"}, "default_region"),
    ({"provider": "tencent", "ip_allowlist": ["10.0.0.0/8", "nope"]}, "ip_allowlist[1]"),
    ({"provider": "cloopen", "options": {"answer": "yaml"}}, "options.answer"),
    ({"provider": "tencent", "options": {"answer": "xml"}}, "options.answer"),
    ({"provider": "tencent", "name": ""}, "name"),
    ({"provider": "tencent", "name": None}, "name"),
    ({"provider": "tencent", "colour": "blue"}, "colour"),
])
def test_invalid_accounts_are_422_naming_the_field(api: Api, body: dict[str, Any],
                                                   field: str) -> None:
    result = api.call("POST", "/v1/accounts", {"name": "x", **body})
    assert result.status_code == 422, result.text
    assert result.headers["content-type"] == "application/problem+json"
    assert result.json["field"] == field
    assert api.call("GET", "/v1/accounts").json["data"] == []


def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    result = api.call("POST", "/v1/accounts", body=b"provider=tencent",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    broken = api.call("POST", "/v1/accounts", body=b'{"provider": ',
                      headers={"Content-Type": "application/json"})
    assert (result.status_code, broken.status_code) == (415, 400)


# --- list ---------------------------------------------------------------------------------

def test_the_list_pages_through_every_account_once_newest_first(api: Api) -> None:
    created = {api.create("tencent", name=f"a{i}")["id"] for i in range(5)}
    seen: list[str] = []
    after: str | None = None
    for _ in range(5):
        params = {"limit": "2", **({"after": after} if after else {})}
        page = api.call("GET", "/v1/accounts", params=params).json
        assert len(page["data"]) <= 2
        seen += [doc["id"] for doc in page["data"]]
        after = page["next"]
        if after is None:
            break
    assert after is None
    assert sorted(seen) == sorted(created)
    assert seen == sorted(seen, reverse=True)
    assert_no_secret_in(api.answers)


def test_the_list_filters_by_provider_and_hides_deleted_accounts(api: Api) -> None:
    tencent = api.create("tencent")
    ucloud = api.create("ucloud")
    gone = api.create("ucloud")
    assert api.call("DELETE", f"/v1/accounts/{gone['id']}").status_code == 204

    every = api.call("GET", "/v1/accounts").json
    only = api.call("GET", "/v1/accounts", params={"provider": "ucloud"}).json

    assert [d["id"] for d in every["data"]] == [ucloud["id"], tencent["id"]]
    assert (every["next"], [d["id"] for d in only["data"]]) == (None, [ucloud["id"]])


@pytest.mark.parametrize(("params", "field"), [
    ({"provider": "nosuch"}, "provider"),
    ({"limit": "0"}, "limit"),
    ({"limit": "501"}, "limit"),
    ({"after": "!!"}, "after"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_list_parameters_are_422_naming_them(api: Api, params: dict[str, str],
                                                 field: str) -> None:
    result = api.call("GET", "/v1/accounts", params=params)
    assert (result.status_code, result.json["field"]) == (422, field)


# --- update -------------------------------------------------------------------------------

def test_patch_renames_and_keeps_what_is_absent(api: Api) -> None:
    doc = api.create("tencent", timezone="Europe/Paris", ip_allowlist=["203.0.113.0/24"])

    result = api.call("PATCH", f"/v1/accounts/{doc['id']}", {"name": "renamed"})

    assert result.status_code == 200, result.text
    after = result.json
    assert after["name"] == "renamed"
    unchanged = ("timezone", "default_region", "ip_allowlist", "callback_url", "created_at")
    assert {k: after[k] for k in unchanged} == {k: doc[k] for k in unchanged}
    assert at(after["updated_at"]) >= at(doc["updated_at"])
    assert api.call("GET", f"/v1/accounts/{doc['id']}").json == after


def test_patch_null_clears_the_allow_list_and_the_region(api: Api) -> None:
    doc = api.create("tencent", ip_allowlist=["203.0.113.0/24"])
    url = urlsplit(doc["callback_url"]).path
    assert post_callback(api.client, "tencent", doc["callback_url"], {}).status_code == 403

    result = api.call("PATCH", f"/v1/accounts/{doc['id']}",
                      {"ip_allowlist": None, "default_region": None})

    assert (result.json["ip_allowlist"], result.json["default_region"]) == ([], None)
    # A fresh app: the running one caches the account's allow-list for a few seconds.
    fresh = api.fresh_client()
    assert post_callback(fresh, "tencent", doc["callback_url"], {}).status_code == 200
    assert url == urlsplit(result.json["callback_url"]).path


def test_patch_replaces_every_credential(api: Api) -> None:
    old = CREDENTIALS["netease"]
    new = {"app_key": "netease-key-secret-3b", "app_secret": "netease-secret-4b"}
    doc = api.create("netease", credentials=old)

    result = api.call("PATCH", f"/v1/accounts/{doc['id']}", {"credentials": new})

    assert (result.status_code, result.json["credentials"]) == (200, ["app_key", "app_secret"])
    for value in new.values():
        assert value not in result.text
    fresh = api.fresh_client()
    assert post_callback(fresh, "netease", doc["callback_url"], new).status_code == 200
    assert post_callback(fresh, "netease", doc["callback_url"], old).status_code == 401
    assert_no_secret_in(api.answers)


def test_patch_can_remove_optional_credentials(api: Api) -> None:
    doc = api.create("nxcloud", credentials=CREDENTIALS["nxcloud"])
    result = api.call("PATCH", f"/v1/accounts/{doc['id']}", {"credentials": None})
    assert (result.status_code, result.json["credentials"]) == (200, [])
    fresh = api.fresh_client()
    assert post_callback(fresh, "nxcloud", doc["callback_url"], {}).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"credentials": {"app_key": "only"}}, "credentials.app_secret"),
    ({"credentials": None}, "credentials.app_key"),
    ({"timezone": "Mars/Base"}, "timezone"),
    ({"timezone": None}, "timezone"),
    ({"name": None}, "name"),
    ({"name": "  "}, "name"),
    ({"default_region": "XX"}, "default_region"),
    ({"ip_allowlist": ["nope"]}, "ip_allowlist[0]"),
    ({"options": {"answer": "xml"}}, "options.answer"),
    ({"provider": "tencent"}, "provider"),
])
def test_invalid_patches_are_422_and_change_nothing(api: Api, body: dict[str, Any],
                                                    field: str) -> None:
    doc = api.create("netease", credentials=CREDENTIALS["netease"])
    result = api.call("PATCH", f"/v1/accounts/{doc['id']}", body)
    assert (result.status_code, result.json["field"]) == (422, field)
    assert api.call("GET", f"/v1/accounts/{doc['id']}").json == doc


# --- delete -------------------------------------------------------------------------------

def test_delete_hides_the_account_and_stops_its_callback_url(api: Api) -> None:
    doc = api.create("aliyun")
    assert post_callback(api.client, "aliyun", doc["callback_url"], {}).status_code == 200

    result = api.call("DELETE", f"/v1/accounts/{doc['id']}")

    assert (result.status_code, result.text) == (204, "")
    assert api.call("GET", f"/v1/accounts/{doc['id']}").status_code == 404
    assert api.call("DELETE", f"/v1/accounts/{doc['id']}").status_code == 404
    assert api.call("PATCH", f"/v1/accounts/{doc['id']}", {"name": "x"}).status_code == 404
    assert api.call("POST", f"/v1/accounts/{doc['id']}/rotate-token").status_code == 404
    # A new app stands for one past the directory's cache time (5 s).
    fresh = api.fresh_client()
    assert post_callback(fresh, "aliyun", doc["callback_url"], {}).status_code == 404


def test_a_tenant_with_only_deleted_accounts_can_be_deleted(api: Api) -> None:
    doc = api.create("tencent")
    with api.runtime.sessions() as session, pytest.raises(Conflict):
        tenancy.delete_tenant(session, api.tenant_id)
    assert api.call("DELETE", f"/v1/accounts/{doc['id']}").status_code == 204
    with api.runtime.sessions() as session:
        tenancy.delete_tenant(session, api.tenant_id)
        session.commit()


# --- rotate -------------------------------------------------------------------------------

def test_rotation_gives_a_new_url_and_keeps_the_old_one_for_the_grace(api: Api) -> None:
    creds = CREDENTIALS["netease"]
    doc = api.create("netease", credentials=creds)
    before = utcnow()

    result = api.call("POST", f"/v1/accounts/{doc['id']}/rotate-token")

    assert result.status_code == 200, result.text
    rotated = result.json
    assert rotated["callback_url"] != doc["callback_url"]
    assert rotated["callback_url"].startswith(doc["callback_url"].rsplit("/", 1)[0])
    expires = at(rotated["previous_token_expires_at"])
    assert before + timedelta(days=1) <= expires <= utcnow() + timedelta(days=1)
    assert api.call("GET", f"/v1/accounts/{doc['id']}").json == rotated
    fresh = api.fresh_client()
    assert post_callback(fresh, "netease", rotated["callback_url"], creds).status_code == 200
    assert post_callback(fresh, "netease", doc["callback_url"], creds, 2).status_code == 200
    assert_no_secret_in(api.answers)


def test_rotation_without_grace_stops_the_old_url(api: Api) -> None:
    doc = api.create("ucloud")

    result = api.call("POST", f"/v1/accounts/{doc['id']}/rotate-token", {"grace_seconds": 0})

    assert result.json["previous_token_expires_at"] is None
    fresh = api.fresh_client()
    assert post_callback(fresh, "ucloud", result.json["callback_url"], {}).status_code == 200
    assert post_callback(fresh, "ucloud", doc["callback_url"], {}).status_code == 404


def test_rotating_again_ends_the_older_url(api: Api) -> None:
    first = api.create("tencent")
    second = api.call("POST", f"/v1/accounts/{first['id']}/rotate-token",
                      {"grace_seconds": 3600}).json
    third = api.call("POST", f"/v1/accounts/{first['id']}/rotate-token").json
    fresh = api.fresh_client()
    statuses = [post_callback(fresh, "tencent", doc["callback_url"], {}).status_code
                for doc in (first, second, third)]
    assert statuses == [404, 200, 200]


@pytest.mark.parametrize("grace", [-1, 604801, "soon"])
def test_a_bad_grace_is_422(api: Api, grace: Any) -> None:
    doc = api.create("tencent")
    result = api.call("POST", f"/v1/accounts/{doc['id']}/rotate-token",
                      {"grace_seconds": grace})
    assert (result.status_code, result.json["field"]) == (422, "grace_seconds")
    assert api.call("GET", f"/v1/accounts/{doc['id']}").json == doc


# --- who may call -------------------------------------------------------------------------

ROUTES = [("GET", "/v1/accounts"), ("POST", "/v1/accounts"), ("GET", "/v1/accounts/acc_x"),
          ("PATCH", "/v1/accounts/acc_x"), ("DELETE", "/v1/accounts/acc_x"),
          ("POST", "/v1/accounts/acc_x/rotate-token")]


@pytest.mark.parametrize("key", [None, "dlrhub_sk_wrong", "test-admin-token"])
def test_every_route_is_401_without_a_valid_tenant_key(api: Api, key: str | None) -> None:
    for method, path in ROUTES:
        result = api.call(method, path, {} if method in ("POST", "PATCH") else None, key=key)
        assert result.status_code == 401, (method, path)
        assert result.headers["www-authenticate"] == 'Bearer realm="dlrhub"'


def test_a_revoked_key_is_401(api: Api) -> None:
    with api.runtime.sessions() as session:
        (record,), _ = keys.list_keys(session, tenant_id=api.tenant_id)
        keys.revoke_key(session, tenant_id=api.tenant_id, key_id=record.id)
        session.commit()
    assert api.call("GET", "/v1/accounts").status_code == 401


def test_a_suspended_tenants_key_is_403(api: Api) -> None:
    doc = api.create("tencent")
    with api.runtime.sessions() as session:
        tenancy.update_tenant(session, api.tenant_id, status=TenantStatus.suspended)
        session.commit()
    for method, path in ROUTES:
        body = {} if method in ("POST", "PATCH") else None
        result = api.call(method, path.replace("acc_x", doc["id"]), body)
        assert result.status_code == 403, (method, path)


def test_another_tenants_account_is_not_found_and_left_alone(settings: Settings,
                                                               runtime: Runtime,
                                                               api: Api) -> None:
    owner = api
    doc = owner.create("tencent", ip_allowlist=["203.0.113.0/24"])
    other = make_api(settings, runtime)
    path = f"/v1/accounts/{doc['id']}"

    answers = [
        other.call("GET", path),
        other.call("PATCH", path, {"name": "mine now", "ip_allowlist": None}),
        other.call("POST", f"{path}/rotate-token", {"grace_seconds": 0}),
        other.call("DELETE", path),
    ]

    assert [r.status_code for r in answers] == [404] * 4
    assert other.call("GET", "/v1/accounts").json == {"data": [], "next": None}
    assert owner.call("GET", path).json == doc
    assert [d["id"] for d in owner.call("GET", "/v1/accounts").json["data"]] == [doc["id"]]


def test_the_same_answer_for_another_tenants_account_and_a_missing_one(api: Api,
                                                                        settings: Settings,
                                                                        runtime: Runtime
                                                                        ) -> None:
    doc = api.create("tencent")
    other = make_api(settings, runtime)
    theirs = other.call("GET", f"/v1/accounts/{doc['id']}")
    missing = other.call("GET", "/v1/accounts/acc_missing")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json["type"] == missing.json["type"] == "urn:dlrhub:problem:not-found"
    assert theirs.json["detail"].replace(doc["id"], "acc_missing") == missing.json["detail"]


def test_the_routes_are_documented_as_tenant_routes(api: Api) -> None:
    paths = api.call("GET", "/openapi.json", key=None).json["paths"]
    assert set(paths["/v1/accounts"]) == {"get", "post"}
    assert set(paths["/v1/accounts/{account_id}"]) == {"get", "patch", "delete"}
    assert set(paths["/v1/accounts/{account_id}/rotate-token"]) == {"post"}
    for item in (paths["/v1/accounts"], paths["/v1/accounts/{account_id}"]):
        for op in item.values():
            assert op["security"] == [{"tenant": []}]
            assert {"401", "403"} <= set(op["responses"])
