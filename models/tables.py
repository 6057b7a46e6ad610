"""The tables of dlrhub, in the SQLModel family of schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from dlrhub.core.vocabulary import (
    DeliveryStatus,
    EventType,
    ExpectationState,
    InboxState,
    ReasonClass,
    ReceiptStatus,
    TenantStatus,
)
from dlrhub.models.account import AccountStored
from dlrhub.models.alert import AlertRuleBase
from dlrhub.models.endpoint import EndpointBase
from dlrhub.models.ids import new_id, utcnow
from dlrhub.models.tenant import ApiKeyBase, TenantBase, TenantRetention
from dlrhub.models.types import JSONType, UTCDateTime


class Tenant(TenantBase, TenantRetention, table=True):
    """A customer of the hub (fields: ``TenantBase``, its retention: ``TenantRetention``)."""

    __tablename__ = "tenant"

    id: str = Field(default_factory=lambda: new_id("ten"), primary_key=True, max_length=40)
    status: TenantStatus = Field(default=TenantStatus.active,
                                 sa_column=Column(String(20), nullable=False))
    # Requests a second per API key; None: the system's DLRHUB_API_RATE_LIMIT.
    api_rate_limit: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))


class ProviderAccount(AccountStored, table=True):
    """A tenant's account at one SMS provider, and the secret URL that provider calls.

    Its settings are ``AccountStored``'s (models.account); the token and the
    credentials, which no answer shows, are declared here.
    """

    __tablename__ = "provider_account"
    __table_args__ = (Index("ix_account_tenant", "tenant_id", "created_at"),)

    id: str = Field(default_factory=lambda: new_id("acc"), primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=40)
    # The callback token is looked up by its SHA-256 and kept encrypted beside it, so
    # that the full callback URL can be shown again without storing the token in clear.
    token_hash: str = Field(max_length=64, unique=True)
    token_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    # After a rotation the previous token keeps working until it expires.
    previous_token_hash: str | None = Field(default=None, max_length=64, index=True)
    previous_token_expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    credentials_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    # Since when the tenant registers what it sends on this account: from then on a
    # receipt without an expectation is counted as unmatched. Read with the account
    # ingest loads anyway, so accounts that never use expectations cost ingest nothing.
    expectations_since: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The provider's subscriptions of the callback URL (AWS SNS topics), by topic:
    # services/subscriptions.py keeps them as the provider's callbacks change them.
    subscriptions: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSONType, nullable=True))
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    # Deleting an account stops its callback URL and hides it, but keeps its receipts.
    deleted_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ApiKey(ApiKeyBase, table=True):
    """A tenant's API key: shown once, kept only as its SHA-256 (fields: ``ApiKeyBase``)."""

    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_tenant", "tenant_id", "created_at"),)

    id: str = Field(default_factory=lambda: new_id("key"), primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=40)
    key_hash: str = Field(max_length=64, unique=True)
    # The last characters, so that a person can tell keys apart in a listing.
    hint: str = Field(max_length=8)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))


class InboundCallback(SQLModel, table=True):
    """A raw provider callback, kept before it is acknowledged: the inbox."""

    __tablename__ = "inbound_callback"
    __table_args__ = (
        # The sweeper's scan and the tenant's inbox listing.
        Index("ix_inbox_state_received", "state", "received_at"),
        Index("ix_inbox_tenant_state", "tenant_id", "state", "received_at"),
        # The sweep's scan for lost work: pending rows by when they were last enqueued.
        Index("ix_inbox_pending_enqueued", "enqueued_at", "received_at",
              postgresql_where=sql_text("state = 'pending'"),
              sqlite_where=sql_text("state = 'pending'")),
    )

    id: str = Field(default_factory=lambda: new_id("inb"), primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    account_id: str = Field(foreign_key="provider_account.id", max_length=40, index=True)
    provider: str = Field(max_length=40)
    received_at: datetime = Field(default_factory=utcnow,
                                  sa_column=Column(UTCDateTime(), nullable=False))
    remote_addr: str = Field(default="", max_length=64)
    method: str = Field(default="POST", max_length=10)
    path: str = Field(default="", sa_column=Column(Text, nullable=False))
    query: str = Field(default="", sa_column=Column(Text, nullable=False))
    content_type: str = Field(default="", max_length=200)
    headers: dict[str, str] = Field(default_factory=dict,
                                    sa_column=Column(JSONType, nullable=False))
    body: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))
    state: InboxState = Field(default=InboxState.pending,
                              sa_column=Column(String(20), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    receipts: int = 0
    processed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # When a wake-up for the row last went to the broker (the API at arrival, the sweep
    # when it re-sends) or a failed attempt left it pending: the sweep re-sends only
    # rows neither enqueued nor worked within its grace. None: as old as received_at.
    enqueued_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Receipt(SQLModel, table=True):
    """A normalized event: a delivery status or an inbound message (DESIGN §3)."""

    __tablename__ = "receipt"
    __table_args__ = (
        # Providers retry and resend: the same record is stored once per account.
        UniqueConstraint("account_id", "dedupe_key", name="uq_receipt_dedupe"),
        Index("ix_receipt_tenant_received", "tenant_id", "received_at", "id"),
        Index("ix_receipt_tenant_message", "tenant_id", "message_id"),
        Index("ix_receipt_tenant_reference", "tenant_id", "reference"),
        Index("ix_receipt_tenant_phone", "tenant_id", "phone"),
        # ?reason_class= pages newest first; only failures have a class.
        Index("ix_receipt_tenant_reason", "tenant_id", "reason_class", "received_at", "id",
              postgresql_where=sql_text("reason_class IS NOT NULL"),
              sqlite_where=sql_text("reason_class IS NOT NULL")),
        # ?type= and ?status= page newest first. The common value (sms.status, delivered)
        # is found on ix_receipt_tenant_received within a few rows: left out, it costs
        # ingest no entry; a rare one would otherwise read the tenant's every receipt.
        Index("ix_receipt_tenant_type", "tenant_id", "type", "received_at", "id",
              postgresql_where=sql_text("type <> 'sms.status'"),
              sqlite_where=sql_text("type <> 'sms.status'")),
        Index("ix_receipt_tenant_status", "tenant_id", "status", "received_at", "id",
              postgresql_where=sql_text("status <> 'delivered'"),
              sqlite_where=sql_text("status <> 'delivered'")),
    )

    id: str = Field(default_factory=lambda: new_id("evt"), primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    # None only on an ``sms.alert`` of a rule scoped wider than one account, and on the
    # operational events about an endpoint or a delivery (services/ops_events.py).
    account_id: str | None = Field(default=None, foreign_key="provider_account.id",
                                   max_length=40)
    # No index: nothing looks receipts up by their callback, and every receipt paid for
    # one (migration 0016).
    inbox_id: str = Field(max_length=40)
    # Room for the operational events' longer names (migration 0024).
    type: EventType = Field(sa_column=Column(String(40), nullable=False))
    provider: str = Field(max_length=40)
    message_id: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=64)
    status: ReceiptStatus = Field(sa_column=Column(String(20), nullable=False))
    provider_status: str | None = Field(default=None, max_length=100)
    error_code: str | None = Field(default=None, max_length=100)
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    segments: int | None = None
    # Which part of a long SMS the report is about, where the provider reports each part.
    part: str | None = Field(default=None, max_length=20)
    # The provider's own order of its reports on the message (Plivo ``Sequence``).
    sequence: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    price: str | None = Field(default=None, max_length=40)
    submitted_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reported_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    received_at: datetime = Field(default_factory=utcnow,
                                  sa_column=Column(UTCDateTime(), nullable=False))
    text: str | None = Field(default=None, sa_column=Column(Text))
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    dedupe_key: str = Field(max_length=64)
    # Why a failed, expired, rejected or unknown status happened, and whether sending
    # again may help (None: unknown); both None on delivered, pending and inbound events.
    reason_class: ReasonClass | None = Field(default=None,
                                             sa_column=Column(String(40), nullable=True))
    retryable: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    # Where the phone number is: ISO 3166 region and carrier slug, from its prefix.
    country: str | None = Field(default=None, max_length=2)
    carrier: str | None = Field(default=None, max_length=40)
    # dlrhub's own final word (a receipt that never came), not a provider's report.
    synthetic: bool = Field(default=False, sa_column=Column(Boolean, nullable=False,
                                                            server_default=false()))
    # What an event dlrhub emits says beyond the receipt's fields (the two statuses of a
    # correction, the deadline of a missing receipt, an alert's measure).
    details: dict[str, Any] | None = Field(default=None,
                                           sa_column=Column(JSONType, nullable=True))


class Message(SQLModel, table=True):
    """Where one message stands for one recipient, kept as its receipts are stored.

    One row per (account, message id, phone): several recipients of one send may share
    a message id. ``services/messages.py`` keeps it in the transaction that stores the
    receipts, so its status never lags them nor depends on the order they came in.
    """

    __tablename__ = "message"
    __table_args__ = (
        # The one index, and the primary key: the key ingest upserts on and updates by
        # (an account belongs to one tenant) and, by its prefix, the tenant's lookup of a
        # message id. Every index costs ingest a write per new message, and none is on
        # what ingest updates, so that its updates stay HOT (migration 0016).
        PrimaryKeyConstraint("tenant_id", "message_id", "account_id", "phone",
                             name="pk_message"),
    )

    # dlrhub's own id for the row, shown by the API; nothing looks a row up by it.
    id: str = Field(default_factory=lambda: new_id("msg"), max_length=40)
    tenant_id: str = Field(max_length=40)
    # No foreign key: a message is made with its receipts, whose own key to the account
    # was just checked (migration 0013).
    account_id: str = Field(max_length=40)
    provider: str = Field(max_length=40)
    message_id: str = Field(max_length=200)
    # '' where the provider's receipts name no phone (a NULL would defeat the key).
    phone: str = Field(default="", max_length=64)
    status: ReceiptStatus = Field(sa_column=Column(String(20), nullable=False))
    final: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    provider_status: str | None = Field(default=None, max_length=100)
    reason_class: ReasonClass | None = Field(default=None,
                                             sa_column=Column(String(40), nullable=True))
    retryable: bool | None = Field(default=None, sa_column=Column(Boolean, nullable=True))
    # Per part: its status and the receipt that set it. None for a message reported
    # whole (most): its one part is the status columns (message_state.stored_parts).
    parts: dict[str, Any] | None = Field(default=None,
                                         sa_column=Column(JSONType, nullable=True))
    segments: int | None = None
    # The provider's order number of the report that set the status, where it numbers
    # its reports (Plivo ``Sequence``); ``parts`` holds each part's.
    sequence: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    submitted_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Of the receipt that decided the status (the last part's, for a delivered long SMS).
    reported_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    received_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Milliseconds: reported_at - submitted_at, and received_at - reported_at.
    handset_latency_ms: int | None = Field(default=None,
                                           sa_column=Column(BigInteger, nullable=True))
    receipt_lag_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    out_of_order: int = 0
    corrected: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    status_receipt_id: str | None = Field(default=None, max_length=40)
    first_receipt_id: str | None = Field(default=None, max_length=40)
    last_receipt_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))


class Expectation(SQLModel, table=True):
    """A message the tenant says it sent, waiting for its final receipt.

    Met by a final receipt of the same account and message id (and phone, when given);
    past ``deadline_at`` without one it is ``missing`` and an ``sms.receipt_missing``
    event is emitted; at ``horizon_at`` a synthetic final ``unknown`` status follows.
    """

    __tablename__ = "expectation"
    __table_args__ = (
        # Registering the same send twice changes nothing; NULL phones would not collide
        # in a unique index, hence ``phone_key`` ("" for none).
        UniqueConstraint("account_id", "message_id", "phone_key", name="uq_expectation"),
        # The tenant's listings, newest first, with or without a state.
        Index("ix_expectation_tenant_state", "tenant_id", "state", "id"),
        Index("ix_expectation_tenant", "tenant_id", "id"),
        # The alert rules' count of the expectations due in a window (services/alerts).
        Index("ix_expectation_tenant_deadline", "tenant_id", "deadline_at"),
        # An erasure's look-up of a person's expectations (services/erasure.py).
        Index("ix_expectation_tenant_phone", "tenant_id", "phone"),
        # The sweep's two scans: only the rows still waiting are in these indexes, so a
        # million met expectations cost them nothing and a million pending ones are
        # read a batch at a time in deadline (horizon) order.
        Index("ix_expectation_due", "deadline_at",
              postgresql_where=sql_text("state = 'pending'"),
              sqlite_where=sql_text("state = 'pending'")),
        Index("ix_expectation_horizon", "horizon_at",
              postgresql_where=sql_text("state = 'missing' AND synthetic_at IS NULL"),
              sqlite_where=sql_text("state = 'missing' AND synthetic_at IS NULL")),
    )

    id: str = Field(default_factory=lambda: new_id("exp"), primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    account_id: str = Field(foreign_key="provider_account.id", max_length=40)
    provider: str = Field(max_length=40)
    message_id: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=64)
    phone_key: str = Field(default="", max_length=64)
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    deadline_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    horizon_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    template: str | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=200)
    state: ExpectationState = Field(default=ExpectationState.pending,
                                    sa_column=Column(String(20), nullable=False))
    # When the sweep reported it missing, and when it sent the synthetic final status.
    missing_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    synthetic_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The final receipt that met it, and when (after ``missing_at``: it came late).
    met_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    receipt_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))


class AlertRule(AlertRuleBase, table=True):
    """A tenant's alert rule (fields: ``AlertRuleBase``) and where it stands.

    ``firing`` changes only through an UPDATE guarded by its previous value, so two
    evaluations at once never emit the same firing (or resolution) twice.
    """

    __tablename__ = "alert_rule"
    __table_args__ = (Index("ix_alert_rule_tenant", "tenant_id", "id"),)

    id: str = Field(default_factory=lambda: new_id("alr"), primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=40)
    firing: bool = Field(default=False, sa_column=Column(Boolean, nullable=False,
                                                         server_default=false()))
    firing_since: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_value: float | None = None
    last_evaluated_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))


class Endpoint(EndpointBase, table=True):
    """A customer's webhook URL and what it wants relayed to it (fields: ``EndpointBase``)."""

    __tablename__ = "endpoint"
    __table_args__ = (Index("ix_endpoint_tenant", "tenant_id", "enabled"),)

    id: str = Field(default_factory=lambda: new_id("ep"), primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenant.id", max_length=40)
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text))
    secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    # During a rotation the previous secret signs beside the new one until it expires.
    previous_secret_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    previous_secret_expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Since when every delivery has failed (None while it works): disables after 5 days.
    failing_since: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The circuit (services/circuit.py): failures in a row, how often it opened since the
    # endpoint last answered, and until when its deliveries are parked.
    consecutive_failures: int = 0
    circuit_trips: int = 0
    circuit_open_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # The rate limit's next free send slot (services/ratelimit.py).
    rate_cursor: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))


class Delivery(SQLModel, table=True):
    """One POST to make to one endpoint: an event, a batch of events, or a native callback."""

    __tablename__ = "delivery"
    __table_args__ = (
        # The relay's and the sweeper's scan for due work.
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_tenant_endpoint", "tenant_id", "endpoint_id", "created_at"),
        # /metrics' count and age of the pending deliveries: only the waiting rows are in
        # it, so the oldest is the index's first entry however many succeeded before.
        Index("ix_delivery_pending_created", "created_at",
              postgresql_where=sql_text("status = 'pending'"),
              sqlite_where=sql_text("status = 'pending'")),
        # Retention's purge of a tenant's finished deliveries, oldest first, one status
        # at a time (services/retention.py): an index range, never a scan.
        Index("ix_delivery_tenant_status_created", "tenant_id", "status", "created_at"),
    )

    id: str = Field(default_factory=lambda: new_id("dlv"), primary_key=True, max_length=40)
    tenant_id: str = Field(max_length=40)
    endpoint_id: str = Field(foreign_key="endpoint.id", max_length=40, index=True)
    event_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # Native deliveries re-post the provider's callback: the inbox row holds its bytes.
    inbox_id: str | None = Field(default=None, max_length=40)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending,
                                   sa_column=Column(String(20), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_status_code: int | None = None
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))


class Attempt(SQLModel, table=True):
    """One try of a delivery, as the customer's endpoint answered it."""

    __tablename__ = "attempt"
    __table_args__ = (Index("ix_attempt_delivery", "delivery_id", "at"),)

    id: str = Field(default_factory=lambda: new_id("att"), primary_key=True, max_length=40)
    delivery_id: str = Field(foreign_key="delivery.id", max_length=40)
    tenant_id: str = Field(max_length=40)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    status_code: int | None = None
    latency_ms: float = 0.0
    error: str | None = Field(default=None, sa_column=Column(Text))
    response_excerpt: str | None = Field(default=None, sa_column=Column(Text))


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser of the console: kept as the SHA-256 of its id, never the key.

    A tenant's session names the key it was opened with; each request checks that key
    (and its tenant) again, so revoking the key or suspending the tenant ends it at once.
    An admin's session keeps the SHA-256 of the admin token it was opened with: a
    changed token ends it.
    """

    __tablename__ = "console_session"
    __table_args__ = (Index("ix_console_session_expires", "expires_at"),
                      Index("ix_console_session_tenant", "tenant_id"))

    id_hash: str = Field(primary_key=True, max_length=64)
    role: str = Field(max_length=10)
    tenant_id: str | None = Field(default=None, max_length=40)
    key_id: str | None = Field(default=None, max_length=40)
    admin_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow,
                                 sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConsoleSignInFailure(SQLModel, table=True):
    """A wrong key posted to the console's sign-in form, by the client address it came from.

    Kept only while it counts towards the sign-in limit (services/signin_limit.py), and
    by the keyed hash of the address, never the address or the key that was tried. In
    the database, not in a process: every API worker counts the same failures.
    """

    __tablename__ = "console_signin_failure"
    __table_args__ = (Index("ix_console_signin_failure_client", "client_hash", "at"),
                      Index("ix_console_signin_failure_at", "at"))

    id: str = Field(default_factory=lambda: new_id("sif"), primary_key=True, max_length=40)
    client_hash: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ApiRefusal(SQLModel, table=True):
    """A tenant whose API keys were answered 429 for their rate limit: when, how often.

    Written by the API (services/ratelimit.RefusalLog) at most every few seconds per
    process; read by the beat, which tells the operator of a tenant over its limit.
    """

    __tablename__ = "api_refusal"

    tenant_id: str = Field(primary_key=True, max_length=40)
    first_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    refusals: int = Field(sa_column=Column(BigInteger, nullable=False))


class WorkerSeen(SQLModel, table=True):
    """A worker process's heartbeat: when it started and when it was last seen.

    Each pool process writes its own row every ``DLRHUB_HEARTBEAT_SECONDS``
    (tasks/heartbeat.py), so that an idle worker is seen too (services/heartbeats.py).
    """

    __tablename__ = "worker_seen"

    # "<host>:<pid>": one row per process; a restarted process is a new row.
    name: str = Field(primary_key=True, max_length=200)
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AuditEvent(SQLModel, table=True):
    """One change made through the admin or tenant API or the console: who, what, when.

    Written by ``api/audit.py`` after a mutating request succeeded (services/audit.py).
    Never a secret, a token or a personal datum: the actor is a key id or ``admin``,
    ``detail`` names the fields a request set, not their values (an erasure keeps a
    keyed hash of the number). Not a tenant's data: deleting a tenant keeps its trail.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        # The tenant's listing, newest first (ids sort by time); the admin's is by id.
        Index("ix_audit_event_tenant", "tenant_id", "id"),
    )

    id: str = Field(default_factory=lambda: new_id("aud"), primary_key=True, max_length=40)
    at: datetime = Field(default_factory=utcnow,
                         sa_column=Column(UTCDateTime(), nullable=False))
    # "admin", "key" (an API key) or "console-session" (a signed-in browser).
    actor_kind: str = Field(max_length=20)
    # The key's id (never the key) or "admin".
    actor_id: str = Field(max_length=40)
    # None for an admin's action on no tenant in particular.
    tenant_id: str | None = Field(default=None, max_length=40)
    action: str = Field(max_length=60)
    target_type: str = Field(max_length=40)
    target_id: str | None = Field(default=None, max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict,
                                   sa_column=Column(JSONType, nullable=False))


class OpsCondition(SQLModel, table=True):
    """A condition dlrhub watches over its own operation, and whether it holds now.

    One row per condition (``callbacks_rejected:<account id>``, ``admin.inbox_backlog``):
    it moves only through an UPDATE that names the state it leaves, so a condition that
    starts (or stops) holding emits its event once (services/ops_events).
    """

    __tablename__ = "ops_condition"

    key: str = Field(primary_key=True, max_length=100)
    firing: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    since: datetime | None = Field(default=None,
                                   sa_column=Column(UTCDateTime(), nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def _table(model: type[SQLModel]) -> Table:
    """Return a table model's ``Table``, typed (SQLModel does not declare ``__table__``)."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


# Typed handles for Core statements: ``RECEIPT_TABLE.c.status`` instead of the untyped
# ``Receipt.__table__`` (or ORM attributes that mypy reads as plain values).
TENANT_TABLE = _table(Tenant)
ACCOUNT_TABLE = _table(ProviderAccount)
API_KEY_TABLE = _table(ApiKey)
INBOX_TABLE = _table(InboundCallback)
RECEIPT_TABLE = _table(Receipt)
MESSAGE_TABLE = _table(Message)
ENDPOINT_TABLE = _table(Endpoint)
DELIVERY_TABLE = _table(Delivery)
ATTEMPT_TABLE = _table(Attempt)
EXPECTATION_TABLE = _table(Expectation)
ALERT_RULE_TABLE = _table(AlertRule)
CONSOLE_SESSION_TABLE = _table(ConsoleSession)
CONSOLE_SIGNIN_FAILURE_TABLE = _table(ConsoleSignInFailure)
WORKER_SEEN_TABLE = _table(WorkerSeen)
API_REFUSAL_TABLE = _table(ApiRefusal)
AUDIT_TABLE = _table(AuditEvent)
OPS_CONDITION_TABLE = _table(OpsCondition)


# --- the delivery aggregate (services/analytics) ---------------------------------------

# What one aggregate row is of: a tenant, a grain (which time span and which dimensions
# it keeps: services/analytics/grains.py), the span's start, and the dimensions. A
# dimension a grain rolls up holds "*", an unknown one "" (so the key stays unique).
DELIVERY_STATS_KEY = ("tenant_id", "grain", "bucket", "account_id", "provider", "country",
                      "carrier", "template", "reason_class")
# How many messages the row holds, by status, and the expectations of its key.
DELIVERY_STATS_COUNTERS = ("messages", "delivered", "failed", "expired", "rejected",
                           "unknown", "pending", "expected", "missing")
# The row's messages by reason class: every row breaks its failures down, so that only
# the grains that group or filter by a class need it in their key.
REASON_COLUMNS = tuple(f"reason_{r.value}" for r in ReasonClass)
# Latency histograms: final messages by handset latency and by receipt lag, in fixed
# log-spaced buckets (services/analytics/buckets.py says where each bucket starts).
LATENCY_BUCKETS = 30
HANDSET_COLUMNS = tuple(f"handset_{i:02d}" for i in range(LATENCY_BUCKETS))
LAG_COLUMNS = tuple(f"lag_{i:02d}" for i in range(LATENCY_BUCKETS))
DELIVERY_STATS_ADDED = DELIVERY_STATS_COUNTERS + REASON_COLUMNS + HANDSET_COLUMNS + LAG_COLUMNS

# A Core table, not a SQLModel class: 81 counters that differ only by name are declared
# from the lists above rather than written out one by one.
DELIVERY_STATS_TABLE = Table(
    "delivery_stats", SQLModel.metadata,
    Column("tenant_id", String(40), nullable=False),
    Column("grain", String(16), nullable=False),
    Column("bucket", UTCDateTime(), nullable=False),
    Column("account_id", String(40), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("country", String(2), nullable=False),
    Column("carrier", String(40), nullable=False),
    Column("template", String(200), nullable=False),
    Column("reason_class", String(40), nullable=False),
    # int4, not bigint: PostgreSQL sums int4 in an int8, bigint in a slower numeric.
    *(Column(name, Integer, nullable=False, server_default="0")
      for name in DELIVERY_STATS_ADDED),
    # Its order serves every query: one tenant, one grain, a range of buckets.
    PrimaryKeyConstraint(*DELIVERY_STATS_KEY, name="pk_delivery_stats"),
)


def tenant_data_tables() -> list[Table]:
    """Return every table that holds a tenant's rows, each before those it references.

    Deleting a tenant deletes from these in this order. Read from the metadata when
    called, so that a table added later (by any package's models) is never forgotten.
    The audit trail is not among them: what was done to a tenant outlives it.
    """
    return [t for t in reversed(SQLModel.metadata.sorted_tables)
            if "tenant_id" in t.c and t.name not in (TENANT_TABLE.name, AUDIT_TABLE.name)]
