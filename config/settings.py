"""Settings of every dlrhub process, read from ``DLRHUB_*`` environment variables."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

# A fixed development key keeps `make run` a one-command start; `warn_if_insecure`
# shouts about it at every start so nobody ships it by accident.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - public on purpose


class Settings(BaseSettings):
    """Hold every setting of dlrhub; build one with ``get_settings()`` or directly in tests."""

    model_config = SettingsConfigDict(env_prefix="DLRHUB_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    broker_url: str | None = None
    admin_token: str | None = None
    secret_key: str = DEV_SECRET_KEY
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    signature_max_skew: int = Field(default=300, gt=0)
    allow_private_endpoints: bool = False
    # How long an inbox row may stay `pending` before the sweeper enqueues it again:
    # longer than a normal ingest takes, short enough that a lost message costs little.
    sweep_interval: float = Field(default=30.0, gt=0)
    sweep_grace: float = Field(default=60.0, ge=0)
    # How often each worker process records that it is alive (the system page's list).
    heartbeat_seconds: float = Field(default=30.0, gt=0)
    # An endpoint's circuit opens after this many failed attempts in a row, for a
    # cool-down of circuit_cooldown seconds that doubles each time, up to the maximum.
    circuit_threshold: int = Field(default=5, ge=1)
    circuit_cooldown: float = Field(default=5.0, gt=0)
    circuit_max_cooldown: float = Field(default=600.0, gt=0)
    # How long a relay task waits for its sends before leaving the slow ones to finish
    # in the background, so a slow endpoint never holds a worker.
    relay_patience: float = Field(default=2.0, ge=0)
    # A claimed delivery is leased for its endpoint's timeout plus this many seconds;
    # if its worker dies mid-send, the sweeper sends it again once the lease is over.
    relay_lease_slack: float = Field(default=60.0, gt=0)
    # An inbox row that failed this many ingest attempts is marked `failed`.
    ingest_max_attempts: int = Field(default=5, gt=0)
    db_pool_size: int = Field(default=10, gt=0)
    log_level: str = "INFO"
    log_json: bool = False
    api_workers: int = Field(default=2, gt=0)
    # Threads per API process that run requests once their bodies are read whole (the
    # event loop reads them): slow clients wait in the loop and never hold one.
    api_threads: int = Field(default=8, gt=0)
    # On PostgreSQL (tracing off), accepted callbacks are stored and answered in the
    # event loop, without a thread or the WSGI app (api/callback_lane.py): false sends
    # every callback through the app, as on SQLite.
    callback_lane: bool = True
    # A request's headers must arrive within header_timeout seconds of the connection
    # (or of the request's first byte on a kept-alive one) and its body within
    # body_timeout seconds of its headers: 408, and the connection is closed.
    header_timeout: float = Field(default=10.0, gt=0)
    body_timeout: float = Field(default=30.0, gt=0)
    # Bulk uploads of any length (`POST /v1/expectations/bulk`) are read as they come,
    # each holding a thread of its own pool while it lasts: at most this many at once
    # per API process (the next gets 503), each at least upload_min_rate bytes a second
    # on average once body_timeout has passed, and no gap longer than body_timeout.
    upload_threads: int = Field(default=2, gt=0)
    upload_min_rate: int = Field(default=16 * 1024, gt=0)
    # Request headers past this many bytes get 431 and the connection is closed.
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    # An idle kept-alive connection is closed after this many seconds.
    keep_alive_timeout: int = Field(default=30, gt=0)
    # The proxies (addresses or networks, comma-separated; "*" any) whose
    # X-Forwarded-For and X-Forwarded-Proto are believed: the client address an
    # account's IP allow-list checks, and the inbox keeps, is then the one the proxy
    # names. Empty (the default): the socket's peer, and those headers are ignored.
    forwarded_allow_ips: str = ""
    # Tasks wait on the database and on endpoints about half the time: 4 processes
    # keep 2 cores busy, and an ingest task need not wait for a relay task to end.
    worker_concurrency: int = Field(default=4, gt=0)
    # The Celery queues a worker consumes: "ingest" (callbacks -> receipts) and "relay"
    # (deliveries -> customers). Separate workers per queue scale them apart.
    worker_queues: str = Field(default="ingest,relay",
                               pattern=r"^(ingest|relay)(,(ingest|relay))*$")
    # The worker yields the CPU to the API where they share a machine: ingest is
    # asynchronous by design (the inbox absorbs a lag), a provider's answer is not.
    worker_nice: int = Field(default=10, ge=0, le=19)
    # In the full stack the worker serves its own /metrics here (0: not served); under
    # `dlrhub serve` its counters appear on the API's /metrics instead.
    worker_metrics_port: int = Field(default=0, ge=0)
    # How long a console sign-in lasts (console/, services/signin.py), in seconds.
    console_session_seconds: int = Field(default=12 * 3600, gt=0)
    # Wrong keys posted to the console's sign-in form, per client address and window,
    # before it answers 429 until the window has passed (services/signin_limit.py).
    console_signin_attempts: int = Field(default=10, gt=0)
    console_signin_window_seconds: int = Field(default=60, gt=0)
    # Requests a second each tenant API key may make (0: no limit), and how many seconds'
    # worth of them it may make at once; a tenant may have its own (services/ratelimit).
    # Callbacks are never limited.
    api_rate_limit: float = Field(default=100.0, ge=0)
    api_rate_burst_seconds: float = Field(default=2.0, gt=0)
    # Where to send traces (an OTLP/HTTP receiver's base URL, e.g. a collector's
    # http://127.0.0.1:4318); unset, tracing is off unless the standard OTEL_* variables
    # ask for it (config/tracing.py).
    otel_endpoint: str | None = None

    # An account whose callbacks were rejected this many times within the window (s)
    # tells its tenant once (``account.callbacks_rejected``), and again when a whole
    # window passes without one.
    callbacks_rejected_threshold: int = Field(default=10, ge=1)
    callbacks_rejected_window: float = Field(default=300.0, gt=0)
    # The operator's webhook (admin events, signed with the secret the Standard
    # Webhooks way), and the pending inbox rows past which it is told of a backlog.
    admin_webhook_url: str | None = None
    admin_webhook_secret: str | None = None
    admin_backlog_threshold: int = Field(default=10_000, ge=0)
    # A tenant whose keys were refused for their rate limit within this many seconds is
    # told to the operator's webhook (admin.tenant_rate_limited), and again once it is not.
    admin_rate_limited_window: float = Field(default=300.0, gt=0)
    # Retention (services/retention.py): how many days each kind of row is kept, unless
    # a tenant has its own period (set by the admin). Inbox bodies are the raw callbacks,
    # personal data the receipts already hold in normalized form: a month to look into
    # a disputed callback. Receipts and their timelines: half a year of history.
    # Finished deliveries and their attempts: a month to debug an endpoint. Finished
    # expectations: 90 days, three times the longest deadline or horizon one may have
    # (30 days, services/expectations/rules.py), so a receipt that comes late still
    # finds the expectation it meets instead of counting as unexpected.
    retain_inbox_days: int = Field(default=30, ge=1, le=3650)
    retain_receipts_days: int = Field(default=180, ge=1, le=3650)
    retain_deliveries_days: int = Field(default=30, ge=1, le=3650)
    retain_expectations_days: int = Field(default=90, ge=1, le=3650)
    # The beat's purge of expired rows: how often, how long one run may go on before it
    # leaves the rest to the next (so it never holds a worker for long), how many rows
    # each of its statements deletes (one short transaction each), and how it paces.
    purge_interval: float = Field(default=600.0, gt=0)
    purge_budget: float = Field(default=60.0, gt=0)
    purge_batch: int = Field(default=5000, ge=1, le=100_000)
    # After each batch the purge sleeps this many times as long as the batch took, so
    # that ingest keeps most of the database (bench/purge: ingest's share while it runs).
    purge_pause: float = Field(default=4.0, ge=0, le=100)

    @property
    def effective_database_url(self) -> str:
        """Return the database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dlrhub.sqlite3').resolve()}"

    @property
    def effective_broker_url(self) -> str:
        """Return the broker URL, defaulting to the embedded file-system broker."""
        return self.broker_url or "filesystem://"

    @property
    def embedded_broker(self) -> bool:
        """Tell whether the broker is the embedded file-system one."""
        return self.effective_broker_url.startswith("filesystem://")

    @property
    def broker_dir(self) -> Path:
        """Return the folder of the embedded broker's messages."""
        return (self.data_dir / "broker").resolve()

    @property
    def effective_public_url(self) -> str:
        """Return the base URL that providers are told to call."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def warn_if_insecure(self) -> None:
        """Log loudly when a development default would protect real secrets."""
        if self.secret_key == DEV_SECRET_KEY:
            log.warning(
                "DLRHUB_SECRET_KEY is not set: secrets at rest are encrypted with a "
                "public development key. Set DLRHUB_SECRET_KEY before real use."
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the process's settings once, from the environment."""
    return Settings()
