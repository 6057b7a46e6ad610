"""The console benchmark of dlrhub; run it as ``bench/console`` (see bench/README.md).

It builds, on PostgreSQL, one tenant's 30 days up to now (1,000,000 receipts by default,
with their message rows, the delivery aggregate, raw callbacks, expectations,
endpoints with deliveries and attempts, alert rules) beside a few other tenants', by
COPY, then serves dlrhub's real Falcon app in this process, signs in through
``/console/login`` as the tenant and as the admin, and times each console page of
``PAGES`` (p50/p95/max) against the target: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import os
import platform
import random
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from analytics_bench import ACCOUNTS, hour_of_messages, hourly_counts
from ingest_bench import BENCH, PROTECTED_DATABASES, pg_url, wait_quiet
from runs import in_venv, run_bench, write_report

TARGET_MS = 100.0
# Secrets at rest in the bench database are sealed with this key, so that --reuse can
# read them again. A bench database holds no real secret.
BENCH_SECRET_KEY = "dlrhub-console-bench-key-not-a-secret-0123456789"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


# --- the pages -------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A console page to time: who views it, and its path (``{name}``: an id of the data
    set, see ``Bench.refs``)."""

    name: str
    role: str  # "tenant" or "admin"
    path: str


# Every page a signed-in viewer can GET. A page added to the console is one line here.
PAGES = (
    Page("overview, 24 h", "tenant", "/console/overview"),
    Page("overview, 7 days", "tenant", "/console/overview?range=7d"),
    Page("receipts, first page", "tenant", "/console/receipts"),
    Page("receipts, status=failed & provider=huawei", "tenant",
         "/console/receipts?status=failed&provider=huawei"),
    Page("receipts, reason_class=blacklisted", "tenant",
         "/console/receipts?reason_class=blacklisted"),
    Page("receipts, status=expired & provider=ucloud (rare)", "tenant",
         "/console/receipts?status=expired&provider=ucloud"),
    Page("receipts, type=sms.inbound (none)", "tenant", "/console/receipts?type=sms.inbound"),
    Page("receipts, one phone", "tenant", "/console/receipts?phone={phone}"),
    Page("receipts, one day (since/until)", "tenant",
         "/console/receipts?since={day_since}&until={day_until}"),
    Page("receipts, half-way deep (cursor)", "tenant", "/console/receipts?after={deep}"),
    Page("receipts, status=failed, deep (cursor)", "tenant",
         "/console/receipts?status=failed&after={deep_failed}"),
    Page("message", "tenant", "/console/messages/{message_id}"),
    Page("accounts", "tenant", "/console/accounts"),
    Page("account", "tenant", "/console/accounts/{account_id}"),
    Page("refused callback", "tenant", "/console/accounts/{account_id}/callbacks/{inbox_id}"),
    Page("new account", "tenant", "/console/accounts/new"),
    Page("endpoints", "tenant", "/console/endpoints"),
    Page("endpoint", "tenant", "/console/endpoints/{endpoint_id}"),
    Page("new endpoint", "tenant", "/console/endpoints/new"),
    Page("deliveries", "tenant", "/console/deliveries"),
    Page("deliveries, one endpoint", "tenant", "/console/deliveries?endpoint_id={endpoint_id}"),
    Page("deliveries, status=dead", "tenant", "/console/deliveries?status=dead"),
    Page("delivery", "tenant", "/console/deliveries/{delivery_id}"),
    Page("analytics, 24 h", "tenant", "/console/analytics"),
    Page("analytics, 7 days by carrier", "tenant",
         "/console/analytics?since={week_since}&until={day_until}&group_by=carrier"),
    Page("analytics, 30 days by day and reason class", "tenant",
         "/console/analytics?since={month_since}&until={day_until}&group_by=day,reason_class"),
    Page("expectations", "tenant", "/console/expectations"),
    Page("expectations, missing", "tenant", "/console/expectations?state=missing"),
    Page("alert rules", "tenant", "/console/alerts"),
    Page("alert rule", "tenant", "/console/alerts/{rule_id}"),
    Page("tenants (admin)", "admin", "/console/tenants"),
    Page("tenant (admin)", "admin", "/console/tenants/{tenant_id}"),
    Page("system (admin)", "admin", "/console/system"),
)


# --- command line ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(
        prog="bench/console", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Build one tenant's 30 days of receipts (and a few other tenants') on\n"
            "PostgreSQL, then time every console page through dlrhub's Falcon app in this\n"
            "process. Target: p95 < 100 ms with 1,000,000 receipts. See bench/README.md."),
        epilog="It DROPS and recreates the database --database (unless --reuse finds the "
               "data set there). Results: a Markdown report on stdout and in bench/results/.")
    p.add_argument("--receipts", type=int, default=1_000_000,
                   help="receipts of the tenant over the range (default 1,000,000)")
    p.add_argument("--days", type=int, default=30, help="days of data up to now (default 30)")
    p.add_argument("--others", type=int, default=3,
                   help="other tenants, each with --other-receipts (default 3)")
    p.add_argument("--other-receipts", type=int, default=50_000,
                   help="receipts of each other tenant (default 50,000)")
    p.add_argument("--deliveries", type=int, default=200_000,
                   help="the tenant's deliveries to its endpoints (default 200,000)")
    p.add_argument("--requests", type=int, default=20,
                   help="measured requests per page (default 20)")
    p.add_argument("--warmup", type=int, default=3,
                   help="unmeasured requests per page first (default 3)")
    p.add_argument("--seed", type=int, default=20, help="random seed of the data set")
    p.add_argument("--reuse", action="store_true",
                   help="keep the database if it holds the data set of these options, "
                        "built less than --max-age hours ago, instead of rebuilding it")
    p.add_argument("--max-age", type=float, default=12,
                   help="hours after which --reuse rebuilds anyway: the data ends when it "
                        "was built, and the overview shows the last 24 h (default 12)")
    p.add_argument("--only", default="",
                   help="time only the pages whose name contains this text")
    p.add_argument("--quiet-busy", type=float, default=0.15,
                   help="before measuring, wait until the machine is at most this busy "
                        "(default 0.15)")
    p.add_argument("--quiet-wait", type=float, default=60,
                   help="longest wait for that, seconds (default 60)")
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432",
                   help="PostgreSQL server, as a URL without database "
                        "(default postgresql://postgres@127.0.0.1:5432)")
    p.add_argument("--database", default="dlrhub_bench_console",
                   help="database to DROP, create and use (default dlrhub_bench_console)")
    p.add_argument("--results", type=Path, default=BENCH / "results",
                   help="folder of the Markdown result files (default bench/results)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    args = p.parse_args(argv)
    if args.database in PROTECTED_DATABASES:
        p.error(f"--database {args.database} is protected")
    for name in ("receipts", "days", "requests", "deliveries"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


# --- the data set ----------------------------------------------------------------------

RECEIPT_COLUMNS = (
    "id", "tenant_id", "account_id", "inbox_id", "type", "provider", "message_id", "phone",
    "status", "provider_status", "error_code", "submitted_at", "reported_at", "received_at",
    "raw", "dedupe_key", "reason_class", "retryable", "country", "carrier", "synthetic")
MESSAGE_COLUMNS = (
    "id", "tenant_id", "account_id", "provider", "message_id", "phone", "status", "final",
    "provider_status", "reason_class", "retryable", "submitted_at", "reported_at",
    "received_at", "handset_latency_ms", "receipt_lag_ms", "out_of_order", "corrected",
    "status_receipt_id", "first_receipt_id", "last_receipt_id", "created_at", "updated_at")
INBOX_COLUMNS = (
    "id", "tenant_id", "account_id", "provider", "received_at", "remote_addr", "method",
    "path", "query", "content_type", "headers", "body", "state", "reason", "attempts",
    "receipts", "processed_at")
EXPECTATION_COLUMNS = (
    "id", "tenant_id", "account_id", "provider", "message_id", "phone", "phone_key",
    "sent_at", "deadline_at", "horizon_at", "template", "state", "missing_at", "met_at",
    "receipt_id", "created_at")
DELIVERY_COLUMNS = (
    "id", "tenant_id", "endpoint_id", "event_ids", "status", "attempts", "next_attempt_at",
    "last_error", "last_status_code", "created_at", "updated_at")
ATTEMPT_COLUMNS = ("id", "delivery_id", "tenant_id", "at", "status_code", "latency_ms",
                   "error", "response_excerpt")
PROVIDER_STATUS = {"delivered": "DELIVRD", "pending": "ACCEPTD", "failed": "UNDELIV",
                   "rejected": "REJECTD", "expired": "EXPIRED", "unknown": "UNKNOWN"}
RETRYABLE = {"unreachable_powered_off": True, "network_error": True, "rate_limited": True,
             "expired": True, "invalid_number": False, "blacklisted": False,
             "content_blocked": False}
# (status, attempts, last status code, share): most deliveries succeed at once.
DELIVERY_OUTCOMES = (("succeeded", 1, 200, 0.95), ("succeeded", 2, 200, 0.03),
                     ("failed", 1, 410, 0.005), ("dead", 5, 503, 0.015))
REFUSED_PER_ACCOUNT = 100
RECEIPTS_PER_CALLBACK = 10
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_CHAR = bytes(_ALPHABET[b & 31].encode()[0] for b in range(256))


def id_at(prefix: str, moment: datetime) -> str:
    """Return an id as dlrhub makes them (``models.ids.new_id``), made at ``moment``."""
    from dlrhub.models.ids import time_part

    millis = int(moment.timestamp() * 1000)
    return f"{prefix}_{time_part(millis)}{os.urandom(16).translate(_RANDOM_CHAR).decode()}"


@dataclass
class Day:
    """One day's rows, COPY'd together."""

    receipts: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    inbox: list[tuple[Any, ...]] = field(default_factory=list)
    expectations: list[tuple[Any, ...]] = field(default_factory=list)
    deliveries: list[tuple[Any, ...]] = field(default_factory=list)
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    facts: list[tuple[None, Any]] = field(default_factory=list)
    expected: list[tuple[None, Any]] = field(default_factory=list)


@dataclass
class TenantPlan:
    """A tenant to build: its accounts (id, provider) and endpoints, and how much."""

    tenant_id: str
    tag: str
    accounts: list[tuple[str, str]]
    endpoints: list[str]
    receipts: int
    deliveries: int


class Builder:
    """Writes a tenant's rows hour by hour: receipts, messages, inbox, expectations,
    deliveries and attempts by COPY; the aggregate through ``record_messages`` and
    ``record_expectations``, as ingest keeps it."""

    def __init__(self, conn: Any, session: Any, rng: random.Random, start: datetime,
                 end: datetime, say: Any) -> None:
        self.conn = conn
        self.session = session
        self.rng = rng
        self.start = start
        self.end = end
        self.say = say
        self.counts = {"receipts": 0, "messages": 0, "inbox": 0, "expectations": 0,
                       "deliveries": 0, "attempts": 0}

    def tenant(self, plan: TenantPlan, days: int) -> None:
        """Write one tenant's data over ``days`` days ending at ``self.end``."""
        from dlrhub.services.analytics import record_expectations, record_messages

        provider_of = dict(plan.accounts)
        account_ids = [a for a, _ in plan.accounts]
        # Which receipts get a delivery: every k-th, to the endpoints in turn.
        every = max(plan.receipts // plan.deliveries, 1) if plan.deliveries else 0
        seq = expectations = 0
        day = Day()
        counts = hourly_counts(plan.receipts, days)
        for h, n in enumerate(counts):
            hour = self.start + timedelta(hours=h)
            drawn = account_ids + [f"absent{i}" for i in range(len(ACCOUNTS) - len(account_ids))]
            facts, expected = hour_of_messages(self.rng, plan.tenant_id, drawn, hour, n)
            # hour_of_messages draws accounts by ACCOUNTS' shares: with fewer accounts,
            # fold the draw onto those there are.
            facts = [(None, f._replace(account_id=account_ids[i % len(account_ids)],
                                       provider=provider_of[account_ids[i % len(account_ids)]]))
                     if f.account_id not in provider_of else (None, f)
                     for i, (_, f) in enumerate(facts)]
            expected = [x for x in expected if x[1].account_id in provider_of]
            callbacks: dict[str, tuple[str, int]] = {}
            receipt_of: dict[int, tuple[str, datetime]] = {}
            for i, (_, f) in enumerate(facts):
                seq += 1
                rid, received = self._message(day, plan, f, seq, callbacks)
                receipt_of[i] = (rid, received)
                if every and seq % every == 0 and plan.endpoints:
                    self._delivery(day, plan, plan.endpoints[(seq // every) % len(
                        plan.endpoints)], rid, received)
            for _, e in expected:
                expectations += 1
                day.expected.append((None, self._expectation(day, plan, e, expectations)))
            day.facts += facts
            if h % 24 == 23 or h == len(counts) - 1:
                # A day at a time: ingest's batches are smaller, but the aggregate's rows
                # come out the same, and the build waits on 30 commits instead of 720.
                record_messages(self.session, day.facts)
                record_expectations(self.session, day.expected)
                self.session.commit()
                self._flush(day)
                day = Day()
        self._refused(plan)

    def _message(self, day: Day, plan: TenantPlan, f: Any, seq: int,
                 callbacks: dict[str, tuple[str, int]]) -> tuple[str, datetime]:
        anchor: datetime = f.anchor_at
        status = str(f.status)
        if f.handset_latency_s is not None:
            submitted: datetime | None = anchor
            reported = anchor + timedelta(seconds=f.handset_latency_s)
        else:
            submitted, reported = None, anchor
        received = reported + timedelta(seconds=f.receipt_lag_s or 0.5)
        received = min(received, self.end)
        reason = str(f.reason_class) if f.reason_class else None
        retryable = RETRYABLE.get(reason) if reason else None
        phone = f"+86138{self.rng.randrange(10**8):08d}"
        message_id = f"{plan.tag}{seq:09d}"
        # Receipts of an account come RECEIPTS_PER_CALLBACK to a raw callback.
        inbox_id, used = callbacks.get(f.account_id, ("", RECEIPTS_PER_CALLBACK))
        if used >= RECEIPTS_PER_CALLBACK:
            inbox_id = id_at("inb", received)
            day.inbox.append((
                inbox_id, plan.tenant_id, f.account_id, f.provider, received, "127.0.0.1",
                "POST", f"/v1/callbacks/{f.provider}/…", "", "application/json", "{}",
                b'[{"sid": "' + message_id.encode() + b'", "report_status": "SUCCESS"}]',
                "processed", None, 1, RECEIPTS_PER_CALLBACK, received))
            used = 0
        callbacks[f.account_id] = (inbox_id, used + 1)
        rid = id_at("evt", received)
        provider_status = PROVIDER_STATUS[status]
        raw = (f'{{"sid": "{message_id}", "mobile": "{phone[3:]}", '
               f'"report_status": "{provider_status}"}}')
        dedupe = hashlib.sha256(rid.encode()).hexdigest()
        day.receipts.append((
            rid, plan.tenant_id, f.account_id, inbox_id, "sms.status", f.provider, message_id,
            phone, status, provider_status, reason and reason.upper()[:20], submitted,
            reported, received, raw, dedupe, reason, retryable, f.country, f.carrier, False))
        handset = (int(f.handset_latency_s * 1000) if f.handset_latency_s is not None
                   else None)
        lag = int(f.receipt_lag_s * 1000) if f.receipt_lag_s is not None else None
        day.messages.append((
            id_at("msg", received), plan.tenant_id, f.account_id, f.provider, message_id,
            phone, status, bool(f.final), provider_status, reason, retryable, submitted,
            reported, received, handset, lag, 0, False, rid, rid, rid, received, received))
        return rid, received

    def _expectation(self, day: Day, plan: TenantPlan, e: Any, j: int) -> Any:
        """Add an expectation's row; return its facts (not missing before its deadline)."""
        sent: datetime = e.anchor_at
        state = "missing" if e.missing else "met"
        deadline = sent + timedelta(minutes=30)
        if deadline > self.end:
            state = "pending"
            e = dataclasses.replace(e, missing=False)
        day.expectations.append((
            id_at("exp", sent), plan.tenant_id, e.account_id, e.provider,
            f"{plan.tag}x{j:09d}", None, "", sent, deadline,
            sent + timedelta(days=1), e.template, state,
            deadline if state == "missing" else None,
            deadline - timedelta(minutes=25) if state == "met" else None, None, sent))
        return e

    def _delivery(self, day: Day, plan: TenantPlan, endpoint_id: str, receipt_id: str,
                  received: datetime) -> None:
        status, attempts, code, _ = self.rng.choices(
            DELIVERY_OUTCOMES, [w for *_, w in DELIVERY_OUTCOMES])[0]
        created = received + timedelta(milliseconds=30)
        did = id_at("dlv", created)
        at = created
        for n in range(attempts):
            last = n == attempts - 1
            answer = code if last else 503
            at = created + timedelta(seconds=30 * n * n)
            day.attempts.append((
                id_at("att", at), did, plan.tenant_id, at, answer,
                round(self.rng.lognormvariate(3.5, 0.6), 1),
                None if answer == 200 else f"HTTP {answer}",
                '{"ok": true}' if answer == 200 else "Service Unavailable"))
        day.deliveries.append((
            did, plan.tenant_id, endpoint_id, f'["{receipt_id}"]', status, attempts, None,
            None if code == 200 else f"HTTP {code}", code, created, at))

    def _refused(self, plan: TenantPlan) -> None:
        """Add each account's refused callbacks, spread over the range."""
        rows = []
        span = (self.end - self.start).total_seconds()
        for account_id, provider in plan.accounts:
            for _ in range(REFUSED_PER_ACCOUNT):
                at = self.start + timedelta(seconds=self.rng.random() * span)
                rows.append((
                    id_at("inb", at), plan.tenant_id, account_id, provider, at, "203.0.113.9",
                    "POST", f"/v1/callbacks/{provider}/…", "", "application/json", "{}",
                    b'[{"broken', "rejected", "body: not JSON (line 1 column 3)", 1, 0, at))
        self._copy("inbound_callback", INBOX_COLUMNS, rows)
        self.conn.commit()

    def _flush(self, day: Day) -> None:
        self._copy("inbound_callback", INBOX_COLUMNS, day.inbox)
        self._copy("receipt", RECEIPT_COLUMNS, day.receipts)
        self._copy("message", MESSAGE_COLUMNS, day.messages)
        self._copy("expectation", EXPECTATION_COLUMNS, day.expectations)
        self._copy("delivery", DELIVERY_COLUMNS, day.deliveries)
        self._copy("attempt", ATTEMPT_COLUMNS, day.attempts)
        self.conn.commit()
        self.counts["receipts"] += len(day.receipts)
        self.counts["messages"] += len(day.messages)
        self.counts["inbox"] += len(day.inbox)
        self.counts["expectations"] += len(day.expectations)
        self.counts["deliveries"] += len(day.deliveries)
        self.counts["attempts"] += len(day.attempts)

    def _copy(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        with self.conn.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


# --- the run ---------------------------------------------------------------------------


@dataclass
class Timing:
    """One page's measured times."""

    page: Page
    url: str
    ms: list[float] = field(default_factory=list)
    size: int = 0

    def pct(self, q: float) -> float:
        """Return the q quantile (nearest rank), in ms."""
        ordered = sorted(self.ms)
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


class Viewer:
    """A signed-in browser on a falcon test client: keeps its cookies."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _keep(self, result: Any) -> Any:
        for name, cookie in result.cookies.items():
            if cookie.value:
                self.cookies[name] = cookie.value
        return result

    def get(self, url: str) -> Any:
        """GET ``url`` (path and query) as this viewer."""
        parts = urlsplit(url)
        return self._keep(self.client.simulate_get(parts.path, query_string=parts.query,
                                                   headers=self._headers()))

    def sign_in(self, key: str) -> None:
        """Sign in through the form, as a person would."""
        form = self.get("/console/login")
        found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text)
        if found is None:
            raise RuntimeError("the sign-in form has no CSRF token")
        result = self._keep(self.client.simulate_post(
            "/console/login", body=urlencode({"key": key, "csrf_token": found.group(1)}),
            headers={**self._headers(), **FORM}))
        if result.status_code != 303:
            raise RuntimeError(f"signing in answered {result.status}")


class Bench:
    """One run: the data set, the app, the measurements."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.url = pg_url(args, args.database, "psycopg")
        self.notes: list[str] = []
        self.build_seconds = 0.0
        self.built = False
        self.built_at: datetime | None = None
        self.table: dict[str, tuple[int, int]] = {}
        self.tenants = 0
        self.refs: dict[str, str] = {}
        self.timings: list[Timing] = []
        self.admin_token = secrets.token_urlsafe(24)
        self.runtime: Any = None

    def say(self, message: str) -> None:
        """Print progress to stderr."""
        print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)

    def _signature(self) -> str:
        a = self.args
        return (f"console bench: receipts={a.receipts} days={a.days} others={a.others}x"
                f"{a.other_receipts} deliveries={a.deliveries} seed={a.seed}")

    def _settings(self) -> Any:
        from dlrhub.config import Settings

        return Settings(database_url=self.url, secret_key=BENCH_SECRET_KEY,
                        admin_token=self.admin_token, data_dir=self.work / "data",
                        log_level="WARNING")

    @contextmanager
    def _raw(self, database: str | None = None) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(pg_url(self.args, database or self.args.database),
                             autocommit=True) as conn:
            yield conn

    def prepare(self) -> None:
        """Recreate the database and build the data set, unless --reuse finds it built."""
        import psycopg
        from psycopg import sql

        if self.args.reuse:
            try:
                with self._raw() as conn:
                    row = conn.execute("SELECT created_at FROM tenant WHERE name = %s",
                                       (self._signature(),)).fetchone()
            except psycopg.Error:
                row = None
            if row is not None:
                age = datetime.now(UTC) - row[0]
                if age < timedelta(hours=self.args.max_age):
                    self.say(f"reusing the data set in {self.args.database}, built "
                             f"{age.total_seconds() / 3600:.1f} h ago")
                    self.built_at = row[0]
                    return
                self.say(f"the data set is {age} old: building it again")
        with self._raw("postgres") as conn:
            name = sql.Identifier(self.args.database)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
        self.say("migrating")
        from dlrhub.models.migrate import upgrade

        upgrade(self.url)
        self.build()

    def build(self) -> None:
        """Make the tenants, accounts, endpoints and rules through the services, then
        COPY each tenant's days of rows."""
        import psycopg

        from dlrhub.services.runtime import Runtime

        rng = random.Random(self.args.seed)
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        start = end - timedelta(days=self.args.days)
        t0 = time.monotonic()
        rt = Runtime.build(self._settings())
        try:
            plans = self._setup(rt)
            with rt.sessions() as session, psycopg.connect(
                    pg_url(self.args, self.args.database)) as conn:
                builder = Builder(conn, session, rng, start, end, self.say)
                for plan in plans:
                    self.say(f"building {plan.tag}: {plan.receipts:,} receipts")
                    builder.tenant(plan, self.args.days)
                    self.say(f"… {builder.counts} in {time.monotonic() - t0:.0f} s")
        finally:
            rt.close()
        self.say("VACUUM ANALYZE")
        with self._raw() as conn:
            conn.execute("VACUUM ANALYZE")
        self.build_seconds = time.monotonic() - t0
        self.built = True
        self.built_at = end

    def _setup(self, rt: Any) -> list[TenantPlan]:
        from dlrhub.core.vocabulary import AlertKind, ReasonClass
        from dlrhub.models import AccountCreate, AlertRuleCreate, EndpointCreate
        from dlrhub.models.alert import AlertScope
        from dlrhub.services import accounts, endpoints, tenancy
        from dlrhub.services.alerts.rules import create_rule

        a = self.args
        plans = []
        with rt.sessions() as session:
            main = tenancy.create_tenant(session, name=self._signature())
            tenants = [(main.id, "m", a.receipts, a.deliveries, ACCOUNTS, 3)]
            for i in range(a.others):
                other = tenancy.create_tenant(session, name=f"console bench other {i + 1}")
                tenants.append((other.id, f"o{i + 1}", a.other_receipts,
                                a.other_receipts // 10, ACCOUNTS[:2], 1))
            for tenant_id, tag, receipts, deliveries, providers, n_endpoints in tenants:
                made = [accounts.create_account(session, rt.box, tenant_id=tenant_id,
                                                spec=AccountCreate(provider=p, name=f"{p} main"))
                        for p, *_ in providers]
                ids = [(m.account.id, m.account.provider) for m in made]
                eps = [endpoints.create_endpoint(
                    session, rt.box, tenant_id=tenant_id, allow_private=True,
                    spec=EndpointCreate(url=f"https://127.0.0.1:9/dlr/{tag}/{k}",
                                        description=f"customer hook {k + 1}"))[0].id
                    for k in range(n_endpoints)]
                plans.append(TenantPlan(tenant_id, tag, ids, eps, receipts, deliveries))
            # The main tenant also has a disabled endpoint and a few alert rules.
            endpoints.create_endpoint(session, rt.box, tenant_id=main.id, allow_private=True,
                                      spec=EndpointCreate(url="https://127.0.0.1:9/old",
                                                          description="old", enabled=False))
            first = plans[0].accounts[0][0]
            for spec in (
                    AlertRuleCreate(kind=AlertKind.delivery_rate_below, threshold=0.9,
                                    window_seconds=3600, min_messages=100),
                    AlertRuleCreate(kind=AlertKind.reason_share_above, threshold=0.3,
                                    reason_class=ReasonClass.invalid_number,
                                    window_seconds=3600, min_messages=20),
                    AlertRuleCreate(kind=AlertKind.missing_share_above, threshold=0.01,
                                    window_seconds=6 * 3600, min_messages=100),
                    AlertRuleCreate(kind=AlertKind.no_receipts_for, window_seconds=900,
                                    scope=AlertScope(account_id=first))):
                create_rule(session, tenant_id=main.id, spec=spec)
            session.commit()
        return plans

    def find_refs(self) -> None:
        """Read the ids the pages' paths name, and the data set's size."""
        from psycopg import sql

        from dlrhub.services.pagination import encode_cursor

        with self._raw() as conn:
            def one(query: Any, *params: Any) -> Any:
                row = conn.execute(query, params).fetchone()
                if row is None:
                    raise RuntimeError(f"the data set has no row for: {query}")
                return row

            tenant_id = one("SELECT id FROM tenant WHERE name = %s", self._signature())[0]
            self.tenant_id = tenant_id
            half = one("SELECT count(*) FROM receipt WHERE tenant_id = %s", tenant_id)[0] // 2
            stamp, rid = one("SELECT received_at, id FROM receipt WHERE tenant_id = %s "
                             "ORDER BY received_at DESC, id DESC OFFSET %s LIMIT 1",
                             tenant_id, half)
            stamp = stamp.astimezone(UTC)
            self.refs["deep"] = encode_cursor(stamp.isoformat(), rid)
            fstamp, fid = one("SELECT received_at, id FROM receipt WHERE tenant_id = %s AND "
                              "status = 'failed' AND received_at <= %s "
                              "ORDER BY received_at DESC, id DESC LIMIT 1",
                              tenant_id, stamp)
            self.refs["deep_failed"] = encode_cursor(fstamp.astimezone(UTC).isoformat(), fid)
            message_id, phone = one("SELECT message_id, phone FROM receipt WHERE id = %s", rid)
            self.refs |= {"message_id": message_id, "phone": phone}
            day = stamp.replace(hour=0, minute=0, second=0, microsecond=0)
            self.refs["day_since"] = f"{day:%Y-%m-%dT%H:%M}"
            self.refs["day_until"] = f"{day + timedelta(days=1):%Y-%m-%dT%H:%M}"
            self.refs["week_since"] = f"{day - timedelta(days=6):%Y-%m-%dT%H:%M}"
            self.refs["month_since"] = f"{day - timedelta(days=29):%Y-%m-%dT%H:%M}"
            self.refs["tenant_id"] = tenant_id
            self.refs["rule_id"] = one("SELECT id FROM alert_rule WHERE tenant_id = %s "
                                       "ORDER BY id LIMIT 1", tenant_id)[0]
            account_id, inbox_id = one(
                "SELECT i.account_id, i.id FROM inbound_callback i JOIN provider_account a "
                "ON a.id = i.account_id WHERE i.tenant_id = %s AND i.state = 'rejected' "
                "AND a.provider = %s ORDER BY i.received_at DESC LIMIT 1",
                tenant_id, ACCOUNTS[0][0])
            self.refs |= {"account_id": account_id, "inbox_id": inbox_id}
            endpoint_id = one("SELECT endpoint_id FROM delivery WHERE tenant_id = %s "
                              "GROUP BY endpoint_id ORDER BY count(*) DESC LIMIT 1",
                              tenant_id)[0]
            delivery_id = one("SELECT id FROM delivery WHERE endpoint_id = %s AND "
                              "status = 'dead' ORDER BY id DESC LIMIT 1", endpoint_id)[0]
            self.refs |= {"endpoint_id": endpoint_id, "delivery_id": delivery_id}
            for table in ("receipt", "message", "delivery", "attempt", "inbound_callback",
                          "expectation", "delivery_stats"):
                name = sql.Identifier(table)
                self.table[table] = (
                    one(sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(name),
                        tenant_id)[0],
                    one(sql.SQL("SELECT count(*) FROM {}").format(name))[0])
            self.tenants = one("SELECT count(*) FROM tenant")[0]

    def _key(self) -> str:
        from dlrhub.services.keys import create_key

        with self.runtime.sessions() as session:
            key = create_key(session, tenant_id=self.tenant_id, name="console bench").key
            session.commit()
        return str(key)

    def measure(self) -> None:
        """Sign in as the tenant and the admin, then time every page, one at a time."""
        import falcon.testing

        from dlrhub.api.app import create_app
        from dlrhub.services.runtime import Runtime

        self.runtime = Runtime.build(self._settings())
        client = falcon.testing.TestClient(create_app(self.runtime.settings,
                                                      runtime=self.runtime))
        viewers = {"tenant": Viewer(client), "admin": Viewer(client)}
        viewers["tenant"].sign_in(self._key())
        viewers["admin"].sign_in(self.admin_token)
        pages = [p for p in PAGES if self.args.only in p.name]
        wait_quiet(self.args.quiet_wait, self.args.quiet_busy, self.notes, "pages", self.say)
        for page in pages:
            url = page.path.format(**self.refs)
            timing = Timing(page, url)
            viewer = viewers[page.role]
            for n in range(self.args.warmup + self.args.requests):
                t = time.perf_counter()
                result = viewer.get(url)
                ms = (time.perf_counter() - t) * 1000
                if result.status_code != 200:
                    raise RuntimeError(f"{page.name}: GET {url} answered {result.status}")
                if n >= self.args.warmup:
                    timing.ms.append(ms)
                    timing.size = len(result.content)
            self.timings.append(timing)
            mark = "" if timing.pct(0.95) < TARGET_MS else "  OVER"
            self.say(f"{page.name}: p50 {timing.pct(0.5):.1f} ms, p95 "
                     f"{timing.pct(0.95):.1f} ms{mark}")

    def run(self) -> None:
        """Prepare, then measure."""
        self.prepare()
        self.find_refs()
        self.measure()

    def stop(self) -> None:
        """Close the app's engine."""
        if self.runtime is not None:
            self.runtime.close()


def report(bench: Bench, started: datetime) -> str:
    """Return the run as Markdown."""
    a = bench.args
    t = bench.table
    lines = [f"# dlrhub console benchmark — {started:%Y-%m-%d %H:%M %Z}", "",
             f"Host: {platform.node()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, niceness {os.nice(0)}; PostgreSQL at "
             f"{a.postgres}, database {a.database}. The app runs in this process; a time "
             "is the wall time of one GET through falcon.testing (middleware, session "
             "check, queries, template), without HTTP parsing or the network.", ""]
    if t:
        tables = ", ".join(f"{name} {mine:,}" for name, (mine, _) in t.items())
        everyone = ", ".join(f"{name} {alls:,}" for name, (_, alls) in t.items())
        built = (f"built by COPY in {bench.build_seconds:.0f} s" if bench.built else
                 f"reused, built {bench.built_at:%Y-%m-%d %H:%M} UTC")
        lines += [f"Data set ({built}, seed {a.seed}): the tenant's {a.days} days up to "
                  f"when it was built — {tables}; all {bench.tenants} tenants — {everyone}.",
                  ""]
    lines += [f"{a.requests} measured GETs per page after {a.warmup} unmeasured, one at a "
              "time; p50/p95 nearest-rank.", "",
              "| page | role | KB | p50 ms | p95 ms | max ms | p95 < 100 ms |",
              "|---|---|---:|---:|---:|---:|---|"]
    for s in bench.timings:
        lines.append(f"| {s.page.name} | {s.page.role} | {s.size / 1024:.0f} | "
                     f"{s.pct(0.5):.1f} | {s.pct(0.95):.1f} | {max(s.ms):.1f} | "
                     f"{'yes' if s.pct(0.95) < TARGET_MS else '**NO**'} |")
    if bench.notes:
        lines += ["", "Notes:", *(f"- {n}" for n in bench.notes)]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    args = parse_args(argv)
    in_venv("console", argv)
    started = datetime.now().astimezone()
    bench, failed = run_bench("console", "dlrhub-bench-console-",
                              lambda work: Bench(args, work), keep=args.keep,
                              kept="work folder")
    if failed is not None:
        return failed
    assert isinstance(bench, Bench)
    write_report(args.results, "console", started, report(bench, started))
    return 0
