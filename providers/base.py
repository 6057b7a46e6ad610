"""The contract every provider adapter fulfils, and the types it exchanges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from dlrhub.core.vocabulary import EventType


class CallbackError(Exception):
    """A callback the provider sent wrong; answered with a 4xx in its own failure form."""

    http_status = 400
    kind = "invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ParseError(CallbackError):
    """The body cannot be read, or its records lack what the provider documents."""


class AuthError(CallbackError):
    """A signature is missing, wrong or stale, or a key does not match the account."""

    http_status = 401
    kind = "unauthorized"


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A provider's HTTP request as received; what adapters authenticate and parse."""

    body: bytes
    # Header names are lower-case; providers disagree on the case they send.
    headers: Mapping[str, str]
    content_type: str = ""
    method: str = "POST"
    path: str = "/"
    query: str = ""
    remote_addr: str = ""
    # The URL the provider called, as it sees it: DLRHUB_PUBLIC_URL + path + query.
    # Behind a proxy the socket's host and scheme are the proxy's, so providers that
    # sign the full URL (Twilio, Plivo, Bird) are checked against this reconstruction.
    url: str = ""

    def header(self, name: str) -> str | None:
        """Return one header's value by its case-insensitive name."""
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class Account:
    """What an adapter knows of the provider account a callback was sent to."""

    id: str
    provider: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    default_region: str | None = "CN"
    options: Mapping[str, Any] = field(default_factory=dict)
    # The account's callback URL without a query; what a simulated callback is sent to
    # and, for providers that sign the URL they call, what it is signed over.
    callback_url: str = ""


@dataclass(frozen=True, slots=True)
class Record:
    """One provider record pulled out of a callback body, structure checked."""

    kind: Literal["status", "inbound"]
    data: Mapping[str, Any]


@dataclass(slots=True)
class Event:
    """One normalized receipt or inbound message (DESIGN §3), before it gets its ids."""

    type: EventType
    # A ReceiptStatus value; a plain string, as the adapters' mapping tables give it
    # (services.storable refuses any other).
    status: str
    message_id: str | None = None
    reference: str | None = None
    phone: str | None = None
    provider_status: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    segments: int | None = None
    price: str | None = None
    submitted_at: datetime | None = None
    reported_at: datetime | None = None
    text: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    # Tells apart records that share the dedupe fields but are not the same record
    # (Huawei reports every part of a long SMS with the same id and status).
    part: str | None = None
    # The provider's own order of its reports on one message (Plivo ``Sequence``): where
    # two reports of a message both have one, it decides which came later.
    sequence: int | None = None
    # The provider's own id of this report, the same on each retry of it and covered by
    # its signature (Telnyx ``data.id``, SNS ``MessageId``): the report is stored once per
    # id rather than once per content (``services.ingest.dedupe_key``). An id outside
    # the signature (Twilio's idempotency header) must not be one: a replay could pick
    # a new one.
    report_id: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer a provider expects: status, body and its content type."""

    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """A provider's subscription of the callback URL, as one of its callbacks changes it.

    AWS SNS subscribes the URL to a topic, asks for a confirmation, and says when it was
    unsubscribed; the account shows each topic's subscription (services/subscriptions.py).
    """

    # The provider's name of what the URL is subscribed to (an SNS topic ARN).
    topic: str
    status: Literal["confirmed", "unsubscribed"]
    # The provider's id of the subscription, where its confirmation answer gives one.
    subscription_id: str | None = None


@dataclass(frozen=True, slots=True)
class SimulatedCallback:
    """A realistic callback built by an adapter for demos, tests and load."""

    body: bytes
    headers: Mapping[str, str]
    content_type: str
    records: int
    # A provider that reports by GET sends an empty body and its record in the query.
    method: str = "POST"
    query: str = ""


@dataclass(frozen=True, slots=True)
class PlannedReport:
    """One status report a scenario wants an adapter to render in its provider's form.

    ``code`` is the failure code the provider reports (None for a delivered message:
    the adapter writes its own success word); ``status`` is what dlrhub must read back.
    A provider that reports every part of a long SMS gets one report per ``part``
    (1-based, of ``segments``); the others get one report with ``segments``.
    """

    message_id: str
    phone: str  # E.164
    status: str
    code: str | None
    submitted_at: datetime
    reported_at: datetime
    segments: int = 1
    part: int | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """A per-account setting for a provider behaviour our sources only guess at."""

    default: Any
    choices: tuple[Any, ...]
    help: str


class Adapter:
    """Defaults most adapters share: a mainland-China provider that does not sign.

    Such a provider is authenticated by the secret token of its callback URL and the
    account's optional IP allow-list, both checked before the adapter is asked.
    """

    content_types: frozenset[str] = frozenset({"application/json"})
    # HTTP methods the provider calls with; a GET carries its record in the query.
    methods: frozenset[str] = frozenset({"POST"})
    required_credentials: tuple[str, ...] = ()
    optional_credentials: tuple[str, ...] = ()
    default_timezone = "Asia/Shanghai"
    default_region: str | None = "CN"
    options: Mapping[str, Option] = {}
    # Records one simulated callback may carry (None: any number).
    batch_limit: int | None = None
    # The provider's own failure codes, for one that does not pass the carrier's code
    # through (None: it does, so a simulated failure carries a carrier's code).
    failure_codes: tuple[str, ...] | None = None
    # Whether it reports each part of a long SMS in a report of its own, and whether
    # its reports say how many segments a message took.
    reports_parts = False
    reports_segments = True
    # Whether its status reports name the phone (a gateway's DLR may carry only ids).
    reports_phone = True
    # Credentials the simulator signs with where a real account's cannot be used to sign
    # (Telnyx: only Telnyx holds the private key); empty where the account's serve.
    simulation_credentials: Mapping[str, str] = {}

    def failure_status(self, code: str) -> str:
        """Return the status this provider's failure report with ``code`` reads as."""
        return "failed"

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Accept: the provider does not sign; the token and allow-list are the check."""

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Judge a re-posted callback's answer as the provider would (here: any 2xx)."""
        return 200 <= status < 300

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer ``OK`` in plain text (the provider reads only the status), or the reason.

        For the many providers that take any 2xx; one that checks the body overrides it.
        """
        body = "OK" if ok else (reason or "error")
        return Answer(status=200 if ok else status, body=body.encode(),
                      content_type="text/plain; charset=utf-8")

    def setup(self, callback_url: str) -> Mapping[str, str]:
        """Return what else a tenant pastes at the provider, by name (here: nothing)."""
        return {}

    def handshake_url(self, request: CallbackRequest) -> str | None:
        """Return the URL to GET to confirm a subscription this callback asks for (none)."""
        return None

    def subscription_change(self, request: CallbackRequest,
                            confirmed: bytes | None) -> SubscriptionChange | None:
        """Return how this callback changes the URL's subscription (here: never).

        ``confirmed`` is what the provider answered when dlrhub visited
        ``handshake_url``, None where it did not visit one.
        """
        return None

    def retryable(self, raw: Mapping[str, Any]) -> bool | None:
        """Return the provider's own word on whether sending a failure again may help.

        ``raw`` is a stored status report's record. None (here: always) leaves it to the
        reason class; a provider that flags its errors permanent or temporary (Infobip)
        says so, and its word wins over the class's, though not over an account's
        ``reason_overrides``.
        """
        return None


class Provider(Protocol):
    """The contract of a provider adapter; one module per provider implements it."""

    name: str
    title: str
    # Media types (lower-case, without parameters) the provider posts.
    content_types: frozenset[str]
    methods: frozenset[str]
    required_credentials: tuple[str, ...]
    optional_credentials: tuple[str, ...]
    default_timezone: str
    default_region: str | None
    options: Mapping[str, Option]
    batch_limit: int | None
    failure_codes: tuple[str, ...] | None
    reports_parts: bool
    reports_segments: bool
    reports_phone: bool
    simulation_credentials: Mapping[str, str]

    def failure_status(self, code: str) -> str:
        """Return the status a failure report carrying ``code`` reads as."""
        ...

    def authenticate(self, request: CallbackRequest, account: Account, now: datetime,
                     max_skew: int) -> None:
        """Raise ``AuthError`` unless the request is signed as the account's provider signs."""
        ...

    def extract(self, request: CallbackRequest, account: Account) -> list[Record]:
        """Return the callback's records, or raise ``ParseError`` naming what is wrong."""
        ...

    def normalize(self, record: Record, account: Account) -> Event:
        """Turn one record into the event shape; raise ``ParseError`` on a bad value."""
        ...

    def answer(self, request: CallbackRequest, account: Account | None, *, ok: bool,
               status: int = 200, reason: str = "") -> Answer:
        """Answer in the provider's own success or failure form."""
        ...

    def retryable(self, raw: Mapping[str, Any]) -> bool | None:
        """Return the provider's own word on whether a failure is worth sending again."""
        ...

    def subscription_change(self, request: CallbackRequest,
                            confirmed: bytes | None) -> SubscriptionChange | None:
        """Return how this callback changes the URL's subscription, if it does."""
        ...

    def simulate(self, account: Account, *, count: int, seq: int, now: datetime,
                 kind: str = "status",
                 reports: Sequence[PlannedReport] | None = None) -> SimulatedCallback:
        """Build a realistic, correctly signed callback carrying ``count`` records.

        With ``reports`` (status only) it carries those instead, in the provider's own
        fields, so that each normalizes back to its status, code, phone and times.
        """
        ...

    def accepts_answer(self, status: int, body: bytes) -> bool:
        """Judge an answer to this provider's callback as the provider itself would."""
        ...

    def handshake_url(self, request: CallbackRequest) -> str | None:
        """Return the URL dlrhub must GET to confirm a subscription (AWS SNS), or None.

        Asked only of an authenticated callback, once it is in the inbox.
        """
        ...

    def setup(self, callback_url: str) -> Mapping[str, str]:
        """Return values to paste at the provider beyond the callback URL, by name.

        A gateway whose callback URL is set per message with escapes (Kannel's
        ``dlr-url``) gets its template here, built on the account's ``callback_url``.
        """
        ...
