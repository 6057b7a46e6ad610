#!/usr/bin/env python3
"""Time ingest() on one batch in-process: N Tencent callbacks of M records, on PostgreSQL.

What a worker's ingest task spends on one batch, without the HTTP server, the broker or
other processes: the figure to compare before and after a change to ingest's hot path
(the message rows, the delivery aggregate). Recreates the database ``--database``
(default ``dlrhub_bench_batch``) on the server of ``--postgres``.

With ``--phases``, it also prints where each receipt's CPU went, after the first run:
this process's and its PostgreSQL backend's, by step of ingest() (normalizing, the
receipts, the message rows, the aggregate, the inbox rows marked processed...).
PostgreSQL's clock ticks every 10 ms: give it enough receipts (runs x callbacks x
records of 40,000 or more).

    .venv/bin/python bench/ingest_batch.py [--callbacks 100] [--records 100] [--runs 6]
    .venv/bin/python bench/ingest_batch.py --callbacks 100 --records 1 --runs 40 --phases
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import procstat
from inproc import add_to_inbox, fresh_database, tencent_callbacks
from sqlalchemy import text

import dlrhub.services.ingest as ingest_module
from dlrhub.models import AccountCreate, make_engine, make_session_factory, utcnow
from dlrhub.services.accounts import create_account
from dlrhub.services.crypto import SecretBox
from dlrhub.services.ingest import ingest
from dlrhub.services.tenancy import create_tenant

# ingest()'s steps, as the module names them (and the module it calls them in).
STEPS = ("_events", "_receipt_row", "enrich", "_store", "_finish_processed", "track",
         "match_receipts", "record_messages")


class Phases:
    """CPU of this process and of one PostgreSQL backend, by step of ingest()."""

    def __init__(self) -> None:
        self.backend = 0
        self.process: Counter[str] = Counter()
        self.postgres: Counter[str] = Counter()

    def backend_cpu(self) -> float:
        return procstat.cpu_seconds(self.backend)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Replace ``owner.name`` by a function that counts its CPU under ``label``."""
        inner: Callable[..., Any] = getattr(owner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            cpu, pg = time.process_time(), self.backend_cpu()
            try:
                return inner(*args, **kwargs)
            finally:
                self.process[label] += time.process_time() - cpu
                self.postgres[label] += self.backend_cpu() - pg
        setattr(owner, name, counted)

    def install(self) -> None:
        """Count each of ingest()'s steps, and the plan of deliveries."""
        for step in STEPS:
            self.wrap(ingest_module, step, step)
        self.wrap(ingest_module.outbox, "plan", "outbox.plan")

    def report(self, receipts: int) -> str:
        """The table: microseconds per receipt, by step, biggest first."""
        lines = [f"  {'step':20s} {'process':>8s} {'postgres':>9s}  (us per receipt)"]
        for label in sorted(set(self.process) | set(self.postgres),
                            key=lambda k: -(self.process[k] + self.postgres[k])):
            lines.append(f"  {label:20s} {1e6 * self.process[label] / receipts:8.1f} "
                         f"{1e6 * self.postgres[label] / receipts:9.1f}")
        return "\n".join(lines)


def main() -> None:
    """Build the batches, time ingest() and commit on each, print the seconds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="dlrhub_bench_batch")
    parser.add_argument("--callbacks", type=int, default=100)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--phases", action="store_true",
                        help="also print the CPU per receipt of each step (after run 1)")
    args = parser.parse_args()
    phases = Phases() if args.phases else None
    if phases is not None:
        phases.install()
    url = fresh_database(args.postgres, args.database)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    box = SecretBox("bench-" * 6)
    with sessions() as session:
        tenant = create_tenant(session, name="bench")
        account = create_account(session, box, tenant_id=tenant.id,
                                 spec=AccountCreate(provider="tencent", name="bench")).account
        session.commit()
    seconds = []
    for run in range(args.runs):
        with sessions() as session:
            ids = add_to_inbox(session, account.tenant_id, account.id, tencent_callbacks(
                run * args.callbacks, args.callbacks, args.records))
            session.commit()
        with sessions() as session:
            if phases is not None:
                phases.backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
                if run == 1:  # the first run warms the caches: not counted
                    phases.process.clear()
                    phases.postgres.clear()
                total = (time.process_time(), phases.backend_cpu())
            started = time.perf_counter()
            ingest(session, box, ids, now=utcnow())
            session.commit()
            seconds.append(time.perf_counter() - started)
            if phases is not None and run >= 1:
                phases.process["(all of ingest and commit)"] += time.process_time() - total[0]
                phases.postgres["(all of ingest and commit)"] += \
                    phases.backend_cpu() - total[1]
    engine.dispose()
    print(f"ingest() of {args.callbacks} callbacks x {args.records} records, s: "
          f"{', '.join(f'{s:.3f}' for s in seconds)}; median {statistics.median(seconds):.3f}")
    if phases is not None and args.runs > 1:
        print("CPU by step, runs 2 to the last:")
        print(phases.report((args.runs - 1) * args.callbacks * args.records))


if __name__ == "__main__":
    main()
