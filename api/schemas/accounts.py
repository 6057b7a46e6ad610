"""Provider accounts (tenant routes): credentials and the callback token are write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from dlrhub.api.schemas.common import Input, Output, PageQuery
from dlrhub.models import ReasonClass
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.accounts import DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS

_PROVIDERS = ", ".join(sorted(PROVIDERS))
_OVERRIDES = ("the account's own reason class of a failure code, looked up before "
              "dlrhub's dictionary (`{\"MK:0005\": \"invalid_number\"}`); codes are "
              "compared in upper case. `dlrhub receipt reclassify` applies a change to "
              "stored receipts")


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
    reason_overrides: dict[str, ReasonClass] | None = Field(
        default=None, description=_OVERRIDES)


class AccountUpdate(Input):
    """Changes to an account; absent fields stay as they are.

    ``credentials``, ``options`` and ``reason_overrides`` replace the whole set; ``null``
    clears the default region, the allow-list, the credentials, the options or the
    overrides.
    """

    name: str | None = Field(default=None, min_length=1, max_length=200)
    credentials: dict[str, str] | None = Field(
        default=None, description="replaces every credential; write-only")
    timezone: str | None = Field(default=None, max_length=64)
    default_region: str | None = None
    ip_allowlist: list[str] | None = None
    options: dict[str, Any] | None = Field(default=None, description="replaces every option")
    reason_overrides: dict[str, ReasonClass] | None = Field(
        default=None, description="replaces every override")

    @field_validator("name", "timezone")
    @classmethod
    def _not_null(cls, value: str | None) -> str | None:
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
    reason_overrides: dict[str, ReasonClass] = Field(description=_OVERRIDES)
    credentials: list[str] = Field(description="the names of the credentials that are set")
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
