"""Measure registering expectations and sweeping them with a million pending, on PostgreSQL.

1. Registration: ``--lines`` NDJSON lines through what ``POST /v1/expectations/bulk``
   runs after the bridge (line splitting, validation, 1,000 lines per transaction);
   expectations per second, and the CPU time per expectation of this process and of
   its PostgreSQL backends (read from ``/proc``: PostgreSQL on this machine), which
   hold still where the rate moves with whatever else the machine runs.
2. The sweep with ``--pending`` expectations pending (made with one INSERT ... SELECT,
   deadlines spread over the next day) and ``--due`` of them overdue: the time of each
   sweep batch (claim 1,000 on the partial index, insert their events, plan them), and
   PostgreSQL's plan of the claim, which must read the index, not the table.

It drops and recreates the database ``--database`` (default ``dlrhub_bench_expect``).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import create_engine, make_url, text

from dlrhub.api.ndjson import numbered_lines
from dlrhub.api.resources.expectations import parse_line
from dlrhub.config import Settings
from dlrhub.models import AccountCreate, utcnow
from dlrhub.models.migrate import upgrade
from dlrhub.services.accounts import create_account
from dlrhub.services.expectations import intake
from dlrhub.services.expectations.sweep import sweep
from dlrhub.services.runtime import Runtime
from dlrhub.services.tenancy import create_tenant

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
_TICK = os.sysconf("SC_CLK_TCK")


def main() -> int:
    """Run both measures and print a Markdown table."""
    args = _options()
    if args.database in ("postgres", "template0", "template1") or "test" in args.database:
        raise SystemExit(f"refusing to drop {args.database}")
    url = _fresh(args.database)
    rt = Runtime.build(Settings(database_url=url, secret_key="bench-secret-key"))  # noqa: S106
    with rt.sessions() as session:
        tenant = create_tenant(session, name="bench")
        account = create_account(session, rt.box, tenant_id=tenant.id,
                                 spec=AccountCreate(provider="tencent", name="bench")).account
        session.commit()
        tenant_id, account_id = tenant.id, account.id
    rate, python_us, postgres_us = _register(rt, tenant_id, account_id, args.lines)
    batches, plan = _sweep(rt, tenant_id, account_id, args.pending, args.due)
    print("| measure | result |\n|---|---|")
    print(f"| registration, {args.lines:,} NDJSON lines | {rate:,.0f} expectations/s |")
    print(f"| registration, CPU per expectation | {python_us:.1f} µs Python + "
          f"{postgres_us:.1f} µs PostgreSQL (on idle cores: "
          f"~{1e6 / (python_us + postgres_us):,.0f}/s) |")
    print(f"| sweep batch of 1,000 with {args.pending:,} pending (median of "
          f"{len(batches)}) | {statistics.median(batches) * 1000:.0f} ms |")
    print(f"| sweep batch, slowest | {max(batches) * 1000:.0f} ms |")
    print(f"| claim plan | `{plan}` |")
    rt.close()
    return 0


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="dlrhub_bench_expect")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    return parser.parse_args()


def _fresh(name: str) -> str:
    server = create_engine(SERVER + "postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    url = make_url(SERVER + name).render_as_string(hide_password=False)
    upgrade(url)
    return url


def _register(rt: Runtime, tenant_id: str, account_id: str,
              lines: int) -> tuple[float, float, float]:
    """Return expectations/s, and the CPU µs per expectation of this process and PostgreSQL.

    The CPU times hold still on a machine shared with other work, where the rate does
    not: they are what the rate would be on two idle cores, give or take the waits
    for the disk.
    """
    body = b"".join(orjson.dumps({"account_id": account_id, "message_id": f"reg-{i:08d}",
                                  "phone": f"+86138{i % 10**8:08d}", "template": "otp",
                                  "reference": f"order-{i}"}) + b"\n"
                    for i in range(lines))
    backends = _backend_cpu(rt)
    cpu = time.process_time()
    started = time.perf_counter()
    report = intake.register_stream(rt.sessions, tenant_id=tenant_id,
                                    lines=numbered_lines(io.BytesIO(body)), parse=parse_line,
                                    now=utcnow)
    elapsed = time.perf_counter() - started
    python = time.process_time() - cpu
    postgres = _backend_cpu(rt) - backends
    assert report.accepted == lines, report
    return lines / elapsed, python / lines * 1e6, postgres / lines * 1e6


def _backend_cpu(rt: Runtime) -> float:
    """Return the CPU seconds of the PostgreSQL backends serving this process so far."""
    with rt.engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM pg_stat_activity "
                                 "WHERE datname = current_database()")).scalars().all()
    total = 0.0
    for pid in pids:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:  # PostgreSQL on another machine, or a backend just gone
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def _sweep(rt: Runtime, tenant_id: str, account_id: str, pending: int,
           due: int) -> tuple[list[float], str]:
    now = utcnow()
    with rt.engine.begin() as conn:
        conn.execute(text("DELETE FROM expectation"))
        # Deadlines: `due` of them in the last hour, the rest over the next day.
        conn.execute(text(
            "INSERT INTO expectation (id, tenant_id, account_id, provider, message_id, "
            "phone, phone_key, sent_at, deadline_at, horizon_at, template, reference, "
            "state, created_at) SELECT 'exp_' || lpad(i::text, 26, '0'), :t, :a, "
            "'tencent', 'm-' || i, NULL, '', :now, "
            "CASE WHEN i <= :due THEN :now - (i || ' ms')::interval "
            "ELSE :now + ((i % 86400) + 60 || ' s')::interval END, "
            ":now + interval '72 hours', 'otp', NULL, 'pending', :now "
            "FROM generate_series(1, :n) AS i"),
            {"t": tenant_id, "a": account_id, "now": now, "due": due, "n": pending})
        conn.execute(text("ANALYZE expectation"))
        plan = conn.execute(text(
            "EXPLAIN SELECT id FROM expectation WHERE state = 'pending' AND "
            "deadline_at <= :now ORDER BY deadline_at LIMIT 1000 FOR UPDATE SKIP LOCKED"),
            {"now": now}).scalars().all()
    scan = " / ".join(line.strip().split("  (")[0].replace("->", "").strip()
                      for line in plan)
    batches = []
    while True:
        started = time.perf_counter()
        report = sweep(rt.sessions, now=now + timedelta(seconds=1), max_batches=1)
        batches.append(time.perf_counter() - started)
        if report.missing < 1000:
            break
    return batches, scan


if __name__ == "__main__":
    raise SystemExit(main())
