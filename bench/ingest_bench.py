"""The ingest benchmark of dlrhub; run it as ``bench/ingest`` (see bench/README.md).

For one stack it starts the product (``dlrhub api`` + ``dlrhub worker`` on PostgreSQL
and Redis, or ``dlrhub serve`` on the embedded SQLite + file broker) and the baseline
(``baseline_app.py`` under the same server command), loads both with wrk at each
batch size, and reports accepted callbacks/s, stored receipts/s (end to end, sustained:
from the first POST until the receipt count reaches the records accepted), p50/p99, the
baseline's requests/s and the product/baseline ratio, beside the targets.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import compare
import procstat
import servers
from runs import BENCH, ROOT, in_venv, run_bench, write_report
from wrkload import WrkResult, lua_script, run_wrk

HOST = "127.0.0.1"
SHANGHAI = timezone(timedelta(hours=8))  # Tencent reports times in its accounts' zone
PROTECTED_DATABASES = frozenset({"postgres", "template0", "template1", "test", "dlrhub_test"})

# --- command line ----------------------------------------------------------------------

def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def add_stack_options(p: argparse.ArgumentParser, servers: str = "dlrhub") -> None:
    """Add the options both benchmarks share: process counts and the stores to use."""
    p.add_argument("--api-workers", type=int, default=_env_int("DLRHUB_API_WORKERS", 2),
                   help=f"API server processes of {servers} (DLRHUB_API_WORKERS, else 2)")
    p.add_argument("--api-threads", type=int, default=_env_int("DLRHUB_API_THREADS", 8),
                   help="app threads per API process (DLRHUB_API_THREADS, else 8)")
    p.add_argument("--worker-concurrency", type=int,
                   default=_env_int("DLRHUB_WORKER_CONCURRENCY", 4),
                   help="Celery worker processes (DLRHUB_WORKER_CONCURRENCY, else 4)")
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432",
                   help="PostgreSQL server, as a URL without database "
                        "(default postgresql://postgres@127.0.0.1:5432)")
    p.add_argument("--database", default="dlrhub_bench",
                   help="database to DROP, create and use (default dlrhub_bench)")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/14",
                   help="Redis database to FLUSH and use as the broker "
                        "(default redis://127.0.0.1:6379/14)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(
        prog="bench/ingest", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Measure dlrhub's callback ingest (Tencent status reports, batches of 1 and\n"
            "100 records) against a minimal Falcon baseline on the same server stack.\n"
            "Starts and stops every server itself; see bench/README.md.\n\n"
            "Targets: >= 1,000 accepted callbacks/s at batch 1, with p99 < 50 ms at that\n"
            "load (a second, paced run checks it), and\n"
            ">= 10,000 stored receipts/s sustained at batch 100 (PostgreSQL + Redis);\n"
            ">= 300 callbacks/s on the embedded default."),
        epilog=(
            "Needs wrk (apt-get install wrk). --stack postgres DROPS and recreates the\n"
            "database --database and FLUSHES the Redis database --redis.\n"
            "Results: a Markdown table on stdout and in bench/results/."))
    p.add_argument("--stack", choices=["postgres", "embedded"], default="postgres",
                   help="postgres: dlrhub api + worker on PostgreSQL and Redis (default); "
                        "embedded: dlrhub serve on SQLite and the file broker")
    p.add_argument("--duration", type=int, default=15,
                   help="seconds of each measured run (default 15)")
    p.add_argument("--warmup", type=int, default=3,
                   help="seconds of load before each measured run, not counted (default 3)")
    p.add_argument("--connections", type=int, default=32,
                   help="concurrent HTTP connections (default 32)")
    p.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    p.add_argument("--pace-ms", type=int, default=0,
                   help="each connection waits this long before each request, to measure "
                   "latency at an offered load (e.g. 12 ms x 32 connections ~ 1,000/s) "
                   "rather than at saturation (default 0: as fast as possible)")
    p.add_argument("--target-rate", type=int, default=1000,
                   help="offered load of the run that checks a latency target (PostgreSQL, "
                   "batch 1): after the full-speed run, each connection pauses so that "
                   "about 1.5x this many callbacks/s are sent, and the target is met if "
                   "at least this many are accepted, none fails, and p99 is under 50 ms "
                   "(default 1,000; 0 skips that run)")
    p.add_argument("--batches", default="1,100",
                   help="records per callback, comma-separated (default 1,100)")
    add_stack_options(p, servers="the product AND the baseline")
    p.add_argument("--max-requests", type=int, default=1_000_000,
                   help="cap on the requests of one run, whatever its duration "
                        "(default 1,000,000)")
    p.add_argument("--timeout", type=int, default=10,
                   help="seconds before wrk counts a request as timed out (default 10)")
    p.add_argument("--drain-timeout", type=float, default=600,
                   help="seconds to wait for the backlog to be stored (default 600)")
    p.add_argument("--poll", type=float, default=0.1,
                   help="seconds between receipt counts while draining, at least; the "
                        "pause grows to 20x a count's own time (default 0.1)")
    p.add_argument("--quiet-busy", type=float, default=0.15,
                   help="before each run, wait until the machine is at most this busy "
                        "(share of all cores, default 0.15)")
    p.add_argument("--quiet-wait", type=float, default=120,
                   help="longest wait for that, seconds (default 120)")
    p.add_argument("--server", choices=servers.SERVERS, default="uvicorn",
                   help="HTTP server of the product's API AND the baseline, PostgreSQL "
                        "stack only: uvicorn is dlrhub's own (default); granian and "
                        "gunicorn serve the same WSGI apps, to measure the server "
                        "(bench/servers.py)")
    p.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    p.add_argument("--compare", metavar="REF",
                   help="also run git revision REF (from a temporary worktree), "
                        "interleaved with this tree, and report each figure of both "
                        "and their ratio; implies --no-baseline (see bench/compare.py)")
    p.add_argument("--rounds", type=int, default=2,
                   help="with --compare: runs of each revision, in A B B A order "
                        "(default 2)")
    p.add_argument("--results", type=Path, default=BENCH / "results",
                   help="folder of the Markdown result files (default bench/results)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work folder (logs, wrk output, Lua, embedded data)")
    args = p.parse_args(argv)
    try:
        args.batch_sizes = sorted({int(b) for b in args.batches.split(",") if b.strip()})
    except ValueError:
        p.error("--batches takes numbers, e.g. 1,100")
    if not args.batch_sizes or min(args.batch_sizes) < 1:
        p.error("--batches takes positive numbers")
    if args.target_rate < 0:
        p.error("--target-rate must be 0 or more")
    for name in ("duration", "connections", "wrk_threads", "api_workers", "api_threads",
                 "worker_concurrency", "max_requests", "timeout"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.compare:
        args.no_baseline = True
    if args.server != "uvicorn" and args.stack != "postgres":
        p.error("--server other than uvicorn needs --stack postgres (dlrhub serve is uvicorn)")
    if args.connections < args.wrk_threads:
        p.error("--connections must be at least --wrk-threads")
    if args.database in PROTECTED_DATABASES:
        p.error(f"refusing to drop the database {args.database!r}; pick another --database")
    return args


# --- processes -------------------------------------------------------------------------

class Processes:
    """The servers this benchmark started, each in its own process group."""

    def __init__(self, logs: Path, cwd: Path = ROOT) -> None:
        # The servers start in the tree whose code they run: gunicorn and Celery put
        # their working folder first on the import path, ahead of PYTHONPATH, so a
        # compared revision started from this tree would import this tree's dlrhub.
        self._logs = logs
        self._cwd = cwd
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        """Start ``cmd`` in a new session, its output in ``logs/<name>.log``."""
        with (self._logs / f"{name}.log").open("ab") as log:
            self.running[name] = subprocess.Popen(
                cmd, env=env, cwd=self._cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def groups(self) -> dict[int, str]:
        """Return our process groups (the leaders' pids) and their names."""
        return {proc.pid: name for name, proc in self.running.items()}

    def check(self) -> None:
        """Raise if a server exited on its own."""
        for name, proc in self.running.items():
            if proc.poll() is not None:
                raise RuntimeError(f"the {name} exited with {proc.returncode}:\n"
                                   f"{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        """Return the end of a server's log."""
        try:
            text = (self._logs / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, name: str, timeout: float = 25) -> None:
        """Stop one server: SIGTERM to its leader, then SIGKILL to what is left of it."""
        proc = self.running.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
        if _group_alive(proc.pid):  # server/celery children of a leader that hung
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        """Stop every server, the last started first."""
        for name in reversed(list(self.running)):
            self.stop(name)


def _group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                raw = (entry / "stat").read_text()
                if int(raw[raw.rindex(")") + 2:].split()[2]) == pgid:
                    return True
    return False


def free_port() -> int:
    """Return a loopback port that is free now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, procs: Processes, timeout: float = 90) -> None:
    """Wait until ``url`` answers 200, failing early if a server exits."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        procs.check()
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as ex:
            last = str(ex)
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s ({last})")


def dlrhub_json(env: dict[str, str], *args: str, cwd: Path = ROOT) -> dict[str, Any]:
    """Run one ``dlrhub … --json`` command (in the tree ``cwd``) and return its document."""
    dlrhub = Path(sys.executable).parent / "dlrhub"
    cmd = [str(dlrhub) if dlrhub.exists() else shutil.which("dlrhub") or "dlrhub", *args]
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    if "--json" not in args:
        return {}
    doc: dict[str, Any] = json.loads(done.stdout[done.stdout.index("{"):])
    return doc


# --- the database, seen from outside ---------------------------------------------------

class Counts(Protocol):
    """Counting queries on the product's database (fresh snapshot each time)."""

    def receipts(self, account: str) -> int:
        """Return the receipts stored for ``account``."""
        ...

    def inbox(self, account: str) -> dict[str, int]:
        """Return the inbox rows of ``account``: total (not rejected), pending, failed."""
        ...

    def pending(self) -> int:
        """Return the inbox rows still pending, every account."""
        ...

    def baseline_rows(self) -> int:
        """Return the rows of the baseline's table."""
        ...

    def checkpoint(self) -> None:
        """Flush the database's dirty pages so that runs start alike."""
        ...

    def version(self) -> str:
        """Return the database's version."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


_RECEIPTS = "SELECT count(*) FROM receipt WHERE account_id = {p}"
_INBOX = ("SELECT COALESCE(SUM(CASE WHEN state <> 'rejected' THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) "
          "FROM inbound_callback WHERE account_id = {p}")


class _SqlCounts:
    """The counting queries both stacks share; subclasses bring the connection."""

    placeholder = "%s"
    _conn: Any

    def _one(self, query: str, *params: object) -> Any:
        row = self._conn.execute(query, params).fetchone()
        assert row is not None
        return row

    def receipts(self, account: str) -> int:
        """Count through the unique (account_id, dedupe_key) index."""
        return int(self._one(_RECEIPTS.format(p=self.placeholder), account)[0])

    def inbox(self, account: str) -> dict[str, int]:
        """Count the account's inbox rows by state."""
        total, pending, failed = self._one(_INBOX.format(p=self.placeholder), account)
        return {"total": int(total), "pending": int(pending), "failed": int(failed)}

    def pending(self) -> int:
        """Count pending inbox rows (the state index)."""
        return int(self._one(
            "SELECT count(*) FROM inbound_callback WHERE state = 'pending'")[0])

    def baseline_rows(self) -> int:
        """Count the baseline's rows."""
        return int(self._one("SELECT count(*) FROM bench_baseline")[0])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class PgCounts(_SqlCounts):
    """Counts on PostgreSQL through psycopg, autocommit."""

    def __init__(self, conninfo: str) -> None:
        import psycopg

        self._conn = psycopg.connect(conninfo, autocommit=True)

    def checkpoint(self) -> None:
        """Run CHECKPOINT (the bench connects as a superuser)."""
        with contextlib.suppress(Exception):
            self._conn.execute("CHECKPOINT")

    def version(self) -> str:
        """Return PostgreSQL's version."""
        return str(self._one("SHOW server_version")[0])


class SqliteCounts(_SqlCounts):
    """Counts on the embedded SQLite file; each query its own short read transaction."""

    placeholder = "?"

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None)

    def checkpoint(self) -> None:
        """Leave SQLite's WAL to its own checkpoints (a forced one would block writers)."""

    def version(self) -> str:
        """Return SQLite's version."""
        return f"SQLite {sqlite3.sqlite_version}"


# --- one stack -------------------------------------------------------------------------

@dataclass
class Drain:
    """How the receipts of one measured run were stored."""

    stored: int = 0  # receipts of the run's account in the database
    expected: int = 0  # records the server accepted: inbox rows × batch
    inbox: dict[str, int] = field(default_factory=dict)
    pending_at_end_of_load: int = 0
    first_post_to_last_stored: float = 0.0  # seconds
    after_load: float = 0.0  # seconds from the end of the load to the last receipt
    complete: bool = False
    note: str = ""

    @property
    def per_second(self) -> float:
        """Return receipts stored per second, first POST to last receipt."""
        return self.stored / self.first_post_to_last_stored \
            if self.first_post_to_last_stored else 0.0


@dataclass
class Cpu:
    """Where the CPU went in one phase: seconds per component, machine busy share."""

    seconds: float
    by: Counter[str]
    busy: float

    @property
    def other(self) -> float:
        """Return the cores busy outside the components we know (see ``render``)."""
        if self.seconds <= 0:
            return 0.0
        return max(0.0, self.busy * (os.cpu_count() or 1)
                   - sum(self.by.values()) / self.seconds)

    def render(self) -> str:
        """Return e.g. ``api 1.62, worker 0.21, …, other 0.10 (machine 96% busy)``.

        ``other`` is the rest of the machine's busy time: the kernel's share of the
        loopback traffic not charged to a process, this script, and anything else
        running on the machine (which would make the run unrepresentative).
        """
        if self.seconds <= 0:
            return "-"
        by = Counter(self.by)
        by["other"] = self.other * self.seconds
        parts = [f"{name} {cpu / self.seconds:.2f}" for name, cpu in by.most_common()
                 if cpu / self.seconds >= 0.005]
        return f"{', '.join(parts) or '-'} (machine {self.busy:.0%} busy)"


@dataclass
class Row:
    """One batch size of one stack: the product's run and the baseline's."""

    stack: str
    batch: int
    product: WrkResult | None = None
    paced: WrkResult | None = None
    drain: Drain | None = None
    baseline: WrkResult | None = None
    baseline_rows: int | None = None
    cpu_load: Cpu | None = None
    cpu_drain: Cpu | None = None
    cpu_baseline: Cpu | None = None
    cpu_paced: Cpu | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """Return product/baseline accepted requests per second."""
        if self.product is None or self.baseline is None or not self.baseline.ok_per_second:
            return None
        return self.product.ok_per_second / self.baseline.ok_per_second


# From the issue: (stack, batch) → (the target, its check on a result row).
TARGETS: dict[tuple[str, int], tuple[str, Callable[[Row], bool]]] = {
    ("postgres", 1): ("≥ 1,000 callbacks/s", lambda r: bool(
        r.product and r.product.ok_per_second >= 1000)),
    ("postgres", 100): ("≥ 10,000 stored receipts/s", lambda r: bool(
        r.drain and r.drain.complete and r.drain.per_second >= 10_000)),
    ("embedded", 1): ("≥ 300 callbacks/s", lambda r: bool(
        r.product and r.product.ok_per_second >= 300)),
}
# Latency is a target at a load, not at saturation (where a closed loop's latency is
# only connections ÷ throughput): these rows get a second, paced run at --target-rate.
LATENCY_TARGET_MS: dict[tuple[str, int], float] = {("postgres", 1): 50.0}


# What a stored receipt costs end to end: the API, the worker, the database and the
# broker (on the embedded stack ``dlrhub serve`` is all of dlrhub's in one process).
PIPELINE = ("api", "worker", "serve", "postgres", "redis")


def cpu_per_unit(row: Row) -> dict[str, float]:
    """Return CPU milliseconds per unit of work of a measured row.

    Per accepted callback: the API's CPU during the load ÷ 200 answers. Per stored
    receipt: each component's CPU over the load and the drain after it ÷ the receipts
    stored, and their sum (end to end). CPU time per unit of work is the figure that
    holds on a busy machine, where rates do not.
    """
    out: dict[str, float] = {}
    p, d, load, drain = row.product, row.drain, row.cpu_load, row.cpu_drain
    if p is None or load is None:
        return out
    if p.ok and load.by.get("api"):
        out["API CPU ms per accepted callback"] = 1000 * load.by["api"] / p.ok
    if d is None or not d.stored or drain is None:
        return out
    total = 0.0
    for name in PIPELINE:
        cpu = load.by.get(name, 0.0) + drain.by.get(name, 0.0)
        if cpu:
            out[f"{name} CPU ms per stored receipt"] = 1000 * cpu / d.stored
            total += cpu
    out["end-to-end CPU ms per stored receipt"] = 1000 * total / d.stored
    return out


def paced_met(row: Row, rate: int) -> bool:
    """Return whether the paced run met its target: ``rate`` accepted/s, p99 in bound."""
    bound = LATENCY_TARGET_MS.get((row.stack, row.batch))
    p = row.paced
    return bool(bound and p and p.bad == 0 and p.errors == 0 and p.ok_per_second >= rate
                and p.p99 < bound)


def pace_for(rate: int, connections: int) -> int:
    """Return the pause per request (ms) that offers about 1.5x ``rate`` requests/s.

    Each connection sends, waits for the answer, pauses, and sends again: it offers
    1 / (pause + latency) requests/s. Aiming 50 % over the target leaves room for a
    mean latency of up to a third of the pause (7 ms at 32 connections and 1,000/s),
    and the check is on what was accepted, not on what was offered.
    """
    return max(1, int(connections * 1000 / (rate * 1.5)))


def wait_quiet(wait: float, busy_limit: float, notes: list[str], what: str,
               say: Callable[[str], None]) -> None:
    """Wait (up to ``wait`` s) until the machine is idle, so runs start alike.

    The servers are idle between runs; anything busier than ``busy_limit`` of the
    machine is someone else's work (a test suite, a build) that would share the cores
    with the run. The run goes ahead after the wait, with a note in ``notes``.
    """
    deadline = time.monotonic() + wait
    said = False
    while True:
        before = procstat.snapshot({})
        time.sleep(1.0)
        busy = procstat.machine_busy(before, procstat.snapshot({}))
        if busy <= busy_limit:
            return
        if time.monotonic() >= deadline:
            notes.append(f"{what}: the machine was still {busy:.0%} busy before the run "
                         f"(other processes); the figures are disturbed")
            say(f"machine still {busy:.0%} busy; running anyway")
            return
        if not said:
            say(f"machine {busy:.0%} busy (the stack settling, autovacuum, or other "
                f"processes); waiting up to {wait:.0f}s")
            said = True


def pg_url(args: argparse.Namespace, database: str, driver: str = "") -> str:
    """Return the URL of ``database`` on the --postgres server (``driver``: for SQLAlchemy)."""
    parts = urlsplit(args.postgres)
    scheme = "postgresql+psycopg" if driver else "postgresql"
    return str(urlunsplit((scheme, parts.netloc, f"/{database}", parts.query, "")))


def stack_env(args: argparse.Namespace, data_dir: Path, port: int,
              **extra: str) -> dict[str, str]:
    """Return the environment of the servers: none of the caller's DLRHUB_*, ours set."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DLRHUB_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({
        "DLRHUB_DATA_DIR": str(data_dir),
        "DLRHUB_HOST": HOST,
        "DLRHUB_PORT": str(port),
        "DLRHUB_LOG_LEVEL": "WARNING",
        "DLRHUB_SECRET_KEY": secrets.token_urlsafe(32),
        "DLRHUB_API_WORKERS": str(args.api_workers),
        "DLRHUB_API_THREADS": str(args.api_threads),
        "DLRHUB_WORKER_CONCURRENCY": str(args.worker_concurrency),
        **extra,
    })
    if args.stack == "postgres":
        env["DLRHUB_DATABASE_URL"] = pg_url(args, args.database, "psycopg")
        env["DLRHUB_BROKER_URL"] = args.redis
    return env


def reset_stores(args: argparse.Namespace, env: dict[str, str], commands: list[str],
                 say: Callable[[str], None], cwd: Path = ROOT) -> None:
    """Drop and create the bench database, flush the bench Redis database, migrate."""
    import psycopg
    import redis
    from psycopg import sql

    if args.database in PROTECTED_DATABASES:  # parse_args refuses it too
        raise RuntimeError(f"refusing to drop {args.database!r}")
    say(f"recreating database {args.database}, flushing {args.redis}")
    with psycopg.connect(pg_url(args, "postgres"), autocommit=True) as conn:
        name = sql.Identifier(args.database)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    client = redis.Redis.from_url(args.redis, socket_connect_timeout=5)
    client.flushdb()
    client.close()
    say("migrating (dlrhub db upgrade)")
    commands.append("dlrhub db upgrade")
    dlrhub_json(env, "db", "upgrade", cwd=cwd)


class Bench:
    """One benchmark run of one stack."""

    def __init__(self, args: argparse.Namespace, work: Path,
                 revision: compare.Revision | None = None) -> None:
        self.args = args
        self.work = work
        self.revision = revision or compare.Revision(compare.THIS)
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs = Processes(self.logs, self.revision.root or ROOT)
        self.port = free_port()
        self.baseline_port = free_port()
        self.tag = datetime.now(SHANGHAI).strftime("%Y%m%d%H%M%S")
        self.counts: Counts | None = None
        self.rows: list[Row] = []
        self.commands: list[str] = []
        self.info: dict[str, str] = {}
        self.data_dir = work / "data"
        self.code_start = self.code_end = product_code(self.revision.root or ROOT)
        self.env = self.revision.env(stack_env(args, self.data_dir, self.port))

    # -- setting up --

    def _say(self, message: str) -> None:
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    def _run_cli(self, *args: str) -> dict[str, Any]:
        self.commands.append("dlrhub " + " ".join(args))
        return dlrhub_json(self.env, *args, cwd=self.revision.root or ROOT)

    def prepare(self) -> None:
        """Reset the stores, migrate, create the tenant and one account per run.

        ``self.accounts`` maps (phase, batch) to the account's id and callback URL.
        Every run has its own account, so that counting its receipts reads only its
        own rows (the unique (account_id, dedupe_key) index leads with account_id).
        """
        if self.args.stack == "postgres":
            reset_stores(self.args, self.env, self.commands, self._say,
                         self.revision.root or ROOT)
        tenant = self._run_cli("tenant", "create", "bench", "--json")["id"]
        self.accounts: dict[tuple[str, int], tuple[str, str]] = {}
        for batch in self.args.batch_sizes:
            phases = ["warmup", "run"]
            if self._paced(batch):
                phases.append("paced")
            for phase in phases:
                acc = self._run_cli("account", "create", "--tenant", tenant, "--provider",
                                    "tencent", "--name", f"bench-{phase}-b{batch}", "--json")
                url = acc["callback_url"]
                if not url.startswith(f"http://{HOST}:{self.port}/"):
                    raise RuntimeError(f"unexpected callback_url {url}")
                self.accounts[(phase, batch)] = (acc["id"], url)
        if self.args.stack == "postgres":
            self.counts = PgCounts(pg_url(self.args, self.args.database))
            self.baseline_url = pg_url(self.args, self.args.database, "psycopg")
        else:
            db = self.data_dir / "dlrhub.sqlite3"
            self.counts = SqliteCounts(db)
            self.baseline_url = f"sqlite:///{db}"
        self.info["database"] = self.counts.version()

    # -- load --

    def _paced(self, batch: int) -> bool:
        return bool(self.args.target_rate) and \
            (self.args.stack, batch) in LATENCY_TARGET_MS

    def _wrk(self, url: str, batch: int, run: str, duration: int,
             pace_ms: int | None = None) -> WrkResult:
        script = lua_script(
            self.work / f"{run}.lua", run=run, batch=batch,
            max_per_thread=math.ceil(self.args.max_requests / self.args.wrk_threads),
            stamp=datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            delay_ms=self.args.pace_ms if pace_ms is None else pace_ms)
        return run_wrk(self.wrk, url, script, threads=self.args.wrk_threads,
                       connections=self.args.connections, duration=duration,
                       timeout=self.args.timeout, log=self.logs / f"wrk-{run}.txt")

    def _wait_pending(self) -> None:
        assert self.counts is not None
        deadline = time.monotonic() + self.args.drain_timeout
        while self.counts.pending() and time.monotonic() < deadline:
            self.procs.check()
            time.sleep(0.25)

    def _wait_quiet(self, row: Row, what: str) -> None:
        wait_quiet(self.args.quiet_wait, self.args.quiet_busy, row.notes, what, self._say)

    def _flag(self, row: Row, what: str, cpu: Cpu, w: WrkResult | None = None) -> None:
        if w is not None and w.ok + w.bad >= self.args.max_requests:
            row.notes.append(f"{what}: stopped by --max-requests {self.args.max_requests:,} "
                             f"before --duration; its rates are not meaningful")
        if cpu.other >= 0.25:
            row.notes.append(f"{what}: {cpu.other:.2f} cores busy outside the benchmark's "
                             f"components during the run (other processes?)")

    def _cpu(self, before: procstat.Snapshot, after: procstat.Snapshot, seconds: float,
             extra: dict[str, float] | None = None) -> Cpu:
        by = procstat.used(before, after)
        for name, cpu in (extra or {}).items():
            by[name] += cpu
        return Cpu(seconds, by, procstat.machine_busy(before, after))

    def run_baseline(self) -> None:
        """Run the baseline app under the product's server command, every batch."""
        sys.path.insert(0, str(BENCH))
        import baseline_app

        baseline_app.create_table(self.baseline_url)
        cmd = self._server_cmd() if self.args.server == "uvicorn" else servers.server_cmd(
            self.args.server, Path(sys.executable).parent, baseline=True, host=HOST,
            port=self.baseline_port, workers=self.args.api_workers,
            threads=self.args.api_threads)
        env = dict(self.env, BASELINE_DATABASE_URL=self.baseline_url,
                   DLRHUB_PORT=str(self.baseline_port))
        self.commands.append(" ".join(cmd))
        self._say(f"starting the baseline on port {self.baseline_port}")
        self.procs.start("baseline", cmd, env)
        base = f"http://{HOST}:{self.baseline_port}"
        wait_http(f"{base}/healthz", self.procs)
        assert self.counts is not None
        for batch in self.args.batch_sizes:
            row = self._row(batch)
            if self.args.warmup:
                self._say(f"baseline batch {batch}: warm-up {self.args.warmup}s")
                self._wrk(f"{base}/ingest", batch, f"{self.tag}-base-warm-b{batch}",
                          self.args.warmup)
            self.counts.checkpoint()
            self._wait_quiet(row, "baseline")
            rows_before = self.counts.baseline_rows()
            self._say(f"baseline batch {batch}: {self.args.duration}s")
            snap = procstat.snapshot(self.procs.groups())
            w = self._wrk(f"{base}/ingest", batch, f"{self.tag}-base-b{batch}",
                          self.args.duration)
            row.cpu_baseline = self._cpu(snap, procstat.snapshot(self.procs.groups()),
                                         w.seconds, {"wrk": w.wrk_cpu})
            self._flag(row, "baseline", row.cpu_baseline, w)
            row.baseline = w
            row.baseline_rows = self.counts.baseline_rows() - rows_before
            self._say(f"baseline batch {batch}: {w.ok_per_second:,.0f} req/s, "
                      f"p50 {w.p50:.1f} ms, p99 {w.p99:.1f} ms, non-200 {w.bad}")
        self.procs.stop("baseline")

    def _server_cmd(self) -> list[str]:
        """Return ``dlrhub api``'s own server command, serving the baseline app instead."""
        from types import SimpleNamespace

        from dlrhub.cli.processes import _api_cmd

        cmd: list[str] = _api_cmd(SimpleNamespace())
        if cmd[-2:] != ["-m", "dlrhub.api.server"]:
            raise RuntimeError(f"dlrhub's server command changed shape: {cmd}")
        # The same server, bridge, workers and threads; only the app differs.
        return [*cmd, "--app", "baseline_asgi:app", "--app-dir", str(BENCH)]

    def _row(self, batch: int) -> Row:
        for row in self.rows:
            if row.batch == batch:
                return row
        row = Row(self.args.stack, batch)
        self.rows.append(row)
        return row

    def start_product(self) -> None:
        """Start the product's processes and wait until it is ready."""
        if self.args.stack == "postgres":
            for name, args in (("api", ["api", "--port", str(self.port)]),
                               ("worker", ["worker"])):
                cmd = [str(Path(sys.executable).parent / "dlrhub"), *args]
                if name == "api" and self.args.server != "uvicorn":
                    cmd = servers.server_cmd(
                        self.args.server, Path(sys.executable).parent,
                        baseline=False, host=HOST, port=self.port,
                        workers=self.args.api_workers, threads=self.args.api_threads)
                self.commands.append(" ".join(cmd) if Path(cmd[0]).name != "dlrhub"
                                     else "dlrhub " + " ".join(args))
                self.procs.start(name, cmd, self.env)
        else:
            cmd = [str(Path(sys.executable).parent / "dlrhub"), "serve", "--port",
                   str(self.port)]
            self.commands.append(f"dlrhub serve --port {self.port}")
            self.procs.start("serve", cmd, self.env)
        self._say(f"starting dlrhub ({self.args.stack}) on port {self.port}")
        wait_http(f"http://{HOST}:{self.port}/healthz", self.procs)
        wait_http(f"http://{HOST}:{self.port}/readyz", self.procs)
        # The worker has no HTTP side: give Celery a moment to connect to the broker.
        time.sleep(2)
        self.procs.check()

    def run_product(self) -> None:
        """Warm up, then measure the product at every batch size."""
        assert self.counts is not None
        for batch in self.args.batch_sizes:
            row = self._row(batch)
            _, warm_url = self.accounts[("warmup", batch)]
            account, url = self.accounts[("run", batch)]
            if self.args.warmup:
                self._say(f"dlrhub batch {batch}: warm-up {self.args.warmup}s")
                w = self._wrk(warm_url, batch, f"{self.tag}-warm-b{batch}", self.args.warmup)
                if not w.ok:
                    raise RuntimeError(f"the warm-up got no 200 answer:\n{w.output}")
                self._wait_pending()
            self.counts.checkpoint()
            self._wait_quiet(row, "dlrhub")
            self._say(f"dlrhub batch {batch}: {self.args.duration}s")
            snap0 = procstat.snapshot(self.procs.groups())
            t0 = time.monotonic()
            w = self._wrk(url, batch, f"{self.tag}-b{batch}", self.args.duration)
            t_load = time.monotonic()
            snap1 = procstat.snapshot(self.procs.groups())
            row.product = w
            self._say(f"dlrhub batch {batch}: {w.ok_per_second:,.0f} accepted/s, "
                      f"p50 {w.p50:.1f} ms, p99 {w.p99:.1f} ms, non-200 {w.bad}; draining")
            row.drain = self._drain(account, batch, t0, t_load)
            snap2 = procstat.snapshot(self.procs.groups())
            row.cpu_load = self._cpu(snap0, snap1, t_load - t0, {"wrk": w.wrk_cpu})
            row.cpu_drain = self._cpu(snap1, snap2, time.monotonic() - t_load)
            self._flag(row, "dlrhub, load", row.cpu_load, w)
            self._flag(row, "dlrhub, drain", row.cpu_drain)
            d = row.drain
            self._say(f"dlrhub batch {batch}: {d.stored:,} receipts stored in "
                      f"{d.first_post_to_last_stored:.2f}s = {d.per_second:,.0f}/s"
                      f"{'' if d.complete else ' (INCOMPLETE: ' + d.note + ')'}")
            if self._paced(batch):
                self._run_paced(row, batch)

    def _run_paced(self, row: Row, batch: int) -> None:
        """Measure latency at the target's offered load, after the backlog drained."""
        assert self.counts is not None
        _, url = self.accounts[("paced", batch)]
        pace = pace_for(self.args.target_rate, self.args.connections)
        self._wait_pending()
        self.counts.checkpoint()
        self._wait_quiet(row, "dlrhub, paced")
        self._say(f"dlrhub batch {batch}: {self.args.duration}s paced ({pace} ms pauses, "
                  f"~{self.args.target_rate * 1.5:,.0f}/s offered)")
        snap = procstat.snapshot(self.procs.groups())
        w = self._wrk(url, batch, f"{self.tag}-paced-b{batch}", self.args.duration, pace)
        row.cpu_paced = self._cpu(snap, procstat.snapshot(self.procs.groups()), w.seconds,
                                  {"wrk": w.wrk_cpu})
        self._flag(row, "dlrhub, paced", row.cpu_paced, w)
        row.paced = w
        self._say(f"dlrhub batch {batch} paced: {w.ok_per_second:,.0f} accepted/s, "
                  f"p50 {w.p50:.1f} ms, p99 {w.p99:.1f} ms, non-200 {w.bad}")
        self._wait_pending()

    def _drain(self, account: str, batch: int, t0: float, t_load: float) -> Drain:
        """Poll the receipt count until it reaches the records the server accepted.

        Counting a million receipts takes PostgreSQL tens of milliseconds, so the pause
        between counts grows with what one count costs (``--poll``, at least 20 times
        the count's own time): the polling never takes more than ~5 % of one core from
        the system under test, at a resolution under 1 % of the run. The time of the
        last receipt is taken after the count that first saw it: never optimistic.
        """
        assert self.counts is not None
        d = Drain()
        inbox = self.counts.inbox(account)
        d.pending_at_end_of_load = inbox["pending"]
        deadline = t_load + self.args.drain_timeout
        last_total, stable_since, settled = inbox["total"], time.monotonic(), False
        last_stored, t_last, last_inbox_check = -1, t_load, time.monotonic()
        while True:
            started = time.monotonic()
            stored = self.counts.receipts(account)
            now = time.monotonic()
            cost = now - started
            if stored > last_stored:
                last_stored, t_last = stored, now
            # Requests in flight when wrk stopped still land: the accepted count is
            # final after 1 s without a new inbox row (and at least 1 s after the load).
            if not settled or now - last_inbox_check >= 5 or stored >= d.expected:
                inbox, last_inbox_check = self.counts.inbox(account), now
                if inbox["total"] != last_total:
                    last_total, stable_since = inbox["total"], now
                settled = now - stable_since >= 1.0 and now - t_load >= 1.0
            d.stored, d.inbox, d.expected = stored, inbox, inbox["total"] * batch
            if settled and stored >= d.expected:
                d.complete = stored == d.expected
                if not d.complete:
                    d.note = f"{stored - d.expected} more receipts than accepted records"
                break
            if settled and inbox["pending"] == 0 and now - t_last > 5:
                d.note = (f"{d.expected - stored} records never stored; "
                          f"{inbox['failed']} inbox rows failed")
                break
            if now > deadline:
                d.note = (f"backlog not drained after {self.args.drain_timeout:.0f}s: "
                          f"{inbox['pending']} callbacks pending")
                break
            self.procs.check()
            time.sleep(max(self.args.poll, 20 * cost) if settled else self.args.poll)
        d.first_post_to_last_stored = t_last - t0
        d.after_load = max(0.0, t_last - t_load)
        return d

    def run(self) -> None:
        """Prepare, run the baseline, run the product."""
        wrk = shutil.which("wrk")
        assert wrk is not None
        self.wrk = wrk
        self.prepare()
        if not self.args.no_baseline:
            self.run_baseline()
        self.start_product()
        self.run_product()
        self.procs.stop_all()
        self.code_end = product_code(self.revision.root or ROOT)

    def stop(self) -> None:
        """Stop every server this run started; close the counting connection."""
        self.procs.stop_all()
        if self.counts is not None:
            with contextlib.suppress(Exception):
                self.counts.close()


# --- report ----------------------------------------------------------------------------

def _n(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _versions() -> str:
    names = ("falcon", "uvicorn", "SQLAlchemy", "psycopg", "celery")
    found = []
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found.append(f"{name} {metadata.version(name)}")
    return ", ".join(found)


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False,
                          timeout=10)
    return (done.stdout or done.stderr).splitlines()[0].split(" Copyright")[0].strip()


PRODUCT_PACKAGES = ("api", "cli", "config", "core", "models", "providers", "services", "tasks")


def product_code(root: Path = ROOT) -> tuple[str, float]:
    """Return a short hash of dlrhub's sources and their latest modification time.

    Identifies the code a report measured without asking git; a later modification
    time at the end of the run means a server may have run older code than the tree.
    """
    import hashlib

    digest = hashlib.sha256()
    latest = 0.0
    for package in PRODUCT_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            with contextlib.suppress(OSError):
                digest.update(path.relative_to(root).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
                latest = max(latest, path.stat().st_mtime)
    return digest.hexdigest()[:12], latest


def report(bench: Bench, started: datetime) -> str:
    """Return the Markdown report: the result table, the targets, then the details."""
    a = bench.args
    lines = [
        f"# dlrhub ingest benchmark — {a.stack} stack",
        "",
        f"{started:%Y-%m-%d %H:%M:%S %Z}; {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{bench.info.get('database', '')}, {_wrk_version(bench.wrk)}; {_versions()}.",
        f"{a.duration}s per measured run after a {a.warmup}s warm-up; {a.connections} "
        f"connections over {a.wrk_threads} wrk threads"
        + (f", each pausing {a.pace_ms} ms before every request (paced: latency at an "
           "offered load, not at saturation)" if a.pace_ms else " at full speed")
        + f"; {a.server} "
        f"{a.api_workers} workers × {a.api_threads} app threads for the product and the "
        f"baseline" + (f"; Celery worker concurrency {a.worker_concurrency}"
                       if a.stack == "postgres" else
                       f"; dlrhub serve's worker concurrency {a.worker_concurrency}") + ".",
        f"dlrhub sources (api, cli, config, models, providers, services, tasks): sha256 "
        f"{bench.code_start[0]}" + ("" if bench.code_end[0] == bench.code_start[0] else
                                    f" at the start, {bench.code_end[0]} at the end: **the "
                                    f"sources changed during the run**") + ".",
        "",
        "| stack | batch | accepted callbacks/s | stored receipts/s | p50 ms | p99 ms "
        "| baseline req/s | product/baseline | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in bench.rows:
        p, d, b = r.product, r.drain, r.baseline
        stored = _n(d.per_second) + ("" if d is None or d.complete else " (incomplete)") \
            if d else "–"
        target = TARGETS.get((r.stack, r.batch))
        met = ("yes" if target[1](r) else "**NO**") if target and p else "–"
        lines.append(
            f"| {r.stack} | {r.batch} | {_n(p.ok_per_second if p else None)} | {stored} "
            f"| {_n(p.p50 if p else None, 1)} | {_n(p.p99 if p else None, 1)} "
            f"| {_n(b.ok_per_second if b else None)} "
            f"| {_n(r.ratio, 2) if r.ratio is not None else '–'} "
            f"| {target[0] if target else '–'} | {met} |")
        if r.paced is not None:
            w, bound = r.paced, LATENCY_TARGET_MS[(r.stack, r.batch)]
            lines.append(
                f"| {r.stack} | {r.batch}, paced | {_n(w.ok_per_second)} | – "
                f"| {_n(w.p50, 1)} | {_n(w.p99, 1)} | – | – "
                f"| ≥ {a.target_rate:,} callbacks/s, p99 < {bound:.0f} ms "
                f"| {'yes' if paced_met(r, a.target_rate) else '**NO**'} |")
    lines += [
        "",
        "accepted callbacks/s: 200 answers per second seen by wrk. stored receipts/s: "
        "receipts of the run in the database ÷ time from the first POST until the count "
        "reached the records accepted (inbox rows × batch), backlog drained. "
        "product/baseline: accepted callbacks/s ÷ the baseline's 200 answers/s at the "
        "same batch (1.00 = as fast as one INSERT of the raw body)."
        + (" A *paced* row is a second run at an offered load (each connection pausing "
           f"{pace_for(a.target_rate or 1, a.connections)} ms before each request, ~1.5 × "
           f"{a.target_rate:,}/s): the latency target is checked there, at that load; the "
           "full-speed row's latency is a closed loop's at saturation (≈ connections ÷ "
           "throughput, plus the queueing tail)." if any(r.paced for r in bench.rows)
           else ""),
        "",
        "## Details",
        "",
        "| server | batch | answers (200 / other) | socket errors | load s | p50 | p90 "
        "| p99 | p99.9 | max ms | records accepted (DB) | stored | pending at end of load "
        "| drain after load s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in bench.rows:
        for name, result in (("dlrhub", r.product), ("dlrhub, paced", r.paced),
                        ("baseline", r.baseline)):
            if result is None:
                continue
            w = result
            d = r.drain if name == "dlrhub" else None
            accepted = _n(d.expected) if d else \
                _n(r.baseline_rows) + " rows" if name == "baseline" else "–"
            lines.append(
                f"| {name} | {r.batch} | {w.ok:,} / {w.bad:,} | {w.errors:,} "
                f"| {w.seconds:.2f} | {_n(w.p50, 1)} | {_n(w.p90, 1)} | {_n(w.p99, 1)} "
                f"| {_n(w.p999, 1)} | {_n(w.max, 1)} | {accepted} "
                f"| {_n(d.stored) if d else '–'} | {_n(d.pending_at_end_of_load) if d else '–'} "
                f"| {_n(d.after_load, 2) if d else '–'} |")
    notes = [f"- {r.stack} batch {r.batch}: {note}" for r in bench.rows
             for note in ([r.drain.note] if r.drain and r.drain.note else []) + r.notes]
    if notes:
        lines += ["", *notes]
    lines += ["", "CPU per unit of work (milliseconds; `cpu_per_unit`):", ""]
    for r in bench.rows:
        units = cpu_per_unit(r)
        if units:
            lines.append(f"- batch {r.batch}: " + ", ".join(
                f"{name} {value:.3f}" for name, value in units.items()))
    lines += ["", "CPU, in cores (CPU seconds ÷ wall seconds) per component:", ""]
    for r in bench.rows:
        for what, cpu in (("baseline, load", r.cpu_baseline), ("dlrhub, load", r.cpu_load),
                          ("dlrhub, drain after load", r.cpu_drain),
                          ("dlrhub, paced load", r.cpu_paced)):
            if cpu is not None:
                lines.append(f"- batch {r.batch}, {what} ({cpu.seconds:.1f}s): {cpu.render()}")
    lines += ["", "Commands (environment: DLRHUB_* as set by bench/ingest):", "", "```",
              *bench.commands, "```", ""]
    return "\n".join(lines)


def figures(row: Row) -> dict[str, float | None]:
    """Return what ``--compare`` sets side by side for one row: rates, latency, CPU."""
    p, d = row.product, row.drain
    return {"accepted callbacks/s": p.ok_per_second if p else None,
            "stored receipts/s": d.per_second if d and d.complete else None,
            "p50 ms": p.p50 if p else None, "p99 ms": p.p99 if p else None,
            **cpu_per_unit(row)}


def compare_report(args: argparse.Namespace, started: datetime,
                   runs: list[tuple[compare.Revision, Bench]]) -> str:
    """Return the Markdown of a ``--compare`` run: both revisions' figures and the ratio."""
    other = next(rev for rev, _ in runs if rev.root is not None)
    this = next(rev for rev, _ in runs if rev.root is None)
    sequence = ", ".join(f"{rev.label}" for rev, _ in runs)
    lines = [
        f"# dlrhub ingest benchmark — {args.stack} stack, {this.label} ({this.commit}) "
        f"against {other.label} ({other.commit})",
        "",
        f"{started:%Y-%m-%d %H:%M:%S %Z}; {os.cpu_count()} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}; {_versions()}.",
        f"{args.duration}s per measured run after a {args.warmup}s warm-up, "
        f"{args.connections} connections; {args.rounds} runs of each revision, in this "
        f"order: {sequence}. Each run recreates the database and runs its revision's "
        "migrations. A cell lists each run's figure, then the ratio of the means.",
        "",
        *compare.table("batch", args.batch_sizes, runs, lambda bench, batch: [
            figures(r) for r in bench.rows if r.batch == batch]),
    ]
    lines += compare.appendix(
        "batch", runs, lambda bench: [(row.batch, note) for row in bench.rows for note in (
            [row.drain.note] if row.drain and row.drain.note else []) + row.notes],
        lambda bench: report(bench, started))
    return "\n".join(lines)


def run_compare(args: argparse.Namespace, started: datetime) -> int:
    """Run ``--rounds`` of each revision, interleaved; write the comparison."""
    runs, failed = compare.interleaved(
        "ingest", args.compare, args.rounds,
        lambda rev, work: Bench(args, work, revision=rev), keep=args.keep,
        kept="logs, wrk output and data")
    if failed is not None:
        return failed
    write_report(args.results, f"ingest-{args.stack}-compare", started,
                 compare_report(args, started, runs))
    return 0


# --- main ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench/ingest: wrk is not installed. Install it with:\n\n"
              "    sudo apt-get install wrk\n\n(or build it from https://github.com/wg/wrk)",
              file=sys.stderr)
        return 2
    in_venv("ingest", argv)
    started = datetime.now().astimezone()
    if args.compare:
        return run_compare(args, started)
    bench, failed = run_bench("ingest", f"dlrhub-bench-{args.stack}-",
                              lambda work: Bench(args, work), keep=args.keep,
                              kept="logs, wrk output and data")
    if failed is not None:
        return failed
    assert isinstance(bench, Bench)
    write_report(args.results, f"ingest-{args.stack}", started, report(bench, started))
    return 0
