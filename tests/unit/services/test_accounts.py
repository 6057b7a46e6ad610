"""Accounts: validation per provider, secrets at rest, token look-up and rotation grace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from dlrhub.models import AccountCreate, ProviderAccount, utcnow
from dlrhub.services.accounts import TokenDirectory, callback_url, create_account
from dlrhub.services.crypto import SecretBox, new_token, token_hash
from dlrhub.services.errors import InvalidInput
from dlrhub.services.runtime import Runtime
from tests.factories import AccountFactory, TenantFactory


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"provider": "nosuch"}, "provider"),
    ({"provider": "netease"}, "credentials.app_key"),
    ({"provider": "netease", "credentials": {"app_key": "k"}}, "credentials.app_secret"),
    ({"provider": "tencent", "credentials": {"token": "x"}}, "credentials.token"),
    ({"provider": "huawei", "credentials": {"access_key": "ak"}}, "credentials.secret_key"),
    ({"provider": "tencent", "timezone": "Mars/Base"}, "timezone"),
    ({"provider": "tencent", "default_region": "XX"}, "default_region"),
    ({"provider": "tencent", "ip_allowlist": ["10.0.0.0/8", "nope"]}, "ip_allowlist[1]"),
    ({"provider": "cloopen", "options": {"answer": "yaml"}}, "options.answer"),
    ({"provider": "tencent", "options": {"answer": "xml"}}, "options.answer"),
])
def test_invalid_accounts_are_refused_naming_the_field(runtime: Runtime, kwargs: dict[str, object],
                                                       field: str) -> None:
    tenant = TenantFactory()
    with runtime.sessions() as session, pytest.raises(InvalidInput) as caught:
        create_account(session, runtime.box, tenant_id=tenant.id,
                       spec=AccountCreate(name="x", **kwargs))
    assert caught.value.field == field


def test_credentials_and_token_are_not_stored_in_clear(runtime: Runtime) -> None:
    new = AccountFactory(provider="netease",
                         credentials={"app_key": "key-1", "app_secret": "very-secret-value"})
    with runtime.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM provider_account")).mappings().one()
    dump = " ".join(str(v) for v in row.values())
    assert "very-secret-value" not in dump
    assert new.token not in dump
    assert row["token_hash"] == token_hash(new.token)


def test_callback_url_carries_the_token(runtime: Runtime) -> None:
    new = AccountFactory(provider="aliyun")
    url = callback_url("https://hub.example.com/", new.account, runtime.box)
    assert url == f"https://hub.example.com/v1/callbacks/aliyun/{new.token}"


def test_the_directory_finds_current_and_recently_rotated_tokens(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent", ip_allowlist=["203.0.113.0/24"])
    directory = TokenDirectory(runtime.engine, runtime.box, ttl=0)
    target = directory.find(new.token)
    assert target is not None
    assert (target.account_id, target.provider) == (new.account.id, "tencent")
    assert target.allows("203.0.113.9")
    assert not target.allows("198.51.100.1")
    assert directory.find("not-a-token") is None

    # rotate: the old token keeps working until its grace period ends
    rotated = new_token()
    with runtime.sessions() as session:
        acc = session.get(ProviderAccount, new.account.id)
        assert acc is not None
        acc.previous_token_hash, acc.token_hash = acc.token_hash, token_hash(rotated)
        acc.previous_token_expires_at = utcnow() + timedelta(hours=1)
        session.commit()
        assert directory.find(new.token) is not None
        assert directory.find(rotated) is not None
        acc.previous_token_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert directory.find(new.token) is None


def test_the_directory_caches_for_its_ttl(runtime: Runtime) -> None:
    new = AccountFactory(provider="tencent")
    directory = TokenDirectory(runtime.engine, runtime.box, ttl=60)
    assert directory.find(new.token) is not None
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE provider_account SET token_hash = 'gone'"))
    assert directory.find(new.token) is not None  # served from the cache


def test_secret_box_rotates_keys_and_detects_tampering() -> None:
    old = SecretBox("old-key")
    sealed = old.encrypt("s3cret")
    rotated = SecretBox("new-key,old-key")
    assert rotated.decrypt(sealed) == "s3cret"
    assert SecretBox("new-key").decrypt(rotated.encrypt("x")) == "x"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        SecretBox("new-key").decrypt(sealed)
    with pytest.raises(ValueError, match="cannot be decrypted"):
        old.decrypt(sealed[:-4] + "AAAA")
