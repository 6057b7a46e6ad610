"""A provider account's fields, declared once: the SQLModel family of the account table.

``AccountBase`` holds what a tenant sets and reads back; ``AccountCreate`` and
``AccountUpdate`` are the request bodies, ``AccountPublic`` the answer, and
``models.tables.ProviderAccount`` the table, which adds the callback token and the
credentials, both encrypted. Credentials are write-only: the bodies take them, the
answer names them and never shows a value. ``AccountCreate`` takes ``null`` (or nothing)
for the settings a provider has a default for; which default is the provider adapter's,
so the service fills it in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import field_validator
from sqlalchemy import Column, Integer, String
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from dlrhub.core.vocabulary import ReasonClass
from dlrhub.models.family import INPUT_CONFIG, PUBLIC_CONFIG
from dlrhub.models.types import JSONType

# The provider's slug: the service checks it against the registry (models may not import
# providers) and names the choices when it refuses one.
_PROVIDER = "the provider's slug, e.g. tencent (docs/providers/ lists them); fixed once created"


# Expected messages: a deadline (or horizon) from one second (a test, a flash OTP) to 30
# days (the longest validity a sender may set). Carrier events may take up to 72 h, after
# which AWS reports a message UNKNOWN (https://docs.aws.amazon.com/end-user-messaging/
# latest/userguide/nx-features-messaging-events.html): by default dlrhub gives up then too,
# with a synthetic final status. The mainland providers publish no horizon.
MIN_DEADLINE_SECONDS = 1
MAX_DEADLINE_SECONDS = 30 * 24 * 3600
DEFAULT_DEADLINE_SECONDS = 600
DEFAULT_HORIZON_SECONDS = 72 * 3600
_DEADLINE = ("seconds after its send an expected message's final receipt may take before "
             "`sms.receipt_missing` is emitted, unless the expectation says otherwise")
_OVERRIDES = ("the account's own reason class of a failure code, looked up before "
              "dlrhub's dictionary (`{\"MK:0005\": \"invalid_number\"}`); codes are "
              "compared in upper case. `dlrhub receipt reclassify` applies a change to "
              "stored receipts")
_HORIZON = ("seconds after its send dlrhub gives up on an expected message with a "
            "synthetic final `unknown` status (never before its deadline)")


def _json_column() -> Any:
    return Column(JSONType, nullable=False)


def _seconds_column(default: int) -> Any:
    return Column(Integer, nullable=False, server_default=str(default))


class AccountBase(SQLModel):
    """What a tenant sets on a provider account, as every member of the family has it."""

    # Column lengths through sa_type where the request bodies never had the limit: the
    # service's own checks answer a wrong value there, naming the choices.
    provider: str = Field(sa_type=String(40), description=_PROVIDER)
    name: str = Field(min_length=1, max_length=200)
    default_region: str | None = Field(
        default=None, sa_type=String(2),
        description="ISO 3166 region of phone numbers sent without one")


class AccountCreate(AccountBase):
    """A new provider account; what is left out takes the provider's default."""

    model_config = INPUT_CONFIG

    # Left out (or null), each of these takes the provider adapter's default.
    credentials: dict[str, str] | None = Field(
        default=None, description="the provider's secrets by name; write-only")
    timezone: str | None = Field(default=None, max_length=64,
                                 description="IANA zone of the provider's timestamps")
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
    reason_overrides: dict[str, ReasonClass] | None = Field(default=None,
                                                           description=_OVERRIDES)


class AccountStored(AccountBase):
    """An account's settings once the provider's defaults are filled in: stored, answered."""

    timezone: str = Field(max_length=64)
    ip_allowlist: list[str] = Field(default_factory=list, sa_column=_json_column())
    # Per-account answers to what the provider's documentation leaves open (each
    # adapter's options; docs/providers/<name>.md).
    options: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    # Expected messages (services/expectations/): when a missing receipt is reported, and
    # when dlrhub gives up on it.
    expectation_deadline_seconds: int = Field(
        default=DEFAULT_DEADLINE_SECONDS, description=_DEADLINE,
        sa_column=_seconds_column(DEFAULT_DEADLINE_SECONDS))
    expectation_horizon_seconds: int = Field(
        default=DEFAULT_HORIZON_SECONDS, description=_HORIZON,
        sa_column=_seconds_column(DEFAULT_HORIZON_SECONDS))
    # The account's own reason class per failure code ({"<CODE>": "<class>"}), looked
    # up before the shipped dictionary: a provider's quirks the dictionary gets wrong.
    reason_overrides: dict[str, str] = Field(
        default_factory=dict, description=_OVERRIDES,
        sa_column=Column(JSONType, nullable=False, server_default=sql_text("'{}'")))


class AccountUpdate(SQLModel):
    """Changes to an account; absent fields stay as they are.

    ``credentials``, ``options`` and ``reason_overrides`` replace the whole set; ``null``
    clears the default region, the allow-list, the credentials, the options or the
    overrides.
    """

    model_config = INPUT_CONFIG

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
    reason_overrides: dict[str, ReasonClass] | None = Field(
        default=None, description="replaces every override")

    @field_validator("name", "timezone", "expectation_deadline_seconds",
                     "expectation_horizon_seconds")
    @classmethod
    def _not_null(cls, value: str | int | None) -> str | int | None:
        # Only runs on given values: an explicit null cannot clear a required field.
        if value is None:
            raise ValueError("may not be null")
        return value


class SubscriptionPublic(SQLModel):
    """One subscription of an account's callback URL at its provider (an SNS topic)."""

    model_config = PUBLIC_CONFIG

    topic: str = Field(description="what the URL is subscribed to: the SNS topic's ARN")
    status: Literal["confirmed", "unsubscribed"] = Field(
        description="confirmed: dlrhub visited the confirmation URL and the provider sends "
                    "here; unsubscribed: the provider said it no longer does")
    subscription_id: str | None = Field(
        default=None, description="the provider's id of the subscription (its ARN), where "
                                  "the confirmation answer gave one")
    confirmed_at: datetime | None = None
    unsubscribed_at: datetime | None = None
    changed_at: datetime | None = Field(default=None, description="when it last changed")


class AccountPublic(AccountStored):
    """A provider account as answered: never a credential value."""

    model_config = PUBLIC_CONFIG

    id: str
    callback_url: str = Field(description="the URL to configure at the provider; it "
                              "holds the secret token, so keep it private")
    credentials: list[str] = Field(description="the names of the credentials that are set")
    setup: dict[str, str] = Field(
        default_factory=dict,
        description="what else to paste at the provider, by name (Kannel's "
                    "dlr_url_template); like callback_url it holds the secret token")
    previous_token_expires_at: datetime | None = Field(
        description="until when the callback URL before the last rotation still works")
    expectations_since: datetime | None = Field(
        description="since when expectations are registered on this account: from then on "
                    "its final receipts without one count as unmatched")
    subscriptions: list[SubscriptionPublic] = Field(
        default_factory=list,
        description="the provider's subscriptions of the callback URL (AWS SNS topics), "
                    "as dlrhub confirmed them and the provider ended them; empty for the "
                    "providers that have none")
    created_at: datetime
    updated_at: datetime
