#!/usr/bin/env python3
"""What clearing a bulk-write stage costs PostgreSQL, per transaction: TRUNCATE or DELETE.

Ingest writes its receipts, message rows and aggregate rows through temporary tables
(``models/dialect.py``, ``_Stage``). Each transaction here does what a stage write does
around its COPY: make the stage if missing, clear it (or not), put one row in, commit.
The figure is the PostgreSQL backend's CPU time (utime + stime from /proc, so the
server must run on this machine) and the wall time, per transaction, for each way of
clearing, each on a fresh connection, in chunks so that a cost that grows shows.

    .venv/bin/python bench/stage_clear.py [--transactions 1500] [--chunks 3]

It creates nothing but temporary tables, gone when its connections close.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import psycopg

MAKE = "CREATE TEMP TABLE IF NOT EXISTS stage (a int, b text) ON COMMIT DELETE ROWS"
WAYS = {
    "TRUNCATE (before)": f"{MAKE}; TRUNCATE stage",
    "DELETE (now)": f"{MAKE}; DELETE FROM stage",  # noqa: S608 (constant)
    "make only, no clearing": MAKE,
}


def backend_cpu(pid: int) -> float:
    """Return a backend's user + system CPU seconds, read from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / 100


def main() -> None:
    """Time each way of clearing in chunks of transactions and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--transactions", type=int, default=1500, help="per chunk")
    parser.add_argument("--chunks", type=int, default=3)
    args = parser.parse_args()
    print("| clearing | chunk | PostgreSQL CPU µs per transaction | wall µs per transaction |")
    print("|---|---:|---:|---:|")
    for name, statement in WAYS.items():
        with psycopg.connect(args.postgres) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute(MAKE)
            conn.commit()
            pid = conn.info.backend_pid
            for chunk in range(1, args.chunks + 1):
                cpu, wall = backend_cpu(pid), time.perf_counter()
                for _ in range(args.transactions):
                    with conn.transaction():
                        conn.execute(statement)
                        conn.execute("INSERT INTO stage VALUES (1, 'x')")
                cpu = (backend_cpu(pid) - cpu) / args.transactions * 1e6
                wall = (time.perf_counter() - wall) / args.transactions * 1e6
                print(f"| {name} | {chunk} | {cpu:,.0f} | {wall:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
