"""The analytics benchmark of dlrhub; run it as ``bench/analytics`` (see bench/README.md).

It builds, on PostgreSQL, one tenant's 30 days of messages (10,000,000 by default) in
the delivery aggregate, through ``record_messages`` and ``record_expectations`` in
batches (the code path ingest uses), then starts ``dlrhub api`` and times
``GET /v1/analytics/delivery`` through it for several groupings, one request at a time,
and reports p50/p95 per grouping against the target (p95 < 300 ms). It also times
``record_messages`` on batches of 100 message changes, the cost ingest will pay.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import random
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ingest_bench import (
    HOST,
    PROTECTED_DATABASES,
    Processes,
    add_stack_options,
    dlrhub_json,
    free_port,
    pg_url,
    stack_env,
    wait_http,
    wait_quiet,
)
from runs import BENCH, in_venv, run_bench, write_report

START = datetime(2026, 10, 1, tzinfo=UTC)
TARGET_MS = 300.0

# --- command line ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(
        prog="bench/analytics", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Build one tenant's 30 days of messages in the delivery aggregate on\n"
            "PostgreSQL, then time GET /v1/analytics/delivery through dlrhub's own server\n"
            "for several groupings. Target: p95 < 300 ms for 10,000,000 messages.\n"
            "See bench/README.md."),
        epilog="It DROPS and recreates the database --database. Results: a Markdown "
               "report on stdout and in bench/results/.")
    p.add_argument("--messages", type=int, default=10_000_000,
                   help="messages of the tenant over the range (default 10,000,000)")
    p.add_argument("--days", type=int, default=30, help="days of data (default 30)")
    p.add_argument("--requests", type=int, default=40,
                   help="measured requests per grouping (default 40)")
    p.add_argument("--warmup", type=int, default=5,
                   help="unmeasured requests per grouping first (default 5)")
    p.add_argument("--seed", type=int, default=10, help="random seed of the data set")
    p.add_argument("--reuse", action="store_true",
                   help="keep the database if it already holds the data set of these "
                        "options (a previous run's), instead of rebuilding it")
    p.add_argument("--quiet-busy", type=float, default=0.15,
                   help="before measuring, wait until the machine is at most this busy "
                        "(default 0.15)")
    p.add_argument("--quiet-wait", type=float, default=120,
                   help="longest wait for that, seconds (default 120)")
    p.add_argument("--results", type=Path, default=BENCH / "results",
                   help="folder of the Markdown result files (default bench/results)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (server logs)")
    add_stack_options(p)
    p.set_defaults(database="dlrhub_bench_analytics", stack="postgres")
    args = p.parse_args(argv)
    if args.database in PROTECTED_DATABASES:
        p.error(f"--database {args.database} is protected")
    for name in ("messages", "days", "requests"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    return args


# --- the data set ----------------------------------------------------------------------

# Accounts: (provider, share of the messages, whether the tenant registers expectations).
ACCOUNTS = (("tencent", 0.40, True), ("aliyun", 0.30, True), ("huawei", 0.20, False),
            ("ucloud", 0.10, False))
# (country, carrier, share): mostly mainland China, a few destinations abroad, and
# numbers whose carrier is unknown (masked, or a prefix without carrier data).
NETWORKS = (("CN", "china_mobile", 0.50), ("CN", "china_unicom", 0.22),
            ("CN", "china_telecom", 0.17), ("CN", "china_broadnet", 0.02),
            ("CN", None, 0.02), ("HK", "csl", 0.015), ("HK", "three", 0.01),
            ("SG", "singtel", 0.01), ("US", "t_mobile", 0.01), ("GB", "vodafone", 0.005),
            (None, None, 0.01))
TEMPLATES = tuple(f"tpl_{i:02d}" for i in range(12))
TEMPLATE_WEIGHTS = tuple(1 / (i + 1) for i in range(12))  # a few templates carry most
# (status, reason class, share): about 92 % delivered.
OUTCOMES = (
    ("delivered", None, 0.915), ("pending", None, 0.01),
    ("failed", "invalid_number", 0.015), ("failed", "suspended_or_no_credit", 0.008),
    ("failed", "unreachable_powered_off", 0.012), ("failed", "handset_error", 0.003),
    ("failed", "network_error", 0.004), ("failed", "gateway_or_protocol_error", 0.002),
    ("failed", "carrier_unspecified_block", 0.004), ("rejected", "blacklisted", 0.004),
    ("rejected", "content_blocked", 0.003), ("rejected", "rate_limited", 0.002),
    ("expired", "expired", 0.01), ("unknown", "other_unknown", 0.008),
)
MISSING_SHARE = 0.004
# Beijing hour -> relative traffic: quiet at night, busy in the day.
DIURNAL = (0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.8, 1.2, 1.4, 1.4, 1.3, 1.2, 1.3, 1.4,
           1.4, 1.3, 1.2, 1.2, 1.3, 1.2, 1.0, 0.7, 0.35)


def hourly_counts(messages: int, days: int) -> list[int]:
    """Return the messages of each UTC hour of the range, following DIURNAL."""
    weights = [DIURNAL[(h + 8) % 24] for h in range(days * 24)]
    total = sum(weights)
    counts = [int(messages * w / total) for w in weights]
    counts[-1] += messages - sum(counts)
    return counts


def hour_of_messages(rng: random.Random, tenant_id: str, accounts: list[str],
                     hour: datetime, n: int) -> tuple[list[Any], list[Any]]:
    """Return the message and expectation facts of ``n`` messages anchored in ``hour``."""
    from dlrhub.core.vocabulary import ReasonClass, ReceiptStatus
    from dlrhub.services.analytics import ExpectationFacts, MessageFacts

    account_ix = rng.choices(range(len(ACCOUNTS)), [a[1] for a in ACCOUNTS], k=n)
    networks = rng.choices(NETWORKS, [w for *_, w in NETWORKS], k=n)
    templates = rng.choices(TEMPLATES, TEMPLATE_WEIGHTS, k=n)
    outcomes = rng.choices(OUTCOMES, [w for *_, w in OUTCOMES], k=n)
    messages: list[Any] = []
    expectations: list[Any] = []
    for i in range(n):
        provider, _, expects = ACCOUNTS[account_ix[i]]
        country, carrier, _ = networks[i]
        status, reason, _ = outcomes[i]
        anchor = hour + timedelta(seconds=rng.random() * 3600)
        final = status != "pending"
        # Handset latency: seconds for most, hours for a phone that was off; the lag
        # from the provider's report to dlrhub: about a second, sometimes minutes.
        handset = rng.lognormvariate(1.6, 1.1) if final and provider != "ucloud" else None
        lag = rng.lognormvariate(0.3, 1.0) if final else None
        messages.append((None, MessageFacts(
            tenant_id=tenant_id, account_id=accounts[account_ix[i]], provider=provider,
            country=country, carrier=carrier, template=templates[i],
            reason_class=ReasonClass(reason) if reason else None,
            status=ReceiptStatus(status), final=final, anchor_at=anchor,
            handset_latency_s=handset, receipt_lag_s=lag)))
        if expects:
            expectations.append((None, ExpectationFacts(
                tenant_id=tenant_id, account_id=accounts[account_ix[i]], provider=provider,
                country=country, carrier=carrier, template=templates[i], anchor_at=anchor,
                missing=rng.random() < MISSING_SHARE)))
    return messages, expectations


# --- the run ---------------------------------------------------------------------------


@dataclass
class Shape:
    """One grouping measured, and what it gave."""

    name: str
    params: dict[str, str]
    grain: str = ""
    rows_read: int = 0
    groups: int = 0
    ms: list[float] = field(default_factory=list)

    def pct(self, q: float) -> float:
        """Return the q quantile of the measured latencies (nearest rank), in ms."""
        ordered = sorted(self.ms)
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def shapes(start: datetime, days: int) -> list[Shape]:
    """Return the groupings measured, over the whole range."""
    def iso(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    whole = {"since": iso(start), "until": iso(start + timedelta(days=days))}
    shifted = {"since": iso(start + timedelta(hours=7, minutes=30)),
               "until": iso(start + timedelta(days=days, hours=-3))}
    return [
        Shape("none", whole),
        Shape("none, range off UTC midnight", shifted),
        Shape("provider,carrier", whole | {"group_by": "provider,carrier"}),
        Shape("day", whole | {"group_by": "day"}),
        Shape("day, tz=Asia/Shanghai", whole | {"group_by": "day", "tz": "Asia/Shanghai"}),
        Shape("hour", whole | {"group_by": "hour"}),
        Shape("carrier,hour", whole | {"group_by": "carrier,hour"}),
        Shape("template,reason_class", whole | {"group_by": "template,reason_class"}),
        Shape("provider,template", whole | {"group_by": "provider,template"}),
        Shape("template,day, carrier=china_mobile",
              whole | {"group_by": "template,day", "carrier": "china_mobile"}),
    ]


class Bench:
    """One run: the data set, the server, the measurements."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        (work / "logs").mkdir(parents=True)
        self.procs = Processes(work / "logs")
        self.port = free_port()
        self.env = stack_env(args, work / "data", self.port)
        self.url = pg_url(args, args.database, "psycopg")
        self.notes: list[str] = []
        self.build_seconds = 0.0
        self.built = False
        self.table: dict[str, Any] = {}
        self.write_ms: list[float] = []
        self.write_rows: list[int] = []
        self.shapes = shapes(START, args.days)
        self.key = ""

    def say(self, message: str) -> None:
        """Print progress to stderr."""
        print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)

    def _signature(self) -> str:
        a = self.args
        return f"messages={a.messages} days={a.days} seed={a.seed}"

    def prepare(self) -> None:
        """Recreate the database and build the data set, unless --reuse finds it built."""
        import psycopg
        from psycopg import sql

        if self.args.reuse:
            with contextlib.suppress(psycopg.Error), psycopg.connect(
                    pg_url(self.args, self.args.database)) as conn:
                row = conn.execute("SELECT name FROM tenant WHERE name = %s",
                                   (self._signature(),)).fetchone()
                if row is not None:
                    # A data set built before a migration is brought up to date by it
                    # (0029 makes its carrier grain from the network rows).
                    self.say(f"reusing the data set in {self.args.database}; migrating")
                    dlrhub_json(self.env, "db", "upgrade")
                    self._issue_key()
                    return
        with psycopg.connect(pg_url(self.args, "postgres"), autocommit=True) as conn:
            name = sql.Identifier(self.args.database)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
        self.say("migrating (dlrhub db upgrade)")
        dlrhub_json(self.env, "db", "upgrade")
        self.build()
        self._issue_key()

    def _engine(self) -> Any:
        from dlrhub.models import make_engine

        return make_engine(self.url)

    def build(self) -> None:
        """Record the data set hour by hour through record_messages/record_expectations."""
        from sqlmodel import Session

        from dlrhub.models import Tenant, new_id
        from dlrhub.services.analytics import record_expectations, record_messages

        rng = random.Random(self.args.seed)
        engine = self._engine()
        t0 = time.monotonic()
        with Session(engine) as session:
            tenant = Tenant(name="analytics write probe")
            session.add(tenant)
            main = Tenant(name=self._signature())
            session.add(main)
            session.commit()
            self.tenant_id = main.id
            accounts = [new_id("acc") for _ in ACCOUNTS]
            counts = hourly_counts(self.args.messages, self.args.days)
            for h, n in enumerate(counts):
                hour = START + timedelta(hours=h)
                messages, expectations = hour_of_messages(rng, main.id, accounts, hour, n)
                record_messages(session, messages)
                record_expectations(session, expectations)
                session.commit()
                if h % 24 == 23:
                    done = sum(counts[:h + 1])
                    rate = done / (time.monotonic() - t0)
                    self.say(f"day {(h + 1) // 24}/{self.args.days}: {done:,} messages "
                             f"({rate:,.0f}/s)")
            self.build_seconds = time.monotonic() - t0
            self._time_writes(session, rng, tenant.id)
        engine.dispose()
        with self._raw() as conn:
            conn.execute("VACUUM ANALYZE delivery_stats")
        self.built = True

    def _time_writes(self, session: Any, rng: random.Random, tenant_id: str) -> None:
        """Time record_messages on 200 batches of 100 changes: new, then final."""

        from dlrhub.core.vocabulary import ReceiptStatus
        from dlrhub.services.analytics import record_messages
        from dlrhub.services.analytics.record import stat_rows

        accounts = [f"acc_probe_{i}" for i in range(len(ACCOUNTS))]
        hour = START + timedelta(days=self.args.days // 2)
        pending: list[Any] = []
        for batch in range(200):
            messages, _ = hour_of_messages(rng, tenant_id, accounts, hour, 100)
            if batch % 2 == 0:  # new messages, as pending
                changes = [(None, m._replace(status=ReceiptStatus.pending, final=False))
                           for _, m in messages]
                pending = [after for _, after in changes]
            else:  # the previous batch's messages become final
                changes = list(zip(pending, [m for _, m in messages], strict=True))
            self.write_rows.append(len(stat_rows(changes)))
            t = time.perf_counter()
            record_messages(session, changes)
            session.commit()
            self.write_ms.append((time.perf_counter() - t) * 1000)

    @contextlib.contextmanager
    def _raw(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(pg_url(self.args, self.args.database), autocommit=True) as conn:
            yield conn

    def _issue_key(self) -> None:
        from sqlmodel import Session

        from dlrhub.services.keys import create_key

        with self._raw() as conn:
            row = conn.execute("SELECT id FROM tenant WHERE name = %s",
                               (self._signature(),)).fetchone()
            assert row is not None
            self.tenant_id = row[0]
            self.table = {
                "rows": conn.execute("SELECT count(*) FROM delivery_stats").fetchone()[0],
                "size": conn.execute("SELECT pg_size_pretty(pg_total_relation_size("
                                     "'delivery_stats'))").fetchone()[0],
                "messages": conn.execute(
                    "SELECT sum(messages) FROM delivery_stats WHERE tenant_id = %s "
                    "AND grain = 'day:total'", (self.tenant_id,)).fetchone()[0],
                "by_grain": dict(conn.execute(
                    "SELECT grain, count(*) FROM delivery_stats WHERE tenant_id = %s "
                    "GROUP BY grain ORDER BY grain", (self.tenant_id,)).fetchall()),
            }
        engine = self._engine()
        with Session(engine) as session:
            self.key = create_key(session, tenant_id=self.tenant_id, name="bench").key
            session.commit()
        engine.dispose()

    def start_api(self) -> None:
        """Start ``dlrhub api`` on the bench database and wait until it answers."""
        cmd = [str(Path(sys.executable).parent / "dlrhub"), "api", "--port", str(self.port)]
        self.say(f"starting dlrhub api on port {self.port}")
        self.procs.start("api", cmd, self.env)
        wait_http(f"http://{HOST}:{self.port}/healthz", self.procs)

    def _get(self, params: dict[str, str]) -> tuple[float, dict[str, Any]]:
        import orjson

        url = f"http://{HOST}:{self.port}/v1/analytics/delivery?{urlencode(params)}"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.key}"})
        t = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as resp:
            body = resp.read()
        elapsed = (time.perf_counter() - t) * 1000
        doc: dict[str, Any] = orjson.loads(body)
        return elapsed, doc

    def measure(self) -> None:
        """Time every shape: warm-up requests, then the measured ones, one at a time."""
        from dlrhub.services.analytics.plan import plan

        wait_quiet(self.args.quiet_wait, self.args.quiet_busy, self.notes, "queries", self.say)
        for shape in self.shapes:
            p = self._plan(plan, shape)
            shape.grain = p.dimensions.name + (" (hour rows)" if not p.day_ranges
                                               else " (day rows + hour rows at the ends)"
                                               if p.hour_ranges else " (day rows)")
            shape.rows_read = self._rows_read(p)
            for _ in range(self.args.warmup):
                self._get(shape.params)
            for _ in range(self.args.requests):
                ms, doc = self._get(shape.params)
                shape.ms.append(ms)
                shape.groups = len(doc["data"])
            self.procs.check()
            self.say(f"{shape.name}: p50 {shape.pct(0.5):.1f} ms, p95 {shape.pct(0.95):.1f} ms")

    def _plan(self, plan: Any, shape: Shape) -> Any:
        q = shape.params
        dims = ("provider", "account_id", "country", "carrier", "template", "reason_class")
        return plan(since=datetime.fromisoformat(q["since"]),
                    until=datetime.fromisoformat(q["until"]), group_by=q.get("group_by"),
                    tz=q.get("tz"), filters={d: q.get(d) for d in dims},
                    now=datetime.now(UTC))

    def _rows_read(self, p: Any) -> int:
        from dlrhub.services.analytics.grains import grain_name

        total = 0
        with self._raw() as conn:
            for span, ranges in (("hour", p.hour_ranges), ("day", p.day_ranges)):
                for a, b in ranges:
                    total += conn.execute(
                        "SELECT count(*) FROM delivery_stats WHERE tenant_id = %s AND "
                        "grain = %s AND bucket >= %s AND bucket < %s",
                        (self.tenant_id, grain_name(span, p.dimensions), a, b)).fetchone()[0]
        return total

    def run(self) -> None:
        """Prepare, start the API, measure."""
        self.prepare()
        self.start_api()
        self.measure()

    def stop(self) -> None:
        """Stop the API server."""
        self.procs.stop_all()


def report(bench: Bench, started: datetime) -> str:
    """Return the run as Markdown."""
    a = bench.args
    lines = [f"# dlrhub analytics benchmark — {started:%Y-%m-%d %H:%M %Z}", "",
             f"Host: {platform.node()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}; dlrhub api {a.api_workers} x {a.api_threads}; "
             f"PostgreSQL at {a.postgres}, database {a.database}.", ""]
    t = bench.table
    lines += [f"Data set: one tenant, {t.get('messages', 0):,} messages over {a.days} days "
              f"from {START:%Y-%m-%d} (seed {a.seed}), recorded through record_messages / "
              f"record_expectations one hour per batch"
              + (f" in {bench.build_seconds:.0f} s" if bench.built else " (reused)") + ".",
              f"Aggregate: {t.get('rows', 0):,} rows, {t.get('size', '?')}; the tenant's "
              "rows by grain: " + ", ".join(f"{g} {n:,}" for g, n in
                                            t.get("by_grain", {}).items()) + ".", ""]
    lines += ["| group_by | grain read | rows read | groups | p50 ms | p95 ms | max ms | "
              "p95 < 300 ms |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for s in bench.shapes:
        if not s.ms:
            continue
        lines.append(f"| {s.name} | {s.grain} | {s.rows_read:,} | {s.groups:,} | "
                     f"{s.pct(0.5):.1f} | {s.pct(0.95):.1f} | {max(s.ms):.1f} | "
                     f"{'yes' if s.pct(0.95) < TARGET_MS else 'NO'} |")
    if bench.write_ms:
        ordered = sorted(bench.write_ms)
        rows = sorted(bench.write_rows)
        lines += ["", f"record_messages, 200 batches of 100 changes (new pending, then "
                      f"final), each with its commit: p50 "
                      f"{ordered[len(ordered) // 2]:.1f} ms, p95 "
                      f"{ordered[int(len(ordered) * 0.95) - 1]:.1f} ms per batch; "
                      f"{rows[len(rows) // 2]:,} aggregate rows upserted per batch (median)."]
    if bench.notes:
        lines += ["", "Notes:", *(f"- {n}" for n in bench.notes)]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    args = parse_args(argv)
    in_venv("analytics", argv)
    started = datetime.now().astimezone()
    bench, failed = run_bench("analytics", "dlrhub-bench-analytics-",
                              lambda work: Bench(args, work), keep=args.keep)
    if failed is not None:
        return failed
    assert isinstance(bench, Bench)
    write_report(args.results, "analytics", started, report(bench, started))
    return 0
