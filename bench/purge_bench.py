"""The retention benchmark of dlrhub; run it as ``bench/purge`` (see bench/README.md).

On PostgreSQL it builds ``--rows`` expired rows (10,000,000 by default) spread over the
tables the purge empties, with ``INSERT ... SELECT generate_series`` (no Python per
row), then:

1. starts ``dlrhub purge`` (a process of its own, as a worker's beat task would);
2. while it lasts, times an in-process ingest loop (what a worker's ingest task runs:
   inbox rows of simulated Tencent callbacks, ``ingest()``, commit) in windows of
   ``--window`` seconds, the purge running in one window and stopped (SIGSTOP) in the
   next: ingest with and without the purge, side by side in time;
3. reports the purge's own rate (rows deleted per second), ingest's throughput with the
   purge running as a share of its throughput alone (target: at least 90 %), and
   PostgreSQL's plan of the purge's receipt batch, which must be an index range.

It DROPS and recreates the database ``--database`` (default ``dlrhub_bench_purge``).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ingest_bench import PROTECTED_DATABASES, pg_url
from runs import BENCH, ROOT, in_venv, run_bench, write_report

# Of every 1,000 expired rows, how many each table holds: two receipts per message,
# a delivery (and its attempt) for a fifth of the receipts, an expectation for some.
SHARES = {"inbound_callback": 200, "receipt": 400, "message": 200, "delivery": 75,
          "attempt": 75, "expectation": 50}
TARGET = 0.90


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(
        prog="bench/purge", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__, epilog="It DROPS and recreates the database --database.")
    p.add_argument("--rows", type=int, default=10_000_000,
                   help="expired rows to build and purge (default 10,000,000)")
    p.add_argument("--window", type=float, default=5.0,
                   help="seconds of each window: the purge runs in one, is stopped in the "
                        "next, and so on while it lasts (default 5)")
    p.add_argument("--callbacks", type=int, default=10,
                   help="callbacks per ingest transaction (default 10)")
    p.add_argument("--records", type=int, default=100,
                   help="receipts per callback (default 100)")
    p.add_argument("--batch", type=int, default=5000,
                   help="rows per purge statement, DLRHUB_PURGE_BATCH (default 5000)")
    p.add_argument("--pause", type=float, default=4.0,
                   help="the purge's sleep after each batch, in batch times, "
                        "DLRHUB_PURGE_PAUSE (default 4.0)")
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432",
                   help="PostgreSQL server, as a URL without database")
    p.add_argument("--database", default="dlrhub_bench_purge")
    p.add_argument("--results", type=Path, default=BENCH / "results",
                   help="folder of the Markdown result files (default bench/results)")
    p.add_argument("--keep", action="store_true", help="keep the work folder (purge log)")
    args = p.parse_args(argv)
    if args.database in PROTECTED_DATABASES or "test" in args.database:
        p.error(f"--database {args.database} is protected")
    if args.rows < 1000:
        p.error("--rows must be at least 1000")
    return args


@dataclass
class Ingest:
    """What the ingest loop did: receipts stored and seconds spent storing them."""

    receipts: int = 0
    seconds: float = 0.0
    batches: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Return receipts per second of ingest's own time."""
        return self.receipts / self.seconds if self.seconds else 0.0


@dataclass
class Results:
    """Every figure of the report."""

    build_seconds: float = 0.0
    built: dict[str, int] = field(default_factory=dict)
    alone: Ingest = field(default_factory=Ingest)
    during: Ingest = field(default_factory=Ingest)
    purge_seconds: float = 0.0
    purged: dict[str, int] = field(default_factory=dict)
    plan: str = ""
    notes: list[str] = field(default_factory=list)


class Bench:
    """One run: build, ingest alone, ingest during the purge."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args, self.work = args, work
        self.results = Results()
        self._purge: subprocess.Popen[bytes] | None = None
        self._seq = 0

    def run(self) -> None:
        """Do the three steps."""
        from dlrhub.models import make_engine, make_session_factory

        url = self._fresh()
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)
        self._tenant()
        started = time.perf_counter()
        self._build()
        self.results.build_seconds = time.perf_counter() - started
        self.results.plan = self._plan()
        print(f"bench/purge: built {self.args.rows:,} expired rows in "
              f"{self.results.build_seconds:.0f} s", file=sys.stderr)
        self._run_purge(url)
        print(f"bench/purge: ingest alone {self.results.alone.rate:,.0f} receipts/s, "
              f"during the purge {self.results.during.rate:,.0f}", file=sys.stderr)

    def stop(self) -> None:
        """Stop the purge if it still runs; let go of the database."""
        if self._purge is not None and self._purge.poll() is None:
            self._purge.send_signal(signal.SIGCONT)  # a stopped process takes no TERM
            self._purge.terminate()
            self._purge.wait(30)
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.dispose()

    # --- the database and its data set -------------------------------------------------

    def _fresh(self) -> str:
        import psycopg

        from dlrhub.models.migrate import upgrade

        with psycopg.connect(f"{self.args.postgres}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.args.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.args.database}"')
        url = pg_url(self.args, self.args.database, driver="psycopg")
        upgrade(url)
        return url

    def _tenant(self) -> None:
        from dlrhub.models import AccountCreate, Endpoint
        from dlrhub.services.accounts import create_account
        from dlrhub.services.crypto import SecretBox
        from dlrhub.services.tenancy import create_tenant

        self.box = SecretBox("bench-" * 6)
        with self.sessions() as session:
            tenant = create_tenant(session, name="bench")
            account = create_account(session, self.box, tenant_id=tenant.id,
                                     spec=AccountCreate(provider="tencent", name="bench"))
            endpoint = Endpoint(tenant_id=tenant.id, url="https://example.com/hook",
                                secret_encrypted="")
            session.add(endpoint)
            session.commit()
            self.tenant_id, self.account_id = tenant.id, account.account.id
            self.endpoint_id = endpoint.id

    def _build(self) -> None:
        """Insert the expired rows, 200 to 400 days old, table by table, in SQL."""
        from sqlalchemy import text

        from dlrhub.models import utcnow

        n = {t: self.args.rows * share // 1000 for t, share in SHARES.items()}
        n["receipt"] += self.args.rows - sum(n.values())
        self.results.built = n
        old = utcnow() - timedelta(days=200)
        common = {"t": self.tenant_id, "a": self.account_id, "e": self.endpoint_id}
        # Row i is 200 days and (i mod 200 days) seconds old: spread over 200 days.
        statements = {
            "inbound_callback": (
                "INSERT INTO inbound_callback (id, tenant_id, account_id, provider, "
                "received_at, remote_addr, method, path, query, content_type, headers, body,"
                " state, attempts, receipts) SELECT 'inb_old' || lpad(i::text, 20, '0'), :t,"
                " :a, 'tencent', a.at, '10.0.0.1', 'POST', '', '', 'application/json', "
                "'{}'::jsonb, convert_to(repeat('x', 600), 'UTF8'), "
                "CASE WHEN i % 50 = 0 THEN 'rejected' ELSE 'processed' END, 1, 2 "
                "FROM generate_series(1, :n) AS i, "
                "LATERAL (SELECT :old - i % 17280000 * interval '1 s' AS at) AS a"),
            "receipt": (
                "INSERT INTO receipt (id, tenant_id, account_id, inbox_id, type, provider, "
                "message_id, phone, status, received_at, raw, dedupe_key, synthetic) "
                "SELECT 'evt_old' || lpad(i::text, 20, '0'), :t, :a, 'inb_old', 'sms.status',"
                " 'tencent', 'old-' || (i / 2), '+86138' || lpad((i % 100000000)::text, 8, "
                "'0'), 'delivered', a.at, "
                "'{\"report_status\": \"SUCCESS\", \"description\": \"DELIVRD\"}'::jsonb, "
                "md5(i::text), false "
                "FROM generate_series(1, :n) AS i, "
                "LATERAL (SELECT :old - i % 17280000 * interval '1 s' AS at) AS a"),
            "message": (
                "INSERT INTO message (id, tenant_id, account_id, provider, message_id, phone,"
                " status, final, out_of_order, corrected, created_at, updated_at) "
                "SELECT 'msg_old' || lpad(i::text, 20, '0'), :t, :a, 'tencent', "
                "'old-' || i, '+86138' || lpad(((2 * i) % 100000000)::text, 8, '0'), "
                "'delivered', true, 0, false, a.at, a.at "
                "FROM generate_series(0, :n - 1) AS i, "
                "LATERAL (SELECT :old - i % 17280000 * interval '1 s' AS at) AS a"),
            "delivery": (
                "INSERT INTO delivery (id, tenant_id, endpoint_id, event_ids, status, "
                "attempts, next_attempt_at, created_at, updated_at) "
                "SELECT 'dlv_old' || lpad(i::text, 20, '0'), :t, :e, "
                "jsonb_build_array('evt_old' || lpad(i::text, 20, '0')), "
                "CASE WHEN i % 100 = 0 THEN 'dead' ELSE 'succeeded' END, 1, NULL, "
                "a.at, a.at "
                "FROM generate_series(1, :n) AS i, "
                "LATERAL (SELECT :old - i % 17280000 * interval '1 s' AS at) AS a"),
            "attempt": (
                "INSERT INTO attempt (id, delivery_id, tenant_id, at, status_code, "
                "latency_ms) SELECT 'att_old' || lpad(i::text, 20, '0'), "
                "'dlv_old' || lpad((1 + (i - 1) % :deliveries)::text, 20, '0'), :t, "
                "a.at, 200, 35.0 "
                "FROM generate_series(1, :n) AS i, "
                "LATERAL (SELECT :old - i % 17280000 * interval '1 s' AS at) AS a"),
            "expectation": (
                "INSERT INTO expectation (id, tenant_id, account_id, provider, message_id, "
                "phone_key, sent_at, deadline_at, horizon_at, state, met_at, created_at) "
                "SELECT 'exp_old' || lpad(i::text, 20, '0'), :t, :a, 'tencent', "
                "'old-exp-' || i, '', a.at, a.at, a.at, 'met', a.at, a.at "
                "FROM generate_series(1, :n) AS i, "
                "LATERAL (SELECT :old - i % 17280000 * interval '1 s' AS at) AS a"),
        }
        for table, sql in statements.items():
            with self.engine.begin() as conn:
                conn.execute(text(sql), {**common, "n": n[table], "old": old,
                                         "deliveries": max(n["delivery"], 1)})
            print(f"bench/purge: {table}: {n[table]:,} rows", file=sys.stderr)
        with self.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))

    def _plan(self) -> str:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            lines = conn.execute(text(
                # A batch after the first: past the cursor (services/retention.py).
                "EXPLAIN SELECT id, received_at, message_id FROM receipt WHERE tenant_id = :t "
                "AND received_at < now() - interval '180 days' "
                "AND received_at >= now() - interval '300 days' "
                "AND (received_at > now() - interval '300 days' OR id > 'evt_0') "
                "ORDER BY received_at, id LIMIT 5000 FOR UPDATE SKIP LOCKED"),
                {"t": self.tenant_id}).scalars().all()
        return " / ".join(line.strip().split("  (")[0].replace("->", "").strip()
                          for line in lines)

    # --- ingest ------------------------------------------------------------------------

    def _elapsed(self, seconds: float) -> Any:
        end = time.monotonic() + seconds
        return lambda: time.monotonic() >= end

    def _ingest(self, into: Ingest, done: Any) -> None:
        """Run ingest batches until ``done()``; time only the storing, not the making."""
        from inproc import add_to_inbox, tencent_callbacks

        from dlrhub.models import utcnow
        from dlrhub.services.ingest import ingest

        while not done():
            made = tencent_callbacks(self._seq + 1, self.args.callbacks, self.args.records)
            self._seq += self.args.callbacks
            started = time.perf_counter()
            with self.sessions() as session:
                ids = add_to_inbox(session, self.tenant_id, self.account_id, made)
                session.commit()
            with self.sessions() as session:
                report = ingest(session, self.box, ids, now=utcnow())
                session.commit()
            took = time.perf_counter() - started
            into.seconds += took
            into.batches.append(took)
            into.receipts += report.stored

    # --- the purge ---------------------------------------------------------------------

    def _run_purge(self, url: str) -> None:
        import json

        env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
        env.update({"DLRHUB_DATABASE_URL": url, "DLRHUB_DATA_DIR": str(self.work),
                    "DLRHUB_SECRET_KEY": "bench-" * 6,
                    "DLRHUB_PURGE_BATCH": str(self.args.batch),
                    "DLRHUB_PURGE_PAUSE": str(self.args.pause)})
        dlrhub = Path(sys.executable).parent / "dlrhub"
        out = self.work / "purge.json"
        with out.open("wb") as stdout:
            self._purge = subprocess.Popen([str(dlrhub), "purge", "--json"], env=env,
                                           cwd=ROOT, stdout=stdout, stderr=subprocess.STDOUT)
        finished = threading.Event()

        def wait() -> None:
            assert self._purge is not None
            self._purge.wait()
            finished.set()

        threading.Thread(target=wait, daemon=True).start()
        # Windows of --window seconds, the purge running in one and stopped (SIGSTOP) in
        # the next, ingest timed in each: a load that drifts (other work on the machine)
        # weighs on both sides alike. The purge's time is that of its running windows.
        running = True
        while not finished.is_set():
            opened = time.monotonic()
            end = opened + self.args.window
            self._ingest(self.results.during if running else self.results.alone,
                         lambda: finished.is_set() or time.monotonic() >= end)  # noqa: B023
            if running:
                self.results.purge_seconds += time.monotonic() - opened
            if finished.is_set():
                break
            running = not running
            self._purge.send_signal(signal.SIGCONT if running else signal.SIGSTOP)
        self._purge.wait()
        if not self.results.alone.batches:
            self._ingest(self.results.alone, self._elapsed(self.args.window))
        if self._purge.returncode != 0:
            raise RuntimeError(f"dlrhub purge failed:\n{out.read_text()[-2000:]}")
        text = out.read_text()
        self.results.purged = json.loads(text[text.index("{"):])["deleted"]
        if len(self.results.during.batches) < 20:
            self.results.notes.append(
                "Fewer than 20 ingest transactions ran beside the purge: the share is "
                "noisy; run with more --rows.")


def report(bench: Bench, started: datetime) -> str:
    """Return the Markdown report."""
    r, args = bench.results, bench.args
    purged = sum(r.purged.values())
    share = r.during.rate / r.alone.rate if r.alone.rate else 0.0
    lines = [
        f"# Retention purge benchmark, {started:%Y-%m-%d %H:%M %Z}",
        "",
        f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.rows:,} expired rows, purge batches of {args.batch:,} with a pause of "
        f"{args.pause:g} batch times after each, ingest "
        f"transactions of {args.callbacks} callbacks x {args.records} receipts.",
        "",
        "| measure | result |",
        "|---|---|",
        f"| building the expired rows | {r.build_seconds:,.0f} s "
        f"({', '.join(f'{t} {n:,}' for t, n in r.built.items())}) |",
        f"| purge: rows deleted | {purged:,} "
        f"({', '.join(f'{t} {n:,}' for t, n in r.purged.items())}) |",
        f"| purge: running time, rate | {r.purge_seconds:,.1f} s, "
        f"{purged / r.purge_seconds if r.purge_seconds else 0:,.0f} rows/s |",
        f"| ingest, purge stopped ({r.alone.seconds:,.0f} s) | {r.alone.rate:,.0f} receipts/s, "
        f"median transaction {statistics.median(r.alone.batches) * 1000:,.0f} ms |",
        f"| ingest, purge running ({r.during.seconds:,.0f} s) | "
        f"{r.during.rate:,.0f} receipts/s, median transaction "
        f"{statistics.median(r.during.batches or [0.0]) * 1000:,.0f} ms |",
        f"| ingest with / without the purge | **{share:.1%}** (target ≥ {TARGET:.0%}: "
        f"{'met' if share >= TARGET else 'NOT met'}) |",
        f"| plan of a receipt batch | `{r.plan}` |",
    ]
    lines += ["", *(f"Note: {n}" for n in r.notes)] if r.notes else []
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    args = parse_args(argv)
    in_venv("purge", argv)
    started = datetime.now().astimezone()
    bench, failed = run_bench("purge", "dlrhub-bench-purge-", lambda work: Bench(args, work),
                              keep=args.keep, kept="purge output")
    if failed is not None:
        return failed
    assert isinstance(bench, Bench)
    write_report(args.results, "purge", started, report(bench, started))
    return 0

