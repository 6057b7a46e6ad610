#!/usr/bin/env python3
"""What one PostgreSQL server writes on this machine: pgbench on dlrhub's receipt table.

For docs/scaling.md ("Where one PostgreSQL stops"): recreates the database ``--database``
(default ``dlrhub_bench_pg``) with dlrhub's schema (``dlrhub db upgrade``, so the
receipt table has its real indexes), then runs pgbench with a script that inserts
receipt-shaped rows (a Tencent record's raw JSON, a 64-hex dedupe key, one row in ten
failed with a reason class) in transactions of 1 row (one callback at batch 1) and of
100 rows (batch 100), and reports transactions/s, rows/s and PostgreSQL's CPU (all its
processes, read from /proc) and WAL bytes per row. Only the receipt INSERT: ingest also writes the
inbox row, the message row and the aggregate, which ``bench/ingest`` measures whole.

    .venv/bin/python bench/pg_capacity.py [--seconds 20] [--clients 8]
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import procstat
from ingest_bench import PROTECTED_DATABASES, dlrhub_json

SCRIPT = """\
INSERT INTO receipt (id, tenant_id, account_id, inbox_id, type, provider, message_id,
    phone, status, provider_status, received_at, reported_at, raw, dedupe_key,
    reason_class, retryable, country, carrier, synthetic)
SELECT 'evt_' || replace(gen_random_uuid()::text, '-', ''), :tenant, :account,
    'inb_' || replace(gen_random_uuid()::text, '-', ''), 'sms.status', 'tencent',
    'msg-' || replace(gen_random_uuid()::text, '-', ''),
    '+86138' || lpad((random() * 99999999)::int::text, 8, '0'),
    CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'delivered' END,
    CASE WHEN g % 10 = 0 THEN 'MK:0001' ELSE 'DELIVRD' END, now(), now(),
    '{"user_receive_time":"2026-12-03 10:00:00","nationcode":"86","mobile":"13812345678",
      "report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok",
      "sid":"20261203-0000000001"}'::jsonb,
    encode(sha256(gen_random_uuid()::text::bytea), 'hex'),
    CASE WHEN g % 10 = 0 THEN 'unreachable_powered_off' END,
    CASE WHEN g % 10 = 0 THEN true END, 'CN', 'china_mobile', false
FROM generate_series(1, :rows) AS g;
"""


def pgbench() -> str:
    """Return the pgbench binary: on the path, else PostgreSQL's own folder (Debian)."""
    found = shutil.which("pgbench") or next(
        iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)), None)
    if found is None:
        raise SystemExit("bench/pg_capacity.py: pgbench is not installed "
                         "(Debian: apt-get install postgresql-client)")
    return found


def postgres_cpu() -> float:
    """Return the CPU seconds of PostgreSQL's processes: the live ones and those ended.

    pgbench's connections end with it, and an ended backend leaves ``/proc``: its time is
    then in its parent's (the postmaster's) children's time, counted here too.
    """
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        if raw[raw.index("(") + 1:raw.rindex(")")] != "postgres":
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        total += (int(fields[11]) + int(fields[12])) / TICK
        if Path(f"/proc/{fields[1]}/stat").exists() and "(postgres)" not in Path(
                f"/proc/{fields[1]}/stat").read_text():
            total += (int(fields[13]) + int(fields[14])) / TICK  # the postmaster
    return total


TICK = os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace, url: str, script: Path, rows: int, tenant: str,
        account: str) -> dict[str, float]:
    """Run pgbench once; return its transactions/s and the CPU it took, per row."""
    cmd = [pgbench(), "-n", "-M", "prepared", "-c", str(args.clients), "-j", "2",
           "-T", str(args.seconds), "-f", str(script), "-D", f"rows={rows}",
           "-D", f"tenant={tenant}", "-D", f"account={account}", url]
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        lsn0 = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    before = procstat.snapshot({})
    pg0 = postgres_cpu()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          timeout=args.seconds + 120)
    seconds = time.monotonic() - t0
    after = procstat.snapshot({})
    pg1 = postgres_cpu()
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with psycopg.connect(url, autocommit=True) as conn:
        wal = float(conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)",
                                 (lsn0,)).fetchone()[0])  # type: ignore[index]
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{done.stderr}")
    match = re.search(r"tps = ([\d.]+)", done.stdout)
    if match is None:
        raise SystemExit(f"pgbench said no tps:\n{done.stdout}")
    tps = float(match.group(1))
    postgres = pg1 - pg0
    client = (children_after.ru_utime + children_after.ru_stime
              - children.ru_utime - children.ru_stime)
    written = tps * rows * args.seconds
    return {"tps": tps, "rows/s": tps * rows,
            "postgres cores": postgres / seconds,
            "postgres us/row": 1e6 * postgres / written if written else 0.0,
            "pgbench cores": client / seconds,
            "WAL bytes/row": wal / written if written else 0.0,
            "busy": procstat.machine_busy(before, after)}


def main() -> None:
    """Recreate the database, run pgbench at 1 and 100 rows per transaction, print."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    p.add_argument("--database", default="dlrhub_bench_pg")
    p.add_argument("--seconds", type=int, default=20)
    p.add_argument("--clients", type=int, default=8)
    args = p.parse_args()
    if args.database in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to drop {args.database!r}")
    import psycopg

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    url = f"{args.postgres}/{args.database}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env.update({"DLRHUB_DATABASE_URL": url.replace("postgresql://", "postgresql+psycopg://"),
                "DLRHUB_SECRET_KEY": "bench-pg-capacity-" * 3, "DLRHUB_LOG_LEVEL": "WARNING"})
    dlrhub_json(env, "db", "upgrade")
    tenant = dlrhub_json(env, "tenant", "create", "bench", "--json")["id"]
    account = dlrhub_json(env, "account", "create", "--tenant", tenant, "--provider",
                          "tencent", "--name", "bench", "--json")["id"]
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "receipts.sql"
        script.write_text(SCRIPT)
        print(f"| rows per transaction | transactions/s | rows/s | PostgreSQL cores "
              f"| PostgreSQL µs per row | WAL bytes per row | pgbench cores | machine busy |\n"
              f"|---:|---:|---:|---:|---:|---:|---:|---:|  ({args.clients} clients, "
              f"{args.seconds}s each)", file=sys.stdout)
        for rows in (1, 100):
            f = run(args, url, script, rows, tenant, account)
            print(f"| {rows} | {f['tps']:,.0f} | {f['rows/s']:,.0f} | "
                  f"{f['postgres cores']:.2f} | {f['postgres us/row']:.1f} | "
                  f"{f['WAL bytes/row']:,.0f} | "
                  f"{f['pgbench cores']:.2f} | {f['busy']:.0%} |", flush=True)


if __name__ == "__main__":
    main()
