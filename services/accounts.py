"""Provider accounts: create, list, read, update, delete, rotate the callback token.

Every function on tenant data takes ``tenant_id`` and scopes its query by it, so that an
account of another tenant is exactly as invisible as one that does not exist.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import phonenumbers
from sqlalchemy import Engine, Select, or_, select
from sqlmodel import Session

from dlrhub.models import (
    ACCOUNT_TABLE,
    AccountCreate,
    AccountPublic,
    AccountStored,
    AccountUpdate,
    ProviderAccount,
    Tenant,
    utcnow,
)
from dlrhub.providers.base import Account, Option, Provider
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services import subscriptions
from dlrhub.services.crypto import SecretBox, new_token, token_hash
from dlrhub.services.errors import InvalidInput, NotFound, non_blank
from dlrhub.services.expectations.rules import check_seconds
from dlrhub.services.insight.reasons import check_overrides
from dlrhub.services.pagination import newest_by_id

# How long a rotated-out token may keep working, at most: long enough to reconfigure a
# provider's console over a weekend, short enough that a leaked token dies.
MAX_GRACE_SECONDS = 7 * 24 * 3600
DEFAULT_GRACE_SECONDS = 24 * 3600
# An account overrides a provider's quirks, not the dictionary: a few dozen codes.
MAX_REASON_OVERRIDES = 1000


@dataclass(frozen=True)
class NewAccount:
    """An account as created, with the token that is shown in its callback URL."""

    account: ProviderAccount
    token: str


def create_account(session: Session, box: SecretBox, *, tenant_id: str,
                   spec: AccountCreate) -> NewAccount:
    """Create a provider account with a fresh secret callback token.

    What ``spec`` leaves out takes the provider adapter's default.
    """
    adapter = PROVIDERS.get(spec.provider)
    if adapter is None:
        raise InvalidInput("provider", f"must be one of {', '.join(sorted(PROVIDERS))}")
    if session.get(Tenant, tenant_id) is None:
        raise InvalidInput("tenant_id", "no such tenant")
    creds = validate_credentials(adapter, spec.credentials or {})
    token = new_token()
    account = ProviderAccount(
        tenant_id=tenant_id,
        provider=spec.provider,
        name=non_blank(spec.name, "name"),
        token_hash=token_hash(token),
        token_encrypted=box.encrypt(token),
        credentials_encrypted=_sealed(box, creds),
        timezone=validate_timezone(spec.timezone or adapter.default_timezone),
        default_region=validate_region(spec.default_region or adapter.default_region),
        ip_allowlist=validate_allowlist(spec.ip_allowlist or []),
        options=validate_options(adapter, spec.options or {}),
        expectation_deadline_seconds=check_seconds("expectation_deadline_seconds",
                                                   spec.expectation_deadline_seconds),
        expectation_horizon_seconds=check_seconds("expectation_horizon_seconds",
                                                  spec.expectation_horizon_seconds),
        reason_overrides=validate_reason_overrides(spec.reason_overrides or {}),
    )
    session.add(account)
    session.flush()
    return NewAccount(account, token)


@dataclass(frozen=True)
class ProviderForm:
    """What a form for a new account of one provider asks: its credentials, its defaults
    and its options (each with its choices and help)."""

    name: str
    title: str
    required_credentials: tuple[str, ...]
    optional_credentials: tuple[str, ...]
    default_timezone: str
    default_region: str | None
    options: Mapping[str, Option]


def provider_forms() -> dict[str, ProviderForm]:
    """Return what an account of each provider is made with, by provider slug."""
    return {name: ProviderForm(name, a.title, a.required_credentials, a.optional_credentials,
                               a.default_timezone, a.default_region, a.options)
            for name, a in sorted(PROVIDERS.items())}


def list_accounts(session: Session, *, tenant_id: str, limit: int = 50,
                  after: str | None = None,
                  provider: str | None = None) -> tuple[list[ProviderAccount], str | None]:
    """Return a tenant's live accounts, newest first, and the cursor of the next page."""
    table = ACCOUNT_TABLE
    query = _live(tenant_id)
    if provider is not None:
        if provider not in PROVIDERS:
            raise InvalidInput("provider", f"must be one of {', '.join(sorted(PROVIDERS))}")
        query = query.where(table.c.provider == provider)
    return newest_by_id(session, query, table.c.id, limit=limit, after=after)


def get_account(session: Session, *, tenant_id: str, account_id: str) -> ProviderAccount:
    """Return a live account of the tenant, or raise ``NotFound`` (also if not theirs)."""
    table = ACCOUNT_TABLE
    query = _live(tenant_id).where(table.c.id == account_id)
    account: ProviderAccount | None = session.execute(query).scalars().first()
    if account is None:
        raise NotFound(f"no account {account_id}")
    return account


def _live(tenant_id: str) -> Select[Any]:
    # The tenant is in the query itself, never checked after loading the row.
    table = ACCOUNT_TABLE
    return select(ProviderAccount).where(table.c.tenant_id == tenant_id,
                                         table.c.deleted_at.is_(None))


def update_account(session: Session, box: SecretBox, *, tenant_id: str, account_id: str,
                   spec: AccountUpdate) -> ProviderAccount:
    """Change the fields ``spec`` was given; the others stay as they are.

    ``credentials``, ``options`` and ``reason_overrides`` replace the whole set
    (``None`` removes them all, which the provider's required credentials may refuse);
    ``None`` clears the default region and the allow-list. ``AccountUpdate`` refuses
    ``None`` for the name, the time zone and the expectation deadline and horizon.
    """
    account = get_account(session, tenant_id=tenant_id, account_id=account_id)
    adapter = PROVIDERS[account.provider]
    given = spec.model_fields_set
    if "name" in given and spec.name is not None:
        account.name = non_blank(spec.name, "name")
    if "credentials" in given:
        account.credentials_encrypted = _sealed(box, validate_credentials(
            adapter, spec.credentials or {}))
    if "timezone" in given and spec.timezone is not None:
        account.timezone = validate_timezone(spec.timezone)
    if "default_region" in given:
        account.default_region = validate_region(spec.default_region)
    if "ip_allowlist" in given:
        account.ip_allowlist = validate_allowlist(spec.ip_allowlist or [])
    if "options" in given:
        account.options = validate_options(adapter, spec.options or {})
    if "reason_overrides" in given:
        account.reason_overrides = validate_reason_overrides(spec.reason_overrides or {})
    for field in ("expectation_deadline_seconds", "expectation_horizon_seconds"):
        seconds = getattr(spec, field)
        if field in given and seconds is not None:
            setattr(account, field, check_seconds(field, seconds))
    account.updated_at = utcnow()
    session.add(account)
    session.flush()
    return account


def _sealed(box: SecretBox, creds: Mapping[str, str]) -> str | None:
    return box.encrypt(orjson.dumps(dict(creds)).decode()) if creds else None


def delete_account(session: Session, *, tenant_id: str, account_id: str) -> None:
    """Delete an account: it disappears from the API and its callback URL stops.

    The row stays, so that its receipts keep their account. The callback URL stops
    within the ``TokenDirectory`` cache time (5 s), as a rotated-out token does.
    """
    account = get_account(session, tenant_id=tenant_id, account_id=account_id)
    account.deleted_at = account.updated_at = utcnow()
    session.add(account)
    session.flush()


def rotate_token(session: Session, box: SecretBox, *, tenant_id: str, account_id: str,
                 grace_seconds: int = DEFAULT_GRACE_SECONDS) -> NewAccount:
    """Give an account a new callback token; the old one works ``grace_seconds`` more.

    Only one previous token is kept: rotating again within the grace period ends the
    older one at once. A grace of 0 ends the current one at once too.
    """
    if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
        raise InvalidInput("grace_seconds", f"must be between 0 and {MAX_GRACE_SECONDS}")
    account = get_account(session, tenant_id=tenant_id, account_id=account_id)
    token = new_token()
    now = utcnow()
    if grace_seconds:
        account.previous_token_hash = account.token_hash
        account.previous_token_expires_at = now + timedelta(seconds=grace_seconds)
    else:
        account.previous_token_hash = account.previous_token_expires_at = None
    account.token_hash = token_hash(token)
    account.token_encrypted = box.encrypt(token)
    account.updated_at = now
    session.add(account)
    session.flush()
    return NewAccount(account, token)


def validate_credentials(adapter: Provider, given: Mapping[str, Any]) -> dict[str, str]:
    """Return the credentials an adapter knows, or raise naming what is wrong."""
    known = set(adapter.required_credentials) | set(adapter.optional_credentials)
    unknown = sorted(set(given) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise InvalidInput(f"credentials.{unknown[0]}",
                           f"is not a {adapter.name} credential (allowed: {allowed})")
    creds: dict[str, str] = {}
    for key, value in given.items():
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"credentials.{key}", "must be a non-empty string")
        creds[key] = value.strip()
    for key in adapter.required_credentials:
        if key not in creds:
            raise InvalidInput(f"credentials.{key}", f"is required for {adapter.name}")
    optional = adapter.optional_credentials
    if optional and any(k in creds for k in optional) and not all(k in creds for k in optional):
        missing = next(k for k in optional if k not in creds)
        raise InvalidInput(f"credentials.{missing}",
                           f"is required together with {', '.join(optional)}")
    return creds


def validate_timezone(name: str) -> str:
    """Return an IANA time-zone name, or raise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as ex:
        raise InvalidInput("timezone", f"unknown time zone {name!r}") from ex
    return name


def validate_region(region: str | None) -> str | None:
    """Return an upper-case ISO 3166 region code known to phonenumbers, or raise."""
    if region is None:
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput("default_region", f"unknown region {region!r}")
    return code


def validate_allowlist(entries: list[str]) -> list[str]:
    """Return the allow-list as normalized networks, or raise naming the bad entry."""
    out = []
    for index, entry in enumerate(entries):
        try:
            out.append(str(ipaddress.ip_network(str(entry).strip(), strict=False)))
        except ValueError as ex:
            raise InvalidInput(f"ip_allowlist[{index}]", f"not an address or network: {ex}")\
                from ex
    return out


def validate_options(adapter: Provider, given: Mapping[str, Any]) -> dict[str, Any]:
    """Return the per-account options, checked against the adapter's choices."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        option = adapter.options.get(key)
        if option is None:
            allowed = ", ".join(sorted(adapter.options)) or "none"
            raise InvalidInput(f"options.{key}",
                               f"is not a {adapter.name} option (allowed: {allowed})")
        if value not in option.choices:
            raise InvalidInput(f"options.{key}",
                               f"must be one of {', '.join(map(str, option.choices))}")
        out[key] = value
    return out


def validate_reason_overrides(given: Mapping[str, Any]) -> dict[str, str]:
    """Return the account's reason-class overrides by normalized code, checked."""
    if len(given) > MAX_REASON_OVERRIDES:
        raise InvalidInput("reason_overrides",
                           f"at most {MAX_REASON_OVERRIDES} codes may be overridden")
    try:
        return check_overrides(given)
    except ValueError as ex:
        raise InvalidInput("reason_overrides", str(ex)) from ex


def callback_url(public_url: str, account: ProviderAccount, box: SecretBox) -> str:
    """Return the URL the provider must be configured to call for this account."""
    token = box.decrypt(account.token_encrypted)
    return f"{public_url.rstrip('/')}/v1/callbacks/{account.provider}/{token}"


def public_account(account: ProviderAccount, box: SecretBox, public_url: str) -> AccountPublic:
    """Return an account as answered: its settings, callback URL and credential names.

    Built from the settings' fields only (``AccountStored``): the row also holds the
    token and the credentials, which must never reach an answer.
    """
    settings = {name: getattr(account, name) for name in AccountStored.model_fields}
    url = callback_url(public_url, account, box)
    return AccountPublic(
        **settings,
        id=account.id,
        callback_url=url,
        setup=dict(PROVIDERS[account.provider].setup(url)),
        credentials=credential_names(account, box),
        previous_token_expires_at=account.previous_token_expires_at,
        expectations_since=account.expectations_since,
        subscriptions=subscriptions.public(account.subscriptions),
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


def credential_names(account: ProviderAccount, box: SecretBox) -> list[str]:
    """Return the names of the credentials an account has, never their values."""
    return sorted(_credentials(account, box))


def _credentials(account: ProviderAccount, box: SecretBox) -> dict[str, str]:
    if not account.credentials_encrypted:
        return {}
    creds: dict[str, str] = orjson.loads(box.decrypt(account.credentials_encrypted))
    return creds


def adapter_account(account: ProviderAccount, box: SecretBox) -> Account:
    """Return what an adapter needs of an account, with its credentials decrypted."""
    creds = _credentials(account, box)
    adapter = PROVIDERS[account.provider]
    options = {key: opt.default for key, opt in adapter.options.items()}
    options.update(account.options or {})
    return Account(
        id=account.id,
        provider=account.provider,
        credentials=creds,
        timezone=ZoneInfo(account.timezone),
        default_region=account.default_region,
        options=options,
    )


@dataclass(frozen=True)
class CallbackTarget:
    """The account a callback token opens, as the callback path needs it."""

    account_id: str
    tenant_id: str
    provider: str
    ip_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    adapter_account: Account

    def allows(self, remote_addr: str) -> bool:
        """Tell whether the allow-list (if any) admits ``remote_addr``."""
        if not self.ip_networks:
            return True
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:
            return False
        return any(address in net for net in self.ip_networks)


class TokenDirectory:
    """Find accounts by callback token, caching each answer for a few seconds.

    The cache keeps the database out of the hot path of a busy provider; a token that
    is rotated out (with no grace) or an account that is deleted stops working within
    ``ttl`` seconds (5 by default), in each process that serves callbacks.
    """

    def __init__(self, engine: Engine, box: SecretBox, ttl: float = 5.0) -> None:
        self._engine = engine
        self._box = box
        self._ttl = ttl
        self._cache: dict[str, tuple[float, CallbackTarget | None]] = {}
        self._lock = threading.Lock()

    def find(self, token: str) -> CallbackTarget | None:
        """Return the account of a current (or recently rotated) token, or ``None``."""
        digest = token_hash(token)
        now = time.monotonic()
        fresh, target = self._cached(digest, now)
        if fresh:
            return target
        target = self._load(digest)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self._ttl, target)
        return target

    def cached(self, token: str) -> tuple[bool, CallbackTarget | None]:
        """Return whether ``token``'s answer is cached and fresh, and that answer.

        Never reads the database: for callers that must not block (the event loop).
        """
        return self._cached(token_hash(token), time.monotonic())

    def _cached(self, digest: str, now: float) -> tuple[bool, CallbackTarget | None]:
        with self._lock:
            hit = self._cache.get(digest)
        if hit is None or hit[0] <= now:
            return False, None
        return True, hit[1]

    def _load(self, digest: str) -> CallbackTarget | None:
        with Session(self._engine) as session:
            table = ACCOUNT_TABLE
            account = session.execute(
                select(ProviderAccount).where(
                    or_(table.c.token_hash == digest, table.c.previous_token_hash == digest),
                    # A deleted account's URL must stop, though its row stays.
                    table.c.deleted_at.is_(None),
                )
            ).scalars().first()
            if account is None:
                return None
            if account.token_hash != digest:
                expires = account.previous_token_expires_at
                if expires is None or expires < utcnow():
                    return None
            return CallbackTarget(
                account_id=account.id,
                tenant_id=account.tenant_id,
                provider=account.provider,
                ip_networks=tuple(ipaddress.ip_network(n) for n in account.ip_allowlist),
                adapter_account=adapter_account(account, self._box),
            )
