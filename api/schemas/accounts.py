"""Provider accounts (tenant routes): credentials and the callback token are write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from dlrhub.api.schemas.common import Input, Output, PageQuery
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.accounts import DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS
from dlrhub.services.expectations.rules import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_HORIZON_SECONDS,
    MAX_DEADLINE_SECONDS,
    MIN_DEADLINE_SECONDS,
)

_PROVIDERS = ", ".join(sorted(PROVIDERS))
_DEADLINE = ("seconds after its send an expected message's final receipt may take before "
             "`sms.receipt_missing` is emitted, unless the expectation says otherwise")
_HORIZON = ("seconds after its send dlrhub gives up on an expected message with a "
            "synthetic final `unknown` status (never before its deadline)")


class AccountCreate(Input):
    """A new provider account; what is left out takes the provider's default."""

    # A plain string, checked by the service, so that the error names the choices.
    provider: str = Field(description=f"one of {_PROVIDERS}")
    name: str = Field(min_length=1, max_length=200)
    credentials: dict[str, str] | None = Field(
        default=None, description="the provider's secrets by name; write-only")
    timezone: str | None = Field(default=None, max_length=64,
                                 description="IANA zone of the provider's timestamps")
    default_region: str | None = Field(
        default=None, description="ISO 3166 region of phone numbers sent without one")
    ip_allowlist: list[str] | None = Field(
        default=None, description="addresses or networks allowed to post callbacks")
    options: dict[str, Any] | None = Field(
        default=None, description="per-account choices the provider's adapter offers")
    expectation_deadline_seconds: int = Field(
        default=DEFAULT_DEADLINE_SECONDS, ge=MIN_DEADLINE_SECONDS, le=MAX_DEADLINE_SECONDS,
        description=_DEADLINE)
    expectation_horizon_seconds: int = Field(
        default=DEFAULT_HORIZON_SECONDS, ge=MIN_DEADLINE_SECONDS, le=MAX_DEADLINE_SECONDS,
        description=_HORIZON)


class AccountUpdate(Input):
    """Changes to an account; absent fields stay as they are.

    ``credentials`` and ``options`` replace the whole set; ``null`` clears the default
    region, the allow-list, the credentials or the options.
    """

    name: str | None = Field(default=None, min_length=1, max_length=200)
    credentials: dict[str, str] | None = Field(
        default=None, description="replaces every credential; write-only")
    timezone: str | None = Field(default=None, max_length=64)
    default_region: str | None = None
    ip_allowlist: list[str] | None = None
    options: dict[str, Any] | None = Field(default=None, description="replaces every option")
    expectation_deadline_seconds: int | None = Field(
        default=None, ge=MIN_DEADLINE_SECONDS, le=MAX_DEADLINE_SECONDS, description=_DEADLINE)
    expectation_horizon_seconds: int | None = Field(
        default=None, ge=MIN_DEADLINE_SECONDS, le=MAX_DEADLINE_SECONDS, description=_HORIZON)

    @field_validator("name", "timezone", "expectation_deadline_seconds",
                     "expectation_horizon_seconds")
    @classmethod
    def _not_null(cls, value: str | int | None) -> str | int | None:
        # Only runs on given values: an explicit null cannot clear a required field.
        if value is None:
            raise ValueError("may not be null")
        return value


class AccountPublic(Output):
    """A provider account as answered: never a credential value."""

    id: str
    provider: str
    name: str
    callback_url: str = Field(description="the URL to configure at the provider; it "
                              "holds the secret token, so keep it private")
    timezone: str
    default_region: str | None
    ip_allowlist: list[str]
    options: dict[str, Any]
    credentials: list[str] = Field(description="the names of the credentials that are set")
    expectation_deadline_seconds: int = Field(description=_DEADLINE)
    expectation_horizon_seconds: int = Field(description=_HORIZON)
    expectations_since: datetime | None = Field(
        description="since when expectations are registered on this account: from then on "
                    "its final receipts without one count as unmatched")
    previous_token_expires_at: datetime | None = Field(
        description="until when the callback URL before the last rotation still works")
    created_at: datetime
    updated_at: datetime


class AccountQuery(PageQuery):
    """Filters of the account list."""

    provider: str | None = Field(default=None, description=f"one of {_PROVIDERS}")


class AccountPage(Output):
    """A page of provider accounts."""

    data: list[AccountPublic]
    next: str | None


class RotateToken(Input):
    """How long the current callback URL keeps working after the rotation."""

    grace_seconds: int = Field(default=DEFAULT_GRACE_SECONDS, ge=0, le=MAX_GRACE_SECONDS,
                               description="0 stops the current URL at once")
