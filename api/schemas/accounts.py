"""Provider accounts (tenant routes); the account's own fields are in models.account.

Credentials and the callback token are write-only.
"""

from __future__ import annotations

from pydantic import Field

from dlrhub.api.schemas.common import Input, Output, PageQuery
from dlrhub.models import AccountCreate, AccountPublic, AccountUpdate
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.accounts import DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS

_PROVIDERS = ", ".join(sorted(PROVIDERS))
_OVERRIDES = ("the account's own reason class of a failure code, looked up before "
              "dlrhub's dictionary (`{\"MK:0005\": \"invalid_number\"}`); codes are "
              "compared in upper case. `dlrhub receipt reclassify` applies a change to "
              "stored receipts")


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


__all__ = [
    "AccountCreate",
    "AccountPage",
    "AccountPublic",
    "AccountQuery",
    "AccountUpdate",
    "RotateToken",
]
